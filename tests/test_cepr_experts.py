"""CEPR stage 4: rollouts keep the stretch that tracks, reference selection, trainer options."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _helpers import cepr_expert_settings

import retargeters
from benchmark.cepr import experts
from benchmark.tracking import PDFeedForwardPolicy
from nmr_gym.suite import get_clip


@pytest.fixture(scope="module")
def standing_reference():
    """4 s of a standing wave (30 fps): the training-free pd-ff tracker holds it ~2.9 s."""
    return retargeters.make("gmr").retarget(get_clip("wave_short").motion())[0:120]


def test_rollout_keeps_the_tracked_stretch_on_the_reference_frames(standing_reference):
    ref = standing_reference
    res = experts.rollout_reference(PDFeedForwardPolicy(), ref)
    n = res["kept_frames"]
    assert res["terminated"] and not res["success"]  # pd-ff falls before the end
    # kept: from frame 0 to the end of tracking less the margin, at the reference's rate
    kept_s = res["tracked_s"] - experts.TERMINATION_MARGIN_S
    expected = int(np.floor(kept_s * ref.fps + 1e-9)) + 1
    assert n == expected and (n - 1) / ref.fps >= experts.MIN_STRETCH_S
    assert res["qpos"].shape == (n, 36)
    # the simulated robot starts on the reference and stays close while it is kept
    np.testing.assert_allclose(res["qpos"][0], ref.qpos[0], atol=1e-5)
    assert np.abs(res["qpos"][:, 7:] - ref.joint_pos[:n]).mean() < 0.1
    assert res["track_w_mpjpe_m"] < 0.1
    again = experts.rollout_reference(PDFeedForwardPolicy(), ref)
    np.testing.assert_array_equal(again["qpos"], res["qpos"])  # deterministic


def test_rollout_that_falls_at_once_keeps_nothing(standing_reference):
    def flail(obs, env):
        return np.full(29, 1.0, np.float32)

    res = experts.rollout_reference(flail, standing_reference)
    assert res["terminated"] and res["kept_frames"] == 0 and res["qpos"].shape == (0, 36)


def test_min_stretch_is_a_parameter(standing_reference):
    res = experts.rollout_reference(PDFeedForwardPolicy(), standing_reference, min_stretch_s=3.9)
    assert res["kept_frames"] == 0  # tracked for less than 3.9 s


def test_selected_references_are_nearest_the_centre():
    clusters = pd.DataFrame(
        {
            "pair_id": [f"p{i}" for i in range(6)],
            "cluster": [0, 0, 0, 1, 1, 1],
            "cos_to_centre": [0.1, 0.9, 0.5, 0.3, 0.2, 0.8],
        }
    )
    sel = experts.selected_references(clusters, 2)
    assert sorted(sel["pair_id"]) == ["p1", "p2", "p3", "p5"]
    assert len(experts.selected_references(clusters, None)) == 6


def _settings(**kw):
    return cepr_expert_settings(**kw)


def test_trainer_arguments_come_from_train_tracker(tmp_path):
    refs = [tmp_path / "a.nmr.npz", tmp_path / "b.nmr.npz"]
    args = experts.trainer_argv(refs, tmp_path / "e", _settings(), threads=1)
    assert args.motions == [str(r) for r in refs]
    assert args.timesteps == 1024 and args.n_envs == 4 and args.seed == 0
    assert args.net_arch == [32] and not args.resume


def test_the_experts_mdp_reaches_the_trainer(tmp_path):
    """The paper's expert MDP by default, any other value passed on, bad values one line."""
    from benchmark.training import MDPConfig
    from nmr_gym.errors import NmrGymError

    ref = [tmp_path / "a.nmr.npz"]
    args = experts.trainer_argv(ref, tmp_path, _settings(), 1)
    mdp = MDPConfig.from_args(args)
    assert mdp == MDPConfig(obs_mode="nmr", rewards="nmr_expert", sigma_start=2.0, sigma_end=1.0)
    other = _settings(obs_mode="actor", rewards="beyondmimic", sigma_start=1.5, sigma_end=0.5)
    mdp = MDPConfig.from_args(experts.trainer_argv(ref, tmp_path, other, 1))
    assert (mdp.obs_mode, mdp.rewards, mdp.sigma_start, mdp.sigma_end) == (
        "actor",
        "beyondmimic",
        1.5,
        0.5,
    )
    residual = _settings(action_offset="reference")
    assert MDPConfig.from_args(experts.trainer_argv(ref, tmp_path, residual, 1)).action_offset == (
        "reference"
    )
    bads = ({"obs_mode": "dict"}, {"rewards": "nmr"}, {"sigma_start": 0.0})
    for bad in (*bads, {"action_offset": "residual"}):
        with pytest.raises(NmrGymError, match=str(next(iter(bad.values())))):
            experts.trainer_argv(ref, tmp_path, _settings(**bad), 1)


def test_rollout_uses_the_policys_observation(standing_reference):
    """A policy that says it takes the 509-entry observation gets it."""
    seen = []

    class NmrPolicy:
        obs_mode = "nmr"

        def __call__(self, obs, env):
            seen.append(obs.shape)
            return np.full(29, 1.0, np.float32)

    experts.rollout_reference(NmrPolicy(), standing_reference)
    assert seen and set(seen) == {(509,)}


def test_rollout_uses_the_policys_action_offset(standing_reference):
    """A residual policy (``action_offset="reference"``) is rolled out around the reference
    joints: its zero action tracks exactly like PD targets at the reference."""
    targets = []

    class Residual:
        action_offset = "reference"

        def __call__(self, obs, env):
            sim = env.sim
            nxt = min(int(sim.g[0]) + 1, int(sim.g_end[0]))
            targets.append((sim.action_offset()[0].copy(), sim.library.joint_pos[nxt]))
            return np.zeros(29, np.float32)

    experts.rollout_reference(Residual(), standing_reference)
    assert len(targets) > 10
    for got, want in targets:
        np.testing.assert_allclose(got, want)  # evaluation: no encoder offset


def test_run_tasks_keeps_order_in_processes():
    assert experts.run_tasks(abs, [-3, 2, -1], jobs=2) == [3, 2, 1]
