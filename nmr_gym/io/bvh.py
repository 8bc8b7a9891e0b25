"""BVH motion capture -> ``HumanMotion`` on SMPL's 24 canonical joints.

Parser: hand-written. The BVH packages on PyPI were checked (their sources downloaded):
``bvh`` 0.3 (2017, unmaintained) parses into string tokens and reads channels frame by frame,
without forward kinematics; ``bvhio`` 1.5 builds a per-joint object hierarchy and evaluates
poses frame by frame in Python through PyGLM (an extra compiled dependency, no array
interface); ``pymotion`` on PyPI is an empty 0.0.0 placeholder. The format itself is small, so this
module reads it directly: any channel order per joint (3 or 6 channels, position channels on any
joint, any rotation order), End Sites, one root. The MOTION numbers are read with pandas' C
reader; Euler angles become quaternions for all joints of one channel order at once
(:func:`nmr_gym.rotations.from_euler`) and forward kinematics runs one tree depth at a time
over all frames (numpy, no per-frame or per-joint Python loop).

BVH semantics used: a joint's local transform is translation ``OFFSET`` (each axis replaced by
its position channel when the joint has one; LAFAN1's and Bandai Namco's files store the full
position there) and rotation ``R = R_c1 R_c2 R_c3`` for rotation channels listed in order
c1, c2, c3 (intrinsic, as every BVH exporter writes them).

Mapping onto the canonical skeleton: a joint map (JSON in ``nmr_gym/data/bvh_maps``, auto-
detected from the joint names, or ``joint_map=`` as a dict or JSON path) gives for each
canonical joint a BVH joint name, or ``{"pos": [A, B, t], "rot": A}`` (position at fraction t
from joint A to joint B, orientation from A). ``left_hand`` / ``right_hand`` may be omitted:
they are placed from the wrist with the built-in rest hand offset.

Units: ``units=`` one of m, cm, mm, inch, cmu (CMU ASF units, 1/0.45 inch), else detected as the
unit that makes the fitted skeleton height (:func:`nmr_gym.io.positions.estimate_height`)
closest to 1.70 m. Up axis: ``up_axis="y"`` by default (the BVH convention and every dataset
here); the world is rotated so that it becomes +z. Height: fitted from bone lengths unless
``height=`` is given.

Orientations: a BVH joint's global rotation ``Q_b(t)`` is converted to SMPL's joint-frame
convention by a constant per-joint correction, ``q(t) = Q_b(t) ⊗ C_j``. ``C_j`` is the rotation
that maps the canonical T-pose bone direction of the joint (towards its primary child, see
:mod:`nmr_gym.io.positions`) onto that bone's direction in the BVH joint's local frame (its
mean over the clip, constant for rigid bones; for leaves the End Site or child offset), with the
twist about the bone chosen so that the canonical secondary axis (body left for the trunk and
legs, the elbow hinge / torso up for the arms) matches, on average over the clip, the same axis
estimated from joint positions. The pelvis is the exception: its hip line (right -> left hip)
is matched exactly and its tilt so that the mean pelvis -> spine3 direction is its up axis
(rigs place the Hips -> Spine bone at arbitrary tilts, LAFAN1's ~20 deg). Joints without an
observable bone direction take the rotation that makes them equal to their parent's canonical
frame on average. The result depends neither on the skeleton's rest pose nor on the rig's
per-joint axis conventions (tested with random joint frames in tests/test_human_io.py).
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nmr_gym import rotations as rot
from nmr_gym import skeleton as sk
from nmr_gym.errors import MotionFormatError
from nmr_gym.io import _human_common as hc
from nmr_gym.io import positions as jp
from nmr_gym.io.files import check_input_file
from nmr_gym.motion.human import HumanMotion

DEFAULT_UP_AXIS = "y"
#: Frames a file may hold fewer than its "Frames:" line declares (LAFAN1's
#: fallAndGetUp1_subject1.bvh declares 5047 and holds 5046 complete frames); more is an error.
FRAME_COUNT_SLACK = 1
#: Frame rates within this of an integer [frames/s] are taken as that integer.
FPS_SNAP = 0.01
log = logging.getLogger(__name__)
_AXES = {"X": 0, "Y": 1, "Z": 2}
_Y = np.array([0.0, 1.0, 0.0])


@dataclass
class Bvh:
    """A parsed BVH file: hierarchy (parents before children) and the channel data."""

    names: list[str]
    parents: list[int]
    offsets: np.ndarray  # (N, 3) file units
    channels: list[list[str]]  # per joint, e.g. ["Xposition", ..., "Zrotation", ...]
    end_sites: dict[int, np.ndarray]  # joint index -> End Site offset
    frame_time: float
    motion: np.ndarray  # (T, total channels)
    source: str = ""
    children: dict[int, list[int]] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        """1 / frame time, snapped to the nearest integer within :data:`FPS_SNAP` (files store
        rounded frame times: 0.033333 s is 30 fps, not 30.0003)."""
        fps = 1.0 / self.frame_time
        return float(round(fps)) if abs(fps - round(fps)) < FPS_SNAP else fps

    def index(self, name: str) -> int:
        return self.names.index(name)


_FRAMES = re.compile(r"Frames:\s*(\S+)\s+Frame\s+Time:\s*(\S+)", re.IGNORECASE)


def parse_bvh(path: str | os.PathLike) -> Bvh:
    """Parse a BVH file; MotionFormatError naming the file on any problem."""
    p = check_input_file(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise MotionFormatError(f"cannot read file ({exc})", p) from None
    head, sep, tail = text.partition("MOTION")
    if not sep or "HIERARCHY" not in head:
        raise MotionFormatError("not a BVH file (no HIERARCHY ... MOTION sections)", p)
    tokens = head[head.index("HIERARCHY") + len("HIERARCHY") :].split()
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[list[str]] = []
    end_sites: dict[int, np.ndarray] = {}
    stack: list[int] = []  # open joints (-2 marks an End Site block)
    i = 0

    def take(n: int) -> list[str]:
        nonlocal i
        if i + n > len(tokens):
            raise MotionFormatError("HIERARCHY ends early (truncated file?)", p)
        out = tokens[i : i + n]
        i += n
        return out

    def numbers(vals: list[str], what: str) -> list[float]:
        try:
            return [float(x) for x in vals]
        except ValueError:
            raise MotionFormatError(f"bad {what} values {vals}", p) from None

    while i < len(tokens):
        tok = take(1)[0]
        if tok in ("ROOT", "JOINT"):
            if tok == "ROOT" and names:
                raise MotionFormatError("more than one ROOT is not supported", p)
            if tok == "JOINT" and (not stack or stack[-1] < 0):
                raise MotionFormatError("JOINT outside a joint block", p)
            names.append(take(1)[0])
            parents.append(stack[-1] if stack else -1)
            offsets.append([0.0, 0.0, 0.0])
            channels.append([])
            if take(1)[0] != "{":
                raise MotionFormatError(f"expected '{{' after joint {names[-1]!r}", p)
            stack.append(len(names) - 1)
        elif tok == "End":
            take(1)  # "Site"
            if take(1)[0] != "{":
                raise MotionFormatError("expected '{' after End Site", p)
            stack.append(-2)
        elif tok == "OFFSET":
            vals = numbers(take(3), "OFFSET")
            if not stack:
                raise MotionFormatError("OFFSET outside a joint block", p)
            if stack[-1] == -2:
                end_sites.setdefault(stack[-2], np.array(vals))
            else:
                offsets[stack[-1]] = vals
        elif tok == "CHANNELS":
            try:
                n = int(take(1)[0])
            except ValueError:
                raise MotionFormatError("bad CHANNELS count", p) from None
            chans = take(n)
            bad = [
                c
                for c in chans
                if c[:1].upper() not in _AXES or c[1:].lower() not in ("position", "rotation")
            ]
            if bad or not stack or stack[-1] < 0:
                raise MotionFormatError(f"bad CHANNELS {chans}", p)
            channels[stack[-1]] = chans
        elif tok == "}":
            if not stack:
                raise MotionFormatError("unbalanced '}' in HIERARCHY", p)
            stack.pop()
        else:
            raise MotionFormatError(f"unexpected token {tok!r} in HIERARCHY", p)
    if stack or not names:
        raise MotionFormatError("HIERARCHY is incomplete (unbalanced braces or no joints)", p)

    m = _FRAMES.search(tail)
    if not m:
        raise MotionFormatError("MOTION section lacks 'Frames:' / 'Frame Time:'", p)
    try:
        n_frames, frame_time = int(m.group(1)), float(m.group(2))
    except ValueError:
        raise MotionFormatError("bad 'Frames:' or 'Frame Time:' value", p) from None
    if not np.isfinite(frame_time) or frame_time <= 0:
        raise MotionFormatError(f"frame time must be > 0, got {frame_time}", p)
    n_chan = sum(len(c) for c in channels)
    values = _motion_values(tail[m.end() :], n_chan)
    if values is None:
        raise MotionFormatError("MOTION data holds non-numeric values", p)
    have = values.size // max(n_chan, 1)
    if values.size % max(n_chan, 1) or have < n_frames - FRAME_COUNT_SLACK:
        raise MotionFormatError(
            f"MOTION data is truncated or malformed: {n_frames} frames x {n_chan} channels "
            f"declared, {values.size} values found",
            p,
        )
    if have < n_frames:
        log.warning(
            "%s: declares %d frames but holds %d complete frames; using those", p, n_frames, have
        )
        n_frames = have
    motion = values[: n_frames * n_chan].reshape(n_frames, n_chan)
    children: dict[int, list[int]] = {}
    for j, par in enumerate(parents):
        children.setdefault(par, []).append(j)
    return Bvh(
        names, parents, np.array(offsets), channels, end_sites, frame_time, motion, str(p), children
    )


def _motion_values(block: str, n_chan: int) -> np.ndarray | None:
    """All numbers of the MOTION block in file order (1-D float64), or None when a token is
    not a number.

    Fast path: pandas' C reader (a dependency already; about 4x faster than converting
    ``str.split()`` tokens), taken only when it yields a complete, finite table of ``n_chan``
    columns; it parses every number to the nearest double, as Python's ``float`` does (tested
    equal bit for bit). Anything else (a short last frame, frames wrapped over lines, NaN or
    odd tokens) goes through the token path, which keeps the exact checks of
    :func:`parse_bvh`.
    """
    try:
        table = pd.read_csv(
            io.StringIO(block), sep=r"\s+", header=None, dtype=np.float64, na_filter=False
        ).to_numpy()
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        table = None
    if table is not None and table.ndim == 2 and table.shape[1] == n_chan:
        values = table.reshape(-1)
        if np.isfinite(values).all():
            return values
    try:
        return np.array(block.split(), dtype=np.float64)
    except ValueError:
        return None


def forward_kinematics(bvh: Bvh, world: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Global positions (T, N, 3) [file units] and orientations (T, N, 4) of every joint,
    rotated by the quaternion ``world`` (4,) when given (e.g. the up-axis change).

    Local rotations are converted for all joints with the same channel order at once and the
    tree is walked one depth level at a time, over all frames, in component-major arrays
    (:func:`nmr_gym.skeleton.forward_kinematics_cm`); the arithmetic per joint and frame is
    that of a joint-by-joint walk followed by ``rotate(world, ...)`` / ``multiply(world, ...)``.
    """
    t = bvh.motion.shape[0]
    n = len(bvh.names)
    trans = np.empty((3, n, t))  # local translations, component-major
    trans[:] = bvh.offsets.T[:, :, None]
    local = np.zeros((4, n, t))  # local rotations, component-major
    local[0] = 1.0
    by_order: dict[str, tuple[list[int], list[list[int]]]] = {}
    col = 0
    for j, chans in enumerate(bvh.channels):
        order, angle_cols = "", []
        for k, c in enumerate(chans):
            axis, kind = c[0].upper(), c[1:].lower()
            if kind == "position":
                trans[_AXES[axis], j] = bvh.motion[:, col + k]
            else:
                order += axis
                angle_cols.append(col + k)
        col += len(chans)
        if order:
            joints, cols = by_order.setdefault(order, ([], []))
            joints.append(j)
            cols.append(angle_cols)
    for order, (joints, cols) in by_order.items():
        angles = np.radians(bvh.motion[:, np.array(cols)])  # (T, k, n)
        local[:, joints] = rot.from_euler_cm(angles.transpose(2, 1, 0), order)
    # one root, joint 0 (parse_bvh refuses others); its translation and rotation are global
    pos, quat = sk.forward_kinematics_cm(trans[:, 0], local[:, 0], local, trans, tuple(bvh.parents))
    if world is not None:
        w = np.asarray(world, dtype=float)[:, None, None]
        pos, quat = rot.rotate_cm(w, pos), rot.multiply_cm(w, quat)
    return (
        np.ascontiguousarray(pos.transpose(2, 1, 0)),
        np.ascontiguousarray(quat.transpose(2, 1, 0)),
    )


# ----------------------------------------------------------------------------- joint maps


def builtin_joint_maps() -> dict[str, dict[str, Any]]:
    """The shipped joint maps by skeleton name (LAFAN1, Bandai Namco, CMU variants)."""
    out = {}
    for entry in resources.files("nmr_gym.data.bvh_maps").iterdir():
        if entry.name.endswith(".json"):
            data = json.loads(entry.read_text())
            out[data.get("skeleton", entry.name[:-5])] = data
    return out


def _spec(value: Any, canonical: str, where: str) -> tuple[tuple[str, str, float], str]:
    """((pos joint A, pos joint B, t), rot joint) of one map entry."""
    if isinstance(value, str):
        return (value, value, 0.0), value
    if isinstance(value, Mapping) and "pos" in value:
        pos = value["pos"]
        if isinstance(pos, str):
            pos = [pos, pos, 0.0]
        if (
            not isinstance(pos, (list, tuple))
            or len(pos) != 3
            or not isinstance(pos[2], (int, float))
        ):
            raise MotionFormatError(
                f"joint map entry {canonical!r}: 'pos' must be a name or [A, B, t]", where
            )
        return (str(pos[0]), str(pos[1]), float(pos[2])), str(value.get("rot", pos[0]))
    raise MotionFormatError(
        f"joint map entry {canonical!r} must be a BVH joint name or {{'pos': [A, B, t], 'rot': A}}",
        where,
    )


def normalize_joint_map(joint_map: Mapping[str, Any] | str | os.PathLike) -> dict[str, Any]:
    """A joint map as {"skeleton", "joints": {canonical: spec}} from a dict or JSON file."""
    where = "joint_map"
    if isinstance(joint_map, (str, os.PathLike)):
        where = str(joint_map)
        try:
            joint_map = json.loads(Path(joint_map).read_text())
        except (OSError, ValueError) as exc:
            raise MotionFormatError(f"cannot read joint map ({exc})", where) from None
    if not isinstance(joint_map, Mapping):
        raise MotionFormatError("joint map must be a JSON object / dict", where)
    joints = joint_map.get("joints", joint_map)
    unknown = sorted(set(joints) - set(sk.SMPL_JOINT_NAMES))
    if unknown:
        raise MotionFormatError(
            f"joint map keys must be canonical SMPL joint names; unknown: {unknown}", where
        )
    missing = [n for n in sk.SMPL_JOINT_NAMES if n not in joints and n not in jp.OPTIONAL_JOINTS]
    if missing:
        raise MotionFormatError(f"joint map lacks canonical joints {missing}", where)
    for k, v in joints.items():
        _spec(v, k, where)
    return {
        "skeleton": joint_map.get("skeleton", "custom"),
        "joints": dict(joints),
        "units": joint_map.get("units"),
        "up_axis": joint_map.get("up_axis"),
    }


def _referenced(jmap: Mapping[str, Any]) -> set[str]:
    names = set()
    for k, v in jmap["joints"].items():
        (a, b, _), r = _spec(v, k, "joint_map")
        names |= {a, b, r}
    return names


def detect_joint_map(names: list[str], source: str = "") -> dict[str, Any]:
    """The shipped map whose joint names all occur in the file (the most specific one)."""
    have = set(names)
    best, best_missing = None, None
    fits = []
    for name, data in builtin_joint_maps().items():
        jmap = normalize_joint_map(data)
        missing = sorted(_referenced(jmap) - have)
        if not missing:
            fits.append((len(_referenced(jmap)), name, jmap))
        elif best_missing is None or len(missing) < len(best_missing):
            best, best_missing = name, missing
    if fits:
        return max(fits, key=lambda f: f[0])[2]
    raise MotionFormatError(
        f"unknown skeleton: no joint map fits its joint names {names}. Closest known "
        f"skeleton {best!r} lacks {best_missing}. Pass joint_map= (a dict or JSON file "
        "{canonical SMPL joint: source joint name})",
        source,
    )


# ----------------------------------------------------------------------------- conversion


def _quat_mean(q: np.ndarray) -> np.ndarray:
    """Average rotation (wxyz) of quaternions (T, 4): the principal eigenvector of sum q q^T."""
    _, vecs = np.linalg.eigh(q.T @ q)
    return vecs[:, -1]


def _leaf_direction(bvh: Bvh, j: int) -> np.ndarray | None:
    """Local direction of a BVH joint's End Site or first nonzero child offset, if any."""
    cands = [bvh.end_sites.get(j)] + [bvh.offsets[c] for c in bvh.children.get(j, [])]
    for c in cands:
        if c is not None and np.linalg.norm(c) > 1e-6:
            return c / np.linalg.norm(c)
    return None


def canonical_corrections(
    pos: np.ndarray, bvh_quat: np.ndarray, has: np.ndarray, leaf_dirs: dict[int, np.ndarray]
) -> np.ndarray:
    """Constant corrections C_j (24, 4) with canonical q_j(t) = Q_b(t) ⊗ C_j (module docstring).

    Args: canonical positions (T, 24, 3) and rotation-source BVH orientations (T, 24, 4) in the
    z-up world; ``has`` marks canonical joints with a position; ``leaf_dirs`` maps canonical
    joints without a child position to a unit bone direction in their BVH joint's frame.
    """
    sec = jp.secondary_axes(pos, jp.HINGE_FALLBACK_WEIGHT_AVERAGED, unit_hinge=False)
    corr = np.tile(rot.IDENTITY_WXYZ, (sk.NUM_JOINTS, 1))
    names = sk.SMPL_JOINT_NAMES
    # Each joint's case: an observed bone to its primary child, a leaf direction, or neither.
    # The clip means are taken for all joints of a case at once (the same arithmetic per joint
    # as one at a time).
    bone, framed, fallback = [], [], []
    for name, j in jp.J.items():
        if not has[j]:
            continue
        child = jp.PRIMARY_CHILD[name]
        if child is not None and has[jp.J[child]]:
            bone.append(j)
        elif j not in leaf_dirs:
            fallback.append(j)
            continue
        framed.append(j)
    d_mean = dict(leaf_dirs)
    if bone:
        child_idx = [jp.J[jp.PRIMARY_CHILD[names[j]]] for j in bone]
        d_loc = jp._unit(rot.rotate_inverse(bvh_quat[:, bone], pos[:, child_idx] - pos[:, bone]))
        d_mean.update(zip(bone, d_loc.mean(axis=0), strict=True))
    axes, refs = [], []
    for j in framed:
        name = names[j]
        u, s, w = jp.canonical_direction(name), *sec[name]
        if name == "pelvis":
            # The rig's Hips -> Spine bone may be tilted (LAFAN1's by ~20 deg): fix the hip line
            # exactly and the tilt from the mean pelvis -> spine3 direction (a spine that is on
            # average straight above the pelvis).
            u, d_mean[j] = s, rot.rotate_inverse(bvh_quat[:, j], w).mean(axis=0)
            s, w = _Y, jp._unit(pos[:, jp.J["spine3"]] - pos[:, j])
        axes.append((u, s))
        refs.append(w)
    if framed:
        w_mean = rot.rotate_inverse(bvh_quat[:, framed], np.stack(refs, axis=1)).mean(axis=0)
        m = [
            jp.frame_from_vectors(u, s, d_mean[j][None], w_mean[i][None])[0]
            for i, (j, (u, s)) in enumerate(zip(framed, axes, strict=True))
        ]
        corr[framed] = rot.from_matrix(np.stack(m))
    for j in fallback:  # no observable bone: equal to the parent's canonical frame on average
        par = sk.SMPL_PARENTS[j]
        canon_par = rot.multiply(bvh_quat[:, par], corr[par])
        corr[j] = _quat_mean(rot.multiply(rot.conjugate(bvh_quat[:, j]), canon_par))
    return corr


def skeleton_to_human(
    names: list[str],
    g_pos: np.ndarray,
    g_quat: np.ndarray,
    leaf_direction: Callable[[int], np.ndarray | None],
    jmap: Mapping[str, Any],
    *,
    fps: float,
    units: str | None,
    height: float | None,
    ground: str,
    source: str,
    metadata: Mapping[str, Any],
) -> HumanMotion:
    """Canonical ``HumanMotion`` of any posed skeleton (BVH, ASF/AMC) through a joint map.

    ``g_pos`` (T, N, 3) [file units] and ``g_quat`` (T, N, 4) are the global joint positions
    and rotations of the N named source joints in the z-up world; ``leaf_direction(i)`` gives
    the unit bone direction in joint i's frame for leaves (End Site / bone axis) or None.
    """
    n = len(g_pos)
    pos = np.zeros((n, sk.NUM_JOINTS, 3))
    qb = np.tile(rot.IDENTITY_WXYZ, (n, sk.NUM_JOINTS, 1))
    has = np.zeros(sk.NUM_JOINTS, bool)
    leaf_dirs = {}
    index = {nm: i for i, nm in enumerate(names)}
    for name, value in jmap["joints"].items():
        (a, b, t), r = _spec(value, name, source)
        j = jp.J[name]
        ia, ib, ir = index[a], index[b], index[r]
        pos[:, j] = (1 - t) * g_pos[:, ia] + t * g_pos[:, ib]
        qb[:, j] = g_quat[:, ir]
        has[j] = True
        child = jp.PRIMARY_CHILD[name]
        if child is None or child not in jmap["joints"]:
            d = leaf_direction(ir)
            if d is not None:
                leaf_dirs[j] = d
    if units is None:
        units = jp.detect_units(jp.estimate_height(pos))
    if units not in jp.UNIT_SCALES:
        raise ValueError(f"units must be one of {sorted(jp.UNIT_SCALES)}, got {units!r}")
    pos *= jp.UNIT_SCALES[units]
    h = jp.estimate_height(pos) if height is None else float(height)
    if not 0.5 <= h <= 2.5:
        raise MotionFormatError(
            f"fitted body height {h:.2f} m is implausible; pass units= or height=", source
        )
    corr = canonical_corrections(pos, qb, has, leaf_dirs)
    quat = rot.multiply(qb, corr)
    if not has.all():
        jp.place_hands(pos, quat, h)
    pos, shift = hc.apply_ground(pos, h, ground, source)
    meta = {
        "skeleton": jmap["skeleton"], "units": units, "name": Path(source).stem,
        "ground_shift_m": shift, "orientations_estimated": False, **metadata,
    }  # fmt: skip
    return HumanMotion(fps, sk.SMPL_JOINT_NAMES, pos, quat, h, source, meta)


def resolve_joint_map(
    names: list[str], joint_map: Mapping[str, Any] | str | os.PathLike | None, source: str
) -> dict[str, Any]:
    """The given joint map (normalised), or the detected shipped one; checked against names."""
    jmap = detect_joint_map(names, source) if joint_map is None else normalize_joint_map(joint_map)
    missing = sorted(_referenced(jmap) - set(names))
    if missing:
        raise MotionFormatError(
            f"joints named in the joint map are missing from the file: {missing}; the file "
            f"has {names}",
            source,
        )
    return jmap


def load_bvh(
    path: str | os.PathLike,
    *,
    joint_map: Mapping[str, Any] | str | os.PathLike | None = None,
    units: str | None = None,
    up_axis: str | None = None,
    height: float | None = None,
    ground: str = "auto",
) -> HumanMotion:
    """Load a BVH file onto the canonical skeleton (module docstring)."""
    bvh = parse_bvh(path)
    src = bvh.source
    if bvh.motion.shape[0] < 2:
        raise MotionFormatError(f"a motion needs at least 2 frames, got {bvh.motion.shape[0]}", src)
    if not np.all(np.isfinite(bvh.motion)):
        raise MotionFormatError("MOTION data holds non-finite values (NaN/inf)", src)
    jmap = resolve_joint_map(bvh.names, joint_map, src)
    up_axis = up_axis or jmap.get("up_axis") or DEFAULT_UP_AXIS
    g_pos, g_quat = forward_kinematics(bvh, world=hc.up_to_z(up_axis))  # z-up world
    return skeleton_to_human(
        bvh.names, g_pos, g_quat,
        lambda i: _leaf_direction(bvh, i), jmap, fps=bvh.fps,
        units=units or jmap.get("units"), height=height, ground=ground, source=src,
        metadata={"format": "bvh", "up_axis": up_axis, "bvh_joints": len(bvh.names)},
    )  # fmt: skip
