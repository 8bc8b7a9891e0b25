"""Typed configuration of the tracking MDP; every default is BeyondMimic's value.

``TrackingConfig`` groups the numbers by concern (actions, observations, rewards, terminations,
reset, sampling, randomisation). Rates are never typed: the control period is the model's
timestep times ``decimation``, and durations are given in seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from nmr_gym.envs import mdp
from nmr_gym.envs import randomization as dr
from nmr_gym.envs.sampling import FAILURE_EMA_ALPHA, UNIFORM_RATIO
from nmr_gym.g1 import spec

#: Actions are unbounded in BeyondMimic; the Box needs finite bounds. 25 lets a target reach
#: every joint limit (the wrist pitch/yaw scale is only 0.0745 rad per unit).
ACTION_BOUND = 25.0
#: Where the PD target is centred (:attr:`ActionConfig.offset`).
ACTION_OFFSETS = ("default", "reference")


@dataclass(frozen=True)
class ActionConfig:
    """PD targets ``offset + scale * clip(a, -bound, bound)`` held for ``decimation`` physics
    steps (control period = model timestep x decimation).

    ``offset``:

    - ``"default"`` (BeyondMimic, the paper): the default joint positions ``default_joint_pos``
      (plus the randomised encoder offset in training).
    - ``"reference"``: the reference's joint positions at the frame the step ends on, plus the
      same encoder offset: the policy outputs a residual around the reference. Not in the
      paper; a named option for small compute budgets (the CEPR ``cpu`` preset), where a
      policy that starts from "follow the reference joints" learns balance corrections far
      sooner than one that must first learn the pose. Zero action then replays the reference
      joints through the PD servos.
    """

    decimation: int = 4
    default_joint_pos: tuple[float, ...] | None = None  # (29,) [rad]; None = spec's
    scale: tuple[float, ...] | None = None  # (29,) [rad per unit]; None = spec.ACTION_SCALE
    bound: float = ACTION_BOUND
    offset: str = "default"

    def __post_init__(self):
        if self.offset not in ACTION_OFFSETS:
            from nmr_gym.errors import UnknownNameError

            raise UnknownNameError("action offset", self.offset, list(ACTION_OFFSETS))

    def default_joint_pos_array(self) -> np.ndarray:
        q = spec.DEFAULT_JOINT_POS if self.default_joint_pos is None else self.default_joint_pos
        return np.array(q, dtype=float)

    def scale_array(self) -> np.ndarray:
        return np.array(spec.ACTION_SCALE if self.scale is None else self.scale, dtype=float)


@dataclass(frozen=True)
class ObservationConfig:
    """Uniform observation noise (training, actor terms; half-widths in the term table)."""

    noise: bool = True
    #: term name -> half-width overriding the table's (e.g. {"joint_vel": 0.3}).
    noise_overrides: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ResetConfig:
    """Reference-state initialisation noise (uniform half-widths), training only."""

    root_pos_noise: tuple[float, float, float] = dr.INIT_ROOT_POS_NOISE  # x, y, z [m]
    root_rpy_noise: tuple[float, float, float] = dr.INIT_ROOT_RPY_NOISE  # roll, pitch, yaw [rad]
    joint_pos_noise: float = dr.INIT_JOINT_POS_NOISE  # [rad]


@dataclass(frozen=True)
class SamplingConfig:
    """BeyondMimic's adaptive start sampling (training): bins of ``bin_duration_s`` per clip,
    failure EMA rate ``alpha`` per control step, ``uniform_ratio`` of uniform probability."""

    adaptive: bool = True
    bin_duration_s: float = 1.0
    alpha: float = FAILURE_EMA_ALPHA
    uniform_ratio: float = UNIFORM_RATIO


@dataclass(frozen=True)
class RandomizationConfig:
    """Domain randomisation and pushes (training)."""

    randomize: bool = True
    #: Sliding friction range (MuJoCo has one sliding coefficient: BeyondMimic's static range).
    friction_range: tuple[float, float] = dr.FRICTION_RANGE
    default_joint_offset: float = dr.DEFAULT_JOINT_OFFSET  # [rad], encoder calibration error
    torso_com_offset: tuple[float, float, float] = dr.TORSO_COM_OFFSET  # [m]
    push: bool = True
    push_interval_s: tuple[float, float] = dr.PUSH_INTERVAL_S
    push_lin_vel: tuple[float, float, float] = dr.PUSH_LIN_VEL  # [m/s], world
    push_ang_vel: tuple[float, float, float] = dr.PUSH_ANG_VEL  # [rad/s]


def _default_rewards() -> dict[str, mdp.RewardTerm]:
    return dict(mdp.BEYONDMIMIC_REWARDS)


def _default_terminations() -> dict[str, mdp.TerminationTerm]:
    return dict(mdp.BEYONDMIMIC_TERMINATIONS)


@dataclass(frozen=True)
class TrackingConfig:
    """The tracking MDP's numbers.

    ``rewards`` is a reward table (:mod:`.mdp`) or a preset name ("beyondmimic",
    "nmr_expert"); ``terminations`` a termination table. ``episode_length_s`` is the training
    time limit (BeyondMimic: 10 s); evaluation episodes last their clip.
    """

    action: ActionConfig = field(default_factory=ActionConfig)
    observation: ObservationConfig = field(default_factory=ObservationConfig)
    rewards: Any = field(default_factory=_default_rewards)
    terminations: Mapping[str, mdp.TerminationTerm] = field(default_factory=_default_terminations)
    reset: ResetConfig = field(default_factory=ResetConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    randomization: RandomizationConfig = field(default_factory=RandomizationConfig)
    soft_joint_limit_factor: float = spec.SOFT_JOINT_LIMIT_FACTOR
    #: A body "touches" when its net contact force exceeds this [N].
    undesired_contact_force: float = 1.0
    episode_length_s: float = 10.0

    def __post_init__(self):
        object.__setattr__(self, "rewards", mdp.resolve_rewards(self.rewards))
        object.__setattr__(self, "terminations", dict(self.terminations))
        if int(self.action.decimation) < 1:
            raise ValueError(f"decimation must be >= 1, got {self.action.decimation}")

    def with_overrides(self, **kwargs: Any) -> TrackingConfig:
        """A copy with the flat keywords of :data:`LEGACY_KEYWORDS` applied."""
        cfg = self
        for key, value in kwargs.items():
            if key == "reward_sigmas":
                table = cfg.rewards
                for name, sigma in (value or {}).items():
                    table = mdp.with_params(table, name, sigma=sigma)
                cfg = replace(cfg, rewards=table)
            elif key == "reward_weights":
                table = cfg.rewards
                for name, weight in (value or {}).items():
                    table = mdp.with_params(table, name, weight=weight)
                cfg = replace(cfg, rewards=table)
            elif key in _TERMINATION_KEYWORDS:
                table = mdp.with_params(
                    cfg.terminations, _TERMINATION_KEYWORDS[key], threshold=value
                )
                cfg = replace(cfg, terminations=table)
            elif key in _NOISE_KEYWORDS:
                obs = cfg.observation
                noise = {**obs.noise_overrides, _NOISE_KEYWORDS[key]: float(value)}
                cfg = replace(cfg, observation=replace(obs, noise_overrides=noise))
            elif key == "frames_per_bin":  # frames at the control rate; stored in seconds
                dt = _default_dt(cfg)
                cfg = replace(cfg, sampling=replace(cfg.sampling, bin_duration_s=value * dt))
            elif key in LEGACY_KEYWORDS:
                section, name = LEGACY_KEYWORDS[key]
                if section is None:
                    cfg = replace(cfg, **{name: value})
                else:
                    sub = replace(getattr(cfg, section), **{name: value})
                    cfg = replace(cfg, **{section: sub})
            else:
                raise TypeError(
                    f"unknown tracking env keyword {key!r}; valid: {sorted(ALL_KEYWORDS)}"
                )
        return cfg


def _default_dt(cfg: TrackingConfig) -> float:
    return control_period(decimation=cfg.action.decimation)


_TERMINATION_KEYWORDS = {
    "anchor_height_threshold": "anchor_height",
    "anchor_tilt_threshold": "anchor_tilt",
    "end_effector_height_threshold": "end_effector_height",
}
_NOISE_KEYWORDS = {
    "anchor_pos_noise": "motion_anchor_pos_b",
    "anchor_ori_noise": "motion_anchor_ori_b",
    "base_lin_vel_noise": "base_lin_vel",
    "base_ang_vel_noise": "base_ang_vel",
    "joint_pos_noise": "joint_pos",
    "joint_vel_noise": "joint_vel",
}
#: Flat keyword -> (config section or None, field) accepted by the envs.
LEGACY_KEYWORDS: dict[str, tuple[str | None, str]] = {
    "decimation": ("action", "decimation"),
    "action_offset": ("action", "offset"),
    "default_joint_pos": ("action", "default_joint_pos"),
    "action_scale": ("action", "scale"),
    "action_bound": ("action", "bound"),
    "soft_joint_limit_factor": (None, "soft_joint_limit_factor"),
    "undesired_contact_force": (None, "undesired_contact_force"),
    "episode_length_s": (None, "episode_length_s"),
    "observation_noise": ("observation", "noise"),
    "adaptive_sampling": ("sampling", "adaptive"),
    "failure_ema_alpha": ("sampling", "alpha"),
    "uniform_sampling_ratio": ("sampling", "uniform_ratio"),
    "init_root_pos_noise": ("reset", "root_pos_noise"),
    "init_root_rpy_noise": ("reset", "root_rpy_noise"),
    "init_joint_pos_noise": ("reset", "joint_pos_noise"),
    **{f.name: ("randomization", f.name) for f in fields(RandomizationConfig)},
}
ALL_KEYWORDS = (
    set(LEGACY_KEYWORDS)
    | set(_TERMINATION_KEYWORDS)
    | set(_NOISE_KEYWORDS)
    | {"reward_sigmas", "reward_weights", "frames_per_bin"}
)


def control_period(model=None, decimation: int | None = None) -> float:
    """Control period [s]: the model's timestep (default the tracking model's) times
    ``decimation`` (default :class:`ActionConfig`'s)."""
    from nmr_gym.g1.model import TRACKING_TIMESTEP

    timestep = TRACKING_TIMESTEP if model is None else float(model.opt.timestep)
    return timestep * (ActionConfig().decimation if decimation is None else int(decimation))


def control_fps(model=None, decimation: int | None = None) -> float:
    """Control rate [Hz] = 1 / :func:`control_period`."""
    return 1.0 / control_period(model, decimation)
