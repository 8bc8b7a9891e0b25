"""CEPR stage 2: hard filters, the kinematic pair dataset, resume after an interruption, and
one-line errors on bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import retargeters
from benchmark import metrics
from benchmark.cepr import curate, retarget
from benchmark.cepr.sources import CeprError, gather_sources
from benchmark.cli import main
from nmr_gym.datasets import PairDataset, is_dataset
from nmr_gym.errors import UnknownNameError
from nmr_gym.g1 import spec
from nmr_gym.suite import get_clip

# Two short suite clips (6 s and 7 s: two chunks each); "direct" is the fastest retargeter.
CLIPS = ["wave_short", "reach_short"]
FAST = "direct"


def test_velocity_limits_cover_every_joint_with_unitree_values():
    lim = dict(zip(spec.JOINT_NAMES, retarget.G1_JOINT_VEL_LIMIT_RADPS, strict=True))
    assert len(lim) == 29 and all(v > 0 for v in lim.values())
    assert lim["left_knee_joint"] == 20.0 and lim["right_hip_roll_joint"] == 20.0
    assert lim["left_hip_pitch_joint"] == 32.0 and lim["waist_yaw_joint"] == 32.0
    assert lim["right_wrist_pitch_joint"] == 22.0 and lim["left_elbow_joint"] == 37.0


def _still(n=60):
    return np.zeros((n, 29)), np.zeros(n, bool), np.zeros(n)


def test_hard_filters_each_catch_their_defect():
    fps = 30.0
    q, col, foot = _still()
    assert retarget.hard_filter_metrics(q, fps, col, foot)["kept"]
    knee = spec.JOINT_NAMES.index("left_knee_joint")
    shoulder = spec.JOINT_NAMES.index("left_shoulder_pitch_joint")
    fast = q.copy()
    fast[30:, knee] = 21.0 / fps  # one step at 21 rad/s: over the knee's 20
    m = retarget.hard_filter_metrics(fast, fps, col, foot)
    assert not m["pass_joint_speed"] and m["fastest_joint"] == "left_knee_joint"
    ok = q.copy()
    ok[30:, shoulder] = 30.0 / fps  # 30 rad/s is under the shoulder's 37
    assert retarget.hard_filter_metrics(ok, fps, col, foot)["pass_joint_speed"]
    c = col.copy()
    c[:3] = True  # 5% of 60 frames: allowed
    assert retarget.hard_filter_metrics(q, fps, c, foot)["pass_self_collision"]
    c[:4] = True
    assert not retarget.hard_filter_metrics(q, fps, c, foot)["pass_self_collision"]
    assert not retarget.hard_filter_metrics(q, fps, col, foot + 0.11)["pass_foot_height"]
    assert retarget.hard_filter_metrics(q, fps, col, foot + 0.10)["pass_foot_height"]


def test_self_collision_matches_benchmark_metrics():
    robot = retargeters.make(FAST).retarget(get_clip("wave_short").motion())
    s = metrics.scan(robot.qpos)
    low = metrics.foot_heights(s).min(axis=(1, 2))
    m = retarget.hard_filter_metrics(robot.joint_pos, robot.fps, s.collision, low)
    score = metrics.score(robot)
    assert m["self_collision_pct"] == pytest.approx(score["self_collision_pct"])
    assert m["max_joint_vel"] == pytest.approx(score["max_joint_vel"])


def _stages(out, retargeter=FAST, jobs=1):
    clips, _ = gather_sources(["builtin"])
    clips = [c for c in clips if c.name in CLIPS]
    curate.run_curate(clips, out, jobs=jobs)
    return retarget.run_retarget(out, retargeter=retargeter, jobs=jobs)


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    out = tmp_path_factory.mktemp("cepr")
    table = _stages(out)
    return out, table


def test_kinematic_dataset_holds_every_kept_chunk(done):
    out, table = done
    ds = PairDataset(out / retarget.DATASET_DIR)
    assert len(ds) == int(table["kept"].sum()) > 0
    m = ds.manifest
    assert set(m["kind"]) == {"kinematic"} and set(m["retargeter"]) == {FAST}
    assert {"curated", "clip", "chunk", "complexity", "self_collision_pct"} <= set(m.columns)
    assert ds.provenance["settings"]["retargeter"] == FAST and ds.provenance["commit"]
    for i in range(len(ds)):
        pair = ds[i]
        assert pair.human.n_frames == pair.robot.n_frames == pair.row["frames"]
        assert pair.human.fps == pair.robot.fps == 30.0
    # the pair's robot motion is the retarget of the whole clip cut at the chunk's frames
    row = m.iloc[-1]
    whole = retargeters.make(FAST).retarget(get_clip(row["clip"]).motion())
    sl = slice(int(row["start_frame"]), int(row["stop_frame"]))
    np.testing.assert_allclose(ds[len(ds) - 1].robot.joint_pos, whole.joint_pos[sl], atol=1e-5)
    assert row["source_start_s"] == pytest.approx(row["start_frame"] / 30.0)


class _Interrupt(Exception):
    pass


def test_interrupted_retarget_resumes_to_the_same_manifest(done, tmp_path, monkeypatch):
    out0, _ = done
    calls = {"n": 0}
    real_make = retargeters.make

    def flaky_make(name, **kw):
        r = real_make(name, **kw)
        calls["n"] += 1
        if calls["n"] == 3:  # the 1st make is the name check; the 2nd clip's retarget dies
            raise KeyboardInterrupt
        return r

    monkeypatch.setattr(retargeters, "make", flaky_make)
    with pytest.raises(KeyboardInterrupt):
        _stages(tmp_path)
    assert not is_dataset(tmp_path / retarget.DATASET_DIR)  # never a half-written dataset
    assert not (tmp_path / retarget.STAGE_DIR / "chunks.csv").exists()
    cached = list((tmp_path / retarget.STAGE_DIR).glob("clips-*/*.npz"))
    assert len(cached) == 1  # the first clip's work is kept
    monkeypatch.setattr(retargeters, "make", real_make)
    _stages(tmp_path)
    a = pd.read_csv(out0 / retarget.DATASET_DIR / "manifest.csv")
    b = pd.read_csv(tmp_path / retarget.DATASET_DIR / "manifest.csv")
    pd.testing.assert_frame_equal(a, b)


def test_unknown_retargeter_fails_before_any_work(tmp_path):
    with pytest.raises(UnknownNameError, match="valid retargeters"):
        retarget.check_retargeter("no-such-method")
    assert main(["cepr", "retarget", "--out", str(tmp_path / "o"), "--retargeter", "nope"]) == 2
    assert not (tmp_path / "o").exists()


def test_folder_without_usable_clip_is_one_line_error(tmp_path, capsys):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "notes.npz").write_bytes(b"not a zip")
    with pytest.raises(CeprError, match="no usable human clip"):
        gather_sources([str(tmp_path / "m")])
    capsys.readouterr()
    assert (
        main(["cepr", "curate", "--out", str(tmp_path / "o"), "--motions", str(tmp_path / "m")])
        == 2
    )
    err = [x for x in capsys.readouterr().err.splitlines() if x.startswith("nmr-bench")]
    assert len(err) == 1 and "no usable human clip" in err[0]  # (plus the suite's skip note)


def test_retarget_without_curation_says_so(tmp_path):
    with pytest.raises(CeprError, match="stage 1"):
        retarget.run_retarget(tmp_path, retargeter=FAST)


def test_exclusions_by_manifest_and_pattern(tmp_path):
    clips, dropped = gather_sources(["builtin"], ["walk_*", "*_long"])
    names = {c.name for c in clips}
    assert not any(n.startswith("walk_") or n.endswith("_long") for n in names)
    assert {c.name for c in dropped} >= {"walk_short", "dance_long"}


def test_held_out_split_is_excluded(shared_motions):
    from pathlib import Path

    manifest = Path(__file__).resolve().parents[1] / "benchmark/manifests/nmr_heldout.csv"
    held = pd.read_csv(manifest)
    clips, dropped = gather_sources([str(shared_motions)], [str(manifest)])
    kept = {str(Path(c.source).resolve()) for c in clips}
    for p in held["path"]:
        assert str((manifest.parent / p).resolve()) not in kept
    assert len(dropped) == len(held)


def test_cluster_count_larger_than_segments_is_one_line_error(done, capsys):
    out, table = done
    n = int((table["kept"] & table["curated"]).sum())
    code = main(["cepr", "cluster", "--out", str(out), "--k", str(n + 1), "--encoder-epochs", "1"])
    err = [x for x in capsys.readouterr().err.splitlines() if x.startswith("nmr-bench")]
    assert code == 2 and len(err) == 1 and "larger than the number" in err[0]


def test_chunk_rows_ground_each_chunk_by_its_own_lowest_point():
    """A clip whose first chunk floats 15 cm (the clip was grounded by a lower moment later):
    without grounding the foot filter drops it, with grounding it is shifted down and kept."""
    from nmr_gym.g1.geometry import lowest_point_z_of_qpos

    fps, n = 30.0, 60
    q = np.zeros((n, 36))
    q[:, 3] = 1.0  # identity root orientation, default pose
    q[:, 2] -= lowest_point_z_of_qpos(q[:1])[0]  # standing on the floor
    q[:30, 2] += 0.15  # frames 0-29 float
    s = metrics.scan(q)
    foot = metrics.foot_heights(s).min(axis=(1, 2))
    low = lowest_point_z_of_qpos(q)
    chunks = [{"chunk": 0, "start_frame": 0, "stop_frame": 30}]
    chunks.append({"chunk": 1, "start_frame": 30, "stop_frame": 60})
    arrays = {"qpos": q, "collision": s.collision, "lowest_foot_z": foot, "lowest_point_z": low}
    plain = retarget.chunk_rows("c", chunks, arrays, fps, ground_chunks=False)
    grounded = retarget.chunk_rows("c", chunks, arrays, fps, ground_chunks=True)
    assert [r["ground_shift_m"] for r in plain] == [0.0, 0.0]
    assert not plain[0]["pass_foot_height"] and plain[1]["pass_foot_height"]
    assert grounded[0]["ground_shift_m"] == pytest.approx(-0.15, abs=1e-9)
    assert grounded[1]["ground_shift_m"] == pytest.approx(0.0, abs=1e-9)
    assert grounded[0]["kept"] and grounded[1]["kept"]
    assert grounded[0]["lowest_foot_mean_m"] == pytest.approx(plain[1]["lowest_foot_mean_m"])


def test_grounded_pairs_touch_the_floor_and_keep_their_joint_angles(tmp_path):
    """``ground_chunks`` on a retarget that is not on the floor (``gmr`` as solved): the same
    chunks and joint angles as without it (the second run reads the first's cached motions),
    each pair's robot shifted so that its lowest collision point over the chunk is at z = 0,
    the shift in the manifest."""
    from nmr_gym.g1.geometry import lowest_point_z_of_qpos

    clips, _ = gather_sources(["builtin"])
    curate.run_curate([c for c in clips if c.name in CLIPS], tmp_path)
    opts = {"ground": "none"}
    plain = retarget.run_retarget(
        tmp_path, retargeter="gmr", options=opts, pairs_out=tmp_path / "a"
    )
    grounded = retarget.run_retarget(
        tmp_path, retargeter="gmr", options=opts, pairs_out=tmp_path / "b", ground_chunks=True
    )
    assert (plain["ground_shift_m"] == 0).all() and (grounded["ground_shift_m"].abs() > 1e-3).all()
    assert (grounded["lowest_foot_mean_m"] <= plain["lowest_foot_mean_m"] + 1e-9).all()
    a, b = PairDataset(tmp_path / "a"), PairDataset(tmp_path / "b")
    assert b.provenance["settings"]["ground_chunks"] is True
    assert len(b) >= len(a) > 0
    for i in range(len(b)):
        assert np.min(lowest_point_z_of_qpos(b[i].robot.qpos)) == pytest.approx(0.0, abs=1e-5)
    for i in range(len(a)):
        j = int(
            np.flatnonzero(
                b.manifest["clip"].eq(a[i].row["clip"]) & b.manifest["chunk"].eq(a[i].row["chunk"])
            )[0]
        )
        np.testing.assert_allclose(b[j].robot.joint_pos, a[i].robot.joint_pos, atol=1e-6)
        dz = b[j].robot.root_pos[:, 2] - a[i].robot.root_pos[:, 2]
        np.testing.assert_allclose(dz, b[j].row["ground_shift_m"], atol=1e-5)
