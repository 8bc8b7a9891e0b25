"""Per-frame human motion features for CEPR's motion encoder: NMR's own input features.

The encoder reads exactly what the NMR network reads (``retargeters.nmr.features``: 140
numbers per frame at 30 fps -- root horizontal velocity, root 6D rotation, 22 SMPL joint
positions relative to the root and their velocities -- after scaling the human to NMR's
reference height and turning the segment so that its first frame faces +x). This module only
adapts that function to one whole segment and adds the encoder's normaliser; it holds no
feature arithmetic of its own, so the two can never drift apart.

Normalisation as the NMR release: a mean per feature and one standard deviation shared by each
group (:data:`FEATURE_GROUPS`), so a group's internal proportions are kept.
"""

from __future__ import annotations

import numpy as np

from retargeters.nmr.features import (
    IN_DIM,
    IN_GROUPS,
    NUM_HUMAN_JOINTS,
    REFERENCE_HEIGHT_M,
    group_slices,
    window_features,
)

#: Feature groups in order: name -> width (NMR's input groups).
FEATURE_GROUPS: dict[str, int] = dict(IN_GROUPS)
NUM_FEATURES = IN_DIM  # 140
#: Smallest per-group std [feature units]: a constant group is not blown up.
MIN_GROUP_STD = 1e-6


def human_features(
    joint_pos: np.ndarray, joint_quat: np.ndarray, height: float = REFERENCE_HEIGHT_M
) -> np.ndarray:
    """(T, 140) NMR input features of one segment, canonicalised to its first frame.

    Args:
        joint_pos: (T, >=22, 3) SMPL joint positions [m], world frame (z up).
        joint_quat: (T, >=22, 4) SMPL joint orientations (wxyz, world); the pelvis's is used.
        height: the human's body height [m] (NMR scales every human to its reference height).
    """
    pos = np.asarray(joint_pos, dtype=float)[None, :, :NUM_HUMAN_JOINTS]  # (1, T, 22, 3)
    pelvis_q = np.asarray(joint_quat, dtype=float)[None, :, 0]  # (1, T, 4)
    floor_z = np.array([pos[..., 2].min()])  # the segment's lowest joint [m]
    x, _, _, _ = window_features(pos, pelvis_q, np.array([float(height)]), floor_z)
    return x[0]


def group_normaliser(features: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(mean (140,), std (140,)): mean per feature, one std per group, over all frames."""
    allf = np.concatenate(features, axis=0).astype(float)
    mean = allf.mean(axis=0)
    std = np.empty(NUM_FEATURES)
    for sl in group_slices(IN_GROUPS).values():
        std[sl] = max(float((allf[:, sl] - mean[sl]).std()), MIN_GROUP_STD)
    return mean.astype(np.float32), std.astype(np.float32)
