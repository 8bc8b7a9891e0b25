"""``nmr-bench convert IN OUT``: any robot motion format to any other, optionally resampled.

The output format comes from ``--format`` or OUT's extension (``.npz`` BeyondMimic,
``.nmr.npz`` nmr-gym, ``.csv`` Unitree CSV, ``.pkl`` GMR); the input format from ``--in-format``
or IN's content. The output is written atomically: on any error no OUT file appears.
"""

from __future__ import annotations

import argparse
import sys

from benchmark.commands._common import add_csv_options, add_format, add_trust_pickle, load_robot_arg
from nmr_gym.io.robot_formats import (
    QUAT_ORDERS,
    check_format_name,
    format_from_path,
    save_robot_motion,
)

NAME = "convert"
HELP = "convert a G1 robot motion between formats (BeyondMimic npz, CSV, GMR pkl, nmr npz)"
ORDER = 81


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="IN", help="robot motion file to read")
    parser.add_argument("output", metavar="OUT", help="file to write")
    add_format(
        parser,
        "--format",
        help="output format: beyondmimic, csv, gmr, nmr "
        "(default: from OUT's extension: .npz beyondmimic, .nmr.npz nmr, .csv, .pkl gmr)",
    )
    add_format(parser, "--in-format", help="input format (default: detected from IN's content)")
    parser.add_argument(
        "--fps",
        type=float,
        default=None,
        help="resample to this frame rate [Hz] (default: keep IN's)",
    )
    add_trust_pickle(parser)
    add_csv_options(parser)  # --quat-order and --csv-fps describe a CSV input
    parser.add_argument(
        "--out-quat-order",
        choices=QUAT_ORDERS,
        default="wxyz",
        help="quaternion order of a CSV output (default wxyz; Unitree's LAFAN1 CSVs use xyzw)",
    )


def run(args: argparse.Namespace) -> int:
    # Check the output format (and input format name) before the possibly slow load.
    out_format = (
        check_format_name(args.format, writable=True)
        if args.format
        else format_from_path(args.output)
    )
    if args.in_format:
        check_format_name(args.in_format)
    motion = load_robot_arg(args.input, args, args.in_format)
    if args.fps is not None:
        motion = motion.resample(args.fps)
    written = save_robot_motion(motion, args.output, out_format, quat_order=args.out_quat_order)
    print(
        f"wrote {written} ({out_format}, {motion.n_frames} frames at {motion.fps:g} fps, "
        f"{motion.duration:.2f} s)",
        file=sys.stdout,
    )
    return 0
