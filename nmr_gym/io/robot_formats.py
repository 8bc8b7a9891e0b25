"""Readers and writers of G1 robot motion in the formats people exchange.

- ``"beyondmimic"`` (``.npz``): the BeyondMimic / mjlab motion file: ``fps``, ``joint_pos``
  (T,29), ``joint_vel``, ``body_pos_w`` (T,30,3), ``body_quat_w`` (T,30,4 wxyz),
  ``body_lin_vel_w``, ``body_ang_vel_w``; bodies in MuJoCo depth-first order
  (``spec.BODY_NAMES``, pelvis first). Read: root pose from body 0, joints from ``joint_pos``,
  body positions checked against forward kinematics. Written from RobotMotion's FK, float32.
- ``"csv"`` (``.csv``): the Unitree / BeyondMimic CSV, no header, one row per frame: root xyz,
  root quaternion (order: ``quat_order``), 29 joints. No frame rate in the file (``fps``).
- ``"gmr"`` (``.pkl``): the GMR pickle dict ``fps``, ``root_pos`` (T,3), ``root_rot`` (T,4,
  **xyzw**), ``dof_pos`` (T,29) (+ ``local_body_pos``, ``link_body_list``, unused). Read only
  with ``trusted=True``.
- ``"nmr"`` (``.nmr.npz``): nmr-gym's compact npz: ``fps``, ``root_pos``, ``root_quat`` (wxyz),
  ``joint_pos``, ``joint_names`` (checked, reordered by name), ``format``, ``format_version``,
  ``metadata`` (a JSON string).
- ``"phc"`` (``.pkl``, read only): the PHC / ASAP joblib dict ``{clip: {root_trans_offset,
  root_rot (xyzw), dof, fps, ...}}``; needs ``trusted=True``. The 23-DoF G1 variant ASAP uses
  is refused with a clear error.

Every reader validates what it reads and raises :class:`~nmr_gym.errors.MotionFormatError`
naming the file (never a traceback from numpy, zipfile or pickle); npz files are always opened
with ``allow_pickle=False``. Pickle-based formats run code when loaded, so they are read only
when the caller says the file is trusted. Writers are atomic: a failed write leaves no file.
"""

from __future__ import annotations

import json
import os
import pickle
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from nmr_gym import rotations as rot
from nmr_gym.errors import MotionError, MotionFormatError, UnknownNameError
from nmr_gym.g1 import spec
from nmr_gym.io.atomic import atomic_path
from nmr_gym.motion.robot import RobotMotion, forward_kinematics

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

QUAT_ORDERS: tuple[str, ...] = ("wxyz", "xyzw")
#: CSV quaternion order when none is given: wxyz, nmr-gym's convention and the order of the
#: ProtoMotions G1 CSVs. Unitree's LAFAN1 retargeting data (what BeyondMimic's ``csv_to_npz``
#: reads) is xyzw: pass ``quat_order="xyzw"`` for it. When the order is left to this default,
#: the reader checks that the pelvis is upright in most frames and, if the other order makes it
#: so, raises an error asking for an explicit order instead of returning a tumbling robot.
DEFAULT_CSV_QUAT_ORDER = "wxyz"
#: Frame rate [Hz] of CSV files (the format stores none); BeyondMimic's CSVs are 30 fps.
DEFAULT_CSV_FPS = 30.0
#: A frame counts as upright when the pelvis z axis has world z component above this (60 deg).
UPRIGHT_MIN_UP_Z = 0.5
#: The default CSV quaternion order is rejected when fewer than this fraction of frames is
#: upright while the other order gives at least ``UPRIGHT_OTHER_MIN_FRACTION`` and
#: ``UPRIGHT_MARGIN`` more. On the shared GMR clips written xyzw this catches 8 of 9 (not
#: ground1, which lies on the floor most of the time) with no false alarm on the 14 real clips
#: written wxyz. It cannot catch a clip that faces +x throughout: read in the wrong order that
#: is an upright robot facing -x (an ambiguity no orientation test resolves).
UPRIGHT_MIN_FRACTION = 0.5
UPRIGHT_OTHER_MIN_FRACTION = 0.6
UPRIGHT_MARGIN = 0.3

CSV_COLUMNS = 3 + 4 + spec.NUM_JOINTS  # 36

NMR_FORMAT_TAG = "nmr_gym.robot_motion"
NMR_FORMAT_VERSION = 1

BEYONDMIMIC_REQUIRED_KEYS = ("fps", "joint_pos", "body_pos_w", "body_quat_w")
BEYONDMIMIC_OPTIONAL_KEYS = ("joint_vel", "body_lin_vel_w", "body_ang_vel_w")
#: BeyondMimic body positions may differ from FK of their joint_pos on the reference G1 by at
#: most this [m] (float32 storage and small model differences stay far below; a file whose
#: bodies or joints are in another order, e.g. Isaac Lab's breadth-first order, is off by
#: tens of centimetres).
BEYONDMIMIC_FK_TOLERANCE = 0.02
#: FK consistency is checked on at most this many evenly spaced frames (cost ~50 us/frame).
BEYONDMIMIC_FK_CHECK_FRAMES = 200

GMR_REQUIRED_KEYS = ("fps", "root_pos", "root_rot", "dof_pos")
PHC_REQUIRED_KEYS = ("root_trans_offset", "root_rot", "dof", "fps")
PHC_23DOF = 23


class MotionFileNotFoundError(MotionFormatError, FileNotFoundError):
    """The motion file does not exist (both a MotionFormatError and a FileNotFoundError)."""


class UntrustedPickleError(MotionFormatError):
    """A pickle-based file was not marked trusted; loading it would run code from it."""


# --------------------------------------------------------------------------------- helpers
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


def check_format_name(format: str, writable: bool = False) -> str:  # noqa: A002
    """The canonical name of a robot motion format; UnknownNameError listing the valid ones."""
    return _format_name(format, FORMATS if writable else FORMATS + READ_ONLY_FORMATS)


def _format_name(format: str, valid: tuple[str, ...]) -> str:  # noqa: A002
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


def _require_keys(data: dict, keys: tuple[str, ...], what: str, path: Path) -> None:
    missing = [k for k in keys if k not in data]
    if missing:
        raise MotionFormatError(
            f"is not a {what} file: missing keys {', '.join(missing)} "
            f"(found: {', '.join(map(str, data)) or 'none'})",
            path,
        )


def _fps_value(value: Any, path: Path) -> float:
    """A frame rate stored as a scalar, a 1-element array or a number."""
    arr = np.asarray(value)
    if arr.size != 1 or arr.dtype.kind not in "iuf":
        raise MotionFormatError(f"fps must be one number, got {value!r}", path)
    return float(arr.reshape(()))


def _numeric(name: str, value: Any, path: Path) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise MotionFormatError(f"{name} is not a numeric array", path) from None
    return arr


def _check_fps_argument(fps: float | None, stored: float, path: Path) -> None:
    if fps is not None and not np.isclose(float(fps), stored):
        raise MotionFormatError(
            f"the file stores its frame rate ({stored:g} fps) but fps={fps:g} was given; "
            f"load it and call .resample({fps:g}) to change the frame rate",
            path,
        )


def _make_motion(
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


def _columns_error(name: str, arr: np.ndarray, path: Path, what: str) -> None:
    if arr.ndim == 2 and arr.shape[1] == PHC_23DOF:
        raise MotionFormatError(
            f"{name} has {PHC_23DOF} columns: a 23-DoF G1 motion, not the 29-DoF G1 nmr-gym uses",
            path,
        )
    raise MotionFormatError(
        f"{name} has shape {arr.shape}, expected (T, {spec.NUM_JOINTS}) ({what})", path
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return repr(value)


# ---------------------------------------------------------------------------------- readers
def _read_beyondmimic(path: Path, fps: float | None = None, **_: Any) -> RobotMotion:
    data = read_npz(path)
    _require_keys(data, BEYONDMIMIC_REQUIRED_KEYS, "BeyondMimic/mjlab motion", path)
    file_fps = _fps_value(data["fps"], path)
    _check_fps_argument(fps, file_fps, path)
    joint_pos = _numeric("joint_pos", data["joint_pos"], path)
    if joint_pos.ndim != 2 or joint_pos.shape[1] != spec.NUM_JOINTS:
        _columns_error("joint_pos", joint_pos, path, "29 G1 joints")
    n = joint_pos.shape[0]
    body_pos = _numeric("body_pos_w", data["body_pos_w"], path)
    body_quat = _numeric("body_quat_w", data["body_quat_w"], path)
    for name, arr, width in (("body_pos_w", body_pos, 3), ("body_quat_w", body_quat, 4)):
        if arr.ndim != 3 or arr.shape[0] != n or arr.shape[2] != width:
            raise MotionFormatError(
                f"{name} has shape {arr.shape}, expected ({n}, {spec.NUM_BODIES}, {width})",
                path,
            )
        if arr.shape[1] != spec.NUM_BODIES:
            raise MotionFormatError(
                f"{name} holds {arr.shape[1]} bodies; a BeyondMimic file of the 29-DoF G1 holds "
                f"its {spec.NUM_BODIES} bodies in MuJoCo depth-first order (pelvis first)",
                path,
            )
    if "joint_vel" in data and np.shape(data["joint_vel"]) != (n, spec.NUM_JOINTS):
        raise MotionFormatError(
            f"joint_vel has shape {np.shape(data['joint_vel'])}, expected ({n}, {spec.NUM_JOINTS})",
            path,
        )
    for key in ("body_lin_vel_w", "body_ang_vel_w"):
        if key in data and np.shape(data[key]) != (n, spec.NUM_BODIES, 3):
            raise MotionFormatError(
                f"{key} has shape {np.shape(data[key])}, expected ({n}, {spec.NUM_BODIES}, 3)",
                path,
            )
    for key in BEYONDMIMIC_REQUIRED_KEYS[1:] + BEYONDMIMIC_OPTIONAL_KEYS:
        if key in data:
            arr = _numeric(key, data[key], path)
            if not np.isfinite(arr).all():
                frame = int(np.argwhere(~np.isfinite(arr))[0][0])
                raise MotionFormatError(
                    f"{key} has {int((~np.isfinite(arr)).sum())} non-finite values (NaN/inf), "
                    f"first at frame {frame}",
                    path,
                )
    if "body_names" in data:
        names = tuple(str(b) for b in np.asarray(data["body_names"]).reshape(-1))
        if names != spec.BODY_NAMES:
            raise MotionFormatError(
                "body_names are not the G1's 30 bodies in MuJoCo depth-first order "
                f"(got {', '.join(names[:4])}, ...)",
                path,
            )
    motion = _make_motion(
        path,
        file_fps,
        body_pos[:, 0],
        body_quat[:, 0],
        joint_pos,
        {"format": "beyondmimic"},
    )
    _check_beyondmimic_fk(motion, body_pos, path)
    return motion


def _check_beyondmimic_fk(motion: RobotMotion, body_pos: np.ndarray, path: Path) -> None:
    """Body positions must agree with FK of joint_pos on the reference G1 (body order check)."""
    from nmr_gym.g1.model import kinematic_model

    n = motion.n_frames
    frames = np.unique(np.linspace(0, n - 1, min(n, BEYONDMIMIC_FK_CHECK_FRAMES)).astype(int))
    fk_pos, _ = forward_kinematics(kinematic_model(), motion.qpos[frames])
    err = np.linalg.norm(fk_pos - body_pos[frames], axis=-1)  # (F, 30)
    worst = float(err.max())
    if worst > BEYONDMIMIC_FK_TOLERANCE:
        t, b = np.unravel_index(int(err.argmax()), err.shape)
        raise MotionFormatError(
            f"body_pos_w disagrees with forward kinematics of joint_pos on the reference G1 by "
            f"up to {worst:.3f} m (body {b}, {spec.BODY_NAMES[b]}, frame {int(frames[t])}; "
            f"tolerance {BEYONDMIMIC_FK_TOLERANCE} m): bodies or joints are not in MuJoCo "
            f"depth-first G1 order (e.g. an Isaac Lab breadth-first file), or the file is "
            f"for another robot model",
            path,
        )


def _up_fraction(q_wxyz: np.ndarray) -> float:
    """Fraction of frames whose body z axis points up (world z component > UPRIGHT_MIN_UP_Z)."""
    q = q_wxyz / np.linalg.norm(q_wxyz, axis=-1, keepdims=True)
    up_z = 1.0 - 2.0 * (q[:, 1] ** 2 + q[:, 2] ** 2)
    return float(np.mean(up_z > UPRIGHT_MIN_UP_Z))


def _read_csv(
    path: Path, fps: float | None = None, quat_order: str | None = None, **_: Any
) -> RobotMotion:
    p = check_input_file(path)
    order = DEFAULT_CSV_QUAT_ORDER if quat_order is None else str(quat_order).lower()
    if order not in QUAT_ORDERS:
        raise UnknownNameError("quaternion order", str(quat_order), QUAT_ORDERS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data" -> checked below
            rows = np.loadtxt(p, delimiter=",", dtype=np.float64, ndmin=2)
    except UnicodeDecodeError:  # a ValueError too: catch it first
        raise MotionFormatError("is not a text CSV file", p) from None
    except ValueError as exc:
        raise MotionFormatError(
            f"is not a CSV of numbers ({exc}); the robot CSV format has no header row, "
            f"{CSV_COLUMNS} numbers per row",
            p,
        ) from None
    if rows.size == 0:
        raise MotionFormatError("holds no rows of numbers", p)
    if rows.shape[1] != CSV_COLUMNS:
        raise MotionFormatError(
            f"has {rows.shape[1]} columns per row, expected {CSV_COLUMNS} (root xyz, root "
            f"quaternion, {spec.NUM_JOINTS} G1 joints)",
            p,
        )
    quat = rows[:, 3:7] if order == "wxyz" else rot.xyzw_to_wxyz(rows[:, 3:7])
    motion = _make_motion(
        p,
        DEFAULT_CSV_FPS if fps is None else fps,
        rows[:, :3],
        quat,
        rows[:, 7:],
        {"format": "csv", "quat_order": order},
    )
    if quat_order is None:
        other = rot.xyzw_to_wxyz(rows[:, 3:7]) if order == "wxyz" else rows[:, 3:7]
        here, there = _up_fraction(motion.root_quat), _up_fraction(other)
        if (
            here < UPRIGHT_MIN_FRACTION
            and there >= UPRIGHT_OTHER_MIN_FRACTION
            and there >= here + UPRIGHT_MARGIN
        ):
            alt = QUAT_ORDERS[1 - QUAT_ORDERS.index(order)]
            raise MotionFormatError(
                f"read with the default quaternion order {order}, the pelvis is upright in "
                f"only {here:.0%} of frames ({there:.0%} with {alt}); the file looks {alt}: "
                f"pass quat_order={alt!r} (command line: --quat-order {alt}), or "
                f"quat_order={order!r} to keep {order}",
                p,
            )
    return motion


def _unpickle(path: Path, trusted: bool, what: str, use_joblib: bool = False) -> Any:
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


def _read_gmr(path: Path, trusted: bool = False, fps: float | None = None, **_: Any) -> RobotMotion:
    data = _unpickle(path, trusted, "GMR")
    if not isinstance(data, dict):
        raise MotionFormatError(
            f"is not a GMR motion: the pickle holds a {type(data).__name__}, not a dict", path
        )
    if "dof" in data and "root_trans_offset" in data:
        return _phc_clip(path, data, "", fps)
    _require_keys(data, GMR_REQUIRED_KEYS, "GMR motion", path)
    file_fps = _fps_value(data["fps"], path)
    _check_fps_argument(fps, file_fps, path)
    dof = _numeric("dof_pos", data["dof_pos"], path)
    if dof.ndim != 2 or dof.shape[1] != spec.NUM_JOINTS:
        _columns_error("dof_pos", dof, path, "29 G1 joints")
    root_rot = _numeric("root_rot", data["root_rot"], path)
    if root_rot.ndim != 2 or root_rot.shape[1] != 4:
        raise MotionFormatError(f"root_rot has shape {root_rot.shape}, expected (T, 4)", path)
    return _make_motion(
        path, file_fps, data["root_pos"], rot.xyzw_to_wxyz(root_rot), dof, {"format": "gmr"}
    )


def _phc_clip(path: Path, clip: dict, name: str, fps: float | None) -> RobotMotion:
    _require_keys(clip, PHC_REQUIRED_KEYS, "PHC motion", path)
    dof = _numeric("dof", clip["dof"], path)
    if dof.ndim == 2 and dof.shape[1] == PHC_23DOF:
        raise MotionFormatError(
            "is a 23-DoF G1 PHC/ASAP motion (dof has 23 columns: g1_29dof_anneal_23dof, "
            "wrists locked), not the 29-DoF G1 nmr-gym uses; retarget its source motion "
            "instead",
            path,
        )
    if dof.ndim != 2 or dof.shape[1] != spec.NUM_JOINTS:
        _columns_error("dof", dof, path, "29 G1 joints")
    file_fps = _fps_value(clip["fps"], path)
    _check_fps_argument(fps, file_fps, path)
    root_rot = _numeric("root_rot", clip["root_rot"], path)
    if root_rot.ndim != 2 or root_rot.shape[1] != 4:
        raise MotionFormatError(f"root_rot has shape {root_rot.shape}, expected (T, 4)", path)
    return _make_motion(
        path,
        file_fps,
        clip["root_trans_offset"],
        rot.xyzw_to_wxyz(root_rot),
        dof,
        {"format": "phc", "name": name} if name else {"format": "phc"},
    )


def _read_phc(path: Path, trusted: bool = False, fps: float | None = None, **_: Any) -> RobotMotion:
    data = _unpickle(path, trusted, "PHC/ASAP joblib", use_joblib=True)
    if isinstance(data, dict) and "dof" in data:
        return _phc_clip(path, data, "", fps)
    if not isinstance(data, dict) or not data:
        raise MotionFormatError("is not a PHC motion dict {clip name: clip}", path)
    if len(data) != 1:
        raise MotionFormatError(
            f"holds {len(data)} PHC clips; nmr-gym reads one motion per file", path
        )
    name, clip = next(iter(data.items()))
    if not isinstance(clip, dict):
        raise MotionFormatError("is not a PHC motion dict {clip name: clip}", path)
    return _phc_clip(path, clip, str(name), fps)


def _read_nmr(path: Path, fps: float | None = None, **_: Any) -> RobotMotion:
    data = read_npz(path)
    keys = (
        "format",
        "format_version",
        "fps",
        "root_pos",
        "root_quat",
        "joint_pos",
        "joint_names",
        "metadata",
    )
    _require_keys(data, keys, "nmr robot motion", path)
    if str(data["format"]) != NMR_FORMAT_TAG:
        raise MotionFormatError(
            f"format tag is {str(data['format'])!r}, expected {NMR_FORMAT_TAG!r}", path
        )
    try:
        version = int(np.asarray(data["format_version"]).reshape(-1)[0])
    except (ValueError, TypeError, IndexError):
        raise MotionFormatError(
            f"format_version must be an integer, got {data['format_version']!r}", path
        ) from None
    if version > NMR_FORMAT_VERSION:
        raise MotionFormatError(
            f"was written by a newer nmr-gym (format version {version}; this one reads up to "
            f"{NMR_FORMAT_VERSION})",
            path,
        )
    file_fps = _fps_value(data["fps"], path)
    _check_fps_argument(fps, file_fps, path)
    try:
        metadata = json.loads(str(data["metadata"]))
    except json.JSONDecodeError as exc:
        raise MotionFormatError(f"metadata is not valid JSON ({exc})", path) from None
    if not isinstance(metadata, dict):
        raise MotionFormatError("metadata must be a JSON object", path)
    joint_pos = _numeric("joint_pos", data["joint_pos"], path)
    names = tuple(str(j) for j in np.asarray(data["joint_names"]).reshape(-1))
    if names != spec.JOINT_NAMES:
        unknown = sorted(set(names) - set(spec.JOINT_NAMES))
        if unknown or len(names) != spec.NUM_JOINTS or len(set(names)) != len(names):
            raise MotionFormatError(
                f"joint_names are not the 29 G1 joints (unknown: {', '.join(unknown) or '-'}; "
                f"{len(names)} names)",
                path,
            )
        if joint_pos.ndim != 2 or joint_pos.shape[1] != spec.NUM_JOINTS:
            _columns_error("joint_pos", joint_pos, path, "29 G1 joints")
        joint_pos = joint_pos[:, [names.index(j) for j in spec.JOINT_NAMES]]  # into G1 order
    metadata["format"] = "nmr"
    return _make_motion(path, file_fps, data["root_pos"], data["root_quat"], joint_pos, metadata)


_READERS = {
    "beyondmimic": _read_beyondmimic,
    "csv": _read_csv,
    "gmr": _read_gmr,
    "nmr": _read_nmr,
    "phc": _read_phc,
}


# ---------------------------------------------------------------------------------- writers
def _savez(path: Path, arrays: dict[str, Any]) -> None:
    # Through a file object: np.savez would append ".npz" to a temporary name otherwise.
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _write_beyondmimic(motion: RobotMotion, path: Path, **_: Any) -> None:
    # float32, as BeyondMimic's and mjlab's own csv_to_npz write them; fps as a 1-array.
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    _savez(
        path,
        {
            "fps": np.array([motion.fps]),
            "joint_pos": f32(motion.joint_pos),
            "joint_vel": f32(motion.joint_vel),
            "body_pos_w": f32(motion.body_pos_w),
            "body_quat_w": f32(motion.body_quat_w),
            "body_lin_vel_w": f32(motion.body_lin_vel_w),
            "body_ang_vel_w": f32(motion.body_ang_vel_w),
            # Extra keys (ignored by BeyondMimic/mjlab) so readers can verify the order.
            "joint_names": np.array(spec.JOINT_NAMES),
            "body_names": np.array(spec.BODY_NAMES),
        },
    )


def _write_csv(motion: RobotMotion, path: Path, quat_order: str = "wxyz", **_: Any) -> None:
    quat = motion.root_quat if quat_order == "wxyz" else rot.wxyz_to_xyzw(motion.root_quat)
    rows = np.concatenate([motion.root_pos, quat, motion.joint_pos], axis=1)
    np.savetxt(path, rows, delimiter=",", fmt="%.17g")  # %.17g: exact float64 round trip


def _write_gmr(motion: RobotMotion, path: Path, **_: Any) -> None:
    fps = int(motion.fps) if float(motion.fps).is_integer() else float(motion.fps)
    data = {
        "fps": fps,
        "root_pos": np.array(motion.root_pos),
        "root_rot": rot.wxyz_to_xyzw(motion.root_quat),
        "dof_pos": np.array(motion.joint_pos),
        "local_body_pos": None,  # as GMR's own writer leaves them
        "link_body_list": None,
    }
    with open(path, "wb") as f:
        pickle.dump(data, f, protocol=4)


def _write_nmr(motion: RobotMotion, path: Path, **_: Any) -> None:
    metadata = dict(motion.metadata)
    metadata.pop("format", None)
    if motion.source and "source" not in metadata:
        metadata["source"] = str(motion.source)
    _savez(
        path,
        {
            "format": np.array(NMR_FORMAT_TAG),
            "format_version": np.array(NMR_FORMAT_VERSION),
            "fps": np.array(motion.fps),
            "root_pos": motion.root_pos,
            "root_quat": motion.root_quat,
            "joint_pos": motion.joint_pos,
            "joint_names": np.array(spec.JOINT_NAMES),
            "metadata": np.array(json.dumps(metadata, default=_json_default)),
        },
    )


_WRITERS = {
    "beyondmimic": _write_beyondmimic,
    "csv": _write_csv,
    "gmr": _write_gmr,
    "nmr": _write_nmr,
}


# ---------------------------------------------------------------------------------- public
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
        from nmr_gym.io.detect import detect

        kind, name = detect(p)
        if kind != "robot":
            raise MotionFormatError(
                f"holds human motion ({name}), not robot motion; use load_human_motion", p
            )
    else:
        name = _format_name(format, FORMATS + READ_ONLY_FORMATS)
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
    name = format_from_path(target) if format is None else _format_name(format, FORMATS)
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
    "DEFAULT_CSV_FPS",
    "DEFAULT_CSV_QUAT_ORDER",
    "EXTENSION_FORMATS",
    "FORMATS",
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
