"""Pose-balanced window sampling of the NMR trainer (issue 13: raised arms are underfitted)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _helpers import tiny_train_config

import retargeters
from nmr_gym.g1 import kinematic_model, spec
from nmr_gym.motion import forward_kinematics
from nmr_gym.suite import get_clip
from retargeters.nmr import mirror
from retargeters.nmr.data import (
    NmrDataError,
    PairArrays,
    epoch_order,
    pose_balance_probs,
    pose_bin_labels,
    pose_bins,
    shoulder_elevation,
    write_pairs,
)
from retargeters.nmr.train import TrainConfigError, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

RAISED = pose_bin_labels().index("hi2-lo0")  # one arm above 1.5 rad, the other down
DOWN = pose_bin_labels().index("hi0-lo0")


def _qpos(right_roll: float = 0.0, left_roll: float = 0.0, root_quat=(1.0, 0, 0, 0), t=4):
    """(t, 36) standing G1 with the shoulder rolls set [rad]."""
    q = np.zeros((t, 36))
    q[:, 2], q[:, 3:7] = 0.79, root_quat
    q[:, 7 + spec.joint_index("right_shoulder_roll_joint")] = right_roll
    q[:, 7 + spec.joint_index("left_shoulder_roll_joint")] = left_roll
    return q


def _body_pos(qpos):
    return forward_kinematics(kinematic_model(), qpos)[0]  # (T, 30, 3)


def _pairs(*qposes) -> PairArrays:
    out = PairArrays()
    for q in qposes:
        out.qpos.append(q.astype(np.float32))
        out.body_pos.append(_body_pos(q).astype(np.float32))
        out.human_pos.append(np.zeros((len(q), 22, 3), np.float32))
    return out


def test_shoulder_elevation_reads_a_sideways_raise_and_ignores_the_body_orientation():
    down = shoulder_elevation(_body_pos(_qpos()))[0]
    raised = shoulder_elevation(_body_pos(_qpos(right_roll=-2.2)))[0]  # right arm up sideways
    assert np.all(down < 0.4)
    assert raised[1] > 2.0 and raised[0] < 0.4  # (left, right)
    # the whole body lying on its side: same elevations
    tilted = (np.cos(np.pi / 4), np.sin(np.pi / 4), 0.0, 0.0)  # wxyz, 90 deg about x
    lying = shoulder_elevation(_body_pos(_qpos(right_roll=-2.2, root_quat=tilted)))[0]
    np.testing.assert_allclose(lying, raised, atol=1e-6)


def test_pose_bins_separate_one_armed_raises_and_ignore_the_side():
    right = _qpos(right_roll=-2.2)
    left = mirror.mirror_qpos(right)  # the mirrored window raises the left arm
    both = _qpos(right_roll=-2.2, left_roll=2.2)
    bins = pose_bins(_pairs(_qpos(), right, left, both))
    labels = [pose_bin_labels()[b] for b in bins]
    assert labels == ["hi0-lo0", "hi2-lo0", "hi2-lo0", "hi2-lo2"]


def test_exponent_one_gives_every_bin_the_same_share_and_zero_is_uniform():
    bins = np.array([DOWN] * 90 + [RAISED] * 10)
    assert pose_balance_probs(bins, 0.0) is None
    p = pose_balance_probs(bins, 1.0)
    assert p[bins == RAISED].sum() == pytest.approx(0.5)
    assert p[bins == RAISED][0] == pytest.approx(9 * p[bins == DOWN][0])
    half = pose_balance_probs(bins, 0.5)  # shares ~ sqrt(count): 3 : 1
    assert half[bins == RAISED].sum() == pytest.approx(np.sqrt(10) / (np.sqrt(10) + np.sqrt(90)))
    with pytest.raises(NmrDataError, match=">= 0"):
        pose_balance_probs(bins, -1.0)


def test_balanced_draws_follow_the_probabilities_and_are_seeded():
    bins = np.array([DOWN] * 90 + [RAISED] * 10)
    p = pose_balance_probs(bins, 1.0)
    draws = np.concatenate([epoch_order(100, 0, 1, e, p) for e in range(200)])  # 20,000 draws
    raised_share = np.isin(draws, np.flatnonzero(bins == RAISED)).mean()
    assert raised_share == pytest.approx(0.5, abs=0.02)  # uniform draws would give 0.10
    np.testing.assert_array_equal(epoch_order(100, 3, 1, 7, p), epoch_order(100, 3, 1, 7, p))
    assert not np.array_equal(epoch_order(100, 3, 1, 7, p), epoch_order(100, 4, 1, 7, p))
    assert not np.array_equal(epoch_order(100, 3, 1, 7, p), epoch_order(100, 3, 1, 8, p))


def test_exponent_zero_draws_the_trainers_original_permutations():
    for seed, stage, epoch in [(0, 1, 0), (0, 1, 299), (5, 2, 3)]:
        # the order the trainer drew before pose balancing existed (shipped checkpoint)
        before = np.random.default_rng([seed, stage, 1_000_000 + epoch]).permutation(358)
        np.testing.assert_array_equal(epoch_order(358, seed, stage, epoch, None), before)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    """Three built-in clips through `direct` in 2-s chunks; wave_short raises one arm."""
    out = tmp_path_factory.mktemp("nmr_balance") / "pairs"
    clips = [(c, get_clip(c).motion()) for c in ("walk_short", "wave_short")]
    write_pairs(clips, retargeters.make("direct"), out, chunk_frames=60)
    return out


def _cfg(pairs, out, **kw):
    return tiny_train_config(pairs, out, **{"eval_every": 100, **kw})


def _state(path):
    return torch.load(path, weights_only=False)


def test_training_records_the_bins_and_balanced_runs_are_deterministic(pairs, tmp_path):
    rec = train(_cfg(pairs, tmp_path / "a", balance_poses=1.0))
    bal = rec["stages"][-1]["pose_balance"]
    counts = {k: v for k, v in bal["pairs_per_bin"].items() if v}
    assert sum(counts.values()) == rec["stages"][-1]["pairs"]
    assert len(counts) >= 2  # walking (arms down) and waving pairs
    for label in counts:  # exponent 1: every occupied bin the same share
        assert bal["draw_share_per_bin"][label] == pytest.approx(1 / len(counts), abs=1e-3)
    train(_cfg(pairs, tmp_path / "b", balance_poses=1.0))
    train(_cfg(pairs, tmp_path / "c"))  # uniform
    a, b, c = (_state(tmp_path / r / "state.pt")["model"] for r in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    with pytest.raises(TrainConfigError, match="balance_poses"):
        _cfg(pairs, tmp_path / "d", balance_poses=float("nan"))


def test_a_run_saved_before_the_option_resumes_as_uniform(pairs, tmp_path):
    out = tmp_path / "old"
    train(_cfg(pairs, out, max_steps=3))
    state = _state(out / "state.pt")
    del state["config"]["balance_poses"]  # a state.pt written before the option existed
    torch.save(state, out / "state.pt")
    train(_cfg(pairs, out), resume=True)  # finishes without "changed arguments"
    with pytest.raises(TrainConfigError, match="balance_poses"):
        train(_cfg(pairs, out, balance_poses=1.0), resume=True)
