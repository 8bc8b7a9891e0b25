"""``nmr-bench track`` and the tracking table: curve summaries, Table IV, bad input, and one
tiny end-to-end run (one short built-in clip, ``direct``, a budget of a few updates)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from _helpers import make_track_run

from benchmark import tracktable
from benchmark.cli import main
from benchmark.results import read_results
from benchmark.tracktable import TrackError, TrackSettings, curve_summary

#: The tiny end-to-end run: a clip shorter than 250 frames at 50 fps, 4 PPO updates of 8 x 32.
CLIP = "turn_in_place_short"
TINY = ["--budget", "1024", "--n-envs", "8", "--n-steps", "32", "--net-arch", "32", "32",
        "--n-evals", "2", "--init-std", "0.5"]  # fmt: skip


def _curve(ep_len, evals=None, step=100):
    n = len(ep_len)
    c = pd.DataFrame(
        {
            "timesteps": np.arange(1, n + 1) * step,
            "ep_len_mean": ep_len,
            "reward_mean": np.linspace(0.0, 1.0, n),
            "eval_success": np.nan,
            "eval_tracked_fraction": np.nan,
        }
    )
    for i, (succ, frac) in (evals or {}).items():
        c.loc[i, ["eval_success", "eval_tracked_fraction"]] = [succ, frac]
    return c


# ------------------------------------------------------------------------------ units
def test_curve_summary_steps_to_full_clip_and_areas():
    c = _curve([10, 20, 30, 40], evals={0: (0.0, 0.2), 2: (1.0, 1.0), 3: (1.0, 1.0)})
    s = curve_summary(c, clip_steps=40, episode_steps=500)  # cap = the clip (40 steps)
    assert s["steps_to_full_clip"] == 300  # the first successful evaluation
    # y = 0.25, 0.5, 0.75, 1.0 linearly over the span: mean 0.625
    assert s["ep_len_auc"] == pytest.approx(0.625)
    # eval fractions 0.2 -> 1.0 over [100, 300], 1.0 on [300, 400]: (0.6*200 + 100) / 300
    assert s["eval_tracked_auc"] == pytest.approx((0.6 * 200 + 100) / 300)
    assert s["final_ep_len"] == 40 and s["final_reward"] == pytest.approx(1.0)


def test_curve_summary_no_success_is_nan_and_time_limit_caps():
    s = curve_summary(_curve([50, 50], evals={1: (0.0, 0.5)}), clip_steps=1000, episode_steps=100)
    assert math.isnan(s["steps_to_full_clip"])
    assert s["ep_len_auc"] == pytest.approx(0.5)  # cap = the time limit (100 steps)


def test_settings_reject_a_bad_budget():
    for bad in (0, -5):
        with pytest.raises(TrackError, match="--budget"):
            TrackSettings(budget=bad)


def test_trainer_argv_is_parsed_by_train_tracker(tmp_path):
    import argparse

    from benchmark.commands import train_tracker

    s = TrackSettings(budget=4000, n_envs=4, n_steps=16, net_arch=(8,), n_evals=4, seed=3)
    parser = argparse.ArgumentParser()
    train_tracker.add_arguments(parser)
    args = parser.parse_args(s.trainer_argv(tmp_path / "m.nmr.npz", tmp_path / "o", True))
    assert (args.timesteps, args.n_envs, args.n_steps, args.seed) == (4000, 4, 16, 3)
    assert args.net_arch == [8] and args.eval_every == 1000 and args.resume


def test_tracking_table_counts_successes_per_scoring_rate_split():
    from benchmark.leaderboard import scoring_rate_length, tracking_table

    # 120 fps: 500 frames = 4.2 s -> 209 frames at 50 fps (short, though 500 at its own rate)
    results = pd.DataFrame(
        {
            "motion": ["a", "a", "b", "b"],
            "retargeter": ["x", "y", "x", "y"],
            "robot_frames": [500, 500, 300, 300],
            "robot_fps": [120.0, 120.0, 30.0, 30.0],  # b: 10 s -> 499 frames: medium
            "scoring_fps": [50.0] * 4,
        }
    )
    assert list(scoring_rate_length(results)) == ["short", "short", "medium", "medium"]
    tracking = pd.DataFrame(
        {
            "motion": ["a", "a", "b", "b"],
            "retargeter": ["x", "y", "x", "y"],
            "success": [1.0, 0.0, 1.0, 1.0],
            "track_mpjpe_m": [0.1, 0.2, 0.3, 0.4],
            "track_w_mpjpe_m": [0.2, 0.3, 0.4, 0.5],
            **{c: [1.0, np.nan, 2.0, 3.0] for c in tracktable.CURVE_SUMMARY_COLUMNS},
        }
    )
    t = tracking_table(results, tracking).set_index(["length", "retargeter"])
    assert t.loc[("short", "x"), "successes"] == "1/1"
    assert t.loc[("short", "y"), "successes"] == "0/1"
    assert t.loc[("all", "x"), "successes"] == "2/2"
    assert t.loc[("all", "y"), "track_w_mpjpe_m"] == pytest.approx(0.4)
    assert math.isnan(t.loc[("short", "y"), "steps_to_full_clip"])
    assert ("long", "x") not in t.index  # no long clip


# ------------------------------------------------------------------------- bad input
def test_bad_inputs_exit_2_with_one_line(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        ([str(empty)], "no results.csv"),
        ([str(empty), "--budget", "0"], "--budget"),
        ([str(empty), "--budget", "-3"], "--budget"),
    ]
    for argv, needle in cases:
        assert main(["track", *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0], err


# ------------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """An ``nmr-bench run`` folder: one short built-in clip retargeted by ``direct``."""
    return make_track_run(tmp_path_factory.mktemp("track"), CLIP)


def test_unknown_retargeter_and_motion_exit_2(tiny_run, capsys):
    for argv, needle in (
        (["--retargeters", "nope"], "unknown retargeter 'nope'"),
        (["--retargeters", "gmr"], "valid retargeters: direct"),  # registered, not in the run
        (["--motions", "nope"], "unknown motion 'nope'"),
    ):
        assert main(["track", str(tiny_run), *argv, *TINY]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0], err


@pytest.fixture(scope="module")
def tracked(tiny_run):
    """``tiny_run`` after ``nmr-bench track`` with the tiny settings."""
    assert main(["track", str(tiny_run), *TINY, "--no-progress"]) == 0
    return tiny_run


def test_track_end_to_end_merges_and_resumes(tracked, monkeypatch, capsys):
    tiny_run = tracked
    table = pd.read_csv(tiny_run / "tracking.csv")
    assert list(table.columns) == list(tracktable.TRACK_COLUMNS)
    (row,) = table.to_dict("records")
    assert (row["motion"], row["retargeter"]) == (CLIP, "direct")
    assert row["success"] in (0.0, 1.0)
    assert 0 < row["track_mpjpe_m"] < 1 and 0 < row["track_w_mpjpe_m"] < 1
    assert row["trained_steps"] >= 1024 and row["budget"] == 1024
    assert 0 < row["ep_len_auc"] <= 1 and 0 < row["eval_tracked_auc"] <= 1
    assert row["clip_length"] > 0 and row["final_ep_len"] > 0
    # merged into results.csv and the row file (a later 'nmr-bench run' keeps them)
    res = read_results(tiny_run / "results.csv")
    for c in ("success", "track_mpjpe_m", "track_w_mpjpe_m"):
        assert res.loc[0, c] == pytest.approx(row[c])
    row_file = json.loads(next((tiny_run / "rows").glob("*.json")).read_text())
    assert row_file["track_w_mpjpe_m"] == pytest.approx(row["track_w_mpjpe_m"])
    (call,) = tracktable.invocations(tiny_run)
    assert call["rows_trained"] == 1 and call["wall_s"] > 0
    curves = pd.read_csv(tiny_run / "tracking_curves.csv")
    assert len(curves) == 4 and curves["ep_len_norm"].between(0, 1).all()

    # resume: a rerun trains nothing; without result.json it only re-evaluates (same values)
    def no_training(job):
        raise AssertionError(f"trained again: {job}")

    monkeypatch.setattr(tracktable, "_train", no_training)
    assert main(["track", str(tiny_run), *TINY, "--no-progress"]) == 0
    (tiny_run / "tracking" / f"{CLIP}--direct" / "result.json").unlink()
    assert main(["track", str(tiny_run), *TINY, "--no-progress"]) == 0
    again = pd.read_csv(tiny_run / "tracking.csv").to_dict("records")[0]
    for c in ("success", "track_mpjpe_m", "track_w_mpjpe_m", "ep_len_auc"):
        assert again[c] == pytest.approx(row[c])
    # another budget on the same table is refused (rows would not be comparable)
    capsys.readouterr()
    assert main(["track", str(tiny_run), *TINY, "--budget", "2048"]) == 2
    assert "other settings" in capsys.readouterr().err


def test_interrupted_training_continues_from_its_checkpoint(tracked, tmp_path):
    """A row folder with a checkpoint and no model trains with --resume up to the budget."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tracked, run)
    row = run / "tracking" / f"{CLIP}--direct"
    for f in ("result.json", "model.zip", "vecnormalize.pkl"):
        (row / f).unlink()
    ckpts = sorted((row / "checkpoints").glob("ppo_*_steps.zip"))
    assert ckpts, "train-tracker wrote no checkpoint"
    seen = []
    real = tracktable.TrackSettings.trainer_argv

    def spy(self, robot_file, out, resume):
        seen.append(resume)
        return real(self, robot_file, out, resume)

    mp = pytest.MonkeyPatch()
    mp.setattr(tracktable.TrackSettings, "trainer_argv", spy)
    try:
        assert main(["track", str(run), *TINY, "--no-progress"]) == 0
    finally:
        mp.undo()
    assert seen == [True]
    assert "resuming from" in (row / "train.log").read_text()
    assert pd.read_csv(run / "tracking.csv")["trained_steps"].iloc[0] >= 1024


def test_leaderboard_publishes_table_iv_and_curves(tracked, tmp_path):
    tiny_run = tracked
    dest = tmp_path / "lb"
    assert main(["leaderboard", str(tiny_run / "results.csv"), "--publish", str(dest)]) == 0
    t = pd.read_csv(dest / "tracking_table.csv")
    assert set(t["length"]) == {"short", "all"}  # 150 frames at 30 fps: 249 at 50 fps
    assert (t["successes"].str.endswith("/1")).all()
    assert (dest / "figures" / "tracking_curves.png").stat().st_size > 1000
    readme = (dest / "README.md").read_text()
    assert "Table IV" in readme and f"nmr-bench track {tiny_run}" in readme  # the command
    assert "invocation(s) of `nmr-bench track`" in readme


def test_manifest_builtin_entries(tmp_path):
    """The table's manifest mixes built-in clips (``builtin:NAME``) with files."""
    from benchmark.suites import SuiteError, load_suite

    m = tmp_path / "m.csv"
    m.write_text(f"path,name\nbuiltin:{CLIP},\n")
    (clip,) = load_suite(m)
    assert (clip.name, clip.source, clip.complexity) == (CLIP, f"builtin:{CLIP}", "WBPM")
    m.write_text("path\nbuiltin:nope\n")
    with pytest.raises(SuiteError, match="unknown built-in clip 'nope'; valid: .*wave_short"):
        load_suite(m)
