"""PHUMA's post-processing: Butterworth low-pass (zero phase) and a clip to 98% of the range."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, filtfilt

from nmr_gym import rotations as rot

FILTER_ORDER = 4
ROOT_POS_CUTOFF_HZ = 3.0
ROOT_ROT_CUTOFF_HZ = 6.0
JOINT_CUTOFF_HZ = 6.0


def lowpass(x: np.ndarray, fps: float, cutoff_hz: float, order: int = FILTER_ORDER) -> np.ndarray:
    """Zero-phase Butterworth low-pass of (T, ...) along time (scipy ``butter`` + ``filtfilt``).

    Returned unchanged when the cutoff is at or above Nyquist or the clip is too short to pad.
    """
    nyquist = 0.5 * fps
    if cutoff_hz >= nyquist or x.shape[0] < 2:
        return x
    b, a = butter(order, cutoff_hz / nyquist)
    padlen = min(3 * max(len(a), len(b)), x.shape[0] - 1)
    return filtfilt(b, a, x, axis=0, padlen=padlen)


def filter_motion(
    root_pos: np.ndarray,
    root_quat: np.ndarray,
    joint_pos: np.ndarray,
    fps: float,
    root_pos_cutoff: float = ROOT_POS_CUTOFF_HZ,
    root_rot_cutoff: float = ROOT_ROT_CUTOFF_HZ,
    joint_cutoff: float = JOINT_CUTOFF_HZ,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Low-pass root position (T, 3), root quaternion (T, 4, wxyz, renormalised), joints (T, 29)."""
    quat = rot.make_continuous(root_quat)
    quat = rot.normalize(lowpass(quat, fps, root_rot_cutoff))
    return lowpass(root_pos, fps, root_pos_cutoff), quat, lowpass(joint_pos, fps, joint_cutoff)


def clip_to_range(joint_pos: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """Joints (T, 29) clipped to ``limits`` (29, 2) [rad] (the 98% range)."""
    return np.clip(joint_pos, limits[:, 0], limits[:, 1])
