"""``nmr-bench eval-tracker POLICY MOTION...``: tracking results per clip on NMRTrack-G1-Eval-v0.

POLICY is a ``train-tracker`` output folder (or its model .zip), or a training-free baseline:
``pd`` (PD servos tracking the reference joint positions, root free) or ``pd-ff`` (the same plus
the reference's inverse-dynamics joint torques as a feed-forward folded into the PD targets);
``--baseline NAME`` does the same with every positional argument a MOTION. Per clip: success
(both rules: no early termination through the clip, and PHC's mean body distance never above
0.5 m, each also shown), MPJPE (root-relative) and W-MPJPE (world) over the 14 tracked bodies
[m], mean joint error [rad], episode length. ``--inverse-dynamics`` adds the reference's
residual root force/torque and torque-limit frames (MuJoCo inverse dynamics). ``--out
FILE.csv`` writes the rows (keyed by motion and retargeter, the benchmark's tracking columns +
extras).

Into a benchmark results table (``benchmark.results.merge_tracking``, keyed by motion and
retargeter): a trained policy fills the tracking columns (success, track_mpjpe_m,
track_w_mpjpe_m); ``pd-ff`` fills the physics columns pdff_tracked_pct and pdff_w_mpjpe_clip_m,
and ``--inverse-dynamics`` the id_* ones (``benchmark.results.PHYSICS_COLUMNS``); baselines
never fill the tracking columns. ``--results RESULTS.csv`` merges into that table in place;
``--run DIR`` evaluates every retargeted motion of an ``nmr-bench run`` folder (each row's
``robot_file``) instead of MOTIONs and merges into DIR/results.csv and DIR's row files, so a
later ``nmr-bench run`` there keeps the values. Either way, when the table's folder holds a
run record (run.json), the command line is added to it so that a published leaderboard lists
it::

    nmr-bench eval-tracker --baseline pd-ff --inverse-dynamics --run runs/bench/builtin
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from benchmark.commands._common import add_json, emit_table
from benchmark.motions import DEFAULT_RETARGETER

NAME = "eval-tracker"
HELP = "evaluate a tracking policy (or a training-free baseline) per clip on NMRTrack-G1-Eval-v0"
ORDER = 61
#: The training-free baselines (``benchmark.tracking.BASELINES``; spelled here so that building
#: the parser does not import MuJoCo).
BASELINE_NAMES = ("pd", "pd-ff")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "items",
        nargs="*",
        metavar="POLICY MOTION",
        help="policy folder/.zip or a baseline (pd, pd-ff), then motions (builtin:NAME, "
        "suite clip name, 'builtin', robot or human motion files); no MOTION with --run",
    )
    parser.add_argument(
        "--baseline",
        choices=BASELINE_NAMES,
        default=None,
        help="evaluate a training-free baseline (pd: PD tracking; pd-ff: PD with an "
        "inverse-dynamics torque feed-forward); every positional is a MOTION",
    )
    parser.add_argument(
        "--retargeter",
        default=DEFAULT_RETARGETER,
        help="retargeter for built-in clips and human files (default %(default)s)",
    )
    parser.add_argument(
        "--inverse-dynamics",
        action="store_true",
        help="add inverse-dynamics feasibility columns of each reference",
    )
    parser.add_argument("--out", default=None, metavar="FILE.csv", help="write the rows here")
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--results",
        default=None,
        metavar="RESULTS.csv",
        help="merge the result columns (tracking for a policy, physics for pd-ff and "
        "--inverse-dynamics) into this table",
    )
    target.add_argument(
        "--run",
        default=None,
        metavar="DIR",
        help="evaluate every retargeted motion of this 'nmr-bench run' folder and merge the "
        "result columns into DIR/results.csv and its row files",
    )
    add_json(parser)


def command_line(args: argparse.Namespace) -> str:
    """The command line as typed when run through ``nmr-bench``, else rebuilt from ``args``."""
    if sys.argv and sys.argv[0].endswith("nmr-bench"):
        return shlex.join(["nmr-bench", *sys.argv[1:]])
    argv = ["nmr-bench", NAME, *(["--baseline", args.baseline] if args.baseline else [])]
    argv += [i for i in args.items if i != args.baseline]
    argv += [] if args.run else ["--retargeter", args.retargeter]
    argv += ["--inverse-dynamics"] if args.inverse_dynamics else []
    argv += ["--out", args.out] if args.out else []
    argv += ["--results", args.results] if args.results else []
    argv += ["--run", args.run] if args.run else []
    return shlex.join(argv)


def run_motions(run_dir: str | Path) -> tuple[list[Any], list[str], list[str]]:
    """(robot motions, motion names, retargeter names) of every row of the run in ``run_dir``
    that has a retargeted motion (rows with ``error`` set have none and are skipped)."""
    from benchmark.results import read_results
    from benchmark.runner import RESULTS_FILE
    from nmr_gym.errors import MotionError
    from nmr_gym.io import load_robot_motion

    run_dir = Path(run_dir)
    table = run_dir / RESULTS_FILE
    if not table.is_file():
        raise MotionError(f"is not an 'nmr-bench run' folder (no {RESULTS_FILE})", run_dir)
    df = read_results(table)
    ok = df[(df["error"] == "") & (df["robot_file"] != "")]
    if ok.empty:
        raise MotionError("has no row with a retargeted motion to evaluate", table)
    motions = []
    for r in ok.itertuples():
        path = run_dir / str(r.robot_file)
        if not path.is_file():
            raise MotionError(
                f"robot motion of {r.motion!r} by {r.retargeter!r} is missing (rerun "
                f"'nmr-bench run' on {run_dir} to remake it)",
                path,
            )
        motions.append(load_robot_motion(path, "nmr"))
    return motions, [str(m) for m in ok["motion"]], [str(r) for r in ok["retargeter"]]


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from benchmark import results as res
    from benchmark.tracking import (
        BASELINES,
        SB3Policy,
        evaluate,
        inverse_dynamics,
        resolve_motion_specs,
    )
    from nmr_gym.errors import MotionError

    items = list(args.items)
    if args.baseline is None and items and items[0] in BASELINES:
        args.baseline = items[0]
        items = items[1:]
    if args.baseline:
        policy, tracker, specs = BASELINES[args.baseline], args.baseline, items
    else:
        if not items or (len(items) < 2 and not args.run):
            raise MotionError("eval-tracker needs a POLICY and at least one MOTION (or --run DIR)")
        from benchmark.backends.mjlab_backend import MjlabPolicy

        # A policy folder from the mjlab (GPU) backend runs here in the CPU env: sim-to-sim.
        load = MjlabPolicy.load if MjlabPolicy.is_policy_dir(items[0]) else SB3Policy.load
        policy, tracker, specs = load(items[0]), items[0], items[1:]
    from benchmark.runner import RESULTS_FILE

    results_path = Path(args.run) / RESULTS_FILE if args.run else args.results
    if (
        results_path
        and tracker in res.BASELINE_TRACKERS
        and tracker != res.PDFF_TRACKER
        and not args.inverse_dynamics
    ):
        raise MotionError(
            f"the {tracker} baseline fills no results column (tracking columns are for trained "
            f"policies); use --baseline {res.PDFF_TRACKER} and/or --inverse-dynamics"
        )
    names = retargeters = None
    if args.run:
        if specs:
            raise MotionError("--run DIR evaluates the run's own motions; give no MOTION")
        motions, names, retargeters = run_motions(args.run)
    elif not specs:
        raise MotionError("eval-tracker needs at least one MOTION")
    else:
        motions = resolve_motion_specs(specs, args.retargeter)
    rows = evaluate(motions, policy, names=names, retargeters=retargeters, tracker=tracker)
    if args.inverse_dynamics:
        for row, motion in zip(rows, motions, strict=True):
            row.update(inverse_dynamics(motion))
    shown = [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in rows]
    emit_table(shown, args.json)
    df = pd.DataFrame(rows)
    if args.out:
        from nmr_gym.io.atomic import atomic_path

        with atomic_path(args.out) as tmp:
            df.to_csv(tmp, index=False)
    if results_path:
        update = res.tracking_result_columns(df, tracker)
        if args.run:
            res.update_row_files(Path(args.run) / "rows", update)
        merged = res.merge_tracking(res.read_results(results_path), update)
        res.write_results(merged, results_path)
        res.add_followup_command(Path(results_path).parent, command_line(args))
        if not args.json:
            cols = ", ".join(c for c in update.columns if c not in res.KEY)
            print(f"merged {cols} of {len(update)} row(s) into {results_path}", file=sys.stderr)
    if not args.json and len(rows) > 1:
        print(
            f"success rate {df.success.mean():.2f}, mean W-MPJPE {df.track_w_mpjpe_m.mean():.3f}"
            f" m, mean MPJPE {df.track_mpjpe_m.mean():.3f} m over {len(rows)} clips"
        )
    return 0
