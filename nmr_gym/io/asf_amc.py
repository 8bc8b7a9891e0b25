"""Acclaim ASF skeleton + AMC motion (the CMU mocap originals) -> ``HumanMotion``.

Hand-written for the same reasons as the BVH reader (:mod:`nmr_gym.io.bvh`): the format is
small, and forward kinematics must run over all frames at once. Semantics follow the Acclaim
spec as the CMU tools and the common ``amc_parser`` read it: each bone has a rest ``direction``
(world frame of the rest pose), ``length``, an ``axis`` frame ``C`` (Euler angles, R = Rz Ry Rx
for order XYZ) and degrees of freedom; per frame its local rotation is ``C M C^-1`` with ``M``
the Euler rotation of its dof values (padded to rx ry rz, R = Rz Ry Rx), its global rotation
``G = G_parent C M C^-1`` and its end point ``start + length G direction``. The root is placed
at its TX TY TZ values and rotated by its RX RY RZ values in its ``axis`` frame.

Lengths are in ASF units: ``:units length L`` means L file units per inch (CMU: 0.45), so
metres = value * 0.0254 / L. The world is y up. Each bone becomes a named joint at the bone's
start, rotated by the bone's global rotation; a joint map (``cmu_asf.json``, detected from the
bone names, or ``joint_map=``) maps them onto the canonical skeleton exactly as for BVH.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nmr_gym import rotations as rot
from nmr_gym.errors import MotionFormatError
from nmr_gym.io import _human_common as hc
from nmr_gym.io import bvh as bvh_io
from nmr_gym.io.files import check_input_file
from nmr_gym.motion.human import HumanMotion

#: Frame rate of AMC files, which do not store one (the CMU database is 120 Hz).
DEFAULT_AMC_FPS = 120.0
INCH = 0.0254  # [m]


@dataclass
class Bone:
    name: str
    direction: np.ndarray = field(default_factory=lambda: np.zeros(3))
    length: float = 0.0
    axis: np.ndarray = field(default_factory=lambda: np.zeros(3))
    axis_order: str = "XYZ"
    dof: list[str] = field(default_factory=list)


@dataclass
class Asf:
    bones: dict[str, Bone]
    parents: dict[str, str]  # child -> parent ("root" has none)
    length_unit: float  # file units per inch
    degrees: bool
    root_order: list[str]
    root_axis: str
    source: str

    def order(self) -> list[str]:
        """Bone names with parents first, starting at "root"."""
        out, todo = ["root"], ["root"]
        kids: dict[str, list[str]] = {}
        for c, p in self.parents.items():
            kids.setdefault(p, []).append(c)
        while todo:
            for c in kids.get(todo.pop(0), []):
                out.append(c)
                todo.append(c)
        return out


def _euler(angles: np.ndarray, order: str, degrees: bool) -> np.ndarray:
    """Quaternions of Euler angles (..., 3) given per axis x, y, z; R = product in ``order``
    reversed-applied as the Acclaim tools do (order "XYZ" -> R = Rz Ry Rx)."""
    a = np.radians(angles) if degrees else angles
    idx = {"X": 0, "Y": 1, "Z": 2}
    seq = order.upper()[::-1]  # extrinsic XYZ == intrinsic ZYX
    return rot.from_euler(a[..., [idx[c] for c in seq]], seq)


def parse_asf(path: str | os.PathLike) -> Asf:
    p = check_input_file(path)
    lines = [ln.split("#")[0].strip() for ln in p.read_text(errors="replace").splitlines()]
    bones: dict[str, Bone] = {}
    parents: dict[str, str] = {}
    length_unit, degrees = 1.0, True
    root_order, root_axis = ["TX", "TY", "TZ", "RX", "RY", "RZ"], "XYZ"
    section, cur = "", None
    try:
        for ln in lines:
            if not ln:
                continue
            if ln.startswith(":"):
                section = ln.split()[0]
                continue
            tok = ln.split()
            if section == ":units":
                if tok[0] == "length":
                    length_unit = float(tok[1])
                elif tok[0] == "angle":
                    degrees = tok[1].lower().startswith("deg")
            elif section == ":root":
                if tok[0] == "order":
                    root_order = [t.upper() for t in tok[1:]]
                elif tok[0] == "axis":
                    root_axis = tok[1].upper()
            elif section == ":bonedata":
                if tok[0] == "begin":
                    cur = Bone("")
                elif tok[0] == "end" and cur is not None:
                    bones[cur.name] = cur
                    cur = None
                elif cur is not None and tok[0] == "name":
                    cur.name = tok[1]
                elif cur is not None and tok[0] == "direction":
                    cur.direction = np.array([float(x) for x in tok[1:4]])
                elif cur is not None and tok[0] == "length":
                    cur.length = float(tok[1])
                elif cur is not None and tok[0] == "axis":
                    cur.axis = np.array([float(x) for x in tok[1:4]])
                    cur.axis_order = tok[4].upper() if len(tok) > 4 else "XYZ"
                elif cur is not None and tok[0] == "dof":
                    cur.dof = [t.lower() for t in tok[1:]]
            elif section == ":hierarchy" and tok[0] not in ("begin", "end"):
                for child in tok[1:]:
                    parents[child] = tok[0]
    except (ValueError, IndexError) as exc:
        raise MotionFormatError(f"malformed ASF line ({exc})", p) from None
    unknown = sorted((set(parents) | set(parents.values())) - set(bones) - {"root"})
    if not bones or unknown:
        raise MotionFormatError(f"ASF has no bones or unknown bones in :hierarchy {unknown}", p)
    return Asf(bones, parents, length_unit, degrees, root_order, root_axis, str(p))


def parse_amc(path: str | os.PathLike, asf: Asf) -> dict[str, np.ndarray]:
    """Per bone (and "root"), the values of every frame (T, n values)."""
    p = check_input_file(path)
    frames: list[dict[str, list[float]]] = []
    try:
        for ln in p.read_text(errors="replace").splitlines():
            ln = ln.strip()
            if not ln or ln.startswith(("#", ":")):
                continue
            tok = ln.split()
            if len(tok) == 1 and tok[0].isdigit():
                frames.append({})
            elif frames:
                frames[-1][tok[0]] = [float(x) for x in tok[1:]]
    except ValueError as exc:
        raise MotionFormatError(f"malformed AMC line ({exc})", p) from None
    if not frames:
        raise MotionFormatError("AMC file holds no frames", p)
    out = {}
    for name in asf.order():
        width = len(asf.root_order) if name == "root" else len(asf.bones[name].dof)
        if width == 0:
            continue
        try:
            out[name] = np.array([f[name] for f in frames], dtype=float).reshape(len(frames), -1)
        except (KeyError, ValueError):
            raise MotionFormatError(
                f"AMC frames lack or malform bone {name!r} ({width} values expected)", p
            ) from None
        if out[name].shape[1] != width:
            raise MotionFormatError(
                f"bone {name!r} has {out[name].shape[1]} values per frame, ASF says {width}", p
            )
    return out


def forward_kinematics(asf: Asf, motion: dict[str, np.ndarray]):
    """Bone names, start positions (T, N, 3) [file units] and global rotations (T, N, 4)."""
    names = asf.order()
    n = len(motion["root"])
    pos = np.empty((n, len(names), 3))
    quat = np.empty((n, len(names), 4))
    end = {}
    idx = {nm: i for i, nm in enumerate(names)}
    root = motion["root"]
    trans = np.zeros((n, 3))
    angles = np.zeros((n, 3))
    for k, ch in enumerate(asf.root_order):
        (trans if ch[0] == "T" else angles)[:, "XYZ".index(ch[1])] = root[:, k]
    pos[:, 0] = trans
    quat[:, 0] = _euler(angles, asf.root_axis, asf.degrees)
    end["root"] = trans
    for name in names[1:]:
        bone, par = asf.bones[name], asf.parents[name]
        c = _euler(bone.axis, bone.axis_order, asf.degrees)
        vals = np.zeros((n, 3))
        for k, d in enumerate(bone.dof):
            if d in ("rx", "ry", "rz"):
                vals[:, "xyz".index(d[1])] = motion[name][:, k]
        local = rot.multiply(rot.multiply(c, _euler(vals, "XYZ", asf.degrees)), rot.conjugate(c))
        g = rot.multiply(quat[:, idx[par]], local)
        quat[:, idx[name]] = g
        pos[:, idx[name]] = end[par]
        end[name] = end[par] + bone.length * rot.rotate(g, bone.direction)
    return names, pos, quat


def load_asf_amc(
    path: str | os.PathLike,
    asf_path: str | os.PathLike | None = None,
    *,
    joint_map: Mapping[str, Any] | str | os.PathLike | None = None,
    fps: float | None = None,
    height: float | None = None,
    up_axis: str = "y",
    ground: str = "auto",
) -> HumanMotion:
    """Load an AMC motion with its ASF skeleton (default: the only .asf whose name prefixes the
    AMC's, e.g. ``01.asf`` for ``01_01.amc``, in the same folder)."""
    amc = check_input_file(path)
    if asf_path is None:
        prefix = amc.stem.rsplit("_", 1)[0]
        cands = sorted(amc.parent.glob("*.asf"))
        match = [c for c in cands if c.stem == prefix] or (cands if len(cands) == 1 else [])
        if len(match) != 1:
            found = [c.name for c in cands]
            raise MotionFormatError(
                f"cannot tell which ASF skeleton belongs to this AMC (expected {prefix}.asf, "
                f"found {found}); pass asf_path=",
                amc,
            )
        asf_path = match[0]
    asf = parse_asf(asf_path)
    motion = parse_amc(amc, asf)
    if len(motion["root"]) < 2:
        raise MotionFormatError(f"a motion needs at least 2 frames, got {len(motion['root'])}",
                                amc)  # fmt: skip
    names, g_pos, g_quat = forward_kinematics(asf, motion)
    world = hc.up_to_z(up_axis)
    jmap = bvh_io.resolve_joint_map(names, joint_map, str(amc))
    g_pos = g_pos * (INCH / asf.length_unit)  # -> metres

    def leaf(i: int) -> np.ndarray | None:
        d = asf.bones[names[i]].direction if names[i] in asf.bones else None
        return None if d is None or np.linalg.norm(d) < 1e-9 else d / np.linalg.norm(d)

    return bvh_io.skeleton_to_human(
        names, rot.rotate(world, g_pos), rot.multiply(world, g_quat), leaf, jmap,
        fps=DEFAULT_AMC_FPS if fps is None else fps, units="m", height=height, ground=ground,
        source=str(amc),
        metadata={"format": "asf_amc", "up_axis": up_axis, "asf": Path(asf.source).name},
    )  # fmt: skip
