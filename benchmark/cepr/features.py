"""Per-frame human motion features for CEPR's motion encoder (NMR's input layout).

The NMR paper's network reads 140 numbers per frame at 30 fps (its public inference release): root
horizontal velocity (2, metres per frame), root 6D rotation (6), 22 joint positions (66;
horizontal coordinates relative to the same frame's root, height above the clip's lowest
joint) and 22 joint velocities (66, frame differences, 0 at frame 0). This module computes the
same layout in nmr-gym's z-up world: SMPL's first 22 joints (the body without the hands), every
segment turned so that its first frame faces +x (NMR's release canonicalises each window's yaw
to its first frame), so the features do not depend on where a clip faces.

Normalisation as the release: a mean per feature and one standard deviation shared by each
group (:data:`FEATURE_GROUPS`), so a group's internal proportions are kept.
"""

from __future__ import annotations

import numpy as np

from nmr_gym import rotations as rot

#: SMPL's body joints that NMR's features use (the 24 minus the two hand joints).
NUM_BODY_JOINTS = 22
#: Feature groups in order: name -> width.
FEATURE_GROUPS: dict[str, int] = {
    "root_vel_xy": 2,
    "root_rot_6d": 6,
    "joint_pos": 3 * NUM_BODY_JOINTS,
    "joint_vel": 3 * NUM_BODY_JOINTS,
}
NUM_FEATURES = sum(FEATURE_GROUPS.values())  # 140
#: SMPL joint frames point their z axis forward (``nmr_gym.skeleton``).
_FORWARD_LOCAL = np.array([0.0, 0.0, 1.0])


def heading(pelvis_quat: np.ndarray) -> np.ndarray:
    """(T,) yaw [rad] of the body's forward direction (the pelvis frame's z axis on the floor)."""
    fwd = rot.rotate(pelvis_quat, np.broadcast_to(_FORWARD_LOCAL, pelvis_quat.shape[:-1] + (3,)))
    return np.arctan2(fwd[..., 1], fwd[..., 0])


def human_features(joint_pos: np.ndarray, joint_quat: np.ndarray) -> np.ndarray:
    """(T, 140) features of one segment from its SMPL joints ``joint_pos`` (T, 24, 3) [m] and
    ``joint_quat`` (T, 24, 4) (wxyz, world)."""
    pos = np.asarray(joint_pos, dtype=float)[:, :NUM_BODY_JOINTS]  # (T, 22, 3)
    pelvis_q = np.asarray(joint_quat, dtype=float)[:, 0]  # (T, 4)
    yaw0 = heading(pelvis_q[:1])[0]
    turn = np.array([np.cos(-yaw0 / 2), 0.0, 0.0, np.sin(-yaw0 / 2)])  # undo the first heading
    origin = np.array([pos[0, 0, 0], pos[0, 0, 1], 0.0])
    p = rot.rotate(np.broadcast_to(turn, pos.shape[:-1] + (4,)), pos - origin)  # (T, 22, 3)
    q = rot.multiply(np.broadcast_to(turn, pelvis_q.shape), pelvis_q)  # (T, 4)
    root = p[:, 0]  # (T, 3)
    vel = np.diff(root[:, :2], axis=0)  # metres per frame
    vel = np.concatenate([vel, vel[-1:]], axis=0) if len(vel) else np.zeros((len(root), 2))
    local = p.copy()
    local[..., :2] -= root[:, None, :2]
    local[..., 2] -= p[..., 2].min()  # height above the segment's lowest joint
    jpos = local.reshape(len(p), -1)  # (T, 66)
    jvel = np.concatenate([np.zeros((1, jpos.shape[1])), np.diff(jpos, axis=0)], axis=0)
    return np.concatenate([vel, rot.to_6d(q), jpos, jvel], axis=1).astype(np.float32)


def group_normaliser(features: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(mean (140,), std (140,)): mean per feature, one std per group, over all frames."""
    allf = np.concatenate(features, axis=0).astype(float)
    mean = allf.mean(axis=0)
    std = np.empty(NUM_FEATURES)
    i = 0
    for width in FEATURE_GROUPS.values():
        std[i : i + width] = max(float((allf[:, i : i + width] - mean[i : i + width]).std()), 1e-6)
        i += width
    return mean.astype(np.float32), std.astype(np.float32)
