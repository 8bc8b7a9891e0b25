"""Batched G1 forward kinematics in PyTorch, differentiable, for the whole-sequence optimisation.

The kinematic parameters (body offsets and fixed rotations, hinge axes and anchors, the tree)
are read from the one reference model, :func:`nmr_gym.g1.kinematic_model`, never copied.
Hand-written rather than a library because the optimisation needs gradients through FK of
thousands of frames at once; MuJoCo's FK is not differentiable from PyTorch. Bodies at the same
tree depth are processed together (11 levels instead of 30 bodies), which keeps the number of
PyTorch operations per call small; on 2 CPU cores that overhead, not arithmetic, dominates.
"""

from __future__ import annotations

import mujoco
import numpy as np
import torch

from nmr_gym.g1 import kinematic_model, spec


def quat_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) of unit quaternions (..., 4), wxyz."""
    w, x, y, z = q.unbind(-1)
    rows = (
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    )  # fmt: skip
    return torch.stack(rows, dim=-1).reshape(*q.shape[:-1], 3, 3)


def axis_angle_matrix(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rodrigues: rotations (..., J, 3, 3) about unit axes (J, 3) by angles (..., J) [rad]."""
    c = torch.cos(angle)[..., None, None]
    s = torch.sin(angle)[..., None, None]
    k = torch.zeros(axis.shape[0], 3, 3, dtype=axis.dtype, device=axis.device)
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    k = k - k.transpose(-1, -2)  # skew-symmetric cross-product matrix of each axis
    eye = torch.eye(3, dtype=axis.dtype, device=axis.device)
    return eye + s * k + (1 - c) * (k @ k)


class G1TorchFK:
    """Forward kinematics of the G1 (floating base + 29 hinges) for (..., 29) joint batches.

    Args:
        model: a compiled G1 ``MjModel``; default the reference :func:`kinematic_model`.
        dtype: torch dtype of the parameters (float32 for speed, float64 for checks).
        device: torch device ("cpu", "cuda", ...).
    """

    def __init__(
        self,
        model: mujoco.MjModel | None = None,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> None:
        model = kinematic_model() if model is None else model
        self.dtype, self.device = dtype, torch.device(device)
        nb = model.nbody - 1  # bodies 1..30; index b-1 here
        parent = np.array(model.body_parentid[1:]) - 1  # -1 for the root (world)
        if nb != spec.NUM_BODIES or model.jnt_type[0] != mujoco.mjtJoint.mjJNT_FREE:
            raise ValueError("expected the 30-body G1 with a free root joint")
        # Each non-root body has exactly one hinge, joint index = body index - 1 (checked).
        jnt_body = np.array(model.jnt_bodyid[1:]) - 1
        if not np.array_equal(jnt_body, np.arange(1, nb)):
            raise ValueError("expected one hinge per non-root body in depth-first order")
        t = lambda a: torch.as_tensor(np.asarray(a), dtype=dtype, device=self.device)  # noqa: E731
        self.parent = parent
        self.body_pos = t(model.body_pos[1:])  # (30, 3) offset from the parent [m]
        self.body_rot = quat_to_matrix(t(model.body_quat[1:]))  # (30, 3, 3) fixed rotation
        self.jnt_axis = t(model.jnt_axis[1:])  # (29, 3) hinge axes in the child body frame
        self.jnt_pos = t(model.jnt_pos[1:])  # (29, 3) hinge anchors in the child body frame
        self._has_anchor = bool(np.any(model.jnt_pos[1:] != 0.0))
        depth = np.zeros(nb, dtype=int)
        for b in range(1, nb):
            depth[b] = depth[parent[b]] + 1
        # Bodies grouped by depth; every parent of a level lies in the previous level, so each
        # level gathers from the previous one only (no growing concatenation).
        levels = [np.array([0])] + [np.flatnonzero(depth == d) for d in range(1, depth.max() + 1)]
        dev = self.device
        self._level_parent = []  # per level: index of each body's parent in the previous level
        self._level_joint = []  # per level: joint index of each body (body index - 1)
        for prev, lv in zip(levels[:-1], levels[1:], strict=True):
            where = {int(b): i for i, b in enumerate(prev)}
            self._level_parent.append(
                torch.as_tensor([where[int(parent[b])] for b in lv], device=dev)
            )
            self._level_joint.append(torch.as_tensor(lv - 1, device=dev))
        order = np.concatenate(levels)
        slot = np.empty(nb, dtype=int)
        slot[order] = np.arange(nb)
        self._to_body_order = torch.as_tensor(slot, device=dev)

    def forward(
        self, root_pos: torch.Tensor, root_rot: torch.Tensor, joint_pos: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """World body positions (..., 30, 3) [m] and rotation matrices (..., 30, 3, 3).

        Args:
            root_pos: (..., 3) pelvis position [m], world.
            root_rot: (..., 3, 3) pelvis rotation matrix, or (..., 4) wxyz quaternion.
            joint_pos: (..., 29) joint positions [rad], ``spec.JOINT_NAMES`` order.
        """
        if root_rot.shape[-1] == 4:
            root_rot = quat_to_matrix(root_rot)
        # Local rotation of each hinge body: fixed body rotation, then the hinge rotation.
        local_rot = self.body_rot[1:] @ axis_angle_matrix(self.jnt_axis, joint_pos)  # (...,29,3,3)
        rot = root_rot[..., None, :, :]  # (..., 1, 3, 3) current level
        pos = root_pos[..., None, :]  # (..., 1, 3)
        rots, poss = [rot], [pos]
        for pidx, jidx in zip(self._level_parent, self._level_joint, strict=True):
            p_rot = rot.index_select(-3, pidx)  # (..., n, 3, 3)
            p_pos = pos.index_select(-2, pidx)  # (..., n, 3)
            rot = p_rot @ local_rot.index_select(-3, jidx)
            offset = self.body_pos[jidx + 1]  # (n, 3)
            pos = p_pos + (p_rot @ offset[..., None])[..., 0]
            if self._has_anchor:  # hinge about an anchor off the body origin
                a = self.jnt_pos[jidx]
                a_parent = (self.body_rot[jidx + 1] @ a[..., None])[..., 0]
                pos = pos + (p_rot @ a_parent[..., None])[..., 0] - (rot @ a[..., None])[..., 0]
            rots.append(rot)
            poss.append(pos)
        pos = torch.cat(poss, dim=-2).index_select(-2, self._to_body_order)
        rot = torch.cat(rots, dim=-3).index_select(-3, self._to_body_order)
        return pos, rot

    __call__ = forward
