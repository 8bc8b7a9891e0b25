"""The configuration of ``train-tracker``: two dataclasses, :class:`PPOConfig` (the PPO
settings) and :class:`MDPConfig` (the tracking MDP the policy is trained on), from which the
command-line options (``add_arguments``) and the ``config.json`` record (``to_record``) are
generated.

BeyondMimic's PPO hyper-parameters adapted to one CPU machine: 4 minibatches and 5 epochs;
gamma 0.99, GAE lambda 0.95, clip 0.2, entropy 0.005, value coefficient 1.0, gradient norm 1.0;
actor and critic [512, 256, 128] ELU, initial action std 1.0; learning rate 1e-3 adapted to a KL
of 0.01. The rollout is ``n_envs`` x ``n_steps`` (32 x 64 = 2048 samples) instead of BeyondMimic's
24 steps x 4096 GPU envs.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from benchmark.training.schedules import KL_ADAPTIVE
from nmr_gym.envs import REWARD_PRESETS, SigmaSchedule, TrackingConfig
from nmr_gym.envs.config import ACTION_OFFSETS, ActionConfig
from nmr_gym.errors import NmrGymError, UnknownNameError

#: Observations the policy can be trained on: one flat vector that stable-baselines3's PPO
#: gives to actor and critic alike. The env's "critic" (286, privileged) and "dict" modes are
#: for an asymmetric critic, which stable-baselines3's PPO has not.
POLICY_OBS_MODES = ("actor", "nmr")


def _opt(default: Any, help: str, cli: bool = True, **kw: Any) -> Any:  # noqa: A002
    meta = {"help": help, "cli": cli, **kw}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


class TrainingConfigError(NmrGymError, ValueError):
    """A training setting out of its range (the command line exits 2 with the message)."""


class _CommandLineConfig:
    """Options and record of a dataclass whose fields carry ``_opt`` metadata."""

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """One ``--option`` per command-line field (default: the field's)."""
        for f in dataclasses.fields(cls):
            if not f.metadata.get("cli"):
                continue
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else (
                f.default
            )  # fmt: skip
            kind = {"int": int, "int | None": int, "str": str, "list[int]": int}.get(
                str(f.type), float
            )
            kw: dict[str, Any] = {"default": default, "help": f.metadata["help"]}
            if default is not None and "choices" not in f.metadata and "default" not in kw["help"]:
                kw["help"] += " (default %(default)s)"
            for k in ("choices", "nargs"):
                if k in f.metadata:
                    kw[k] = f.metadata[k]
            if "choices" not in f.metadata:
                kw["type"] = kind
            parser.add_argument("--" + f.name.replace("_", "-"), **kw)

    @classmethod
    def from_args(cls, args: argparse.Namespace):
        """The configuration of parsed command-line options."""
        kw = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if f.metadata["cli"]}
        return cls(**kw)

    def to_record(self) -> dict[str, Any]:
        """Every field (the ``config.json`` record)."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]


@dataclass
class PPOConfig(_CommandLineConfig):
    """PPO (stable-baselines3) settings; every field with ``cli`` is a ``--option``."""

    n_envs: int = _opt(32, "robots (batched) or env processes (subproc; there use e.g. 2 x "
                           "--n-steps 512)")  # fmt: skip
    n_steps: int = _opt(64, "rollout steps per env per update")
    n_minibatches: int = _opt(4, "minibatches per update", cli=False)
    n_epochs: int = _opt(5, "epochs per update", cli=False)
    gamma: float = _opt(0.99, "discount", cli=False)
    gae_lambda: float = _opt(0.95, "GAE lambda", cli=False)
    clip_range: float = _opt(0.2, "PPO clip range", cli=False)
    ent_coef: float = _opt(0.005, "entropy coefficient", cli=False)
    vf_coef: float = _opt(1.0, "value loss coefficient", cli=False)
    max_grad_norm: float = _opt(1.0, "gradient norm clip", cli=False)
    learning_rate: float = _opt(1e-3, "initial (adaptive) or fixed learning rate")
    lr_schedule: str = _opt(
        "adaptive",
        "adaptive: BeyondMimic's KL-adaptive learning rate (desired KL --desired-kl); "
        "fixed: a fixed rate with KL early stopping (--target-kl)",
        choices=("adaptive", "fixed"),
    )
    desired_kl: float = _opt(KL_ADAPTIVE["desired_kl"], "KL per update the adaptive rate aims at")
    target_kl: float | None = _opt(
        None,
        "KL early stopping of an update (0: none; default none with the adaptive "
        "learning rate, 0.02 with a fixed one)",  # fmt: skip
    )
    net_arch: list[int] = _opt([512, 256, 128], "hidden layers of actor and critic", nargs="+")
    init_std: float = _opt(
        1.0, "initial action std (BeyondMimic 1.0; smaller learns faster on a CPU budget)"
    )
    seed: int = _opt(0, "random seed")

    #: KL early stopping with a fixed learning rate when --target-kl is not given.
    FIXED_LR_TARGET_KL = 0.02

    def __post_init__(self):
        if self.target_kl is None:
            self.target_kl = 0.0 if self.lr_schedule == "adaptive" else self.FIXED_LR_TARGET_KL
        if self.n_envs < 1 or self.n_steps < 1:
            raise TrainingConfigError(
                f"n_envs and n_steps must be >= 1, got {self.n_envs}, {self.n_steps}"
            )

    @property
    def batch_size(self) -> int:
        return self.n_steps * self.n_envs // self.n_minibatches

    def to_record(self) -> dict[str, Any]:
        """Every field and the batch size (the ``config.json`` record)."""
        return {**dataclasses.asdict(self), "batch_size": self.batch_size}


@dataclass
class MDPConfig(_CommandLineConfig):
    """The tracking MDP train-tracker's env runs (cpu backend): the policy observation, the
    reward set and the annealing of the reward widths (the NMR paper's Eq. 6).

    ``sigma_start``/``sigma_end`` are multipliers of the reward set's widths: every reward term
    with a ``sigma`` anneals linearly from ``sigma * sigma_start`` at step 0 to
    ``sigma * sigma_end`` at ``sigma_steps`` env steps (default the run's ``--timesteps``) and
    stays there. 1 -> 1 (the default) keeps the set's widths. The widths are a function of the
    step count alone, so ``--resume`` continues at the checkpoint's widths.
    """

    obs_mode: str = _opt(
        "actor",
        "policy (and critic) observation: actor, BeyondMimic's 160 entries; nmr, the NMR "
        "paper's 509-entry expert observation (its Table I); the env's critic/dict modes need an "
        "asymmetric critic, which stable-baselines3's PPO lacks (default actor)",
        choices=POLICY_OBS_MODES,
    )
    rewards: str = _opt(
        "beyondmimic",
        "reward set: beyondmimic, or nmr_expert (the NMR paper's expert rewards, its Table II) "
        "(default beyondmimic)",
        choices=tuple(REWARD_PRESETS),
    )
    sigma_start: float = _opt(
        1.0,
        "reward widths at step 0, a multiple of each tracking term's sigma; they anneal "
        "linearly to --sigma-end (NMR paper Eq. 6)",
    )
    sigma_end: float = _opt(1.0, "reward widths at the end of the annealing, a multiple")
    action_offset: str = _opt(
        "default",
        "where a zero action puts the PD targets: default, the default pose (BeyondMimic, the "
        "paper); reference, the reference's joint positions (a residual policy; converges "
        "sooner on small compute budgets) (default default)",
        choices=ACTION_OFFSETS,
    )
    sigma_steps: int | None = _opt(
        None,
        "env steps over which the widths anneal (default --timesteps; when --resume extends "
        "--timesteps, give the first run's to keep its schedule)",
    )

    def __post_init__(self):
        if self.obs_mode not in POLICY_OBS_MODES:
            raise UnknownNameError("policy observation mode", self.obs_mode, POLICY_OBS_MODES)
        if self.action_offset not in ACTION_OFFSETS:
            raise UnknownNameError("action offset", self.action_offset, ACTION_OFFSETS)
        if self.rewards not in REWARD_PRESETS:
            raise UnknownNameError("reward set", self.rewards, tuple(REWARD_PRESETS))
        for name in ("sigma_start", "sigma_end"):
            value = float(getattr(self, name))
            if not 0.0 < value < float("inf"):
                option = "--" + name.replace("_", "-")
                raise TrainingConfigError(
                    f"{name} ({option}) must be a finite number > 0, got {value}"
                )
            setattr(self, name, value)
        if self.sigma_steps is not None and int(self.sigma_steps) < 1:
            raise TrainingConfigError(
                f"sigma_steps (--sigma-steps) must be >= 1, got {self.sigma_steps}"
            )

    @property
    def anneals(self) -> bool:
        """Whether the reward widths differ from the set's at any step."""
        return not (self.sigma_start == 1.0 and self.sigma_end == 1.0)

    def tracking_config(self) -> TrackingConfig:
        """The env's configuration (BeyondMimic's apart from the reward set)."""
        return TrackingConfig(rewards=self.rewards, action=ActionConfig(offset=self.action_offset))

    def default_sigmas(self) -> dict[str, float]:
        """The reward set's width of every term that has one (name -> sigma)."""
        table = REWARD_PRESETS[self.rewards]
        return {k: float(t.params["sigma"]) for k, t in table.items() if "sigma" in t.params}

    def sigma_schedule(self, total_steps: int) -> SigmaSchedule | None:
        """The widths' schedule over env steps (None when :attr:`anneals` is false)."""
        if not self.anneals:
            return None
        base = self.default_sigmas()
        return SigmaSchedule(
            start={k: v * self.sigma_start for k, v in base.items()},
            end={k: v * self.sigma_end for k, v in base.items()},
            i_max=int(self.sigma_steps or total_steps),
        )
