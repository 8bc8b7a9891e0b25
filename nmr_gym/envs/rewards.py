"""Reward terms of the BeyondMimic tracking MDP (pure numpy, bodies vectorised).

Tracking terms are ``exp(-e / sigma^2)`` of a squared error ``e`` (body terms averaged over the
14 tracked bodies); body position/orientation targets are "re-anchored": the reference is moved
to the robot anchor's xy position and heading, keeping the reference heights. The environment
returns ``dt * sum(weight * term)``.
"""

from __future__ import annotations

import math

import numpy as np

# (sigma, weight) of the tracking terms, anchors.md section 2.
ANCHOR_POS_SIGMA, ANCHOR_POS_WEIGHT = 0.3, 0.5  # [m]
ANCHOR_ORI_SIGMA, ANCHOR_ORI_WEIGHT = 0.4, 0.5  # [rad]
BODY_POS_SIGMA, BODY_POS_WEIGHT = 0.3, 1.0  # [m]
BODY_ORI_SIGMA, BODY_ORI_WEIGHT = 0.4, 1.0  # [rad]
BODY_LIN_VEL_SIGMA, BODY_LIN_VEL_WEIGHT = 1.0, 1.0  # [m/s]
BODY_ANG_VEL_SIGMA, BODY_ANG_VEL_WEIGHT = 3.14, 1.0  # [rad/s]
# Regularisers.
ACTION_RATE_WEIGHT = -0.1
JOINT_LIMIT_WEIGHT = -10.0
UNDESIRED_CONTACT_WEIGHT = -0.1
#: A body "touches" when its contact normal force exceeds this [N].
UNDESIRED_CONTACT_FORCE = 1.0

#: Reward term names in order (info keys are ``"reward_" + name``).
REWARD_TERMS: tuple[str, ...] = (
    "anchor_pos",
    "anchor_ori",
    "body_pos",
    "body_ori",
    "body_lin_vel",
    "body_ang_vel",
    "action_rate",
    "joint_limit",
    "undesired_contacts",
)
DEFAULT_SIGMAS: dict[str, float] = {
    "anchor_pos": ANCHOR_POS_SIGMA,
    "anchor_ori": ANCHOR_ORI_SIGMA,
    "body_pos": BODY_POS_SIGMA,
    "body_ori": BODY_ORI_SIGMA,
    "body_lin_vel": BODY_LIN_VEL_SIGMA,
    "body_ang_vel": BODY_ANG_VEL_SIGMA,
}
DEFAULT_WEIGHTS: dict[str, float] = {
    "anchor_pos": ANCHOR_POS_WEIGHT,
    "anchor_ori": ANCHOR_ORI_WEIGHT,
    "body_pos": BODY_POS_WEIGHT,
    "body_ori": BODY_ORI_WEIGHT,
    "body_lin_vel": BODY_LIN_VEL_WEIGHT,
    "body_ang_vel": BODY_ANG_VEL_WEIGHT,
    "action_rate": ACTION_RATE_WEIGHT,
    "joint_limit": JOINT_LIMIT_WEIGHT,
    "undesired_contacts": UNDESIRED_CONTACT_WEIGHT,
}


def exp_kernel(err_sq: float, sigma: float) -> float:
    """exp(-e / sigma^2)."""
    return math.exp(-err_sq / (sigma * sigma))


def heading_delta(robot_anchor_mat: np.ndarray, ref_anchor_mat: np.ndarray) -> float:
    """Yaw [rad] of R_robot R_ref^T: the heading that moves the reference onto the robot."""
    r = robot_anchor_mat @ ref_anchor_mat.T
    return math.atan2(r[1, 0], r[0, 0])


def reanchor(
    ref_rel_anchor: np.ndarray,
    ref_quat: np.ndarray,
    yaw: float,
    robot_anchor_pos: np.ndarray,
    ref_anchor_z: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Re-anchored reference body positions (B, 3) and orientations (B, 4, wxyz).

    ``ref_rel_anchor``: reference body positions minus the reference anchor position (B, 3).
    """
    c, s = math.cos(yaw), math.sin(yaw)
    rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    offset = np.array([robot_anchor_pos[0], robot_anchor_pos[1], ref_anchor_z])
    pos = ref_rel_anchor @ rz.T + offset
    ch, sh = math.cos(0.5 * yaw), math.sin(0.5 * yaw)
    # Left multiplication by the yaw quaternion (ch, 0, 0, sh) as a 4x4 matrix on wxyz rows.
    lmul = np.array(
        [[ch, 0.0, 0.0, -sh], [0.0, ch, -sh, 0.0], [0.0, sh, ch, 0.0], [sh, 0.0, 0.0, ch]]
    )
    return pos, ref_quat @ lmul.T


def quat_angle_sq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared rotation angle [rad^2] between unit quaternions a and b (..., 4)."""
    d = np.abs(np.einsum("...i,...i->...", a, b))
    return (2.0 * np.arccos(np.minimum(d, 1.0))) ** 2


def mean_sq_dist(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over rows of the squared distance between a and b (B, 3)."""
    d = a - b
    return float(np.einsum("ij,ij->", d, d)) / a.shape[0]


def soft_joint_limits(ranges: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Limits shrunk about their middle by ``factor``: (lower (J,), upper (J,))."""
    mid = ranges.mean(axis=1)
    half = 0.5 * (ranges[:, 1] - ranges[:, 0]) * factor
    return mid - half, mid + half


def joint_limit_violation(q: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Sum over joints of how far each is outside the soft limits [rad]."""
    return float(np.maximum(lower - q, 0.0).sum() + np.maximum(q - upper, 0.0).sum())


def action_rate(action: np.ndarray, last_action: np.ndarray) -> float:
    """Squared L2 norm of the action change."""
    d = action - last_action
    return float(d @ d)


def undesired_contacts(
    body_contact_force: np.ndarray, threshold: float = UNDESIRED_CONTACT_FORCE
) -> float:
    """Number of bodies whose net contact force (B, 3) [N] exceeds ``threshold``.

    The environment passes the force part of MuJoCo's ``cfrc_ext`` (``mj_rnePostConstraint``)
    for every body except the ankle-roll and wrist-yaw links.
    """
    f = body_contact_force
    return float(np.count_nonzero(np.einsum("ij,ij->i", f, f) > threshold * threshold))
