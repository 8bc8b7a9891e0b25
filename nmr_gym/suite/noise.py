"""Estimation noise for robustness tests: jitter, single-frame spikes, ground penetration.

Motions estimated from video (e.g. the ASAP clips in ``../shared/motions``) show these three
artefacts. The noise is applied to the local joint rotations and the root, then the joint
positions are recomputed by forward kinematics, so the noisy motion is still a consistent
skeleton (bone lengths unchanged). All randomness comes from ``seed``.
"""

from __future__ import annotations

import numpy as np

from nmr_gym import rotations as rot
from nmr_gym.errors import MotionError
from nmr_gym.motion import HumanMotion
from nmr_gym.skeleton import SMPL_PARENTS, forward_kinematics, local_rotations

JITTER_ROT_DEG = 1.5  # [deg] std of per-frame white noise on every local joint rotation
JITTER_ROOT_M = 0.006  # [m] std of per-frame white noise on the root position
SPIKE_RATE = 0.01  # fraction of frames with a single-frame spike
SPIKE_JOINTS = 3  # joints disturbed per spike
SPIKE_DEG = (25.0, 45.0)  # [deg] range of a spike's rotation
PENETRATION_EVENTS_PER_MIN = 6.0  # windows where the whole body sinks into the floor
PENETRATION_M = (0.03, 0.07)  # [m] depth range of a sinking window
PENETRATION_S = (0.4, 1.2)  # [s] duration range of a sinking window


def _bone_offsets(motion: HumanMotion) -> np.ndarray:
    """Rest offsets (J, 3) of each joint from its parent, in the parent's frame (frame 0)."""
    p, q = motion.joint_pos[0], motion.joint_quat[0]
    off = np.zeros((len(SMPL_PARENTS), 3))
    for j in range(1, len(SMPL_PARENTS)):
        par = SMPL_PARENTS[j]
        off[j] = rot.rotate_inverse(q[par], p[j] - p[par])
    return off


def add_noise(motion: HumanMotion, seed: int = 0, scale: float = 1.0) -> HumanMotion:
    """A copy of a canonical (SMPL 24-joint) motion with seeded estimation noise.

    ``scale`` multiplies the amplitude of every term (jitter, spike angles, sinking depth);
    the same ``seed`` draws the same frames and directions at any scale, so ``scale=0`` gives
    the clean motion (up to forward-kinematics round-off).

    ``metadata["noise"]`` records the seed, the parameters and which frames got spikes and
    sinking, so a robustness test can check a method against the known corruption.
    """
    if not motion.is_canonical:
        raise ValueError("add_noise needs a motion on SMPL's 24 canonical joints")
    if not (np.isfinite(scale) and scale >= 0.0):
        raise MotionError(f"noise scale must be a finite number >= 0, got {scale!r}", motion.source)
    rng = np.random.default_rng(seed)
    n, nj = motion.n_frames, len(SMPL_PARENTS)
    local = local_rotations(motion.joint_quat)

    rv = rng.normal(0.0, np.deg2rad(JITTER_ROT_DEG), (n, nj, 3))
    spike_frames = np.sort(rng.choice(n, size=max(1, int(SPIKE_RATE * n)), replace=False))
    for f in spike_frames:
        joints = rng.choice(np.arange(1, nj), size=SPIKE_JOINTS, replace=False)
        axis = rng.normal(size=(SPIKE_JOINTS, 3))
        axis /= np.linalg.norm(axis, axis=1, keepdims=True)
        rv[f, joints] += axis * np.deg2rad(rng.uniform(*SPIKE_DEG, (SPIKE_JOINTS, 1)))
    rv *= scale
    noisy_local = rot.multiply(local, rot.from_axis_angle(rv))
    root_quat = noisy_local[:, 0]  # the root's entry is its world orientation
    root_pos = motion.joint_pos[:, 0] + scale * rng.normal(0.0, JITTER_ROOT_M, (n, 3))

    # ground penetration: smooth windows where the body sinks below the floor
    t = np.arange(n) / motion.fps
    sink = np.zeros(n)
    windows = []
    n_events = max(1, round(PENETRATION_EVENTS_PER_MIN * t[-1] / 60.0))
    for _ in range(n_events):
        dur = rng.uniform(*PENETRATION_S)
        t0 = rng.uniform(0.0, max(t[-1] - dur, 1e-6))
        depth = scale * rng.uniform(*PENETRATION_M)
        u = np.clip((t - t0) / dur, 0.0, 1.0)
        sink = np.maximum(sink, depth * np.sin(np.pi * u) ** 2)
        windows.append([round(float(t0), 3), round(float(dur), 3), round(float(depth), 4)])
    root_pos[:, 2] -= sink

    pos, quat = forward_kinematics(root_pos, root_quat, noisy_local, _bone_offsets(motion))
    meta = dict(motion.metadata)
    meta["noise"] = {
        "seed": int(seed),
        "scale": float(scale),
        "jitter_rot_deg": JITTER_ROT_DEG,
        "jitter_root_m": JITTER_ROOT_M,
        "spike_frames": [int(f) for f in spike_frames],
        "spike_deg": list(SPIKE_DEG),
        "penetration_windows": windows,  # [start s, duration s, depth m]
    }
    return motion.replace(
        joint_pos=pos, joint_quat=quat, metadata=meta, source=f"{motion.source}+noise{seed}"
    )
