"""AMASS-style SMPL / SMPL+H / SMPL-X npz files -> ``HumanMotion`` on SMPL's 24 joints.

Variants read (all seen in real releases):

- ``poses`` (T, 72) SMPL: root, 21 body joints, 2 hand joints (22/23);
  ``poses`` (T, 156) SMPL+H: root, 21 body joints, 2 x 15 finger joints;
  ``poses`` (T, 165) SMPL-X: root, 21 body joints, jaw, 2 eyes, 2 x 15 finger joints;
  ``poses`` (T, 66): root and body only;
- ``root_orient`` (T, 3) + ``pose_body`` (T, 63) (AMASS stage-II / re-keyed files);
- frame rate ``mocap_framerate`` or ``mocap_frame_rate`` (or ``fps``), ``trans`` (T, 3),
  optional ``betas`` and ``gender`` (str or bytes), optional ``surface_model_type``.

The model type is ``model_type=`` when given, else ``surface_model_type`` when stored, else the
``poses`` width (72 -> smpl, 156 -> smplh, 165 -> smplx), else ``smplx`` when SMPL-X-only keys
(``pose_jaw``) exist, else ``smplh`` (AMASS's SMPL+H fits). Only the 22 body joints are used;
SMPL's hand joints 22/23 come from the pose for SMPL and sit at the finger-base centroid with
the wrist's orientation for SMPL+H / SMPL-X.

Up axis: AMASS is z up (``root_orient`` maps SMPL's y-up body frame into a z-up world).
``up_axis=None`` detects it: a source is treated as y up only when the body's up axis
(``R(root_orient) · (0, 1, 0)``) is clearly closer to world +y than to +z over the clip
(:data:`UP_DETECT_MARGIN`); otherwise z. Pass ``up_axis="y"`` (or ``"-y"`` for camera
coordinates) to force it; the world is then rotated so that axis becomes +z.

Pelvis world position = ``trans + J[0]`` as in SMPL (``J[0]`` not rotated by ``root_orient``):
exact with model files, approximate with the built-in skeleton (see :mod:`nmr_gym.body_model`).
The floor follows ``ground=`` (see :mod:`nmr_gym.io._human_common`).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from nmr_gym import body_model as bm
from nmr_gym import rotations as rot
from nmr_gym import skeleton as sk
from nmr_gym.errors import MotionFormatError
from nmr_gym.io import _human_common as hc
from nmr_gym.io.files import fps_value
from nmr_gym.motion.human import HumanMotion

POSE_WIDTHS = {72: "smpl", 156: "smplh", 165: "smplx", 66: "smplh"}
FPS_KEYS = ("mocap_framerate", "mocap_frame_rate", "fps", "frame_rate")
#: y-up detection: mean (body up · world +y) must exceed mean (body up · world +z) by this.
UP_DETECT_MARGIN = 0.3


def detect_up_axis(root_quat: np.ndarray) -> str:
    """``"y"`` when the body is clearly upright along world +y over the clip, else ``"z"``."""
    up = rot.rotate(root_quat, np.broadcast_to([0.0, 1.0, 0.0], root_quat.shape[:-1] + (3,)))
    score_y, score_z = float(up[:, 1].mean()), float(up[:, 2].mean())
    return "y" if score_y > score_z + UP_DETECT_MARGIN else "z"


def smpl_forward(
    root_orient: np.ndarray,
    local_rotvec: np.ndarray,
    trans: np.ndarray,
    body: bm.RestBody,
    up_axis: str = "z",
) -> tuple[np.ndarray, np.ndarray]:
    """SMPL-style forward kinematics of the 24 canonical joints in a z-up world.

    Args:
        root_orient: (T, 3) root axis-angle [rad]; local_rotvec: (T, 24, 3) local axis-angles
            (entry 0 ignored); trans: (T, 3) [m]; body: rest joints; up_axis: the source's up.

    Returns joint positions (T, 24, 3) [m] and orientations (T, 24, 4) wxyz (SMPL joint frames).
    """
    world = hc.up_to_z(up_axis)
    root_quat = rot.multiply(world, rot.from_axis_angle(root_orient))
    local = rot.from_axis_angle(local_rotvec)
    root_pos = rot.rotate(world, trans + body.joints[0])  # SMPL: J0 is not rotated by the root
    return sk.forward_kinematics(root_pos, root_quat, local, body.offsets)


def _model_type(npz: hc.NpzFile, width: int | None, explicit: str | None) -> str:
    if explicit is not None:
        if explicit not in bm.MODEL_TYPES:
            raise ValueError(f"model_type must be one of {bm.MODEL_TYPES}, got {explicit!r}")
        return explicit
    if "surface_model_type" in npz:
        stored = hc.as_str(npz.get("surface_model_type")).lower().replace("+", "")
        if stored in bm.MODEL_TYPES:
            return stored
    if width is not None:
        return POSE_WIDTHS[width]
    return "smplx" if "pose_jaw" in npz else "smplh"


def _read_pose(npz: hc.NpzFile) -> tuple[np.ndarray, np.ndarray, int | None]:
    """Root axis-angle (T, 3), local axis-angles (T, 24, 3) and the ``poses`` width."""
    src = npz.path
    if "poses" in npz:
        poses = npz.get("poses")
        width = poses.shape[1] if poses.ndim == 2 else -1
        if width not in POSE_WIDTHS:
            raise MotionFormatError(
                f"poses has shape {poses.shape}; expected (T, 72) SMPL, (T, 156) SMPL+H, "
                "(T, 165) SMPL-X or (T, 66) body-only",
                src,
            )
        poses = hc.numeric("poses", poses, (None, width), src)
        root, body = poses[:, :3], poses[:, 3:66]
        hands = poses[:, 66:72] if width == 72 else np.zeros((len(poses), 6))
    elif "root_orient" in npz or "pose_body" in npz:
        width = None
        root = hc.numeric("root_orient", npz.get("root_orient"), (None, 3), src)
        body = hc.numeric("pose_body", npz.get("pose_body"), (len(root), 63), src)
        hands = np.zeros((len(root), 6))
    else:
        raise MotionFormatError(
            "missing keys: an AMASS file needs 'poses' or 'root_orient' + 'pose_body'; the file "
            f"has {sorted(npz.keys)}",
            src,
        )
    local = np.concatenate([np.zeros_like(root), body, hands], axis=1).reshape(-1, 24, 3)
    return root, local, width


def load_amass(
    path: str | os.PathLike,
    *,
    smpl_models_dir: str | os.PathLike | None = None,
    height: float | None = None,
    up_axis: str | None = None,
    model_type: str | None = None,
    gender: str | None = None,
    fps: float | None = None,
    ground: str = "auto",
) -> HumanMotion:
    """Load an AMASS-style npz (module docstring) onto the canonical 24 joints.

    Args:
        smpl_models_dir: folder with the user's SMPL model files (else ``$NMR_GYM_SMPL_MODELS``,
            else the built-in skeleton); height: overrides the body height [m];
            up_axis: the source's up axis (None: detect); model_type / gender: override the
            file's; fps: frame rate for files without one; ground: floor policy.
    """
    npz = hc.NpzFile(path)
    src = npz.path
    try:
        root, local, width = _read_pose(npz)
        n = len(root)
        trans = hc.numeric("trans", npz.get("trans"), (n, 3), src)
        if fps is None:
            fps = fps_value(npz.first(*FPS_KEYS), src)
        betas = None
        if "betas" in npz:
            betas = hc.numeric("betas", np.ravel(npz.get("betas")), (None,), src)
        file_gender = hc.as_str(npz.get("gender")).lower() if "gender" in npz else "neutral"
        mtype = _model_type(npz, width, model_type)
    finally:
        npz.close()
    if n < 2:
        raise MotionFormatError(f"a motion needs at least 2 frames, got {n}", src)
    gender = (gender or file_gender).lower()
    body = bm.rest_body(mtype, gender, betas, smpl_models_dir=smpl_models_dir, height=height)
    root_quat = rot.from_axis_angle(root)
    detected = up_axis is None
    up = detect_up_axis(root_quat) if detected else up_axis
    pos, quat = smpl_forward(root, local, trans, body, up)
    pos, shift = hc.apply_ground(pos, body.height, ground, src)
    meta: dict[str, Any] = {
        "format": "amass",
        "skeleton": mtype,
        "body_model": body.model,
        "betas": None if betas is None else betas.tolist(),
        "gender": gender,
        "up_axis": up,
        "up_axis_detected": detected,
        "ground_shift_m": shift,
        "name": src.stem,
        "orientations_estimated": False,
    }
    return HumanMotion(fps, sk.SMPL_JOINT_NAMES, pos, quat, body.height, str(src), meta)
