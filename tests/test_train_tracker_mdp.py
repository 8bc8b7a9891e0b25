"""train-tracker's MDP options: the policy observation, the reward set and the annealing of the
reward widths (NMR paper Eq. 6) are recorded, reach the training env, survive --resume, and an
nmr-observation policy is evaluated in its own observation."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.training import MDPConfig, TrainingConfigError
from nmr_gym.envs import REWARD_PRESETS


def _parse(*argv: str) -> MDPConfig:
    p = argparse.ArgumentParser()
    MDPConfig.add_arguments(p)
    return MDPConfig.from_args(p.parse_args(list(argv)))


def test_mdp_options_give_the_config_and_the_papers_linear_schedule():
    assert _parse() == MDPConfig() and MDPConfig().sigma_schedule(1000) is None  # no annealing
    cfg = _parse("--obs-mode", "nmr", "--rewards", "nmr_expert", "--sigma-start", "2")
    assert (cfg.obs_mode, cfg.rewards, cfg.sigma_start, cfg.sigma_end) == (
        "nmr",
        "nmr_expert",
        2.0,
        1.0,
    )
    table = REWARD_PRESETS["nmr_expert"]
    base = {k: t.params["sigma"] for k, t in table.items() if "sigma" in t.params}
    assert cfg.default_sigmas() == base and "anchor_lin_vel" in base
    s = cfg.sigma_schedule(1000)
    assert s.at(0) == pytest.approx({k: 2 * v for k, v in base.items()})
    assert s.at(250) == pytest.approx({k: 1.75 * v for k, v in base.items()})
    assert s.at(1000) == pytest.approx(base) and s.at(5000) == pytest.approx(base)
    # --sigma-steps sets the schedule's length independently of the run's steps
    assert _parse("--sigma-start", "3", "--sigma-steps", "100").sigma_schedule(10**6).i_max == 100
    assert cfg.tracking_config().rewards.keys() == table.keys()
    assert cfg.tracking_config().action.offset == "default"
    assert _parse("--action-offset", "reference").tracking_config().action.offset == "reference"
    fields = {"obs_mode", "rewards", "sigma_start", "sigma_end", "sigma_steps", "action_offset"}
    assert set(cfg.to_record()) == fields


@pytest.mark.parametrize(
    "argv",
    [["--obs-mode", "critic"], ["--obs-mode", "dict"], ["--rewards", "nmr"]]
    + [["--action-offset", "ref"]],
)
def test_observations_sb3_cannot_train_and_unknown_reward_sets_are_refused(argv):
    with pytest.raises(SystemExit):
        _parse(*argv)


@pytest.mark.parametrize(
    "kw", [{"sigma_start": 0.0}, {"sigma_end": -1.0}, {"sigma_end": float("inf")}]
)
def test_bad_widths_are_refused_with_the_value(kw):
    with pytest.raises(TrainingConfigError, match=str(next(iter(kw.values())))):
        MDPConfig(**kw)


def test_nmr_expert_training_anneals_records_resumes_and_evaluates(tmp_path, capsys):
    """~15 s: two tiny PPO runs (2048 + 1024 env steps) and an evaluation."""
    pytest.importorskip("stable_baselines3")
    import pandas as pd

    from benchmark.tracking import SB3Policy
    from nmr_gym.envs.motion_source import procedural_motion
    from nmr_gym.io import save_robot_motion

    motion = tmp_path / "proc.npz"
    save_robot_motion(procedural_motion(seconds=1.0), motion)
    out = tmp_path / "run"
    args = ["train-tracker", str(motion), "--out", str(out), "--timesteps", "2048"]
    args += ["--n-envs", "8", "--n-steps", "64", "--net-arch", "16", "--threads", "1"]
    args += ["--checkpoint-every", "1024", "--no-progress"]
    mdp = ["--obs-mode", "nmr", "--rewards", "nmr_expert", "--sigma-start", "2", "--sigma-end", "1"]
    mdp += ["--action-offset", "reference"]
    assert main([*args, *mdp]) == 0

    config = json.loads((out / "config.json").read_text())
    assert (config["obs_mode"], config["rewards"]) == ("nmr", "nmr_expert")
    assert (config["sigma_start"], config["sigma_end"]) == (2.0, 1.0)
    base = MDPConfig(rewards="nmr_expert").default_sigmas()
    assert config["sigma_schedule"]["i_max"] == 2048
    assert config["sigma_schedule"]["start"] == pytest.approx({k: 2 * v for k, v in base.items()})
    # Widths read from the training env: each rollout's (every 512 steps), and at the end.
    curve = pd.read_csv(out / "curve.csv")
    assert list(curve.timesteps) == [512, 1024, 1536, 2048]
    np.testing.assert_allclose(curve.reward_sigma_scale, [2.0, 1.75, 1.5, 1.25])
    final = json.loads((out / "rewards.json").read_text())
    assert set(final) == set(REWARD_PRESETS["nmr_expert"])
    assert {k: final[k]["sigma"] for k in base} == pytest.approx(base)  # the end widths (x 1)

    # The policy carries its observation and action offset; eval-tracker builds the env with it.
    assert config["action_offset"] == "reference"
    loaded = SB3Policy.load(str(out))
    assert (loaded.obs_mode, loaded.action_offset) == ("nmr", "reference")
    rows = tmp_path / "rows.csv"
    assert main(["eval-tracker", str(out), str(motion), "--out", str(rows)]) == 0
    assert 0 < pd.read_csv(rows).episode_length[0]

    # An interrupted run (checkpoint at 1024) resumes at the checkpoint's widths.
    for p in (out / "checkpoints").glob("*_2048_steps.*"):
        p.unlink()
    (out / "model.zip").unlink()
    capsys.readouterr()
    assert main([*args, *mdp, "--resume"]) == 0
    assert "resuming from ppo_1024_steps.zip" in capsys.readouterr().out
    resumed = pd.read_csv(out / "curve.csv")
    assert list(resumed.timesteps) == [512, 1024, 1536, 2048]
    np.testing.assert_allclose(resumed.reward_sigma_scale, [2.0, 1.75, 1.5, 1.25])
    final = json.loads((out / "rewards.json").read_text())
    assert {k: final[k]["sigma"] for k in base} == pytest.approx(base)

    # Resuming with another observation or action offset is refused (one line), before any
    # training.
    assert main([*args, "--obs-mode", "actor", "--rewards", "nmr_expert", "--resume"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--obs-mode nmr" in err[0]
    assert main([*args, *mdp[:-2], "--resume"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--action-offset reference" in err[0]
    # A policy whose recorded observation does not fit its input is refused when loaded.
    config["obs_mode"] = "actor"
    (out / "config.json").write_text(json.dumps(config))
    assert main(["eval-tracker", str(out), str(motion)]) == 2
    assert "obs_mode 'actor'" in capsys.readouterr().err


def test_annealing_reaches_single_envs_in_subprocesses(tmp_path):
    """With one G1TrackingEnv per process (--vec subproc; dummy takes the same calls) the
    widths are set in the envs and read back from them."""
    pytest.importorskip("stable_baselines3")
    import pandas as pd

    from nmr_gym.envs.motion_source import procedural_motion
    from nmr_gym.io import save_robot_motion

    motion = tmp_path / "proc.npz"
    save_robot_motion(procedural_motion(seconds=1.0), motion)
    out = tmp_path / "run"
    argv = ["train-tracker", str(motion), "--out", str(out), "--timesteps", "256"]
    argv += ["--vec", "subproc", "--n-envs", "2", "--n-steps", "64", "--net-arch", "8"]
    argv += ["--no-progress"]
    argv += ["--rewards", "nmr_expert", "--sigma-start", "3", "--sigma-end", "0.5"]
    assert main(argv) == 0
    np.testing.assert_allclose(pd.read_csv(out / "curve.csv").reward_sigma_scale, [3.0, 1.75])
    final = json.loads((out / "rewards.json").read_text())
    base = MDPConfig(rewards="nmr_expert").default_sigmas()
    assert {k: final[k]["sigma"] for k in base} == pytest.approx(
        {k: 0.5 * v for k, v in base.items()}
    )
