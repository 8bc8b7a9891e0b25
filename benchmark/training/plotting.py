"""The training-curve figure of ``train-tracker``."""

from __future__ import annotations

from pathlib import Path


def plot_curve(csv: Path, png: Path, episode_steps: int) -> None:
    """Tracking error (and evaluation) against environment steps; training episode lengths as a
    fraction of ``episode_steps`` (the env's time limit in control steps)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from nmr_gym.io.atomic import atomic_path

    df = pd.read_csv(csv)
    fig, ax = plt.subplots(1, 3, figsize=(15, 3.8))
    ax[0].plot(df.timesteps, df.error_body_pos_m, label="body position (re-anchored) [m]")
    ax[0].plot(df.timesteps, df.error_anchor_pos_m, label="anchor position [m]")
    ax[0].plot(df.timesteps, df.error_joint_pos_rad, label="joint position [rad]")
    ax[0].set_ylabel("training rollouts: mean error")
    ev = df.dropna(subset=["eval_w_mpjpe_clip_m"])
    for col, label in (
        ("eval_w_mpjpe_clip_m", "W-MPJPE over the clip (after a fall: 0.5) [m]"),
        ("eval_w_mpjpe_m", "W-MPJPE while tracked [m]"),
        ("eval_mpjpe_m", "MPJPE (root-relative) while tracked [m]"),
    ):
        ax[1].plot(ev.timesteps, ev[col], "o-", label=label)
    ax[1].set_ylabel("evaluation (frame 0, no noise)")
    ax[2].plot(
        df.timesteps,
        df.ep_len_mean / episode_steps,
        label=f"training episode length / {episode_steps}",
    )
    ax[2].plot(ev.timesteps, ev.eval_tracked_fraction, "o-", label="eval: clip fraction tracked")
    for a in ax:
        a.set_xlabel("env steps")
        a.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(png) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
