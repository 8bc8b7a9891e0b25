"""The canonical human skeleton: SMPL's 24 joints, their tree, and a built-in rest skeleton.

Conventions used by every human motion in nmr-gym (``HumanMotion``):

- World frame: z up, metres, the floor at z = 0.
- Joint frames follow SMPL: in the rest T-pose every joint frame has x pointing to the body's
  left, y up and z forward. A human standing in the T-pose facing world +x therefore has every
  joint orientation equal to :data:`REST_QUAT_FACING_X` = (0.5, 0.5, 0.5, 0.5) (wxyz).
- Local rotations (SMPL pose parameters) act in the parent's frame:
  ``q_world[j] = q_world[parent] ⊗ q_local[j]`` and
  ``p_world[j] = p_world[parent] + R(q_world[parent]) · offset[j]``.

When the user has no SMPL model files, :func:`rest_offsets` gives a built-in skeleton with
SMPL's topology whose segment lengths are fractions of body height from published
anthropometric tables (Drillis & Contini 1966, as tabulated in Winter, *Biomechanics and Motor
Control of Human Movement*, 4th ed., 2009, Fig. 4.1). Joint centres that such tables do not
give directly (hip-joint spacing, spine subdivision, SMPL's foot joint at the ball of the foot)
are placed from the same table's landmark heights; each number is documented below.
"""

from __future__ import annotations

import functools

import numpy as np

from nmr_gym import rotations as rot

SMPL_JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hand",
    "right_hand",
)
#: Parent index of each joint (-1 for the root).
SMPL_PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21,
)  # fmt: skip
NUM_JOINTS = len(SMPL_JOINT_NAMES)

#: Orientation (wxyz) of every joint frame of a T-pose facing world +x, z up.
REST_QUAT_FACING_X = np.array([0.5, 0.5, 0.5, 0.5])
#: Rotation from SMPL's y-up body/world convention to nmr-gym's z-up world (x fwd kept as z).
Y_UP_TO_Z_UP = np.array([np.sqrt(0.5), np.sqrt(0.5), 0.0, 0.0])  # +90 deg about x

DEFAULT_HEIGHT = 1.70  # [m], the built-in skeleton's height when none is known
#: Standing height of the ankle joint above the floor, fraction of stature (Winter's
#: anthropometric table: 0.039 H).
ANKLE_HEIGHT_FRACTION = 0.039
#: Standing height of SMPL's foot joint (ball of the foot) above the floor, fraction of
#: stature: 0.3 of the ankle's, where the built-in skeleton places it.
BALL_HEIGHT_FRACTION = 0.3 * ANKLE_HEIGHT_FRACTION

# Segment lengths and landmark heights as fractions of stature H (Drillis & Contini via Winter):
_UPPER_ARM = 0.186  # shoulder -> elbow
_FOREARM = 0.146  # elbow -> wrist
_HAND = 0.108  # wrist -> fingertip; SMPL's hand joint sits near the knuckles, at half of it
_THIGH = 0.245  # hip (greater trochanter) -> knee
_SHANK = 0.246  # knee -> ankle
_FOOT_LENGTH = 0.152
_SHOULDER_WIDTH = 0.259  # acromion to acromion
_HIP_HEIGHT = 0.530  # greater trochanter height
_SHOULDER_HEIGHT = 0.818  # acromion height
_CHIN_HEIGHT = 0.870
# Joint placements not tabulated directly (documented estimates, fractions of H):
_HIP_JOINT_HALF_SPACING = 0.050  # half distance between hip-joint centres (~0.17 m at 1.70 m)
_PELVIS_ABOVE_HIPS = 0.040  # SMPL's pelvis joint sits slightly above the hip-joint centres
_FOOT_JOINT_FWD = 0.45 * _FOOT_LENGTH  # ankle -> ball of the foot, forward
_COLLAR_HALF_SPACING = 0.020  # sterno-clavicular joints beside the spine
_HEAD_ABOVE_CHIN = 0.025  # SMPL's head joint (head-neck rotation centre) above chin height


def _offsets_unit() -> np.ndarray:
    """Rest offsets of each joint from its parent for H = 1, in SMPL's body frame (24, 3).

    Axes: x to the body's left, y up, z forward; T-pose with arms along +-x.
    """
    o = np.zeros((NUM_JOINTS, 3))
    idx = {n: i for i, n in enumerate(SMPL_JOINT_NAMES)}
    pelvis_h = _HIP_HEIGHT + _PELVIS_ABOVE_HIPS
    neck_h = _SHOULDER_HEIGHT + 0.02
    spine = neck_h - pelvis_h  # pelvis -> neck, split over spine1..3 and neck like SMPL
    for side, s in (("left", 1.0), ("right", -1.0)):
        o[idx[f"{side}_hip"]] = (s * _HIP_JOINT_HALF_SPACING, -_PELVIS_ABOVE_HIPS, 0.0)
        o[idx[f"{side}_knee"]] = (0.0, -_THIGH, 0.0)
        o[idx[f"{side}_ankle"]] = (0.0, -_SHANK, 0.0)
        o[idx[f"{side}_foot"]] = (0.0, -0.7 * ANKLE_HEIGHT_FRACTION, _FOOT_JOINT_FWD)
        o[idx[f"{side}_collar"]] = (s * _COLLAR_HALF_SPACING, 0.12 * spine, 0.0)
        o[idx[f"{side}_shoulder"]] = (
            s * (0.5 * _SHOULDER_WIDTH - _COLLAR_HALF_SPACING),
            _SHOULDER_HEIGHT - (pelvis_h + 0.88 * spine),
            0.0,
        )
        o[idx[f"{side}_elbow"]] = (s * _UPPER_ARM, 0.0, 0.0)
        o[idx[f"{side}_wrist"]] = (s * _FOREARM, 0.0, 0.0)
        o[idx[f"{side}_hand"]] = (s * 0.5 * _HAND, 0.0, 0.0)
    o[idx["spine1"]] = (0.0, 0.25 * spine, 0.0)
    o[idx["spine2"]] = (0.0, 0.30 * spine, 0.0)
    o[idx["spine3"]] = (0.0, 0.12 * spine, 0.0)
    o[idx["neck"]] = (0.0, 0.33 * spine, 0.0)
    o[idx["head"]] = (0.0, _CHIN_HEIGHT + _HEAD_ABOVE_CHIN - neck_h, 0.0)
    return o


def rest_offsets(height: float = DEFAULT_HEIGHT) -> np.ndarray:
    """Built-in rest offsets [m] (24, 3) of each joint from its parent, SMPL body frame."""
    if not np.isfinite(height) or not 0.5 <= height <= 2.5:
        raise ValueError(f"human height must be in [0.5, 2.5] m, got {height}")
    return _offsets_unit() * float(height)


def rest_pelvis_height(height: float = DEFAULT_HEIGHT) -> float:
    """Height [m] of the pelvis joint above the floor in the built-in rest T-pose."""
    o = rest_offsets(height)
    leg = o[1] + o[4] + o[7] + o[10]  # pelvis -> left foot (ball), y component is negative
    return float(-leg[1] + BALL_HEIGHT_FRACTION * height)


@functools.lru_cache(maxsize=32)
def depth_levels(parents: tuple[int, ...]) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """(joints, their parents) at each depth 1, 2, ... of a kinematic tree given by parent
    indices (roots: -1; parents before children), so that forward kinematics can place all
    joints of one depth at once."""
    depth = [0] * len(parents)
    for j, par in enumerate(parents):
        depth[j] = depth[par] + 1 if par >= 0 else 0
    levels = []
    for d in range(1, max(depth, default=0) + 1):
        joints = np.array([j for j in range(len(parents)) if depth[j] == d])
        levels.append((joints, np.array([parents[j] for j in joints])))
    return tuple(levels)


def forward_kinematics(
    root_pos: np.ndarray,
    root_quat: np.ndarray,
    local_quat: np.ndarray,
    offsets: np.ndarray,
    parents: tuple[int, ...] = SMPL_PARENTS,
) -> tuple[np.ndarray, np.ndarray]:
    """Global joint positions and orientations of a kinematic tree.

    Args:
        root_pos: (T, 3) world position of the root joint [m].
        root_quat: (T, 4) world orientation of the root joint (wxyz).
        local_quat: (T, J, 4) local rotation of each joint in its parent's frame (the root's
            entry is ignored; ``root_quat`` is used).
        offsets: (J, 3) or (T, J, 3) rest offset of each joint from its parent [m].
        parents: parent index per joint, parents before children.

    Returns:
        positions (T, J, 3) [m, world] and orientations (T, J, 4) (wxyz, world).

    All joints of one tree depth are placed together (:func:`depth_levels`) in component-major
    arrays (:func:`nmr_gym.rotations.multiply_cm`); each joint gets the same arithmetic as in
    a joint-by-joint walk (bit-identical results).
    """
    n_frames, n_joints = local_quat.shape[:2]
    offsets = np.asarray(offsets, dtype=float)
    # component-major layout (C, J, T): every component of every joint is a contiguous row
    local_cm = np.ascontiguousarray(np.asarray(local_quat, dtype=float).transpose(2, 1, 0))
    if offsets.ndim == 2:
        offsets_cm = offsets.T[:, :, None]  # (3, J, 1)
    else:
        full = np.broadcast_to(offsets, (n_frames, n_joints, 3))
        offsets_cm = np.ascontiguousarray(full.transpose(2, 1, 0))  # (3, J, T)
    pos, quat = forward_kinematics_cm(
        np.asarray(root_pos, dtype=float).T,
        np.asarray(root_quat, dtype=float).T,
        local_cm,
        offsets_cm,
        parents,
    )
    return (
        np.ascontiguousarray(pos.transpose(2, 1, 0)),
        np.ascontiguousarray(quat.transpose(2, 1, 0)),
    )


def forward_kinematics_cm(
    root_pos: np.ndarray,
    root_quat: np.ndarray,
    local_quat: np.ndarray,
    offsets: np.ndarray,
    parents: tuple[int, ...] = SMPL_PARENTS,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`forward_kinematics` on component-major arrays: root_pos (3, T), root_quat
    (4, T), local_quat (4, J, T), offsets (3, J, 1) or (3, J, T) -> positions (3, J, T) and
    orientations (4, J, T)."""
    n_joints, n_frames = local_quat.shape[1:]
    pos = np.empty((3, n_joints, n_frames))
    quat = np.empty((4, n_joints, n_frames))
    pos[:, 0] = root_pos
    quat[:, 0] = root_quat
    for joints, pars in depth_levels(tuple(parents[:n_joints])):
        q_par = quat[:, pars]  # (4, k, T)
        pos[:, joints] = pos[:, pars] + rot.rotate_cm(q_par, offsets[:, joints])
        quat[:, joints] = rot.multiply_cm(q_par, local_quat[:, joints])
    return pos, quat


def local_rotations(joint_quat: np.ndarray, parents: tuple[int, ...] = SMPL_PARENTS) -> np.ndarray:
    """Local joint rotations (T, J, 4), each in its parent's frame, from global ones (T, J, 4).

    The inverse of :func:`forward_kinematics` for orientations; the root's entry stays its
    world orientation. All quaternions wxyz.
    """
    q = np.asarray(joint_quat, dtype=np.float64)
    local = q.copy()
    par = np.asarray(parents[1:])
    local[:, 1:] = rot.multiply(rot.conjugate(q[:, par]), q[:, 1:])
    return local
