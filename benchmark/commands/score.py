"""``nmr-bench score FILE...``: the benchmark metrics of existing robot motion files.

Any robot format ``nmr_gym.io.load_robot_motion`` reads (BeyondMimic npz, nmr npz, Unitree
CSV, GMR pickle with ``--trust-pickle``), scored on the reference G1 with the definitions of
:mod:`benchmark.metrics`. ``--human FILE`` adds MPJPE against that human motion (one robot
file only).
"""

from __future__ import annotations

import argparse

from benchmark.commands._common import (
    add_csv_options,
    add_json,
    add_trust_pickle,
    emit_table,
    load_robot_arg,
    load_with_clear_errors,
)

NAME = "score"
HELP = "metrics of existing robot motion files (any supported format) on the reference G1"
ORDER = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="robot motion files")
    parser.add_argument(
        "--human",
        default=None,
        metavar="FILE",
        help="the source human motion, for mpjpe_m / w_mpjpe_m (one FILE only)",
    )
    parser.add_argument(
        "--no-self-collision",
        action="store_true",
        help="skip the self-collision pass (its columns are NaN)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="processes for the kinematic pass of long motions (default 1)",
    )
    add_trust_pickle(parser)
    add_csv_options(parser)
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from benchmark.metrics import score
    from nmr_gym.errors import MotionError

    human = None
    if args.human:
        if len(args.files) != 1:
            raise MotionError("--human needs exactly one robot FILE", args.human)
        from nmr_gym.io import load_human_motion

        human = load_with_clear_errors(args.human, lambda: load_human_motion(args.human))
    rows = []
    for f in args.files:
        robot = load_robot_arg(f, args)
        row = {"file": f, "frames": robot.n_frames, "fps": robot.fps}
        row.update(
            score(robot, human, self_collision=not args.no_self_collision, workers=args.workers)
        )
        if not args.json:
            row = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}
        rows.append(row)
    emit_table(rows, args.json)
    return 0
