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


#: Largest joint change per frame [rad] the final step projection allows, whatever the frame
#: rate: 10% under the 0.5 rad per frame that the NMR paper (IV-C) counts as a joint jump.
MAX_STEP_RAD = 0.45


def limit_steps(joint_pos: np.ndarray, max_step: np.ndarray | float) -> np.ndarray:
    """Joints (T, J) whose per-frame change is at most ``max_step`` [rad] (scalar or (J,)).

    Not in PHUMA, whose velocity-limit hinge only penalises fast steps: a step projection in
    the spirit of its final clip. The sequence is rate-limited forwards and backwards in time
    and the two averaged, so a discontinuity becomes a ramp centred on it (no lag), and the
    average of two step-bounded sequences is step-bounded. Unchanged where already within.
    Hand-written: scipy has no slew-rate limiter.
    """
    q = np.asarray(joint_pos, dtype=float)
    if q.shape[0] < 2:
        return q.copy()
    m = np.broadcast_to(np.asarray(max_step, dtype=float), q.shape[1:])

    def sweep(x: np.ndarray) -> np.ndarray:
        out = x.copy()
        for t in range(1, x.shape[0]):
            out[t] = out[t - 1] + np.clip(x[t] - out[t - 1], -m, m)
        return out

    return 0.5 * (sweep(q) + sweep(q[::-1])[::-1])
