"""Readers and writers for every motion format nmr-gym exchanges.

- Robot motion (G1): :func:`load_robot_motion` / :func:`save_robot_motion`
  (:mod:`nmr_gym.io.robot_formats`, one module per format: BeyondMimic/mjlab npz, Unitree CSV,
  GMR pickle, PHC pickle, nmr npz).
- Human motion: :func:`load_human_motion` (:mod:`nmr_gym.io.human_formats`, one module per
  format: AMASS npz, BVH, ASF/AMC, joint-position arrays), onto the canonical SMPL skeleton.
- :func:`load_motion`: either kind, decided from the file's content
  (:func:`nmr_gym.io.detect.detect`).
"""

from __future__ import annotations

import inspect
import os
from typing import Any

from nmr_gym.io.atomic import atomic_path, write_text_atomic
from nmr_gym.io.detect import detect
from nmr_gym.io.human_formats import load_human_motion
from nmr_gym.io.robot_formats import load_robot_motion, save_robot_motion

#: Keyword arguments robot readers take; the human loader gets every keyword it accepts.
ROBOT_KWARGS = frozenset({"quat_order", "fps"})


def load_motion(path: str | os.PathLike, *, trusted: bool = False, **kwargs: Any) -> Any:
    """A ``RobotMotion`` or a ``HumanMotion``, whichever :func:`detect` finds in the file.

    ``trusted`` allows pickle-based robot formats. Options that do not apply to the detected
    kind are ignored, so one set of options can be used for a mixed list of files: robot
    readers take ``quat_order`` and ``fps``; :func:`load_human_motion` takes the options it
    accepts (``fps`` included: both use it for files that store none).
    """
    kind, name = detect(path)
    if kind == "robot":
        robot_kw = {k: v for k, v in kwargs.items() if k in ROBOT_KWARGS}
        return load_robot_motion(path, name, trusted=trusted, **robot_kw)
    params = inspect.signature(load_human_motion).parameters
    human_kw = {k: v for k, v in kwargs.items() if k in params and k != "quat_order"}
    return load_human_motion(path, name, **human_kw)


__all__ = [
    "atomic_path",
    "detect",
    "load_human_motion",
    "load_motion",
    "load_robot_motion",
    "save_robot_motion",
    "write_text_atomic",
]
