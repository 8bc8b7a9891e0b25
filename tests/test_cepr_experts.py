"""CEPR stage 4: rollouts keep the stretch that tracks, reference selection, trainer options."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import retargeters
from benchmark.cepr import experts
from benchmark.cepr.sources import CeprError
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
    base = dict(
        timesteps=1024,
        n_envs=4,
        n_steps=32,
        seed=0,
        net_arch=[32],
        init_std=0.5,
        obs_mode=experts.DEFAULT_OBS_MODE,
        reward_preset=experts.DEFAULT_REWARD_PRESET,
        sigma_start=experts.DEFAULT_SIGMA_START,
        sigma_end=experts.DEFAULT_SIGMA_END,
        checkpoint_every=10_000,
    )
    base.update(kw)
    return experts.expert_settings(**base)


def test_trainer_arguments_come_from_train_tracker(tmp_path):
    refs = [tmp_path / "a.nmr.npz", tmp_path / "b.nmr.npz"]
    args = experts.trainer_argv(refs, tmp_path / "e", _settings(), threads=1)
    assert args.motions == [str(r) for r in refs]
    assert args.timesteps == 1024 and args.n_envs == 4 and args.seed == 0
    assert args.net_arch == [32] and not args.resume


def test_mdp_options_the_trainer_lacks_are_refused(tmp_path):
    import argparse

    from benchmark.commands import train_tracker

    p = argparse.ArgumentParser()
    train_tracker.add_arguments(p)
    known = {a.dest for a in p._actions}
    for key, value in (("obs_mode", "nmr"), ("sigma_start", 2.0), ("reward_preset", "nmr")):
        s = _settings(**{key: value})
        if key in known:  # the trainer has the option: it is passed on
            args = experts.trainer_argv([tmp_path / "a.nmr.npz"], tmp_path, s, 1)
            assert getattr(args, key) in (value, str(value))
        else:
            with pytest.raises(CeprError, match=key):
                experts.trainer_argv([tmp_path / "a.nmr.npz"], tmp_path, s, 1)


def test_run_tasks_keeps_order_in_processes():
    assert experts.run_tasks(abs, [-3, 2, -1], jobs=2) == [3, 2, 1]
