"""The BeyondMimic / mjlab G1 motion file (``.npz``), read and written.

Keys: ``fps``, ``joint_pos`` (T, 29), ``joint_vel``, ``body_pos_w`` (T, 30, 3), ``body_quat_w``
(T, 30, 4, wxyz), ``body_lin_vel_w``, ``body_ang_vel_w``; bodies in MuJoCo depth-first order
(``spec.BODY_NAMES``, pelvis first), as BeyondMimic's ``csv_to_npz`` writes them. Read: the root
pose from body 0, joints from ``joint_pos``, body positions checked against forward kinematics
(which catches files in another body order). Written from RobotMotion's FK, float32.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nmr_gym.errors import MotionFormatError
from nmr_gym.g1 import spec
from nmr_gym.io import _robot_common as rc
from nmr_gym.io.files import read_npz
from nmr_gym.motion.robot import RobotMotion, forward_kinematics

BEYONDMIMIC_REQUIRED_KEYS = ("fps", "joint_pos", "body_pos_w", "body_quat_w")
BEYONDMIMIC_OPTIONAL_KEYS = ("joint_vel", "body_lin_vel_w", "body_ang_vel_w")
#: BeyondMimic body positions may differ from FK of their joint_pos on the reference G1 by at
#: most this [m] (float32 storage and small model differences stay far below; a file whose
#: bodies or joints are in another order, e.g. Isaac Lab's breadth-first order, is off by
#: tens of centimetres).
BEYONDMIMIC_FK_TOLERANCE = 0.02
#: FK consistency is checked on at most this many evenly spaced frames (cost ~50 us/frame).
BEYONDMIMIC_FK_CHECK_FRAMES = 200


def read(path: Path, fps: float | None = None, **_: Any) -> RobotMotion:
    """A RobotMotion from a BeyondMimic npz (root from body 0, bodies checked by FK)."""
    data = read_npz(path)
    rc.require_keys(data, BEYONDMIMIC_REQUIRED_KEYS, "BeyondMimic/mjlab motion", path)
    file_fps = rc.stored_fps(data["fps"], fps, path)
    joint_pos = rc.joint_columns("joint_pos", data["joint_pos"], path)
    n = joint_pos.shape[0]
    body_pos = rc.numeric("body_pos_w", data["body_pos_w"], path)
    body_quat = rc.numeric("body_quat_w", data["body_quat_w"], path)
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
            arr = rc.numeric(key, data[key], path)
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
    motion = rc.make_motion(
        path,
        file_fps,
        body_pos[:, 0],
        body_quat[:, 0],
        joint_pos,
        {"format": "beyondmimic"},
    )
    _check_fk(motion, body_pos, path)
    return motion


def _check_fk(motion: RobotMotion, body_pos: np.ndarray, path: Path) -> None:
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


def write(motion: RobotMotion, path: Path, **_: Any) -> None:
    """Write the BeyondMimic npz of ``motion`` (FK bodies and velocities, float32)."""
    # float32, as BeyondMimic's and mjlab's own csv_to_npz write them; fps as a 1-array.
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    rc.savez(
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
