"""The PHC / ASAP joblib motion pickle (``.pkl``), read only (trusted files only).

A dict ``{clip: {root_trans_offset, root_rot (xyzw), dof, fps, ...}}`` holding one clip. The
23-DoF G1 variant ASAP uses is refused with a clear error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nmr_gym.errors import MotionFormatError
from nmr_gym.io import _robot_common as rc
from nmr_gym.motion.robot import RobotMotion

PHC_REQUIRED_KEYS = ("root_trans_offset", "root_rot", "dof", "fps")


def read_clip(path: Path, clip: dict, name: str, fps: float | None) -> RobotMotion:
    """A RobotMotion from one PHC clip dict (``name``: its key in the file, or '')."""
    rc.require_keys(clip, PHC_REQUIRED_KEYS, "PHC motion", path)
    dof = rc.numeric("dof", clip["dof"], path)
    if dof.ndim == 2 and dof.shape[1] == rc.G1_23DOF_COLUMNS:
        raise MotionFormatError(
            "is a 23-DoF G1 PHC/ASAP motion (dof has 23 columns: g1_29dof_anneal_23dof, "
            "wrists locked), not the 29-DoF G1 nmr-gym uses; retarget its source motion "
            "instead",
            path,
        )
    dof = rc.joint_columns("dof", dof, path)
    file_fps = rc.stored_fps(clip["fps"], fps, path)
    return rc.make_motion(
        path,
        file_fps,
        clip["root_trans_offset"],
        rc.xyzw_as_wxyz("root_rot", clip["root_rot"], path),
        dof,
        {"format": "phc", "name": name} if name else {"format": "phc"},
    )


def read(path: Path, trusted: bool = False, fps: float | None = None, **_: Any) -> RobotMotion:
    """A RobotMotion from a trusted PHC / ASAP joblib pickle holding one clip."""
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
