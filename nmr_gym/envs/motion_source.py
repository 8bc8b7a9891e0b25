"""Turn the environment's ``motion`` argument into a list of :class:`RobotMotion`.

Accepted: a ``RobotMotion``; a path to a robot motion file (any format
``nmr_gym.io.load_robot_motion`` reads); the name of a built-in suite clip whose reference ships
with the package (:func:`shipped_clip_names`); or a list of these (a motion library). ``None``
gives the shipped default reference (the suite's ``DEFAULT_CLIP`` retargeted with GMR).

The environment never retargets: human motions and other built-in clips are retargeted (and
cached) by ``benchmark.motions.resolve_motion_specs``, which returns robot motions for the env.
"""

from __future__ import annotations

import functools
import os
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from nmr_gym.errors import MotionError, UnknownNameError
from nmr_gym.g1 import spec
from nmr_gym.motion import RobotMotion

#: Package folder of the shipped references (``<clip>.npz``), written by
#: ``python -m benchmark.motions --write-shipped``.
SHIPPED_PACKAGE = "nmr_gym.data.references"

# Procedural stand-and-wave motion: duration [s], sampling rate [frames/s] (resampled by the
# motion library to the env's control rate), arm swing amplitude [rad] and frequency [Hz].
PROCEDURAL_SECONDS = 4.0
PROCEDURAL_FPS = 100.0
PROCEDURAL_ARM_AMPLITUDE = 0.6
PROCEDURAL_FREQ_HZ = 0.5


def procedural_motion(
    seconds: float = PROCEDURAL_SECONDS, fps: float = PROCEDURAL_FPS
) -> RobotMotion:
    """A deterministic stand-and-wave G1 motion (legs still, arms and waist moving, feet flat)."""
    if fps <= 0 or seconds <= 0:
        raise MotionError(f"procedural motion needs fps > 0 and seconds > 0, got {fps}, {seconds}")
    n = int(round(seconds * fps)) + 1
    t = np.arange(n) / fps
    phase = 2.0 * np.pi * PROCEDURAL_FREQ_HZ * t
    q = np.tile(spec.DEFAULT_JOINT_POS, (n, 1))
    for side, sign in (("left", 1.0), ("right", -1.0)):
        q[:, spec.joint_index(f"{side}_shoulder_pitch_joint")] += PROCEDURAL_ARM_AMPLITUDE * np.sin(
            phase * sign
        )
        q[:, spec.joint_index(f"{side}_shoulder_roll_joint")] += (
            0.5 * PROCEDURAL_ARM_AMPLITUDE * sign * (1.0 - np.cos(phase))
        )
    q[:, spec.joint_index("waist_yaw_joint")] = 0.3 * np.sin(phase)
    root_pos = np.tile([0.0, 0.0, spec.STAND_ROOT_HEIGHT], (n, 1))
    root_quat = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
    root_pos[:, 2] -= lowest_foot_point(np.concatenate([root_pos[0], root_quat[0], q[0]]))
    return RobotMotion(
        fps,
        root_pos,
        root_quat,
        q,
        source="procedural:stand_wave",
        metadata={"name": "procedural_stand_wave", "retargeter": "none"},
    )


def lowest_foot_point(qpos: np.ndarray) -> float:
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


def save_npz(motion: RobotMotion, path: str | os.PathLike) -> None:
    """Write ``motion`` as a reference npz (atomically)."""
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


def load_npz(path: str | os.PathLike) -> RobotMotion:
    """Read a reference npz written by :func:`save_npz`."""
    try:
        with np.load(path) as z:
            return RobotMotion(
                float(z["fps"]),
                z["root_pos"],
                z["root_quat"],
                z["joint_pos"],
                source=str(path),
                metadata={"name": str(z["name"]), "retargeter": str(z["retargeter"])},
            )
    except (OSError, ValueError, KeyError) as e:
        raise MotionError(f"{path}: not a reference npz ({e})") from e


def shipped_clip_names() -> tuple[str, ...]:
    """Built-in clips whose reference ships with the package."""
    folder = resources.files(SHIPPED_PACKAGE)
    return tuple(sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".npz")))


@functools.lru_cache(maxsize=8)
def shipped_reference(clip: str) -> RobotMotion:
    """The shipped reference of built-in clip ``clip``."""
    names = shipped_clip_names()
    if clip not in names:
        raise UnknownNameError(
            "built-in clip with a shipped reference (retarget others with "
            "benchmark.motions.resolve_motion_specs)",
            clip,
            names,
        )
    with resources.as_file(resources.files(SHIPPED_PACKAGE) / f"{clip}.npz") as path:
        return load_npz(path)


def default_motion() -> RobotMotion:
    """The default reference: ``nmr_gym.suite.DEFAULT_CLIP``'s shipped GMR reference."""
    from nmr_gym.suite import DEFAULT_CLIP

    return shipped_reference(DEFAULT_CLIP)


def _one(item: Any) -> RobotMotion:
    if isinstance(item, RobotMotion):
        return item
    if isinstance(item, str) and not Path(item).exists() and item in shipped_clip_names():
        return shipped_reference(item)
    if isinstance(item, (str, os.PathLike)):
        from nmr_gym.io import load_robot_motion

        return load_robot_motion(item)
    raise MotionError(
        f"cannot use {type(item).__name__} as a reference motion: pass a RobotMotion, a robot "
        "motion file, a built-in clip name with a shipped reference, or a list of them "
        "(human motions: retarget them with benchmark.motions.resolve_motion_specs)"
    )


def resolve_motions(motion: Any = None, retargeter: str | None = None) -> list[RobotMotion]:
    """The list of reference motions described by the env's ``motion`` argument."""
    if retargeter is not None:
        raise MotionError(
            f"the environment does not retarget (retargeter={retargeter!r}): pass robot motions, "
            "e.g. benchmark.motions.resolve_motion_specs(specs, retargeter)"
        )
    if motion is None:
        return [default_motion()]
    items = list(motion) if isinstance(motion, list) else [motion]
    if not items:
        raise MotionError("the motion list is empty")
    return [_one(i) for i in items]
