"""stable-baselines3 callbacks of ``train-tracker``: the training curve (tracking errors per
update, periodic evaluations on the clips, the KL-adaptive learning rate) and a progress bar."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from benchmark.training.schedules import KLAdaptiveLR

CURVE_COLUMNS = (
    "timesteps",
    "wall_s",
    "episodes",
    "ep_len_mean",
    "reward_mean",
    "error_body_pos_m",
    "error_anchor_pos_m",
    "error_joint_pos_rad",
    "eval_success",
    "eval_w_mpjpe_m",
    "eval_mpjpe_m",
    "eval_w_mpjpe_clip_m",
    "eval_tracked_fraction",
    "reward_body_pos",
)


def latest_checkpoint(ckpt: Path) -> tuple[Path, Path] | None:
    zips = sorted(ckpt.glob("ppo_*_steps.zip"), key=lambda p: int(p.stem.split("_")[-2]))
    if not zips:
        return None
    z = zips[-1]
    norm = ckpt / f"ppo_vecnormalize_{z.stem.split('_')[-2]}_steps.pkl"
    return (z, norm) if norm.is_file() else None


def make_callbacks(
    eval_every: int, out: Path, motions, t_start: float, resumed_steps: int | None = None
):
    """(the training-curve callback, the progress-bar callback class)."""
    from stable_baselines3.common.callbacks import BaseCallback

    from benchmark.tracking import SB3Policy, evaluate

    class TrackingCurve(BaseCallback):
        """Mean tracking errors of each rollout (+ periodic evaluations) -> curve.csv, TB."""

        def __init__(self):
            super().__init__()
            self.acc: dict[str, list[float]] = {}
            self.ep_len: list[int] = []
            self.ep_ret: list[float] = []
            self.rows: list[dict] = []
            self.last_eval = -np.inf
            self.wall_offset = 0.0
            path = out / "curve.csv"
            if resumed_steps is not None and path.is_file():
                import pandas as pd

                # Rows past the checkpoint belong to the interrupted part that is redone; the
                # wall clock continues from the checkpoint's row.
                rows = pd.read_csv(path).to_dict("records")
                self.rows = [r for r in rows if r["timesteps"] <= resumed_steps]
                self.wall_offset = float(self.rows[-1]["wall_s"]) if self.rows else 0.0

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                for k in (
                    "error_body_pos",
                    "error_anchor_pos",
                    "error_joint_pos",
                    "reward_body_pos",
                ):
                    self.acc.setdefault(k, []).append(info[k])
                if "episode" in info:
                    self.ep_len.append(info["episode"]["l"])
                    self.ep_ret.append(info["episode"]["r"])
            return True

        def _on_rollout_end(self) -> None:
            lr = self.model.learning_rate
            kl = self.model.logger.name_to_value.get("train/approx_kl")  # the last update's
            if isinstance(lr, KLAdaptiveLR) and kl:
                self.logger.record("train/adaptive_lr", lr.update(kl))
            mean = lambda k: float(np.mean(self.acc[k])) if self.acc.get(k) else np.nan  # noqa
            row = {
                "timesteps": self.num_timesteps,
                "wall_s": self.wall_offset + time.time() - t_start,
                "episodes": len(self.ep_len),
                "ep_len_mean": float(np.mean(self.ep_len)) if self.ep_len else np.nan,
                "reward_mean": float(np.mean(self.ep_ret)) if self.ep_ret else np.nan,
                "error_body_pos_m": mean("error_body_pos"),
                "error_anchor_pos_m": mean("error_anchor_pos"),
                "error_joint_pos_rad": mean("error_joint_pos"),
                "reward_body_pos": mean("reward_body_pos"),
            }
            for k in ("error_body_pos_m", "error_anchor_pos_m", "error_joint_pos_rad"):
                self.logger.record(f"tracking/{k}", row[k])
            if eval_every and self.num_timesteps - self.last_eval >= eval_every:
                row.update(self.evaluate())
                self.last_eval = self.num_timesteps
            self.rows.append(row)
            self.acc.clear()
            self.ep_len.clear()
            self.ep_ret.clear()
            self.save()

        def evaluate(self) -> dict:
            vn = self.model.get_env()
            pol = SB3Policy(
                self.model, vn.obs_rms.mean.copy(), vn.obs_rms.var.copy(), vn.clip_obs, vn.epsilon
            )
            rows = evaluate(motions, pol)
            res = {
                "eval_success": float(np.mean([r["success"] for r in rows])),
                "eval_w_mpjpe_m": float(np.mean([r["track_w_mpjpe_m"] for r in rows])),
                "eval_mpjpe_m": float(np.mean([r["track_mpjpe_m"] for r in rows])),
                "eval_w_mpjpe_clip_m": float(np.mean([r["track_w_mpjpe_clip_m"] for r in rows])),
                "eval_tracked_fraction": float(
                    np.mean([r["episode_length"] / r["clip_length"] for r in rows])
                ),
            }
            for k, v in res.items():
                self.logger.record(f"eval/{k}", v)
            return res

        def save(self) -> None:
            import pandas as pd

            from nmr_gym.io.atomic import atomic_path

            df = pd.DataFrame(self.rows, columns=list(CURVE_COLUMNS))
            with atomic_path(out / "curve.csv") as tmp:
                df.to_csv(tmp, index=False)

    class Progress(BaseCallback):
        def __init__(self, total: int):
            super().__init__()
            self.total = total
            self.bar = None

        def _on_training_start(self) -> None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=self.total,
                initial=self.model.num_timesteps,
                unit="step",
                desc="train-tracker",
                dynamic_ncols=True,
            )

        def _on_step(self) -> bool:
            self.bar.update(self.training_env.num_envs)
            return True

        def _on_training_end(self) -> None:
            self.bar.close()

    return TrackingCurve(), Progress
