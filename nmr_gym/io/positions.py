"""Joint positions only -> ``HumanMotion``, with joint orientations estimated from the bones.

Input: an npz with ``joint_pos`` (or ``positions`` / ``joints``) (T, J, 3), ``joint_names``
(J,) and ``fps`` (or ``mocap_framerate``), optionally ``up_axis`` and ``units``; or arrays via
:func:`human_from_positions`. Joint names are SMPL's canonical names or are mapped by
``joint_map`` ({canonical name: source name}). Every canonical joint except the hand joints
(``left_hand`` / ``right_hand``) must be present; missing hand joints are placed from the wrist.

Orientation estimate (``metadata["orientations_estimated"] = True``). Each joint's frame is the
rotation that maps its canonical T-pose bone direction ``u`` (towards its primary child, from the
built-in skeleton) exactly onto the observed bone direction ``d``, and its canonical secondary
axis ``s`` as close as possible onto an observed reference direction ``w`` (Gram-Schmidt):

- pelvis, spine, neck, head: ``s`` = body left (x); ``w`` = right hip -> left hip (pelvis,
  spine1), the mean of that and right -> left shoulder (spine2), right -> left shoulder (above);
- legs (hip, knee, ankle): ``s`` = x; ``w`` = knee flexion axis ``d_thigh x d_shank`` plus
  :data:`HINGE_FALLBACK_WEIGHT` times the pelvis' left axis (which dominates when the knee is
  straight and the hinge axis undefined);
- collar: ``s`` = up (y); ``w`` = spine3 -> neck;
- upper arm, forearm, wrist: ``s`` = y; ``w`` = the elbow flexion axis (``-d_upper x d_fore`` on
  the left, ``+`` on the right, both map to canonical +-y) plus the fallback weight times the
  torso's up axis;
- leaves without a child position (head, feet, hands): the parent's frame.

This fixes swing exactly and twist approximately (forearm pronation and head yaw relative to
the shoulders are not observable from joint centres).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nmr_gym import rotations as rot
from nmr_gym import skeleton as sk
from nmr_gym.errors import MotionFormatError
from nmr_gym.io import _human_common as hc
from nmr_gym.io.files import fps_value
from nmr_gym.motion.human import HumanMotion

J = {n: i for i, n in enumerate(sk.SMPL_JOINT_NAMES)}
#: Weight of the fallback reference axis added to a hinge axis (sin of ~20 deg: below that
#: bend the hinge axis is less reliable than the torso reference).
HINGE_FALLBACK_WEIGHT = 0.35
#: The same weight when a constant BVH correction is averaged over a clip, where bent frames
#: (weighted by sin(bend)) decide and the fallback only matters for limbs straight throughout.
HINGE_FALLBACK_WEIGHT_AVERAGED = 0.02
#: Canonical joints a source may omit: placed from the wrist with the rest hand offset.
OPTIONAL_JOINTS = ("left_hand", "right_hand")
UNIT_SCALES = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "cmu": 0.0254 / 0.45}
POS_KEYS = ("joint_pos", "positions", "joints")
FPS_KEYS = ("fps", "mocap_framerate", "mocap_frame_rate", "frame_rate")

#: Primary child of each canonical joint (its bone direction fixes the joint's swing).
PRIMARY_CHILD: dict[str, str | None] = {
    "pelvis": "spine1", "spine1": "spine2", "spine2": "spine3", "spine3": "neck",
    "neck": "head", "head": None,
    **{f"{s}_{a}": f"{s}_{b}" for s in ("left", "right") for a, b in (
        ("hip", "knee"), ("knee", "ankle"), ("ankle", "foot"), ("collar", "shoulder"),
        ("shoulder", "elbow"), ("elbow", "wrist"), ("wrist", "hand"))},
    "left_foot": None, "right_foot": None, "left_hand": None, "right_hand": None,
}  # fmt: skip
_X, _Y, _Z = np.eye(3)
#: Canonical direction of each leaf's missing child (BVH end sites point there): head top up,
#: toes forward, fingers along the arm.
LEAF_DIRECTION = {
    "head": _Y, "left_foot": _Z, "right_foot": _Z, "left_hand": _X, "right_hand": -_X,
}  # fmt: skip


def canonical_direction(joint: str) -> np.ndarray:
    """Unit canonical T-pose direction from ``joint`` to its primary child (or leaf tip)."""
    child = PRIMARY_CHILD[joint]
    if child is None:
        return LEAF_DIRECTION[joint]
    off = sk.rest_offsets(1.0)[J[child]]
    return off / np.linalg.norm(off)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def secondary_axes(
    pos: np.ndarray, hinge_fallback: float = HINGE_FALLBACK_WEIGHT, unit_hinge: bool = True
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For each joint: its canonical secondary axis and the observed world reference (T, 3).

    ``unit_hinge=False`` keeps the knee / elbow hinge axes at length sin(bend) (plus the
    fallback), so that averages over a clip weight bent frames more than straight ones.
    """
    hinge = _unit if unit_hinge else (lambda x: x)
    p = {n: pos[:, i] for n, i in J.items()}
    hips_left = _unit(p["left_hip"] - p["right_hip"])
    sh_left = _unit(p["left_shoulder"] - p["right_shoulder"])
    torso_up = _unit(p["neck"] - p["spine3"])
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {
        "pelvis": (_X, hips_left),
        "spine1": (_X, hips_left),
        "spine2": (_X, _unit(hips_left + sh_left)),
        "spine3": (_X, sh_left),
        "neck": (_X, sh_left),
        "head": (_X, sh_left),
    }
    for side, sign in (("left", 1.0), ("right", -1.0)):
        thigh = _unit(p[f"{side}_knee"] - p[f"{side}_hip"])
        shank = _unit(p[f"{side}_ankle"] - p[f"{side}_knee"])
        knee_axis = hinge(np.cross(thigh, shank) + hinge_fallback * hips_left)
        for j in ("hip", "knee", "ankle", "foot"):
            out[f"{side}_{j}"] = (_X, knee_axis)
        upper = _unit(p[f"{side}_elbow"] - p[f"{side}_shoulder"])
        fore = _unit(p[f"{side}_wrist"] - p[f"{side}_elbow"])
        elbow_up = hinge(-sign * np.cross(upper, fore) + hinge_fallback * torso_up)
        out[f"{side}_collar"] = (_Y, torso_up)
        for j in ("shoulder", "elbow", "wrist", "hand"):
            out[f"{side}_{j}"] = (_Y, elbow_up)
    return out


def frame_from_vectors(u: np.ndarray, s: np.ndarray, d: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) with R u = d exactly and R s as close to w as possible."""
    u = _unit(u)
    s = _unit(s - (s @ u) * u)
    d = _unit(d)
    w = w - np.sum(w * d, axis=-1, keepdims=True) * d
    # where w is parallel to d (degenerate), any perpendicular does: use the least-aligned axis
    bad = np.linalg.norm(w, axis=-1) < 1e-6
    if np.any(bad):
        alt = np.eye(3)[np.argmin(np.abs(d[bad]), axis=-1)]
        w[bad] = alt - np.sum(alt * d[bad], axis=-1, keepdims=True) * d[bad]
    w = _unit(w)
    src = np.stack([u, s, np.cross(u, s)], axis=-1)  # (3, 3) columns
    dst = np.stack([d, w, np.cross(d, w)], axis=-1)  # (..., 3, 3)
    return dst @ src.T


def estimate_orientations(pos: np.ndarray, has: Sequence[bool] | None = None) -> np.ndarray:
    """Joint orientations (T, 24, 4) wxyz of canonical positions (T, 24, 3) (module docstring).

    ``has[j]`` False marks joints whose positions are placeholders (not used as children).
    """
    has = np.ones(sk.NUM_JOINTS, bool) if has is None else np.asarray(has, bool)
    sec = secondary_axes(pos)
    quat = np.empty(pos.shape[:2] + (4,))
    for name, j in J.items():  # parents come before children in SMPL's order
        child = PRIMARY_CHILD[name]
        if child is None or not has[J[child]]:
            quat[:, j] = quat[:, sk.SMPL_PARENTS[j]] if j else rot.IDENTITY_WXYZ
            continue
        s, w = sec[name]
        m = frame_from_vectors(canonical_direction(name), s, pos[:, J[child]] - pos[:, j], w)
        quat[:, j] = rot.from_matrix(m)
    return rot.make_continuous(quat)


def place_hands(pos: np.ndarray, quat: np.ndarray, height: float) -> None:
    """Set the hand joints (in place) from the wrists: wrist + R(wrist) · rest hand offset."""
    off = sk.rest_offsets(height)
    for side in ("left", "right"):
        w, h = J[f"{side}_wrist"], J[f"{side}_hand"]
        pos[:, h] = pos[:, w] + rot.rotate(quat[:, w], off[h])
        quat[:, h] = quat[:, w]


def estimate_height(pos: np.ndarray) -> float:
    """Body height [m] fitted from bone lengths (same units as ``pos``).

    Least-squares scale s of the built-in skeleton's unit-height bone lengths u_i onto the
    observed median lengths l_i (s = sum l u / sum u^2) over the thigh, shank, upper arm and
    forearm of both sides and the pelvis -> head path: the built-in skeleton of that height
    has the same proportions.
    """
    unit = sk.rest_offsets(1.0)
    obs, ref = [], []
    for side in ("left", "right"):
        for a, b in (("hip", "knee"), ("knee", "ankle"), ("shoulder", "elbow"), ("elbow", "wrist")):
            i, k = J[f"{side}_{a}"], J[f"{side}_{b}"]
            obs.append(np.median(np.linalg.norm(pos[:, k] - pos[:, i], axis=-1)))
            ref.append(np.linalg.norm(unit[k]))
    chain = ["pelvis", "spine1", "spine2", "spine3", "neck", "head"]
    obs.append(
        sum(
            np.median(np.linalg.norm(pos[:, J[b]] - pos[:, J[a]], axis=-1))
            for a, b in zip(chain[:-1], chain[1:], strict=True)
        )
    )
    ref.append(sum(np.linalg.norm(unit[J[b]]) for b in chain[1:]))
    obs_a, ref_a = np.array(obs), np.array(ref)
    return float(obs_a @ ref_a / (ref_a @ ref_a))


def detect_units(height_in_file_units: float) -> str:
    """The unit (of :data:`UNIT_SCALES`) that makes a skeleton closest to 1.70 m tall."""
    scores = {
        u: abs(np.log(height_in_file_units * f / sk.DEFAULT_HEIGHT)) for u, f in UNIT_SCALES.items()
    }
    return min(scores, key=scores.get)


def _map_names(
    names: Sequence[str], joint_map: Mapping[str, str] | None, source: Any
) -> list[int | None]:
    """Index into ``names`` of each canonical joint (None for optional joints not given)."""
    index = {n: i for i, n in enumerate(names)}
    jm = dict(joint_map or {})
    unknown = sorted(set(jm) - set(sk.SMPL_JOINT_NAMES))
    if unknown:
        raise MotionFormatError(
            f"joint_map keys must be canonical SMPL joint names; unknown: {unknown}", source
        )
    out: list[int | None] = []
    missing = []
    for n in sk.SMPL_JOINT_NAMES:
        src_name = jm.get(n, n)
        if src_name in index:
            out.append(index[src_name])
        elif n in OPTIONAL_JOINTS:
            out.append(None)
        else:
            missing.append(n if src_name == n else f"{n} (mapped to {src_name!r})")
            out.append(None)
    if missing:
        raise MotionFormatError(
            f"joint names cannot be mapped onto the canonical skeleton; missing: {missing}. "
            f"The source has {list(names)}; pass joint_map={{canonical: source name}}",
            source,
        )
    return out


def human_from_positions(
    joint_pos: np.ndarray,
    joint_names: Sequence[str],
    fps: float,
    *,
    joint_map: Mapping[str, str] | None = None,
    up_axis: str = "z",
    units: str | None = "m",
    height: float | None = None,
    ground: str = "auto",
    source: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> HumanMotion:
    """A ``HumanMotion`` from joint positions (T, J, 3) of named joints (module docstring).

    ``units`` None detects them from the skeleton size (:func:`detect_units`).
    """
    arr = hc.numeric("joint_pos", joint_pos, (None, len(joint_names), 3), source)
    if len(arr) < 2:
        raise MotionFormatError(f"a motion needs at least 2 frames, got {len(arr)}", source)
    fps = fps_value(fps, source)
    idx = _map_names([str(n) for n in joint_names], joint_map, source)
    has = np.array([i is not None for i in idx])
    pos = np.zeros((len(arr), sk.NUM_JOINTS, 3))
    pos[:, has] = arr[:, [i for i in idx if i is not None]]
    pos = rot.rotate(hc.up_to_z(up_axis), pos)
    if units is None:
        units = detect_units(estimate_height(pos))
    if units not in UNIT_SCALES:
        raise ValueError(f"units must be one of {sorted(UNIT_SCALES)} or None, got {units!r}")
    pos *= UNIT_SCALES[units]
    h = estimate_height(pos) if height is None else float(height)
    if not 0.5 <= h <= 2.5:
        raise MotionFormatError(
            f"estimated body height {h:.2f} m is implausible (units {units!r}?); pass units= "
            "or height=",
            source,
        )
    quat = estimate_orientations(pos, has)
    if not has.all():
        place_hands(pos, quat, h)
    pos, shift = hc.apply_ground(pos, h, ground, source)
    meta = {
        "format": "positions", "skeleton": "positions", "up_axis": up_axis, "units": units,
        "orientations_estimated": True, "ground_shift_m": shift,
    }  # fmt: skip
    meta.update(metadata or {})
    return HumanMotion(fps, sk.SMPL_JOINT_NAMES, pos, quat, h, source, meta)


def load_positions(
    path: str | os.PathLike,
    *,
    joint_map: Mapping[str, str] | None = None,
    up_axis: str | None = None,
    units: str | None = None,
    height: float | None = None,
    fps: float | None = None,
    ground: str = "auto",
) -> HumanMotion:
    """Load a joint-position npz (module docstring). Arguments override the file's values;
    without ``up_axis`` in either, z up; without ``units``, detected from the skeleton size."""
    npz = hc.NpzFile(path)
    src = npz.path
    try:
        pos = npz.first(*POS_KEYS)
        if pos.ndim != 3 or pos.shape[-1] != 3:
            raise MotionFormatError(
                f"joint positions have shape {pos.shape}, expected (T, J, 3)", src
            )
        names = npz.get("joint_names")
        if names.ndim != 1 or len(names) != pos.shape[1]:
            raise MotionFormatError(
                f"joint_names has shape {names.shape}, expected ({pos.shape[1]},)", src
            )
        names = [hc.as_str(n) for n in names]
        if fps is None:
            fps = fps_value(npz.first(*FPS_KEYS), src)
        if up_axis is None:
            up_axis = hc.as_str(npz.get("up_axis")) if "up_axis" in npz else "z"
        if units is None and "units" in npz:
            units = hc.as_str(npz.get("units"))
    finally:
        npz.close()
    return human_from_positions(
        pos,
        names,
        fps,
        joint_map=joint_map,
        up_axis=up_axis,
        units=units,
        height=height,
        ground=ground,
        source=str(src),
        metadata={"name": src.stem},
    )
