"""``nmr-bench retarget``: bad input exits 2 with a clear message and writes nothing."""

from __future__ import annotations

import numpy as np

from benchmark.cli import main
from nmr_gym import skeleton as sk


def _positions_npz(path, n=6):
    local = np.tile([1.0, 0, 0, 0], (n, sk.NUM_JOINTS, 1))
    root_q = np.tile(sk.REST_QUAT_FACING_X, (n, 1))
    root_p = np.stack([np.linspace(0, 0.2, n), np.zeros(n), np.full(n, 0.95)], axis=-1)
    pos, _ = sk.forward_kinematics(root_p, root_q, local, sk.rest_offsets())
    np.savez(path, joint_pos=pos, joint_names=np.array(sk.SMPL_JOINT_NAMES), fps=30.0)
    return path


def test_bad_file_exits_2_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "broken.bvh"
    bad.write_text("HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0")  # truncated
    out = tmp_path / "out"
    assert main(["retarget", str(bad), "--method", "direct", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "broken.bvh" in err and "error" in err
    assert not out.exists()


def test_missing_file_and_unknown_method(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["retarget", str(tmp_path / "nope.npz"), "--method", "gmr", "--out", str(out)]) == 2
    assert "nope.npz" in capsys.readouterr().err
    assert main(["retarget", str(tmp_path / "x.npz"), "--method", "nope", "--out", str(out)]) == 2
    assert "unknown retargeter" in capsys.readouterr().err
    assert (
        main(
            [
                "retarget",
                str(tmp_path / "x.npz"),
                "--method",
                "gmr",
                "-O",
                "bogus=1",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "bogus" in capsys.readouterr().err
    assert not out.exists()


def test_retarget_writes_files_and_one_bad_file_writes_none(tmp_path, capsys):
    good = _positions_npz(tmp_path / "walk.npz")
    out = tmp_path / "out"
    assert (
        main(["retarget", str(good), "--method", "direct", "--out", str(out), "--format", "csv"])
        == 0
    )
    assert (out / "walk.csv").is_file()
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    out2 = tmp_path / "out2"
    code = main(
        ["retarget", str(good), str(bad), "--method", "gmr", "--out", str(out2), "--jobs", "2"]
    )
    assert code == 2
    assert "bad.npz" in capsys.readouterr().err
    assert not out2.exists()
