"""CEPR experts (``benchmark.cepr.experts``) trained on a backend other than the CPU env.

An expert is one policy trained on all of its cluster's references at once (NMR paper III-B).
On the mjlab backend that is one mjlab run over every reference
(:mod:`benchmark.backends.mjlab_multiclip`: mjlab 1.6's motion command takes one motion file,
so the references are concatenated in time with per-clip wrap-around and one adaptive sampler
over every clip's bins), in ``EXPERT/mjlab/``. Rollouts still run in the project's CPU env,
deterministically from frame 0, with the exported policy (:func:`load_expert` ->
``MjlabPolicy``).

What the mjlab backend cannot train is refused in one line (:func:`check_backend_settings`):
mjlab's task is BeyondMimic's MDP (160-entry actor observation, BeyondMimic's rewards at fixed
widths, PD target ``default pose + scale * action``), so the paper's expert MDP
(``obs_mode="nmr"``, ``rewards="nmr_expert"``, annealed widths) and an action offset around the
reference (``action_offset="reference"``) stay with the cpu backend. mjlab's PPO settings are
its own ([512, 256, 128] ELU, init std 1.0, 24 steps per robot and iteration): ``n_envs`` and
``timesteps`` set its robots and iterations (:func:`mjlab_iterations`); ``n_steps``,
``net_arch`` and ``init_std`` are cpu settings.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.cepr.sources import CeprError

#: Where an expert's mjlab run lives inside its folder.
MJLAB_EXPERT_DIR = "mjlab"
#: The expert MDP settings the mjlab backend trains (obs_mode, rewards, sigma_start, sigma_end).
MJLAB_EXPERT_MDP = ("actor", "beyondmimic", 1.0, 1.0)


def check_backend_settings(settings: dict[str, Any]) -> None:
    """Refuse (one line) expert settings that ``settings["backend"]`` cannot train."""
    from benchmark.backends import BACKENDS
    from nmr_gym.errors import UnknownNameError

    backend = settings.get("backend", "cpu")
    if backend not in BACKENDS:
        raise UnknownNameError("backend", backend, BACKENDS)
    if backend != "mjlab":
        return
    mdp = tuple(settings[k] for k in ("obs_mode", "rewards", "sigma_start", "sigma_end"))
    if mdp != MJLAB_EXPERT_MDP:
        raise CeprError(
            "--backend mjlab trains mjlab's BeyondMimic task: use --obs-mode actor --rewards "
            "beyondmimic --sigma-start 1 --sigma-end 1 (the paper's expert MDP is the cpu "
            "backend's)"
        )
    offset = settings.get("action_offset", "default")
    if offset != "default":
        raise CeprError(
            f"--backend mjlab cannot offset actions around the reference (action offset "
            f"{offset!r}): mjlab's PD target is its default pose + scale * action; use the cpu "
            "backend"
        )


def mjlab_iterations(settings: dict[str, Any]) -> int:
    """PPO iterations of an mjlab expert: its ``timesteps`` over one iteration's env steps
    (``n_envs`` robots x mjlab's 24 steps), rounded up, at least 1."""
    from benchmark.backends.mjlab_backend import STEPS_PER_ITERATION

    per_iteration = int(settings["n_envs"]) * STEPS_PER_ITERATION
    return max(1, math.ceil(int(settings["timesteps"]) / per_iteration))


def train_expert(
    cluster: int, name: str, refs: list[str], out: Path, settings: dict[str, Any]
) -> dict[str, Any]:
    """Train expert ``name`` (cluster ``cluster``) on all of ``refs`` (robot motion files) on
    ``settings["backend"]`` into ``out/mjlab``; returns its summary row (the columns of the
    cpu experts' ``summary.csv``). A finished run is reused; the backend's runs are atomic, so
    an interrupted one starts again. mjlab's Python: ``$NMR_GYM_MJLAB_PYTHON``; device: the
    first CUDA GPU when there is one."""
    from benchmark.backends import mjlab_backend
    from nmr_gym.io import load_robot_motion

    check_backend_settings(settings)
    run = Path(out) / MJLAB_EXPERT_DIR
    if not (run / "result.json").is_file():
        mjlab_backend.train(
            [load_robot_motion(r) for r in refs],
            run,
            num_envs=int(settings["n_envs"]),
            iterations=mjlab_iterations(settings),
            seed=int(settings["seed"]),
            quiet=True,
        )
    result = mjlab_backend.TrainResult.load(run)
    curve = pd.read_csv(result.curve)
    last = curve.iloc[-1].to_dict() if len(curve) else {}
    return {
        "cluster": int(cluster),
        "expert": name,
        "references": len(refs),
        "timesteps": int(result.info["env_steps"]),
        "train_wall_s": float(result.info["setup_s"] + result.info["train_s"]),
        "train_eval_success": math.nan,  # mjlab makes no periodic frame-0 evaluation
        # mjlab's mean tracked-body position error of the episodes ending in the last iteration
        "train_error_body_pos_m": float(last.get("Metrics/motion/error_body_pos", math.nan)),
    }


def load_expert(expert_dir: str | os.PathLike) -> Any:
    """An expert's policy for rollouts in the project's CPU env: the mjlab backend's
    (``MjlabPolicy``, actor observation) when its folder has one, else train-tracker's
    (``SB3Policy``)."""
    from benchmark.backends.mjlab_backend import MjlabPolicy
    from benchmark.tracking import SB3Policy

    mjlab_run = Path(expert_dir) / MJLAB_EXPERT_DIR
    if MjlabPolicy.is_policy_dir(mjlab_run):
        return MjlabPolicy.load(mjlab_run)
    return SB3Policy.load(str(expert_dir))


__all__ = [
    "MJLAB_EXPERT_DIR",
    "check_backend_settings",
    "load_expert",
    "mjlab_iterations",
    "train_expert",
]
