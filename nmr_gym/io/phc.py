"""The PHC / ASAP joblib motion pickle (``.pkl``), read only (trusted files only).

A dict ``{clip: {root_trans_offset, root_rot (xyzw), dof, fps, ...}}`` holding one clip. The
23-DoF G1 variant ASAP uses is refused with a clear error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nmr_gym import rotations as rot
from nmr_gym.errors import MotionFormatError
from nmr_gym.g1 import spec
from nmr_gym.io import _robot_common as rc
from nmr_gym.motion.robot import RobotMotion

PHC_REQUIRED_KEYS = ("root_trans_offset", "root_rot", "dof", "fps")


def read_clip(path: Path, clip: dict, name: str, fps: float | None) -> RobotMotion:
    rc.require_keys(clip, PHC_REQUIRED_KEYS, "PHC motion", path)
    dof = rc.numeric("dof", clip["dof"], path)
    if dof.ndim == 2 and dof.shape[1] == rc.G1_23DOF_COLUMNS:
        raise MotionFormatError(
            "is a 23-DoF G1 PHC/ASAP motion (dof has 23 columns: g1_29dof_anneal_23dof, "
            "wrists locked), not the 29-DoF G1 nmr-gym uses; retarget its source motion "
            "instead",
            path,
        )
    if dof.ndim != 2 or dof.shape[1] != spec.NUM_JOINTS:
        rc.columns_error("dof", dof, path, "29 G1 joints")
    file_fps = rc.fps_value(clip["fps"], path)
    rc.check_fps_argument(fps, file_fps, path)
    root_rot = rc.numeric("root_rot", clip["root_rot"], path)
    if root_rot.ndim != 2 or root_rot.shape[1] != 4:
        raise MotionFormatError(f"root_rot has shape {root_rot.shape}, expected (T, 4)", path)
    return rc.make_motion(
        path,
        file_fps,
        clip["root_trans_offset"],
        rot.xyzw_to_wxyz(root_rot),
        dof,
        {"format": "phc", "name": name} if name else {"format": "phc"},
    )


def read(path: Path, trusted: bool = False, fps: float | None = None, **_: Any) -> RobotMotion:
    data = rc.unpickle(path, trusted, "PHC/ASAP joblib", use_joblib=True)
    if isinstance(data, dict) and "dof" in data:
        return read_clip(path, data, "", fps)
    if not isinstance(data, dict) or not data:
        raise MotionFormatError("is not a PHC motion dict {clip name: clip}", path)
    if len(data) != 1:
        raise MotionFormatError(
            f"holds {len(data)} PHC clips; nmr-gym reads one motion per file", path
        )
    name, clip = next(iter(data.items()))
    if not isinstance(clip, dict):
        raise MotionFormatError("is not a PHC motion dict {clip name: clip}", path)
    return read_clip(path, clip, str(name), fps)
