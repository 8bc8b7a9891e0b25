"""``nmr-bench track --backend mjlab``: the CLI refuses bad backends, a finished mjlab run becomes a
table row (curve converted, policy evaluated in the CPU env, same columns) and resumes; with mjlab
installed, one real run on Warp's CPU backend (slow)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _helpers import make_track_run
from _mjlab_fakes import fake_mjlab_run

from benchmark import tracktable
from benchmark.backends import mjlab_backend as mb
from benchmark.cli import main
from benchmark.tracktable import TrackSettings
from nmr_gym.g1 import spec

CLIP = "turn_in_place_short"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """An ``nmr-bench run`` folder: one short built-in clip retargeted by ``direct``."""
    return make_track_run(tmp_path_factory.mktemp("track_mjlab"), CLIP)


def test_bad_backend_is_one_line_exit_2(tmp_path, capsys):
    assert main(["track", str(tmp_path), "--backend", "gpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown backend 'gpu'; valid backends: cpu, mjlab" in err[0], err
    assert main(["track", str(tmp_path), "--backend", "mjlab", "--iterations", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--iterations" in err[0], err


def test_mjlab_without_mjlab_is_one_line_before_any_work(tiny_run, tmp_path, capsys):
    argv = ["track", str(tiny_run), "--backend", "mjlab"]
    assert main([*argv, "--mjlab-python", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not exist" in err[0], err
    assert not (tiny_run / "tracking").exists()


def test_settings_records_keep_old_cpu_tables_resumable():
    cpu = TrackSettings().record()
    assert "backend" not in cpu and not any(k.startswith("mjlab_") for k in cpu)
    m = TrackSettings(backend="mjlab", mjlab_num_envs=8, mjlab_iterations=3, mjlab_device="cpu")
    assert m.record() == {
        "backend": "mjlab",
        "seed": 0,
        "mjlab_num_envs": 8,
        "mjlab_iterations": 3,
        "mjlab_project_mdp": True,
    }
    other = TrackSettings(backend="mjlab", mjlab_num_envs=8, mjlab_iterations=4)
    assert other.record() != m.record()


# ------------------------------------------------------------- a fake finished mjlab run
def test_mjlab_curve_is_train_trackers_columns(tmp_path):
    fake_mjlab_run(tmp_path / "r", spec.DEFAULT_JOINT_POS)
    c = tracktable.mjlab_curve(tmp_path / "r")
    assert list(c["timesteps"]) == [96.0, 192.0, 288.0]  # iterations x 24 steps x 4 envs
    np.testing.assert_array_equal(c["ep_len_mean"], [np.nan, 40.0, 80.0])
    np.testing.assert_array_equal(c["reward_mean"], [np.nan, 1.0, 2.0])
    assert c["eval_success"].isna().all() and c["eval_tracked_fraction"].isna().all()


def test_track_with_a_fake_mjlab_run_fills_the_table_and_resumes(tiny_run, monkeypatch):
    """The mjlab path end to end around the training: the policy (a constant PD target: the
    default pose) is evaluated in the CPU env from frame 0; rerunning trains nothing."""
    calls = []

    def fake_train(job, motion, dest):
        calls.append((job.motion, job.settings.mjlab_num_envs, job.settings.mjlab_iterations))
        fake_mjlab_run(dest, spec.DEFAULT_JOINT_POS)

    monkeypatch.setattr(tracktable, "_train_mjlab", fake_train)
    monkeypatch.setenv(mb.MJLAB_PYTHON_ENV, __import__("sys").executable)
    argv = ["track", str(tiny_run), "--backend", "mjlab", "--num-envs", "4", "--iterations", "3"]
    assert main([*argv, "--no-progress"]) == 0
    assert calls == [(CLIP, 4, 3)]
    table = pd.read_csv(tiny_run / "tracking.csv")
    assert list(table.columns) == list(tracktable.TRACK_COLUMNS)
    (row,) = table.to_dict("records")
    assert row["budget"] == row["trained_steps"] == 288 and row["train_s"] == 3.0
    assert 0 < row["track_w_mpjpe_m"] < 1 and row["episode_length"] >= 1
    assert row["final_ep_len"] == 80.0 and np.isnan(row["steps_to_full_clip"])
    # ep_len normalised by min(time limit 500, clip length), averaged over the defined points
    cap = min(500, row["clip_length"])
    assert row["ep_len_auc"] == pytest.approx((40 / cap + 80 / cap) / 2)
    # the same evaluation as MjlabPolicy on the CPU env directly
    from benchmark.tracking import evaluate
    from nmr_gym.io import load_robot_motion

    job = tracktable.plan_jobs(tiny_run, TrackSettings(backend="mjlab"))[0]
    policy = mb.MjlabPolicy.load(tracktable.job_dir(tiny_run, CLIP, "direct") / "mjlab")
    (direct,) = evaluate([load_robot_motion(job.robot_file, "nmr")], policy)
    assert row["track_w_mpjpe_m"] == pytest.approx(direct["track_w_mpjpe_m"])
    res = pd.read_csv(tiny_run / "results.csv")
    assert res.loc[0, "track_w_mpjpe_m"] == pytest.approx(row["track_w_mpjpe_m"])
    config = json.loads((tracktable.job_dir(tiny_run, CLIP, "direct") / "config.json").read_text())
    assert config["backend"] == "mjlab" and config["episode_steps"] == 500
    curves = pd.read_csv(tiny_run / "tracking_curves.csv")
    assert len(curves) == 3

    # resume: a finished row is skipped; a finished run without a row result is only evaluated
    assert main([*argv, "--no-progress"]) == 0
    (tracktable.job_dir(tiny_run, CLIP, "direct") / "result.json").unlink()
    assert main([*argv, "--no-progress"]) == 0
    assert len(calls) == 1
    again = pd.read_csv(tiny_run / "tracking.csv").to_dict("records")[0]
    assert again["track_w_mpjpe_m"] == pytest.approx(row["track_w_mpjpe_m"])
    # other mjlab settings on the same table are refused
    assert main(["track", str(tiny_run), "--backend", "mjlab", "--iterations", "5"]) == 2


# ------------------------------------------------------------------ with mjlab installed
def _mjlab_python() -> str | None:
    try:
        return mb.find_mjlab_python()
    except mb.MjlabBackendError:
        return None


@pytest.mark.skipif(
    _mjlab_python() is None,
    reason=f"no Python with mjlab (set ${mb.MJLAB_PYTHON_ENV}; optional extra 'mjlab', own "
    "venv; see the README's Scaling section)",
)
@pytest.mark.slow  # mjlab's trainer on Warp's CPU backend, 4 robots, 2 iterations
def test_track_mjlab_end_to_end_on_cpu(tiny_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("tracking*"))
    argv = ["track", str(run), "--backend", "mjlab", "--num-envs", "4", "--iterations", "2"]
    assert main([*argv, "--device", "cpu", "--no-progress"]) == 0
    (row,) = pd.read_csv(run / "tracking.csv").to_dict("records")
    assert row["trained_steps"] == 2 * 24 * 4
    assert np.isfinite(row["track_w_mpjpe_m"]) and row["episode_length"] >= 1
    folder = tracktable.job_dir(run, CLIP, "direct")
    assert (folder / "mjlab" / mb.POLICY_FILE).is_file() and (folder / "curve.csv").is_file()
    info = json.loads((folder / "mjlab" / "result.json").read_text())
    assert info["episode_steps"] > 0 and info["project_mdp_changes"]


def test_on_a_ray_cluster_an_mjlab_row_asks_for_one_gpu():
    import argparse

    from benchmark.commands.track import _executor

    def args(**kw):
        base = {"executor": "ray", "ray_address": "auto", "jobs": 2, "device": None}
        return argparse.Namespace(**(base | kw))

    mjlab, cpu = TrackSettings(backend="mjlab"), TrackSettings()
    assert _executor(args(), mjlab).gpus_per_job == 1.0
    assert _executor(args(device="cpu"), mjlab).gpus_per_job == 0.0
    assert _executor(args(), cpu).gpus_per_job == 0.0
    assert _executor(args(ray_address=None), mjlab).gpus_per_job == 0.0  # local instance
    assert _executor(args(executor="local", ray_address=None), mjlab).name == "local"
