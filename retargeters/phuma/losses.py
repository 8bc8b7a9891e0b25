"""PHUMA's loss terms, one small function each, on batched tensors.

Conventions: leading dimensions (..., T) are windows and frames; every term is a mean over all
its elements (windows, frames, joints, keypoints, coordinates), PyTorch's default ``reduction=
"mean"``, so a weight means the same thing for any clip length and the weights keep PHUMA's
balance. Weights live in :class:`LossWeights` (PHUMA's values).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch


@dataclass(frozen=True)
class LossWeights:
    """PHUMA's loss weights, as the PHUMA paper (PhySINK) states them (extra terms marked)."""

    keypoint: float = 0.1  # global keypoint L1
    bone: float = 2.0  # local bone direction and length
    smooth: float = 0.05  # second-difference smoothness
    scale: float = 0.001  # link-scale regularisation towards one
    joint_limit: float = 1000.0  # joint-range hinge at 98% of the range
    velocity_limit: float = 1000.0  # velocity-limit hinge, multiplied by dt
    foot_height: float = 10.0  # contact-weighted heel/toe height squared
    foot_skate: float = 0.002  # contact-weighted horizontal foot speed
    #: Not in PHUMA's list: hinge on foot points below the floor in *every* frame. PHUMA's
    #: height term acts only where the human's foot is in contact, so a scaled human whose
    #: swing foot passes lower than the G1's can pull the G1's foot into the floor. Set to 0 for
    #: PHUMA's exact loss.
    ground: float = 1000.0
    #: Not in PHUMA's list: (1 - cos) between each G1 sole's lateral axis and the human foot's
    #: (the ankle joint frame's), weighted like a bone. PHUMA's only foot target is one ankle ->
    #: ball keypoint, which fixes pitch but not roll, and the G1's 2-DoF ankle (no yaw) can move
    #: that point sideways only by rolling: the optimiser then rolled the ankle to its limit to
    #: reproduce a toe-out the hip yaw should make (02_01 walk: 35% near-limit frames, the
    #: human's own ankle roll 14%). Set to 0 for PHUMA's exact loss.
    foot_orientation: float = 2.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def keypoint_l1(robot_kp: torch.Tensor, target_kp: torch.Tensor) -> torch.Tensor:
    """L1 distance of global keypoints (..., T, K, 3) [m]."""
    return (robot_kp - target_kp).abs().mean()


def bone_direction_length(robot_bone: torch.Tensor, target_bone: torch.Tensor) -> torch.Tensor:
    """Per bone (..., T, NB, 3): (1 - cos angle) + |length difference| [m]."""
    eps = 1e-8
    r_len = robot_bone.norm(dim=-1)
    t_len = target_bone.norm(dim=-1)
    cos = (robot_bone * target_bone).sum(-1) / (r_len * t_len + eps)
    return ((1.0 - cos) + (r_len - t_len).abs()).mean()


def axis_alignment(robot_axis: torch.Tensor, target_axis: torch.Tensor) -> torch.Tensor:
    """Mean (1 - cos angle) between unit axes (..., 3); 0 when aligned, 2 when opposite."""
    return (1.0 - (robot_axis * target_axis).sum(-1)).mean()


def second_difference(x: torch.Tensor) -> torch.Tensor:
    """Squared second difference x[t+1] - 2 x[t] + x[t-1] of (..., T, D) trajectories."""
    if x.shape[-2] < 3:
        return x.sum() * 0.0
    d2 = x[..., 2:, :] - 2.0 * x[..., 1:-1, :] + x[..., :-2, :]
    return d2.square().mean()


def scale_regularisation(multipliers: torch.Tensor) -> torch.Tensor:
    """Squared distance of the learnable scale multipliers (..., G) from one."""
    return (multipliers - 1.0).square().mean()


def joint_range_hinge(q: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
    """How far joints (..., T, 29) [rad] leave [lower, upper] (the 98% range); 0 inside."""
    return (torch.relu(q - upper) + torch.relu(lower - q)).mean()


def velocity_hinge(q: torch.Tensor, limit: torch.Tensor, dt: float) -> torch.Tensor:
    """How far finite-difference joint speeds (..., T, 29) exceed ``limit`` [rad/s]; 0 below."""
    if q.shape[-2] < 2:
        return q.sum() * 0.0
    speed = (q[..., 1:, :] - q[..., :-1, :]).abs() / dt
    return torch.relu(speed - limit).mean()


def contact_height(point_z: torch.Tensor, contact: torch.Tensor) -> torch.Tensor:
    """Contact-weighted squared height [m^2] of foot points (..., T, P) above the floor."""
    return (contact * point_z.square()).mean()


def ground_penetration(point_z: torch.Tensor) -> torch.Tensor:
    """Depth [m] of foot points (..., T, P) below the floor z = 0; 0 above it."""
    return torch.relu(-point_z).mean()


def contact_skating(point_xy: torch.Tensor, contact: torch.Tensor, dt: float) -> torch.Tensor:
    """Contact-weighted horizontal speed [m/s] of foot points (..., T, P, 2).

    A point counts when it is in contact at both ends of a step.
    """
    if point_xy.shape[-3] < 2:
        return point_xy.sum() * 0.0
    step = point_xy[..., 1:, :, :] - point_xy[..., :-1, :, :]
    speed = torch.sqrt(step.square().sum(-1) + 1e-12) / dt
    both = contact[..., 1:, :] * contact[..., :-1, :]
    return (both * speed).mean()
