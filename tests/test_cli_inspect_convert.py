"""``nmr-bench inspect`` and ``nmr-bench convert``: output, conversions, and bad input (exit 2)."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess

import numpy as np
import pytest

from benchmark.cli import EXIT_BAD_INPUT, main
from benchmark.commands._common import format_table, load_with_clear_errors
from benchmark.commands.inspect import COLUMNS
from nmr_gym import rotations as rot
from nmr_gym.errors import MotionFormatError
from nmr_gym.g1 import spec
from nmr_gym.io.robot_formats import load_robot_motion, save_robot_motion
from nmr_gym.motion import RobotMotion

N_FRAMES = 30


def _motion(n: int = N_FRAMES, fps: float = 30.0) -> RobotMotion:
    t = np.arange(n) / fps
    root = np.stack([0.4 * t, 0 * t, 0.78 + 0 * t], axis=1)
    quat = rot.from_axis_angle(np.stack([0 * t, 0 * t, 0.5 * t], axis=1))
    joints = spec.STAND_JOINT_POS + 0.2 * np.sin(t[:, None] + np.arange(29)[None])
    return RobotMotion(fps, root, quat, joints, source="cli-test")


@pytest.fixture
def csv_file(tmp_path):
    return save_robot_motion(_motion(), tmp_path / "in" / "walk.csv")


def _run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _assert_bad_input(rc, out, err, *needles):
    assert rc == EXIT_BAD_INPUT
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and lines[0].startswith("nmr-bench ")
    for needle in needles:
        assert needle in lines[0], lines[0]


# ---------------------------------------------------------------------------------- inspect
def test_inspect_table_and_json(tmp_path, capsys, csv_file):
    npz = save_robot_motion(_motion(fps=50), tmp_path / "m.npz")
    rc, out, err = _run(capsys, "inspect", csv_file, npz)
    assert rc == 0 and err == ""
    header, row_csv, row_npz = out.strip().splitlines()
    assert tuple(header.split()) == COLUMNS
    assert "csv" in row_csv and "robot" in row_csv and str(N_FRAMES) in row_csv
    assert "beyondmimic" in row_npz and "50" in row_npz

    rc, out, _ = _run(capsys, "inspect", "--json", csv_file, npz)
    rows = json.loads(out)
    assert rc == 0 and [r["format"] for r in rows] == ["csv", "beyondmimic"]
    assert all(tuple(r) == COLUMNS for r in rows)
    first = rows[0]
    assert first["kind"] == "robot" and first["joints"] == 29 and first["frames"] == N_FRAMES
    assert first["fps"] == 30 and first["duration_s"] == pytest.approx((N_FRAMES - 1) / 30, 0.01)
    assert first["complexity"] == "n/a"
    assert first["length"] in ("short", "n/a")


def test_inspect_csv_options(tmp_path, capsys):
    path = save_robot_motion(_motion(), tmp_path / "x.csv", quat_order="xyzw")
    rc, out, _ = _run(capsys, "inspect", "--json", "--quat-order", "xyzw", "--csv-fps", "60", path)
    assert rc == 0 and json.loads(out)[0]["fps"] == 60


def test_inspect_keep_going_reports_each_bad_file(tmp_path, capsys, csv_file):
    bad = tmp_path / "bad.npz"
    bad.write_text("not a zip")
    rc, out, err = _run(capsys, "inspect", "--keep-going", bad, csv_file)
    assert rc == EXIT_BAD_INPUT
    assert "walk.csv" in out and "bad.npz" not in out
    assert len(err.strip().splitlines()) == 1 and "bad.npz" in err


def test_inspect_needs_trust_for_pickles(tmp_path, capsys):
    pkl = save_robot_motion(_motion(), tmp_path / "m.pkl")
    _assert_bad_input(*_run(capsys, "inspect", pkl), "--trust-pickle", str(pkl))
    rc, out, _ = _run(capsys, "inspect", "--trust-pickle", "--json", pkl)
    assert rc == 0 and json.loads(out)[0]["format"] == "gmr"


def test_inspect_human_file(tmp_path, capsys):
    from nmr_gym.skeleton import SMPL_JOINT_NAMES

    path = tmp_path / "amass.npz"
    n = 40
    np.savez(
        path,
        poses=np.zeros((n, 72)),
        trans=np.tile([0.0, 0.0, 0.9], (n, 1)),
        mocap_framerate=np.array(30.0),
        betas=np.zeros(10),
        gender=np.array("neutral"),
    )
    rc, out, err = _run(capsys, "inspect", "--json", path)
    assert rc == 0, err
    row = json.loads(out)[0]
    assert row["kind"] == "human" and row["frames"] == n and row["fps"] == 30
    assert row["joints"] == len(SMPL_JOINT_NAMES)


def test_format_table_aligns():
    text = format_table([{"name": "a", "n": 1}, {"name": "long name", "n": 100}])
    lines = text.splitlines()
    assert lines[0].startswith("name") and lines[2].startswith("long name")
    assert lines[1].endswith("  1") and lines[2].endswith("100")
    assert len({len(line) for line in lines}) == 1


def test_load_with_clear_errors_maps_library_errors(tmp_path):
    def boom():
        raise ValueError("bad header")

    with pytest.raises(MotionFormatError, match=r"x\.bvh: cannot be read \(ValueError: bad"):
        load_with_clear_errors(tmp_path / "x.bvh", boom)
    assert load_with_clear_errors("p", lambda: 7) == 7


# ---------------------------------------------------------------------------------- convert
def test_convert_through_every_format(tmp_path, capsys, csv_file):
    chain = [
        csv_file,
        tmp_path / "a.npz",
        tmp_path / "b.pkl",
        tmp_path / "c.nmr.npz",
        tmp_path / "d.csv",
    ]
    for src, dst in zip(chain[:-1], chain[1:], strict=True):
        rc, out, err = _run(capsys, "convert", "--trust-pickle", src, dst)
        assert rc == 0, err
        assert out.startswith(f"wrote {dst}")
    original = load_robot_motion(csv_file)
    final = load_robot_motion(chain[-1])
    np.testing.assert_allclose(final.qpos, original.qpos, atol=1e-5)  # float32 via BeyondMimic
    assert load_robot_motion(chain[2], trusted=True).metadata["format"] == "gmr"


def test_convert_resamples_and_honours_formats(tmp_path, capsys, csv_file):
    out_path = tmp_path / "out.bin"
    rc, _, err = _run(
        capsys, "convert", csv_file, out_path, "--format", "nmr", "--fps", "50", "--csv-fps", "25"
    )
    assert rc == 0, err
    m = load_robot_motion(out_path, "nmr")
    assert m.fps == 50 and m.duration == pytest.approx((N_FRAMES - 1) / 25, abs=0.02)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out.bin"]


def test_convert_quat_orders(tmp_path, capsys, csv_file):
    xyzw = tmp_path / "xyzw.csv"
    assert _run(capsys, "convert", csv_file, xyzw, "--out-quat-order", "xyzw")[0] == 0
    back = tmp_path / "back.csv"
    rc, _, err = _run(
        capsys, "convert", xyzw, back, "--quat-order", "xyzw", "--out-quat-order", "wxyz"
    )
    assert rc == 0, err
    np.testing.assert_allclose(
        np.loadtxt(back, delimiter=","), np.loadtxt(csv_file, delimiter=","), atol=1e-12
    )
    raw = np.loadtxt(xyzw, delimiter=",")
    np.testing.assert_allclose(raw[:, 6], load_robot_motion(csv_file).root_quat[:, 0])  # w last


# -------------------------------------------------------------------------------- bad input
def _not_zip(tp):
    p = tp / "bad.npz"
    p.write_text("hello")
    return p


def _truncated(tp):
    p = save_robot_motion(_motion(), tp / "t.npz")
    p.write_bytes(p.read_bytes()[:3000])
    return p


def _npz_with(tp, **changes):
    p = save_robot_motion(_motion(), tp / "m.nmr.npz")
    data = dict(np.load(p, allow_pickle=False))
    for k, v in changes.items():
        if v is None:
            data.pop(k)
        else:
            data[k] = v
    np.savez(p, **data)
    return p


def _gmr(tp):
    return save_robot_motion(_motion(), tp / "g.pkl")


def _corrupt_pickle(tp):
    p = tp / "c.pkl"
    blob = pickle.dumps({"root_rot": 1, "dof_pos": np.zeros((50, 29))})
    p.write_bytes(blob[: len(blob) // 2])  # keys intact, array cut
    return p


BAD = {
    "missing file": (lambda tp: tp / "missing.csv", [], "no such file"),
    "not a zip": (_not_zip, [], "not a known motion format"),
    "not a zip as npz": (_not_zip, ["--in-format", "beyondmimic"], "npz"),
    "truncated npz": (_truncated, [], "truncated"),
    "missing keys": (lambda tp: _npz_with(tp, joint_pos=None), [], "missing keys joint_pos"),
    "wrong shapes": (lambda tp: _npz_with(tp, joint_pos=np.zeros((N_FRAMES, 23))), [], "23"),
    "NaN": (lambda tp: _npz_with(tp, root_pos=np.full((N_FRAMES, 3), np.nan)), [], "non-finite"),
    "inf": (lambda tp: _npz_with(tp, joint_pos=np.full((N_FRAMES, 29), np.inf)), [], "non-finite"),
    "zero fps": (lambda tp: _npz_with(tp, fps=np.array(0.0)), [], "fps"),
    "negative fps": (lambda tp: _npz_with(tp, fps=np.array(-1.0)), [], "fps"),
    "single frame": (
        lambda tp: _npz_with(
            tp,
            root_pos=np.zeros((1, 3)),
            root_quat=np.array([[1.0, 0, 0, 0]]),
            joint_pos=np.zeros((1, 29)),
        ),
        [],
        "at least 2",
    ),
    "zero-norm quaternions": (
        lambda tp: _npz_with(tp, root_quat=np.zeros((N_FRAMES, 4))),
        [],
        "unit length",
    ),
    "unknown input format": (_gmr, ["--in-format", "fbx"], "beyondmimic, csv, gmr, nmr"),
    "unknown output format": (_gmr, ["--format", "fbx"], "beyondmimic, csv, gmr, nmr"),
    "untrusted pickle": (_gmr, [], "--trust-pickle"),
    "corrupt pickle": (_corrupt_pickle, ["--trust-pickle"], "unpickled"),
    "bad output fps": (_gmr, ["--trust-pickle", "--fps", "0"], "fps"),
    "bad csv fps": (
        lambda tp: save_robot_motion(_motion(), tp / "m.csv"),
        ["--csv-fps", "-3"],
        "fps",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_convert_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, case):
    make, extra, needle = BAD[case]
    src_dir, out_dir = tmp_path / "src", tmp_path / "out"
    src_dir.mkdir()
    src = make(src_dir)
    out = out_dir / "result.npz"
    _assert_bad_input(*_run(capsys, "convert", src, out, *extra), needle)
    assert not out_dir.exists() or list(out_dir.iterdir()) == []  # not even a temporary


@pytest.mark.parametrize("case", ["missing file", "truncated npz", "NaN", "untrusted pickle"])
def test_inspect_bad_input_exits_2(tmp_path, capsys, case):
    make, _, needle = BAD[case]
    src = make(tmp_path)
    _assert_bad_input(*_run(capsys, "inspect", src), needle, str(src))


def test_failed_convert_keeps_an_existing_output(tmp_path, capsys):
    out = tmp_path / "result.csv"
    out.write_text("keep me")
    _assert_bad_input(*_run(capsys, "convert", _not_zip(tmp_path), out))
    assert out.read_text() == "keep me"


def test_unknown_output_extension(tmp_path, capsys, csv_file):
    _assert_bad_input(*_run(capsys, "convert", csv_file, tmp_path / "x.fbx"), "extension")


def test_debug_shows_the_traceback(tmp_path, capsys):
    rc, _, err = _run(capsys, "--debug", "convert", tmp_path / "missing.csv", tmp_path / "o.npz")
    assert rc == EXIT_BAD_INPUT and "Traceback" in err


def test_console_script_bad_input(tmp_path):
    exe = shutil.which("nmr-bench")
    if exe is None:
        pytest.skip("the nmr-bench console script is not installed (pip install -e .)")
    bad = _not_zip(tmp_path)
    out = tmp_path / "out.csv"
    proc = subprocess.run(
        [exe, "convert", str(bad), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == EXIT_BAD_INPUT
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert str(bad) in proc.stderr and not out.exists()
