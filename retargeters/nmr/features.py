"""NMR's per-frame features in nmr-gym's conventions (NMR paper section III-C).

The NMR release works at 30 fps, Y-up, with bodies and joints in IsaacLab's breadth-first order.
nmr-gym keeps the same feature groups and sizes (140 in, 217 out per frame) in its own
conventions: z up, G1 bodies in MuJoCo depth-first order (``nmr_gym.g1.spec.BODY_NAMES``),
joints in Menagerie order (``spec.JOINT_NAMES``), humans on SMPL's first 22 (body) joints.

Input, per frame (140):
    root_vel_xy   (2)   pelvis xy displacement since the previous frame [m/frame] (0 at frame 0)
    root_rot_6d   (6)   pelvis facing rotation (pelvis ⊗ rest⁻¹: identity = upright facing +x)
                        as the first two rotation-matrix columns
    joint_pos     (66)  22 joints: x, y relative to the same frame's pelvis, z above the clip's
                        lowest joint [m]
    joint_vel     (66)  frame differences of the 22 joint positions [m/frame] (0 at frame 0)

Output, per frame (217):
    root_vel_xy   (2)   G1 pelvis xy displacement [m/frame]
    root_rot_6d   (6)   G1 pelvis rotation
    body_pos      (90)  30 bodies: x, y relative to the pelvis, z above the floor [m]
    body_vel      (90)  frame differences of the body positions [m/frame]
    joint_pos     (29)  joint angles [rad]

Every window is yaw-canonicalised (as the release): rotated about z so the human pelvis faces
+x at the window's first frame and translated so the pelvis starts at x = y = 0. The same
transform applies to the robot targets, and inference undoes it.

Body size: the release builds every human with one fixed body shape. nmr-gym keeps the
measured skeleton and instead scales every human position by
``REFERENCE_HEIGHT_M / human.height`` before the features (a uniform scale about the world
origin), so a tall and a short person doing the same motion give the same input. The targets
(G1 motion) are not scaled: the kinematic retargeters that make the training pairs scale the
human to the G1 themselves, so their output is already (nearly) independent of human size.
"""

from __future__ import annotations

import numpy as np

from nmr_gym import rotations as rot
from nmr_gym.g1 import spec
from nmr_gym.skeleton import DEFAULT_HEIGHT, REST_QUAT_FACING_X, SMPL_JOINT_NAMES

#: Frame rate the network works at [Hz] (the NMR release's rate).
NMR_FPS = 30.0
#: Human joints used as input: SMPL's 22 body joints (hands dropped, as the release).
HUMAN_JOINTS: tuple[str, ...] = SMPL_JOINT_NAMES[:22]
NUM_HUMAN_JOINTS = len(HUMAN_JOINTS)
#: Human height [m] every human is scaled to before the features (nmr-gym's choice, see above).
REFERENCE_HEIGHT_M = DEFAULT_HEIGHT

IN_GROUPS: tuple[tuple[str, int], ...] = (
    ("root_vel_xy", 2),
    ("root_rot_6d", 6),
    ("joint_pos", 3 * NUM_HUMAN_JOINTS),
    ("joint_vel", 3 * NUM_HUMAN_JOINTS),
)
OUT_GROUPS: tuple[tuple[str, int], ...] = (
    ("root_vel_xy", 2),
    ("root_rot_6d", 6),
    ("body_pos", 3 * spec.NUM_BODIES),
    ("body_vel", 3 * spec.NUM_BODIES),
    ("joint_pos", spec.NUM_JOINTS),
)
IN_DIM = sum(n for _, n in IN_GROUPS)  # 140
OUT_DIM = sum(n for _, n in OUT_GROUPS)  # 217

#: Everything a checkpoint's network depends on; a checkpoint whose layout differs is refused.
LAYOUT: dict = {
    "version": "nmr-gym/features-1",
    "fps": NMR_FPS,
    "up_axis": "z",
    "in_groups": [list(g) for g in IN_GROUPS],
    "out_groups": [list(g) for g in OUT_GROUPS],
    "human_joints": list(HUMAN_JOINTS),
    "body_names": list(spec.BODY_NAMES),
    "joint_names": list(spec.JOINT_NAMES),
    "reference_height_m": REFERENCE_HEIGHT_M,
}


def group_slices(groups: tuple[tuple[str, int], ...]) -> dict[str, slice]:
    """Name -> slice of each feature group in the feature vector."""
    out, start = {}, 0
    for name, n in groups:
        out[name] = slice(start, start + n)
        start += n
    return out


IN_SLICES = group_slices(IN_GROUPS)
OUT_SLICES = group_slices(OUT_GROUPS)
_REST_INV = rot.conjugate(REST_QUAT_FACING_X)


def facing_quat(pelvis_quat: np.ndarray) -> np.ndarray:
    """Pelvis orientation in 'facing' form (..., 4): identity when upright facing +x."""
    return rot.multiply(pelvis_quat, _REST_INV)


def heading_yaw(pelvis_quat: np.ndarray) -> np.ndarray:
    """Heading [rad] (...,) of a human pelvis orientation (SMPL joint-frame convention)."""
    fwd = rot.rotate(
        facing_quat(pelvis_quat), np.broadcast_to([1.0, 0.0, 0.0], (*pelvis_quat.shape[:-1], 3))
    )
    return np.arctan2(fwd[..., 1], fwd[..., 0])


def yaw_to_quat(yaw: np.ndarray) -> np.ndarray:
    """Quaternions (..., 4) of rotations by ``yaw`` [rad] about world z."""
    z = np.zeros_like(yaw)
    return np.stack([np.cos(yaw / 2), z, z, np.sin(yaw / 2)], axis=-1)


def rotate_xy(v: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """Rotate the x, y components of ``v`` (B, ..., >=2) by ``yaw`` (B,) [rad] about z."""
    c = np.cos(yaw).reshape((-1,) + (1,) * (v.ndim - 2))
    s = np.sin(yaw).reshape((-1,) + (1,) * (v.ndim - 2))
    out = v.copy()
    out[..., 0] = c * v[..., 0] - s * v[..., 1]
    out[..., 1] = s * v[..., 0] + c * v[..., 1]
    return out


def canonical_frame(
    pelvis_pos: np.ndarray, pelvis_quat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Yaw (B,) [rad] and xy origin (B, 2) [m] of each window from its first human frame.

    Args:
        pelvis_pos: (B, T, 3) human pelvis positions; pelvis_quat: (B, T, 4).
    """
    return heading_yaw(pelvis_quat[:, 0]), pelvis_pos[:, 0, :2].copy()


def to_canonical_pos(pos: np.ndarray, yaw: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """World positions (B, T, ..., 3) -> the window's canonical frame."""
    o = origin.reshape((origin.shape[0],) + (1,) * (pos.ndim - 2) + (2,))
    # rotate_xy of the shifted positions (in pos's dtype), written without its two full copies
    x = (pos[..., 0] - o[..., 0]).astype(pos.dtype, copy=False)
    y = (pos[..., 1] - o[..., 1]).astype(pos.dtype, copy=False)
    c = np.cos(-yaw).reshape((-1,) + (1,) * (pos.ndim - 2))
    s = np.sin(-yaw).reshape((-1,) + (1,) * (pos.ndim - 2))
    out = np.empty(pos.shape, pos.dtype)
    out[..., 0] = c * x - s * y
    out[..., 1] = s * x + c * y
    out[..., 2:] = pos[..., 2:]
    return out


def to_canonical_quat(q: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """World orientations (B, T, ..., 4) -> the window's canonical frame."""
    qy = yaw_to_quat(-yaw).reshape((yaw.shape[0],) + (1,) * (q.ndim - 2) + (4,))
    return rot.multiply(qy, q)


def _frame_diff(x: np.ndarray) -> np.ndarray:
    """x[t] - x[t-1] along axis 1, 0 at frame 0."""
    d = np.zeros_like(x)
    d[:, 1:] = x[:, 1:] - x[:, :-1]
    return d


def human_features(
    joint_pos: np.ndarray, pelvis_quat: np.ndarray, floor_z: np.ndarray
) -> np.ndarray:
    """Input features (B, T, 140) of canonical, height-scaled human windows.

    Args:
        joint_pos: (B, T, 22, 3) joint positions [m], canonical frame, already scaled.
        pelvis_quat: (B, T, 4) pelvis orientations (SMPL joint-frame convention), canonical.
        floor_z: (B,) the clip's lowest joint height [m] (same scaling).
    """
    b, t, n = joint_pos.shape[:3]
    # Each group is computed in float64 and written straight into the float32 output (the
    # same rounding as concatenating in float64 and converting, without the float64 copy).
    out = np.empty((b, t, 8 + 6 * n), np.float32)
    root = joint_pos[:, :, 0]
    out[..., 0:2] = _frame_diff(root[..., :2])
    out[..., 2:8] = rot.to_6d(facing_quat(pelvis_quat))
    ref = np.empty((b, t, 1, 3))  # per frame: pelvis x, y and the clip's floor height
    ref[..., :2] = root[:, :, None, :2]
    ref[..., 2] = np.asarray(floor_z, dtype=float)[:, None, None]
    out[..., 8 : 8 + 3 * n] = (joint_pos - ref).reshape(b, t, -1)
    out[..., 8 + 3 * n :] = _frame_diff(joint_pos).reshape(b, t, -1)
    return out


def robot_features(qpos: np.ndarray, body_pos: np.ndarray) -> np.ndarray:
    """Output features (B, T, 217) of canonical G1 windows.

    Args:
        qpos: (B, T, 36) root position, root quaternion (wxyz), 29 joints; canonical frame.
        body_pos: (B, T, 30, 3) body origins [m], canonical frame (floor at z = 0).
    """
    b, t = qpos.shape[:2]
    root = qpos[..., :3]
    root_vel = _frame_diff(root[..., :2])
    r6d = rot.to_6d(qpos[..., 3:7])
    rel = body_pos.copy()
    rel[..., :2] -= root[:, :, None, :2]
    vel = _frame_diff(body_pos)
    return np.concatenate(
        [root_vel, r6d, rel.reshape(b, t, -1), vel.reshape(b, t, -1), qpos[..., 7:]], axis=-1
    ).astype(np.float32)


def matrix_from_6d(d6: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) from 6D features (first two columns, Gram-Schmidt)."""
    m = d6.reshape(*d6.shape[:-1], 3, 2)
    a, b = m[..., 0], m[..., 1]
    x = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-8)
    b = b - np.sum(x * b, axis=-1, keepdims=True) * x
    y = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-8)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=-1)


def quat_from_6d(d6: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4), wxyz, from 6D features."""
    return rot.from_matrix(matrix_from_6d(d6))


def rotate_6d_yaw(d6: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """6D rotations (B, T, 6) expressed in a frame rotated by ``yaw`` (B,): R -> Rz(yaw) R."""
    m = d6.reshape(*d6.shape[:-1], 3, 2)
    cols = np.swapaxes(m, -1, -2)  # (B, T, 2, 3): the two columns as vectors
    cols = rotate_xy(cols, yaw)
    return np.swapaxes(cols, -1, -2).reshape(d6.shape)


def scale_of(height: np.ndarray | float) -> np.ndarray:
    """Scale factor(s) that bring a human of ``height`` [m] to ``REFERENCE_HEIGHT_M``."""
    return REFERENCE_HEIGHT_M / np.asarray(height, dtype=float)


def window_features(
    human_pos: np.ndarray,
    pelvis_quat: np.ndarray,
    height: np.ndarray,
    floor_z: np.ndarray,
    robot_qpos: np.ndarray | None = None,
    robot_body_pos: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """Features of world-frame windows: (x (B, T, 140), y (B, T, 217) or None, yaw, origin).

    Args:
        human_pos: (B, T, 22, 3) human joint positions [m], world frame, unscaled.
        pelvis_quat: (B, T, 4) human pelvis orientations.
        height: (B,) human heights [m].
        floor_z: (B,) the clip's lowest joint height [m], unscaled.
        robot_qpos: (B, T, 36) and robot_body_pos (B, T, 30, 3): the paired G1 motion (training).

    The canonical frame (yaw, origin) is taken from the scaled human; the robot uses the same
    yaw and the unscaled origin (the pelvis xy of the human at the window's first frame), so
    undoing it at inference restores the robot to the human's start position.
    """
    s = scale_of(height).reshape(-1, 1, 1, 1)
    pos = human_pos * s
    yaw, origin = canonical_frame(pos[:, :, 0], pelvis_quat)
    x = human_features(
        to_canonical_pos(pos, yaw, origin),
        to_canonical_quat(pelvis_quat, yaw),
        np.asarray(floor_z, dtype=float) * s.reshape(-1),
    )
    origin_world = origin / s.reshape(-1, 1)
    y = None
    if robot_qpos is not None:
        q = robot_qpos.copy()
        q[..., :3] = to_canonical_pos(robot_qpos[..., :3], yaw, origin_world)
        q[..., 3:7] = to_canonical_quat(robot_qpos[..., 3:7], yaw)
        bp = to_canonical_pos(robot_body_pos, yaw, origin_world)
        y = robot_features(q, bp)
    return x, y, yaw, origin_world
