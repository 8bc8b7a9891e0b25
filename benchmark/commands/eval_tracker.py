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
extras); ``--results RESULTS.csv`` merges the tracking columns into a benchmark results table in
place.
"""

from __future__ import annotations

import argparse

from benchmark.commands._common import add_json, emit_table

NAME = "eval-tracker"
HELP = "evaluate a tracking policy (or a training-free baseline) per clip on NMRTrack-G1-Eval-v0"
ORDER = 61
#: The training-free baselines (``benchmark.tracking.BASELINES``; spelled here so that building
#: the parser does not import MuJoCo).
BASELINE_NAMES = ("pd", "pd-ff")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "items",
        nargs="+",
        metavar="POLICY MOTION",
        help="policy folder/.zip or a baseline (pd, pd-ff), then motions (builtin:NAME, "
        "suite clip name, 'builtin', robot or human motion files)",
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
        default="gmr",
        help="retargeter for built-in clips and human files (default gmr)",
    )
    parser.add_argument(
        "--inverse-dynamics",
        action="store_true",
        help="add inverse-dynamics feasibility columns of each reference",
    )
    parser.add_argument("--out", default=None, metavar="FILE.csv", help="write the rows here")
    parser.add_argument(
        "--results",
        default=None,
        metavar="RESULTS.csv",
        help="merge success/track_mpjpe_m/track_w_mpjpe_m into this table",
    )
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from benchmark.tracking import (
        BASELINES,
        SB3Policy,
        evaluate,
        inverse_dynamics,
        resolve_motion_specs,
    )
    from nmr_gym.errors import MotionError

    items = list(args.items)
    if args.baseline is None and items[0] in BASELINES:
        args.baseline = items[0]
        items = items[1:]
    if args.baseline:
        policy, tracker, specs = BASELINES[args.baseline], args.baseline, items
    else:
        if len(items) < 2:
            raise MotionError("eval-tracker needs a POLICY and at least one MOTION")
        policy, tracker, specs = SB3Policy.load(items[0]), items[0], items[1:]
    if not specs:
        raise MotionError("eval-tracker needs at least one MOTION")
    motions = resolve_motion_specs(specs, args.retargeter)
    rows = evaluate(motions, policy, tracker=tracker)
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
    if args.results:
        from benchmark.results import merge_tracking, read_results, write_results

        merged = merge_tracking(read_results(args.results), df)
        write_results(merged, args.results)
    if not args.json and len(rows) > 1:
        print(
            f"success rate {df.success.mean():.2f}, mean W-MPJPE {df.track_w_mpjpe_m.mean():.3f}"
            f" m, mean MPJPE {df.track_mpjpe_m.mean():.3f} m over {len(rows)} clips"
        )
    return 0
