"""The GMR G1 motion pickle (``.pkl``), read (trusted files only) and written.

A dict ``fps``, ``root_pos`` (T, 3), ``root_rot`` (T, 4, **xyzw**), ``dof_pos`` (T, 29), plus
``local_body_pos`` and ``link_body_list`` (unused; written as None, as GMR's own writer does).
A pickle runs code when loaded, so it is read only with ``trusted=True``.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from nmr_gym import rotations as rot
from nmr_gym.errors import MotionFormatError
from nmr_gym.io import _robot_common as rc
from nmr_gym.io.phc import read_clip
from nmr_gym.motion.robot import RobotMotion

GMR_REQUIRED_KEYS = ("fps", "root_pos", "root_rot", "dof_pos")


def read(path: Path, trusted: bool = False, fps: float | None = None, **_: Any) -> RobotMotion:
    """A RobotMotion from a trusted GMR pickle (a PHC dict in a .pkl is read too)."""
    data = rc.unpickle(path, trusted, "GMR")
    if not isinstance(data, dict):
        raise MotionFormatError(
            f"is not a GMR motion: the pickle holds a {type(data).__name__}, not a dict", path
        )
    if "dof" in data and "root_trans_offset" in data:
        return read_clip(path, data, "", fps)
    rc.require_keys(data, GMR_REQUIRED_KEYS, "GMR motion", path)
    file_fps = rc.stored_fps(data["fps"], fps, path)
    dof = rc.joint_columns("dof_pos", data["dof_pos"], path)
    root_quat = rc.xyzw_as_wxyz("root_rot", data["root_rot"], path)
    return rc.make_motion(path, file_fps, data["root_pos"], root_quat, dof, {"format": "gmr"})


def write(motion: RobotMotion, path: Path, **_: Any) -> None:
    """Write ``motion`` as a GMR pickle (protocol 4, root_rot xyzw)."""
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
