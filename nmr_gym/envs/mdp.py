"""The tracking MDP as tables of terms: rewards, terminations and observations.

Every term is a pure function of a :class:`TermInputs` (N robots and their reference frames,
arrays with a leading env axis) and its keyword parameters, returning an array with that leading
axis; the environment uses each term through a table ``name -> (function, weight, params)``
(mjlab's manager-based style). Changing a sigma or a weight, or adding a term, is one entry in a
table; :class:`~nmr_gym.envs.tracking_env.G1TrackingEnv` (N = 1) and
:class:`~nmr_gym.envs.vector_env.G1TrackingVecEnv` run the same tables.

The default tables are BeyondMimic's whole-body tracking MDP (Liao et al., "BeyondMimic", 2025):
tracking rewards ``exp(-e / sigma^2)`` of a squared error ``e`` (body terms averaged over the 14
tracked bodies, body targets re-anchored: the reference turned to the robot anchor's heading and
moved to its xy, keeping the reference heights), three regularisers, three terminations, and an
actor observation of 160 and a privileged critic observation of 286 entries. The NMR paper
("Make Tracking Easy: Neural Motion Retargeting for Humanoid Whole-body Control", Table I) gives
the 509-entry expert observation (:data:`NMR_OBSERVATION`) and the expert reward set
(:data:`NMR_EXPERT_REWARDS`).

The environment's reward is ``dt * sum_k weight_k * term_k``. Shapes: N robots, B = 14 tracked
bodies, J = 29 joints.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from nmr_gym import rotations as rot
from nmr_gym.envs.motion_library import ANCHOR_IN_TRACKED, END_EFFECTORS_IN_TRACKED, MotionLibrary
from nmr_gym.g1 import spec

NJ = spec.NUM_JOINTS
NB = len(spec.TRACKED_BODIES)


# ------------------------------------------------------------------------------------- inputs
@dataclass
class RobotBatch:
    """What the terms read from N robots after a step (world frame unless stated)."""

    qpos: np.ndarray  # (N, 36) free joint (pos [m], quat wxyz) then joints [rad]
    qvel: np.ndarray  # (N, 35) free joint (lin world [m/s], ang pelvis frame [rad/s]), joints
    body_pos_w: np.ndarray  # (N, B, 3) tracked bodies [m]
    body_quat_w: np.ndarray  # (N, B, 4) wxyz
    body_vel6_w: np.ndarray  # (N, B, 6) [angular rad/s, linear m/s at the body origin]
    anchor_mat_w: np.ndarray  # (N, 3, 3)
    pelvis_mat_w: np.ndarray  # (N, 3, 3)

    @property
    def anchor_pos_w(self) -> np.ndarray:  # (N, 3)
        return self.body_pos_w[:, ANCHOR_IN_TRACKED]

    @cached_property
    def body_mat_w(self) -> np.ndarray:  # (N, B, 3, 3), only the critic reads it
        return rot.to_matrix(self.body_quat_w)


def body_vel6(cvel: np.ndarray, body_pos_w: np.ndarray, com_w: np.ndarray) -> np.ndarray:
    """Body velocities [rot, lin] at each body origin (N, B, 6) from MuJoCo's ``cvel``.

    ``cvel`` (N, B, 6) is about the subtree CoM ``com_w`` (N, 3) in world axes: the linear part
    moves to the body origin as v + w x (p - com).
    """
    out = cvel.copy()
    w, r = cvel[..., :3], body_pos_w - com_w[:, None, :]
    # w x r written out: np.cross costs twice as much on these small arrays.
    out[..., 3] += w[..., 1] * r[..., 2] - w[..., 2] * r[..., 1]
    out[..., 4] += w[..., 2] * r[..., 0] - w[..., 0] * r[..., 2]
    out[..., 5] += w[..., 0] * r[..., 1] - w[..., 1] * r[..., 0]
    return out


@dataclass
class TermInputs:
    """Everything a term reads: N robots, their reference frames and their actions.

    The tracking errors are computed once per step (cached properties) and shared by the reward
    terms and the ``error_*`` info entries.
    """

    lib: MotionLibrary
    g: np.ndarray  # (N,) global reference frame of each robot
    robot: RobotBatch
    action: np.ndarray  # (N, J) this step's clipped action
    last_action: np.ndarray  # (N, J) the previous action
    q_default: np.ndarray  # (N, J) default joint positions (with the randomised offset) [rad]
    soft_lower: np.ndarray  # (J,) soft joint limits [rad]
    soft_upper: np.ndarray  # (J,)
    n_undesired: np.ndarray  # (N,) bodies other than feet and hands touching something

    # -- reference quantities at the robots' frames
    @cached_property
    def ref_anchor_pos_w(self) -> np.ndarray:  # (N, 3)
        return self.lib.anchor_pos_w[self.g]

    @cached_property
    def ref_anchor_mat_w(self) -> np.ndarray:  # (N, 3, 3)
        return self.lib.anchor_mat_w[self.g]

    # -- shared errors
    @cached_property
    def anchor_pos_err_sq(self) -> np.ndarray:
        """|p_ref - p_robot|^2 of the anchor (N,) [m^2]."""
        d = self.ref_anchor_pos_w - self.robot.anchor_pos_w
        return np.einsum("ni,ni->n", d, d)

    @cached_property
    def anchor_ori_err(self) -> np.ndarray:
        """Rotation angle between the reference and robot anchors (N,) [rad]."""
        return rot.angle_between(
            self.lib.anchor_quat_w[self.g], self.robot.body_quat_w[:, ANCHOR_IN_TRACKED]
        )

    @cached_property
    def yaw(self) -> np.ndarray:
        """Heading [rad] (N,) of R_robot R_ref^T of the anchors: turns the reference onto the
        robot (its first column is R_robot @ row 0 of R_ref)."""
        col = np.einsum("nij,nj->ni", self.robot.anchor_mat_w, self.ref_anchor_mat_w[:, 0])
        return np.arctan2(col[:, 1], col[:, 0])

    @cached_property
    def reanchored_body_pos_w(self) -> np.ndarray:
        """Reference bodies turned by :attr:`yaw` about the anchor, moved to the robot anchor's
        xy, keeping the reference heights (N, B, 3) [m]."""
        c, s = np.cos(self.yaw)[:, None], np.sin(self.yaw)[:, None]
        rel = self.lib.body_rel_anchor_w[self.g]
        anchor, ref_z = self.robot.anchor_pos_w, self.ref_anchor_pos_w[:, 2]
        out = np.empty_like(rel)
        out[..., 0] = c * rel[..., 0] - s * rel[..., 1] + anchor[:, None, 0]
        out[..., 1] = s * rel[..., 0] + c * rel[..., 1] + anchor[:, None, 1]
        out[..., 2] = rel[..., 2] + ref_z[:, None]
        return out

    @cached_property
    def body_pos_err_sq(self) -> np.ndarray:
        """Mean over bodies of |p_ref,reanchored - p_robot|^2 (N,) [m^2]."""
        e = self.reanchored_body_pos_w - self.robot.body_pos_w
        return np.einsum("nbi,nbi->n", e, e) / e.shape[1]

    @cached_property
    def body_ori_err_sq(self) -> np.ndarray:
        """Mean over bodies of the squared angle between q_yaw * q_ref and q_robot (N,)."""
        half = 0.5 * self.yaw
        zero = np.zeros_like(half)
        q_yaw = np.stack([np.cos(half), zero, zero, np.sin(half)], -1)[:, None, :]
        ang = rot.angle_between(
            rot.multiply(q_yaw, self.lib.body_quat_w[self.g]), self.robot.body_quat_w
        )
        return np.einsum("nb,nb->n", ang, ang) / ang.shape[1]

    @cached_property
    def body_vel_err_sq(self) -> np.ndarray:
        """Mean over bodies of the squared angular and linear velocity errors (N, 2)."""
        ev = self.lib.body_vel6_w[self.g] - self.robot.body_vel6_w
        sq = np.einsum("nbi,nbi->ni", ev, ev)
        nb = ev.shape[1]
        return np.stack([sq[:, :3].sum(1) / nb, sq[:, 3:].sum(1) / nb], 1)

    @cached_property
    def anchor_lin_vel_err_sq(self) -> np.ndarray:
        """|v_ref - v_robot|^2 of the anchor's linear velocity (N,) [m^2/s^2]."""
        a = ANCHOR_IN_TRACKED
        ev = self.lib.body_vel6_w[self.g, a, 3:] - self.robot.body_vel6_w[:, a, 3:]
        return np.einsum("ni,ni->n", ev, ev)

    @cached_property
    def joint_pos_err(self) -> np.ndarray:
        """Mean absolute joint position error (N,) [rad]."""
        return np.abs(self.robot.qpos[:, 7:] - self.lib.joint_pos[self.g]).mean(1)


# ------------------------------------------------------------------------------ reward terms
def anchor_pos(s: TermInputs, sigma: float) -> np.ndarray:
    """exp(-|p_ref - p_robot|^2 / sigma^2) of the anchor (torso) position; sigma [m]."""
    return np.exp(-s.anchor_pos_err_sq / sigma**2)


def anchor_ori(s: TermInputs, sigma: float) -> np.ndarray:
    """exp(-angle(q_ref, q_robot)^2 / sigma^2) of the anchor orientation; sigma [rad]."""
    return np.exp(-(s.anchor_ori_err**2) / sigma**2)


def anchor_lin_vel(s: TermInputs, sigma: float) -> np.ndarray:
    """exp(-|v_ref - v_robot|^2 / sigma^2) of the anchor's linear velocity; sigma [m/s]."""
    return np.exp(-s.anchor_lin_vel_err_sq / sigma**2)


def body_pos(s: TermInputs, sigma: float) -> np.ndarray:
    """exp(-mean_b |p_ref,b - p_robot,b|^2 / sigma^2), re-anchored reference; sigma [m]."""
    return np.exp(-s.body_pos_err_sq / sigma**2)


def body_ori(s: TermInputs, sigma: float) -> np.ndarray:
    """exp(-mean_b angle(q_yaw q_ref,b, q_robot,b)^2 / sigma^2); sigma [rad]."""
    return np.exp(-s.body_ori_err_sq / sigma**2)


def body_lin_vel(s: TermInputs, sigma: float) -> np.ndarray:
    """exp(-mean_b |v_ref,b - v_robot,b|^2 / sigma^2), world frame; sigma [m/s]."""
    return np.exp(-s.body_vel_err_sq[:, 1] / sigma**2)


def body_ang_vel(s: TermInputs, sigma: float) -> np.ndarray:
    """exp(-mean_b |w_ref,b - w_robot,b|^2 / sigma^2), world frame; sigma [rad/s]."""
    return np.exp(-s.body_vel_err_sq[:, 0] / sigma**2)


def action_rate(s: TermInputs) -> np.ndarray:
    """|a_t - a_{t-1}|^2 (N,)."""
    da = s.action - s.last_action
    return np.einsum("nj,nj->n", da, da)


def joint_limit(s: TermInputs) -> np.ndarray:
    """Sum over joints of how far each is outside its soft limits (N,) [rad]."""
    q = s.robot.qpos[:, 7:]
    return (np.maximum(s.soft_lower - q, 0.0) + np.maximum(q - s.soft_upper, 0.0)).sum(1)


def undesired_contacts(s: TermInputs) -> np.ndarray:
    """Number of bodies other than the feet and hands whose contact force exceeds the env's
    ``undesired_contact_force`` (N,), counted by the physics step."""
    return np.asarray(s.n_undesired, dtype=float)


@dataclass(frozen=True)
class RewardTerm:
    """One reward term: ``weight * func(inputs, **params)`` (before the factor ``dt``)."""

    func: Callable[..., np.ndarray]
    weight: float
    params: Mapping[str, float] = field(default_factory=dict)

    def __call__(self, s: TermInputs) -> np.ndarray:
        return self.func(s, **self.params)


#: BeyondMimic's reward terms (name -> term); info keys are ``"reward_" + name``.
BEYONDMIMIC_REWARDS: dict[str, RewardTerm] = {
    "anchor_pos": RewardTerm(anchor_pos, 0.5, {"sigma": 0.3}),
    "anchor_ori": RewardTerm(anchor_ori, 0.5, {"sigma": 0.4}),
    "body_pos": RewardTerm(body_pos, 1.0, {"sigma": 0.3}),
    "body_ori": RewardTerm(body_ori, 1.0, {"sigma": 0.4}),
    "body_lin_vel": RewardTerm(body_lin_vel, 1.0, {"sigma": 1.0}),
    "body_ang_vel": RewardTerm(body_ang_vel, 1.0, {"sigma": 3.14}),
    "action_rate": RewardTerm(action_rate, -0.1),
    "joint_limit": RewardTerm(joint_limit, -10.0),
    "undesired_contacts": RewardTerm(undesired_contacts, -0.1),
}

#: The NMR paper's expert reward set (CEPR expert training, its Table II): anchor position,
#: orientation and (linear) velocity and the four body terms at weight 1, action rate and
#: undesired contacts at -0.1, built from BeyondMimic's terms so each sigma is written once
#: (the anchor velocity term is the paper's addition). The paper anneals the sigmas
#: during training (its Eq. 6, see :class:`SigmaSchedule`).
NMR_EXPERT_REWARDS: dict[str, RewardTerm] = {
    "anchor_pos": replace(BEYONDMIMIC_REWARDS["anchor_pos"], weight=1.0),
    "anchor_ori": replace(BEYONDMIMIC_REWARDS["anchor_ori"], weight=1.0),
    "anchor_lin_vel": RewardTerm(anchor_lin_vel, 1.0, {"sigma": 1.0}),
    **{
        k: BEYONDMIMIC_REWARDS[k]  # frozen terms: shared, not copied
        for k in ("body_pos", "body_ori", "body_lin_vel", "body_ang_vel", "action_rate")
    },
    "undesired_contacts": BEYONDMIMIC_REWARDS["undesired_contacts"],
}

#: Named reward tables (``TrackingConfig(rewards="nmr_expert")``).
REWARD_PRESETS: dict[str, dict[str, RewardTerm]] = {
    "beyondmimic": BEYONDMIMIC_REWARDS,
    "nmr_expert": NMR_EXPERT_REWARDS,
}

#: Tracking errors reported in ``info`` as ``"error_" + name`` (not rewards).
ERRORS: dict[str, Callable[[TermInputs], np.ndarray]] = {
    "anchor_pos": lambda s: np.sqrt(s.anchor_pos_err_sq),  # [m]
    "anchor_ori": lambda s: s.anchor_ori_err,  # [rad]
    "body_pos": lambda s: np.sqrt(s.body_pos_err_sq),  # RMS over bodies [m]
    "body_ori": lambda s: np.sqrt(s.body_ori_err_sq),  # RMS over bodies [rad]
    "joint_pos": lambda s: s.joint_pos_err,  # mean absolute [rad]
}


# ------------------------------------------------------------------------- termination terms
def anchor_height(s: TermInputs, threshold: float) -> np.ndarray:
    """|z_ref - z_robot| of the anchor > threshold [m] (N,) bool."""
    return np.abs(s.ref_anchor_pos_w[:, 2] - s.robot.anchor_pos_w[:, 2]) > threshold


def anchor_tilt(s: TermInputs, threshold: float) -> np.ndarray:
    """|g_z,ref - g_z,robot| > threshold (N,) bool, with g_z = -R[2, 2] the z component of
    world gravity (0, 0, -1) in the anchor frame."""
    return np.abs(s.ref_anchor_mat_w[:, 2, 2] - s.robot.anchor_mat_w[:, 2, 2]) > threshold


def end_effector_height(s: TermInputs, threshold: float) -> np.ndarray:
    """Any foot or hand whose height differs from the reference's by more than threshold [m]
    (the re-anchored reference keeps its heights) (N,) bool."""
    err = np.abs(s.lib.ee_z[s.g] - s.robot.body_pos_w[:, END_EFFECTORS_IN_TRACKED, 2])
    return err.max(1) > threshold


@dataclass(frozen=True)
class TerminationTerm:
    """One termination rule: ``func(inputs, **params)`` -> (N,) bool."""

    func: Callable[..., np.ndarray]
    params: Mapping[str, float] = field(default_factory=dict)

    def __call__(self, s: TermInputs) -> np.ndarray:
        return self.func(s, **self.params)


#: BeyondMimic's terminations, checked in this order (the first that fires is reported in
#: ``info["termination"]``; time-out and the clip's end are truncations).
BEYONDMIMIC_TERMINATIONS: dict[str, TerminationTerm] = {
    "anchor_height": TerminationTerm(anchor_height, {"threshold": 0.25}),
    "anchor_tilt": TerminationTerm(anchor_tilt, {"threshold": 0.8}),
    "end_effector_height": TerminationTerm(end_effector_height, {"threshold": 0.25}),
}


# ------------------------------------------------------------------------- observation terms
def command(s: TermInputs) -> np.ndarray:
    """Reference joint positions [rad] then velocities [rad/s] (N, 2J)."""
    return s.lib.command[s.g]


def motion_anchor_pos_b(s: TermInputs) -> np.ndarray:
    """Reference anchor position in the robot anchor frame (N, 3) [m]."""
    d = s.ref_anchor_pos_w - s.robot.anchor_pos_w
    return np.einsum("ni,nij->nj", d, s.robot.anchor_mat_w)


def motion_anchor_ori_b(s: TermInputs) -> np.ndarray:
    """First two columns of R_robot^T R_ref of the anchors, row-major (N, 6)."""
    rel = np.matmul(s.robot.anchor_mat_w.transpose(0, 2, 1), s.ref_anchor_mat_w)
    return rel[:, :, :2].reshape(-1, 6)


def body_pos_b(s: TermInputs) -> np.ndarray:
    """Robot tracked-body positions in the robot anchor frame (N, 3B) [m]."""
    rel = s.robot.body_pos_w - s.robot.anchor_pos_w[:, None, :]
    return np.einsum("nbi,nij->nbj", rel, s.robot.anchor_mat_w).reshape(len(s.g), -1)


def body_ori_b(s: TermInputs) -> np.ndarray:
    """Robot tracked-body orientations in the robot anchor frame, 6D (N, 6B)."""
    rel = np.matmul(s.robot.anchor_mat_w.transpose(0, 2, 1)[:, None], s.robot.body_mat_w)
    return rel[..., :2].reshape(len(s.g), -1)


def base_lin_vel(s: TermInputs) -> np.ndarray:
    """Pelvis linear velocity in the pelvis frame (N, 3) [m/s]."""
    return np.einsum("ni,nij->nj", s.robot.qvel[:, :3], s.robot.pelvis_mat_w)


def base_ang_vel(s: TermInputs) -> np.ndarray:
    """Pelvis angular velocity in the pelvis frame (N, 3) [rad/s]."""
    return s.robot.qvel[:, 3:6]


def joint_pos_rel(s: TermInputs) -> np.ndarray:
    """Joint positions minus the default joint positions (N, J) [rad]."""
    return s.robot.qpos[:, 7:] - s.q_default


def joint_vel(s: TermInputs) -> np.ndarray:
    """Joint velocities (N, J) [rad/s]."""
    return s.robot.qvel[:, 6:]


def last_action(s: TermInputs) -> np.ndarray:
    """The last action (N, J)."""
    return s.action


def ref_joint_pos(s: TermInputs) -> np.ndarray:
    """Reference joint positions (N, J) [rad]."""
    return s.lib.joint_pos[s.g]


def ref_joint_vel(s: TermInputs) -> np.ndarray:
    """Reference joint velocities (N, J) [rad/s]."""
    return s.lib.joint_vel[s.g]


def ref_body_pos_w(s: TermInputs) -> np.ndarray:
    """Reference tracked-body positions, world (N, 3B) [m]."""
    return s.lib.body_pos_w[s.g].reshape(len(s.g), -1)


def ref_body_lin_vel_w(s: TermInputs) -> np.ndarray:
    """Reference tracked-body linear velocities, world (N, 3B) [m/s]."""
    return s.lib.body_lin_vel_w[s.g].reshape(len(s.g), -1)


def ref_body_quat_w(s: TermInputs) -> np.ndarray:
    """Reference tracked-body orientations, world, wxyz (N, 4B)."""
    return s.lib.body_quat_w[s.g].reshape(len(s.g), -1)


def ref_body_ang_vel_w(s: TermInputs) -> np.ndarray:
    """Reference tracked-body angular velocities, world (N, 3B) [rad/s]."""
    return s.lib.body_ang_vel_w[s.g].reshape(len(s.g), -1)


def robot_body_pos_w(s: TermInputs) -> np.ndarray:
    """Robot tracked-body positions, world (N, 3B) [m]."""
    return s.robot.body_pos_w.reshape(len(s.g), -1)


def robot_body_lin_vel_w(s: TermInputs) -> np.ndarray:
    """Robot tracked-body linear velocities at the body origins, world (N, 3B) [m/s]."""
    return s.robot.body_vel6_w[..., 3:].reshape(len(s.g), -1)


def robot_body_quat_w(s: TermInputs) -> np.ndarray:
    """Robot tracked-body orientations, world, wxyz (N, 4B)."""
    return s.robot.body_quat_w.reshape(len(s.g), -1)


def robot_body_ang_vel_w(s: TermInputs) -> np.ndarray:
    """Robot tracked-body angular velocities, world (N, 3B) [rad/s]."""
    return s.robot.body_vel6_w[..., :3].reshape(len(s.g), -1)


@dataclass(frozen=True)
class ObservationTerm:
    """One observation term: ``func(inputs)`` -> (N, size), with uniform noise U(-noise, noise)
    added in training (actor observations only)."""

    func: Callable[[TermInputs], np.ndarray]
    size: int
    meaning: str
    noise: float = 0.0


#: BeyondMimic's actor observation (160), in its order; noise half-widths are BeyondMimic's.
ACTOR_OBSERVATION: dict[str, ObservationTerm] = {
    "command": ObservationTerm(command, 2 * NJ, "reference joint pos [rad] then vel [rad/s]"),
    "motion_anchor_pos_b": ObservationTerm(
        motion_anchor_pos_b, 3, "reference anchor position, robot anchor frame [m]", 0.25
    ),
    "motion_anchor_ori_b": ObservationTerm(
        motion_anchor_ori_b, 6, "reference anchor orientation, robot anchor frame (6D)", 0.05
    ),
    "base_lin_vel": ObservationTerm(base_lin_vel, 3, "pelvis linear vel, pelvis frame [m/s]", 0.5),
    "base_ang_vel": ObservationTerm(
        base_ang_vel, 3, "pelvis angular vel, pelvis frame [rad/s]", 0.2
    ),
    "joint_pos": ObservationTerm(joint_pos_rel, NJ, "joint pos minus default [rad]", 0.01),
    "joint_vel": ObservationTerm(joint_vel, NJ, "joint velocities [rad/s]", 0.5),
    "actions": ObservationTerm(last_action, NJ, "last action"),
}

#: BeyondMimic's privileged critic observation (286): no noise, plus the robot's tracked bodies
#: in the robot anchor frame.
CRITIC_OBSERVATION: dict[str, ObservationTerm] = {
    "command": replace(ACTOR_OBSERVATION["command"]),
    "motion_anchor_pos_b": replace(ACTOR_OBSERVATION["motion_anchor_pos_b"], noise=0.0),
    "motion_anchor_ori_b": replace(ACTOR_OBSERVATION["motion_anchor_ori_b"], noise=0.0),
    "body_pos": ObservationTerm(body_pos_b, 3 * NB, "robot bodies, robot anchor frame [m]"),
    "body_ori": ObservationTerm(body_ori_b, 6 * NB, "robot bodies, robot anchor frame (6D)"),
    **{
        k: replace(ACTOR_OBSERVATION[k], noise=0.0)
        for k in ("base_lin_vel", "base_ang_vel", "joint_pos", "joint_vel", "actions")
    },
}

#: The NMR paper's expert observation (its Table I, 509): reference state, then the robot's
#: world-frame bodies and joints, then the previous action. Quaternions wxyz.
NMR_OBSERVATION: dict[str, ObservationTerm] = {
    "ref_joint_pos": ObservationTerm(ref_joint_pos, NJ, "reference joint positions [rad]"),
    "ref_joint_vel": ObservationTerm(ref_joint_vel, NJ, "reference joint velocities [rad/s]"),
    "ref_body_pos_w": ObservationTerm(ref_body_pos_w, 3 * NB, "reference bodies, world [m]"),
    "ref_body_lin_vel_w": ObservationTerm(
        ref_body_lin_vel_w, 3 * NB, "reference body linear vel, world [m/s]"
    ),
    "ref_body_quat_w": ObservationTerm(ref_body_quat_w, 4 * NB, "reference body quats, world"),
    "ref_body_ang_vel_w": ObservationTerm(
        ref_body_ang_vel_w, 3 * NB, "reference body angular vel, world [rad/s]"
    ),
    "body_pos_w": ObservationTerm(robot_body_pos_w, 3 * NB, "robot bodies, world [m]"),
    "body_lin_vel_w": ObservationTerm(
        robot_body_lin_vel_w, 3 * NB, "robot body linear vel, world [m/s]"
    ),
    "body_quat_w": ObservationTerm(robot_body_quat_w, 4 * NB, "robot body quats, world"),
    "body_ang_vel_w": ObservationTerm(
        robot_body_ang_vel_w, 3 * NB, "robot body angular vel, world [rad/s]"
    ),
    "joint_pos": ObservationTerm(joint_pos_rel, NJ, "joint pos minus default [rad]"),
    "joint_vel": ObservationTerm(joint_vel, NJ, "joint velocities [rad/s]"),
    "actions": ObservationTerm(last_action, NJ, "previous action"),
}

#: Observation groups by name; ``obs_mode`` picks one, or "dict" = {"policy": actor, "critic":
#: critic}.
OBSERVATION_GROUPS: dict[str, dict[str, ObservationTerm]] = {
    "actor": ACTOR_OBSERVATION,
    "critic": CRITIC_OBSERVATION,
    "nmr": NMR_OBSERVATION,
}
#: ``obs_mode`` values: a group name or "dict".
OBS_MODES: tuple[str, ...] = ("actor", "critic", "dict", "nmr")


@dataclass(frozen=True)
class LayoutEntry:
    """Where a term lies in a flat observation."""

    name: str
    slice: slice
    meaning: str


def layout(group: Mapping[str, ObservationTerm]) -> tuple[LayoutEntry, ...]:
    """The flat layout of an observation group: (name, slice, meaning) per term, in order."""
    out, i = [], 0
    for name, t in group.items():
        out.append(LayoutEntry(name, slice(i, i + t.size), t.meaning))
        i += t.size
    return tuple(out)


def slices(group: Mapping[str, ObservationTerm]) -> dict[str, slice]:
    """Name -> slice of each term of ``group`` in its flat observation."""
    return {e.name: e.slice for e in layout(group)}


def size(group: Mapping[str, ObservationTerm]) -> int:
    return sum(t.size for t in group.values())


def noise_scale(group: Mapping[str, ObservationTerm]) -> np.ndarray:
    """Per-entry uniform-noise half-width of ``group`` (size,)."""
    return np.concatenate([np.full(t.size, t.noise) for t in group.values()])


def observe(group: Mapping[str, ObservationTerm], s: TermInputs) -> np.ndarray:
    """The flat observation (N, size) of ``group``, float64, without noise."""
    return np.concatenate([t.func(s) for t in group.values()], axis=1)


# ---------------------------------------------------------------------------- table helpers
def resolve_rewards(rewards: str | Mapping[str, RewardTerm]) -> dict[str, RewardTerm]:
    """A reward table from a preset name or a table (copied)."""
    if isinstance(rewards, str):
        if rewards not in REWARD_PRESETS:
            from nmr_gym.errors import UnknownNameError

            raise UnknownNameError("reward preset", rewards, tuple(REWARD_PRESETS))
        return dict(REWARD_PRESETS[rewards])
    return dict(rewards)


def with_params(
    table: Mapping[str, Any], name: str, weight: float | None = None, **params: float
) -> dict[str, Any]:
    """A copy of ``table`` with term ``name``'s weight and/or params changed."""
    if name not in table:
        from nmr_gym.errors import UnknownNameError

        raise UnknownNameError("MDP term", name, tuple(table))
    term = table[name]
    unknown = set(params) - set(term.params)
    if unknown:
        raise ValueError(
            f"term {name!r} has no parameter(s) {sorted(unknown)}; its parameters: "
            f"{sorted(term.params)}"
        )
    changes: dict[str, Any] = {"params": {**term.params, **params}}
    if weight is not None:
        changes["weight"] = float(weight)
    return {**table, name: replace(term, **changes)}


@dataclass(frozen=True)
class SigmaSchedule:
    """Linear annealing of reward widths (the NMR paper's Eq. 6):
    ``sigma(i) = start + (end - start) * clip((i - i0) / (i_max - i0), 0, 1)``.

    ``start``/``end`` map reward term names to sigma values; ``i`` counts whatever the caller
    steps (environment steps or training iterations).
    """

    start: Mapping[str, float]
    end: Mapping[str, float]
    i_max: int
    i0: int = 0

    def __post_init__(self):
        if set(self.start) != set(self.end):
            raise ValueError(
                f"sigma schedule: start has {sorted(self.start)}, end has {sorted(self.end)}"
            )
        if self.i_max <= self.i0:
            raise ValueError(f"sigma schedule: i_max ({self.i_max}) must exceed i0 ({self.i0})")

    def at(self, i: int) -> dict[str, float]:
        """Each term's sigma at step ``i``."""
        f = min(max((i - self.i0) / (self.i_max - self.i0), 0.0), 1.0)
        return {k: self.start[k] + (self.end[k] - self.start[k]) * f for k in self.start}
