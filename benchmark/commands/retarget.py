"""``nmr-bench retarget``: human motion files -> G1 motion files with any registered retargeter.

All inputs are loaded and retargeted before anything is written, so a bad file (or a failure on
any clip) exits with status 2, one clear message, and no output at all.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
from pathlib import Path
from typing import Any

from benchmark.commands._common import add_retargeter_options, add_trust_pickle, parse_options
from nmr_gym.errors import MotionFormatError, NmrGymError
from nmr_gym.io.robot_formats import EXTENSION_FORMATS

NAME = "retarget"
HELP = "retarget human motion files (AMASS, BVH, joint positions) to the G1"
ORDER = 10

#: Output file extension of each robot motion format: its first in ``EXTENSION_FORMATS``.
FORMAT_EXTENSIONS = {fmt: ext for ext, fmt in reversed(EXTENSION_FORMATS.items())}
DEFAULT_FORMAT = "nmr"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="human motion files")
    parser.add_argument("--method", required=True, help="registered retargeter (gmr, direct, ...)")
    parser.add_argument("--out", required=True, type=Path, help="output folder (created)")
    parser.add_argument(
        "--format",
        default=DEFAULT_FORMAT,
        choices=sorted(FORMAT_EXTENSIONS),
        help=f"output format (default {DEFAULT_FORMAT})",
    )
    parser.add_argument(
        "--fps", type=float, default=None, help="output frame rate; default: the input's"
    )
    parser.add_argument("--jobs", type=int, default=1, help="parallel worker processes")
    add_retargeter_options(parser)
    add_trust_pickle(parser)
    from benchmark.executors import add_executor_arguments

    add_executor_arguments(parser)


def _output_path(out: Path, src: Path, fmt: str) -> Path:
    stem = src.name
    for ext in (".nmr.npz", ".npz", ".bvh", ".csv", ".pkl", ".pickle"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
            break
    return out / f"{stem}{FORMAT_EXTENSIONS[fmt]}"


def _load_human(path: str, trusted: bool):
    from nmr_gym.io import load_motion
    from nmr_gym.motion import HumanMotion

    motion = load_motion(path, trusted=trusted)
    if not isinstance(motion, HumanMotion):
        raise MotionFormatError("holds robot motion, not human motion; nothing to retarget", path)
    return motion


def _work(path: str, method: str, options: dict, fps: float | None, trusted: bool):
    """Load and retarget one file; errors come back as strings (they cross processes)."""
    import retargeters

    try:
        human = _load_human(path, trusted)
        robot = retargeters.make(method, **options).retarget(human)
        if fps is not None:
            robot = robot.resample(fps)
        return robot, None
    except (NmrGymError, OSError) as exc:
        return None, str(exc)


def _work_star(common: tuple, path: str):
    """``_work(path, *common)``: the picklable job of an executor."""
    return _work(path, *common)


def _check_method(method: str, options: dict) -> None:
    import retargeters

    try:
        retargeters.make(method, **options)
    except TypeError as exc:  # unknown option name
        raise NmrGymError(f"bad option for retargeter {method!r}: {exc}") from None
    except ValueError as exc:
        if isinstance(exc, NmrGymError):
            raise
        raise NmrGymError(f"bad option for retargeter {method!r}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from nmr_gym.io import save_robot_motion

    options = parse_options(args.option)
    _check_method(args.method, options)
    if args.fps is not None and not (math.isfinite(args.fps) and args.fps > 0):
        raise NmrGymError(f"--fps must be a finite number > 0, got {args.fps:g}")
    if args.jobs < 1:
        raise NmrGymError(f"--jobs must be >= 1, got {args.jobs}")
    inputs = [Path(p) for p in args.inputs]
    outputs = [_output_path(args.out, p, args.format) for p in inputs]
    seen: dict[Path, Path] = {}
    for src, dst in zip(inputs, outputs, strict=True):
        if not src.is_file():
            raise MotionFormatError("no such file" if not src.exists() else "not a file", src)
        if dst in seen:
            raise NmrGymError(f"{seen[dst]} and {src} would both be written to {dst}")
        seen[dst] = src

    common = (args.method, options, args.fps, args.trust_pickle)
    if args.executor == "local" and args.jobs == 1:
        # In order, stopping at the first failure (nothing is written anyway).
        bar = tqdm(total=len(inputs), desc=f"retarget ({args.method})", unit="clip", disable=None)
        results: dict[int, Any] = {}
        try:
            for i, src in enumerate(inputs):
                results[i] = _work(str(src), *common)
                bar.update()
                if results[i][1]:
                    break
        finally:
            bar.close()
    else:
        from benchmark.executors import executor_from_args

        jobs = args.jobs
        if args.executor == "local":
            jobs = min(args.jobs, len(inputs), os.cpu_count() or 1)
        executor = executor_from_args(args, jobs)
        try:
            done = executor.map(
                functools.partial(_work_star, common),
                [str(src) for src in inputs],
                desc=f"retarget ({args.method})",
                progress=None,
            )
        finally:
            executor.close()
        results = dict(enumerate(done))
    errors = [err for _, err in (results[i] for i in sorted(results)) if err]
    if errors:
        more = f" (and {len(errors) - 1} more failures)" if len(errors) > 1 else ""
        raise NmrGymError(f"{errors[0]}{more}; nothing was written")
    for i, dst in enumerate(outputs):
        save_robot_motion(results[i][0], dst, args.format)
    print(f"wrote {len(outputs)} {args.format} file(s) to {args.out}")
    return 0
