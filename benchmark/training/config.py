"""The PPO configuration of ``train-tracker``: one dataclass, from which the command-line
options (:meth:`PPOConfig.add_arguments`) and the ``config.json`` record
(:meth:`PPOConfig.to_record`) are generated.

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


def _opt(default: Any, help: str, cli: bool = True, **kw: Any) -> Any:  # noqa: A002
    meta = {"help": help, "cli": cli, **kw}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class PPOConfig:
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
            raise ValueError(f"n_envs and n_steps must be >= 1, got {self.n_envs}, {self.n_steps}")

    @property
    def batch_size(self) -> int:
        return self.n_steps * self.n_envs // self.n_minibatches

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """One ``--option`` per command-line field (default: the field's)."""
        for f in dataclasses.fields(cls):
            if not f.metadata.get("cli"):
                continue
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else (
                f.default
            )  # fmt: skip
            kind = {"int": int, "float": float, "str": str, "list[int]": int}.get(
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
    def from_args(cls, args: argparse.Namespace) -> PPOConfig:
        """The configuration of parsed command-line options."""
        kw = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if f.metadata["cli"]}
        return cls(**kw)

    def to_record(self) -> dict[str, Any]:
        """Every field and the batch size (the ``config.json`` record)."""
        return {**dataclasses.asdict(self), "batch_size": self.batch_size}
