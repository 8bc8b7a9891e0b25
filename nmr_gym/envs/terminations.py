"""Termination rules of the BeyondMimic tracking MDP (time-out is the environment's truncation)."""

from __future__ import annotations

import numpy as np

#: Anchor height error beyond which the episode ends [m].
ANCHOR_HEIGHT_THRESHOLD = 0.25
#: Anchor tilt threshold on |g_z,ref - g_z,robot|, gravity projected into the anchor frame.
ANCHOR_TILT_THRESHOLD = 0.8
#: Feet/hands height error (re-anchored) beyond which the episode ends [m].
END_EFFECTOR_HEIGHT_THRESHOLD = 0.25

#: Termination names in info["termination"].
TERMINATIONS: tuple[str, ...] = ("anchor_height", "anchor_tilt", "end_effector_height")


def anchor_height(ref_z: float, robot_z: float, threshold: float = ANCHOR_HEIGHT_THRESHOLD) -> bool:
    return abs(ref_z - robot_z) > threshold


def projected_gravity_z(anchor_mat: np.ndarray) -> float:
    """z component of world gravity (0, 0, -1) expressed in the frame of ``anchor_mat``."""
    return -float(anchor_mat[2, 2])


def anchor_tilt(
    ref_mat: np.ndarray, robot_mat: np.ndarray, threshold: float = ANCHOR_TILT_THRESHOLD
) -> bool:
    return abs(projected_gravity_z(ref_mat) - projected_gravity_z(robot_mat)) > threshold


def end_effector_height(
    ref_z: np.ndarray, robot_z: np.ndarray, threshold: float = END_EFFECTOR_HEIGHT_THRESHOLD
) -> bool:
    """Any foot or hand whose height differs from the re-anchored reference (same z) by more."""
    return bool(np.abs(ref_z - robot_z).max() > threshold)
