"""``nmr-bench cepr run``: every CEPR stage in order, with a preset, resumable, and a report.

Presets (:data:`PRESETS`; every value can be overridden on the command line):

Every preset trains its experts on the paper's expert MDP (:data:`COMMON`): the 509-entry
observation (``obs_mode="nmr"``, its Table I), the expert rewards (``rewards="nmr_expert"``, its
Table II) and reward widths annealed linearly (its Eq. 6) from 2.0 to 1.0 times the rewards'
widths over each expert's steps (our values; the paper states none, see
``benchmark.cepr.experts.EXPERT_SIGMA_START``). ``--obs-mode actor --rewards beyondmimic
--sigma-start 1 --sigma-end 1`` trains BeyondMimic's MDP instead.

=========  ======================================================================================
preset     what
=========  ======================================================================================
``smoke``  the built-in suite, K = 2, two 1k-step experts on at most 3 references each; a few
           minutes on 2 cores; for tests and CI (the experts are untrained: few or no physics
           pairs, the mechanics are what it checks)
``cpu``    the built-in suite plus the real clips of ``benchmark/manifests/real_clips_quick.csv``
           (each complexity class), K = 4, experts of 1M steps on the 4 references nearest
           their cluster's centre, as residual policies (``action_offset="reference"``: PD
           targets around the reference joints; see below): with ``--jobs 2`` about 1 hour on
           a 2-core machine shared with two other jobs (measured: experts 21-29 min each, two
           at a time, 550-650 env steps/s each; ``docs/cepr_cpu``), up to 2 hours with
           ``--jobs 1``.
           ``--timesteps`` and ``--max-refs`` scale it. It leaves out NMR's held-out clips
           (``benchmark/manifests/nmr_heldout.csv``): its physics pairs are NMR's stage-2 data
``paper``  the paper's scale for many GPUs: K = 32 (unstated in the paper; ~1k references per
           expert at its ~30k pairs), BeyondMimic's PPO (4096 envs x 24 steps, [512, 256, 128],
           init std 1.0, up to 30k iterations = 2.9e9 steps per expert), encoder trained 500
           epochs
=========  ======================================================================================

The folder remembers its settings (``OUT/config.json``): a rerun with other settings is refused
(one line) instead of mixing results; a rerun with the same settings continues where the last
one stopped (each stage caches per clip, per expert and per reference, and writes its table
last).

Why the ``cpu`` preset's experts are residual policies: on 2 cores an expert gets ~1e6 env
steps, about 1/1000 of the paper's budget. Measured on 6 curated references (one of each
class, the 509-entry observation, expert rewards, widths 2 -> 1): a zero action around the
reference joints keeps the robot up 0.66 s on average from frame 0 (0.39 s around the default
pose), and a residual expert after 400k steps tracks 1.17 s deterministically -- the
default-pose experts of a 250k-step run tracked 0.4-1.1 s. Residual experts need far fewer
steps to stay up; ``--action-offset default`` restores the paper's action.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from benchmark.cepr._store import write_json
from benchmark.cepr.experts import (
    EXPERT_OBS_MODE,
    EXPERT_REWARDS,
    EXPERT_SIGMA_END,
    EXPERT_SIGMA_START,
)
from benchmark.cepr.sources import CeprError

_MANIFESTS = Path(__file__).resolve().parents[1] / "manifests"

PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {
        "motions": ["builtin"],
        "k": 2,
        "encoder_epochs": 5,
        "timesteps": 1024,
        "n_envs": 8,
        "n_steps": 64,
        "net_arch": [64, 64],
        "init_std": 0.5,
        "max_refs": 3,
        "checkpoint_every": 100_000,
    },
    "cpu": {
        "motions": ["builtin", str(_MANIFESTS / "real_clips_quick.csv")],
        "k": 4,
        "encoder_epochs": 100,
        "timesteps": 1_000_000,
        "n_envs": 32,
        "n_steps": 64,
        "net_arch": [256, 128, 64],
        "init_std": 0.5,
        "max_refs": 4,
        "checkpoint_every": 100_000,
        "action_offset": "reference",
        # its physics pairs are NMR's stage-2 data: never the NMR held-out clips
        "exclude": [str(_MANIFESTS / "nmr_heldout.csv")],
    },
    "paper": {
        "motions": ["builtin"],
        "k": 32,
        "encoder_epochs": 500,
        "timesteps": 30_000 * 24 * 4096,
        "n_envs": 4096,
        "n_steps": 24,
        "net_arch": [512, 256, 128],
        "init_std": 1.0,
        "max_refs": None,
        "checkpoint_every": 10_000_000,
    },
}
#: Settings every preset shares unless it says otherwise; the experts' MDP is the paper's.
COMMON: dict[str, Any] = {
    "exclude": [],
    "fps": 30.0,
    "retargeter": None,  # None: benchmark.cepr.retarget.DEFAULT_RETARGETER
    "options": {},
    "seed": 0,
    "obs_mode": EXPERT_OBS_MODE,
    "rewards": EXPERT_REWARDS,
    "sigma_start": EXPERT_SIGMA_START,
    "sigma_end": EXPERT_SIGMA_END,
    "action_offset": "default",
}


def preset_settings(name: str, **overrides: Any) -> dict[str, Any]:
    """The full settings of preset ``name`` with ``overrides`` (None values are ignored)."""
    from nmr_gym.errors import UnknownNameError

    if name not in PRESETS:
        raise UnknownNameError("preset", name, list(PRESETS))
    s = {**COMMON, **PRESETS[name]}
    s.update({k: v for k, v in overrides.items() if v is not None})
    if s["retargeter"] is None:
        from benchmark.cepr.retarget import DEFAULT_RETARGETER

        s["retargeter"] = DEFAULT_RETARGETER
    s["preset"] = name
    return s


def _expert_settings(s: dict[str, Any]) -> dict[str, Any]:
    """The experts' part of the run settings ``s``: every argument of ``expert_settings`` that
    ``s`` holds (the others keep their defaults, e.g. ``backend`` cpu)."""
    import inspect

    from benchmark.cepr.experts import expert_settings

    names = inspect.signature(expert_settings).parameters
    return expert_settings(**{k: s[k] for k in names if k in s})


def check_settings(s: dict[str, Any]) -> None:
    """Fail before any work on a bad retargeter, K, or expert setting (one line)."""
    import tempfile

    from benchmark.cepr.experts import trainer_argv
    from benchmark.cepr.retarget import check_retargeter

    check_retargeter(s["retargeter"], s["options"])
    if int(s["k"]) < 1:
        raise CeprError(f"--k must be >= 1, got {s['k']}")
    with tempfile.TemporaryDirectory() as tmp:
        trainer_argv([Path(tmp) / "ref.nmr.npz"], Path(tmp), _expert_settings(s), 1)


def _remember(out: Path, s: dict[str, Any]) -> None:
    config = out / "config.json"
    keep = {k: v for k, v in s.items() if k not in ("jobs", "ray")}
    if config.is_file():
        old = json.loads(config.read_text())
        if old != json.loads(json.dumps(keep)):
            diff = sorted(k for k in set(old) | set(keep) if old.get(k) != keep.get(k))
            raise CeprError(
                f"{out} holds a CEPR run with other settings ({', '.join(diff)}); "
                "use a new --out or the same settings"
            )
    else:
        write_json(config, keep)


def run_pipeline(
    out_dir: str | os.PathLike,
    settings: dict[str, Any],
    *,
    jobs: int = 1,
    ray_address: str | None = None,
    stop_after: str | None = None,
) -> Path:
    """Run every stage (or up to ``stop_after``) into ``out_dir``; returns ``report.md``."""
    from benchmark.cepr import cluster, curate, experts, retarget
    from benchmark.cepr.report import write_report
    from benchmark.cepr.sources import gather_sources

    s = settings
    check_settings(s)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _remember(out, s)
    stages = ("curate", "retarget", "cluster", "experts", "rollout")
    if stop_after is not None and stop_after not in stages:
        raise CeprError(f"unknown stage {stop_after!r}; stages: {', '.join(stages)}")
    clips, _ = gather_sources(s["motions"], s["exclude"])
    curate.run_curate(clips, out, fps=s["fps"], jobs=jobs)
    if stop_after != "curate":
        retarget.run_retarget(
            out,
            retargeter=s["retargeter"],
            options=s["options"],
            fps=s["fps"],
            jobs=jobs,
            args={"preset": s["preset"]},
        )
    if stop_after not in ("curate", "retarget"):
        cluster.run_cluster(out, k=s["k"], epochs=s["encoder_epochs"], seed=s["seed"])
    if stop_after not in ("curate", "retarget", "cluster"):
        experts.run_experts(
            out, settings=_expert_settings(s), fps=s["fps"], jobs=jobs, ray_address=ray_address
        )
    if stop_after not in ("curate", "retarget", "cluster", "experts"):
        experts.run_rollouts(
            out,
            fps=s["fps"],
            jobs=jobs,
            ray_address=ray_address,
            seed=s["seed"],
        )
    return write_report(out, {k: v for k, v in s.items() if k != "options"})
