"""Pieces several retargeters share."""

from __future__ import annotations

import numpy as np

from nmr_gym.g1.geometry import lowest_point_z_of_qpos


def ground_offset(qpos: np.ndarray) -> float:
    """The vertical shift [m] that puts the lowest collision point of a G1 clip ``qpos``
    (T, 36) at z = 0 (:func:`nmr_gym.g1.geometry.lowest_point_z` on the reference G1)."""
    return -float(np.min(lowest_point_z_of_qpos(qpos)))
