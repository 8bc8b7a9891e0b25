"""Human motion input: one entry point for every format researchers have.

:func:`load_human_motion` reads

- ``"amass"``: AMASS-style SMPL / SMPL+H / SMPL-X npz (:mod:`nmr_gym.io.amass`);
- ``"bvh"``: BVH mocap with joint maps for LAFAN1, CMU and Bandai Namco skeletons or a custom
  one (:mod:`nmr_gym.io.bvh`);
- ``"asf_amc"``: Acclaim ASF/AMC (the CMU originals; :mod:`nmr_gym.io.asf_amc`);
- ``"positions"`` (alias ``"joint_positions"``): joint positions only, orientations estimated
  (:mod:`nmr_gym.io.positions`),

and returns a :class:`~nmr_gym.motion.human.HumanMotion` on SMPL's 24 canonical joints in
nmr-gym's conventions (z up, metres, floor at z = 0 per the ``ground`` policy of
:mod:`nmr_gym.io._human_common`, SMPL joint frames). The format is ``format=`` when given, else
the extension (``.bvh``, ``.amc``) and, for npz files, the keys (``poses`` / ``root_orient``
-> amass, ``joint_pos`` / ``positions`` / ``joints`` -> positions).

:func:`human_from_local_rotations` builds a ``HumanMotion`` from an SMPL-style root trajectory
and local joint rotations on the built-in skeleton (used by procedural motion generators).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from nmr_gym import rotations as rot
from nmr_gym import skeleton as sk
from nmr_gym.errors import MotionFormatError, UnknownNameError
from nmr_gym.io import _human_common as hc
from nmr_gym.io.files import check_input_file
from nmr_gym.motion import _validate as v
from nmr_gym.motion.human import HumanMotion

FORMATS = ("amass", "bvh", "asf_amc", "positions")
_ALIASES = {
    "smpl": "amass",
    "smplh": "amass",
    "smplx": "amass",
    "joint_positions": "positions",
    "amc": "asf_amc",
    "npz": None,
}
_AMASS_KEYS = {"poses", "root_orient", "pose_body"}
_POSITION_KEYS = {"joint_pos", "positions", "joints"}


def detect_format(path: str | os.PathLike) -> str:
    """``"amass"``, ``"bvh"`` or ``"positions"`` from the extension / npz keys."""
    p = check_input_file(path)
    if p.suffix.lower() == ".bvh":
        return "bvh"
    if p.suffix.lower() == ".amc":
        return "asf_amc"
    if p.suffix.lower() == ".npz":
        npz = hc.NpzFile(p)
        keys = npz.keys
        npz.close()
        if keys & _AMASS_KEYS:
            return "amass"
        if keys & _POSITION_KEYS:
            return "positions"
        raise MotionFormatError(
            f"npz with keys {sorted(keys)} is no known human motion format (AMASS needs "
            "'poses' or 'root_orient' + 'pose_body'; joint positions need 'joint_pos' + "
            "'joint_names' + 'fps')",
            p,
        )
    with open(p, "rb") as f:
        head = f.read(64).lstrip()
    if head.upper().startswith(b"HIERARCHY"):
        return "bvh"
    raise MotionFormatError(
        f"unknown human motion format (extension {p.suffix!r}); expected .npz (AMASS or "
        "joint positions), .bvh or .amc, or pass format=",
        p,
    )


def load_human_motion(
    path: str | os.PathLike,
    format: str | None = None,  # noqa: A002
    *,
    smpl_models_dir: str | os.PathLike | None = None,
    height: float | None = None,
    joint_map: Mapping[str, Any] | str | os.PathLike | None = None,
    up_axis: str | None = None,
    units: str | None = None,
    ground: str = "auto",
    fps: float | None = None,
    model_type: str | None = None,
    gender: str | None = None,
    asf_path: str | os.PathLike | None = None,
) -> HumanMotion:
    """Load a human motion file onto the canonical skeleton (module docstring).

    Args:
        path: the file. format: ``"amass"``, ``"bvh"``, ``"positions"`` or None (detect).
        smpl_models_dir: the user's SMPL model folder (AMASS; else ``$NMR_GYM_SMPL_MODELS``,
            else the built-in skeleton, logged once).
        height: body height [m] (default: from betas, or fitted from the skeleton).
        joint_map: BVH: a joint map dict or JSON path (default: detected from joint names);
            positions: {canonical name: source name}.
        up_axis: the source's up axis (AMASS: detected; BVH: "y"; positions: file or "z").
        units: BVH / positions length unit (m, cm, mm, inch, cmu; default: detected).
        ground: floor policy "auto" | "source" | "feet" (see ``_human_common``).
        fps: frame rate for AMASS / positions files that lack one.
        model_type, gender: override an AMASS file's body model type and gender.
        asf_path: the ASF skeleton of an AMC file (default: ``<subject>.asf`` beside it).

    Options that do not apply to the file's format are ignored, so one set of options serves a
    mixed list of files. Raises MotionFormatError (naming the file) for missing, corrupt or
    invalid files.
    """
    fmt = detect_format(path) if format is None else _ALIASES.get(format.lower(), format.lower())
    if fmt is None:
        fmt = detect_format(path)
    if fmt not in FORMATS:
        raise UnknownNameError("human motion format", format, FORMATS)
    if fmt == "amass":
        from nmr_gym.io.amass import load_amass

        return load_amass(
            path,
            smpl_models_dir=smpl_models_dir,
            height=height,
            up_axis=up_axis,
            model_type=model_type,
            gender=gender,
            fps=fps,
            ground=ground,
        )
    if fmt == "bvh":
        from nmr_gym.io.bvh import load_bvh

        return load_bvh(
            path, joint_map=joint_map, units=units, up_axis=up_axis, height=height, ground=ground
        )
    if fmt == "asf_amc":
        from nmr_gym.io.asf_amc import load_asf_amc

        return load_asf_amc(
            path,
            asf_path,
            joint_map=joint_map,
            fps=fps,
            height=height,
            up_axis=up_axis or "y",
            ground=ground,
        )
    from nmr_gym.io.positions import load_positions

    if joint_map is not None and not isinstance(joint_map, Mapping):
        raise TypeError("joint_map for joint positions must be a dict {canonical: source name}")
    return load_positions(
        path,
        joint_map=joint_map,
        up_axis=up_axis,
        units=units,
        height=height,
        fps=fps,
        ground=ground,
    )


def human_from_local_rotations(
    root_pos: np.ndarray,
    root_quat: np.ndarray,
    local_quat: np.ndarray,
    fps: float,
    *,
    height: float = sk.DEFAULT_HEIGHT,
    offsets: np.ndarray | None = None,
    source: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> HumanMotion:
    """A canonical ``HumanMotion`` from a root trajectory and SMPL-style local rotations.

    Args:
        root_pos: (T, 3) pelvis position [m], world z up.
        root_quat: (T, 4) pelvis orientation (wxyz) in SMPL's joint-frame convention:
            ``skeleton.REST_QUAT_FACING_X`` for an upright pelvis facing +x,
            ``rot.multiply(yaw_quat, REST_QUAT_FACING_X)`` for another heading.
        local_quat: (T, 24, 4) local joint rotations (wxyz) in the parent's frame, SMPL order
            (entry 0 ignored).
        fps: frames per second. height: body height [m] of the built-in skeleton.
        offsets: (24, 3) rest offsets to use instead of ``skeleton.rest_offsets(height)``.

    Joint positions and orientations follow from ``skeleton.forward_kinematics``; nothing is
    moved onto the floor (the caller places the root).
    """
    n = np.shape(root_pos)[0] if np.ndim(root_pos) == 2 else 0
    root_pos = v.check_array("root_pos", root_pos, (n, 3), source)
    root_quat = v.check_quats(
        "root_quat", v.check_array("root_quat", root_quat, (n, 4), source), source
    )
    local_quat = v.check_quats(
        "local_quat",
        v.check_array("local_quat", local_quat, (n, sk.NUM_JOINTS, 4), source),
        source,
    )
    off = sk.rest_offsets(height) if offsets is None else np.asarray(offsets, float)
    pos, quat = sk.forward_kinematics(root_pos, root_quat, local_quat, off)
    meta = {"format": "procedural", "skeleton": "builtin", "orientations_estimated": False}
    meta.update(metadata or {})
    return HumanMotion(fps, sk.SMPL_JOINT_NAMES, pos, rot.normalize(quat), height, source, meta)


__all__ = [
    "FORMATS",
    "detect_format",
    "human_from_local_rotations",
    "load_human_motion",
]
