"""Names and numbers of the Unitree G1 29-DoF in one place.

Joint order is MuJoCo Menagerie's ``qpos[7:]`` order, which is also the Unitree / BeyondMimic CSV
order. Body order is MuJoCo's depth-first body order (``model.body(i)`` for i = 1..30), which is
the order of ``body_pos_w`` in BeyondMimic / mjlab npz files. Joint limits come from the
Menagerie ``unitree_g1`` model, motor armatures, effort limits and the PD design from
BeyondMimic's G1 configuration; the tests check them against the compiled model.
"""

from __future__ import annotations

import math

import numpy as np

NUM_JOINTS = 29
NUM_BODIES = 30  # excluding the world body

_LEG = ("hip_pitch", "hip_roll", "hip_yaw", "knee", "ankle_pitch", "ankle_roll")
_WAIST = ("waist_yaw", "waist_roll", "waist_pitch")
_ARM = (
    "shoulder_pitch",
    "shoulder_roll",
    "shoulder_yaw",
    "elbow",
    "wrist_roll",
    "wrist_pitch",
    "wrist_yaw",
)

#: The 29 hinge joints in qpos[7:] order.
JOINT_NAMES: tuple[str, ...] = (
    *(f"left_{j}_joint" for j in _LEG),
    *(f"right_{j}_joint" for j in _LEG),
    *(f"{j}_joint" for j in _WAIST),
    *(f"left_{j}_joint" for j in _ARM),
    *(f"right_{j}_joint" for j in _ARM),
)

#: The 30 bodies in MuJoCo depth-first order (world excluded).
BODY_NAMES: tuple[str, ...] = (
    "pelvis",
    *(f"left_{j}_link" for j in _LEG),
    *(f"right_{j}_link" for j in _LEG),
    *(f"{j}_link" for j in _WAIST[:2]),
    "torso_link",
    *(f"left_{j}_link" for j in _ARM),
    *(f"right_{j}_link" for j in _ARM),
)

ROOT_BODY = "pelvis"
FREE_JOINT = "floating_base_joint"

#: BeyondMimic's tracked bodies (14) and anchor body.
TRACKED_BODIES: tuple[str, ...] = (
    "pelvis",
    "left_hip_roll_link",
    "left_knee_link",
    "left_ankle_roll_link",
    "right_hip_roll_link",
    "right_knee_link",
    "right_ankle_roll_link",
    "torso_link",
    "left_shoulder_roll_link",
    "left_elbow_link",
    "left_wrist_yaw_link",
    "right_shoulder_roll_link",
    "right_elbow_link",
    "right_wrist_yaw_link",
)
ANCHOR_BODY = "torso_link"
FOOT_BODIES: tuple[str, ...] = ("left_ankle_roll_link", "right_ankle_roll_link")
HAND_BODIES: tuple[str, ...] = ("left_wrist_yaw_link", "right_wrist_yaw_link")
#: The six link bodies of each leg, pelvis side first, without the ``left_``/``right_`` prefix:
#: the hinges hip pitch, roll, yaw, knee, ankle pitch, roll (the Menagerie G1's names).
LEG_LINKS: tuple[str, ...] = (
    "hip_pitch_link",
    "hip_roll_link",
    "hip_yaw_link",
    "knee_link",
    "ankle_pitch_link",
    "ankle_roll_link",
)

# Reflected rotor inertias [kg m^2] of the G1's motors (BeyondMimic's G1 configuration).
ARMATURE_5020 = 0.003609725
ARMATURE_7520_14 = 0.010177520
ARMATURE_7520_22 = 0.025101925
ARMATURE_4010 = 0.00425

#: BeyondMimic PD design: natural frequency [rad/s] and damping ratio.
PD_NATURAL_FREQ = 2.0 * math.pi * 10.0
PD_DAMPING_RATIO = 2.0
#: Action scale = ACTION_SCALE_FACTOR * tau_max / Kp.
ACTION_SCALE_FACTOR = 0.25
#: Soft joint-limit factor used by the tracking reward's limit penalty.
SOFT_JOINT_LIMIT_FACTOR = 0.9


def _joint_kind(name: str) -> str:
    for key in ("hip_pitch", "hip_yaw", "waist_yaw"):
        if key in name:
            return "7520-14"
    for key in ("hip_roll", "knee"):
        if key in name:
            return "7520-22"
    for key in ("ankle", "waist_roll", "waist_pitch"):
        if key in name:
            return "2x5020"
    for key in ("wrist_pitch", "wrist_yaw"):
        if key in name:
            return "4010"
    return "5020"  # shoulders, elbow, wrist roll


_ARMATURE_BY_KIND = {
    "7520-14": ARMATURE_7520_14,
    "7520-22": ARMATURE_7520_22,
    "2x5020": 2.0 * ARMATURE_5020,
    "4010": ARMATURE_4010,
    "5020": ARMATURE_5020,
}
_EFFORT_BY_KIND = {"7520-14": 88.0, "7520-22": 139.0, "2x5020": 50.0, "4010": 5.0, "5020": 25.0}

#: Per-joint reflected armature [kg m^2], (29,).
ARMATURE = np.array([_ARMATURE_BY_KIND[_joint_kind(j)] for j in JOINT_NAMES])
#: Per-joint effort limit [N m], (29,).
EFFORT_LIMIT = np.array([_EFFORT_BY_KIND[_joint_kind(j)] for j in JOINT_NAMES])
#: PD stiffness Kp = I w^2 [N m/rad], (29,).
KP = ARMATURE * PD_NATURAL_FREQ**2
#: PD damping Kd = 2 zeta I w [N m s/rad], (29,).
KD = 2.0 * PD_DAMPING_RATIO * ARMATURE * PD_NATURAL_FREQ
#: Action scale [rad per unit action], (29,).
ACTION_SCALE = ACTION_SCALE_FACTOR * EFFORT_LIMIT / KP

_R = {  # (lower, upper) [rad] of the left side and centre joints (Menagerie unitree_g1)
    "hip_pitch": (-2.5307, 2.8798),
    "hip_roll": (-0.5236, 2.9671),
    "hip_yaw": (-2.7576, 2.7576),
    "knee": (-0.087267, 2.8798),
    "ankle_pitch": (-0.87267, 0.5236),
    "ankle_roll": (-0.2618, 0.2618),
    "waist_yaw": (-2.618, 2.618),
    "waist_roll": (-0.52, 0.52),
    "waist_pitch": (-0.52, 0.52),
    "shoulder_pitch": (-3.0892, 2.6704),
    "shoulder_roll": (-1.5882, 2.2515),
    "shoulder_yaw": (-2.618, 2.618),
    "elbow": (-1.0472, 2.0944),
    "wrist_roll": (-1.972222054, 1.972222054),
    "wrist_pitch": (-1.614429558, 1.614429558),
    "wrist_yaw": (-1.614429558, 1.614429558),
}
_MIRRORED = ("hip_roll", "shoulder_roll")


def _range(name: str) -> tuple[float, float]:
    base = name.removeprefix("left_").removeprefix("right_").removesuffix("_joint")
    lo, hi = _R[base]
    if name.startswith("right_") and base in _MIRRORED:
        return -hi, -lo
    return lo, hi


#: Nominal joint ranges [rad], (29, 2); tests check them against the compiled model, which is
#: the source of truth (use ``g1_joint_ranges(model)`` in code that has a model).
JOINT_RANGES = np.array([_range(j) for j in JOINT_NAMES])

#: The Menagerie ``stand`` keyframe joint positions [rad], (29,).
STAND_JOINT_POS = np.zeros(NUM_JOINTS)
for _side, _sign in (("left", 1.0), ("right", -1.0)):
    STAND_JOINT_POS[JOINT_NAMES.index(f"{_side}_shoulder_pitch_joint")] = 0.2
    STAND_JOINT_POS[JOINT_NAMES.index(f"{_side}_shoulder_roll_joint")] = 0.2 * _sign
    STAND_JOINT_POS[JOINT_NAMES.index(f"{_side}_elbow_joint")] = 1.28
STAND_ROOT_HEIGHT = 0.79  # [m], pelvis height of the ``stand`` keyframe
#: Standing height of the Unitree G1 [m] (Unitree's specification: 1320 mm): the scale between a
#: human and the robot (MPJPE's keypoint scaling, NMR's flight-height ceiling).
STANDING_HEIGHT_M = 1.32

#: Default joint positions [rad], (29,): BeyondMimic's G1 initial pose (slightly bent knees,
#: arms down), inside the soft joint limits. The tracking env's action offset and the origin of
#: its ``joint_pos`` observation.
DEFAULT_JOINT_POS = np.zeros(NUM_JOINTS)
for _side, _sign in (("left", 1.0), ("right", -1.0)):
    for _joint, _value in (
        ("hip_pitch", -0.312),
        ("knee", 0.669),
        ("ankle_pitch", -0.363),
        ("elbow", 0.6),
        ("shoulder_pitch", 0.2),
        ("shoulder_roll", 0.2 * _sign),
    ):
        DEFAULT_JOINT_POS[JOINT_NAMES.index(f"{_side}_{_joint}_joint")] = _value
DEFAULT_JOINT_POS.flags.writeable = False


def joint_index(name: str) -> int:
    """Index of a joint in the 29-vector; raises with the valid names when unknown."""
    from nmr_gym.errors import UnknownNameError

    try:
        return JOINT_NAMES.index(name)
    except ValueError:
        raise UnknownNameError("G1 joint", name, JOINT_NAMES) from None


def body_index(name: str) -> int:
    """Index of a body in the 30 body arrays (depth-first); raises with the valid names."""
    from nmr_gym.errors import UnknownNameError

    try:
        return BODY_NAMES.index(name)
    except ValueError:
        raise UnknownNameError("G1 body", name, BODY_NAMES) from None


TRACKED_BODY_INDICES = np.array([BODY_NAMES.index(b) for b in TRACKED_BODIES])
ANCHOR_BODY_INDEX = BODY_NAMES.index(ANCHOR_BODY)
