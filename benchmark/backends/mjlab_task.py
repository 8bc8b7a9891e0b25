"""mjlab's G1 tracking task with this project's MDP numbers, its trainer, and the exports.

Runs inside the Python environment that has mjlab (``pip install 'nmr-gym[mjlab]'``; mjlab
1.6 pins ``mujoco~=3.11``, ``mujoco-warp~=3.11``, ``rsl-rl-lib==5.4.2``). The driver
(:mod:`benchmark.backends.mjlab_backend`) starts it as
``python -m benchmark.backends.mjlab_task JOB.json``.

mjlab's task ``Mjlab-Tracking-Flat-Unitree-G1`` is a port of BeyondMimic (HybridRobotics'
whole_body_tracking) to MuJoCo Warp. Its observations, action parametrisation, tracking rewards,
terminations, reset noise, pushes, adaptive sampling and PPO settings already equal the
project's (``nmr_gym.envs``, BeyondMimic's numbers). Where mjlab departs from BeyondMimic,
:func:`apply_project_mdp` puts the project's term back (:data:`PROJECT_MDP_CHANGES` lists
each one); what is left different is listed in :data:`REMAINING_DIFFERENCES`.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from nmr_gym.envs import mdp
from nmr_gym.envs import randomization as dr
from nmr_gym.envs.config import TrackingConfig
from nmr_gym.g1 import spec

# The project's undesired-contact term: its force threshold [N] and weight, from the env's tables.
_UNDESIRED_CONTACT_FORCE = TrackingConfig().undesired_contact_force
_UNDESIRED_CONTACT_WEIGHT = mdp.BEYONDMIMIC_REWARDS["undesired_contacts"].weight

TASK_ID = "Mjlab-Tracking-Flat-Unitree-G1"
#: Largest |action| difference allowed between the exported actor and rsl_rl's (float32).
EXPORT_TOLERANCE = 1e-4
#: Name of the contact sensor behind the ``undesired_contacts`` reward.
UNDESIRED_CONTACT_SENSOR = "undesired_contact"

#: mjlab term -> what apply_project_mdp makes of it (the project's value, BeyondMimic's).
PROJECT_MDP_CHANGES: dict[str, str] = {
    "rewards.self_collisions": "replaced by undesired_contacts: bodies other than the "
    "ankle-roll and wrist-yaw links whose net contact force exceeds "
    f"{_UNDESIRED_CONTACT_FORCE} N, weight {_UNDESIRED_CONTACT_WEIGHT} (mjlab: "
    "self-collisions over 10 N, weight -10)",
    "events.foot_friction": f"every robot collision geom, U{dr.FRICTION_RANGE} at each "
    "reset (mjlab: feet only, U(0.3, 1.2), once at start-up)",
    "events.base_com": "torso CoM offset drawn at each reset (mjlab: once at start-up)",
    "events.encoder_bias": "joint offset drawn at each reset (mjlab: once at start-up)",
}
#: Known differences that stay (the sim-to-sim evaluation in the CPU env measures their effect).
REMAINING_DIFFERENCES: dict[str, str] = {
    "robot model": "mjlab's own G1 MJCF (Menagerie-derived, collision geoms named "
    "*_collision, foot contact spheres condim 3, other geoms condim 1) vs the project's "
    "reference G1 (nmr_gym.g1.tracking_model); same joints, bodies and PD gains",
    "encoder bias": "mjlab biases the observed joint positions only; the project offsets the "
    "default pose in both the observation and the PD target (±0.01 rad)",
    "base_lin_vel": "mjlab reads the IMU site's velocimeter (site 4.5 cm ahead of and 8.3 cm "
    "below the pelvis origin); the project uses the pelvis origin's velocity. The sim-to-sim "
    "policy wrapper converts (MjlabPolicy)",
}


# ------------------------------------------------------------------------------ MDP terms
def undesired_contacts(env: Any, sensor_name: str, threshold: float) -> Any:
    """Number of watched bodies whose net contact force exceeds ``threshold`` [N], (B,).

    The project's ``rewards.undesired_contacts`` on mjlab's contact sensor (one net-force slot
    per body, world frame).
    """
    import torch

    force = env.scene[sensor_name].data.force  # (B, P, 3)
    force = force.reshape(force.shape[0], -1, 3)
    return (torch.linalg.vector_norm(force, dim=-1) > threshold).sum(dim=-1).float()


def apply_project_mdp(cfg: Any) -> Any:
    """Put the project's MDP terms into an mjlab G1 tracking config (in place; returned)."""
    from mjlab.managers.reward_manager import RewardTermCfg
    from mjlab.sensor import ContactMatch, ContactSensorCfg

    excluded = (*spec.FOOT_BODIES, *spec.HAND_BODIES)
    cfg.rewards.pop("self_collisions", None)
    cfg.scene.sensors = tuple(s for s in cfg.scene.sensors if s.name != "self_collision") + (
        ContactSensorCfg(
            name=UNDESIRED_CONTACT_SENSOR,
            primary=ContactMatch(mode="body", pattern=".*", entity="robot", exclude=excluded),
            secondary=None,
            fields=("found", "force"),
            reduce="netforce",
        ),
    )
    cfg.rewards["undesired_contacts"] = RewardTermCfg(
        func=undesired_contacts,
        weight=_UNDESIRED_CONTACT_WEIGHT,
        params={"sensor_name": UNDESIRED_CONTACT_SENSOR, "threshold": _UNDESIRED_CONTACT_FORCE},
    )
    friction = cfg.events["foot_friction"]
    friction.mode = "reset"
    friction.params["asset_cfg"].geom_names = r".*_collision$"
    friction.params["ranges"] = tuple(dr.FRICTION_RANGE)
    friction.params["shared_random"] = False
    for name in ("base_com", "encoder_bias"):
        cfg.events[name].mode = "reset"
    com = cfg.events["base_com"].params["ranges"]
    for axis, half in enumerate(dr.TORSO_COM_OFFSET):
        com[axis] = (-half, half)
    bias = dr.DEFAULT_JOINT_OFFSET
    cfg.events["encoder_bias"].params["bias_range"] = (-bias, bias)
    return cfg


def make_env_cfg(
    motion_file: str | os.PathLike,
    num_envs: int,
    *,
    play: bool = False,
    project_mdp: bool = True,
    seed: int = 0,
) -> Any:
    """mjlab's G1 tracking env config for ``motion_file`` with ``num_envs`` parallel robots.

    ``play``: mjlab's evaluation variant (frame-0 starts, no noise, no pushes).
    A motion file with several clips (``clip_lengths``) gets
    :class:`~benchmark.backends.mjlab_multiclip.MultiClipMotionCommandCfg`.
    ``project_mdp``: apply :func:`apply_project_mdp`.
    """
    from mjlab.tasks.tracking.config.g1.env_cfgs import unitree_g1_flat_tracking_env_cfg

    cfg = unitree_g1_flat_tracking_env_cfg(play=play)
    cfg.scene.num_envs = int(num_envs)
    cfg.commands["motion"].motion_file = str(motion_file)
    with np.load(motion_file) as data:
        several = "clip_lengths" in data.files and np.size(data["clip_lengths"]) > 1
    if several:  # the references of one policy (a CEPR expert), see mjlab_multiclip
        from benchmark.backends.mjlab_multiclip import MultiClipMotionCommandCfg

        cfg.commands["motion"] = MultiClipMotionCommandCfg.from_cfg(cfg.commands["motion"])
    cfg.seed = int(seed)
    if project_mdp:
        apply_project_mdp(cfg)
    return cfg


def make_runner_cfg(
    iterations: int, *, seed: int = 0, save_interval: int = 500, experiment: str = "nmr_gym"
) -> Any:
    """mjlab's G1 tracking PPO settings (BeyondMimic's: [512, 256, 128] ELU, 24 steps per env,
    lr 1e-3 adaptive, ...), logged to TensorBoard, for ``iterations`` iterations."""
    from mjlab.tasks.tracking.config.g1.rl_cfg import unitree_g1_tracking_ppo_runner_cfg

    cfg = unitree_g1_tracking_ppo_runner_cfg()
    cfg.max_iterations = int(iterations)
    cfg.seed = int(seed)
    cfg.save_interval = int(save_interval)
    cfg.experiment_name = experiment
    cfg.logger = "tensorboard"
    cfg.upload_model = False
    return cfg


def conventions(env: Any) -> dict[str, Any]:
    """What a policy trained on ``env`` expects and means, read from the built env.

    joint order, default joint positions [rad], action scale and offset (target = offset +
    scale * action), the actor and critic observation layouts (term name, size), and the pose
    of the IMU site whose velocimeter gives ``base_lin_vel`` (pelvis frame).
    """
    robot = env.scene["robot"]
    term = env.action_manager.get_term("joint_pos")
    n = term.action_dim

    def per_joint(x):
        arr = x[0] if hasattr(x, "shape") and len(x.shape) == 2 else x
        arr = np.asarray(arr.cpu() if hasattr(arr, "cpu") else arr, dtype=float)
        return np.broadcast_to(arr, (n,)).tolist()

    om = env.observation_manager
    layouts = {
        group: [
            [name, int(math.prod(dim))]
            for name, dim in zip(om.active_terms[group], om.group_obs_term_dim[group], strict=True)
        ]
        for group in ("actor", "critic")
    }
    m = env.sim.mj_model
    site = m.site("robot/imu_in_pelvis")
    return {
        "joint_names": list(robot.joint_names),
        "body_names": list(robot.body_names),
        "default_joint_pos": per_joint(robot.data.default_joint_pos),
        "action_scale": per_joint(term.scale),
        "action_offset": per_joint(term.offset),
        "observation_layouts": layouts,
        "imu_site_pos_b": np.asarray(site.pos, dtype=float).tolist(),
        "imu_site_quat_b": np.asarray(site.quat, dtype=float).tolist(),
        "imu_site_body": m.body(int(m.site_bodyid[site.id])).name,
        "step_dt": float(env.step_dt),
    }


# ------------------------------------------------------------------------------- training
def read_curve(log_dir: str | os.PathLike) -> list[dict[str, float]]:
    """The TensorBoard scalars rsl_rl wrote, one row per iteration (missing values blank).

    Tags ending in ``/time`` are left out: rsl_rl logs them against wall-clock seconds, not
    iterations."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    acc.Reload()
    rows: dict[int, dict[str, float]] = {}
    for tag in acc.Tags().get("scalars", []):
        if tag.endswith("/time"):
            continue
        for ev in acc.Scalars(tag):
            rows.setdefault(int(ev.step), {"iteration": int(ev.step)})[tag] = float(ev.value)
    return [rows[k] for k in sorted(rows)]


def _write_curve(rows: list[dict[str, float]], path: Path) -> None:
    cols = ["iteration"] + sorted({k for r in rows for k in r} - {"iteration"})
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, cols)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


#: torch activation module class name -> the name MjlabPolicy evaluates.
_ACTIVATIONS = {"ELU": "elu", "ReLU": "relu", "Tanh": "tanh", "Identity": "identity"}


def policy_arrays(policy: Any) -> tuple[dict[str, Any], list[str]]:
    """The deterministic actor of an rsl_rl ``MLPModel`` as arrays: observation normaliser
    (``obs_mean``, ``obs_std``, ``obs_eps``: x -> (x - mean) / (std + eps)) and layers
    ``w{i}``/``b{i}``, plus the activation after each layer ("identity" for the last).

    Plain arrays rather than TorchScript or ONNX: the project's CPU env evaluates them with
    numpy (no exporter, no runtime), and they do not depend on rsl_rl's module layout.
    """
    import torch

    arrays: dict[str, Any] = {}
    norm = policy.obs_normalizer
    n_obs = int(policy.obs_dim)
    if isinstance(norm, torch.nn.Identity):
        arrays.update(obs_mean=np.zeros(n_obs), obs_std=np.ones(n_obs), obs_eps=np.array(0.0))
    else:
        arrays.update(
            obs_mean=norm.mean.detach().cpu().numpy().astype(np.float64),
            obs_std=norm.std.detach().cpu().numpy().astype(np.float64),
            obs_eps=np.array(float(norm.eps)),
        )
    activations: list[str] = []
    n_linear = 0
    # Iterate the Sequential itself: rsl_rl registers one activation instance after every layer,
    # and Module.modules()/children() would yield that shared instance only once.
    for module in list(policy.mlp):
        if isinstance(module, torch.nn.Linear):
            arrays[f"w{n_linear}"] = module.weight.detach().cpu().numpy().astype(np.float64)
            arrays[f"b{n_linear}"] = module.bias.detach().cpu().numpy().astype(np.float64)
            activations.append("identity")
            n_linear += 1
        elif type(module).__name__ in _ACTIVATIONS and activations:
            activations[-1] = _ACTIVATIONS[type(module).__name__]
        else:
            raise RuntimeError(f"cannot export actor layer {type(module).__name__}")
    return arrays, activations


def mlp_forward(arrays: dict[str, Any], activations: list[str], obs: Any) -> Any:
    """numpy forward pass of :func:`policy_arrays` (the same code as ``MjlabPolicy``)."""
    from benchmark.backends.mjlab_backend import mlp_forward as forward

    return forward(arrays, activations, obs)


def export_policy(runner: Any, env: Any, out_dir: Path) -> tuple[Path, Path]:
    """The deterministic actor as ``policy.npz`` (:func:`policy_arrays`) and its conventions
    (:func:`conventions`, activations) as ``policy.json``; checked against torch on random
    observations before it is written."""
    import torch

    policy = runner.alg.get_policy()
    arrays, activations = policy_arrays(policy)
    probe = np.random.default_rng(0).normal(size=(8, int(policy.obs_dim)))
    with torch.inference_mode():
        exporter = policy.as_jit().to("cpu").eval()
        want = exporter(torch.as_tensor(probe, dtype=torch.float32)).numpy()
    got = mlp_forward(arrays, activations, probe)
    err = float(np.abs(got - want).max())
    if not err < EXPORT_TOLERANCE:
        raise RuntimeError(f"exported policy differs from rsl_rl's by {err} (> {EXPORT_TOLERANCE})")
    npz = out_dir / "policy.npz"
    tmp = out_dir / ".policy.npz.tmp"
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, npz)
    meta = conventions(env)
    meta.update(
        format="nmr-gym mjlab policy",
        format_version=1,
        task=TASK_ID,
        activations=activations,
        export_max_abs_error=err,
    )
    js = out_dir / "policy.json"
    js.write_text(json.dumps(meta, indent=1) + "\n")
    return npz, js


def train(job: dict[str, Any]) -> dict[str, Any]:
    """Train one policy as ``job`` says (the keys :func:`mjlab_backend.write_job` writes).

    Writes into ``job["out"]``: ``logs/`` (rsl_rl's checkpoints ``model_N.pt`` and TensorBoard
    events), ``curve.csv``, ``policy.pt`` + ``policy.json``, ``result.json``.
    """
    import torch
    from mjlab.envs import ManagerBasedRlEnv
    from mjlab.rl import RslRlVecEnvWrapper
    from mjlab.tasks.tracking.rl import MotionTrackingOnPolicyRunner

    out = Path(job["out"])
    out.mkdir(parents=True, exist_ok=True)
    device = job.get("device") or ("cuda:0" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(int(job["seed"]))
    if job.get("torch_threads"):
        torch.set_num_threads(int(job["torch_threads"]))
    env_cfg = make_env_cfg(
        job["motion_file"], job["num_envs"], project_mdp=job["project_mdp"], seed=job["seed"]
    )
    agent_cfg = make_runner_cfg(
        job["iterations"], seed=job["seed"], save_interval=job["save_interval"]
    )
    t0 = time.perf_counter()
    env = ManagerBasedRlEnv(cfg=env_cfg, device=device)
    wrapped = RslRlVecEnvWrapper(env, clip_actions=agent_cfg.clip_actions)
    log_dir = out / "logs"
    runner = MotionTrackingOnPolicyRunner(wrapped, asdict(agent_cfg), str(log_dir), device)
    t1 = time.perf_counter()
    runner.learn(num_learning_iterations=agent_cfg.max_iterations, init_at_random_ep_len=True)
    t2 = time.perf_counter()
    rows = read_curve(log_dir)
    _write_curve(rows, out / "curve.csv")
    pt, js = export_policy(runner, env, out)
    checkpoints = sorted(log_dir.glob("model_*.pt"), key=lambda p: int(p.stem.split("_")[1]))
    steps = agent_cfg.max_iterations * agent_cfg.num_steps_per_env * env.num_envs
    result = {
        "backend": "mjlab",
        "task": TASK_ID,
        "device": device,
        "num_envs": env.num_envs,
        "iterations": agent_cfg.max_iterations,
        "episode_steps": int(env.max_episode_length),  # time limit [control steps]
        "env_steps": steps,
        "setup_s": t1 - t0,
        "train_s": t2 - t1,
        "env_steps_per_s": steps / (t2 - t1) if t2 > t1 else math.nan,
        "checkpoint": checkpoints[-1].relative_to(out).as_posix() if checkpoints else "",
        "policy": pt.name,
        "policy_meta": js.name,
        "curve": "curve.csv",
        "project_mdp_changes": PROJECT_MDP_CHANGES if job["project_mdp"] else {},
        "remaining_differences": REMAINING_DIFFERENCES,
        "versions": _versions(),
    }
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    env.close()
    return result


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("mjlab", "mujoco", "mujoco-warp", "warp-lang", "rsl-rl-lib", "torch"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = ""
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m benchmark.backends.mjlab_task JOB.json", file=sys.stderr)
        return 2
    job = json.loads(Path(argv[0]).read_text())
    result = train(job)
    print(json.dumps({k: result[k] for k in ("device", "num_envs", "env_steps_per_s")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
