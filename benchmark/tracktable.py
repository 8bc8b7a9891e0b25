"""The tracking table (NMR paper, Table IV and Fig. 4): one tracking policy per retargeted clip.

For every (retargeter, motion) row of an ``nmr-bench run`` folder, :func:`run_track` trains a
BeyondMimic-style PPO tracking policy on that row's robot motion alone with a fixed step budget
(``nmr-bench train-tracker``'s trainer, driven through its own argument parser: the batched env,
its adaptive start sampler, the same PPO settings and the same seed for every method), evaluates
it from frame 0 on the evaluation env (``benchmark.tracking.evaluate``: both success rules -- no
early termination through the clip, and PHC's 0.5 m mean-body rule -- MPJPE and W-MPJPE), and
summarises its learning curve. Methods differ only by their reference.

Layout (under the run folder ``RUN``)::

    RUN/tracking/settings.json                the budget and PPO settings (a rerun must match)
    RUN/tracking/invocations.json             each invocation's command, start and wall time
    RUN/tracking/MOTION--RETARGETER/          train-tracker's output folder (model.zip,
                                              checkpoints/, curve.csv, config.json)
    RUN/tracking/MOTION--RETARGETER/result.json   the finished row (how reruns skip it)
    RUN/tracking.csv                          every finished row (:data:`TRACK_COLUMNS`)
    RUN/tracking_curves.csv                   every learning curve, long format (Fig. 4)

``success``, ``track_mpjpe_m`` and ``track_w_mpjpe_m`` are also merged into ``RUN/results.csv``
and its row files (``benchmark.results.merge_tracking``), so leaderboards show them.

Curve summaries (from train-tracker's ``curve.csv``, one row per PPO update):

- ``steps_to_full_clip``: env steps at the first periodic frame-0 evaluation that succeeds
  (both rules); NaN when none does within the budget;
- ``ep_len_auc``: area under the normalised training episode-length curve, divided by the
  span of steps (0-1). Training episodes start at sampled frames and end at a termination, the
  clip's end or the time limit; the mean length is normalised by the longest possible one,
  ``min(time limit, clip length)`` [control steps], so 1 would be every episode from frame 0
  running to the end;
- ``eval_tracked_auc``: the same area for the fraction of the clip tracked from frame 0 at
  the periodic evaluations (:attr:`TrackSettings.n_evals` of them);
- ``final_ep_len`` [control steps] and ``final_reward`` (mean episode return) of the last
  update.

A job resumes: a finished row is skipped; a trained model without a result is only evaluated;
an interrupted training continues from its latest checkpoint (``train-tracker --resume``).

Backends (:attr:`TrackSettings.backend`): ``cpu`` (above) or ``mjlab``: each row's policy is
trained by the mjlab GPU backend (:func:`benchmark.backends.mjlab_backend.train`: mjlab's G1
tracking task with the project's MDP terms, ``mjlab_num_envs`` robots, ``mjlab_iterations``
PPO iterations) into ``RUN/tracking/MOTION--RETARGETER/mjlab/`` and evaluated in the project's
CPU env through :class:`~benchmark.backends.mjlab_backend.MjlabPolicy` (sim-to-sim), with the
same table columns. Its ``curve.csv`` is rsl_rl's, converted (:func:`mjlab_curve`): env steps,
mean training episode length and return per iteration; mjlab makes no periodic frame-0
evaluations, so ``steps_to_full_clip`` and ``eval_tracked_auc`` are NaN; ``budget`` and
``trained_steps`` are the run's env steps. Resuming: a finished row is skipped and a finished
mjlab run is only evaluated; an mjlab run is atomic (its folder appears when it finished), so
an interrupted one starts again.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark import results as res
from benchmark.backends import BACKENDS
from benchmark.backends.mjlab_backend import DEFAULT_ITERATIONS as MJLAB_ITERATIONS
from benchmark.backends.mjlab_backend import DEFAULT_NUM_ENVS as MJLAB_NUM_ENVS
from nmr_gym.errors import NmrGymError, UnknownNameError
from nmr_gym.io.atomic import atomic_path, write_text_atomic

TRACKING_DIR = "tracking"
TRACKING_FILE = "tracking.csv"
CURVES_FILE = "tracking_curves.csv"
SETTINGS_FILE = "settings.json"
RESULT_FILE = "result.json"
INVOCATIONS_FILE = "invocations.json"
#: Sub-folder of a row folder holding the mjlab backend's training run.
MJLAB_DIR = "mjlab"
#: Default training budget per clip [env steps]; a CPU-sized default, the paper scale needs GPUs.
DEFAULT_BUDGET = 200_000

#: Evaluation columns kept per row (``benchmark.tracking.score_episode``).
EVAL_COLUMNS: tuple[str, ...] = (
    "success",
    "success_no_termination",
    "success_phc",
    "track_mpjpe_m",
    "track_w_mpjpe_m",
    "track_w_mpjpe_clip_m",
    "track_joint_error_rad",
    "episode_length",
    "clip_length",
    "termination",
)
CURVE_SUMMARY_COLUMNS: tuple[str, ...] = (
    "steps_to_full_clip",
    "ep_len_auc",
    "eval_tracked_auc",
    "final_ep_len",
    "final_reward",
)
TRACK_COLUMNS: tuple[str, ...] = (
    *res.KEY,
    *EVAL_COLUMNS,
    *CURVE_SUMMARY_COLUMNS,
    "budget",
    "trained_steps",
    "train_s",
)
#: Columns of the long-format learning curves (``tracking_curves.csv``).
CURVE_COLUMNS: tuple[str, ...] = (
    *res.KEY,
    "timesteps",
    "ep_len_mean",
    "ep_len_norm",
    "reward_mean",
    "eval_tracked_fraction",
    "eval_success",
)


class TrackError(NmrGymError):
    """Unusable ``nmr-bench track`` input (budget, run folder, settings of a resumed table)."""


@dataclass(frozen=True)
class TrackSettings:
    """One training per clip: the step budget and the PPO settings (``PPOConfig`` fields)."""

    budget: int = DEFAULT_BUDGET  # env steps per clip
    n_envs: int = 32  # robots of the batched env
    n_steps: int = 64  # rollout steps per env per update
    net_arch: tuple[int, ...] = (512, 256, 128)
    init_std: float = 1.0
    seed: int = 0  # the same for every (motion, retargeter): methods differ by reference only
    threads: int = 1  # physics threads per training
    n_evals: int = 10  # frame-0 evaluations during training (curve points)
    checkpoint_every: int = field(default=0)  # [env steps]; 0: budget / 5
    backend: str = "cpu"  # benchmark.backends.BACKENDS
    mjlab_num_envs: int = MJLAB_NUM_ENVS  # mjlab: parallel robots
    mjlab_iterations: int = MJLAB_ITERATIONS  # mjlab: PPO iterations
    mjlab_project_mdp: bool = True  # mjlab: its task with the project's MDP terms
    # Where and how the mjlab run executes (not part of the results' meaning):
    mjlab_python: str | None = field(default=None, compare=False)
    mjlab_device: str | None = field(default=None, compare=False)

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise UnknownNameError("backend", self.backend, BACKENDS)
        if self.backend == "mjlab" and min(self.mjlab_num_envs, self.mjlab_iterations) < 1:
            raise TrackError(
                "--num-envs and --iterations must be >= 1, got "
                f"{self.mjlab_num_envs}, {self.mjlab_iterations}"
            )
        if int(self.budget) != self.budget or self.budget < 1:
            raise TrackError(f"--budget must be a positive number of env steps, got {self.budget}")
        if self.n_envs < 1 or self.n_steps < 1 or self.threads < 1 or self.n_evals < 1:
            raise TrackError(
                "n_envs, n_steps, threads and n_evals must be >= 1, got "
                f"{self.n_envs}, {self.n_steps}, {self.threads}, {self.n_evals}"
            )

    def record(self) -> dict[str, Any]:
        """What must match for a resumed table (threads, the mjlab interpreter and device do
        not change results' meaning). The cpu record has no backend key (tables made before
        the option stay resumable); the mjlab record has the backend's settings and the seed."""
        d = asdict(self)
        for k in ("threads", "mjlab_python", "mjlab_device"):
            d.pop(k)
        if self.backend == "cpu":
            return {
                k: list(v) if k == "net_arch" else v
                for k, v in d.items()
                if k != "backend" and not k.startswith("mjlab_")
            }
        return {"backend": self.backend, "seed": self.seed} | {
            k: v for k, v in d.items() if k.startswith("mjlab_")
        }

    def trainer_argv(self, robot_file: Path, out: Path, resume: bool) -> list[str]:
        """``train-tracker``'s command line for one clip."""
        every = max(self.budget // self.n_evals, 1)
        ckpt = self.checkpoint_every or max(self.budget // 5, 1)
        return [
            str(robot_file),
            "--out", str(out),
            "--timesteps", str(self.budget),
            "--n-envs", str(self.n_envs),
            "--n-steps", str(self.n_steps),
            "--seed", str(self.seed),
            "--init-std", str(self.init_std),
            "--threads", str(self.threads),
            "--checkpoint-every", str(ckpt),
            "--eval-every", str(every),
            "--no-progress",
            "--net-arch", *[str(n) for n in self.net_arch],
            *(["--resume"] if resume else []),
        ]  # fmt: skip


@dataclass(frozen=True)
class TrackJob:
    """One (motion, retargeter) row to train and evaluate."""

    motion: str
    retargeter: str
    robot_file: str  # absolute
    out: str  # the row's training folder
    settings: TrackSettings


def job_dir(run_dir: str | Path, motion: str, retargeter: str) -> Path:
    return Path(run_dir) / TRACKING_DIR / f"{res.slug(motion)}--{res.slug(retargeter)}"


def plan_jobs(
    run_dir: str | Path,
    settings: TrackSettings,
    retargeters: list[str] | None = None,
    motions: list[str] | None = None,
) -> list[TrackJob]:
    """The jobs of a run folder's rows with a retargeted motion, optionally only the named
    retargeters/motions (an unknown name is an :class:`UnknownNameError` listing the valid
    ones; a run folder without ``results.csv`` is a :class:`TrackError`)."""
    from benchmark.runner import RESULTS_FILE

    run_dir = Path(run_dir)
    table = run_dir / RESULTS_FILE
    if not table.is_file():
        raise TrackError(f"{run_dir}: not an 'nmr-bench run' folder (no {RESULTS_FILE})")
    df = res.read_results(table)
    ok = df[(df["error"] == "") & (df["robot_file"] != "")]
    if ok.empty:
        raise TrackError(f"{table}: no row has a retargeted motion to track")
    if retargeters:
        import retargeters as registry

        in_run = sorted(ok["retargeter"].unique())
        for r in retargeters:
            if r not in registry.registered():
                raise UnknownNameError("retargeter", r, registry.registered())
            if r not in in_run:
                raise UnknownNameError("retargeter", r, in_run)
        ok = ok[ok["retargeter"].isin(retargeters)]
    if motions:
        in_run = sorted(ok["motion"].unique())
        for m in motions:
            if m not in in_run:
                raise UnknownNameError("motion", m, in_run)
        ok = ok[ok["motion"].isin(motions)]
    jobs = []
    for r in ok.itertuples():
        path = (run_dir / str(r.robot_file)).resolve()
        if not path.is_file():
            raise TrackError(
                f"{path}: robot motion of {r.motion!r} by {r.retargeter!r} is missing (rerun "
                f"'nmr-bench run' on {run_dir} to remake it)"
            )
        out = job_dir(run_dir, str(r.motion), str(r.retargeter))
        jobs.append(TrackJob(str(r.motion), str(r.retargeter), str(path), str(out), settings))
    return jobs


def check_settings(run_dir: str | Path, settings: TrackSettings) -> None:
    """Record the settings of a new table, or refuse different ones for an existing table."""
    path = Path(run_dir) / TRACKING_DIR / SETTINGS_FILE
    if path.is_file():
        old = json.loads(path.read_text())
        if old != settings.record():
            diff = {k: (old.get(k), v) for k, v in settings.record().items() if old.get(k) != v}
            raise TrackError(
                f"{path.parent} holds a tracking table made with other settings "
                f"({', '.join(f'{k}: {a} there, {b} now' for k, (a, b) in diff.items())}); "
                "use those to resume it, or remove the folder"
            )
    else:
        write_text_atomic(path, json.dumps(settings.record(), indent=1) + "\n")


def _train(job: TrackJob) -> None:
    """Train (or continue) with train-tracker's own parser and ``run``; its output is kept in
    the row folder's ``train.log``."""
    from benchmark.commands import train_tracker
    from benchmark.training.callbacks import latest_checkpoint

    out = Path(job.out)
    resume = latest_checkpoint(out / "checkpoints") is not None
    parser = argparse.ArgumentParser(prog="train-tracker")
    train_tracker.add_arguments(parser)
    args = parser.parse_args(job.settings.trainer_argv(Path(job.robot_file), out, resume))
    out.mkdir(parents=True, exist_ok=True)
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log):
            train_tracker.run(args)
    finally:  # kept for an interrupted or failed training too
        with open(out / "train.log", "a") as f:
            f.write(log.getvalue())


def curve_summary(curve: pd.DataFrame, clip_steps: int, episode_steps: int) -> dict[str, float]:
    """The curve summaries of the module docstring from a ``curve.csv`` table.

    ``clip_steps``: the clip's length [control steps]; ``episode_steps``: the training time
    limit [control steps].
    """
    nan = math.nan
    if curve.empty:
        return dict.fromkeys(CURVE_SUMMARY_COLUMNS, nan)
    cap = max(min(int(episode_steps or clip_steps), int(clip_steps)), 1)
    x = curve["timesteps"].to_numpy(float)  # (U,)
    y = np.clip(curve["ep_len_mean"].to_numpy(float) / cap, 0.0, 1.0)  # (U,)
    ev = curve.dropna(subset=["eval_tracked_fraction"])
    ok = ev[ev["eval_success"] >= 1.0]
    return {
        "steps_to_full_clip": float(ok["timesteps"].iloc[0]) if len(ok) else nan,
        "ep_len_auc": _auc(x, y),
        "eval_tracked_auc": _auc(
            ev["timesteps"].to_numpy(float), np.clip(ev["eval_tracked_fraction"], 0.0, 1.0)
        ),
        "final_ep_len": float(curve["ep_len_mean"].iloc[-1]),
        "final_reward": float(curve["reward_mean"].iloc[-1]),
    }


def _auc(x: np.ndarray, y: np.ndarray) -> float:
    """Mean of ``y`` over the span of ``x`` (trapezoids); NaN points left out."""
    keep = np.isfinite(x) & np.isfinite(np.asarray(y, float))
    x, y = x[keep], np.asarray(y, float)[keep]
    if len(x) == 0:
        return math.nan
    if len(x) == 1 or x[-1] <= x[0]:
        return float(y.mean())
    return float(np.trapezoid(y, x) / (x[-1] - x[0]))


def run_job(job: TrackJob) -> dict[str, Any]:
    """Train, evaluate and summarise one row (resuming what exists); returns the row, also
    written atomically to the row folder's ``result.json``."""
    from benchmark.tracking import SB3Policy, evaluate
    from nmr_gym.io import load_robot_motion

    out = Path(job.out)
    done = out / RESULT_FILE
    if done.is_file():
        return json.loads(done.read_text())
    if job.settings.backend == "mjlab":
        return run_mjlab_job(job)
    t0 = time.time()
    if not (out / "model.zip").is_file():
        _train(job)
    train_s = time.time() - t0
    motion = load_robot_motion(job.robot_file, "nmr")
    policy = SB3Policy.load(str(out))
    (row,) = evaluate([motion], policy, [job.motion], [job.retargeter], tracker="ppo")
    curve = pd.read_csv(out / "curve.csv")
    config = json.loads((out / "config.json").read_text())
    result = {k: row[k] for k in (*res.KEY, *EVAL_COLUMNS)}
    result.update(curve_summary(curve, int(row["clip_length"]), int(config["episode_steps"])))
    result.update(
        budget=int(job.settings.budget),
        trained_steps=int(curve["timesteps"].iloc[-1]) if len(curve) else 0,
        train_s=float(train_s),
    )
    write_text_atomic(done, json.dumps(result, indent=1, allow_nan=True) + "\n")
    return result


def mjlab_curve(out: str | Path) -> pd.DataFrame:
    """The learning curve of a finished mjlab run (folder ``out``) in train-tracker's
    ``curve.csv`` columns: ``timesteps`` (env steps at the end of each iteration),
    ``ep_len_mean`` [control steps] and ``reward_mean`` (rsl_rl's ``Train/`` means, NaN for an
    iteration in which no episode ended), ``eval_success`` and ``eval_tracked_fraction`` (NaN:
    mjlab makes no periodic frame-0 evaluation)."""
    from benchmark.backends.mjlab_backend import TrainResult

    result = TrainResult.load(out)
    raw = pd.read_csv(result.curve)
    per_iteration = result.info["env_steps"] / max(int(result.info["iterations"]), 1)
    nan = np.full(len(raw), np.nan)
    return pd.DataFrame(
        {
            "timesteps": (raw["iteration"].to_numpy(float) + 1.0) * per_iteration,
            "ep_len_mean": raw.get("Train/mean_episode_length", pd.Series(nan)).to_numpy(float),
            "reward_mean": raw.get("Train/mean_reward", pd.Series(nan)).to_numpy(float),
            "eval_success": nan,
            "eval_tracked_fraction": nan,
        }
    )


def _train_mjlab(job: TrackJob, motion: Any, dest: Path) -> None:
    """One mjlab run for ``job`` into ``dest`` (atomic: the folder appears when it finished);
    mjlab's output goes to the run's ``train.log``."""
    from benchmark.backends import mjlab_backend

    s = job.settings
    mjlab_backend.train(
        motion,
        dest,
        num_envs=s.mjlab_num_envs,
        iterations=s.mjlab_iterations,
        seed=s.seed,
        project_mdp=s.mjlab_project_mdp,
        device=s.mjlab_device,
        torch_threads=s.threads,
        python=s.mjlab_python,
        quiet=True,
    )


def run_mjlab_job(job: TrackJob) -> dict[str, Any]:
    """:func:`run_job` on the mjlab backend: train (unless its run finished), convert the
    curve, evaluate with :class:`MjlabPolicy` in the project's CPU env, summarise."""
    from benchmark.backends.mjlab_backend import MjlabPolicy, TrainResult
    from benchmark.tracking import evaluate
    from nmr_gym.io import load_robot_motion

    out = Path(job.out)
    run = out / MJLAB_DIR
    motion = load_robot_motion(job.robot_file, "nmr")
    t0 = time.time()
    if not (run / "result.json").is_file():
        out.mkdir(parents=True, exist_ok=True)
        _train_mjlab(job, motion, run)
    train_s = time.time() - t0
    info = TrainResult.load(run).info
    curve = mjlab_curve(run)
    with atomic_path(out / "curve.csv") as tmp:
        curve.to_csv(tmp, index=False, float_format="%.10g")
    episode_steps = int(info.get("episode_steps") or 0)  # 0: runs before it was recorded
    config = {"backend": "mjlab", "episode_steps": episode_steps, **job.settings.record()}
    write_text_atomic(out / "config.json", json.dumps(config, indent=1) + "\n")
    policy = MjlabPolicy.load(run)
    (row,) = evaluate([motion], policy, [job.motion], [job.retargeter], tracker="mjlab")
    result = {k: row[k] for k in (*res.KEY, *EVAL_COLUMNS)}
    result.update(curve_summary(curve, int(row["clip_length"]), episode_steps))
    result.update(
        budget=int(info["env_steps"]),
        trained_steps=int(info["env_steps"]),
        train_s=float(info.get("train_s", train_s) + info.get("setup_s", 0.0)),
    )
    write_text_atomic(out / RESULT_FILE, json.dumps(result, indent=1, allow_nan=True) + "\n")
    return result


def collect(run_dir: str | Path, jobs: list[TrackJob]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(finished rows, their learning curves) of ``jobs`` that have a result."""
    rows, curves = [], []
    for job in jobs:
        out = Path(job.out)
        if not (out / RESULT_FILE).is_file():
            continue
        rows.append(json.loads((out / RESULT_FILE).read_text()))
        c = pd.read_csv(out / "curve.csv")
        cap = max(min(_episode_steps(out), int(rows[-1]["clip_length"])), 1)
        curves.append(
            pd.DataFrame(
                {
                    "motion": job.motion,
                    "retargeter": job.retargeter,
                    "timesteps": c["timesteps"],
                    "ep_len_mean": c["ep_len_mean"],
                    "ep_len_norm": np.clip(c["ep_len_mean"] / cap, 0.0, 1.0),
                    "reward_mean": c["reward_mean"],
                    "eval_tracked_fraction": c["eval_tracked_fraction"],
                    "eval_success": c["eval_success"],
                }
            )
        )
    table = pd.DataFrame(rows, columns=list(TRACK_COLUMNS))
    curve = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=CURVE_COLUMNS)
    return table, curve


def _episode_steps(out: Path) -> int:
    return int(json.loads((out / "config.json").read_text())["episode_steps"])


def run_track(
    run_dir: str | Path,
    settings: TrackSettings,
    retargeters: list[str] | None = None,
    motions: list[str] | None = None,
    executor: Any = None,
    progress: bool | None = None,
    command: str = "",
) -> pd.DataFrame:
    """Train and evaluate every selected row (resuming), then write ``tracking.csv``,
    ``tracking_curves.csv`` and merge the tracking columns into ``results.csv``; returns the
    table of every finished row of the selection."""
    from benchmark.executors import map_jobs
    from benchmark.runner import RESULTS_FILE

    run_dir = Path(run_dir)
    jobs = plan_jobs(run_dir, settings, retargeters, motions)
    check_settings(run_dir, settings)
    todo = [j for j in jobs if not (Path(j.out) / RESULT_FILE).is_file()]
    started, t0 = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), time.time()
    if todo:
        map_jobs(executor, run_job, todo, desc="track", progress=progress)
    _record_invocation(run_dir, command, started, time.time() - t0, len(todo))
    table, curves = collect(run_dir, jobs)
    # Rows of other selections made earlier stay in tracking.csv.
    old = run_dir / TRACKING_FILE
    if old.is_file():
        prev = pd.read_csv(old, keep_default_na=True, dtype={"termination": str})
        keys = set(zip(table["motion"], table["retargeter"], strict=True))
        mine = [(m, r) in keys for m, r in zip(prev["motion"], prev["retargeter"], strict=True)]
        table = pd.concat([prev[~np.array(mine, bool)], table], ignore_index=True)
        oldc = run_dir / CURVES_FILE
        if oldc.is_file():
            prevc = pd.read_csv(oldc)
            keep = [
                (m, r) not in keys
                for m, r in zip(prevc["motion"], prevc["retargeter"], strict=True)
            ]
            curves = pd.concat([prevc[np.array(keep, bool)], curves], ignore_index=True)
    table = table.sort_values(list(res.KEY), kind="stable").reset_index(drop=True)
    with atomic_path(run_dir / TRACKING_FILE) as tmp:
        table.to_csv(tmp, index=False, float_format="%.10g")
    with atomic_path(run_dir / CURVES_FILE) as tmp:
        curves.to_csv(tmp, index=False, float_format="%.8g")
    update = res.tracking_result_columns(table, "ppo" if settings.backend == "cpu" else "mjlab")
    res.update_row_files(run_dir / "rows", update)
    merged = res.merge_tracking(res.read_results(run_dir / RESULTS_FILE), update)
    res.write_results(merged, run_dir / RESULTS_FILE)
    res.add_followup_command(run_dir, command)
    return table


def _record_invocation(run_dir: Path, command: str, started: str, wall_s: float, n: int) -> None:
    """Append this invocation (command, start [UTC], wall time [s], rows trained) to
    ``RUN/tracking/invocations.json``: the table's wall time is their sum."""
    path = run_dir / TRACKING_DIR / INVOCATIONS_FILE
    done = json.loads(path.read_text()) if path.is_file() else []
    done.append({"command": command, "started_utc": started, "wall_s": round(wall_s, 1),
                 "rows_trained": n})  # fmt: skip
    write_text_atomic(path, json.dumps(done, indent=1) + "\n")


def invocations(run_dir: str | Path) -> list[dict[str, Any]]:
    """The recorded ``nmr-bench track`` invocations of a run folder ([] when none)."""
    path = Path(run_dir) / TRACKING_DIR / INVOCATIONS_FILE
    return json.loads(path.read_text()) if path.is_file() else []


def read_tracking(run_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(``tracking.csv``, ``tracking_curves.csv``) of a run folder, or None without them."""
    run_dir = Path(run_dir)
    if not (run_dir / TRACKING_FILE).is_file():
        return None
    table = pd.read_csv(run_dir / TRACKING_FILE, dtype={"termination": str})
    curves_path = run_dir / CURVES_FILE
    curves = pd.read_csv(curves_path) if curves_path.is_file() else pd.DataFrame()
    if table.empty:
        return None
    return table, curves


__all__ = [
    "CURVE_SUMMARY_COLUMNS",
    "DEFAULT_BUDGET",
    "TRACK_COLUMNS",
    "TrackError",
    "TrackJob",
    "TrackSettings",
    "collect",
    "curve_summary",
    "invocations",
    "job_dir",
    "mjlab_curve",
    "plan_jobs",
    "read_tracking",
    "run_job",
    "run_mjlab_job",
    "run_track",
]
