"""Observation terms of the BeyondMimic tracking MDP and the NMR paper's expert observation.

Layouts are lists of ``(name, size)``; :func:`slices` turns one into named slices. Every term
function is pure numpy on one environment's arrays (bodies vectorised, no Python loops).
"""

from __future__ import annotations

import numpy as np

from nmr_gym.g1 import spec

NJ = spec.NUM_JOINTS
NB = len(spec.TRACKED_BODIES)

#: Actor observation (160), BeyondMimic order.
ACTOR_LAYOUT: tuple[tuple[str, int], ...] = (
    ("command", 2 * NJ),  # reference joint_pos (29) then joint_vel (29)
    ("motion_anchor_pos_b", 3),  # reference anchor position in the robot anchor frame [m]
    ("motion_anchor_ori_b", 6),  # reference anchor orientation in the robot anchor frame (6D)
    ("base_lin_vel", 3),  # pelvis linear velocity, pelvis frame [m/s]
    ("base_ang_vel", 3),  # pelvis angular velocity, pelvis frame [rad/s]
    ("joint_pos", NJ),  # joint positions minus the default joint positions [rad]
    ("joint_vel", NJ),  # joint velocities [rad/s]
    ("actions", NJ),  # last action
)
#: Privileged critic observation (286): no noise, plus the robot's tracked bodies in the robot
#: anchor frame.
CRITIC_LAYOUT: tuple[tuple[str, int], ...] = (
    ("command", 2 * NJ),
    ("motion_anchor_pos_b", 3),
    ("motion_anchor_ori_b", 6),
    ("body_pos", 3 * NB),  # robot tracked-body positions, robot anchor frame [m]
    ("body_ori", 6 * NB),  # robot tracked-body orientations, robot anchor frame (6D)
    ("base_lin_vel", 3),
    ("base_ang_vel", 3),
    ("joint_pos", NJ),
    ("joint_vel", NJ),
    ("actions", NJ),
)
#: The NMR paper's expert observation (its Table I, 509), world-frame bodies, quaternions wxyz.
NMR_LAYOUT: tuple[tuple[str, int], ...] = (
    ("ref_joint_pos", NJ),
    ("ref_joint_vel", NJ),
    ("ref_body_pos_w", 3 * NB),
    ("ref_body_lin_vel_w", 3 * NB),
    ("ref_body_quat_w", 4 * NB),
    ("ref_body_ang_vel_w", 3 * NB),
    ("body_pos_w", 3 * NB),
    ("body_lin_vel_w", 3 * NB),
    ("body_quat_w", 4 * NB),
    ("body_ang_vel_w", 3 * NB),
    ("joint_pos", NJ),  # relative to the default joint positions
    ("joint_vel", NJ),
    ("actions", NJ),
)

# BeyondMimic's uniform observation noise half-widths (actor only).
ANCHOR_POS_NOISE = 0.25  # [m]
ANCHOR_ORI_NOISE = 0.05
BASE_LIN_VEL_NOISE = 0.5  # [m/s]
BASE_ANG_VEL_NOISE = 0.2  # [rad/s]
JOINT_POS_NOISE = 0.01  # [rad]
JOINT_VEL_NOISE = 0.5  # [rad/s]


def size(layout: tuple[tuple[str, int], ...]) -> int:
    return sum(n for _, n in layout)


def slices(layout: tuple[tuple[str, int], ...]) -> dict[str, slice]:
    """Name -> slice of each term in a flat observation of ``layout``."""
    out, i = {}, 0
    for name, n in layout:
        out[name] = slice(i, i + n)
        i += n
    return out


def noise_scale(layout: tuple[tuple[str, int], ...], noise: dict[str, float]) -> np.ndarray:
    """Per-entry uniform-noise half-width for ``layout`` (0 for terms without noise)."""
    scale = np.zeros(size(layout))
    for name, sl in slices(layout).items():
        scale[sl] = noise.get(name, 0.0)
    return scale


def anchor_pos_b(robot_mat: np.ndarray, robot_pos: np.ndarray, ref_pos: np.ndarray) -> np.ndarray:
    """Reference anchor position in the robot anchor frame, (3,)."""
    return (ref_pos - robot_pos) @ robot_mat


def anchor_ori_b(robot_mat: np.ndarray, ref_mat: np.ndarray) -> np.ndarray:
    """First two columns of R_robot^T R_ref, row-major (6,)."""
    return (robot_mat.T @ ref_mat)[:, :2].ravel()


def bodies_in_anchor_frame(
    anchor_mat: np.ndarray, anchor_pos: np.ndarray, body_pos: np.ndarray, body_mat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Body positions (B*3,) and 6D orientations (B*6,) expressed in an anchor frame.

    ``body_mat`` is (B, 9) or (B, 3, 3) world rotation matrices.
    """
    pos_b = (body_pos - anchor_pos) @ anchor_mat
    rel = np.matmul(anchor_mat.T, body_mat.reshape(-1, 3, 3))
    return pos_b.ravel(), rel[:, :, :2].ravel()
