"""``nmr-bench train-tracker MOTION... --out DIR``: PPO (stable-baselines3) on NMRTrack-G1-v0.

The PPO settings are :class:`benchmark.training.PPOConfig` (BeyondMimic's hyper-parameters
adapted to one CPU machine; every ``--option`` below that is a PPO setting comes from it):

- envs: ``--vec batched`` (default) runs ``--n-envs`` robots (default 32) in one process
  (:class:`~nmr_gym.envs.G1TrackingVecEnv`, physics in ``--threads`` threads, one adaptive
  sampler as on BeyondMimic's GPU); ``subproc``/``dummy`` run one ``G1TrackingEnv`` per env;
- learning rate: BeyondMimic's 1e-3 adapted to a KL of 0.01 (``KLAdaptiveLR``, stepped after
  each update rather than each minibatch); ``--lr-schedule fixed`` uses a fixed rate with KL
  early stopping (``--target-kl``, default 0.02) instead;
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

from benchmark.training.config import PPOConfig

NAME = "train-tracker"
HELP = "train a PPO tracking policy on NMRTrack-G1-v0 (stable-baselines3)"
ORDER = 60


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
    PPOConfig.add_arguments(parser)
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
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _make_venv(args: argparse.Namespace, cfg: PPOConfig, motions):
    """The SB3 vector env of ``--vec`` (monitored; normalisation is added by the caller)."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecMonitor

    from nmr_gym.envs import G1TrackingEnv

    if args.vec == "batched":
        from nmr_gym.envs.sb3 import SB3VecEnv

        venv = VecMonitor(SB3VecEnv(cfg.n_envs, motions, num_threads=max(1, args.threads)))
        venv.seed(cfg.seed)
        return venv

    def make_env():  # the env truncates itself at its episode length
        return G1TrackingEnv(motions)

    vec_cls = SubprocVecEnv if args.vec == "subproc" and cfg.n_envs > 1 else DummyVecEnv
    return make_vec_env(make_env, n_envs=cfg.n_envs, seed=cfg.seed, vec_env_cls=vec_cls)


def _new_model(cfg: PPOConfig, venv, out: Path):
    import torch
    from stable_baselines3 import PPO

    from benchmark.training.schedules import KLAdaptiveLR

    adaptive = cfg.lr_schedule == "adaptive"
    lr = KLAdaptiveLR(cfg.learning_rate, cfg.desired_kl) if adaptive else cfg.learning_rate
    return PPO(
        "MlpPolicy",
        venv,
        n_steps=cfg.n_steps,
        batch_size=cfg.batch_size,
        n_epochs=cfg.n_epochs,
        gamma=cfg.gamma,
        gae_lambda=cfg.gae_lambda,
        clip_range=cfg.clip_range,
        ent_coef=cfg.ent_coef,
        vf_coef=cfg.vf_coef,
        max_grad_norm=cfg.max_grad_norm,
        learning_rate=lr,
        target_kl=cfg.target_kl or None,
        seed=cfg.seed,
        device="cpu",
        tensorboard_log=str(out / "tb"),
        policy_kwargs={
            "net_arch": {"pi": list(cfg.net_arch), "vf": list(cfg.net_arch)},
            "activation_fn": torch.nn.ELU,
            "log_std_init": float(np.log(cfg.init_std)),
        },
    )


def run(args: argparse.Namespace) -> int:
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import CallbackList, CheckpointCallback
    from stable_baselines3.common.vec_env import VecNormalize

    from benchmark.motions import resolve_motion_specs
    from benchmark.training.callbacks import latest_checkpoint, make_callbacks
    from benchmark.training.plotting import plot_curve

    cfg = PPOConfig.from_args(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    motions = resolve_motion_specs(args.motions, args.retargeter)
    # Subprocess envs take the cores while torch trains in this one; the batched env's physics
    # threads are idle during updates, so torch may use the same cores then.
    torch.set_num_threads(max(1, args.threads) if args.vec == "batched" else 1)
    venv = _make_venv(args, cfg, motions)
    episode_steps = int(venv.get_attr("max_episode_steps", [0])[0])
    ckpt = out / "checkpoints"
    latest = latest_checkpoint(ckpt) if args.resume else None
    if latest:
        venv = VecNormalize.load(str(latest[1]), venv)
        model = PPO.load(str(latest[0]), env=venv, device="cpu", tensorboard_log=str(out / "tb"))
        print(f"resuming from {latest[0].name} ({model.num_timesteps} steps)")
    else:
        venv = VecNormalize(venv, norm_obs=True, norm_reward=False, clip_obs=10.0)
        model = _new_model(cfg, venv, out)
    record = {
        "motions": [m.metadata.get("name") for m in motions],
        "retargeter": args.retargeter,
        "timesteps": args.timesteps,
        "vec": args.vec,
        "episode_steps": episode_steps,
        **cfg.to_record(),
    }
    (out / "config.json").write_text(json.dumps(record, indent=1))
    t_start = time.time()
    resumed = model.num_timesteps if latest else None
    curve, progress_cls = make_callbacks(args.eval_every, out, motions, t_start, resumed)
    cbs = [
        curve,
        CheckpointCallback(
            max(args.checkpoint_every // cfg.n_envs, 1),
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
    plot_curve(out / "curve.csv", out / "curve.png", episode_steps)
    print(f"wrote {out / 'model.zip'}, curve {out / 'curve.csv'} ({time.time() - t_start:.0f} s)")
    return 0
