"""``nmr-bench inspect FILE...``: what each motion file is, as a table or JSON.

One row per file: kind (human/robot), format, skeleton, fps, frames, duration, joints, and the
benchmark's complexity and length classes. Robot motion has no complexity class ("n/a").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from benchmark.commands._common import (
    add_csv_options,
    add_json,
    add_trust_pickle,
    emit_table,
    load_motion_arg,
)
from nmr_gym.errors import NmrGymError

NAME = "inspect"
HELP = "describe motion files: human or robot, format, skeleton, fps, frames, classes"
ORDER = 80

NOT_APPLICABLE = "n/a"
ROBOT_SKELETON = "Unitree G1 29-DoF"
COLUMNS = (
    "file",
    "kind",
    "format",
    "skeleton",
    "fps",
    "frames",
    "duration_s",
    "joints",
    "complexity",
    "length",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="motion files")
    add_json(parser)
    add_trust_pickle(parser)
    add_csv_options(parser)
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="report unreadable files (one line each on stderr) and describe the others; "
        "the exit status is still 2 when any file failed",
    )


def _length_class(motion: Any) -> str:
    from benchmark.splits import length_class

    return str(length_class(motion.n_frames))


def _complexity_class(motion: Any) -> str:
    from benchmark.splits import complexity_class

    return str(complexity_class(motion))


def describe(motion: Any, path: str | Path) -> dict[str, Any]:
    """One inspect row for a loaded RobotMotion or HumanMotion."""
    from nmr_gym.motion import RobotMotion

    meta = motion.metadata
    robot = isinstance(motion, RobotMotion)
    if robot:
        skeleton, joints, complexity = ROBOT_SKELETON, motion.joint_pos.shape[1], NOT_APPLICABLE
    else:
        skeleton = str(meta.get("skeleton") or "SMPL")
        joints = len(motion.joint_names)
        complexity = str(meta.get("complexity") or _complexity_class(motion))
    return {
        "file": str(path),
        "kind": "robot" if robot else "human",
        "format": str(meta.get("format", "?")),
        "skeleton": skeleton,
        "fps": round(float(motion.fps), 3),
        "frames": int(motion.n_frames),
        "duration_s": round(float(motion.duration), 2),
        "joints": int(joints),
        "complexity": complexity,
        "length": str(meta.get("length") or _length_class(motion)),
    }


def run(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    failed = 0
    for path in args.files:
        try:
            rows.append(describe(load_motion_arg(path, args), path))
        except (NmrGymError, FileNotFoundError) as exc:
            if not args.keep_going:
                raise
            failed += 1
            print(f"nmr-bench inspect: error: {exc}", file=sys.stderr)
    emit_table(rows, args.json)
    from benchmark.cli import EXIT_BAD_INPUT

    return EXIT_BAD_INPUT if failed else 0
