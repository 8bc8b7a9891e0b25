"""Differentiable forward kinematics of the reference G1 in PyTorch, for the training loss.

The network predicts the G1's joint angles and, beside them, its body positions; inference keeps
the joint angles (the robot motion is the root plus the 29 joints) and drops the predicted
positions. An L1 loss on normalised features weighs every joint alike, but a hip-pitch error moves
the ankle 0.7 m away and a wrist-yaw error moves nothing: the error that reaches the keypoints
(MPJPE) is the joint errors sent through the chain. :func:`body_pos_from_joints` sends the
predicted joint angles through the chain, so the loss (``TrainConfig.fk_weight``) can measure it.

Written by hand because MuJoCo's kinematics are not differentiable in PyTorch and no maintained
library takes an MJCF to batched torch FK without a second robot description (pytorch_kinematics
reads the MJCF anew and orders bodies its own way); the tree, offsets and axes come from the one
reference model (:func:`nmr_gym.g1.kinematic_model`), and a test checks it against
``mujoco.mj_kinematics``.
"""

from __future__ import annotations

import functools

import mujoco
import numpy as np
import torch

from nmr_gym.g1 import kinematic_model, spec


@functools.lru_cache(maxsize=1)
def _tree() -> dict[str, np.ndarray]:
    """The G1 tree in ``spec.BODY_NAMES`` order (slot 0: the pelvis, the floating root)."""
    m = kinematic_model()
    ids = np.array([m.body(name).id for name in spec.BODY_NAMES])
    slot = {int(b): i for i, b in enumerate(ids)}
    parent = np.array([slot.get(int(m.body_parentid[b]), -1) for b in ids])
    if parent[0] != -1 or np.any(parent[1:] < 0) or np.any(parent[1:] >= np.arange(1, len(ids))):
        raise ValueError("G1 bodies must be ordered parents first, the pelvis at slot 0")
    joint = np.full(len(ids), -1)
    axis = np.zeros((len(ids), 3))  # the pelvis (slot 0) has no hinge
    for i, b in enumerate(ids[1:], start=1):
        j = int(m.body_jntadr[b])
        if m.body_jntnum[b] != 1 or m.jnt_type[j] != mujoco.mjtJoint.mjJNT_HINGE:
            raise ValueError(f"body {spec.BODY_NAMES[i]} must carry exactly one hinge")
        if np.abs(m.jnt_pos[j]).max() > 0:
            raise ValueError(f"the hinge of {spec.BODY_NAMES[i]} must sit at the body origin")
        joint[i] = int(m.jnt_qposadr[j]) - 7
        axis[i] = m.jnt_axis[j]
    offset_rot = np.zeros((len(ids), 3, 3))
    for i, b in enumerate(ids):
        mujoco.mju_quat2Mat(offset_rot[i].reshape(9), m.body_quat[b])
    # each hinge's rotation is I + sin(q) K + (1 - cos(q)) K^2 (Rodrigues), K = [axis]x
    k = np.cross(axis[:, None, :], -np.eye(3)[None])  # (B, 3, 3): K v = axis x v
    return {
        "parent": parent,
        "joint": joint,
        "offset_pos": np.array(m.body_pos[ids]),
        "offset_rot": offset_rot,
        "k": k,
        "k2": k @ k,
    }


def body_pos_from_joints(joint_pos: torch.Tensor) -> torch.Tensor:
    """Body origins (..., 30, 3) [m] in the pelvis frame, ``spec.BODY_NAMES`` order, from joint
    angles (..., 29) [rad] in Menagerie order; differentiable in ``joint_pos``."""
    t = _tree()
    dt, dev = joint_pos.dtype, joint_pos.device
    const = {n: torch.as_tensor(t[n], dtype=dt, device=dev)
             for n in ("offset_pos", "offset_rot", "k", "k2")}  # fmt: skip
    eye = torch.eye(3, dtype=dt, device=dev)
    batch = joint_pos.shape[:-1]
    pos = [torch.zeros(*batch, 3, dtype=dt, device=dev)]
    rot = [eye.expand(*batch, 3, 3)]
    for i in range(1, len(t["parent"])):
        p = int(t["parent"][i])
        pos.append(pos[p] + (rot[p] @ const["offset_pos"][i][:, None])[..., 0])
        q = joint_pos[..., int(t["joint"][i]), None, None]
        hinge = eye + torch.sin(q) * const["k"][i] + (1.0 - torch.cos(q)) * const["k2"][i]
        rot.append(rot[p] @ const["offset_rot"][i] @ hinge)
    return torch.stack(pos, dim=-2)


def matrix_from_6d(d6: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) from 6D features (..., 6), the torch twin of
    :func:`retargeters.nmr.features.matrix_from_6d` (first two columns, Gram-Schmidt)."""
    m = d6.reshape(*d6.shape[:-1], 3, 2)
    a, b = m[..., 0], m[..., 1]
    x = a / a.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    b = b - (x * b).sum(-1, keepdim=True) * x
    y = b / b.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    return torch.stack([x, y, torch.linalg.cross(x, y)], dim=-1)


def body_pos_rel(root_rot_6d: torch.Tensor, joint_pos: torch.Tensor) -> torch.Tensor:
    """Body origins (..., 30, 3) [m] relative to the pelvis, in the world (canonical) axes, from
    the pelvis rotation (..., 6) and joint angles (..., 29): the pelvis-relative positions that
    MPJPE compares (:func:`benchmark.metrics` scores keypoints relative to the pelvis)."""
    r = matrix_from_6d(root_rot_6d)
    return (r[..., None, :, :] @ body_pos_from_joints(joint_pos)[..., None])[..., 0]
