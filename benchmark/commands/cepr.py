"""``nmr-bench cepr``: the CEPR data pipeline (curate, retarget, cluster, experts, rollout, run).

Every stage writes into one output folder (``--out``), caches its per-item results there as
they finish (a rerun after a kill continues) and marks itself complete by writing its table
last. ``run`` chains every stage with a preset (``smoke``, ``cpu``, ``paper``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nmr_gym.errors import NmrGymError

NAME = "cepr"
HELP = "CEPR physics-refined pair data: curate, retarget, cluster, experts, rollout, run"
ORDER = 60


def _common(p: argparse.ArgumentParser, motions: bool = True) -> None:
    from benchmark.cepr.curate import DEFAULT_FPS

    p.add_argument("--out", required=True, type=Path, help="pipeline folder (created)")
    if motions:
        p.add_argument(
            "--motions",
            nargs="+",
            default=["builtin"],
            metavar="SUITE",
            help="human clips: 'builtin', folders, .csv/.json manifests (default builtin)",
        )
        p.add_argument(
            "--exclude",
            nargs="*",
            default=[],
            metavar="MANIFEST_OR_GLOB",
            help="drop clips listed in these manifests (e.g. a held-out split) or whose "
            "name matches these glob patterns",
        )
    p.add_argument(
        "--fps", type=float, default=DEFAULT_FPS, help=f"dataset rate (default {DEFAULT_FPS:g})"
    )
    p.add_argument("--jobs", type=int, default=1, help="parallel worker processes")


def _retarget_args(p: argparse.ArgumentParser) -> None:
    from benchmark.cepr.retarget import DEFAULT_RETARGETER

    p.add_argument(
        "--retargeter",
        default=DEFAULT_RETARGETER,
        help=f"registered retargeter (default {DEFAULT_RETARGETER})",
    )
    p.add_argument(
        "--option",
        "-O",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="retargeter option (VALUE parsed as JSON when it can be), repeatable",
    )
    p.add_argument(
        "--pairs-out",
        type=Path,
        default=None,
        help="write the kinematic pair dataset here instead of OUT/kinematic",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="cepr_command", metavar="STAGE", required=True)
    p = sub.add_parser("curate", help="stage 1: chunks and PHUMA's curation filters")
    _common(p)
    p = sub.add_parser("retarget", help="stage 2: retarget, hard filters, kinematic pairs")
    _common(p)
    _retarget_args(p)


def _check_jobs(jobs: int) -> None:
    if jobs < 1:
        raise NmrGymError(f"--jobs must be >= 1, got {jobs}")


def _sources(args):
    from benchmark.cepr.sources import gather_sources

    clips, dropped = gather_sources(args.motions, args.exclude)
    print(f"cepr: {len(clips)} clip(s), {len(dropped)} excluded")
    return clips


def run(args: argparse.Namespace) -> int:
    from benchmark.cepr import curate, retarget
    from benchmark.commands.retarget import parse_options

    _check_jobs(args.jobs)
    cmd = args.cepr_command
    if cmd == "retarget":  # fail on a bad name before any work
        retarget.check_retargeter(args.retargeter, parse_options(args.option))
    if cmd in ("curate", "retarget"):
        clips = _sources(args)
        table = curate.run_curate(clips, args.out, fps=args.fps, jobs=args.jobs)
        print(f"curate: {len(table)} chunks, {int(table['curated'].sum())} pass every filter")
    if cmd == "retarget":
        table = retarget.run_retarget(
            args.out,
            retargeter=args.retargeter,
            options=parse_options(args.option),
            fps=args.fps,
            jobs=args.jobs,
            pairs_out=args.pairs_out,
            args={"motions": args.motions, "exclude": args.exclude},
        )
        kept = table[table["kept"]]
        print(
            f"retarget: {len(kept)} of {len(table)} chunks pass the hard filters "
            f"({int(kept['curated'].sum())} also curated)"
        )
    return 0
