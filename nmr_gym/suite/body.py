"""The procedural body: per-frame controls (a :class:`Rig`) -> a :class:`HumanMotion`.

Every built-in clip is described by a ``Rig``: the pelvis path and heading, trunk and arm angles,
and, for each foot, where the SMPL ``*_foot`` joint (the ball of the foot) is and how the foot is
pitched. :func:`build` turns that into joint rotations on the built-in SMPL skeleton
(:func:`nmr_gym.skeleton.rest_offsets`): the legs come from an analytic two-link IK, so a foot
whose ball position is held still in the rig stays exactly still in the motion (no skating), and
the pelvis is lowered smoothly where a leg could not otherwise reach its foot.

Hand-written rather than a general IK library (mink works on MuJoCo models, not on this
24-joint skeleton): the hip-knee chain has a closed-form solution that is exact, fast and
smooth, which is what a test fixture needs.

Angle conventions of the rig (all [rad]; SMPL joint frames: x = body left, y = up, z = forward):

- ``spine``: (flexion forward, lateral bend to the right, twist to the left), spread over
  spine1..3 by :data:`SPINE_SHARE`.
- arms, per side: ``abd`` (0 = hanging down, pi/2 = T-pose, pi = straight up), ``flex``
  (swing forward in the sagittal plane; negative = backward), ``twist`` (about the arm), and
  ``elbow`` flexion (>= 0).
- feet: heading ``foot_yaw`` (world, about z) and ``foot_pitch`` (> 0 lifts the heel about the
  ball of the foot); where ``foot_free`` is 1 the foot follows the shank with
  ``ankle_plantar`` plantar flexion instead (kicks, tucks in the air).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from nmr_gym import rotations as rot
from nmr_gym.motion import HumanMotion
from nmr_gym.skeleton import (
    REST_QUAT_FACING_X,
    SMPL_JOINT_NAMES,
    SMPL_PARENTS,
    forward_kinematics,
    rest_offsets,
    rest_pelvis_height,
)

FPS = 30.0  # [Hz] frame rate of every built-in clip
HEIGHT = 1.70  # [m] body height of the built-in performer
J = {name: i for i, name in enumerate(SMPL_JOINT_NAMES)}
SIDES = ("left", "right")
SIDE_SIGN = {"left": 1.0, "right": -1.0}  # +x (SMPL body frame) is the body's left

#: Share of the spine angles taken by spine1, spine2, spine3.
SPINE_SHARE = (0.35, 0.35, 0.30)
#: Legs are never stretched beyond this fraction of thigh + shank where a foot must stay put:
#: the pelvis is lowered instead (with the soft minimum below, ~8 deg of knee flexion when
#: standing: relaxed quiet stance).
MAX_STANCE_LEG_RATIO = 0.999
#: Above this ratio the IK starts to saturate smoothly (tanh) toward LEG_RATIO_CAP, so a target
#: out of reach (feet in the air) bends the knee no less than ~1 deg and never snaps.
SOFT_LEG_RATIO = 0.9993
LEG_RATIO_CAP = 0.99995
#: Temperature [m] of the soft minimum that lowers the pelvis to keep feet reachable.
PELVIS_SOFTMIN_M = 0.002
#: Neutral standing arms: slightly away from the body, elbows a little bent.
NEUTRAL_ABD = np.deg2rad(8.0)
NEUTRAL_ELBOW = np.deg2rad(12.0)
#: Half the distance between the feet's balls in a neutral stance [m], per unit height.
STANCE_HALF_WIDTH = 0.055


def offsets(height: float = HEIGHT) -> np.ndarray:
    """Rest offsets (24, 3) of the built-in skeleton [m]."""
    return rest_offsets(height)


def standing_pelvis_height(height: float = HEIGHT) -> float:
    """Pelvis height [m] of a neutral stance (legs at :data:`MAX_STANCE_LEG_RATIO`)."""
    o = offsets(height)
    thigh, shank = -o[J["left_knee"], 1], -o[J["left_ankle"], 1]
    ankle_z = ball_height(height) - o[J["left_foot"], 1]
    return float(ankle_z + MAX_STANCE_LEG_RATIO * (thigh + shank) - o[J["left_hip"], 1])


def ball_height(height: float = HEIGHT) -> float:
    """Height [m] of the SMPL foot joint (ball of the foot) when the foot is flat on the floor."""
    o = offsets(height)
    return float(
        rest_pelvis_height(height)
        + sum(o[J[n], 1] for n in ("left_hip", "left_knee", "left_ankle", "left_foot"))
    )


def ball_forward(height: float = HEIGHT) -> float:
    """Forward distance [m] of the ball of the foot ahead of the ankle (and the hip)."""
    return float(offsets(height)[J["left_foot"], 2])


# ---------------------------------------------------------------------------------------------
# smooth helpers


def smoothstep(u: np.ndarray) -> np.ndarray:
    """Minimum-jerk blend 0 -> 1 on u in [0, 1] (zero velocity and acceleration at both ends)."""
    u = np.clip(u, 0.0, 1.0)
    return u**3 * (10.0 - 15.0 * u + 6.0 * u**2)


def bump(u: np.ndarray) -> np.ndarray:
    """sin^2(pi u) on [0, 1], 0 outside: a C1 hump with zero slope at both ends."""
    u = np.clip(u, 0.0, 1.0)
    return np.sin(np.pi * u) ** 2


def keyframes(
    times: np.ndarray, keys: np.ndarray, key_t: list[float], *, rest: bool = True
) -> np.ndarray:
    """Interpolation through keys (K, ...) at times key_t, constant outside.

    ``rest=True``: minimum-jerk segments, the motion rests (zero velocity) at every key (C2;
    natural for gestures). ``rest=False``: a monotone cubic (PCHIP, C1) that flows through the
    keys without overshooting them (swings that do not stop, e.g. the arms in a jump).
    """
    keys = np.asarray(keys, dtype=float)
    key_t = np.asarray(key_t, dtype=float)
    if not rest:
        from scipy.interpolate import PchipInterpolator

        return PchipInterpolator(key_t, keys, axis=0)(np.clip(times, key_t[0], key_t[-1]))
    idx = np.clip(np.searchsorted(key_t, times, side="right") - 1, 0, len(key_t) - 2)
    t0, t1 = key_t[idx], key_t[idx + 1]
    w = smoothstep((times - t0) / np.maximum(t1 - t0, 1e-9))
    w = w.reshape(w.shape + (1,) * (keys.ndim - 1))
    return keys[idx] * (1.0 - w) + keys[idx + 1] * w


def softmin(a: np.ndarray, b: np.ndarray, temp: float) -> np.ndarray:
    """Smooth minimum (always <= min(a, b), within temp * ln 2 of it)."""
    m = np.minimum(a, b)
    return m - temp * np.log(np.exp((m - a) / temp) + np.exp((m - b) / temp))


def yaw_quat(yaw: np.ndarray) -> np.ndarray:
    """(..., 4) rotation by yaw [rad] about world z."""
    half = 0.5 * np.asarray(yaw, dtype=float)
    z = np.zeros_like(half)
    return np.stack([np.cos(half), z, z, np.sin(half)], axis=-1)


def axis_quat(axis: int, angle: np.ndarray) -> np.ndarray:
    """(..., 4) rotation by angle [rad] about coordinate axis 0/1/2 (x/y/z)."""
    angle = np.asarray(angle, dtype=float)
    rv = np.zeros(angle.shape + (3,))
    rv[..., axis] = angle
    return rot.from_axis_angle(rv)


def chain(*qs: np.ndarray) -> np.ndarray:
    """q0 ⊗ q1 ⊗ ... (the last one is applied first)."""
    out = qs[0]
    for q in qs[1:]:
        out = rot.multiply(out, q)
    return out


# ---------------------------------------------------------------------------------------------
# the rig


@dataclass
class Rig:
    """Per-frame controls of the procedural body; every array has n frames first."""

    pelvis_xy: np.ndarray  # (n, 2) [m] world
    pelvis_z: np.ndarray  # (n,) [m] nominal; lowered by build() where a leg cannot reach
    heading: np.ndarray  # (n,) [rad] body yaw about world z (0 = facing +x)
    pelvis_rot: np.ndarray  # (n, 3) (flexion, lateral, twist) [rad] of the pelvis, body frame
    spine: np.ndarray  # (n, 3) (flexion, lateral, twist) [rad]
    neck: np.ndarray  # (n, 3) (flexion, lateral, twist) [rad], split over neck and head
    arm: np.ndarray  # (n, 2, 4) per side (abd, flex, twist, elbow) [rad]
    ball: np.ndarray  # (n, 2, 3) [m] world position of each foot's ball (SMPL foot joint)
    foot_yaw: np.ndarray  # (n, 2) [rad]
    foot_pitch: np.ndarray  # (n, 2) [rad], > 0 heel up
    foot_free: np.ndarray  # (n, 2) in [0, 1]: 1 = foot orientation follows the shank
    ankle_plantar: np.ndarray  # (n, 2) [rad] plantar flexion used where foot_free > 0
    contact: np.ndarray  # (n, 2) bool: the ball is planted (for tests and documentation)

    @property
    def n(self) -> int:
        return self.pelvis_xy.shape[0]

    @property
    def end(self) -> tuple[np.ndarray, float]:
        """(pelvis xy, heading) at the last frame: where the next segment starts."""
        return self.pelvis_xy[-1].copy(), float(self.heading[-1])


def neutral_rig(n: int, xy: np.ndarray, heading: float, height: float = HEIGHT) -> Rig:
    """A neutral stance held for n frames at pelvis position xy facing ``heading``."""
    xy = np.asarray(xy, dtype=float)
    head = np.full(n, float(heading))
    arm = np.zeros((n, 2, 4))
    arm[..., 0] = NEUTRAL_ABD
    arm[..., 3] = NEUTRAL_ELBOW
    ball = np.zeros((n, 2, 3))
    for s, side in enumerate(SIDES):
        ball[:, s] = neutral_ball(xy, heading, side, height)
    return Rig(
        pelvis_xy=np.tile(xy, (n, 1)),
        pelvis_z=np.full(n, standing_pelvis_height(height)),
        heading=head,
        pelvis_rot=np.zeros((n, 3)),
        spine=np.zeros((n, 3)),
        neck=np.zeros((n, 3)),
        arm=arm,
        ball=ball,
        foot_yaw=np.tile(head[:, None], (1, 2)),
        foot_pitch=np.zeros((n, 2)),
        foot_free=np.zeros((n, 2)),
        ankle_plantar=np.zeros((n, 2)),
        contact=np.ones((n, 2), dtype=bool),
    )


def neutral_ball(xy: np.ndarray, heading: float, side: str, height: float = HEIGHT) -> np.ndarray:
    """World position (3,) of a foot's ball in the neutral stance."""
    fwd = np.array([np.cos(heading), np.sin(heading)])
    left = np.array([-np.sin(heading), np.cos(heading)])
    p = (
        np.asarray(xy)
        + ball_forward(height) * fwd
        + SIDE_SIGN[side] * STANCE_HALF_WIDTH * height * left
    )
    return np.array([p[0], p[1], ball_height(height)])


def concat(rigs: list[Rig]) -> Rig:
    """Segments one after another (each starts where the previous one ended)."""
    return Rig(**{f.name: np.concatenate([getattr(r, f.name) for r in rigs]) for f in fields(Rig)})


# ---------------------------------------------------------------------------------------------
# rig -> joint rotations


def _spine_quat(angles: np.ndarray) -> np.ndarray:
    """(n, 4) local rotation from (flexion, lateral-right, twist-left) [rad] (n, 3)."""
    return chain(axis_quat(0, angles[:, 0]), axis_quat(2, angles[:, 1]), axis_quat(1, angles[:, 2]))


def arm_quats(arm: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Local shoulder and elbow rotations (n, 4) of one side from (abd, flex, twist, elbow)."""
    s = SIDE_SIGN[side]
    abd, flex, twist, elbow = arm[:, 0], arm[:, 1], arm[:, 2], arm[:, 3]
    shoulder = chain(
        axis_quat(0, -flex), axis_quat(2, -s * (0.5 * np.pi - abd)), axis_quat(0, s * twist)
    )
    return shoulder, axis_quat(1, -s * elbow)


def _soft_ratio(r: np.ndarray) -> np.ndarray:
    w = LEG_RATIO_CAP - SOFT_LEG_RATIO
    return np.where(r <= SOFT_LEG_RATIO, r, SOFT_LEG_RATIO + w * np.tanh((r - SOFT_LEG_RATIO) / w))


def _frame(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Orthonormal frames (n, 3, 3), columns (a, b_perp, a x b_perp)."""
    e1 = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b - np.sum(b * e1, axis=-1, keepdims=True) * e1
    e2 = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.stack([e1, e2, np.cross(e1, e2)], axis=-1)


def leg_ik(
    d_b: np.ndarray, knee_axis_b: np.ndarray, thigh: float, shank: float
) -> tuple[np.ndarray, np.ndarray]:
    """Hip and knee local rotations (n, 4) putting the ankle at d_b (n, 3) from the hip.

    d_b is expressed in the pelvis frame; the knee hinge (local x) is turned toward
    knee_axis_b (n, 3). The leg saturates smoothly near full extension (:func:`_soft_ratio`).
    """
    dist = np.linalg.norm(d_b, axis=-1)
    reach = thigh + shank
    dist_eff = _soft_ratio(dist / reach) * reach
    cos_inner = (thigh**2 + shank**2 - dist_eff**2) / (2.0 * thigh * shank)
    knee = np.pi - np.arccos(np.clip(cos_inner, -1.0, 1.0))  # flexion about +x
    v0 = np.stack(
        [np.zeros_like(knee), -thigh - shank * np.cos(knee), -shank * np.sin(knee)], axis=-1
    )
    x = np.broadcast_to(np.array([1.0, 0.0, 0.0]), v0.shape)
    m = _frame(d_b, knee_axis_b) @ np.swapaxes(_frame(v0, x), -1, -2)
    return rot.from_matrix(m), axis_quat(0, knee)


def foot_quat_w(foot_yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """World orientation (..., 4) of a foot with heading foot_yaw and heel-up pitch."""
    rest = np.broadcast_to(REST_QUAT_FACING_X, np.shape(foot_yaw) + (4,))
    return chain(yaw_quat(foot_yaw), rest, axis_quat(0, pitch))


def build(
    rig: Rig,
    *,
    height: float = HEIGHT,
    fps: float = FPS,
    name: str = "clip",
    metadata: dict | None = None,
) -> HumanMotion:
    """Joint positions and orientations of the rig on the built-in SMPL skeleton."""
    n = rig.n
    o = offsets(height)
    thigh, shank = -o[J["left_knee"], 1], -o[J["left_ankle"], 1]
    local = np.zeros((n, 24, 4))
    local[..., 0] = 1.0

    root_quat = chain(
        yaw_quat(rig.heading),
        np.broadcast_to(REST_QUAT_FACING_X, (n, 4)),
        _spine_quat(rig.pelvis_rot),
    )
    for k, jn in enumerate(("spine1", "spine2", "spine3")):
        local[:, J[jn]] = _spine_quat(rig.spine * SPINE_SHARE[k])
    local[:, J["neck"]] = _spine_quat(rig.neck * 0.5)
    local[:, J["head"]] = _spine_quat(rig.neck * 0.5)
    for s, side in enumerate(SIDES):
        sh, el = arm_quats(rig.arm[:, s], side)
        local[:, J[f"{side}_shoulder"]] = sh
        local[:, J[f"{side}_elbow"]] = el

    # feet: world orientation where planted, ankle targets from the ball positions
    foot_w = foot_quat_w(rig.foot_yaw, rig.foot_pitch)  # (n, 2, 4)
    ankle_w = rig.ball - rot.rotate(foot_w, np.broadcast_to(o[J["left_foot"]], (n, 2, 3)))

    # lower the pelvis (soft minimum) where a leg could not reach its ankle target
    pelvis_z = np.asarray(rig.pelvis_z, dtype=float).copy()
    hips0 = {}
    for s, side in enumerate(SIDES):
        hip_off = rot.rotate(root_quat, np.broadcast_to(o[J[f"{side}_hip"]], (n, 3)))
        hips0[side] = hip_off
        horiz = np.linalg.norm(rig.pelvis_xy + hip_off[:, :2] - ankle_w[:, s, :2], axis=-1)
        reach = MAX_STANCE_LEG_RATIO * (thigh + shank)
        vert = np.sqrt(np.maximum(reach**2 - horiz**2, 1e-4))
        z_max = ankle_w[:, s, 2] + vert - hip_off[:, 2]
        pelvis_z = softmin(pelvis_z, z_max, PELVIS_SOFTMIN_M)
    root_pos = np.column_stack([rig.pelvis_xy, pelvis_z])

    # legs by IK, the knee hinge turned toward the foot's heading
    for s, side in enumerate(SIDES):
        hip_w = root_pos + hips0[side]
        d_b = rot.rotate_inverse(root_quat, ankle_w[:, s] - hip_w)
        left_w = rot.rotate(yaw_quat(rig.foot_yaw[:, s]), np.broadcast_to([0.0, 1.0, 0.0], (n, 3)))
        knee_axis_b = rot.rotate_inverse(root_quat, left_w)  # world left -> pelvis frame
        hip_q, knee_q = leg_ik(d_b, knee_axis_b, thigh, shank)
        local[:, J[f"{side}_hip"]] = hip_q
        local[:, J[f"{side}_knee"]] = knee_q
        shank_w = chain(root_quat, hip_q, knee_q)
        planted = rot.multiply(rot.conjugate(shank_w), foot_w[:, s])
        free = axis_quat(0, rig.ankle_plantar[:, s])
        w = np.clip(rig.foot_free[:, s], 0.0, 1.0)
        local[:, J[f"{side}_ankle"]] = rot.slerp(planted, free, w)

    pos, quat = forward_kinematics(root_pos, root_quat, local, o, SMPL_PARENTS)
    meta = {"format": "builtin", "skeleton": "smpl24-builtin", "name": name}
    meta.update(metadata or {})
    return HumanMotion(
        fps=fps,
        joint_names=SMPL_JOINT_NAMES,
        joint_pos=pos,
        joint_quat=quat,
        height=height,
        source=f"builtin:{name}",
        metadata=meta,
    )
