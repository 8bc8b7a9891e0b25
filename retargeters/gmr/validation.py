"""Agreement of ``gmr`` with the original GMR's outputs: the measures the validation reports.

Used by ``perf/gmr_vs_original.py`` (the report) and ``tests/test_gmr_original.py`` (the
check). Both compare joint angles frame by frame on the frames both motions have, at the
original's rate (GMR writes 30 fps; so does ``gmr``).

- Artifact frames: the original's joint-jump frames (``benchmark``'s jump rule:
  a single-step change above :data:`JUMP_THRESHOLD_RAD`) and every frame within
  :data:`ARTIFACT_WINDOW_S` of one. These are GMR's chaotic local-minimum escapes (a wrist or
  shoulder flipping through its range); the agreement figure leaves them out.
- Agreement: the mean absolute joint-angle difference [rad] over the non-artifact frames, over
  all 29 joints and over the 23 joints without the wrists.
- Divergence: the % of frames whose mean absolute difference exceeds :data:`DIVERGED_RAD`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nmr_gym.g1 import spec
from nmr_gym.io import load_human_motion, load_robot_motion
from nmr_gym.motion import HumanMotion, RobotMotion

#: Same rule as ``benchmark.metrics.JUMP_THRESHOLD_RAD`` (retargeters may not import benchmark).
JUMP_THRESHOLD_RAD = 0.5
#: Frames within this time [s] of an original jump frame are artifact frames.
ARTIFACT_WINDOW_S = 0.5
#: A frame has diverged when its mean absolute joint-angle difference exceeds this [rad].
DIVERGED_RAD = 0.05
#: Target of issue 11: median over clips of the non-artifact agreement [rad].
AGREEMENT_TARGET_RAD = 0.05
#: Joint columns without the six wrist joints.
NO_WRIST = np.array(["wrist" not in n for n in spec.JOINT_NAMES])
#: The nine LAFAN1 clips whose original GMR outputs are in ``shared/motions/robot/gmr_lafan1``.
LAFAN1_CLIPS: tuple[str, ...] = (
    "dance1_subject1",
    "dance1_subject2",
    "fallAndGetUp1_subject1",
    "ground1_subject1",
    "multipleActions1_subject1",
    "obstacles1_subject1",
    "push1_subject2",
    "pushAndFall1_subject1",
    "walk4_subject1",
)


def lafan1_bvh_path(shared: Path, clip: str) -> Path:
    """The LAFAN1 BVH file of ``clip`` under the shared motions folder ``shared``."""
    return Path(shared) / "bvh" / "lafan1" / f"{clip}.bvh"


def original_gmr_path(shared: Path, clip: str) -> Path:
    """The original GMR's output (pickle) for ``clip`` under the shared motions folder."""
    return Path(shared) / "robot" / "gmr_lafan1" / f"{clip}.pkl"


def load_lafan1_human(shared: Path, clip: str) -> HumanMotion:
    """The LAFAN1 clip ``clip`` as nmr-gym loads it (the input ``gmr`` is validated on)."""
    return load_human_motion(lafan1_bvh_path(shared, clip))


def load_original_gmr(shared: Path, clip: str) -> RobotMotion:
    """The original GMR's output for ``clip`` (a pickle GMR wrote: read as trusted)."""
    return load_robot_motion(original_gmr_path(shared, clip), trusted=True)


def jump_frames(joint_pos: np.ndarray, threshold: float = JUMP_THRESHOLD_RAD) -> np.ndarray:
    """(T,) bool: frames whose largest single-step joint change exceeds ``threshold`` [rad]."""
    step = np.abs(np.diff(joint_pos, axis=0)).max(axis=1)
    return np.concatenate([[False], step > threshold])


def artifact_frames(joint_pos: np.ndarray, fps: float) -> np.ndarray:
    """(T,) bool: jump frames of ``joint_pos`` (T, 29) and frames within the window of one."""
    jumps = np.flatnonzero(jump_frames(joint_pos))
    out = np.zeros(len(joint_pos), dtype=bool)
    w = int(round(ARTIFACT_WINDOW_S * fps))
    for j in jumps:
        out[max(0, j - w) : j + w + 1] = True
    return out


@dataclass(frozen=True)
class Agreement:
    frames: int  # compared frames (common prefix)
    artifact_pct: float  # % of compared frames that are artifact frames
    mean_abs_rad: float  # non-artifact frames, 29 joints
    mean_abs_no_wrist_rad: float  # non-artifact frames, 23 joints
    mean_abs_all_frames_rad: float  # every compared frame, 29 joints
    diverged_pct: float  # % of compared frames with mean |diff| > DIVERGED_RAD
    jumps_ours: int  # jump frames of ours at the original's rate
    jumps_original: int
    jumps_shared: int  # jump frames of ours within one frame of an original jump frame


def agreement(ours: np.ndarray, original: np.ndarray, fps: float) -> Agreement:
    """Compare (T, 29) joint angles of ``gmr`` with the original's (T', 29) at ``fps``."""
    n = min(len(ours), len(original))
    a, b = ours[:n], original[:n]
    diff = np.abs(a - b)  # (n, 29)
    clean = ~artifact_frames(b, fps)
    per_frame = diff.mean(axis=1)
    ja, jb = np.flatnonzero(jump_frames(a)), np.flatnonzero(jump_frames(b))
    shared = sum(1 for j in ja if jb.size and np.min(np.abs(jb - j)) <= 1)
    return Agreement(
        frames=n,
        artifact_pct=100.0 * float((~clean).mean()),
        mean_abs_rad=float(diff[clean].mean()),
        mean_abs_no_wrist_rad=float(diff[clean][:, NO_WRIST].mean()),
        mean_abs_all_frames_rad=float(diff.mean()),
        diverged_pct=100.0 * float((per_frame > DIVERGED_RAD).mean()),
        jumps_ours=len(ja),
        jumps_original=len(jb),
        jumps_shared=int(shared),
    )
