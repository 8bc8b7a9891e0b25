"""Foot contact detection from the human motion.

PHUMA marks a foot in contact when its SMPL-X heel/toe vertices are within 2.5 cm of the
ground. nmr-gym's human motions carry joint centres, not vertices, so each foot point is a
joint: the heel is SMPL's ankle joint and the toe SMPL's foot joint (ball of the foot). A point
is in contact when it is less than :data:`CONTACT_HEIGHT_MARGIN` above its standing height
(a fraction of body height, ``skeleton.ANKLE_HEIGHT_FRACTION`` / ``BALL_HEIGHT_FRACTION``) and it
moves slower than :data:`CONTACT_SPEED` (the speed test removes swing-phase frames in which a
low foot brushes past the floor).
"""

from __future__ import annotations

import numpy as np

from nmr_gym.motion import HumanMotion
from nmr_gym.skeleton import ANKLE_HEIGHT_FRACTION, BALL_HEIGHT_FRACTION

#: A foot point counts as on the ground up to this far above its standing height [m]
#: (PHUMA's +-2.5 cm vertex band, plus 1.5 cm for the spread of joint placement over subjects).
CONTACT_HEIGHT_MARGIN = 0.04
#: A foot point in contact moves slower than this [m/s] (stance ~0, swing 2-5 m/s).
CONTACT_SPEED = 0.4

#: SMPL joints used as (heel, toe) per foot, left foot first.
FOOT_POINT_JOINTS: tuple[tuple[str, str], ...] = (
    ("left_ankle", "left_foot"),
    ("right_ankle", "right_foot"),
)


def detect_foot_contacts(
    human: HumanMotion,
    height_margin: float = CONTACT_HEIGHT_MARGIN,
    speed_threshold: float = CONTACT_SPEED,
) -> np.ndarray:
    """Contact flags (T, 2, 2) in {0, 1}: [frame, foot (left, right), point (heel, toe)]."""
    rest = np.array([ANKLE_HEIGHT_FRACTION, BALL_HEIGHT_FRACTION]) * human.height
    idx = np.array([[human.index(h), human.index(t)] for h, t in FOOT_POINT_JOINTS])
    pos = human.joint_pos[:, idx]  # (T, 2, 2, 3)
    if human.n_frames > 1:
        speed = np.linalg.norm(np.gradient(pos, human.dt, axis=0), axis=-1)
    else:
        speed = np.zeros(pos.shape[:-1])
    low = pos[..., 2] < rest + height_margin
    return (low & (speed < speed_threshold)).astype(float)
