"""``nmr-bench run``'s engine: retarget a suite with every retargeter, score, merge.

Layout of a run folder ``OUT``::

    OUT/run.json                               the seed (a rerun with another seed is refused)
    OUT/motions/RETARGETER/MOTION.nmr.npz      each retargeted motion (nmr compact npz)
    OUT/rows/MOTION--RETARGETER.json           one finished result row each
    OUT/results.csv                            every row of this run, merged

Two stages, each with a progress bar and each parallel over motions (``jobs`` processes):

1. retarget: for every motion, every retargeter whose motion file is missing runs and the result
   is saved atomically;
2. score: for every motion, every retargeter whose row is missing is scored from the saved file
   (so a resumed run scores exactly what an uninterrupted one does) and the row written
   atomically.

A file that exists is finished work: a rerun with the same ``OUT`` skips it, so a run killed at
any point resumes and ends with the same ``results.csv`` as an uninterrupted run. A retargeter
that raises on a motion gets a row with ``error`` set and NaN metrics instead of stopping the
run. Every retargeter call starts from the same seed (numpy's and torch's global generators
and a ``seed`` option when the retargeter takes one), so results do not depend on the order or
the number of jobs.
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark import results as res
from benchmark import splits
from benchmark import variants as variants_
from benchmark.metrics import METRIC_COLUMNS, SCORING_FPS, score
from benchmark.suites import SuiteMotion, load_suite
from nmr_gym.errors import NmrGymError
from nmr_gym.io.atomic import write_text_atomic
from nmr_gym.motion import HumanMotion, RobotMotion

DEFAULT_OUT = "runs/bench"  # runs/ is git-ignored
DEFAULT_SEED = 0
RESULTS_FILE = "results.csv"
ROBOT_SUFFIX = ".nmr.npz"


class RunConfigError(NmrGymError):
    """A run folder that holds another run, or unusable run arguments."""


@dataclass(frozen=True)
class RunPlan:
    suite: str
    retargeters: tuple[str, ...]  # registered names and variant labels
    out: Path
    seed: int = DEFAULT_SEED
    jobs: int = 1
    progress: bool = True
    variants: tuple[variants_.Variant, ...] = ()

    @property
    def variant_map(self) -> dict[str, variants_.Variant]:
        return {v.label: v for v in self.variants}

    @property
    def rows_dir(self) -> Path:
        return self.out / "rows"

    def robot_file(self, motion: str, retargeter: str) -> Path:
        return self.out / "motions" / res.slug(retargeter) / f"{res.slug(motion)}{ROBOT_SUFFIX}"


# ----------------------------------------------------------------------------- helpers
@functools.lru_cache(maxsize=4)
def _suite(spec: str) -> tuple[SuiteMotion, ...]:
    return tuple(load_suite(spec))


def classify(human: HumanMotion, motion: SuiteMotion) -> tuple[str, str]:
    """(complexity, length) of a suite motion: suite override, then what the motion's
    metadata says, then ``benchmark.splits``' automatic classifiers."""
    complexity = motion.complexity or human.metadata.get("complexity")
    length = motion.length or human.metadata.get("length")
    if not complexity:
        complexity = splits.complexity_class(human)
    if not length:
        length = splits.length_class(human.n_frames)
    return str(complexity), str(length)


def _seed_everything(seed: int) -> None:
    # The legacy global generator on purpose: it is what a retargeter that does not take a seed
    # would draw from; our own randomness uses default_rng(seed).
    np.random.seed(seed)  # noqa: NPY002
    import sys

    if "torch" in sys.modules:  # only when a retargeter uses torch; importing it costs seconds
        sys.modules["torch"].manual_seed(seed)


def _make_retargeter(plan: RunPlan, name: str) -> Any:
    """The retargeter ``name`` (a registered name or a variant's label), with
    ``seed=plan.seed`` when it takes a seed (:func:`benchmark.variants.make`; it imports only
    the named built-in retargeter: ``phuma`` pulls in torch)."""
    return variants_.make(name, plan.seed, plan.variant_map)


def _options_json(retargeter: Any) -> str:
    try:
        opts = retargeter.options()
    except Exception:  # noqa: BLE001 - options are informative only
        opts = {}
    return json.dumps(opts, sort_keys=True, default=str)


# ----------------------------------------------------------------------- stage workers
def _retarget_motion(plan: RunPlan, index: int) -> list[str]:
    """Stage 1 for one motion: run every retargeter whose output file is missing."""
    motion = _suite(plan.suite)[index]
    todo = [
        r
        for r in plan.retargeters
        if not plan.robot_file(motion.name, r).exists()
        and not res.row_path(plan.rows_dir, motion.name, r).exists()
    ]
    if not todo:
        return []
    human = motion.load()
    errors = []
    for name in todo:
        _seed_everything(plan.seed)
        t0 = time.perf_counter()
        try:
            retargeter = _make_retargeter(plan, name)
            robot = retargeter.retarget(human)
            if not isinstance(robot, RobotMotion):
                raise TypeError(f"returned {type(robot).__name__}, not a RobotMotion")
        except Exception as exc:  # noqa: BLE001 - one failing method must not stop the run
            row = res.make_row(
                **_identity(plan, motion, human),
                retargeter=name,
                error=f"{type(exc).__name__}: {exc}",
            )
            res.write_row(plan.rows_dir, row)
            errors.append(f"{name} on {motion.name}: {row['error']}")
            if os.environ.get("NMR_BENCH_DEBUG"):
                traceback.print_exc()
            continue
        elapsed = time.perf_counter() - t0
        meta = dict(robot.metadata)
        meta.update(
            retargeter=name,
            motion=motion.name,
            seed=plan.seed,
            retarget_s=elapsed,
            options=_options_json(retargeter),
        )
        from nmr_gym.io import save_robot_motion

        save_robot_motion(robot.replace(metadata=meta), plan.robot_file(motion.name, name))
    return errors


def _identity(plan: RunPlan, motion: Any, human: Any) -> dict[str, Any]:
    """The identity columns of a motion's result rows (add ``retargeter=``): classified once."""
    complexity, length = classify(human, motion)
    return dict(
        motion=motion.name, source=motion.source, complexity=complexity, length=length,
        n_frames=human.n_frames, fps=human.fps, seed=plan.seed,
    )  # fmt: skip


def _score_motion(plan: RunPlan, index: int) -> list[str]:
    """Stage 2 for one motion: score every saved result whose row is missing."""
    from nmr_gym.io import load_robot_motion

    motion = _suite(plan.suite)[index]
    todo = [
        r
        for r in plan.retargeters
        if not res.row_path(plan.rows_dir, motion.name, r).exists()
        and plan.robot_file(motion.name, r).exists()
    ]
    if not todo:
        return []
    human = motion.load()
    identity = _identity(plan, motion, human)
    for name in todo:
        path = plan.robot_file(motion.name, name)
        robot = load_robot_motion(path, "nmr")
        metrics = score(robot, human)
        meta = robot.metadata
        row = res.make_row(
            **identity,
            retargeter=name,
            options=str(meta.get("options", "")),
            robot_frames=robot.n_frames,
            robot_fps=robot.fps,
            scoring_fps=SCORING_FPS,
            robot_file=path.relative_to(plan.out).as_posix(),
            retarget_s=float(meta.get("retarget_s", math.nan)),
            **metrics,
        )
        res.write_row(plan.rows_dir, row)
    return []


def _run_stage(plan: RunPlan, fn: Any, desc: str, executor: Any = None) -> list[str]:
    """One stage over every suite motion, through ``executor`` (``benchmark.executors``;
    None: ``plan.jobs`` local processes)."""
    from benchmark.executors import LocalExecutor

    executor = executor or LocalExecutor(plan.jobs)
    n = len(_suite(plan.suite))
    stage = functools.partial(fn, plan)
    per_motion = executor.map(stage, range(n), desc=desc, progress=plan.progress)
    return [e for errors in per_motion for e in errors]


# -------------------------------------------------------------------------------- run
#: Ends of ``sys.argv[0]`` when the CLI runs: the script, ``python -m benchmark[.cli]``.
_CLI_ENTRY_POINTS = ("nmr-bench", "benchmark/cli.py", "benchmark/__main__.py")


def _command_line() -> str:
    """``nmr-bench run ...`` as typed (the script or ``python -m benchmark.cli``); "" when the
    run was started from Python (no command line to rerun)."""
    import shlex
    import sys

    if sys.argv and sys.argv[0].replace(os.sep, "/").endswith(_CLI_ENTRY_POINTS):
        return shlex.join(["nmr-bench", *sys.argv[1:]])
    return ""


def _check_out(plan: RunPlan) -> None:
    info = plan.out / "run.json"
    if info.exists():
        try:
            old = json.loads(info.read_text())
        except json.JSONDecodeError:
            old = {}
        if old.get("seed") != plan.seed:
            raise RunConfigError(
                f"{plan.out} holds a run with seed {old.get('seed')}; use that seed to resume "
                f"it or another --out for seed {plan.seed}"
            )
        recorded = variants_.merge_records(old.get("variants"), plan.variants, str(plan.out))
        # A rerun that adds methods (or clips) extends the record: the published leaderboard
        # lists every command that made its table.
        known = list(old.get("retargeters", []))
        added = [r for r in plan.retargeters if r not in known]
        if added or old.get("suite") != plan.suite or recorded != old.get("variants", {}):
            old["retargeters"] = known + added
            if recorded:
                old["variants"] = recorded
            write_text_atomic(info, json.dumps(old, indent=1) + "\n")
            command = _command_line()
            if command != old.get("command"):
                res.add_followup_command(plan.out, command)
    else:
        record = {
            "seed": plan.seed,
            "suite": plan.suite,
            "retargeters": list(plan.retargeters),
            "command": _command_line(),
        }
        if plan.variants:
            record["variants"] = variants_.merge_records({}, plan.variants, str(plan.out))
        write_text_atomic(info, json.dumps(record, indent=1) + "\n")


def run(
    suite: str = "builtin",
    retargeters: list[str] | None = None,
    out: str | os.PathLike = DEFAULT_OUT,
    *,
    seed: int = DEFAULT_SEED,
    jobs: int = 1,
    progress: bool = True,
    executor: Any = None,
    variants: Iterable[variants_.Variant] = (),
) -> tuple[pd.DataFrame, list[str]]:
    """Retarget, score and merge (see the module docstring); returns (results, errors).

    ``executor``: a ``benchmark.executors`` executor (e.g. Ray); None: ``jobs`` local processes.
    ``variants``: registered retargeters with options under labels of their own
    (:mod:`benchmark.variants`), run after ``retargeters`` (default: every registered one).
    """
    import retargeters as registry

    variants = tuple(variants)
    variants_.check(variants)
    labels = [v.label for v in variants]
    names = tuple(retargeters) if retargeters else tuple(registry.registered())
    names += tuple(lb for lb in labels if lb not in names)
    if not names:
        raise RunConfigError("no retargeter is registered")
    for n in names:
        if n not in labels:
            registry.get(n)  # unknown name: UnknownNameError listing the valid ones
    if jobs < 1:
        raise RunConfigError(f"--jobs must be >= 1, got {jobs}")
    motions = _suite(str(suite))
    plan = RunPlan(str(suite), names, Path(out), int(seed), int(jobs), progress, variants)
    _check_out(plan)
    errors = _run_stage(plan, _retarget_motion, "retarget", executor)
    errors += _run_stage(plan, _score_motion, "score", executor)
    df = res.collect_rows(plan.rows_dir)
    wanted = {(m.name, r) for m in motions for r in names}
    if not df.empty:
        keep = [(m, r) in wanted for m, r in zip(df["motion"], df["retargeter"], strict=True)]
        df = df[keep].reset_index(drop=True)
        errors = sorted(
            set(errors)
            | {
                f"{r} on {m}: {e}"
                for m, r, e in zip(df["motion"], df["retargeter"], df["error"], strict=True)
                if e
            }
        )
    res.write_results(df, plan.out / RESULTS_FILE)
    return df, errors


__all__ = ["METRIC_COLUMNS", "RunConfigError", "RunPlan", "classify", "run"]
