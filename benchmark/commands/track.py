"""``nmr-bench track RUN_DIR``: the tracking table of a benchmark run (NMR paper, Table IV).

For every (retargeter, motion) row of an ``nmr-bench run`` folder: train a PPO tracking policy
on that row's robot motion with a fixed step budget (``train-tracker``'s trainer, the batched
env, the same settings and seed for every method), evaluate it from frame 0 (both success
rules), record the learning curve, and merge ``success``, ``track_mpjpe_m`` and
``track_w_mpjpe_m`` into ``RUN_DIR/results.csv``; every row's evaluation and curve summaries
go to ``RUN_DIR/tracking.csv``, the curves to ``RUN_DIR/tracking_curves.csv``
(:mod:`benchmark.tracktable`). A rerun resumes: finished rows are skipped and an interrupted
training continues from its checkpoint. ``nmr-bench leaderboard RUN_DIR/results.csv
--publish DIR`` then adds the Table IV layout and the learning-curve figure.

``--backend mjlab`` trains each row's policy with the mjlab GPU backend instead (``--num-envs``,
``--iterations``, ``--mjlab-python``, ``--device``, ``--mjlab-mdp`` as in ``train-tracker``;
the cpu options ``--budget``, ``--n-envs``, ``--n-steps``, ``--net-arch``, ``--init-std`` and
``--n-evals`` do not apply) and evaluates it in the project's CPU env, same columns
(:mod:`benchmark.tracktable`).
"""

from __future__ import annotations

import argparse
import shlex
import sys

NAME = "track"
HELP = "train and evaluate a tracking policy per (retargeter, motion) row of a benchmark run"
ORDER = 62


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from benchmark.backends import BACKENDS
    from benchmark.backends.mjlab_backend import add_backend_arguments
    from benchmark.executors import add_executor_arguments
    from benchmark.tracktable import DEFAULT_BUDGET, TrackSettings

    d = TrackSettings()
    parser.add_argument("run_dir", metavar="RUN_DIR", help="an 'nmr-bench run' output folder")
    parser.add_argument(
        "--retargeters",
        default=None,
        metavar="NAME,...",
        help="only these retargeters' rows (default: every one in the run)",
    )
    parser.add_argument(
        "--motions",
        default=None,
        metavar="NAME,...",
        help="only these motions' rows (default: every one in the run)",
    )
    parser.add_argument(
        "--budget",
        type=int,
        default=DEFAULT_BUDGET,
        metavar="STEPS",
        help=f"env steps of training per row, the same for every row (default {DEFAULT_BUDGET})",
    )
    parser.add_argument("--n-envs", type=int, default=d.n_envs, help="robots of the batched env")
    parser.add_argument(
        "--n-steps", type=int, default=d.n_steps, help="rollout steps per env per update"
    )
    parser.add_argument(
        "--net-arch",
        type=int,
        nargs="+",
        default=list(d.net_arch),
        help="hidden layers of actor and critic (default %(default)s)",
    )
    parser.add_argument("--init-std", type=float, default=d.init_std, help="initial action std")
    parser.add_argument("--seed", type=int, default=d.seed, help="seed of every training")
    parser.add_argument(
        "--n-evals", type=int, default=d.n_evals, help="frame-0 evaluations during each training"
    )
    parser.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="trainings in parallel (default 1)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="physics (and torch) threads per training (default 1; e.g. --jobs 1 --threads 2)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--backend",
        default="cpu",
        metavar="|".join(BACKENDS),
        help="cpu: PPO on the batched CPU env (default); mjlab: mjlab's GPU trainer per row "
        "(optional extra, own environment; see the README's Scaling section)",
    )  # checked in run(): a bad name is one line, exit 2
    add_backend_arguments(parser)
    add_executor_arguments(parser)


def _names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


def command_line(args: argparse.Namespace) -> str:
    """The command line as typed through ``nmr-bench``, else rebuilt from ``args``."""
    if sys.argv and sys.argv[0].endswith("nmr-bench"):
        return shlex.join(["nmr-bench", *sys.argv[1:]])
    argv = ["nmr-bench", NAME, args.run_dir, "--budget", str(args.budget)]
    argv += ["--retargeters", args.retargeters] if args.retargeters else []
    argv += ["--motions", args.motions] if args.motions else []
    argv += ["--n-envs", str(args.n_envs), "--n-steps", str(args.n_steps)]
    argv += ["--net-arch", *[str(n) for n in args.net_arch], "--init-std", str(args.init_std)]
    argv += ["--seed", str(args.seed), "--n-evals", str(args.n_evals)]
    argv += ["--jobs", str(args.jobs), "--threads", str(args.threads)]
    if args.backend != "cpu":
        argv += ["--backend", args.backend, "--num-envs", str(args.num_envs)]
        argv += ["--iterations", str(args.iterations)]
        argv += ["--mjlab-mdp"] if args.mjlab_mdp else []
        argv += ["--device", args.device] if args.device else []
    return shlex.join(argv)


def _executor(args: argparse.Namespace, settings):
    """``--executor``'s executor; on a Ray cluster (``--ray-address``) an mjlab row's task asks
    for one GPU, so Ray runs one mjlab training per GPU (``--device cpu``: none)."""
    from benchmark.executors import executor_from_args, make_executor

    if settings.backend == "mjlab" and args.executor == "ray" and args.ray_address:
        gpus = 0.0 if args.device == "cpu" else 1.0
        return make_executor("ray", jobs=args.jobs, address=args.ray_address, gpus_per_job=gpus)
    return executor_from_args(args)


def run(args: argparse.Namespace) -> int:
    from benchmark.tracktable import TrackSettings, plan_jobs, run_track

    settings = TrackSettings(
        budget=args.budget,
        n_envs=args.n_envs,
        n_steps=args.n_steps,
        net_arch=tuple(args.net_arch),
        init_std=args.init_std,
        seed=args.seed,
        threads=args.threads,
        n_evals=args.n_evals,
        backend=args.backend,
        mjlab_num_envs=args.num_envs,
        mjlab_iterations=args.iterations,
        mjlab_project_mdp=not args.mjlab_mdp,
        mjlab_python=args.mjlab_python,
        mjlab_device=args.device,
    )
    retargeters, motions = _names(args.retargeters), _names(args.motions)
    plan_jobs(args.run_dir, settings, retargeters, motions)  # bad input: one line, exit 2
    if settings.backend == "mjlab" and args.executor == "local":
        from benchmark.backends.mjlab_backend import find_mjlab_python

        find_mjlab_python(args.mjlab_python)  # no mjlab: one line before any work
    executor = _executor(args, settings)
    try:
        table = run_track(
            args.run_dir,
            settings,
            retargeters,
            motions,
            executor=executor,
            progress=not args.no_progress,
            command=command_line(args),
        )
    finally:
        executor.close()
    cols = ["motion", "retargeter", "success", "track_mpjpe_m", "track_w_mpjpe_m",
            "steps_to_full_clip", "ep_len_auc", "final_ep_len"]  # fmt: skip
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table[cols].round(4).to_string(index=False))
    print(f"\ntracking: {args.run_dir}/tracking.csv ({len(table)} rows); merged into results.csv")
    return 0
