"""``nmr-bench run``: retarget a suite with every retargeter, score, print the leaderboard.

With no arguments: the built-in suite, every registered retargeter, results in ``runs/bench/``.
``--variant LABEL=NAME:KEY=VALUE,...`` adds a retargeter run with options under its own label
(:mod:`benchmark.variants`).
A rerun with the same ``--out`` resumes (see :mod:`benchmark.runner`).
"""

from __future__ import annotations

import argparse
import sys

NAME = "run"
HELP = "retarget a motion suite with every retargeter, score the results, print the leaderboard"
ORDER = 10


def add_variant_argument(parser: argparse.ArgumentParser) -> None:
    """``--variant LABEL=NAME[:KEY=VALUE,...]`` (repeatable; :mod:`benchmark.variants`)."""
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="LABEL=NAME[:KEY=VALUE,...]",
        help="also run retargeter NAME with these options, its rows labelled LABEL (e.g. "
        "nmr-pinned=nmr:pin_feet=true); repeatable",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from benchmark.runner import DEFAULT_OUT, DEFAULT_SEED

    parser.add_argument(
        "--suite",
        default="builtin",
        metavar="builtin|DIR|MANIFEST",
        help="'builtin' (procedural clips), a folder of human motion files, or a .csv/.json "
        "manifest (path, optional complexity/length overrides); default builtin",
    )
    parser.add_argument(
        "--retargeters",
        default=None,
        metavar="NAME,...",
        help="comma-separated retargeter names (default: every registered one)",
    )
    add_variant_argument(parser)
    parser.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"run folder: retargeted motions, result rows, results.csv (default {DEFAULT_OUT}); "
        "rerunning with the same folder resumes",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="motions processed in parallel processes (default 1)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        metavar="S",
        help=f"random seed of every retargeter call (default {DEFAULT_SEED})",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    from benchmark.executors import add_executor_arguments

    add_executor_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from benchmark import leaderboard, runner, variants
    from benchmark.executors import executor_from_args

    names = (
        [n.strip() for n in args.retargeters.split(",") if n.strip()] if args.retargeters else None
    )
    chosen = variants.parse_all(args.variant)
    executor = executor_from_args(args)
    try:
        df, errors = runner.run(
            args.suite,
            names,
            args.out,
            seed=args.seed,
            jobs=args.jobs,
            progress=not args.no_progress,
            executor=executor,
            variants=chosen,
        )
    finally:
        executor.close()
    print(leaderboard.render_text(df) if not df.empty else "(no results)")
    print(f"\nresults: {args.out}/{runner.RESULTS_FILE} ({len(df)} rows)")
    for e in errors:
        print(f"failed: {e}", file=sys.stderr)
    return 0
