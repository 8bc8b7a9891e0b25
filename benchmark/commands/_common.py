"""Helpers shared by ``nmr-bench`` subcommands: common options and loading with clear errors.

Use them so every command spells an option the same way::

    def add_arguments(parser):
        parser.add_argument("files", nargs="+")
        add_trust_pickle(parser)
        add_csv_options(parser)
        add_json(parser)

    def run(args):
        motion = load_motion_arg(args.files[0], args)      # RobotMotion or HumanMotion
        robot = load_robot_arg(args.files[0], args)         # RobotMotion only
        other = load_with_clear_errors(path, lambda: some_loader(path))
        emit_table(rows, args.json)                         # aligned table or JSON

Loading errors are :class:`~nmr_gym.errors.NmrGymError`, which ``benchmark.cli`` prints as one
line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import zipfile
from typing import Any

from nmr_gym.errors import MotionFormatError, NmrGymError


def add_trust_pickle(parser: argparse.ArgumentParser) -> None:
    """``--trust-pickle``: allow pickle-based motion files (GMR, PHC), which run code."""
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="load pickle-based files (GMR .pkl); unpickling runs code stored in the file, "
        "so use this only for files whose origin you trust",
    )


def add_json(parser: argparse.ArgumentParser) -> None:
    """``--json``: machine-readable output on stdout."""
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def add_format(
    parser: argparse.ArgumentParser,
    flag: str = "--format",
    help: str | None = None,  # noqa: A002
) -> None:
    """A motion-format option (free text: an unknown name is an error listing valid names)."""
    from nmr_gym.io.robot_formats import FORMATS

    parser.add_argument(
        flag,
        default=None,
        metavar="FORMAT",
        help=help or f"robot motion format: {', '.join(FORMATS)} (default: from the file)",
    )


def add_csv_options(parser: argparse.ArgumentParser) -> None:
    """``--quat-order`` and ``--csv-fps``: what a robot CSV file does not say about itself."""
    from nmr_gym.io.robot_formats import DEFAULT_CSV_FPS, QUAT_ORDERS

    parser.add_argument(
        "--quat-order",
        choices=QUAT_ORDERS,
        default=None,
        help="root quaternion order of robot CSV files (default wxyz, checked for "
        "plausibility; Unitree's LAFAN1 CSVs are xyzw)",
    )
    parser.add_argument(
        "--csv-fps",
        type=float,
        default=None,
        metavar="FPS",
        help="frame rate of input files that store none (robot CSV: default "
        f"{DEFAULT_CSV_FPS:g}); files that store one keep theirs",
    )


def _robot_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = {"trusted": bool(getattr(args, "trust_pickle", False))}
    if getattr(args, "quat_order", None) is not None:
        kw["quat_order"] = args.quat_order
    if getattr(args, "csv_fps", None) is not None:
        kw["fps"] = args.csv_fps
    return kw


def load_with_clear_errors(path: str | os.PathLike, load: Any) -> Any:
    """Run ``load()``; library errors a bad file can cause become one-line MotionFormatErrors.

    For loaders without their own error mapping, e.g.
    ``load_with_clear_errors(p, lambda: load_human_motion(p))``.
    """
    try:
        return load()
    except NmrGymError:
        raise
    except (
        OSError,
        ValueError,
        KeyError,
        IndexError,
        EOFError,
        zipfile.BadZipFile,
        UnicodeDecodeError,
    ) as exc:
        raise MotionFormatError(f"cannot be read ({type(exc).__name__}: {exc})", path) from exc


def load_motion_arg(path: str | os.PathLike, args: argparse.Namespace, **kwargs: Any) -> Any:
    """A RobotMotion or HumanMotion from ``path``, honouring the common options in ``args``.

    CSV options apply to robot CSV files only (``nmr_gym.io.load_motion`` passes each loader
    the options it takes); ``kwargs`` go to the loaders too (e.g. ``smpl_models_dir``).
    """
    from nmr_gym.io import load_motion

    kw = _robot_kwargs(args)
    return load_with_clear_errors(path, lambda: load_motion(path, **kw, **kwargs))


def load_robot_arg(
    path: str | os.PathLike,
    args: argparse.Namespace,
    format: str | None = None,  # noqa: A002
) -> Any:
    """A RobotMotion from ``path`` (``format`` None: detected), honouring ``args``' options."""
    from nmr_gym.io.robot_formats import load_robot_motion

    return load_with_clear_errors(
        path, lambda: load_robot_motion(path, format, **_robot_kwargs(args))
    )


def format_table(rows: list[dict[str, Any]]) -> str:
    """An aligned text table: text left-aligned, numbers right-aligned, columns of rows[0].

    Hand-written because pandas' ``to_string`` cannot left-align text columns.
    """
    if not rows:
        return "(no rows)"
    cols = list(rows[0])
    cells = [[str(c) for c in cols]] + [[str(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(cols))]
    numeric = [all(isinstance(r.get(c), int | float) for r in rows) for c in cols]
    lines = [
        "  ".join(
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(line, widths, numeric, strict=True)
        )
        for line in cells
    ]
    return "\n".join(line.rstrip() for line in lines)


def emit_table(rows: list[dict[str, Any]], as_json: bool = False) -> None:
    """Print ``rows`` as an aligned table or, with ``as_json``, as a JSON list."""
    if as_json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        print(format_table(rows))


def add_retargeter_options(parser: argparse.ArgumentParser) -> None:
    """``--option/-O KEY=VALUE`` (repeatable): options of the retargeter a command runs; read
    them with :func:`parse_options`."""
    parser.add_argument(
        "--option",
        "-O",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="retargeter option (VALUE parsed as JSON when it can be), repeatable",
    )


def parse_options(items: list[str]) -> dict[str, Any]:
    """``["key=value", ...]`` -> dict; values are JSON when they parse, else strings."""
    options: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise NmrGymError(f"--option needs KEY=VALUE, got {item!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options
