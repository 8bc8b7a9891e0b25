"""Retargeting-quality metrics: pure functions over a ``RobotMotion`` (and its source human).

Every metric is measured on the one reference G1 (``nmr_gym.g1.kinematic_model()``) with the
definitions below, whatever method made the motion. :func:`score` returns one dict with the
columns of :data:`METRIC_COLUMNS` (percentages are 0-100):

Every robot motion is first resampled to one canonical rate, :data:`SCORING_FPS` (linear for
joints and root position, slerp for the root orientation), so that a method's output rate does
not change its score: the same motion written at 30 and at 120 fps scores the same. Frame
percentages are over the frames at that rate.

- ``joint_jump_pct``: % of frames whose largest single-step joint change exceeds
  :data:`JUMP_THRESHOLD_RAD` (NMR paper IV-C). Frame t >= 1 is a jump frame when
  ``max_j |q_j[t] - q_j[t-1]| > threshold``; frame 0 never is; the denominator is all T frames.
- ``max_joint_vel`` [rad/s]: the largest ``|q_j[t] - q_j[t-1]| * SCORING_FPS`` over joints and
  steps; ``joint_vel_p99`` [rad/s]: the 99th percentile over steps of each step's largest joint
  speed (:data:`JOINT_VEL_PERCENTILE`), so that one frame does not decide it.
- ``self_collision_pct``: % of frames with a contact between collision geoms (class
  ``collision``, group 3) of two different bodies, contacts involving a hand (the
  ``*_wrist_yaw_link`` bodies) excluded (paper IV-C); ``self_collision_hands_pct`` counts every
  contact. The model and the hands rule are :mod:`nmr_gym.g1.collision` (shared with the
  retargeters). Contacts come from MuJoCo's own collision pipeline (``mj_kinematics`` +
  ``mj_collision``, no stepping, geom margins 0 so only touching or overlapping geoms count).
  MuJoCo's default parent-child filter is kept: a link and its parent link are never counted,
  because their meshes meet at the joint they share by construction and would collide in every
  frame. Grandparents and everything further apart are counted.
- ``joint_limit_pct``: % of frames where any joint is within :data:`LIMIT_MARGIN_RAD` of, or
  beyond, its range on the reference model (paper IV-C).
- ``penetration_pct`` / ``penetration_max_m``: the lowest point of the whole collision geometry
  (:func:`nmr_gym.g1.geometry.lowest_point_z`, the same function retargeters align floors with)
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
import functools
import math
from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np

from nmr_gym.g1 import collision, geometry, joint_ranges, kinematic_model, spec
from nmr_gym.motion import HumanMotion, RobotMotion

#: Every motion is resampled to this rate before scoring [frames/s]: BeyondMimic's reference
#: rate, and the rate the NMR paper's Table III frame counts imply (about 49.6k frames for
#: 119k frames at 120 Hz).
SCORING_FPS = 50.0
#: A frame is a joint jump when its largest single-step joint change exceeds this [rad].
JUMP_THRESHOLD_RAD = 0.5
#: Percentile of the per-step largest joint speed reported as ``joint_vel_p99``.
JOINT_VEL_PERCENTILE = 99.0
#: A frame is near a limit when any joint is within this distance of (or beyond) its range [rad].
LIMIT_MARGIN_RAD = 0.05
#: Lowest collision point deeper than this below the floor counts as a penetration frame [m]
#: (the Menagerie ``stand`` pose itself sits 1.9 mm into the floor).
PENETRATION_TOLERANCE_M = 0.01
#: A foot whose lowest point is below this height touches the floor [m].
FOOT_CONTACT_HEIGHT_M = 0.02
#: A frame floats when the lowest foot point is higher than this [m].
FLOAT_HEIGHT_M = 0.10
#: Standing height of the Unitree G1 [m] (``spec.STANDING_HEIGHT_M``, Unitree's specification:
#: 1320 mm), used to scale human keypoints for MPJPE.
G1_HEIGHT_M = spec.STANDING_HEIGHT_M
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
    "joint_vel_p99",
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
    """``joint_jump_pct`` (% of frames) and ``max_joint_vel`` [rad/s] of (T, 29) joint angles
    sampled at ``fps`` (the caller resamples to :data:`SCORING_FPS` first)."""
    jumps = jump_frames(joint_pos, threshold)
    max_vel = float(np.abs(np.diff(joint_pos, axis=0)).max() * fps)
    return 100.0 * float(jumps.mean()), max_vel


def joint_speed_percentile(
    joint_pos: np.ndarray, fps: float, percentile: float = JOINT_VEL_PERCENTILE
) -> float:
    """The ``percentile`` of each step's largest joint speed [rad/s] of (T, 29) joint angles."""
    step_speed = np.abs(np.diff(joint_pos, axis=0)).max(axis=1) * fps  # (T-1,)
    return float(np.percentile(step_speed, percentile))


def resample_for_scoring(robot: RobotMotion, fps: float = SCORING_FPS) -> RobotMotion:
    """``robot`` at the canonical scoring rate (unchanged when already there)."""
    return robot.resample(fps)


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
@dataclass(frozen=True)
class _Geometry:
    """Indices and shapes the scan needs, derived once from the reference model."""

    coll: np.ndarray  # (G,) collision geom ids (nmr_gym.g1.geometry's order)
    size: np.ndarray  # (G, 3)
    feet: np.ndarray  # (2, 4) positions in ``coll`` of each foot's sole spheres
    keypoint_bodies: np.ndarray  # (K,) body ids (MuJoCo numbering, world = 0)


@functools.lru_cache(maxsize=1)
def _geometry() -> _Geometry:
    model = kinematic_model()
    coll = geometry.collision_geometry().coll
    feet = []
    for name in spec.FOOT_BODIES:
        bid = model.body(name).id
        sel = np.flatnonzero(
            (model.geom_bodyid[coll] == bid)
            & (model.geom_type[coll] == mujoco.mjtGeom.mjGEOM_SPHERE)
        )
        feet.append(sel)
    return _Geometry(
        coll=coll,
        size=np.array(model.geom_size[coll]),
        feet=np.array(feet),
        keypoint_bodies=np.array([model.body(b).id for _, b in KEYPOINT_MAP]),
    )


#: The one self-collision model (``nmr_gym.g1.collision``), under its former private name.
_collision_model = collision.self_collision_model


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
    coll, kb = geo.coll, geo.keypoint_bodies
    for t in range(n):
        data.qpos[:] = qpos[t]
        mujoco.mj_kinematics(model, data)
        kp[t] = data.xpos[kb]
        gpos[t] = data.geom_xpos[coll]
        zrow[t] = data.geom_xmat[coll, 6:9]
        if self_collision:
            mujoco.mj_collision(model, data)
            col[t], col_h[t] = collision.frame_self_collision(data)
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
    fps: float = SCORING_FPS,
) -> dict[str, float]:
    """Every column of :data:`METRIC_COLUMNS` for one robot motion (NaN where not defined).

    The motion is resampled to ``fps`` (default :data:`SCORING_FPS`) first; leaderboards use
    the default. ``self_collision=False`` skips the collision pass (its columns are NaN);
    ``workers`` parallelises the kinematic pass over processes for long motions.
    """
    robot = resample_for_scoring(robot, fps)
    s = scan(robot.qpos, self_collision=self_collision, workers=workers)
    jump_pct, max_vel = joint_jump(robot.joint_pos, robot.fps)
    pen_pct, pen_max = penetration(geometry.lowest_point_z(s.geom_pos_w, s.geom_zrow, below=0.0))
    out: dict[str, Any] = {
        "joint_jump_pct": jump_pct,
        "max_joint_vel": max_vel,
        "joint_vel_p99": joint_speed_percentile(robot.joint_pos, robot.fps),
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
