"""``nmr-bench train-tracker MOTION... --out DIR``: PPO (stable-baselines3) on NMRTrack-G1-v0.

BeyondMimic's PPO hyper-parameters (anchors.md section 2), adapted to one CPU machine:

- envs: ``--vec batched`` (default) runs ``--n-envs`` robots (default 32) in one process
  (:class:`~nmr_gym.envs.G1TrackingVecEnv`, physics in ``--threads`` threads, one adaptive
  sampler as on BeyondMimic's GPU); ``subproc``/``dummy`` run one ``G1TrackingEnv`` per env;
- rollout: 24 steps x 4096 GPU envs = 98k samples per update there; here ``--n-envs`` x
  ``--n-steps`` (32 x 64 = 2048 samples), so an update still averages many episodes;
- 4 minibatches and 5 epochs as BeyondMimic; gamma 0.99, GAE lambda 0.95, clip 0.2, entropy
  0.005, value coefficient 1.0, gradient norm 1.0; actor and critic [512, 256, 128] ELU,
  initial action std 1.0, observation normalisation (``VecNormalize``, rewards not normalised);
- learning rate: BeyondMimic's 1e-3 adapted to a KL of 0.01 (:class:`KLAdaptiveLR`, stepped
  after each update rather than each minibatch); ``--lr-schedule fixed`` uses a fixed rate with
  KL early stopping (``--target-kl``, default 0.02) instead;
- the critic sees the actor's 160-dim observation: stable-baselines3's PPO has no asymmetric
  critic (the 286-dim privileged observation is available from the env's ``obs_mode="dict"``).

Writes ``DIR/model.zip`` + ``DIR/vecnormalize.pkl`` (final), ``DIR/checkpoints/`` (periodic,
with normalisation statistics), ``DIR/tb/`` (TensorBoard), ``DIR/curve.csv`` + ``curve.png``
(training tracking errors per update and periodic evaluations), ``DIR/config.json``.
``--resume`` continues from the latest checkpoint in DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

NAME = "train-tracker"
HELP = "train a PPO tracking policy on NMRTrack-G1-v0 (stable-baselines3)"
ORDER = 60

NET_ARCH = [512, 256, 128]
PPO_DEFAULTS = {
    "n_envs": 32,
    "n_steps": 64,
    "n_minibatches": 4,
    "n_epochs": 5,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "clip_range": 0.2,
    "ent_coef": 0.005,
    "vf_coef": 1.0,
    "max_grad_norm": 1.0,
    "learning_rate": 1e-3,
    "target_kl": 0.02,
}
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


#: BeyondMimic's (rsl_rl's) KL-adaptive learning rate: after an update whose mean KL exceeds
#: ``2 * desired_kl`` the rate is divided by ``factor``, below ``desired_kl / 2`` multiplied,
#: within [min_lr, max_lr]. rsl_rl adapts after every minibatch; here after every update.
KL_ADAPTIVE = {"desired_kl": 0.01, "factor": 1.5, "min_lr": 1e-5, "max_lr": 1e-2}


class KLAdaptiveLR:
    """A stable-baselines3 learning-rate schedule that :class:`AdaptLR` steers by the KL."""

    def __init__(self, lr: float, desired_kl: float = KL_ADAPTIVE["desired_kl"]):
        if not desired_kl > 0:
            raise ValueError(f"desired_kl must be > 0, got {desired_kl}")
        self.lr = float(lr)
        self.desired_kl = float(desired_kl)

    def __call__(self, progress_remaining: float) -> float:
        return self.lr

    def update(self, kl: float) -> float:
        """The new rate after an update whose mean approximate KL was ``kl``."""
        k = KL_ADAPTIVE
        if kl > 2.0 * self.desired_kl:
            self.lr = max(self.lr / k["factor"], k["min_lr"])
        elif 0.0 < kl < 0.5 * self.desired_kl:
            self.lr = min(self.lr * k["factor"], k["max_lr"])
        return self.lr


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "motions",
        nargs="+",
        metavar="MOTION",
        help="builtin:NAME / suite clip name / 'builtin' / robot or human file",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--retargeter",
        default="gmr",
        help="retargeter for built-in clips and human files (default gmr)",
    )
    parser.add_argument("--timesteps", type=int, default=1_000_000, help="env steps in total")
    parser.add_argument(
        "--n-envs",
        type=int,
        default=PPO_DEFAULTS["n_envs"],
        help="robots (batched) or env processes (subproc; there use e.g. 2 x --n-steps 512)",
    )
    parser.add_argument(
        "--n-steps",
        type=int,
        default=PPO_DEFAULTS["n_steps"],
        help="rollout steps per env per update",
    )
    parser.add_argument(
        "--learning-rate",
        type=float,
        default=PPO_DEFAULTS["learning_rate"],
        help="initial (adaptive) or fixed learning rate (default %(default)s)",
    )
    parser.add_argument("--net-arch", type=int, nargs="+", default=NET_ARCH)
    parser.add_argument(
        "--target-kl",
        type=float,
        default=None,
        help="KL early stopping of an update (0: none; default none with the adaptive "
        f"learning rate, {PPO_DEFAULTS['target_kl']} with a fixed one)",
    )
    parser.add_argument(
        "--init-std",
        type=float,
        default=1.0,
        help="initial action std (BeyondMimic 1.0; smaller learns faster on a CPU budget)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint-every", type=int, default=100_000, metavar="STEPS")
    parser.add_argument(
        "--eval-every",
        type=int,
        default=0,
        metavar="STEPS",
        help="evaluate on the clips (eval env) every STEPS (0: only at the end)",
    )
    parser.add_argument("--resume", action="store_true", help="continue from DIR's checkpoint")
    parser.add_argument(
        "--vec",
        choices=("batched", "subproc", "dummy"),
        default="batched",
        help="vector env kind: batched (G1TrackingVecEnv, one process, physics in --threads "
        "threads), subproc (one process per env) or dummy (one process, env by env)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="physics threads of the batched vector env",
    )
    parser.add_argument(
        "--lr-schedule",
        choices=("adaptive", "fixed"),
        default="adaptive",
        help="adaptive: BeyondMimic's KL-adaptive learning rate (desired KL --desired-kl)",
    )
    parser.add_argument(
        "--desired-kl",
        type=float,
        default=KL_ADAPTIVE["desired_kl"],
        help="KL per update that the adaptive learning rate aims at (default %(default)s)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _latest_checkpoint(ckpt: Path) -> tuple[Path, Path] | None:
    zips = sorted(ckpt.glob("ppo_*_steps.zip"), key=lambda p: int(p.stem.split("_")[-2]))
    if not zips:
        return None
    z = zips[-1]
    norm = ckpt / f"ppo_vecnormalize_{z.stem.split('_')[-2]}_steps.pkl"
    return (z, norm) if norm.is_file() else None


def _callbacks(args, out: Path, motions, t_start: float, resumed_steps: int | None = None):
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
            if args.eval_every and self.num_timesteps - self.last_eval >= args.eval_every:
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


def plot_curve(csv: Path, png: Path) -> None:
    """Tracking error (and evaluation) against environment steps."""
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
    ax[2].plot(df.timesteps, df.ep_len_mean / 500.0, label="training episode length / 500")
    ax[2].plot(ev.timesteps, ev.eval_tracked_fraction, "o-", label="eval: clip fraction tracked")
    for a in ax:
        a.set_xlabel("env steps")
        a.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(png) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import CallbackList, CheckpointCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecNormalize

    from benchmark.tracking import resolve_motion_specs
    from nmr_gym.envs import G1TrackingEnv

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    motions = resolve_motion_specs(args.motions, args.retargeter)
    # Subprocess envs take the cores while torch trains in this one; the batched env's physics
    # threads are idle during updates, so torch may use the same cores then.
    torch.set_num_threads(max(1, args.threads) if args.vec == "batched" else 1)

    def make_env():  # the env truncates itself at its episode length
        return G1TrackingEnv(motions)

    if args.vec == "batched":
        from stable_baselines3.common.vec_env import VecMonitor

        from nmr_gym.envs.sb3 import SB3VecEnv

        venv = VecMonitor(
            SB3VecEnv(
                args.n_envs,
                motions,
                num_threads=max(1, args.threads),
            )
        )
        venv.seed(args.seed)
    else:
        vec_cls = SubprocVecEnv if args.vec == "subproc" and args.n_envs > 1 else DummyVecEnv
        venv = make_vec_env(make_env, n_envs=args.n_envs, seed=args.seed, vec_env_cls=vec_cls)
    adaptive = args.lr_schedule == "adaptive"
    lr = KLAdaptiveLR(args.learning_rate, args.desired_kl) if adaptive else args.learning_rate
    if args.target_kl is None:
        args.target_kl = 0.0 if adaptive else PPO_DEFAULTS["target_kl"]
    ckpt = out / "checkpoints"
    latest = _latest_checkpoint(ckpt) if args.resume else None
    n_steps = args.n_steps
    batch = n_steps * args.n_envs // PPO_DEFAULTS["n_minibatches"]
    if latest:
        venv = VecNormalize.load(str(latest[1]), venv)
        model = PPO.load(str(latest[0]), env=venv, device="cpu", tensorboard_log=str(out / "tb"))
        print(f"resuming from {latest[0].name} ({model.num_timesteps} steps)")
    else:
        venv = VecNormalize(venv, norm_obs=True, norm_reward=False, clip_obs=10.0)
        model = PPO(
            "MlpPolicy",
            venv,
            n_steps=n_steps,
            batch_size=batch,
            n_epochs=PPO_DEFAULTS["n_epochs"],
            gamma=PPO_DEFAULTS["gamma"],
            gae_lambda=PPO_DEFAULTS["gae_lambda"],
            clip_range=PPO_DEFAULTS["clip_range"],
            ent_coef=PPO_DEFAULTS["ent_coef"],
            vf_coef=PPO_DEFAULTS["vf_coef"],
            max_grad_norm=PPO_DEFAULTS["max_grad_norm"],
            learning_rate=lr,
            target_kl=args.target_kl or None,
            seed=args.seed,
            device="cpu",
            tensorboard_log=str(out / "tb"),
            policy_kwargs={
                "net_arch": {"pi": list(args.net_arch), "vf": list(args.net_arch)},
                "activation_fn": torch.nn.ELU,
                "log_std_init": float(np.log(args.init_std)),
            },
        )
    config = {
        "motions": [m.metadata.get("name") for m in motions],
        "retargeter": args.retargeter,
        "timesteps": args.timesteps,
        "n_envs": args.n_envs,
        "n_steps": n_steps,
        "batch_size": batch,
        "learning_rate": args.learning_rate,
        "lr_schedule": args.lr_schedule,
        "desired_kl": args.desired_kl if args.lr_schedule == "adaptive" else None,
        "vec": args.vec,
        "net_arch": list(args.net_arch),
        "init_std": args.init_std,
        "seed": args.seed,
        **{
            k: v
            for k, v in PPO_DEFAULTS.items()
            if k not in ("n_envs", "n_steps", "learning_rate", "target_kl")
        },
        "target_kl": args.target_kl,
    }
    (out / "config.json").write_text(json.dumps(config, indent=1))
    t_start = time.time()
    resumed = model.num_timesteps if latest else None
    curve, progress_cls = _callbacks(args, out, motions, t_start, resumed)
    cbs = [
        curve,
        CheckpointCallback(
            max(args.checkpoint_every // args.n_envs, 1),
            str(ckpt),
            name_prefix="ppo",
            save_vecnormalize=True,
        ),
    ]
    if not args.no_progress:
        cbs.append(progress_cls(args.timesteps))
    remaining = max(args.timesteps - model.num_timesteps, 0)
    try:
        model.learn(
            remaining,
            callback=CallbackList(cbs),
            reset_num_timesteps=not latest,
            tb_log_name="ppo",
        )
    except KeyboardInterrupt:  # keep what was learnt; --resume continues from here
        model.save(str(ckpt / f"ppo_{model.num_timesteps}_steps.zip"))
        venv.save(str(ckpt / f"ppo_vecnormalize_{model.num_timesteps}_steps.pkl"))
        venv.close()
        raise
    if curve.rows and not np.isfinite(curve.rows[-1].get("eval_success", np.nan)):
        curve.rows[-1].update(curve.evaluate())  # a final evaluation on the clips
        curve.save()
    model.save(str(out / "model.zip"))
    venv.save(str(out / "vecnormalize.pkl"))
    venv.close()
    plot_curve(out / "curve.csv", out / "curve.png")
    print(f"wrote {out / 'model.zip'}, curve {out / 'curve.csv'} ({time.time() - t_start:.0f} s)")
    return 0
