"""Reset noise, domain randomisation and pushes of the BeyondMimic tracking MDP (pure functions).

Every sampler takes the environment's ``np.random.Generator``; nothing else draws random numbers.
"""

from __future__ import annotations

import numpy as np

from nmr_gym import rotations as rot

# Reference-state initialisation noise (uniform half-widths).
INIT_ROOT_POS_NOISE = (0.05, 0.05, 0.01)  # x, y, z [m]
INIT_ROOT_RPY_NOISE = (0.1, 0.1, 0.2)  # roll, pitch, yaw [rad]
INIT_JOINT_POS_NOISE = 0.1  # [rad]
# Domain randomisation.
FRICTION_RANGE = (0.3, 1.6)  # MuJoCo has one sliding coefficient: BeyondMimic's static range
DEFAULT_JOINT_OFFSET = 0.01  # [rad], encoder calibration error
TORSO_COM_OFFSET = (0.025, 0.05, 0.05)  # [m]
# Pushes: interval [s] and added root velocity half-widths (world frame).
PUSH_INTERVAL_S = (1.0, 3.0)
PUSH_LIN_VEL = (0.5, 0.5, 0.2)  # [m/s]
PUSH_ANG_VEL = (0.52, 0.52, 0.78)  # [rad/s]


def uniform(rng: np.random.Generator, half_width) -> np.ndarray:
    """U(-h, h) per entry of ``half_width``."""
    h = np.asarray(half_width, dtype=float)
    return (2.0 * rng.random(h.shape) - 1.0) * h


def noisy_reference_state(
    rng: np.random.Generator,
    qpos: np.ndarray,
    joint_lower: np.ndarray,
    joint_upper: np.ndarray,
    root_pos_noise=INIT_ROOT_POS_NOISE,
    root_rpy_noise=INIT_ROOT_RPY_NOISE,
    joint_pos_noise: float = INIT_JOINT_POS_NOISE,
) -> np.ndarray:
    """Reference qpos (36,) with root pose and joint noise; joints clipped to [lower, upper]."""
    q = np.array(qpos, dtype=float)
    q[:3] += uniform(rng, root_pos_noise)
    rpy = uniform(rng, root_rpy_noise)
    # Extrinsic roll, pitch, yaw (world x, then y, then z): q_noise = q_z q_y q_x.
    q[3:7] = rot.normalize(rot.multiply(rot.from_euler(rpy, "xyz"), q[3:7]))
    q[7:] = np.clip(
        q[7:] + uniform(rng, np.full(q.size - 7, joint_pos_noise)), joint_lower, joint_upper
    )
    return q


def sample_friction(rng: np.random.Generator, n: int, friction_range=FRICTION_RANGE) -> np.ndarray:
    """Sliding friction coefficients (n,) for the robot's collision geoms."""
    lo, hi = friction_range
    return lo + (hi - lo) * rng.random(n)


def sample_push_interval(rng: np.random.Generator, interval_s=PUSH_INTERVAL_S) -> float:
    lo, hi = interval_s
    return float(lo + (hi - lo) * rng.random())


def push_velocity(
    rng: np.random.Generator, root_quat: np.ndarray, lin=PUSH_LIN_VEL, ang=PUSH_ANG_VEL
) -> np.ndarray:
    """qvel increment (6,) of the free joint: world linear part, pelvis-frame angular part."""
    ang_w = uniform(rng, ang)
    return np.concatenate([uniform(rng, lin), rot.rotate_inverse(root_quat, ang_w)])
