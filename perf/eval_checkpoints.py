"""Tracking quality of every checkpoint of a ``nmr-bench train-tracker`` run (learning curve).

For each ``DIR/checkpoints/PREFIX_N_steps.zip`` (with its normalisation statistics) this runs the
evaluation env (no noise, no randomisation, deterministic policy) on each training clip:

- from frame 0 to the clip's end, the issue's success rule (as ``eval-tracker`` does);
- from the start of every adaptive-sampling bin (every ``--every`` frames), which averages out
  the luck of a single deterministic rollout.

It prints one row per checkpoint and writes ``DIR/checkpoint_eval.csv`` and ``.png``: fraction
of the clip tracked before an early termination, and the whole-clip W-MPJPE (frames after a fall
counted at PHC's 0.5 m), both from frame 0 and averaged over the starts.

    python perf/eval_checkpoints.py /tmp/ppo_demo wave_short
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.tracking import SB3Policy, resolve_motion_specs, run_episode, score_episode
from nmr_gym.envs import G1TrackingEnv


def checkpoints(run: Path) -> list[tuple[int, Path]]:
    """(steps, zip) of the run's checkpoints, in order, then the final model."""
    found = []
    for p in (run / "checkpoints").glob("*_steps.zip"):
        m = re.fullmatch(r".*_(\d+)_steps", p.stem)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found)


def evaluate_policy(policy, envs: list[G1TrackingEnv], every: int) -> dict[str, float]:
    rows0, rows = [], []
    for env in envs:
        n = int(env.library.clip_length[0])
        for start in range(0, n - 1, every):
            r = score_episode(run_episode(env, policy, 0, start))
            r["fraction"] = r["episode_length"] / max(r["clip_length"], 1)
            rows.append(r)
            if start == 0:
                rows0.append(r)
    mean = lambda rs, k: float(np.mean([r[k] for r in rs]))  # noqa: E731
    return {
        "frame0_tracked_fraction": mean(rows0, "fraction"),
        "frame0_w_mpjpe_clip_m": mean(rows0, "track_w_mpjpe_clip_m"),
        "frame0_success": mean(rows0, "success"),
        "starts_tracked_fraction": mean(rows, "fraction"),
        "starts_w_mpjpe_clip_m": mean(rows, "track_w_mpjpe_clip_m"),
        "starts_success": mean(rows, "success"),
    }


def plot(df: pd.DataFrame, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(11, 3.6))
    x = df.timesteps
    ax[0].plot(x, df.frame0_tracked_fraction, "o-", label="from frame 0")
    ax[0].plot(x, df.starts_tracked_fraction, "s-", label="mean over bin starts")
    ax[0].set_ylabel("clip fraction tracked")
    ax[1].plot(x, df.frame0_w_mpjpe_clip_m, "o-", label="from frame 0")
    ax[1].plot(x, df.starts_w_mpjpe_clip_m, "s-", label="mean over bin starts")
    ax[1].set_ylabel("W-MPJPE over the clip [m] (after a fall: 0.5)")
    for a in ax:
        a.set_xlabel("env steps")
        a.grid(alpha=0.3)
        a.legend()
    fig.suptitle("checkpoints on the evaluation env (no noise, deterministic policy)")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path, help="train-tracker output folder")
    p.add_argument("motions", nargs="+", help="the clips it was trained on")
    p.add_argument("--retargeter", default="gmr")
    p.add_argument(
        "--every", type=int, default=None, help="start-frame spacing (default: one sampling bin)"
    )
    p.add_argument(
        "--gap", type=int, default=0, metavar="STEPS", help="skip checkpoints closer than this"
    )
    args = p.parse_args(argv)
    motions = resolve_motion_specs(args.motions, args.retargeter)
    envs = [G1TrackingEnv(m, evaluation=True) for m in motions]
    if args.every is None:  # the adaptive sampler's bin length at the env's control rate
        args.every = max(round(envs[0].config.sampling.bin_duration_s / envs[0].dt), 1)
    rows, last = [], -np.inf
    for steps, path in checkpoints(args.run):
        if steps - last < args.gap:
            continue
        last = steps
        row = {"timesteps": steps, **evaluate_policy(SB3Policy.load(str(path)), envs, args.every)}
        rows.append(row)
        print(
            ", ".join(
                f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()
            )
        )
    df = pd.DataFrame(rows)
    df.to_csv(args.run / "checkpoint_eval.csv", index=False)
    plot(df, args.run / "checkpoint_eval.png")
    print(f"wrote {args.run / 'checkpoint_eval.csv'} and .png")


if __name__ == "__main__":
    main()
