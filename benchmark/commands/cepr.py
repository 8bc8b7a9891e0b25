"""``nmr-bench cepr``: the CEPR data pipeline (curate, retarget, cluster, experts, rollout, run).

Every stage writes into one output folder (``--out``), caches its per-item results there as
they finish (a rerun after a kill continues) and marks itself complete by writing its table
last. ``run`` chains every stage with a preset (``smoke``, ``cpu``, ``paper``; see
``benchmark.cepr.pipeline``); each stage alone takes the preset's values unless overridden.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmark.commands._common import add_retargeter_options, parse_options
from nmr_gym.errors import NmrGymError

NAME = "cepr"
HELP = "CEPR physics-refined pair data: curate, retarget, cluster, experts, rollout, run"
ORDER = 60


def _out_jobs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, type=Path, help="pipeline folder (created)")
    p.add_argument("--jobs", type=int, default=1, help="parallel worker processes")


def _motions(p: argparse.ArgumentParser, default: list[str] | None) -> None:
    p.add_argument(
        "--motions",
        nargs="+",
        default=default,
        metavar="SUITE",
        help="human clips: 'builtin', folders, .csv/.json manifests"
        + (f" (default {' '.join(default)})" if default else " (default: the preset's)"),
    )
    p.add_argument(
        "--exclude",
        nargs="*",
        default=None,
        metavar="MANIFEST_OR_GLOB",
        help="drop clips listed in these manifests (e.g. a held-out split) or whose name "
        "matches these glob patterns",
    )


def _fps(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fps", type=float, default=None, help="dataset rate (default 30)")


def _retarget_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--retargeter", default=None, help="registered retargeter (default gmr)")
    add_retargeter_options(p)


def _preset(p: argparse.ArgumentParser, default: str | None) -> None:
    p.add_argument(
        "--preset",
        default=default,
        help="smoke, cpu or paper" + (f" (default {default})" if default else ""),
    )


def _cluster_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--k", type=int, default=None, help="number of clusters")
    p.add_argument("--encoder-epochs", type=int, default=None, help="motion encoder epochs")
    p.add_argument("--seed", type=int, default=None, help="seed of every random choice")


def _expert_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timesteps", type=int, default=None, help="PPO env steps per expert")
    p.add_argument("--n-envs", type=int, default=None, help="batched robots per expert")
    p.add_argument("--n-steps", type=int, default=None, help="rollout steps per env and update")
    p.add_argument("--net-arch", type=int, nargs="+", default=None)
    p.add_argument("--init-std", type=float, default=None)
    p.add_argument(
        "--max-refs",
        type=int,
        default=None,
        help="at most this many references per expert, nearest the centre (0: all)",
    )
    # Spelled here so that building the parser imports no env; train-tracker checks them.
    p.add_argument(
        "--obs-mode",
        choices=("actor", "nmr"),
        default=None,
        help="expert observation: nmr (the paper's 509 entries, default) or actor (160)",
    )
    p.add_argument(
        "--rewards",
        choices=("nmr_expert", "beyondmimic"),
        default=None,
        help="expert reward set (default nmr_expert, the paper's)",
    )
    p.add_argument(
        "--sigma-start",
        type=float,
        default=None,
        help="reward widths at the start of an expert's training, x the reward set's; "
        "annealed linearly to --sigma-end (paper Eq. 6; default 2)",
    )
    p.add_argument(
        "--sigma-end", type=float, default=None, help="... at the end of training (default 1)"
    )
    p.add_argument(
        "--action-offset",
        choices=("default", "reference"),
        default=None,
        help="where an expert's zero action puts the PD targets: default (the paper's default "
        "pose) or reference (a residual policy around the reference joints; the cpu preset's)",
    )
    p.add_argument(
        "--ray",
        default=None,
        metavar="ADDRESS",
        help="run experts/rollouts as Ray tasks on this cluster ('local': a local "
        "Ray instance; needs the optional extra nmr-gym[ray])",
    )
    p.add_argument(
        "--backend",
        default=None,
        metavar="cpu|mjlab",
        help="expert trainer: cpu (train-tracker's PPO, default) or mjlab (one mjlab GPU run "
        "per expert on all its references; needs $NMR_GYM_MJLAB_PYTHON and --obs-mode actor "
        "--rewards beyondmimic --sigma-start 1 --sigma-end 1; see the README's Scaling)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="cepr_command", metavar="STAGE", required=True)
    p = sub.add_parser("run", help="every stage with a preset, then report.md")
    _out_jobs(p)
    _motions(p, None)
    _preset(p, "smoke")
    _fps(p)
    _retarget_args(p)
    _cluster_args(p)
    _expert_args(p)
    p.add_argument("--stop-after", default=None, help="stop after this stage")
    p.add_argument("--show", action="store_true", help="print the settings and exit")

    p = sub.add_parser("curate", help="stage 1: chunks and PHUMA's curation filters")
    _out_jobs(p)
    _motions(p, ["builtin"])
    _fps(p)
    p = sub.add_parser("retarget", help="stage 2: retarget, hard filters, kinematic pairs")
    _out_jobs(p)
    _motions(p, ["builtin"])
    _fps(p)
    _retarget_args(p)
    p.add_argument(
        "--pairs-out",
        type=Path,
        default=None,
        help="write the kinematic pair dataset here instead of OUT/kinematic",
    )
    p.add_argument(
        "--ground-chunks",
        action="store_true",
        help="put each chunk on the floor by its own lowest collision point before the hard "
        "filters and in the pairs (default: as the retargeter grounded the whole clip)",
    )
    p = sub.add_parser("cluster", help="stage 3: motion encoder and cosine K-means")
    _out_jobs(p)
    _preset(p, "cpu")
    _cluster_args(p)
    p = sub.add_parser("experts", help="stage 4: one PPO tracking expert per cluster")
    _out_jobs(p)
    _preset(p, "cpu")
    _fps(p)
    _expert_args(p)
    p.add_argument("--seed", type=int, default=None)
    p = sub.add_parser("rollout", help="stage 4: deterministic rollouts, physics pairs, report")
    _out_jobs(p)
    _fps(p)
    p.add_argument(
        "--all-references",
        action="store_true",
        help="also roll each expert out over the segments of its cluster it did not train on "
        "(experts trained with --max-refs); kept when they track, like the others",
    )
    p.add_argument("--ray", default=None, metavar="ADDRESS", help="as for experts")


def _settings(args: argparse.Namespace, preset: str):
    from benchmark.cepr.pipeline import preset_settings

    over = {
        k: getattr(args, k, None)
        for k in (
            "motions",
            "exclude",
            "fps",
            "retargeter",
            "k",
            "encoder_epochs",
            "seed",
            "timesteps",
            "n_envs",
            "n_steps",
            "net_arch",
            "init_std",
            "obs_mode",
            "rewards",
            "sigma_start",
            "sigma_end",
            "action_offset",
            "backend",
        )
    }
    if over.get("backend") == "cpu":
        over["backend"] = None  # the default: cpu settings stay as they were before the option
    if getattr(args, "option", None):
        over["options"] = parse_options(args.option)
    s = preset_settings(preset, **over)
    if getattr(args, "max_refs", None) is not None:
        s["max_refs"] = args.max_refs or None
    return s


def run(args: argparse.Namespace) -> int:
    from benchmark.cepr import cluster, curate, experts, pipeline, retarget
    from benchmark.cepr.report import write_report
    from benchmark.cepr.sources import gather_sources

    if args.jobs < 1:
        raise NmrGymError(f"--jobs must be >= 1, got {args.jobs}")
    cmd = args.cepr_command
    s = _settings(args, getattr(args, "preset", None) or "cpu")
    if cmd in ("run", "experts"):
        from benchmark.backends.cepr_experts import check_backend_settings

        check_backend_settings(pipeline._expert_settings(s))  # one line before any work
    if cmd == "run":
        if args.show:
            print(json.dumps(s, indent=2))
            return 0
        report = pipeline.run_pipeline(
            args.out, s, jobs=args.jobs, ray_address=args.ray, stop_after=args.stop_after
        )
        print(f"wrote {report}")
        return 0
    if cmd in ("curate", "retarget"):
        if cmd == "retarget":  # a bad name fails before any work
            retarget.check_retargeter(s["retargeter"], s["options"])
        clips, dropped = gather_sources(s["motions"], s["exclude"])
        print(f"cepr: {len(clips)} clip(s), {len(dropped)} excluded")
        table = curate.run_curate(clips, args.out, fps=s["fps"], jobs=args.jobs)
        print(f"curate: {len(table)} chunks, {int(table['curated'].sum())} pass every filter")
    if cmd == "retarget":
        table = retarget.run_retarget(
            args.out,
            retargeter=s["retargeter"],
            options=s["options"],
            fps=s["fps"],
            jobs=args.jobs,
            pairs_out=args.pairs_out,
            args={"motions": s["motions"], "exclude": s["exclude"]},
            ground_chunks=args.ground_chunks,
        )
        kept = table[table["kept"]]
        print(
            f"retarget: {len(kept)} of {len(table)} chunks pass the hard filters "
            f"({int(kept['curated'].sum())} also curated)"
        )
    if cmd == "cluster":
        table = cluster.run_cluster(args.out, k=s["k"], epochs=s["encoder_epochs"], seed=s["seed"])
        print(f"cluster: {len(table)} segments in {s['k']} clusters")
    if cmd == "experts":
        pipeline.check_settings(s)
        frame = experts.run_experts(
            args.out,
            settings=pipeline._expert_settings(s),
            fps=s["fps"],
            jobs=args.jobs,
            ray_address=args.ray,
        )
        print(f"experts: {len(frame)} trained")
    if cmd == "rollout":
        frame = experts.run_rollouts(
            args.out,
            fps=s["fps"],
            jobs=args.jobs,
            ray_address=args.ray,
            all_references=args.all_references,
        )
        print(f"rollout: {int((frame['kept_frames'] > 0).sum())} of {len(frame)} references kept")
    print(f"wrote {write_report(args.out)}")
    return 0
