"""Trackers for the evaluation environment: training-free baselines and trained policies.

Training-free baselines (:data:`BASELINES`): ``pd``, the PD servos track the next reference
frame's joint positions; ``pd-ff``, the same plus the reference's inverse-dynamics joint torques
as a feed-forward, folded into the PD target (:class:`PDFeedForwardPolicy`). Neither assists the
root. :class:`SB3Policy` runs a stable-baselines3 policy with its observation statistics.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import mujoco
import numpy as np

from benchmark.tracking.dynamics import ReferenceDynamics, reference_dynamics
from nmr_gym.g1 import spec

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
    """A stable-baselines3 policy with the observation statistics of its ``VecNormalize`` and
    the env observation it was trained on (``obs_mode``; ``evaluate`` builds the env with it)."""

    model: Any
    obs_mean: np.ndarray | None = None
    obs_var: np.ndarray | None = None
    clip_obs: float = 10.0
    epsilon: float = 1e-8
    obs_mode: str = "actor"
    #: Where its zero action puts the PD targets (``ActionConfig.offset`` of its training env).
    action_offset: str = "default"

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
            mode = _trained_obs_mode(zip_path, model)
            offset = _trained_action_offset(zip_path)
            return cls(
                model, vn.obs_rms.mean, vn.obs_rms.var, vn.clip_obs, vn.epsilon, mode, offset
            )
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


def _run_config(zip_path: Any) -> Any:
    """The ``config.json`` of the train-tracker run a policy file belongs to (beside model.zip,
    or above ``checkpoints/``)."""
    run_dir = zip_path.parent.parent if zip_path.parent.name == "checkpoints" else zip_path.parent
    return run_dir / "config.json"


def _trained_action_offset(zip_path: Any) -> str:
    """The action offset of the run (``config.json``; runs before the option: "default")."""
    import json

    config = _run_config(zip_path)
    if not config.is_file():
        return "default"
    return str(json.loads(config.read_text()).get("action_offset", "default"))


def _trained_obs_mode(zip_path: Any, model: Any) -> str:
    """The env observation a train-tracker policy was trained on: ``obs_mode`` of the run's
    ``config.json`` (beside model.zip, or above ``checkpoints/``), checked against the policy's
    input shape; without a config.json, the flat mode of that shape ("actor" 160, "nmr" 509)."""
    import json

    from nmr_gym.envs.tracking_env import observation_space
    from nmr_gym.errors import MotionFormatError

    config = _run_config(zip_path)
    shape = model.observation_space.shape
    if config.is_file():
        mode = json.loads(config.read_text()).get("obs_mode", "actor")  # older runs: actor
        if observation_space(mode).shape == shape:
            return mode
        raise MotionFormatError(
            f"the policy takes observations of shape {shape}, but {config} records obs_mode "
            f"{mode!r} of shape {observation_space(mode).shape}",
            zip_path,
        )
    flat = ("actor", "nmr")
    for mode in flat:
        if observation_space(mode).shape == shape:
            return mode
    raise MotionFormatError(
        f"the policy takes observations of shape {shape}, which no flat obs_mode has "
        f"({', '.join(f'{m}: {observation_space(m).shape}' for m in flat)})",
        zip_path,
    )
