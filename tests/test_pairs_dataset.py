"""Pair datasets: round trip, atomic writes, clear errors on broken folders."""

from __future__ import annotations

import numpy as np
import pytest

from nmr_gym.datasets import PairDataset, PairDatasetWriter, is_dataset
from nmr_gym.errors import MotionError, MotionFormatError
from nmr_gym.motion import RobotMotion
from nmr_gym.suite import get_clip


@pytest.fixture(scope="module")
def pair_inputs():
    human = get_clip("wave_short").motion()
    human = human.replace(joint_pos=human.joint_pos[:40], joint_quat=human.joint_quat[:40])
    rng = np.random.default_rng(0)
    n = human.n_frames
    quat = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
    robot = RobotMotion(human.fps, rng.normal(size=(n, 3)), quat, rng.normal(size=(n, 29)))
    return human, robot


def test_round_trip_across_shards(tmp_path, pair_inputs):
    human, robot = pair_inputs
    out = tmp_path / "ds"
    with PairDatasetWriter(out, kind="physics", provenance={"seed": 3}, shard_size=2) as w:
        ids = [w.add(human, robot, cluster=i, expert=f"e{i}", extra_col=i * 10) for i in range(5)]
    ds = PairDataset(out)
    assert len(ds) == 5 and list(ds.manifest["pair_id"]) == ids
    assert ds.manifest["shard"].nunique() == 3  # 2 + 2 + 1 pairs
    assert ds.provenance == {"seed": 3}
    pair = ds[ids[3]]
    assert pair.row["cluster"] == 3 and pair.row["expert"] == "e3" and pair.row["extra_col"] == 30
    assert pair.row["kind"] == "physics"
    np.testing.assert_allclose(pair.human.joint_pos, human.joint_pos, atol=1e-5)
    np.testing.assert_allclose(pair.robot.joint_pos, robot.joint_pos, atol=1e-5)
    np.testing.assert_allclose(pair.robot.root_pos, robot.root_pos, atol=1e-5)
    assert pair.robot.fps == human.fps and pair.human.height == pytest.approx(human.height)


def test_interrupted_write_leaves_no_dataset(tmp_path, pair_inputs):
    human, robot = pair_inputs
    out = tmp_path / "ds"
    with pytest.raises(RuntimeError), PairDatasetWriter(out, shard_size=1) as w:
        w.add(human, robot)
        w.add(human, robot)
        raise RuntimeError("killed")
    assert not out.exists() and not is_dataset(out)
    assert not (tmp_path / "ds.partial").exists()


def test_mismatched_frames_rejected(tmp_path, pair_inputs):
    human, robot = pair_inputs
    short = robot.replace(
        root_pos=robot.root_pos[:10], root_quat=robot.root_quat[:10], joint_pos=robot.joint_pos[:10]
    )
    with PairDatasetWriter(tmp_path / "ds") as w, pytest.raises(MotionError, match="share"):
        w.add(human, short)


def test_broken_folders_raise_format_errors(tmp_path, pair_inputs):
    with pytest.raises(MotionFormatError, match="no manifest.csv"):
        PairDataset(tmp_path)
    human, robot = pair_inputs
    out = tmp_path / "ds"
    with PairDatasetWriter(out) as w:
        w.add(human, robot)
    (out / "shards" / "pairs-00000.npz").unlink()
    with pytest.raises(MotionFormatError, match="missing"):
        PairDataset(out)[0]
