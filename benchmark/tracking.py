"""Tracking evaluation: run a tracker (a PPO policy or a training-free baseline) on the
evaluation environment ``NMRTrack-G1-Eval-v0`` and score it per clip, plus MuJoCo inverse
dynamics of the reference itself.

Training-free baselines (:data:`BASELINES`): ``pd`` -- the PD servos track the next reference
frame's joint positions; ``pd-ff`` -- the same plus the reference's inverse-dynamics joint
torques as a feed-forward, folded into the PD target (:class:`PDFeedForwardPolicy`). Neither
assists the root.

Per clip (one episode from frame 0, no noise, pushes or randomisation):

- ``success``: 1 when both rules hold, else 0 -- (a) no early termination through the clip
  (BeyondMimic/mjlab) and (b) PHC's rule: the mean distance of the 14 tracked bodies to the
  reference never exceeds :data:`PHC_FAIL_DISTANCE` (0.5 m). Each rule is also reported
  (``success_no_termination``, ``success_phc``).
- ``track_mpjpe_m``: root-relative MPJPE over the 14 bodies [m] (pelvis subtracted from robot
  and reference); ``track_w_mpjpe_m``: world-frame MPJPE [m]; both averaged over the frames the
  episode lasted.
- ``track_w_mpjpe_clip_m``: W-MPJPE over the whole clip, the frames after an early
  termination counted at PHC's failure distance (0.5 m), so failing early scores worse.
- ``track_joint_error_rad``: mean absolute joint position error [rad]; ``episode_length`` and
  ``clip_length`` [control steps at 50 Hz].

Rows are keyed by ``motion`` and ``retargeter`` like the benchmark's rows, so
``benchmark.results.merge_tracking`` joins them to a results table.

Inverse dynamics (:func:`inverse_dynamics`): ``mj_inverse`` on the reference's qpos, qvel and
qacc without contacts gives the generalised force the motion needs; the ground can supply part
of the root's share through the feet (non-negative forces in linearised friction cones at the
foot contact spheres near the floor, fitted by non-negative least squares); what is left is the
residual root force [N] and torque [N m] -- a non-physical "hand of god" (lower is more
feasible). Joint torques are the joint part after subtracting contact forces from a second fit:
among the forces giving (almost exactly) that least-residual root wrench, the ones that need the
least joint effort (torques in units of their effort limits), because the first fit's solution
is a sparse vertex that jumps between feet from frame to frame. The fraction of frames where
any joint torque exceeds the G1 effort limits is reported. :func:`reference_dynamics` returns
the per-frame quantities (shared with the ``pd-ff`` baseline).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import mujoco
import numpy as np

from nmr_gym.g1 import spec
from nmr_gym.motion import RobotMotion

#: PHC's failure distance: mean body distance to the reference above this fails a clip [m].
PHC_FAIL_DISTANCE = 0.5
#: Inverse dynamics: a foot contact sphere counts as touching below this height [m].
CONTACT_HEIGHT = 0.02
#: Friction coefficient of the linearised friction cones (4 edges) used for the ground forces.
ID_FRICTION = 1.0
#: Inverse dynamics, second contact fit: weight [1/N] of the root-wrench rows against the joint
#: torques in units of their effort limits, so that 0.01 N of root wrench weighs as much as a
#: joint's whole effort limit (the root wrench of the first fit is kept almost exactly).
ID_ROOT_WEIGHT = 100.0
#: Inverse dynamics, second contact fit: weight [1/N] of the contact forces themselves (makes
#: the fit unique where forces inside one foot cancel out in every joint).
ID_FORCE_REGULARISATION = 1e-3
#: Torque-limit check tolerance: |tau| > (1 + tol) * limit counts as exceeding.
TORQUE_LIMIT_TOLERANCE = 0.0

Policy = Callable[[Any, Any], np.ndarray]  # (observation, unwrapped env) -> action


def pd_baseline_policy(obs: Any, env: Any) -> np.ndarray:
    """Training-free tracker: PD targets at the next reference frame's joint positions.

    The root is free (no assistance); the actuators are the environment's PD servos.
    """
    return env.action_for_joint_targets(env.reference_joint_pos(1))


def pd_gains(model: mujoco.MjModel) -> tuple[np.ndarray, np.ndarray]:
    """Stiffness kp [N m/rad] and damping kd [N m s/rad] (29,) of the position actuators, in
    G1 joint order, read from the compiled model (``gainprm[0]``, ``-biasprm[2]``)."""
    kp, kd = np.zeros(spec.NUM_JOINTS), np.zeros(spec.NUM_JOINTS)
    dof = model.jnt_dofadr[model.actuator_trnid[:, 0]] - 6  # actuator -> hinge index
    kp[dof] = model.actuator_gainprm[:, 0]
    kd[dof] = -model.actuator_biasprm[:, 2]
    return kp, kd


def feed_forward_offsets(
    dyn: ReferenceDynamics,
    joint_vel: np.ndarray,
    kp: np.ndarray,
    kd: np.ndarray,
    damping_compensation: bool = True,
) -> np.ndarray:
    """PD target offsets (T, 29) [rad] that make a position actuator add a torque feed-forward.

    MuJoCo's position actuator applies ``kp (ctrl - q) - kd qdot`` (its velocity target is 0).
    On the reference (q = q_ref, qdot = qdot_ref), ``ctrl = q_ref + offset`` applies
    ``kp offset - kd qdot_ref``; choosing ``offset = (tau_ff + kd qdot_ref) / kp`` makes it apply
    ``tau_ff`` there, and off the reference the servo acts on the errors
    ``kp (q_ref - q) + kd (qdot_ref - qdot)`` -- a PD with velocity target qdot_ref plus the
    feed-forward. ``damping_compensation=False`` drops the ``kd qdot_ref`` term (offset
    ``tau_ff / kp``). ``tau_ff`` is the inverse-dynamics joint torque clipped to the G1 effort
    limits; ``joint_vel`` (T, 29) [rad/s] is the reference's.
    """
    tau = np.clip(dyn.joint_torque_nm, -spec.EFFORT_LIMIT, spec.EFFORT_LIMIT)  # (T, 29)
    if damping_compensation:
        tau = tau + kd * joint_vel
    return tau / kp


@dataclass
class PDFeedForwardPolicy:
    """Training-free tracker "pd-ff": PD targets at the next reference frame plus a torque
    feed-forward from inverse dynamics, folded into the target (:func:`feed_forward_offsets`).

    Same call signature as :func:`pd_baseline_policy`. The offsets of every frame of the env's
    motion library are computed once (:func:`reference_dynamics` per clip on a copy of the env's
    model, with its PD gains) and cached per library; a step only indexes a row.

    Args:
        lookahead: reference frames ahead of the current one whose position, velocity and
            torque define the target (1, as the PD baseline).
        damping_compensation: add ``kd qdot_ref / kp`` so that the actuator's damping acts on
            the velocity error instead of the absolute velocity.
    """

    lookahead: int = 1
    damping_compensation: bool = True
    _cache: Any = field(
        default_factory=weakref.WeakKeyDictionary, init=False, repr=False, compare=False
    )

    def offsets(self, env: Any) -> np.ndarray:
        """Target offsets (N, 29) [rad] for every global frame of ``env.library`` (cached)."""
        lib = env.library
        out = self._cache.get(lib)
        if out is None:
            kp, kd = pd_gains(env.model)
            parts = []
            for clip in lib.motions:  # already resampled to the library's rate
                dyn = reference_dynamics(clip, lib.fps, env.model)
                parts.append(
                    feed_forward_offsets(dyn, clip.joint_vel, kp, kd, self.damping_compensation)
                )
            out = np.ascontiguousarray(np.concatenate(parts))  # (N, 29)
            self._cache[lib] = out
        return out

    def joint_targets(self, env: Any) -> np.ndarray:
        """PD targets (29,) [rad] for the env's current frame."""
        lib, clip = env.library, env.clip_index
        g = lib.frame(clip, env.clip_frame)
        k = min(g + self.lookahead, lib.frame(clip, int(lib.clip_length[clip]) - 1))
        return lib.joint_pos[k] + self.offsets(env)[k]

    def __call__(self, obs: Any, env: Any) -> np.ndarray:
        return env.action_for_joint_targets(self.joint_targets(env))


#: The "pd-ff" baseline (one shared instance: its cache is keyed by motion library).
pd_ff_baseline_policy = PDFeedForwardPolicy()

#: Training-free trackers by name (``nmr-bench eval-tracker NAME MOTION...``).
BASELINES: dict[str, Policy] = {"pd": pd_baseline_policy, "pd-ff": pd_ff_baseline_policy}


@dataclass
class SB3Policy:
    """A stable-baselines3 policy with the observation statistics of its ``VecNormalize``."""

    model: Any
    obs_mean: np.ndarray | None = None
    obs_var: np.ndarray | None = None
    clip_obs: float = 10.0
    epsilon: float = 1e-8

    @classmethod
    def load(cls, path: str) -> SB3Policy:
        """``path``: a training folder (model.zip + vecnormalize.pkl) or a model .zip."""
        import pickle
        from pathlib import Path

        from stable_baselines3 import PPO

        from nmr_gym.errors import MotionFormatError

        p = Path(path)
        zip_path = p / "model.zip" if p.is_dir() else p
        if not zip_path.is_file():
            raise MotionFormatError(
                "no policy here: expected a training folder with model.zip "
                "or a .zip saved by stable-baselines3",
                path,
            )
        model = PPO.load(str(zip_path), device="cpu")
        # Normalisation statistics beside the model: model.zip -> vecnormalize.pkl, a checkpoint
        # PREFIX_N_steps.zip -> PREFIX_vecnormalize_N_steps.pkl (stable-baselines3's naming).
        ckpt = re.fullmatch(r"(.*)_(\d+)_steps", zip_path.stem)
        candidates = [zip_path.with_name(zip_path.stem.replace("model", "vecnormalize") + ".pkl")]
        if ckpt:
            candidates.append(
                zip_path.with_name(f"{ckpt.group(1)}_vecnormalize_{ckpt.group(2)}_steps.pkl")
            )
        candidates.append(zip_path.parent / "vecnormalize.pkl")
        norm = next((c for c in candidates if c.is_file()), None)
        if norm is not None:
            with open(norm, "rb") as f:
                vn = pickle.load(f)  # our own training output (trusted)
            return cls(model, vn.obs_rms.mean, vn.obs_rms.var, vn.clip_obs, vn.epsilon)
        # train-tracker always normalises: a policy without its statistics would act on raw
        # observations and look broken, so say so instead of evaluating it.
        raise MotionFormatError(
            "no observation-normalisation statistics beside this policy (looked for "
            + ", ".join(c.name for c in candidates)
            + ")",
            path,
        )

    def __call__(self, obs: Any, env: Any) -> np.ndarray:
        o = np.asarray(obs, dtype=np.float32)
        if self.obs_mean is not None:
            o = np.clip(
                (o - self.obs_mean) / np.sqrt(self.obs_var + self.epsilon),
                -self.clip_obs,
                self.clip_obs,
            ).astype(np.float32)
        action, _ = self.model.predict(o, deterministic=True)
        return action


def run_episode(env: Any, policy: Policy, clip: int = 0, start: int = 0) -> dict[str, Any]:
    """One evaluation episode of clip ``clip`` from frame ``start`` to the clip's end;
    per-frame arrays and how it ended."""
    u = env.unwrapped
    obs, _ = env.reset(options={"clip": clip, "frame": start})
    start = u.clip_frame  # as the env clamps it
    rob, ref, qerr = [u.robot_body_pos_w()], [u.reference_body_pos_w()], []
    terminated = False
    reason = ""
    steps = 0
    while True:
        obs, _, terminated, truncated, info = env.step(policy(obs, u))
        steps += 1
        rob.append(u.robot_body_pos_w())
        ref.append(u.reference_body_pos_w())
        qerr.append(info["error_joint_pos"])
        if terminated or truncated:
            reason = info["termination"]
            break
    return {
        "robot_body_pos_w": np.array(rob),  # (steps + 1, 14, 3)
        "reference_body_pos_w": np.array(ref),
        "joint_error": np.array(qerr),  # (steps,)
        "terminated": bool(terminated),
        "termination": reason,
        "steps": steps,
        "clip_steps": int(u.library.clip_length[clip]) - 1 - start,
    }


def score_episode(ep: dict[str, Any]) -> dict[str, Any]:
    """Success (both rules), MPJPE, W-MPJPE, joint error and length of one episode."""
    rob, ref = ep["robot_body_pos_w"], ep["reference_body_pos_w"]
    dist = np.linalg.norm(rob - ref, axis=-1)  # (F, 14)
    root = spec.TRACKED_BODIES.index(spec.ROOT_BODY)
    rel = np.linalg.norm((rob - rob[:, root : root + 1]) - (ref - ref[:, root : root + 1]), axis=-1)
    phc_ok = bool(dist.mean(axis=1).max() <= PHC_FAIL_DISTANCE)
    no_term = not ep["terminated"] and ep["steps"] >= ep["clip_steps"]
    # Over the whole clip, frames after an early end counted at PHC's failure distance.
    missing = max(ep["clip_steps"] + 1 - dist.shape[0], 0)
    full = (dist.mean(axis=1).sum() + missing * PHC_FAIL_DISTANCE) / (dist.shape[0] + missing)
    return {
        "success": float(no_term and phc_ok),
        "success_no_termination": float(no_term),
        "success_phc": float(phc_ok),
        "track_mpjpe_m": float(rel.mean()),
        "track_w_mpjpe_m": float(dist.mean()),
        "track_w_mpjpe_clip_m": float(full),
        "track_joint_error_rad": float(ep["joint_error"].mean()) if ep["steps"] else 0.0,
        "episode_length": int(ep["steps"]),
        "clip_length": int(ep["clip_steps"]),
        "termination": ep["termination"],
    }


def evaluate(
    motions: Sequence[RobotMotion],
    policy: Policy,
    names: Sequence[str] | None = None,
    retargeters: Sequence[str] | None = None,
    obs_mode: str = "actor",
    tracker: str = "policy",
) -> list[dict[str, Any]]:
    """Rows (one per motion) of tracking results with ``motion`` and ``retargeter`` keys."""
    from nmr_gym.envs import G1TrackingEnv

    rows = []
    for i, motion in enumerate(motions):
        env = G1TrackingEnv(motion, evaluation=True, obs_mode=obs_mode)
        row = {
            "motion": names[i] if names else str(motion.metadata.get("name") or motion.source),
            "retargeter": retargeters[i]
            if retargeters
            else str(motion.metadata.get("retargeter", "")),
            "tracker": tracker,
        }
        row.update(score_episode(run_episode(env, policy)))
        env.close()
        rows.append(row)
    return rows


def _foot_spheres(model: mujoco.MjModel) -> tuple[np.ndarray, np.ndarray]:
    feet = [model.body(b).id for b in spec.FOOT_BODIES]
    sph = np.flatnonzero(
        (model.geom_type == mujoco.mjtGeom.mjGEOM_SPHERE) & np.isin(model.geom_bodyid, feet)
    )
    return sph, model.geom_size[sph, 0]


@dataclass(frozen=True)
class ReferenceDynamics:
    """Per-frame MuJoCo inverse dynamics of a reference (T frames at ``fps``).

    ``root_force_n`` (T, 3) [N] and ``root_torque_nm`` (T, 3) [N m]: the residual generalised
    force on the free joint that the fitted ground forces cannot supply (world-frame force, the
    torque in MuJoCo's free-joint convention, i.e. about the pelvis axes); ``joint_torque_nm``
    (T, 29) [N m]: the joint torques the motion needs, contact forces subtracted, G1 joint order.
    """

    fps: float
    root_force_n: np.ndarray  # (T, 3)
    root_torque_nm: np.ndarray  # (T, 3)
    joint_torque_nm: np.ndarray  # (T, 29)


def reference_dynamics(
    motion: RobotMotion, fps: float = 50.0, model: mujoco.MjModel | None = None
) -> ReferenceDynamics:
    """Per-frame inverse dynamics of ``motion`` resampled to ``fps`` (see the module docstring).

    ``model``: the MuJoCo model to use (copied; default ``nmr_gym.g1.tracking_model()``, whose
    joints carry the armatures the actuators must also accelerate). qacc is the central
    difference of qvel at ``fps``. One function for :func:`inverse_dynamics` (feasibility
    columns) and :class:`PDFeedForwardPolicy` (torque feed-forward).
    """
    import copy

    from scipy.optimize import nnls

    from nmr_gym.g1 import tracking_model

    m = tracking_model() if model is None else copy.copy(model)
    m.opt.disableflags |= int(mujoco.mjtDisableBit.mjDSBL_CONTACT)
    d = mujoco.MjData(m)
    ref = motion.resample(fps) if motion.fps != fps else motion
    qpos, qvel = ref.qpos, ref.qvel
    qacc = np.gradient(qvel, 1.0 / fps, axis=0)
    sph, radius = _foot_spheres(m)
    mu = ID_FRICTION
    # Force directions of the 4 friction-cone edges (world), each n + mu * t.
    edges = np.array([[mu, 0, 1], [-mu, 0, 1], [0, mu, 1], [0, -mu, 1]], float)
    edges /= np.linalg.norm(edges, axis=1, keepdims=True)
    jacp = np.zeros((3, m.nv))
    inv_limit = (1.0 / spec.EFFORT_LIMIT)[:, None]  # (29, 1)
    need_all = np.empty((ref.n_frames, m.nv))  # (T, 35)
    for t in range(ref.n_frames):
        d.qpos[:], d.qvel[:], d.qacc[:] = qpos[t], qvel[t], qacc[t]
        mujoco.mj_inverse(m, d)
        need = d.qfrc_inverse.copy()  # (nv,)
        touching = np.flatnonzero(d.geom_xpos[sph, 2] - radius <= CONTACT_HEIGHT)
        cols = []
        for g in sph[touching]:  # at most 8 contact points per frame
            point = d.geom_xpos[g] - np.array([0.0, 0.0, m.geom_size[g, 0]])
            mujoco.mj_jac(m, d, jacp, None, point, int(m.geom_bodyid[g]))
            cols.append(jacp.T @ edges.T)  # (nv, 4): generalised force per unit edge force
        if cols:
            basis = np.concatenate(cols, axis=1)  # (nv, k)
            coef, _ = nnls(basis[:6], need[:6])  # the least residual root wrench
            root = need[:6] - basis[:6] @ coef
            # Among the contact forces giving (almost) that root wrench, the ones needing the
            # least joint effort: a vertex of the first fit (NNLS is sparse) can put the whole
            # weight on one foot edge one frame and the other foot the next.
            k = basis.shape[1]
            system = np.concatenate(
                [
                    ID_ROOT_WEIGHT * basis[:6],
                    basis[6:] * inv_limit,
                    ID_FORCE_REGULARISATION * np.eye(k),
                ]
            )
            rhs = np.concatenate(
                [ID_ROOT_WEIGHT * (need[:6] - root), need[6:] * inv_limit[:, 0], np.zeros(k)]
            )
            coef, _ = nnls(system, rhs)
            need = need - basis @ coef
            need[:6] = root
        need_all[t] = need
    return ReferenceDynamics(
        fps=float(fps),
        root_force_n=need_all[:, :3],
        root_torque_nm=need_all[:, 3:6],
        joint_torque_nm=need_all[:, 6:],
    )


def inverse_dynamics(motion: RobotMotion, fps: float = 50.0) -> dict[str, float]:
    """Residual root force/torque and torque-limit violations of a reference motion.

    Returns ``id_root_force_n`` / ``id_root_torque_nm`` (mean over frames of the residual's
    norm), their maxima (``*_max``), and ``id_torque_limit_pct`` (percent of frames where any
    joint torque exceeds its effort limit).
    """
    dyn = reference_dynamics(motion, fps)
    force = np.linalg.norm(dyn.root_force_n, axis=1)
    torque = np.linalg.norm(dyn.root_torque_nm, axis=1)
    limit = spec.EFFORT_LIMIT * (1.0 + TORQUE_LIMIT_TOLERANCE)
    over = np.any(np.abs(dyn.joint_torque_nm) > limit, axis=1)
    return {
        "id_root_force_n": float(force.mean()),
        "id_root_force_n_max": float(force.max()),
        "id_root_torque_nm": float(torque.mean()),
        "id_root_torque_nm_max": float(torque.max()),
        "id_torque_limit_pct": 100.0 * float(np.mean(over)),
    }


def resolve_motion_specs(
    specs: Sequence[str], retargeter: str = "gmr", load: Callable[[str], Any] | None = None
) -> list[RobotMotion]:
    """Reference motions for the command line.

    Each spec is ``builtin:NAME`` or a built-in suite clip name (retargeted with ``retargeter``,
    cached), ``builtin`` (the whole suite), a robot motion file (used as is), or a human motion
    file (retargeted with ``retargeter``). ``load(path)`` reads a file (default
    ``nmr_gym.io.load_motion``). Every motion's metadata has ``name`` and ``retargeter``.
    """
    from pathlib import Path

    from nmr_gym import suite
    from nmr_gym.envs.motion_source import builtin_reference, retarget
    from nmr_gym.errors import UnknownNameError
    from nmr_gym.motion import HumanMotion

    if load is None:
        from nmr_gym.io import load_motion as load
    names = suite.clip_names()
    out: list[RobotMotion] = []
    for s in specs:
        if s == "builtin":
            out.extend(builtin_reference(n, retargeter) for n in names)
            continue
        clip = s.removeprefix("builtin:")
        if s.startswith("builtin:") or (clip in names and not Path(s).exists()):
            if clip not in names:
                raise UnknownNameError("built-in clip", clip, names)
            out.append(builtin_reference(clip, retargeter))
            continue
        motion = load(s)
        if isinstance(motion, HumanMotion):
            motion = retarget(retargeter, motion)
            motion = motion.replace(
                metadata={**motion.metadata, "name": Path(s).stem, "retargeter": retargeter}
            )
        else:
            meta = dict(motion.metadata)
            meta.setdefault("name", Path(s).stem)
            meta.setdefault("retargeter", meta.get("format", "file"))
            motion = motion.replace(metadata=meta)
        out.append(motion)
    return out
