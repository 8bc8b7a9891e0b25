"""``nmr-bench robustness``: how far each method's output moves when its input is noisy.

Retargets every suite motion and its noisy variant (the built-in noise model, seeded) with each
retargeter and prints, per retargeter, the mean joint-angle deviation of the noisy-input output
from the clean-input output and the joint-jump frames of both (see
:mod:`benchmark.noise_robustness`). ``--clean-run`` reuses the clean outputs of an
``nmr-bench run`` folder of the same seed; ``--publish DIR`` writes the tables, a Fig. 5-style
figure and a README.md. A rerun with the same ``--out`` resumes.
"""

from __future__ import annotations

import argparse

NAME = "robustness"
HELP = "noise robustness: output deviation under noisy input (jitter, spikes, sinking) per method"
ORDER = 26


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from benchmark.noise_robustness import FIGURE_JOINT, NOISE_SCALE, NOISE_SEED

    parser.add_argument(
        "--suite",
        default="builtin",
        metavar="builtin|DIR|MANIFEST",
        help="'builtin', a folder of human motion files or a manifest (as 'nmr-bench run')",
    )
    parser.add_argument(
        "--retargeters", required=True, metavar="NAME,...", help="comma-separated retargeters"
    )
    from benchmark.commands.run import add_variant_argument

    add_variant_argument(parser)
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="output folder (rerunning resumes)"
    )
    parser.add_argument(
        "--motions", default=None, metavar="NAME,...", help="only these suite motions"
    )
    parser.add_argument(
        "--max-frames",
        type=int,
        default=None,
        metavar="N",
        help="only motions of at most N input frames (a cheaper subset)",
    )
    parser.add_argument(
        "--clean-run",
        default=None,
        metavar="DIR",
        help="an 'nmr-bench run' folder (same --seed) whose outputs serve as the clean outputs",
    )
    parser.add_argument(
        "--seed", type=int, default=0, metavar="S", help="retargeter seed (default 0)"
    )
    parser.add_argument(
        "--noise-seed",
        type=int,
        default=NOISE_SEED,
        metavar="S",
        help=f"seed of the noise model (default {NOISE_SEED})",
    )
    parser.add_argument(
        "--noise-scale",
        type=float,
        default=NOISE_SCALE,
        metavar="X",
        help=f"amplitude factor of every noise term (default {NOISE_SCALE:g})",
    )
    parser.add_argument(
        "--publish", default=None, metavar="DIR", help="write tables, figure and README.md to DIR"
    )
    parser.add_argument(
        "--figure-motion",
        default=None,
        metavar="NAME",
        help="motion of the published figure (default: most noisy jump frames)",
    )
    parser.add_argument(
        "--joint",
        default=FIGURE_JOINT,
        metavar="NAME",
        help=f"joint of the published figure (default {FIGURE_JOINT})",
    )
    parser.add_argument("--note", default="", help="a sentence added to the published README")
    parser.add_argument("--no-progress", action="store_true", help="no per-motion lines")
    from benchmark.commands._common import add_json

    add_json(parser)


def _command(args: argparse.Namespace) -> str:
    """This command as typed, or rebuilt from ``args`` when called from Python."""
    import shlex
    import sys

    if sys.argv and "nmr-bench" in sys.argv[0]:
        return shlex.join(["nmr-bench", *sys.argv[1:]])
    argv = ["nmr-bench", NAME]
    for opt, value in (
        ("--suite", args.suite), ("--retargeters", args.retargeters),
        *(("--variant", v) for v in args.variant), ("--out", args.out),
        ("--motions", args.motions), ("--max-frames", args.max_frames),
        ("--clean-run", args.clean_run), ("--seed", args.seed),
        ("--noise-seed", args.noise_seed), ("--noise-scale", args.noise_scale),
        ("--publish", args.publish), ("--figure-motion", args.figure_motion),
        ("--joint", args.joint if args.publish else None),
        ("--note", args.note or None),
    ):  # fmt: skip
        if value is not None:
            argv += [opt, str(value)]
    return shlex.join(argv)


def run(args: argparse.Namespace) -> int:
    from benchmark import noise_robustness as nr
    from benchmark import variants
    from benchmark.commands._common import emit_table

    names = [n.strip() for n in args.retargeters.split(",") if n.strip()]
    chosen = variants.parse_all(args.variant)
    motions = [m.strip() for m in args.motions.split(",")] if args.motions else None
    rows = nr.run(
        args.suite,
        names,
        args.out,
        seed=args.seed,
        noise_seed=args.noise_seed,
        scale=args.noise_scale,
        motions=motions,
        max_frames=args.max_frames,
        clean_run=args.clean_run,
        progress=not args.no_progress,
        command=_command(args),
        variants=chosen,
    )
    table = nr.summary(rows)
    out_rows = table.to_dict("records")
    if not args.json:
        out_rows = [
            {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
            for r in out_rows
        ]
    emit_table(out_rows, args.json)
    if args.publish:
        for p in nr.publish(
            args.out, args.publish, figure_motion=args.figure_motion, joint=args.joint,
            note=args.note,
        ):  # fmt: skip
            print(f"wrote {p}")
    return 0
