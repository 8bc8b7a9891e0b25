"""The IK model of ``gmr``: the reference G1, optionally with GMR's tightened joint ranges.

GMR runs on its own G1 file (``g1_mocap_29dof.xml``), whose kinematics are the reference G1's but
whose ranges are tightened on 15 joints. Those ranges are facts of the published method; here they
are applied to the reference G1 with ``mujoco.MjSpec`` (nothing else of GMR's file is used: its
extra toe and head bodies carry no joints and no IK task in the LAFAN1 config).
"""

from __future__ import annotations

import functools

import mujoco
import numpy as np

from nmr_gym.errors import UnknownNameError
from nmr_gym.g1 import kinematic_model, menagerie_dir, spec

#: Joint ranges [rad] of GMR's ``g1_mocap_29dof.xml`` that differ from the reference G1 (left
#: side; the right side mirrors roll and yaw). The other 14 joints have the reference ranges.
GMR_RANGES_LEFT: dict[str, tuple[float, float]] = {
    "hip_pitch": (-1.57, 1.57),
    "hip_roll": (-0.5236, 1.57),
    "hip_yaw": (-1.57, 1.57),
    "shoulder_pitch": (-3.0892, 1.149),
    "shoulder_roll": (-0.6, 1.77),
    "shoulder_yaw": (-1.4, 2.0),
    "elbow": (-1.0472, 1.7),
}
GMR_WAIST_YAW_RANGE = (-1.57, 1.57)
#: Joints whose range flips sign on the right side.
_MIRRORED = ("hip_roll", "shoulder_roll", "shoulder_yaw")
#: Names of the ``joint_ranges`` option.
JOINT_RANGE_SETS: tuple[str, ...] = ("gmr", "reference")


def gmr_joint_ranges() -> dict[str, tuple[float, float]]:
    """Joint name -> (lower, upper) [rad] for every joint GMR's G1 file tightens."""
    out = {"waist_yaw_joint": GMR_WAIST_YAW_RANGE}
    for key, (lo, hi) in GMR_RANGES_LEFT.items():
        out[f"left_{key}_joint"] = (lo, hi)
        out[f"right_{key}_joint"] = (-hi, -lo) if key in _MIRRORED else (lo, hi)
    return out


@functools.lru_cache(maxsize=2)
def _gmr_range_model(folder: str) -> mujoco.MjModel:
    s = mujoco.MjSpec.from_file(f"{folder}/g1.xml")
    ranges = gmr_joint_ranges()
    for joint in s.joints:
        if joint.name in ranges:
            joint.range = list(ranges[joint.name])
    return s.compile()


def ik_model(joint_ranges: str = "gmr") -> mujoco.MjModel:
    """The reference G1 (``"reference"``) or it with GMR's ranges (``"gmr"``); shared, read-only."""
    if joint_ranges not in JOINT_RANGE_SETS:
        raise UnknownNameError("gmr joint_ranges", joint_ranges, JOINT_RANGE_SETS)
    if joint_ranges == "reference":
        return kinematic_model()
    model = _gmr_range_model(str(menagerie_dir()))
    assert model.njnt == spec.NUM_JOINTS + 1 and np.all(model.jnt_limited[1:])
    return model
