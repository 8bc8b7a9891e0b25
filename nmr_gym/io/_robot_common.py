"""Checks shared by the G1 robot-motion readers and writers (one module per format).

Every helper turns a bad value into a :class:`~nmr_gym.errors.MotionFormatError` naming the
file, so each format module only states what its format holds.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from nmr_gym import rotations as rot
from nmr_gym.errors import MotionError, MotionFormatError, UntrustedPickleError
from nmr_gym.g1 import spec
from nmr_gym.io.files import check_input_file, fps_value
from nmr_gym.motion.robot import RobotMotion

#: Joint columns of the 23-DoF G1 variant (``g1_29dof_anneal_23dof``, wrists locked) that
#: PHC / ASAP use; named in errors so such a file is recognised, not just "wrong shape".
G1_23DOF_COLUMNS = 23


def require_keys(data: dict, keys: tuple[str, ...], what: str, path: Path) -> None:
    """A clear error naming the keys a file lacks (and the ones it has)."""
    missing = [k for k in keys if k not in data]
    if missing:
        raise MotionFormatError(
            f"is not a {what} file: missing keys {', '.join(missing)} "
            f"(found: {', '.join(map(str, data)) or 'none'})",
            path,
        )


def numeric(name: str, value: Any, path: Path) -> np.ndarray:
    """``value`` as a float64 array, else a clear error naming the field."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise MotionFormatError(f"{name} is not a numeric array", path) from None
    return arr


def check_fps_argument(fps: float | None, stored: float, path: Path) -> None:
    """An error when the caller's ``fps`` differs from the file's stored rate."""
    if fps is not None and not np.isclose(float(fps), stored):
        raise MotionFormatError(
            f"the file stores its frame rate ({stored:g} fps) but fps={fps:g} was given; "
            f"load it and call .resample({fps:g}) to change the frame rate",
            path,
        )


def stored_fps(value: Any, fps: float | None, path: Path) -> float:
    """The frame rate a file stores; an error when the caller's ``fps`` disagrees with it."""
    stored = fps_value(value, path)
    check_fps_argument(fps, stored, path)
    return stored


def joint_columns(name: str, value: Any, path: Path) -> np.ndarray:
    """``value`` as a (T, 29) float array of G1 joint positions, else a clear error."""
    arr = numeric(name, value, path)
    if arr.ndim != 2 or arr.shape[1] != spec.NUM_JOINTS:
        columns_error(name, arr, path, "29 G1 joints")
    return arr


def xyzw_as_wxyz(name: str, value: Any, path: Path) -> np.ndarray:
    """A (T, 4) xyzw quaternion array (GMR, PHC) as wxyz, else a clear error."""
    arr = numeric(name, value, path)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise MotionFormatError(f"{name} has shape {arr.shape}, expected (T, 4)", path)
    return rot.xyzw_to_wxyz(arr)


def make_motion(
    path: Path,
    fps: Any,
    root_pos: Any,
    root_quat_wxyz: Any,
    joint_pos: Any,
    metadata: dict[str, Any],
) -> RobotMotion:
    """A validated RobotMotion; validation failures become MotionFormatError naming the file."""
    try:
        motion = RobotMotion(fps, root_pos, root_quat_wxyz, joint_pos, metadata=metadata)
    except MotionError as exc:
        raise MotionFormatError(str(exc), path) from None
    motion.source = str(path)
    return motion


def columns_error(name: str, arr: np.ndarray, path: Path, what: str) -> None:
    """Raise the error for a joint array of the wrong shape (the 23-DoF G1 named)."""
    if arr.ndim == 2 and arr.shape[1] == G1_23DOF_COLUMNS:
        raise MotionFormatError(
            f"{name} has {G1_23DOF_COLUMNS} columns: a 23-DoF G1 motion, not the 29-DoF G1 "
            f"nmr-gym uses",
            path,
        )
    raise MotionFormatError(
        f"{name} has shape {arr.shape}, expected (T, {spec.NUM_JOINTS}) ({what})", path
    )


def unpickle(path: Path, trusted: bool, what: str, use_joblib: bool = False) -> Any:
    """The object in a pickle the caller trusts; UntrustedPickleError otherwise."""
    p = check_input_file(path)
    if not trusted:
        raise UntrustedPickleError(
            f"is a {what} pickle; loading a pickle runs code stored in the file, so it is "
            "loaded only when you trust where it came from: pass trusted=True "
            "(command line: --trust-pickle)",
            p,
        )
    try:
        if use_joblib:
            import joblib

            return joblib.load(p)
        with open(p, "rb") as f:
            return pickle.load(f)  # noqa: S301 - the caller said the file is trusted
    except ImportError as exc:
        raise MotionFormatError(
            f"needs a Python module that is not installed to unpickle ({exc})", p
        ) from None
    except Exception as exc:  # a corrupt pickle can raise nearly anything while it runs
        raise MotionFormatError(
            f"cannot be unpickled (truncated or not a pickle: {type(exc).__name__}: {exc})", p
        ) from None


def savez(path: Path, arrays: dict[str, Any]) -> None:
    """``np.savez`` to exactly ``path`` (which may lack the ``.npz`` suffix)."""
    # Through a file object: np.savez would append ".npz" to a temporary name otherwise.
    with open(path, "wb") as f:
        np.savez(f, **arrays)
