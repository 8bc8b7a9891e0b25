"""Turn the environment's ``motion`` argument into a list of :class:`RobotMotion`.

Accepted: a ``RobotMotion``; a path to a robot motion file (any format
``nmr_gym.io.load_robot_motion`` reads); a ``(retargeter_name, human)`` pair where ``human`` is a
``HumanMotion`` or a path to a human motion file (retargeted on construction); or a list of any of
these (a motion library). ``None`` gives the default clip: the built-in suite's ``DEFAULT_CLIP``
retargeted with ``"gmr"`` (cached on disk), or a procedural motion when those are not available.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from nmr_gym.errors import MotionError, UnknownNameError
from nmr_gym.g1 import spec
from nmr_gym.motion import HumanMotion, RobotMotion

#: Retargeter used for the default reference.
DEFAULT_RETARGETER = "gmr"
#: Where retargeted default references are cached (override with $NMR_GYM_CACHE).
CACHE_ENV_VAR = "NMR_GYM_CACHE"
#: Bump when the cached file layout changes meaning (content changes are in the key).
CACHE_VERSION = 2

# Procedural fallback motion: duration [s], frame rate, arm swing amplitude [rad] and frequency.
_PROC_SECONDS = 4.0
_PROC_FPS = 50.0
_PROC_ARM_AMPLITUDE = 0.6
_PROC_FREQ_HZ = 0.5


def cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV_VAR)
    return Path(env) if env else Path.home() / ".cache" / "nmr_gym"


def procedural_motion(seconds: float = _PROC_SECONDS, fps: float = _PROC_FPS) -> RobotMotion:
    """A deterministic stand-and-wave G1 motion (legs still, arms and waist moving, feet flat).

    The default when the built-in suite or the GMR retargeter is not installed.
    """
    from nmr_gym.envs.tracking_env import DEFAULT_JOINT_POS

    n = int(round(seconds * fps)) + 1
    t = np.arange(n) / fps
    phase = 2.0 * np.pi * _PROC_FREQ_HZ * t
    q = np.tile(DEFAULT_JOINT_POS, (n, 1))
    for side, sign in (("left", 1.0), ("right", -1.0)):
        q[:, spec.joint_index(f"{side}_shoulder_pitch_joint")] += _PROC_ARM_AMPLITUDE * np.sin(
            phase * sign
        )
        q[:, spec.joint_index(f"{side}_shoulder_roll_joint")] += (
            0.5 * _PROC_ARM_AMPLITUDE * sign * (1.0 - np.cos(phase))
        )
    q[:, spec.joint_index("waist_yaw_joint")] = 0.3 * np.sin(phase)
    root_pos = np.tile([0.0, 0.0, spec.STAND_ROOT_HEIGHT], (n, 1))
    root_quat = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
    root_pos[:, 2] -= _lowest_foot_point(np.concatenate([root_pos[0], root_quat[0], q[0]]))
    return RobotMotion(
        fps,
        root_pos,
        root_quat,
        q,
        source="procedural:stand_wave",
        metadata={"name": "procedural_stand_wave", "retargeter": "none"},
    )


def _lowest_foot_point(qpos: np.ndarray) -> float:
    """Height [m] of the lowest point of the foot collision spheres at ``qpos`` (36,)."""
    import mujoco

    from nmr_gym.g1 import kinematic_model

    m = kinematic_model()
    d = mujoco.MjData(m)
    d.qpos[:] = qpos
    mujoco.mj_kinematics(m, d)
    feet = [m.body(b).id for b in spec.FOOT_BODIES]
    sph = (m.geom_type == mujoco.mjtGeom.mjGEOM_SPHERE) & np.isin(m.geom_bodyid, feet)
    return float((d.geom_xpos[sph, 2] - m.geom_size[sph, 0]).min())


def _save_npz(motion: RobotMotion, path: Path) -> None:
    from nmr_gym.io.atomic import atomic_path

    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(
            tmp,
            fps=motion.fps,
            root_pos=motion.root_pos,
            root_quat=motion.root_quat,
            joint_pos=motion.joint_pos,
            name=str(motion.metadata.get("name", "")),
            retargeter=str(motion.metadata.get("retargeter", "")),
        )


def _load_npz(path: Path) -> RobotMotion:
    with np.load(path) as z:
        return RobotMotion(
            float(z["fps"]),
            z["root_pos"],
            z["root_quat"],
            z["joint_pos"],
            source=str(path),
            metadata={"name": str(z["name"]), "retargeter": str(z["retargeter"]), "cached": True},
        )


def retarget(retargeter: str, human: HumanMotion, **options: Any) -> RobotMotion:
    """Retarget ``human`` with the named retargeter (``retargeters.make``)."""
    import retargeters

    robot = retargeters.make(retargeter, **options).retarget(human)
    meta = dict(robot.metadata)
    meta.setdefault("retargeter", retargeter)
    meta.setdefault("name", human.metadata.get("name") or human.source)
    return robot.replace(metadata=meta)


def _code_digest(obj: Any) -> str:
    """sha1 of the source files implementing ``obj``'s class: its subpackage of ``retargeters``
    (every ``.py`` under it) or its module file, plus ``retargeters/base.py``."""
    import importlib

    module = importlib.import_module(type(obj).__module__)
    path = Path(module.__file__)
    parts = type(obj).__module__.split(".")
    files = sorted(path.parent.rglob("*.py")) if len(parts) > 2 else [path]
    base = path.parents[len(parts) - 2] / "base.py"
    h = hashlib.sha1()
    for f in [*files, base]:
        if f.is_file():
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def reference_cache_key(human: HumanMotion, retargeter_obj: Any, name: str) -> str:
    """Cache key of ``human`` retargeted by ``retargeter_obj``: a hash of the human motion's
    content, the retargeter's name, options and source code, and :data:`CACHE_VERSION` -- so a
    changed suite clip, option or retargeter can never reuse a stale file."""
    h = hashlib.sha1(f"{CACHE_VERSION}:{name}:".encode())
    h.update(repr(sorted(retargeter_obj.options().items())).encode())
    h.update(_code_digest(retargeter_obj).encode())
    h.update(np.float64(human.fps).tobytes())
    h.update(repr(list(human.joint_names)).encode())
    for a in (human.joint_pos, human.joint_quat):
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    h.update(repr(human.height).encode())
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=32)
def builtin_reference(clip: str, retargeter: str = DEFAULT_RETARGETER) -> RobotMotion:
    """Built-in suite clip ``clip`` retargeted with ``retargeter``, cached on disk.

    The cache (``$NMR_GYM_CACHE`` or ``~/.cache/nmr_gym``) is keyed by
    :func:`reference_cache_key` (clip content, retargeter options and code); a broken cache
    file is recomputed.
    """
    import retargeters
    from nmr_gym import suite

    if clip not in suite.clip_names():
        raise UnknownNameError("built-in clip", clip, suite.clip_names())
    human = suite.get_clip(clip).motion()
    rt = retargeters.make(retargeter)
    key = reference_cache_key(human, rt, retargeter)
    path = cache_dir() / f"{clip}--{retargeter}--{key}.npz"
    if path.is_file():
        try:
            return _load_npz(path)
        except (OSError, ValueError, KeyError, MotionError):
            pass  # a broken cache file is recomputed
    robot = rt.retarget(human)
    robot = robot.replace(metadata={**robot.metadata, "name": clip, "retargeter": retargeter})
    try:
        _save_npz(robot, path)
    except OSError:
        pass  # a read-only home still gets a working (uncached) environment
    return robot


@functools.lru_cache(maxsize=1)
def default_motion() -> RobotMotion:
    """The default reference: ``nmr_gym.suite.DEFAULT_CLIP`` retargeted with GMR (cached).

    Falls back to :func:`procedural_motion` when the suite or the retargeter is not installed.
    """
    try:
        from nmr_gym import suite

        return builtin_reference(suite.DEFAULT_CLIP, DEFAULT_RETARGETER)
    except (ImportError, AttributeError, UnknownNameError):
        return procedural_motion()


def _load_human(path: str | os.PathLike) -> HumanMotion:
    from nmr_gym.io import load_human_motion

    return load_human_motion(path)


def _one(item: Any) -> RobotMotion:
    if isinstance(item, RobotMotion):
        return item
    if isinstance(item, (str, os.PathLike)):
        from nmr_gym.io import load_robot_motion

        return load_robot_motion(item)
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
        name, human = item
        if not isinstance(human, HumanMotion):
            human = _load_human(human)
        return retarget(name, human)
    raise MotionError(
        f"cannot use {type(item).__name__} as a reference motion: pass a RobotMotion, a robot "
        "motion file, a (retargeter_name, human_motion) pair, or a list of them"
    )


def resolve_motions(motion: Any = None, retargeter: str | None = None) -> list[RobotMotion]:
    """The list of reference motions described by the env's ``motion``/``retargeter`` arguments.

    With ``retargeter`` given, ``motion`` (or each list item) is a human motion or human motion
    file, retargeted on construction.
    """
    if motion is None:
        return [default_motion()]
    items = list(motion) if isinstance(motion, list) else [motion]
    if retargeter is not None:
        items = [(retargeter, h) if not isinstance(h, tuple) else h for h in items]
    return [_one(i) for i in items]
