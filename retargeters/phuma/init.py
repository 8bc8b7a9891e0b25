"""Analytic initial solution: G1 joint angles from the human's joint orientations.

A cheap warm start for the optimisation (PHUMA starts from a default pose and needs its long
3000-iteration Adam schedule mostly to travel from there). For each group of G1 hinges that
plays one human joint (hip = pitch/roll/yaw, knee, ankle = pitch/roll, waist, shoulder, elbow,
wrist) the human's rotation of the child segment relative to its parent, measured from SMPL's
rest T-pose, is applied to the G1 in its matching T-pose (``adaptation.T_POSE_JOINT_POS``) and
decomposed into the group's hinge angles (an Euler decomposition on the hinge axes read from
the model; the G1's fixed link rotations in a group are about a neighbouring hinge axis and
are folded into that hinge's angle). Of the two Euler solutions the one inside the joint range
(then the one nearer the previous frame) is kept; missing degrees of freedom are dropped.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.spatial.transform import Rotation

from nmr_gym import rotations as rot
from nmr_gym.g1 import kinematic_model, spec
from nmr_gym.motion import HumanMotion, forward_kinematics
from nmr_gym.skeleton import REST_QUAT_FACING_X, SMPL_JOINT_NAMES
from retargeters.phuma.adaptation import T_POSE_JOINT_POS, range_98

#: (G1 hinge group, G1 parent body, human parent joint, human child joint).
JOINT_GROUPS: tuple[tuple[tuple[str, ...], str, str, str], ...] = tuple(
    g
    for side in ("left", "right")
    for g in (
        (
            tuple(f"{side}_hip_{a}_joint" for a in ("pitch", "roll", "yaw")),
            "pelvis",
            "pelvis",
            f"{side}_hip",
        ),
        ((f"{side}_knee_joint",), f"{side}_hip_yaw_link", f"{side}_hip", f"{side}_knee"),
        (
            tuple(f"{side}_ankle_{a}_joint" for a in ("pitch", "roll")),
            f"{side}_knee_link",
            f"{side}_knee",
            f"{side}_ankle",
        ),
        (
            tuple(f"{side}_shoulder_{a}_joint" for a in ("pitch", "roll", "yaw")),
            "torso_link",
            "spine3",
            f"{side}_shoulder",
        ),
        (
            (f"{side}_elbow_joint",),
            f"{side}_shoulder_yaw_link",
            f"{side}_shoulder",
            f"{side}_elbow",
        ),
        (
            tuple(f"{side}_wrist_{a}_joint" for a in ("roll", "pitch", "yaw")),
            f"{side}_elbow_link",
            f"{side}_elbow",
            f"{side}_wrist",
        ),
    )
) + ((("waist_yaw_joint", "waist_roll_joint", "waist_pitch_joint"), "pelvis", "pelvis", "spine3"),)

_AXES = "xyz"


def _axis_letter(axis: np.ndarray) -> str:
    k = int(np.argmax(np.abs(axis)))
    if not np.allclose(axis, np.eye(3)[k]):
        raise ValueError(f"hinge axis {axis} is not a positive coordinate axis")
    return _AXES[k]


@functools.lru_cache(maxsize=1)
def _group_plans() -> list[tuple]:
    """Per group: joint indices, Euler sequence, pre-rotation, angle offsets, rest rotations."""
    model = kinematic_model()
    qpos = np.concatenate([np.zeros(3), rot.IDENTITY_WXYZ, T_POSE_JOINT_POS])[None]
    _, tpose_quat = forward_kinematics(model, qpos)
    plans = []
    for joints, parent_body, h_parent, h_child in JOINT_GROUPS:
        jidx = [spec.joint_index(j) for j in joints]
        bodies = [j + 1 for j in jidx]  # body index (0..29) moved by each joint
        letters = [_axis_letter(model.jnt_axis[j + 1]) for j in jidx]
        seq = letters + [a for a in _AXES if a not in letters][: 3 - len(letters)]
        offsets = np.zeros(len(jidx))  # angle folded in from fixed link rotations
        for i, b in enumerate(bodies[1:], start=1):
            fixed = model.body_quat[b + 1]
            rv = rot.to_axis_angle(fixed)
            if np.linalg.norm(rv) < 1e-9:
                continue
            k = _AXES.index(letters[i])
            kp = _AXES.index(letters[i - 1])
            if np.allclose(rv / np.linalg.norm(rv) * np.sign(rv[k] or 1), np.eye(3)[k]):
                offsets[i] += rv[k]
            elif np.allclose(rv / np.linalg.norm(rv) * np.sign(rv[kp] or 1), np.eye(3)[kp]):
                offsets[i - 1] += rv[kp]
            else:
                raise ValueError(f"fixed rotation of body {b} is not about a neighbouring axis")
        pre = rot.to_matrix(model.body_quat[bodies[0] + 1])  # first body's fixed rotation
        rest_parent = rot.to_matrix(tpose_quat[0, spec.body_index(parent_body)])
        rest_end = rot.to_matrix(tpose_quat[0, bodies[-1]])
        plans.append(
            (np.array(jidx), "".join(seq).upper(), pre, offsets, rest_parent, rest_end,
             SMPL_JOINT_NAMES.index(h_parent), SMPL_JOINT_NAMES.index(h_child))
        )  # fmt: skip
    return plans


def _wrap(angle: np.ndarray, centre: np.ndarray) -> np.ndarray:
    return centre + (angle - centre + np.pi) % (2 * np.pi) - np.pi


def initial_joint_pos(human: HumanMotion) -> np.ndarray:
    """Joint positions (T, 29) [rad] reproducing the human's segment rotations, in 98% range."""
    lim = range_98()
    centre = lim.mean(axis=1)
    rest = rot.to_matrix(REST_QUAT_FACING_X)
    hrot = rot.to_matrix(human.joint_quat)  # (T, 24, 3, 3)
    q = np.zeros((human.n_frames, spec.NUM_JOINTS))
    for jidx, seq, pre, offsets, rest_parent, rest_end, hp, hc in _group_plans():
        rel = np.swapaxes(hrot[:, hp], -1, -2) @ hrot[:, hc]
        target = rest_parent.T @ rest @ rel @ rest.T @ rest_end  # (T, 3, 3) group rotation
        euler = Rotation.from_matrix(pre.T @ target).as_euler(seq)
        alt = np.stack([euler[:, 0] + np.pi, np.pi - euler[:, 1], euler[:, 2] + np.pi], axis=1)
        n = len(jidx)
        cands = [_wrap(e[:, :n] - offsets, centre[jidx]) for e in (euler, alt)]
        viol = [
            np.sum(np.maximum(c - lim[jidx, 1], 0) + np.maximum(lim[jidx, 0] - c, 0), axis=1)
            for c in cands
        ]
        choice = _choose_branch(cands, viol)
        q[:, jidx] = np.clip(choice, lim[jidx, 0], lim[jidx, 1])
    return q


#: Branch choice cost per radian of range violation, relative to one radian of change from the
#: previous frame: a branch inside the range wins unless it means a much larger jump.
BRANCH_VIOLATION_COST = 10.0


def _choose_branch(cands: list[np.ndarray], viol: list[np.ndarray]) -> np.ndarray:
    """Per frame the candidate of least cost: range violation, then change from the last frame.

    The first frame takes the principal Euler branch unless the other violates the range less.
    """
    a, b = cands
    out = np.empty_like(a)
    va, vb = BRANCH_VIOLATION_COST * viol[0], BRANCH_VIOLATION_COST * viol[1]
    out[0] = a[0] if va[0] <= vb[0] + 1e-9 else b[0]
    for t in range(1, a.shape[0]):
        prev = out[t - 1]
        ca = va[t] + np.abs(a[t] - prev).sum()
        cb = vb[t] + np.abs(b[t] - prev).sum()
        out[t] = a[t] if ca <= cb else b[t]
    return out
