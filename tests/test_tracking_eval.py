"""Tracking evaluation: success rules, MPJPE definitions, PD baseline, inverse dynamics, CLI."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.tracking import (
    PHC_FAIL_DISTANCE,
    evaluate,
    inverse_dynamics,
    pd_baseline_policy,
    score_episode,
)
from nmr_gym.envs.motion_source import procedural_motion


def _episode(rob, ref, steps=None, clip_steps=None, terminated=False):
    n = rob.shape[0] - 1
    return {
        "robot_body_pos_w": rob,
        "reference_body_pos_w": ref,
        "joint_error": np.full(n, 0.1),
        "terminated": terminated,
        "termination": "anchor_height" if terminated else "",
        "steps": n if steps is None else steps,
        "clip_steps": n if clip_steps is None else clip_steps,
    }


@pytest.fixture(scope="module")
def ref():
    rng = np.random.default_rng(0)
    return rng.normal(0, 0.3, (11, 14, 3)) + np.array([0.0, 0.0, 0.8])


def test_perfect_tracking_succeeds_with_zero_error(ref):
    r = score_episode(_episode(ref.copy(), ref))
    assert r["success"] == 1.0 and r["success_phc"] == 1.0
    assert r["track_mpjpe_m"] == pytest.approx(0.0)
    assert r["track_w_mpjpe_m"] == pytest.approx(0.0)
    assert r["track_joint_error_rad"] == pytest.approx(0.1)


def test_a_global_offset_is_world_error_only_and_fails_phc(ref):
    rob = ref + np.array([0.6, 0.0, 0.0])
    r = score_episode(_episode(rob, ref))
    assert r["track_w_mpjpe_m"] == pytest.approx(0.6)
    assert r["track_mpjpe_m"] == pytest.approx(0.0, abs=1e-12)  # root-relative
    assert r["success_phc"] == 0.0 and r["success_no_termination"] == 1.0
    assert r["success"] == 0.0
    small = score_episode(_episode(ref + np.array([0.0, PHC_FAIL_DISTANCE - 0.01, 0.0]), ref))
    assert small["success"] == 1.0


def test_early_termination_fails_and_counts_missing_frames(ref):
    r = score_episode(_episode(ref[:5].copy(), ref[:5], steps=4, clip_steps=10, terminated=True))
    assert r["success"] == 0.0 and r["success_no_termination"] == 0.0
    assert r["success_phc"] == 1.0
    assert r["episode_length"] == 4 and r["clip_length"] == 10
    # 6 missing frames of 11 counted at the failure distance
    assert r["track_w_mpjpe_clip_m"] == pytest.approx(6 * PHC_FAIL_DISTANCE / 11)


def test_pd_baseline_rows_have_the_benchmark_keys():
    motion = procedural_motion(seconds=1.0)
    rows = evaluate(
        [motion], pd_baseline_policy, names=["proc"], retargeters=["none"], tracker="pd"
    )
    (row,) = rows
    assert row["motion"] == "proc" and row["retargeter"] == "none"
    for col in ("success", "track_mpjpe_m", "track_w_mpjpe_m"):
        assert np.isfinite(row[col])
    assert 1 <= row["episode_length"] <= row["clip_length"] == 50
    assert row["track_w_mpjpe_m"] < PHC_FAIL_DISTANCE


def test_inverse_dynamics_needs_no_help_standing_and_full_weight_flying():
    stand = procedural_motion(seconds=0.5)
    still = stand.replace(joint_pos=np.tile(stand.joint_pos[0], (stand.n_frames, 1)))
    res = inverse_dynamics(still)
    assert res["id_root_force_n"] < 1.0 and res["id_root_torque_nm"] < 1.0
    assert res["id_torque_limit_pct"] == 0.0
    flying = still.replace(root_pos=still.root_pos + np.array([0.0, 0.0, 0.5]))
    res = inverse_dynamics(flying)
    from nmr_gym.g1 import tracking_model

    weight = tracking_model().body_subtreemass[1] * 9.81
    assert res["id_root_force_n"] == pytest.approx(weight, rel=1e-3)


def test_eval_tracker_cli_pd_baseline(tmp_path, capsys):
    pytest.importorskip("nmr_gym.io.robot_formats")
    from benchmark.cli import main
    from nmr_gym.io import save_robot_motion

    motion = procedural_motion(seconds=1.0)
    path = tmp_path / "proc.npz"
    save_robot_motion(motion, path)
    out = tmp_path / "rows.csv"
    assert main(["eval-tracker", "pd", str(path), "--out", str(out)]) == 0
    import pandas as pd

    df = pd.read_csv(out)
    assert list(df.motion) == ["proc"] and df.tracker[0] == "pd"
    assert {"success", "track_mpjpe_m", "track_w_mpjpe_m"} <= set(df.columns)
    assert main(["eval-tracker", "pd"]) == 2  # no motion: one-line error


@pytest.mark.slow  # ~12 s of CPU (torch and stable-baselines3 imports, a tiny PPO run)
@pytest.mark.parametrize(
    "vec_args", [[], ["--vec", "dummy", "--lr-schedule", "fixed"]], ids=["batched", "dummy"]
)
def test_train_tracker_then_eval_tracker_end_to_end(tmp_path, vec_args):
    """A tiny PPO run writes model, normalisation, checkpoint and curve; eval-tracker reads it."""
    pytest.importorskip("stable_baselines3")
    pytest.importorskip("nmr_gym.io.robot_formats")
    import pandas as pd

    from benchmark.cli import main
    from nmr_gym.io import save_robot_motion

    path = tmp_path / "proc.npz"
    save_robot_motion(procedural_motion(seconds=1.0), path)
    out = tmp_path / "run"
    args = ["train-tracker", str(path), "--out", str(out), "--timesteps", "128"]
    args += ["--n-envs", "1", "--n-steps", "64", "--net-arch", "16", "--checkpoint-every", "64"]
    assert main([*args, *vec_args, "--no-progress"]) == 0
    assert {"model.zip", "vecnormalize.pkl", "curve.csv", "curve.png", "config.json"} <= {
        p.name for p in out.iterdir()
    }
    curve = pd.read_csv(out / "curve.csv")
    assert list(curve.timesteps) == [64, 128] and np.isfinite(curve.eval_mpjpe_m.iloc[-1])
    assert list((out / "checkpoints").glob("ppo_*_steps.zip"))
    rows = tmp_path / "rows.csv"
    assert main(["eval-tracker", str(out), str(path), "--out", str(rows)]) == 0
    df = pd.read_csv(rows)
    assert df.tracker[0] == str(out) and 0 < df.episode_length[0] <= df.clip_length[0]
    if vec_args:
        return
    # --resume after an interruption: rows past the checkpoint are dropped and redone, the wall
    # clock continues.
    part = pd.read_csv(out / "curve.csv")
    extra = part.iloc[[-1]].assign(timesteps=160, wall_s=part.wall_s.iloc[-1] + 50.0)
    pd.concat([part, extra]).to_csv(out / "curve.csv", index=False)
    assert main([*args[:5], "256", *args[6:], "--resume", "--no-progress"]) == 0
    resumed = pd.read_csv(out / "curve.csv")
    assert list(resumed.timesteps) == [64, 128, 192, 256]
    assert resumed.wall_s.is_monotonic_increasing
    # A checkpoint finds its own normalisation statistics; a bare model without them is refused.
    ckpt = sorted((out / "checkpoints").glob("ppo_*_steps.zip"))[-1]
    assert main(["eval-tracker", str(ckpt), str(path)]) == 0
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "model.zip").write_bytes((out / "model.zip").read_bytes())
    assert main(["eval-tracker", str(bare), str(path)]) == 2


def test_kl_adaptive_learning_rate_follows_rsl_rl_rule():
    from benchmark.training import KL_ADAPTIVE, KLAdaptiveLR

    lr = KLAdaptiveLR(1e-3, desired_kl=0.01)
    assert lr(0.5) == 1e-3
    assert lr.update(0.03) == pytest.approx(1e-3 / KL_ADAPTIVE["factor"])  # KL > 2x desired
    assert lr.update(0.01) == pytest.approx(1e-3 / KL_ADAPTIVE["factor"])  # within band: kept
    assert lr.update(0.001) == pytest.approx(1e-3)  # KL < desired / 2
    for _ in range(100):
        lr.update(1.0)
    assert lr.lr == KL_ADAPTIVE["min_lr"]
    for _ in range(100):
        lr.update(1e-6)
    assert lr.lr == KL_ADAPTIVE["max_lr"]
    with pytest.raises(ValueError, match="desired_kl"):
        KLAdaptiveLR(1e-3, desired_kl=0.0)


def test_ppo_config_generates_the_options_and_the_record():
    """One definition: parsing no options gives the dataclass defaults, an option changes its
    field, and the JSON record carries every field."""
    import argparse
    import dataclasses

    from benchmark.training import PPOConfig

    p = argparse.ArgumentParser()
    PPOConfig.add_arguments(p)
    assert PPOConfig.from_args(p.parse_args([])) == PPOConfig()
    cfg = PPOConfig.from_args(
        p.parse_args(["--n-envs", "8", "--net-arch", "16", "16", "--lr-schedule", "fixed"])
    )
    assert (cfg.n_envs, cfg.net_arch, cfg.target_kl) == (8, [16, 16], 0.02)
    assert cfg.batch_size == 8 * cfg.n_steps // cfg.n_minibatches
    record = cfg.to_record()
    assert {f.name for f in dataclasses.fields(PPOConfig)} | {"batch_size"} == set(record)
    with pytest.raises(SystemExit):
        p.parse_args(["--gamma", "0.5"])  # not a command-line option
