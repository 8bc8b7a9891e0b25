"""``nmr-bench train-tracker MOTION... --out DIR``: PPO (stable-baselines3) on NMRTrack-G1-v0.

The PPO settings are :class:`benchmark.training.PPOConfig` (BeyondMimic's hyper-parameters
adapted to one CPU machine) and the MDP settings :class:`benchmark.training.MDPConfig`; every
``--option`` below that is one of their fields comes from them and is recorded in config.json:

- MDP: ``--obs-mode actor`` (BeyondMimic's 160-entry observation, default) or ``nmr`` (the NMR
  paper's 509-entry expert observation, its Table I); ``--rewards beyondmimic`` (default) or
  ``nmr_expert`` (the paper's expert rewards, its Table II); ``--sigma-start S --sigma-end E``:
  every tracking reward's width anneals linearly from S to E times the reward set's width over
  ``--sigma-steps`` (default ``--timesteps``) env steps (the paper's Eq. 6), through
  ``nmr_gym.envs.sb3.SigmaAnnealingCallback``; the widths are a function of the step count, so
  ``--resume`` continues at the checkpoint's widths;

- envs: ``--vec batched`` (default) runs ``--n-envs`` robots (default 32) in one process
  (:class:`~nmr_gym.envs.G1TrackingVecEnv`, physics in ``--threads`` threads, one adaptive
  sampler as on BeyondMimic's GPU); ``subproc``/``dummy`` run one ``G1TrackingEnv`` per env;
- learning rate: BeyondMimic's 1e-3 adapted to a KL of 0.01 (``KLAdaptiveLR``, stepped after
  each update rather than each minibatch); ``--lr-schedule fixed`` uses a fixed rate with KL
  early stopping (``--target-kl``, default 0.02) instead;
- the critic sees the policy's observation: stable-baselines3's PPO has no asymmetric critic
  (the 286-dim privileged observation is available from the env's ``obs_mode="dict"``).

Writes ``DIR/model.zip`` + ``DIR/vecnormalize.pkl`` (final), ``DIR/checkpoints/`` (periodic,
with normalisation statistics), ``DIR/tb/`` (TensorBoard, with the widths as ``sigma/<term>``),
``DIR/curve.csv`` + ``curve.png`` (training tracking errors and the widths' multiplier per
update, periodic evaluations), ``DIR/config.json`` (every setting, the resolved width schedule)
and ``DIR/rewards.json`` (the env's reward table at the end: weights and widths). ``--resume``
continues from the latest checkpoint in DIR (with the same ``--obs-mode`` and ``--rewards``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np

from benchmark.backends import BACKENDS, mjlab_backend
from benchmark.motions import DEFAULT_RETARGETER
from benchmark.training.config import MDPConfig, PPOConfig, TrainingConfigError

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
        default=DEFAULT_RETARGETER,
        help="retargeter for built-in clips and human files (default %(default)s)",
    )
    parser.add_argument("--timesteps", type=int, default=1_000_000, help="env steps in total")
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="cpu",
        help="cpu: stable-baselines3 PPO on the batched MuJoCo env here; mjlab: MuJoCo Warp on a "
        "GPU (optional extra, own environment; see the README's Scaling section)",
    )
    mjlab_backend.add_backend_arguments(parser)
    PPOConfig.add_arguments(parser)
    MDPConfig.add_arguments(parser)
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


def _make_venv(args: argparse.Namespace, cfg: PPOConfig, mdp: MDPConfig, motions):
    """The SB3 vector env of ``--vec`` (monitored; normalisation is added by the caller)."""
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecMonitor

    from nmr_gym.envs import G1TrackingEnv

    env_kw = {"obs_mode": mdp.obs_mode, "config": mdp.tracking_config()}
    if args.vec == "batched":
        from nmr_gym.envs.sb3 import SB3VecEnv

        venv = VecMonitor(
            SB3VecEnv(cfg.n_envs, motions, num_threads=max(1, args.threads), **env_kw)
        )
        venv.seed(cfg.seed)
        return venv

    def make_env():  # the env truncates itself at its episode length
        return G1TrackingEnv(motions, **env_kw)

    # VecMonitor rather than make_vec_env's per-env Monitor, whose own ``rewards`` attribute
    # would hide the env's reward table from ``get_attr("rewards")``.
    vec_cls = SubprocVecEnv if args.vec == "subproc" and cfg.n_envs > 1 else DummyVecEnv
    venv = VecMonitor(vec_cls([make_env] * cfg.n_envs))
    venv.seed(cfg.seed)
    return venv


def _write_json(path: Path, record: dict) -> None:
    from nmr_gym.io.atomic import write_text_atomic

    write_text_atomic(path, json.dumps(record, indent=1))


def _reward_record(rewards: dict) -> dict:
    """The env's reward table as JSON: name -> {"weight", **params}."""
    return {k: {"weight": t.weight, **t.params} for k, t in rewards.items()}


def _check_resumable(config: Path, mdp: MDPConfig) -> None:
    """Refuse to resume a run trained with another observation or reward set: the policy
    could not read the observation, or would continue on another objective."""
    if not config.is_file():
        return
    old = json.loads(config.read_text())
    for key in ("obs_mode", "rewards", "action_offset"):
        was = old.get(key, MDPConfig().to_record()[key])  # runs before the option: defaults
        if was != getattr(mdp, key):
            raise TrainingConfigError(
                f"{config.parent} was trained with --{key.replace('_', '-')} {was}; resume "
                f"with the same value (got {getattr(mdp, key)}) or use a new --out"
            )


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
    from nmr_gym.envs.sb3 import SigmaAnnealingCallback

    cfg = PPOConfig.from_args(args)
    mdp = MDPConfig.from_args(args)
    if args.timesteps < 1:
        raise TrainingConfigError(f"--timesteps must be >= 1, got {args.timesteps}")
    if args.backend == "mjlab" and mdp != MDPConfig():
        raise TrainingConfigError(
            "--obs-mode, --rewards and --sigma-* are options of the cpu backend; the mjlab "
            "backend trains its own task (see --mjlab-mdp)"
        )
    out = Path(args.out)
    motions = resolve_motion_specs(args.motions, args.retargeter)
    if args.backend == "mjlab":  # its run creates --out when it finished (atomic)
        from benchmark.backends import mjlab_backend

        # several motions: one policy on all of them (benchmark.backends.mjlab_multiclip)
        result = mjlab_backend.train_from_args(motions, args)
        print(f"wrote {result.policy}, curve {result.curve}")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    # Subprocess envs take the cores while torch trains in this one; the batched env's physics
    # threads are idle during updates, so torch may use the same cores then.
    torch.set_num_threads(max(1, args.threads) if args.vec == "batched" else 1)
    ckpt = out / "checkpoints"
    latest = latest_checkpoint(ckpt) if args.resume else None
    if latest:
        _check_resumable(out / "config.json", mdp)
    venv = _make_venv(args, cfg, mdp, motions)
    episode_steps = int(venv.get_attr("max_episode_steps", [0])[0])
    if latest:
        venv = VecNormalize.load(str(latest[1]), venv)
        model = PPO.load(str(latest[0]), env=venv, device="cpu", tensorboard_log=str(out / "tb"))
        print(f"resuming from {latest[0].name} ({model.num_timesteps} steps)")
    else:
        venv = VecNormalize(venv, norm_obs=True, norm_reward=False, clip_obs=10.0)
        model = _new_model(cfg, venv, out)
    schedule = mdp.sigma_schedule(args.timesteps)
    record = {
        "motions": [m.metadata.get("name") for m in motions],
        "retargeter": args.retargeter,
        "timesteps": args.timesteps,
        "vec": args.vec,
        "episode_steps": episode_steps,
        **cfg.to_record(),
        **mdp.to_record(),
        "sigma_schedule": None if schedule is None else dataclasses.asdict(schedule),
    }
    _write_json(out / "config.json", record)
    t_start = time.time()
    resumed = model.num_timesteps if latest else None
    curve, progress_cls = make_callbacks(
        args.eval_every,
        out,
        motions,
        t_start,
        resumed,
        obs_mode=mdp.obs_mode,
        default_sigmas=mdp.default_sigmas(),
    )
    # The widths are set before every rollout from the step count (also the resumed one).
    cbs = [] if schedule is None else [SigmaAnnealingCallback(schedule, verbose=1)]
    cbs += [
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
    _write_json(out / "rewards.json", _reward_record(venv.get_attr("rewards", [0])[0]))
    venv.close()
    plot_curve(out / "curve.csv", out / "curve.png", episode_steps)
    print(f"wrote {out / 'model.zip'}, curve {out / 'curve.csv'} ({time.time() - t_start:.0f} s)")
    return 0
