"""G1 robot motion files: one entry point over the formats people exchange.

One module per format, as the human side has:

- ``"beyondmimic"`` (``.npz``): the BeyondMimic / mjlab motion file (:mod:`nmr_gym.io.beyondmimic`).
- ``"csv"`` (``.csv``): the Unitree / BeyondMimic CSV, no frame rate stored
  (:mod:`nmr_gym.io.unitree_csv`).
- ``"gmr"`` (``.pkl``): the GMR pickle, trusted files only (:mod:`nmr_gym.io.gmr_pickle`).
- ``"nmr"`` (``.nmr.npz``): nmr-gym's compact npz with metadata (:mod:`nmr_gym.io.nmr_npz`).
- ``"phc"`` (``.pkl``, read only): the PHC / ASAP joblib pickle, trusted files only
  (:mod:`nmr_gym.io.phc`).

Every reader validates what it reads and raises :class:`~nmr_gym.errors.MotionFormatError`
naming the file (never a traceback from numpy, zipfile or pickle); npz files are always opened
with ``allow_pickle=False``. Pickle-based formats run code when loaded, so they are read only
when the caller says the file is trusted. Writers are atomic: a failed write leaves no file.
"""

from __future__ import annotations

import os
from pathlib import Path

from nmr_gym.errors import (
    MotionFileNotFoundError,
    MotionFormatError,
    UnknownNameError,
    UntrustedPickleError,
)
from nmr_gym.io import beyondmimic, gmr_pickle, nmr_npz, phc, unitree_csv
from nmr_gym.io.atomic import atomic_path
from nmr_gym.io.detect import detect
from nmr_gym.io.files import check_input_file, read_npz
from nmr_gym.io.nmr_npz import NMR_FORMAT_TAG, NMR_FORMAT_VERSION
from nmr_gym.io.unitree_csv import (
    CSV_COLUMNS,
    DEFAULT_CSV_FPS,
    DEFAULT_CSV_QUAT_ORDER,
    QUAT_ORDERS,
)
from nmr_gym.motion.robot import RobotMotion

#: Formats that can be read and written.
FORMATS: tuple[str, ...] = ("beyondmimic", "csv", "gmr", "nmr")
#: Formats that can only be read.
READ_ONLY_FORMATS: tuple[str, ...] = ("phc",)
#: Formats that are pickles: reading one runs code from the file.
PICKLE_FORMATS: tuple[str, ...] = ("gmr", "phc")

#: Output format chosen from a file name when none is given (longest suffix wins). Plain
#: ``.npz`` means BeyondMimic, the format other tools consume; ``.nmr.npz`` is nmr-gym's own.
EXTENSION_FORMATS: dict[str, str] = {
    ".nmr.npz": "nmr",
    ".npz": "beyondmimic",
    ".csv": "csv",
    ".pkl": "gmr",
    ".pickle": "gmr",
}

_READERS = {
    "beyondmimic": beyondmimic.read,
    "csv": unitree_csv.read,
    "gmr": gmr_pickle.read,
    "nmr": nmr_npz.read,
    "phc": phc.read,
}
_WRITERS = {
    "beyondmimic": beyondmimic.write,
    "csv": unitree_csv.write,
    "gmr": gmr_pickle.write,
    "nmr": nmr_npz.write,
}


def check_format_name(format: str, writable: bool = False) -> str:  # noqa: A002
    """The canonical name of a robot motion format; UnknownNameError listing the valid ones."""
    valid = FORMATS if writable else FORMATS + READ_ONLY_FORMATS
    name = str(format).lower()
    if name not in valid:
        raise UnknownNameError("robot motion format", str(format), valid)
    return name


def format_from_path(path: str | os.PathLike) -> str:
    """The format a file name implies (see ``EXTENSION_FORMATS``); error when none does."""
    name = Path(path).name.lower()
    for ext in sorted(EXTENSION_FORMATS, key=len, reverse=True):
        if name.endswith(ext):
            return EXTENSION_FORMATS[ext]
    shown = ", ".join(f"{e} ({f})" for e, f in EXTENSION_FORMATS.items())
    raise MotionFormatError(
        f"cannot tell the robot motion format from the file name; give a format "
        f"({', '.join(FORMATS)}) or use one of the extensions {shown}",
        path,
    )


def load_robot_motion(
    path: str | os.PathLike,
    format: str | None = None,  # noqa: A002
    *,
    trusted: bool = False,
    quat_order: str | None = None,
    fps: float | None = None,
) -> RobotMotion:
    """Read a G1 motion file into a validated :class:`RobotMotion`.

    Args:
        path: the file.
        format: one of ``FORMATS`` or ``READ_ONLY_FORMATS``; None: detected from the content
            (:func:`nmr_gym.io.detect.detect`).
        trusted: allow pickle-based formats (``gmr``, ``phc``); unpickling runs code from the
            file, so pass True only for files whose origin you trust.
        quat_order: quaternion order of a CSV file, "wxyz" or "xyzw"; None: wxyz, checked for
            plausibility (see ``DEFAULT_CSV_QUAT_ORDER``). Ignored by other formats, which
            define their own order.
        fps: frame rate [Hz] of a CSV file (default ``DEFAULT_CSV_FPS``); for formats that store
            their frame rate, a different value is an error (use ``.resample``).

    Raises:
        MotionFormatError: naming the file and the problem (missing, corrupt, wrong keys or
            shapes, non-finite values, bad fps, fewer than 2 frames, non-unit quaternions,
            untrusted pickle, a human motion file, another robot).
        UnknownNameError: an unknown format or quaternion order name (lists the valid ones).
    """
    p = check_input_file(path)
    if format is None:
        kind, name = detect(p)
        if kind != "robot":
            raise MotionFormatError(
                f"holds human motion ({name}), not robot motion; use load_human_motion", p
            )
    else:
        name = check_format_name(format)
    return _READERS[name](p, trusted=trusted, quat_order=quat_order, fps=fps)


def save_robot_motion(
    motion: RobotMotion,
    path: str | os.PathLike,
    format: str | None = None,  # noqa: A002
    *,
    quat_order: str = "wxyz",
) -> Path:
    """Write ``motion`` atomically (a failure leaves no file) and return the path written.

    Args:
        motion: the motion.
        path: the output file; its folder is created.
        format: one of ``FORMATS``; None: from the file name (``EXTENSION_FORMATS``: ``.npz``
            BeyondMimic, ``.nmr.npz`` nmr, ``.csv``, ``.pkl`` GMR).
        quat_order: quaternion order of a CSV file ("wxyz" or "xyzw"); other formats fix theirs.

    CSV stores neither the frame rate nor metadata; GMR and BeyondMimic store no metadata.
    """
    if not isinstance(motion, RobotMotion):
        raise TypeError(f"save_robot_motion needs a RobotMotion, got {type(motion).__name__}")
    target = Path(path)
    name = format_from_path(target) if format is None else check_format_name(format, True)
    order = str(quat_order).lower()
    if order not in QUAT_ORDERS:
        raise UnknownNameError("quaternion order", str(quat_order), QUAT_ORDERS)
    if target.is_dir():
        raise MotionFormatError("is a folder; give an output file name", target)
    for folder in (target.parent, *target.parent.parents):  # the nearest existing ancestor
        if folder.exists():
            if not folder.is_dir():
                raise MotionFormatError(f"cannot be written: {folder} is a file", target)
            break
    with atomic_path(target) as tmp:
        _WRITERS[name](motion, tmp, quat_order=order)
    return target


__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_CSV_FPS",
    "DEFAULT_CSV_QUAT_ORDER",
    "EXTENSION_FORMATS",
    "FORMATS",
    "NMR_FORMAT_TAG",
    "NMR_FORMAT_VERSION",
    "PICKLE_FORMATS",
    "QUAT_ORDERS",
    "READ_ONLY_FORMATS",
    "MotionFileNotFoundError",
    "UntrustedPickleError",
    "check_format_name",
    "check_input_file",
    "format_from_path",
    "load_robot_motion",
    "read_npz",
    "save_robot_motion",
]
