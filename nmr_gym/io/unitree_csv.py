"""The Unitree / BeyondMimic G1 CSV (``.csv``), read and written.

No header, one row per frame: root xyz [m], root quaternion (order: ``quat_order``), 29 joint
positions [rad]. The file stores no frame rate (``fps``) and no metadata.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from nmr_gym import rotations as rot
from nmr_gym.errors import MotionFormatError, UnknownNameError
from nmr_gym.g1 import spec
from nmr_gym.io import _robot_common as rc
from nmr_gym.io.files import check_input_file
from nmr_gym.motion.robot import RobotMotion

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


def _up_fraction(q_wxyz: np.ndarray) -> float:
    """Fraction of frames whose body z axis points up (world z component > UPRIGHT_MIN_UP_Z)."""
    q = q_wxyz / np.linalg.norm(q_wxyz, axis=-1, keepdims=True)
    up_z = 1.0 - 2.0 * (q[:, 1] ** 2 + q[:, 2] ** 2)
    return float(np.mean(up_z > UPRIGHT_MIN_UP_Z))


def read(
    path: Path, fps: float | None = None, quat_order: str | None = None, **_: Any
) -> RobotMotion:
    """A RobotMotion from a robot CSV (``fps`` default ``DEFAULT_CSV_FPS``)."""
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
    motion = rc.make_motion(
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


def write(motion: RobotMotion, path: Path, quat_order: str = "wxyz", **_: Any) -> None:
    """Write ``motion`` as a robot CSV in ``quat_order``, exact float64 text."""
    quat = motion.root_quat if quat_order == "wxyz" else rot.wxyz_to_xyzw(motion.root_quat)
    rows = np.concatenate([motion.root_pos, quat, motion.joint_pos], axis=1)
    np.savetxt(path, rows, delimiter=",", fmt="%.17g")  # %.17g: exact float64 round trip
