"""GMR's human height estimate, non-uniform per-body scaling and per-body offsets.

All functions are vectorised over frames: they turn a whole human clip into the (T, B) target
poses of the mapped G1 bodies before any IK runs.
"""

from __future__ import annotations

import numpy as np

from nmr_gym import rotations as rot
from nmr_gym.motion import HumanMotion
from retargeters.gmr.tables import MappingTable

#: GMR's SMPL-X height model: height = HEIGHT_BASE + HEIGHT_PER_BETA0 * beta0 [m].
HEIGHT_BASE_M = 1.66
HEIGHT_PER_BETA0_M = 0.1


def human_height(human: HumanMotion, table: MappingTable, override: float | None = None) -> float:
    """The actor height [m] GMR scales with.

    In order: ``override``; the table's fixed height (GMR fixes LAFAN1's at 1.75 m); GMR's
    ``1.66 + 0.1 * beta0`` when ``metadata["betas"]`` is given (AMASS); the motion's own height.
    """
    if override is not None:
        return float(override)
    if table.human_height_m is not None:
        return table.human_height_m
    betas = human.metadata.get("betas")
    if betas is not None and np.size(betas) > 0:
        return HEIGHT_BASE_M + HEIGHT_PER_BETA0_M * float(np.ravel(betas)[0])
    return float(human.height)


def body_scales(table: MappingTable, height: float) -> np.ndarray:
    """Per-body scale factors s_b = table_b * height / reference_height, (B,)."""
    ratio = height / table.reference_height_m
    return np.array([b.scale for b in table.bodies]) * ratio


def scale_positions(pos: np.ndarray, scales: np.ndarray, root: int) -> np.ndarray:
    """GMR's non-uniform scaling about the root.

    Args:
        pos: (T, B, 3) human joint positions of the mapped bodies [m].
        scales: (B,) per-body factors.
        root: index of the root body in B.

    Returns:
        (T, B, 3): root p' = s_root p_root; others p' = s_b (p_b - p_root) + p'_root.
    """
    root_pos = pos[:, root : root + 1]  # (T, 1, 3)
    root_scaled = scales[root] * root_pos
    out = scales[None, :, None] * (pos - root_pos) + root_scaled
    out[:, root] = root_scaled[:, 0]
    return out


def apply_offsets(
    pos: np.ndarray, quat: np.ndarray, rot_offsets: np.ndarray, pos_offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-body offsets: q' = q ⊗ q_off, p'' = p' + R(q') t_off.

    Args:
        pos: (T, B, 3) scaled positions; quat: (T, B, 4) human orientations (wxyz).
        rot_offsets: (B, 4) wxyz; pos_offsets: (B, 3) [m] in the offset target frame.
    """
    q = rot.normalize(rot.multiply(quat, rot_offsets[None]))
    p = pos + rot.rotate(q, np.broadcast_to(pos_offsets[None], pos.shape))
    return p, rot.make_continuous(q, axis=0)


def pose_targets(
    joint_pos: np.ndarray, joint_quat: np.ndarray, table: MappingTable, height: float
) -> tuple[np.ndarray, np.ndarray]:
    """Target positions (T, B, 3) [m] and orientations (T, B, 4) of the table's G1 bodies from
    the human poses of the table's joints, in table order: (T, B, 3) [m] and (T, B, 4) wxyz."""
    pos = scale_positions(joint_pos, body_scales(table, height), table.root_index())
    rot_off = np.stack([b.rot_offset_wxyz for b in table.bodies])
    pos_off = np.stack([b.pos_offset_m for b in table.bodies])
    return apply_offsets(pos, joint_quat, rot_off, pos_off)


def body_targets(
    human: HumanMotion, table: MappingTable, height: float
) -> tuple[np.ndarray, np.ndarray]:
    """Target positions (T, B, 3) [m] and orientations (T, B, 4) of the table's G1 bodies."""
    idx = [human.index(j) for j in table.human_joints]
    return pose_targets(human.joint_pos[:, idx], human.joint_quat[:, idx], table, height)
