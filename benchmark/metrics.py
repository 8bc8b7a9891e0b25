"""Retargeting-quality metrics: pure functions over a ``RobotMotion`` (and its source human).

Every metric is measured on the one reference G1 (``nmr_gym.g1.kinematic_model()``) with the
definitions below, whatever method made the motion. :func:`score` returns one dict with the
columns of :data:`METRIC_COLUMNS` (percentages are 0-100):

- ``joint_jump_pct``: % of frames whose largest single-step joint change exceeds
  :data:`JUMP_THRESHOLD_RAD` (NMR paper IV-C). Frame t >= 1 is a jump frame when
  ``max_j |q_j[t] - q_j[t-1]| > threshold``; frame 0 never is; the denominator is all T frames.
  Measured at the motion's own frame rate. ``max_joint_vel`` [rad/s] is the largest
  ``|q_j[t] - q_j[t-1]| * fps`` over joints and steps.
- ``self_collision_pct``: % of frames with a contact between collision geoms (class
  ``collision``, group 3) of two different bodies, contacts involving a hand (the
  ``*_wrist_yaw_link`` bodies) excluded (paper IV-C); ``self_collision_hands_pct`` counts every
  contact. Contacts come from MuJoCo's own collision pipeline (``mj_kinematics`` +
  ``mj_collision``, no stepping, geom margins 0 so only touching or overlapping geoms count).
  MuJoCo's default parent-child filter is kept: a link and its parent link are never counted,
  because their meshes meet at the joint they share by construction and would collide in every
  frame. Grandparents and everything further apart are counted.
- ``joint_limit_pct``: % of frames where any joint is within :data:`LIMIT_MARGIN_RAD` of, or
  beyond, its range on the reference model (paper IV-C).
- ``penetration_pct`` / ``penetration_max_m``: the lowest point of the whole collision geometry
  (exact for spheres and cylinders, convex-hull vertices for meshes: what MuJoCo collides with)
  below the floor z = 0: % of frames deeper than :data:`PENETRATION_TOLERANCE_M`, and the
  largest depth [m] (0 when nothing is below the floor).
- ``foot_skate_mps``: mean horizontal speed [m/s] of the feet while in contact. A foot is in
  contact in a frame when its lowest point (its four sole spheres) is below
  :data:`FOOT_CONTACT_HEIGHT_M`; its speed is the mean horizontal speed (central differences)
  of its sole spheres that are themselves below that height. Averaged over (foot, frame)
  contact samples; NaN when no foot ever touches the floor.
- ``float_pct``: % of frames whose lowest foot point is higher than :data:`FLOAT_HEIGHT_M`.
- ``mpjpe_m`` / ``w_mpjpe_m``: retargeting fidelity [m] between robot bodies and the human
  keypoints they map to (:data:`KEYPOINT_MAP`, fixed and method-independent). Human keypoints
  are scaled by ``s = G1_HEIGHT_M / human.height`` about the point on the floor under the
  human's first-frame pelvis: ``p' = o + s (p - o)``, ``o = (pelvis_x[0], pelvis_y[0], 0)``.
  ``w_mpjpe_m`` is the mean world-frame distance over all mapped keypoints;
  ``mpjpe_m`` the mean distance after subtracting each side's pelvis (the pelvis itself, zero
  by construction, is left out of that mean). When the frame rates differ the human motion is
  resampled to the robot's; when the lengths then differ the common prefix is compared. NaN
  when no human motion is given.

Speed: one pass of ``mj_kinematics`` per distinct frame (consecutive identical poses are scored
once), ``mj_collision`` in the same pass, and optionally several processes over chunks of
frames (``workers``). Everything else is vectorised numpy over the collected geom poses.
"""

from __future__ import annotations

import concurrent.futures
import copy
import functools
import math
from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np

from nmr_gym.g1 import collision_geom_mask, joint_ranges, kinematic_model, spec
from nmr_gym.motion import HumanMotion, RobotMotion

#: A frame is a joint jump when its largest single-step joint change exceeds this [rad].
JUMP_THRESHOLD_RAD = 0.5
#: A frame is near a limit when any joint is within this distance of (or beyond) its range [rad].
LIMIT_MARGIN_RAD = 0.05
#: Lowest collision point deeper than this below the floor counts as a penetration frame [m]
#: (the Menagerie ``stand`` pose itself sits 1.9 mm into the floor).
PENETRATION_TOLERANCE_M = 0.01
#: A foot whose lowest point is below this height touches the floor [m].
FOOT_CONTACT_HEIGHT_M = 0.02
#: A frame floats when the lowest foot point is higher than this [m].
FLOAT_HEIGHT_M = 0.10
#: Standing height of the Unitree G1 [m] (Unitree's specification: 1320 mm), used to scale
#: human keypoints for MPJPE.
G1_HEIGHT_M = 1.32
#: Frames per worker below which ``workers > 1`` still runs in one process (start-up cost).
MIN_FRAMES_PER_WORKER = 20_000

#: SMPL joint -> G1 body whose origin it is compared with (the joint centres that both
#: skeletons share: pelvis, hips, knees, ankles, shoulders, elbows, wrists).
KEYPOINT_MAP: tuple[tuple[str, str], ...] = (
    ("pelvis", "pelvis"),
    ("left_hip", "left_hip_roll_link"),
    ("right_hip", "right_hip_roll_link"),
    ("left_knee", "left_knee_link"),
    ("right_knee", "right_knee_link"),
    ("left_ankle", "left_ankle_roll_link"),
    ("right_ankle", "right_ankle_roll_link"),
    ("left_shoulder", "left_shoulder_roll_link"),
    ("right_shoulder", "right_shoulder_roll_link"),
    ("left_elbow", "left_elbow_link"),
    ("right_elbow", "right_elbow_link"),
    ("left_wrist", "left_wrist_yaw_link"),
    ("right_wrist", "right_wrist_yaw_link"),
)

#: Result columns in order (percentages 0-100, distances [m], speeds [m/s], [rad/s]).
METRIC_COLUMNS: tuple[str, ...] = (
    "joint_jump_pct",
    "max_joint_vel",
    "self_collision_pct",
    "self_collision_hands_pct",
    "joint_limit_pct",
    "penetration_pct",
    "penetration_max_m",
    "foot_skate_mps",
    "float_pct",
    "mpjpe_m",
    "w_mpjpe_m",
)
#: For each metric, whether lower is better (all of them are).
LOWER_IS_BETTER: dict[str, bool] = {c: True for c in METRIC_COLUMNS}


# --------------------------------------------------------------------------- joint metrics
def jump_frames(joint_pos: np.ndarray, threshold: float = JUMP_THRESHOLD_RAD) -> np.ndarray:
    """(T,) bool: frames whose largest single-step joint change exceeds ``threshold`` [rad]."""
    step = np.abs(np.diff(joint_pos, axis=0)).max(axis=1)  # (T-1,)
    return np.concatenate([[False], step > threshold])


def joint_jump(
    joint_pos: np.ndarray, fps: float, threshold: float = JUMP_THRESHOLD_RAD
) -> tuple[float, float]:
    """``joint_jump_pct`` (% of frames) and ``max_joint_vel`` [rad/s] of (T, 29) joint angles."""
    jumps = jump_frames(joint_pos, threshold)
    max_vel = float(np.abs(np.diff(joint_pos, axis=0)).max() * fps)
    return 100.0 * float(jumps.mean()), max_vel


def near_limit_frames(
    joint_pos: np.ndarray, ranges: np.ndarray | None = None, margin: float = LIMIT_MARGIN_RAD
) -> np.ndarray:
    """(T,) bool: any joint within ``margin`` [rad] of, or beyond, its range (29, 2)."""
    if ranges is None:
        ranges = joint_ranges(kinematic_model())
    lo, hi = ranges[:, 0] + margin, ranges[:, 1] - margin
    return np.any((joint_pos <= lo) | (joint_pos >= hi), axis=1)


def joint_limit_pct(
    joint_pos: np.ndarray, ranges: np.ndarray | None = None, margin: float = LIMIT_MARGIN_RAD
) -> float:
    """% of frames with any joint within ``margin`` of, or beyond, its range."""
    return 100.0 * float(near_limit_frames(joint_pos, ranges, margin).mean())


# ------------------------------------------------------------------ the kinematic scan
#: Grid cells per axis that split a mesh's hull vertices for the exact lowest-point search.
HULL_GRID_CELLS = 4


@dataclass(frozen=True)
class _Hull:
    """A collision mesh's convex-hull vertices (geom frame), split into grid cells so that the
    lowest point in a direction can be found exactly without touching most vertices."""

    box_center: np.ndarray  # (3,) of the vertices' bounding box
    box_half: np.ndarray  # (3,)
    cell_center: np.ndarray  # (C, 3)
    cell_radius: np.ndarray  # (C,)
    cell_verts: tuple[np.ndarray, ...]  # C arrays (n_c, 3)
    rep: np.ndarray  # (C, 3): one vertex of each cell

    @classmethod
    def build(cls, verts: np.ndarray, cells: int = HULL_GRID_CELLS) -> _Hull:
        lo, hi = verts.min(axis=0), verts.max(axis=0)
        ijk = np.minimum(((verts - lo) / np.maximum(hi - lo, 1e-12) * cells).astype(int), cells - 1)
        key = (ijk[:, 0] * cells + ijk[:, 1]) * cells + ijk[:, 2]
        groups = [verts[key == k] for k in np.unique(key)]
        centers = np.array([g.mean(axis=0) for g in groups])
        radii = np.array(
            [np.linalg.norm(g - c, axis=1).max() for g, c in zip(groups, centers, strict=True)]
        )
        return cls(
            (lo + hi) / 2,
            (hi - lo) / 2,
            centers,
            radii,
            tuple(groups),
            np.array([g[0] for g in groups]),
        )

    def lowest(self, d: np.ndarray) -> np.ndarray:
        """Exact ``min_v d . v`` over the hull vertices for each row of ``d`` (n, 3).

        A cell whose bound ``d . centre - radius`` is not below the best value found so far
        cannot hold a lower vertex and is skipped.
        """
        if len(d) == 0:
            return np.zeros(0)
        bound = d @ self.cell_center.T - self.cell_radius  # (n, C)
        best = (d @ self.rep.T).min(axis=1)  # an upper bound: actual vertices
        for c in np.argsort(bound.mean(axis=0)):
            need = bound[:, c] < best
            if need.any():
                best[need] = np.minimum(best[need], (d[need] @ self.cell_verts[c].T).min(axis=1))
        return best


def _hull_vertices(model: mujoco.MjModel, mesh: int) -> np.ndarray:
    """Convex-hull vertices of a mesh in its geom frame: MuJoCo's own hull (what its collision
    functions use) when it computed one, else scipy's."""
    adr, num = model.mesh_vertadr[mesh], model.mesh_vertnum[mesh]
    verts = np.array(model.mesh_vert[adr : adr + num], dtype=float)
    g = model.mesh_graphadr[mesh]
    if g >= 0:
        nv = int(model.mesh_graph[g])
        return verts[np.asarray(model.mesh_graph[g + 2 + nv : g + 2 + 2 * nv])]
    from scipy.spatial import ConvexHull

    return verts[ConvexHull(verts).vertices]


@dataclass(frozen=True)
class _Geometry:
    """Indices and shapes the scan needs, derived once from the reference model."""

    coll: np.ndarray  # (G,) collision geom ids
    kind: np.ndarray  # (G,) mjtGeom
    size: np.ndarray  # (G, 3)
    rbound: np.ndarray  # (G,)
    hulls: tuple[_Hull | None, ...]  # per collision geom: its mesh hull, or None
    feet: np.ndarray  # (2, 4) positions in ``coll`` of each foot's sole spheres
    keypoint_bodies: np.ndarray  # (K,) body ids (MuJoCo numbering, world = 0)
    body_is_hand: np.ndarray  # (nbody,) bool


@functools.lru_cache(maxsize=1)
def _geometry() -> _Geometry:
    model = kinematic_model()
    coll = np.flatnonzero(collision_geom_mask(model))
    hulls = tuple(
        _Hull.build(_hull_vertices(model, model.geom_dataid[g]))
        if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_MESH
        else None
        for g in coll
    )
    feet = []
    for name in spec.FOOT_BODIES:
        bid = model.body(name).id
        sel = np.flatnonzero(
            (model.geom_bodyid[coll] == bid)
            & (model.geom_type[coll] == mujoco.mjtGeom.mjGEOM_SPHERE)
        )
        feet.append(sel)
    hand = np.zeros(model.nbody, dtype=bool)
    for name in spec.HAND_BODIES:
        hand[model.body(name).id] = True
    return _Geometry(
        coll=coll,
        kind=np.array(model.geom_type[coll]),
        size=np.array(model.geom_size[coll]),
        rbound=np.array(model.geom_rbound[coll]),
        hulls=hulls,
        feet=np.array(feet),
        keypoint_bodies=np.array([model.body(b).id for _, b in KEYPOINT_MAP]),
        body_is_hand=hand,
    )


@functools.lru_cache(maxsize=1)
def _collision_model() -> mujoco.MjModel:
    """A private copy of the reference G1 whose only contacting geoms are the collision class."""
    model = kinematic_model()
    m = copy.copy(model)
    mask = collision_geom_mask(model)
    m.geom_contype[~mask] = 0
    m.geom_conaffinity[~mask] = 0
    m.geom_margin[:] = 0.0
    m.geom_gap[:] = 0.0
    return m


@dataclass
class Scan:
    """Per-frame quantities from one kinematic pass; (T, ...) arrays."""

    keypoint_pos_w: np.ndarray  # (T, K, 3) positions of the KEYPOINT_MAP bodies [m]
    geom_pos_w: np.ndarray  # (T, G, 3) collision geom centres [m]
    geom_zrow: np.ndarray  # (T, G, 3) third row of each collision geom's rotation matrix
    collision: np.ndarray | None  # (T,) bool, contact between bodies, hands excluded
    collision_hands: np.ndarray | None  # (T,) bool, any contact between bodies


def _mujoco_scan(qpos: np.ndarray, self_collision: bool) -> Scan:
    """One ``mj_kinematics`` (+ ``mj_collision``) per frame of ``qpos`` (T, 36)."""
    geo = _geometry()
    model = _collision_model()
    data = mujoco.MjData(model)
    n, k, g = qpos.shape[0], len(geo.keypoint_bodies), len(geo.coll)
    kp = np.empty((n, k, 3))
    gpos = np.empty((n, g, 3))
    zrow = np.empty((n, g, 3))
    col = np.zeros(n, dtype=bool) if self_collision else None
    col_h = np.zeros(n, dtype=bool) if self_collision else None
    body_of_geom = model.geom_bodyid
    hand = geo.body_is_hand
    coll, kb = geo.coll, geo.keypoint_bodies
    for t in range(n):
        data.qpos[:] = qpos[t]
        mujoco.mj_kinematics(model, data)
        kp[t] = data.xpos[kb]
        gpos[t] = data.geom_xpos[coll]
        zrow[t] = data.geom_xmat[coll, 6:9]
        if self_collision:
            mujoco.mj_collision(model, data)
            if data.ncon:
                bodies = body_of_geom[data.contact.geom[: data.ncon]]  # (ncon, 2)
                col_h[t] = True
                col[t] = not np.all(hand[bodies].any(axis=1))
    return Scan(kp, gpos, zrow, col, col_h)


def scan(qpos: np.ndarray, *, self_collision: bool = True, workers: int = 1) -> Scan:
    """Kinematics (and self-collision) of every frame of ``qpos`` (T, 36).

    Consecutive identical frames are computed once (exact: the result depends on the pose
    only). With ``workers > 1`` and enough distinct frames, chunks run in parallel processes.
    (A numpy forward kinematics vectorised over frames was tried and was no faster than
    ``mj_kinematics`` per frame on a 2-core machine, so MuJoCo does the kinematics.)
    """
    qpos = np.ascontiguousarray(qpos, dtype=float)
    changed = np.concatenate([[True], np.any(qpos[1:] != qpos[:-1], axis=1)])
    slot = np.cumsum(changed) - 1  # frame -> row among the distinct frames
    q = qpos[changed]
    n_workers = max(1, min(int(workers), len(q) // MIN_FRAMES_PER_WORKER))
    if n_workers == 1:
        parts = [_mujoco_scan(q, self_collision)]
    else:
        with concurrent.futures.ProcessPoolExecutor(n_workers) as pool:
            parts = list(
                pool.map(_mujoco_scan, np.array_split(q, n_workers), [self_collision] * n_workers)
            )
    if len(parts) == 1 and len(q) == len(qpos):
        return parts[0]

    def cat(name: str) -> np.ndarray | None:
        if getattr(parts[0], name) is None:
            return None
        return np.concatenate([getattr(p, name) for p in parts])[slot]

    return Scan(
        *(
            cat(f)
            for f in ("keypoint_pos_w", "geom_pos_w", "geom_zrow", "collision", "collision_hands")
        )
    )


# ------------------------------------------------------------------- ground metrics
_SPHERE, _CAPSULE, _CYLINDER, _MESH = (
    int(mujoco.mjtGeom.mjGEOM_SPHERE),
    int(mujoco.mjtGeom.mjGEOM_CAPSULE),
    int(mujoco.mjtGeom.mjGEOM_CYLINDER),
    int(mujoco.mjtGeom.mjGEOM_MESH),
)


def lowest_point_z(s: Scan, below: float = math.inf) -> np.ndarray:
    """(T,) height [m] of the lowest point of the collision geometry.

    Exact where it is below ``below``; elsewhere a lower bound that is itself >= ``below``,
    which is all the penetration metric needs. Spheres and cylinders are exact in closed form;
    a mesh's hull is searched (exactly, :meth:`_Hull.lowest`) only in frames where its bounding
    box reaches below both ``below`` and an actual point of some geom in that frame.
    """
    geo = _geometry()
    # (G, T) layout: every step below works on one geom's frames, contiguous
    zc = np.ascontiguousarray(s.geom_pos_w[..., 2].T)
    low = zc - geo.rbound[:, None]  # lower bounds: bounding spheres, then boxes, then exact
    high = np.full_like(low, np.inf)  # upper bounds: actual points
    meshes = []
    for gi, kind in enumerate(int(k) for k in geo.kind):
        rows = np.flatnonzero(low[gi] < below)
        if rows.size == 0:
            continue
        zr = s.geom_zrow[rows, gi]  # (n, 3): world z of the geom's x, y, z axes
        z = zc[gi, rows]
        size = geo.size[gi]
        if kind == _SPHERE:
            low[gi, rows] = high[gi, rows] = z - size[0]
        elif kind in (_CYLINDER, _CAPSULE):
            az = np.abs(zr[:, 2])
            rad = size[0] * (np.sqrt(np.clip(1 - az**2, 0, 1)) if kind == _CYLINDER else 1.0)
            low[gi, rows] = high[gi, rows] = z - size[1] * az - rad
        elif kind == _MESH:
            hull = geo.hulls[gi]
            low[gi, rows] = z + zr @ hull.box_center - np.abs(zr) @ hull.box_half
            high[gi, rows] = z + (zr @ hull.rep.T).min(axis=1)
            meshes.append(gi)
        else:  # pragma: no cover - the G1 has no other collision shapes
            raise NotImplementedError(f"collision geom type {kind}")
    cut = np.minimum(high.min(axis=0), below)  # (T,) the answer is at most this
    for gi in meshes:
        rows = np.flatnonzero(low[gi] < cut)
        if rows.size:
            low[gi, rows] = zc[gi, rows] + geo.hulls[gi].lowest(s.geom_zrow[rows, gi])
    return low.min(axis=0)


def penetration(
    lowest_z: np.ndarray, tolerance: float = PENETRATION_TOLERANCE_M
) -> tuple[float, float]:
    """``penetration_pct`` (% frames deeper than ``tolerance``) and ``penetration_max_m``."""
    depth = np.maximum(-lowest_z, 0.0)
    return 100.0 * float((depth > tolerance).mean()), float(depth.max())


def foot_heights(s: Scan) -> np.ndarray:
    """(T, 2, 4) height [m] of the bottom of each sole sphere (left, right foot)."""
    geo = _geometry()
    radius = geo.size[geo.feet, 0]  # (2, 4)
    return s.geom_pos_w[:, geo.feet, 2] - radius


def foot_skate(s: Scan, fps: float, contact_height: float = FOOT_CONTACT_HEIGHT_M) -> float:
    """Mean horizontal foot speed [m/s] while in contact (see the module docstring)."""
    geo = _geometry()
    h = foot_heights(s)  # (T, 2, 4)
    xy = s.geom_pos_w[:, geo.feet, :2]  # (T, 2, 4, 2)
    speed = np.linalg.norm(np.gradient(xy, 1.0 / fps, axis=0), axis=-1)  # (T, 2, 4)
    touching = h < contact_height
    n = touching.sum(axis=-1)  # (T, 2) spheres touching per foot
    in_contact = n > 0
    if not in_contact.any():
        return math.nan
    per_foot = (speed * touching).sum(axis=-1)[in_contact] / n[in_contact]
    return float(per_foot.mean())


def float_pct(s: Scan, height: float = FLOAT_HEIGHT_M) -> float:
    """% of frames whose lowest foot point is above ``height`` [m]."""
    return 100.0 * float((foot_heights(s).min(axis=(1, 2)) > height).mean())


# ------------------------------------------------------------------------- fidelity
def scaled_joint_pos(human: HumanMotion, g1_height: float = G1_HEIGHT_M) -> np.ndarray:
    """(T, J, 3) every human joint scaled to the G1 as MPJPE scales it (see module doc)."""
    p = human.joint_pos  # (T, J, 3)
    pelvis = p[0, human.index(KEYPOINT_MAP[0][0])]
    s = g1_height / human.height
    origin = np.array([pelvis[0], pelvis[1], 0.0])
    return origin + s * (p - origin)


def scaled_keypoints(human: HumanMotion, g1_height: float = G1_HEIGHT_M) -> np.ndarray:
    """(T, K, 3) human keypoints of :data:`KEYPOINT_MAP`, scaled to the G1 (see module doc)."""
    idx = [human.index(j) for j, _ in KEYPOINT_MAP]
    return scaled_joint_pos(human, g1_height)[:, idx]


def mpjpe(
    robot_keypoints: np.ndarray,
    human: HumanMotion,
    robot_fps: float,
    g1_height: float = G1_HEIGHT_M,
) -> tuple[float, float]:
    """``mpjpe_m`` (pelvis-relative) and ``w_mpjpe_m`` (world) [m]; see the module doc."""
    if human.fps != robot_fps:
        human = human.resample(robot_fps)
    target = scaled_keypoints(human, g1_height)
    n = min(len(target), len(robot_keypoints))
    r, h = robot_keypoints[:n], target[:n]
    w = float(np.linalg.norm(r - h, axis=-1).mean())
    rel = (r[:, 1:] - r[:, :1]) - (h[:, 1:] - h[:, :1])
    return float(np.linalg.norm(rel, axis=-1).mean()), w


# ----------------------------------------------------------------------------- score
def score(
    robot: RobotMotion,
    human: HumanMotion | None = None,
    *,
    self_collision: bool = True,
    workers: int = 1,
) -> dict[str, float]:
    """Every column of :data:`METRIC_COLUMNS` for one robot motion (NaN where not defined).

    ``self_collision=False`` skips the collision pass (its columns are NaN); ``workers``
    parallelises the kinematic pass over processes for long motions.
    """
    s = scan(robot.qpos, self_collision=self_collision, workers=workers)
    jump_pct, max_vel = joint_jump(robot.joint_pos, robot.fps)
    pen_pct, pen_max = penetration(lowest_point_z(s, below=0.0))
    out: dict[str, Any] = {
        "joint_jump_pct": jump_pct,
        "max_joint_vel": max_vel,
        "self_collision_pct": 100.0 * float(s.collision.mean()) if self_collision else math.nan,
        "self_collision_hands_pct": (
            100.0 * float(s.collision_hands.mean()) if self_collision else math.nan
        ),
        "joint_limit_pct": joint_limit_pct(robot.joint_pos),
        "penetration_pct": pen_pct,
        "penetration_max_m": pen_max,
        "foot_skate_mps": foot_skate(s, robot.fps),
        "float_pct": float_pct(s),
        "mpjpe_m": math.nan,
        "w_mpjpe_m": math.nan,
    }
    if human is not None:
        out["mpjpe_m"], out["w_mpjpe_m"] = mpjpe(s.keypoint_pos_w, human, robot.fps)
    return {c: float(out[c]) for c in METRIC_COLUMNS}
