"""The mjlab GPU tracking backend, driver side: export, launch, bring back, evaluate here.

mjlab (its task ``Mjlab-Tracking-Flat-Unitree-G1``, a port of BeyondMimic on MuJoCo Warp) trains
thousands of G1 robots in parallel on one NVIDIA GPU. It pins ``mujoco~=3.11`` while this
project's default install uses the newest MuJoCo, so it lives in its own Python environment;
this module never imports mjlab and talks to :mod:`benchmark.backends.mjlab_task` through files:

1. :func:`export_reference`: the reference resampled to the control rate (derived from the
   model) in mjlab's motion npz (BeyondMimic's: ``fps``, ``joint_pos`` (T, 29), ``joint_vel``,
   ``body_pos_w`` (T, 30, 3), ``body_quat_w`` wxyz, ``body_lin_vel_w``, ``body_ang_vel_w``,
   every body in MuJoCo's depth-first order, which is mjlab's G1 body order);
2. :func:`train`: writes ``job.json`` and runs ``PYTHON -m benchmark.backends.mjlab_task``
   with mjlab's Python (:func:`find_mjlab_python`), in a temporary folder renamed to ``out`` when
   it finished (no half-written result);
3. what comes back (:class:`TrainResult`): ``curve.csv`` (rsl_rl's scalars per iteration),
   ``logs/model_N.pt`` (rsl_rl checkpoints), ``policy.npz`` (the deterministic actor as arrays:
   observation normaliser and MLP layers, evaluated here with numpy) and ``policy.json`` (its
   conventions, read from the built mjlab env), ``result.json`` (timings, env steps/s,
   versions, MDP changes);
4. :class:`MjlabPolicy`: the exported policy as a tracker of the project's CPU env (same call
   signature as ``benchmark.tracking`` policies), so ``nmr-bench eval-tracker`` measures it in
   MuJoCo on the project's reference G1 (sim-to-sim). It maps the project's actor observation
   to mjlab's (:func:`project_to_mjlab_obs`) and mjlab's action to PD targets
   (:func:`mjlab_action_to_joint_targets`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nmr_gym.errors import MotionFormatError, NmrGymError
from nmr_gym.g1 import spec

#: Environment variable naming the Python interpreter that has mjlab installed.
MJLAB_PYTHON_ENV = "NMR_GYM_MJLAB_PYTHON"
#: BeyondMimic's / mjlab's parallel environments on one GPU.
DEFAULT_NUM_ENVS = 4096
#: Iterations (24 steps per env each) of a default run; BeyondMimic trains up to 30k.
DEFAULT_ITERATIONS = 10_000
#: Env steps per robot in one PPO iteration (mjlab's G1 tracking runner, BeyondMimic's 24).
STEPS_PER_ITERATION = 24
#: Checkpoint every this many iterations (mjlab's G1 tracking default).
DEFAULT_SAVE_INTERVAL = 500
POLICY_FILE = "policy.npz"
POLICY_META_FILE = "policy.json"
POLICY_FORMAT = "nmr-gym mjlab policy"
#: Actor observation terms that hold one value per joint (mjlab's joint order).
_JOINT_TERMS = ("joint_pos", "joint_vel", "actions")


class MjlabBackendError(NmrGymError):
    """The mjlab backend cannot run: mjlab missing, bad settings, or a failed training run."""


# ------------------------------------------------------------------------------- export
def control_fps() -> float:
    """The policy rate [Hz]: 1 / (physics timestep * decimation) of the tracking model."""
    from nmr_gym.envs.config import control_fps as env_control_fps

    return float(env_control_fps())


def export_reference(motion: Any, path: str | os.PathLike) -> Path:
    """Write ``motion`` (a ``RobotMotion``) resampled to :func:`control_fps` as mjlab's motion
    npz (atomically). Bodies and joints are in ``nmr_gym.g1.spec`` order, which is mjlab's."""
    from nmr_gym.io import save_robot_motion
    from nmr_gym.motion import RobotMotion

    if not isinstance(motion, RobotMotion):
        raise MotionFormatError(f"expected a RobotMotion, got {type(motion).__name__}", path)
    clip = motion.resample(control_fps())
    return save_robot_motion(clip, path, "beyondmimic")


#: Key of a multi-clip motion npz holding each clip's length [frames]
#: (``benchmark.backends.mjlab_multiclip``).
CLIP_LENGTHS_KEY = "clip_lengths"
#: Keys of mjlab's motion npz with one row per frame (concatenated over clips).
_PER_FRAME_KEYS = (
    "joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w",
)  # fmt: skip


def export_references(motions: Any, path: str | os.PathLike) -> Path:
    """Write one ``RobotMotion`` (:func:`export_reference`) or several as one mjlab motion npz:
    each resampled to :func:`control_fps`, the per-frame arrays concatenated in time, and
    ``clip_lengths`` (C,) [frames] saying where each clip starts (read by
    ``mjlab_multiclip.MultiClipMotionCommand``; mjlab's own loader ignores it). Atomic."""
    import tempfile

    from nmr_gym.motion import RobotMotion

    path = Path(path)
    if isinstance(motions, RobotMotion):
        return export_reference(motions, path)
    motions = list(motions)
    if not motions:
        raise MotionFormatError("no reference motion to export", path)
    if len(motions) == 1:
        return export_reference(motions[0], path)
    arrays: dict[str, list[np.ndarray]] = {k: [] for k in _PER_FRAME_KEYS}
    lengths, first = [], None
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        for i, motion in enumerate(motions):
            with np.load(export_reference(motion, Path(tmp) / f"{i}.npz")) as data:
                if first is None:
                    first = {k: np.asarray(data[k]) for k in data.files if k not in arrays}
                for k in _PER_FRAME_KEYS:
                    arrays[k].append(np.asarray(data[k]))
                lengths.append(int(data["joint_pos"].shape[0]))
        if min(lengths) < 2:
            raise MotionFormatError(
                f"reference {lengths.index(min(lengths))} has {min(lengths)} frame(s) at "
                f"{control_fps():g} fps; every clip needs at least 2",
                path,
            )
        out = dict(first or {})
        out.update({k: np.concatenate(v) for k, v in arrays.items()})
        out[CLIP_LENGTHS_KEY] = np.asarray(lengths, dtype=np.int64)
        tmp_file = Path(tmp) / "all.npz"
        with open(tmp_file, "wb") as f:
            np.savez(f, **out)
        os.replace(tmp_file, path)
    return path


# ------------------------------------------------------------------------------- launch
@dataclass
class MjlabJob:
    """One training run (written as ``job.json`` for :func:`mjlab_task.train`)."""

    motion_file: str
    out: str
    num_envs: int = DEFAULT_NUM_ENVS
    iterations: int = DEFAULT_ITERATIONS
    seed: int = 0
    save_interval: int = DEFAULT_SAVE_INTERVAL
    project_mdp: bool = True  # apply mjlab_task.apply_project_mdp
    device: str | None = None  # None: cuda:0 when there is one, else cpu
    torch_threads: int | None = None

    def check(self) -> None:
        for name in ("num_envs", "iterations", "save_interval"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise MjlabBackendError(f"{name} must be an integer >= 1, got {value!r}")


@dataclass
class TrainResult:
    """What a finished mjlab run left in ``out`` (paths absolute)."""

    out: Path
    curve: Path
    checkpoint: Path | None
    policy: Path
    policy_meta: Path
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, out: str | os.PathLike) -> TrainResult:
        out = Path(out)
        info_path = out / "result.json"
        if not info_path.is_file():
            raise MotionFormatError("no result.json: not a finished mjlab training run", out)
        info = json.loads(info_path.read_text())
        ckpt = info.get("checkpoint") or ""
        return cls(
            out,
            out / info["curve"],
            out / ckpt if ckpt else None,
            out / info["policy"],
            out / info["policy_meta"],
            info,
        )


def mjlab_importable() -> bool:
    """Whether this interpreter can import mjlab."""
    return importlib.util.find_spec("mjlab") is not None


def find_mjlab_python(python: str | os.PathLike | None = None) -> str:
    """The interpreter that runs mjlab: ``python``, else ``$NMR_GYM_MJLAB_PYTHON``, else this
    one when it has mjlab."""
    candidate = python or os.environ.get(MJLAB_PYTHON_ENV)
    if candidate:
        if not Path(candidate).is_file():
            raise MjlabBackendError(f"mjlab Python {candidate} does not exist")
        return str(candidate)
    if mjlab_importable():
        return sys.executable
    raise MjlabBackendError(
        "the mjlab backend needs mjlab: make its environment (python -m venv venv-mjlab && "
        "venv-mjlab/bin/pip install -e '.[mjlab]') and pass --mjlab-python "
        f"venv-mjlab/bin/python or set {MJLAB_PYTHON_ENV}"
    )


def _project_root() -> Path:
    return Path(__file__).resolve().parents[2]


def train(
    motion: Any,
    out: str | os.PathLike,
    *,
    num_envs: int = DEFAULT_NUM_ENVS,
    iterations: int = DEFAULT_ITERATIONS,
    seed: int = 0,
    save_interval: int = DEFAULT_SAVE_INTERVAL,
    project_mdp: bool = True,
    device: str | None = None,
    torch_threads: int | None = None,
    python: str | os.PathLike | None = None,
    timeout_s: float | None = None,
    quiet: bool = False,
) -> TrainResult:
    """Train a tracking policy for ``motion`` (a ``RobotMotion``, or a list of them: one policy
    on every clip, see :mod:`benchmark.backends.mjlab_multiclip`) with mjlab; results in ``out``.

    ``out`` must not exist yet (a finished run is never overwritten); the run works in a
    hidden sibling folder ``.OUT.partial-PID`` renamed to ``out`` when it finished. On failure
    that folder is removed, except with ``quiet`` (mjlab's output went to its ``train.log``),
    where it is kept for that log and the error names it.
    """
    out = Path(out)
    if out.exists():
        raise MjlabBackendError(f"{out} exists; choose a new output folder")
    py = find_mjlab_python(python)
    job = MjlabJob(
        motion_file="",
        out="",
        num_envs=num_envs,
        iterations=iterations,
        seed=int(seed),
        save_interval=min(save_interval, iterations),
        project_mdp=project_mdp,
        device=device,
        torch_threads=torch_threads,
    )
    job.check()
    work = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        job.motion_file = str(export_references(motion, work / "motion.npz"))
        job.out = str(work)
        (work / "job.json").write_text(json.dumps(asdict(job), indent=1) + "\n")
        env = dict(os.environ)
        root = str(_project_root())
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        with open(work / "train.log", "w") as log:
            proc = subprocess.run(
                [py, "-m", "benchmark.backends.mjlab_task", str(work / "job.json")],
                cwd=root,
                env=env,
                stdout=None if not quiet else log,
                stderr=subprocess.STDOUT if quiet else None,
                timeout=timeout_s,
                check=False,
            )
        if proc.returncode != 0:
            where = f"; see {work / 'train.log'}" if quiet else ""
            raise MjlabBackendError(f"mjlab training failed (exit {proc.returncode}){where}")
        os.replace(work, out)
    except BaseException:
        if not quiet:
            shutil.rmtree(work, ignore_errors=True)
        raise
    return TrainResult.load(out)


# ------------------------------------------------------------------------- sim-to-sim
def load_conventions(path: str | os.PathLike) -> dict[str, Any]:
    """``policy.json`` checked: the joints and layouts the mapping below relies on."""
    p = Path(path)
    try:
        meta = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise MotionFormatError(f"cannot be read ({type(exc).__name__}: {exc})", p) from exc
    if meta.get("format") != POLICY_FORMAT:
        raise MotionFormatError(f"not an {POLICY_FORMAT} file (format {meta.get('format')!r})", p)
    names = meta.get("joint_names", [])
    if sorted(names) != sorted(spec.JOINT_NAMES):
        raise MotionFormatError(
            f"joints {names} are not the G1's 29 ({', '.join(spec.JOINT_NAMES)})", p
        )
    for key in ("default_joint_pos", "action_scale", "action_offset"):
        if len(meta.get(key, [])) != spec.NUM_JOINTS:
            raise MotionFormatError(f"{key} must have {spec.NUM_JOINTS} values", p)
    if np.any(np.asarray(meta["action_scale"]) == 0):
        raise MotionFormatError("action_scale has a zero entry", p)
    return meta


def joint_permutation(conv: dict[str, Any]) -> np.ndarray:
    """Indices ``perm`` with ``x_mjlab = x_project[perm]`` for per-joint vectors (29,)."""
    return np.array([spec.joint_index(n) for n in conv["joint_names"]])


def _imu_rotation(conv: dict[str, Any]) -> np.ndarray:
    """Rotation (3, 3) of the IMU site in its body (pelvis) frame."""
    from nmr_gym.rotations import to_matrix

    return np.asarray(to_matrix(np.asarray(conv["imu_site_quat_b"], dtype=float)))


def project_to_mjlab_obs(
    obs: np.ndarray,
    conv: dict[str, Any],
    q_default: np.ndarray,
    action_scale: np.ndarray | None = None,
) -> np.ndarray:
    """The mjlab actor observation of the state whose project actor observation is ``obs``.

    ``obs``: the project's actor observation (160,) (``nmr_gym.envs.mdp.ACTOR_OBSERVATION``)
    of an env whose default joint positions are ``q_default`` (29,) [rad] and action scale
    ``action_scale`` (29,) (None: ``spec.ACTION_SCALE``). Terms are taken by
    name in mjlab's order (``conv["observation_layouts"]["actor"]``): per-joint terms are
    permuted to mjlab's joint order; ``joint_pos`` is re-based on mjlab's default pose;
    ``base_lin_vel`` and ``base_ang_vel`` become the IMU site's velocimeter and gyro readings
    (v + w x r, rotated into the site frame); ``actions`` (the last action) is re-expressed in
    mjlab's action units through the PD target it produced.
    """
    from nmr_gym.envs import mdp

    obs = np.asarray(obs, dtype=float)
    src = mdp.slices(mdp.ACTOR_OBSERVATION)
    if obs.shape != (mdp.size(mdp.ACTOR_OBSERVATION),):
        raise ValueError(
            f"expected the actor observation ({mdp.size(mdp.ACTOR_OBSERVATION)},), "
            f"got shape {obs.shape}"
        )
    perm = joint_permutation(conv)
    q_def_m = np.asarray(conv["default_joint_pos"], dtype=float)
    scale_m = np.asarray(conv["action_scale"], dtype=float)
    offset_m = np.asarray(conv["action_offset"], dtype=float)
    scale_p = np.asarray(spec.ACTION_SCALE if action_scale is None else action_scale, dtype=float)
    q_default = np.asarray(q_default, dtype=float)
    rot_s = _imu_rotation(conv)
    r_s = np.asarray(conv["imu_site_pos_b"], dtype=float)
    w_b = obs[src["base_ang_vel"]]
    parts = []
    for name, size in conv["observation_layouts"]["actor"]:
        if name == "command":
            x = obs[src["command"]]
            x = np.concatenate([x[: spec.NUM_JOINTS][perm], x[spec.NUM_JOINTS :][perm]])
        elif name == "joint_pos":
            q = obs[src["joint_pos"]] + q_default  # absolute joint positions, project order
            x = q[perm] - q_def_m
        elif name == "joint_vel":
            x = obs[src["joint_vel"]][perm]
        elif name == "actions":
            target = q_default + scale_p * obs[src["actions"]]
            x = (target[perm] - offset_m) / scale_m
        elif name == "base_lin_vel":
            x = rot_s.T @ (obs[src["base_lin_vel"]] + np.cross(w_b, r_s))
        elif name == "base_ang_vel":
            x = rot_s.T @ w_b
        elif name in src:
            x = obs[src[name]]
        else:
            raise MjlabBackendError(
                f"mjlab observation term {name!r} has no counterpart in the project's actor "
                f"observation ({', '.join(src)})"
            )
        if x.shape != (size,):
            raise MjlabBackendError(f"term {name}: mjlab expects {size} values, got {x.size}")
        parts.append(x)
    return np.concatenate(parts).astype(np.float32)


def mjlab_action_to_joint_targets(action: np.ndarray, conv: dict[str, Any]) -> np.ndarray:
    """PD joint targets (29,) [rad] in the project's joint order for an mjlab action (29,)
    (mjlab's joint order): ``offset + scale * action``."""
    a = np.asarray(action, dtype=float).reshape(-1)
    target_m = np.asarray(conv["action_offset"]) + np.asarray(conv["action_scale"]) * a
    target = np.empty(spec.NUM_JOINTS)
    target[joint_permutation(conv)] = target_m
    return target


def mlp_forward(arrays: Any, activations: list[str], obs: np.ndarray) -> np.ndarray:
    """The exported actor: ``(obs - mean) / (std + eps)`` then linear layers ``w{i}, b{i}``
    each followed by ``activations[i]`` (elu, relu, tanh or identity); (..., n_obs) ->
    (..., n_actions)."""
    x = (np.asarray(obs, dtype=np.float64) - arrays["obs_mean"]) / (
        arrays["obs_std"] + float(arrays["obs_eps"])
    )
    for i, act in enumerate(activations):
        x = x @ arrays[f"w{i}"].T + arrays[f"b{i}"]
        if act == "elu":
            x = np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))
        elif act == "relu":
            x = np.maximum(x, 0.0)
        elif act == "tanh":
            x = np.tanh(x)
        elif act != "identity":
            raise MjlabBackendError(f"unknown activation {act!r} in an exported policy")
    return x


@dataclass
class MjlabPolicy:
    """A policy trained by the mjlab backend, acting in the project's CPU environment.

    ``policy(obs, env) -> action`` like ``benchmark.tracking`` policies: ``obs`` is the
    project's actor observation (obs_mode "actor", no noise in evaluation) and ``env`` the
    unwrapped :class:`~nmr_gym.envs.G1TrackingEnv`; the returned action is in the project's
    units (``env.action_for_joint_targets``).
    """

    arrays: dict[str, np.ndarray]
    conventions: dict[str, Any]
    #: The project env's observation this policy reads (mapped to mjlab's).
    obs_mode: str = "actor"

    @classmethod
    def load(cls, path: str | os.PathLike) -> MjlabPolicy:
        """``path``: a training folder (``policy.npz`` + ``policy.json``) or the ``policy.npz``."""
        p = Path(path)
        npz = p / POLICY_FILE if p.is_dir() else p
        meta = npz.with_name(POLICY_META_FILE)
        if not npz.is_file() or not meta.is_file():
            raise MotionFormatError(
                f"no mjlab policy here: expected {POLICY_FILE} and {POLICY_META_FILE}", path
            )
        conv = load_conventions(meta)
        try:
            with np.load(npz, allow_pickle=False) as data:
                arrays = {k: np.asarray(data[k], dtype=np.float64) for k in data.files}
        except (OSError, ValueError) as exc:
            raise MotionFormatError(f"cannot be read ({type(exc).__name__}: {exc})", npz) from exc
        acts = conv.get("activations", [])
        n_obs = sum(int(n) for _, n in conv["observation_layouts"]["actor"])
        need = ["obs_mean", "obs_std", "obs_eps"] + [
            f"{k}{i}" for i in range(len(acts)) for k in ("w", "b")
        ]
        missing = [k for k in need if k not in arrays]
        if not acts or missing:
            raise MotionFormatError(f"incomplete policy: missing {missing or 'activations'}", npz)
        if (
            arrays["w0"].shape[1] != n_obs
            or arrays[f"w{len(acts) - 1}"].shape[0] != spec.NUM_JOINTS
        ):
            raise MotionFormatError(
                f"layers take {arrays['w0'].shape[1]} observations and give "
                f"{arrays[f'w{len(acts) - 1}'].shape[0]} actions; expected {n_obs} and "
                f"{spec.NUM_JOINTS}",
                npz,
            )
        return cls(arrays, conv)

    @staticmethod
    def is_policy_dir(path: str | os.PathLike) -> bool:
        """Whether ``path`` holds an mjlab policy (for a loader that dispatches on it)."""
        p = Path(path)
        p = p if p.is_dir() else p.parent
        return (p / POLICY_FILE).is_file() and (p / POLICY_META_FILE).is_file()

    def mjlab_action(self, obs_mjlab: np.ndarray) -> np.ndarray:
        """mjlab's action (29,) for mjlab's actor observation."""
        return mlp_forward(self.arrays, self.conventions["activations"], obs_mjlab).reshape(-1)

    def __call__(self, obs: Any, env: Any) -> np.ndarray:
        q_default = getattr(env, "_q_default", env.default_joint_pos)
        o = project_to_mjlab_obs(np.asarray(obs), self.conventions, q_default, env.action_scale)
        target = mjlab_action_to_joint_targets(self.mjlab_action(o), self.conventions)
        return env.action_for_joint_targets(target)


# ----------------------------------------------------------------------- command line
def add_backend_arguments(parser: Any) -> None:
    """The mjlab options of a training command (``train-tracker --backend mjlab``)."""
    parser.add_argument(
        "--num-envs",
        type=int,
        default=DEFAULT_NUM_ENVS,
        metavar="N",
        help=f"parallel robots on the GPU (default {DEFAULT_NUM_ENVS}, BeyondMimic's)",
    )
    parser.add_argument(
        "--iterations",
        type=int,
        default=DEFAULT_ITERATIONS,
        metavar="N",
        help=f"PPO iterations of 24 steps per robot (default {DEFAULT_ITERATIONS})",
    )
    parser.add_argument(
        "--mjlab-python",
        default=None,
        metavar="PYTHON",
        help=f"interpreter of the environment that has mjlab (default ${MJLAB_PYTHON_ENV}, "
        "else this one when it has mjlab)",
    )
    parser.add_argument(
        "--device", default=None, help="torch/Warp device, e.g. cuda:0 or cpu (default: cuda:0 "
        "when there is one)"
    )  # fmt: skip
    parser.add_argument(
        "--mjlab-mdp",
        action="store_true",
        help="train mjlab's task as it ships, without the project's MDP terms",
    )


def train_from_args(motion: Any, args: Any) -> TrainResult:
    """:func:`train` with the options of :func:`add_backend_arguments` (and ``--out``,
    ``--seed``): the one call ``train-tracker --backend mjlab`` makes."""
    return train(
        motion,
        args.out,
        num_envs=args.num_envs,
        iterations=args.iterations,
        seed=getattr(args, "seed", 0),
        project_mdp=not args.mjlab_mdp,
        device=args.device,
        python=args.mjlab_python,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmark.backends.mjlab_backend MOTION --out DIR [options]``."""
    import argparse

    from benchmark.tracking import resolve_motion_specs

    parser = argparse.ArgumentParser(
        prog="python -m benchmark.backends.mjlab_backend",
        description="Train a G1 tracking policy for one reference with mjlab (GPU), then "
        "evaluate it with: nmr-bench eval-tracker DIR MOTION",
    )
    parser.add_argument("motion", help="builtin:NAME, a suite clip name, or a motion file")
    parser.add_argument("--out", required=True, help="output folder (must not exist)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--retargeter", default="gmr-safe", help="for human motion inputs")
    add_backend_arguments(parser)
    args = parser.parse_args(argv)
    try:
        (motion,) = resolve_motion_specs([args.motion], args.retargeter)
        result = train_from_args(motion, args)
    except (NmrGymError, FileNotFoundError) as exc:
        print(f"mjlab backend: error: {exc}", file=sys.stderr)
        return 2
    info = result.info
    print(
        f"trained {info['iterations']} iterations x {info['num_envs']} envs on {info['device']}"
        f" ({info['env_steps_per_s']:.0f} env steps/s); policy: {result.policy}"
    )
    return 0


def load_policy(path: str | os.PathLike) -> MjlabPolicy:
    """:meth:`MjlabPolicy.load` (for ``eval-tracker``'s loader)."""
    return MjlabPolicy.load(path)


if __name__ == "__main__":
    sys.exit(main())

__all__ = [
    "DEFAULT_ITERATIONS",
    "DEFAULT_NUM_ENVS",
    "MJLAB_PYTHON_ENV",
    "MjlabBackendError",
    "MjlabJob",
    "MjlabPolicy",
    "STEPS_PER_ITERATION",
    "TrainResult",
    "add_backend_arguments",
    "control_fps",
    "export_reference",
    "export_references",
    "find_mjlab_python",
    "joint_permutation",
    "load_conventions",
    "load_policy",
    "mjlab_action_to_joint_targets",
    "mjlab_importable",
    "mlp_forward",
    "project_to_mjlab_obs",
    "train",
    "train_from_args",
]
