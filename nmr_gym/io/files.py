"""Opening motion files for reading: clear errors for missing, empty or corrupt files.

Shared by the robot and human readers so that every reader names the file and the problem the
same way (never a traceback from numpy, zipfile or zlib).
"""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from nmr_gym.errors import MotionError, MotionFileNotFoundError, MotionFormatError
from nmr_gym.motion import _validate as v


def check_input_file(path: str | os.PathLike) -> Path:
    """``path`` as a Path; a clear error when it is missing, a folder or empty."""
    p = Path(path)
    if not p.exists():
        raise MotionFileNotFoundError("no such file", p)
    if p.is_dir():
        raise MotionFormatError("is a folder, not a motion file", p)
    if p.stat().st_size == 0:
        raise MotionFormatError("is empty (0 bytes)", p)
    return p


def read_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of an npz file, read eagerly with ``allow_pickle=False``.

    Any failure (not a zip, truncated, object arrays, ...) is a MotionFormatError naming the
    file, so a bad file never surfaces as a zipfile/zlib/numpy traceback.
    """
    p = check_input_file(path)
    try:
        with np.load(p, allow_pickle=False) as data:
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise MotionFormatError("is a single .npy array, not an .npz archive", p)
            return {key: data[key] for key in data.files}
    except MotionFormatError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise MotionFormatError(
                "is not an npz archive, or holds pickled Python objects (nmr-gym never "
                "unpickles npz contents)",
                p,
            ) from None
        raise MotionFormatError(f"cannot be read as npz ({exc})", p) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as exc:
        raise MotionFormatError(
            f"is not a valid npz archive (truncated or corrupt: {exc})", p
        ) from None
    except Exception as exc:  # numpy's header parser raises assorted errors on corrupt bytes
        raise MotionFormatError(
            f"is not a valid npz archive (corrupt: {type(exc).__name__}: {exc})", p
        ) from None


def fps_value(value: Any, source: str | os.PathLike | None) -> float:
    """A frame rate [Hz] stored in a file (a number or a 1-element array), finite and > 0."""
    arr = np.asarray(value)
    if arr.size != 1 or arr.dtype.kind not in "iuf":
        raise MotionFormatError(f"fps must be one number, got {value!r}", source)
    try:
        return v.check_fps(arr.item(), source)
    except MotionError as exc:  # the bad value is in the file: a format error naming it
        raise MotionFormatError(str(exc).removeprefix(f"{source}: "), source) from None


__all__ = ["check_input_file", "fps_value", "read_npz"]
