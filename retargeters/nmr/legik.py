"""Batched leg kinematics of the reference G1 and stance-foot pinning by leg IK.

Each leg of the G1 is a chain of six hinges from the pelvis (hip pitch, roll, yaw, knee, ankle
pitch, roll) ending in the ``*_ankle_roll_link``, the foot that carries the four sole spheres.
:func:`leg_fk` computes that chain for all frames of a clip at once from the model's body
offsets and joint axes (read from the compiled ``MjModel``, checked against ``mj_kinematics`` in
the tests). It is hand-written because MuJoCo has no batched CPU kinematics: one
``mj_kinematics`` call per frame computes the whole 30-body tree and costs more than the whole
vectorised leg solve below.

:func:`pin_stance_feet` holds each foot still during each of its human-stance runs (the
stance of :func:`retargeters.nmr.post.human_stance`): the foot is put at one pose for the run,
its origin's xy at the mean over the run, yaw the run's mean, flat (sole parallel to the floor)
with its sole spheres' bottoms on z = 0, by changing the six joints of that leg only. The pose
is blended in and out over :data:`BLEND_S` outside the run (smoothstep weight between the
network's foot pose and the pinned one), so the leg moves continuously. The IK is damped least
squares (Levenberg-Marquardt style Gauss-Newton on the 6-D foot pose error), run for all frames
of a clip at once and projected onto the joints' soft range after every step.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import mujoco
import numpy as np

from nmr_gym import rotations as rot
from nmr_gym.g1 import collision_geom_mask, joint_ranges, kinematic_model, spec

#: The six link bodies of each leg, pelvis side first (the names of the Menagerie G1).
LEG_LINKS = spec.LEG_LINKS
SIDES: tuple[str, str] = ("left", "right")
#: Gauss-Newton iterations of the leg IK (warm-started at the network's leg, a few cm from
#: the target: the error falls below 1e-4 m in 3-4 on reachable targets).
IK_ITERATIONS = 5
#: The leg IK stops early when every frame's foot error is below this [m] (rotation error
#: weighted by IK_ROTATION_WEIGHT_M).
IK_TOLERANCE_M = 1e-4
#: Levenberg-Marquardt damping of the leg IK [m]: keeps steps bounded near the straight-knee
#: singularity (walking's heel strike) at the cost of slower convergence there.
IK_DAMPING = 0.02
#: Largest joint change of one IK step [rad]; a longer step is scaled down (a trust region:
#: the linearisation is poor beyond a few tenths of a radian).
IK_MAX_STEP_RAD = 0.2
#: Weight of the foot orientation error against the position error [m/rad] (the foot's
#: half length: 1 rad of tilt moves the toe or heel by about this much).
IK_ROTATION_WEIGHT_M = 0.1
#: The pinned pose is blended in before and out after each stance run over this time [s]
#: (smoothstep weight). Runs of one foot separated by a gap shorter than twice this are merged.
BLEND_S = 0.1
#: Between two stance runs of a foot closer than this [s] the pinning correction is
#: interpolated across the gap (a step's swing); a longer gap fades it out over BLEND_S.
MAX_GAP_S = 1.0
#: The leg IK keeps every joint at least this far inside the model's range [rad] (besides the
#: soft range): more than the benchmark's near-limit margin (0.05 rad), as gmr-safe keeps.
IK_LIMIT_MARGIN_RAD = 0.06
#: Largest horizontal correction of a foot [m] and of its heading [rad]: where the network's
#: foot slides or turns further than this from the pinned pose (a pivot, a slide in a dance)
#: the correction is capped, the foot only partly held, rather than twisting the leg.
PIN_MAX_SHIFT_M = 0.10
PIN_MAX_TURN_RAD = 0.35
#: Default of the ``pin_feet`` option: on since 2026-12-07 (session 8). With every other
#: default it lowers foot skating on the 29 held-out clips 0.282 -> 0.169 m/s (0.321 -> 0.236
#: before the stance hysteresis and the speed lift), on the 105 real clips 0.434 -> 0.361 m/s
#: (before those), without penetration (the root is raised where a pinned leg goes below the
#: floor). It turns the network's root noise into leg motion: under the noisy suite's input
#: noise the joint deviation rises 0.0174 -> 0.0205 rad, still below every baseline's
#: (``direct`` 0.0224-0.0227 on noise seeds 1-3 at scale 1; 0.0423 vs 0.0446 at scale 2). It
#: was off while that rise crossed ``direct`` (0.020 -> 0.031 rad, before the stance speed was
#: read from the 2 Hz feet and before the mirror average), and it costs about 0.4 s of the
#: end-to-end job on the held-out clips (``perf/results/nmr_speed.md``).
PIN_FEET = True
#: Default of the ``lift_swing`` option (:func:`lift_swing_feet`).
LIFT_SWING = True
#: The swing clearance the lift asks for is capped at this [m] (a walking step lifts the sole
#: 0.1-0.2 m; beyond this the network's own foot height is trusted).
LIFT_MAX_CLEARANCE_M = 0.10
#: A swing foot moving horizontally at v [m/s] (the human's foot joint, read from the 2 Hz
#: feet as the stance) is lifted at least ``LIFT_PER_SPEED_S * v`` above the other foot, at
#: most :data:`LIFT_SPEED_CLEARANCE_M` (:func:`speed_clearance`): the human's foot joint is
#: still low at toe-off and heel-strike while it moves at ~1 m/s, so a lift that only follows
#: the human's height left NMR's swing sole within the metric's 2 cm contact height there (on
#: a held-out walk 303 of 473 contact samples, at a mean 1.0 m/s). A foot sliding over the
#: floor is a scuff for a tracked robot. Training real clips (84), pinning on: foot skating
#: 0.379 -> 0.348 m/s with a (0.08 s, 0.06 m) lift and no stance hysteresis; with the
#: hysteresis 0.359 without a lift, 0.325 / 0.323 / 0.325 with (0.04 s, 0.04 m) / (0.08 s,
#: 0.06 m) / (0.12 s, 0.08 m): the smallest was kept.
LIFT_PER_SPEED_S = 0.04
#: The cap of the speed-based clearance [m].
LIFT_SPEED_CLEARANCE_M = 0.04
#: Frames whose lift is below this [m] are left to the network (no IK solve).
LIFT_MIN_M = 1e-3
#: Gauss-Newton iterations of the lift's leg IK (targets a few cm straight above the network's
#: foot). Measured on the 29 held-out clips (3,970 solved frames): 3 iterations leave a median
#: foot position error of 0.01 mm but 60 mm at the 99th percentile (large lifts near a straight
#: knee), 5 leave 1 mm there; held-out foot skating 0.3551 vs 0.3545 m/s, so 3 are kept.
LIFT_IK_ITERATIONS = 3


@dataclass(frozen=True)
class LegChain:
    """One leg's kinematic constants, read from the reference model."""

    side: str
    body_id: np.ndarray  # (6,) MuJoCo body ids, pelvis side first
    offset_pos: np.ndarray  # (6, 3) body origin in its parent's frame [m]
    offset_rot: np.ndarray  # (6, 3, 3) body orientation in its parent's frame
    axis: np.ndarray  # (6, 3) hinge axis in the body frame
    joint_index: np.ndarray  # (6,) indices among the 29 joints
    sole_pos_b: np.ndarray  # (S, 3) sole sphere centres in the foot frame [m]
    sole_radius: np.ndarray  # (S,) [m]
    rot_k: np.ndarray  # (6, 3, 3) offset rotation times the hinge axis' cross matrix
    rot_kk: np.ndarray  # (6, 3, 3) offset rotation times that matrix squared


@functools.lru_cache(maxsize=1)
def leg_chains() -> tuple[LegChain, LegChain]:
    """(left, right) :class:`LegChain` of :func:`nmr_gym.g1.kinematic_model`."""
    model = kinematic_model()
    pelvis = model.body("pelvis").id
    mask = collision_geom_mask(model)
    chains = []
    for side in SIDES:
        ids = np.array([model.body(f"{side}_{n}").id for n in LEG_LINKS])
        parents = np.concatenate([[pelvis], ids[:-1]])
        if not np.array_equal(model.body_parentid[ids], parents):
            raise ValueError(f"{side} leg of the model is not the chain {LEG_LINKS}")
        jnt = model.body_jntadr[ids]
        if np.any(model.body_jntnum[ids] != 1) or np.any(
            model.jnt_type[jnt] != mujoco.mjtJoint.mjJNT_HINGE
        ):
            raise ValueError(f"{side} leg links must each carry one hinge")
        if np.abs(model.jnt_pos[jnt]).max() > 0:
            raise ValueError(f"{side} leg hinges must sit at their body origins")
        foot = ids[-1]
        spheres = np.flatnonzero(
            mask & (model.geom_bodyid == foot) & (model.geom_type == mujoco.mjtGeom.mjGEOM_SPHERE)
        )
        axis = np.array(model.jnt_axis[jnt])
        offset_rot = rot.to_matrix(np.array(model.body_quat[ids]))
        cross = np.zeros((6, 3, 3))
        cross[:, 0, 1], cross[:, 0, 2], cross[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
        cross -= np.swapaxes(cross, 1, 2)
        chains.append(
            LegChain(
                side=side,
                body_id=ids,
                offset_pos=np.array(model.body_pos[ids]),
                offset_rot=offset_rot,
                axis=axis,
                joint_index=np.array(model.jnt_qposadr[jnt]) - 7,
                sole_pos_b=np.array(model.geom_pos[spheres]),
                sole_radius=np.array(model.geom_size[spheres, 0]),
                rot_k=offset_rot @ cross,
                rot_kk=offset_rot @ cross @ cross,
            )
        )
    assert chains[0].body_id[-1] == model.body(spec.FOOT_BODIES[0]).id
    return chains[0], chains[1]


def _local_rotations(chain: LegChain, q: np.ndarray) -> list[np.ndarray]:
    """Each link's (N, 3, 3) orientation in its parent's frame at joint angles ``q`` (N, 6):
    ``O (I + sin(q) K + (1 - cos(q)) K^2)`` (Rodrigues about the hinge axis, ``K`` its cross
    matrix, ``O`` the body's fixed offset rotation), with ``O K`` and ``O K^2`` formed once."""
    s, c1 = np.sin(q), 1.0 - np.cos(q)
    out = []
    for i in range(6):
        r = np.multiply.outer(s[:, i], chain.rot_k[i])
        r += np.multiply.outer(c1[:, i], chain.rot_kk[i])
        r += chain.offset_rot[i]
        out.append(r)
    return out


def leg_fk(
    chain: LegChain, root_pos: np.ndarray, root_rot: np.ndarray, q: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """World positions (N, 6, 3) [m] and orientations (N, 6, 3, 3) of a leg's six links.

    Args:
        chain: the leg (:func:`leg_chains`).
        root_pos: (N, 3) pelvis position [m].
        root_rot: (N, 3, 3) pelvis orientation.
        q: (N, 6) the leg's joint angles [rad], pelvis side first.
    """
    n = q.shape[0]
    pos = np.empty((n, 6, 3))
    rmat = np.empty((n, 6, 3, 3))
    p, r = root_pos, root_rot
    for i, local in enumerate(_local_rotations(chain, q)):
        p = p + r @ chain.offset_pos[i]
        r = r @ local
        pos[:, i], rmat[:, i] = p, r
    return pos, rmat


def _pose_error(pos, rmat, target_pos, target_rot, w_rot: float) -> np.ndarray:
    """(N, 6) position error [m] and weighted world rotation error of the foot.

    The rotation error is ``vee(E - E^T) / 2`` of ``E = R_target R^T``, i.e. ``sin(angle)``
    times the axis: the rotation vector to first order, exact in direction, and free of
    ``arccos`` (cheap for the small errors the warm-started steps see).
    """
    e = target_rot @ np.swapaxes(rmat, -1, -2)
    e_rot = 0.5 * np.stack(
        [e[:, 2, 1] - e[:, 1, 2], e[:, 0, 2] - e[:, 2, 0], e[:, 1, 0] - e[:, 0, 1]], axis=1
    )
    return np.concatenate([target_pos - pos, w_rot * e_rot], axis=1)


def solve_leg_ik(
    chain: LegChain,
    root_pos: np.ndarray,
    root_rot: np.ndarray,
    q0: np.ndarray,
    target_pos: np.ndarray,
    target_rot: np.ndarray,
    bounds: np.ndarray,
    iterations: int = IK_ITERATIONS,
    damping: float = IK_DAMPING,
    *,
    start_fk: tuple[np.ndarray, np.ndarray] | None = None,
    final_error: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Leg joints (N, 6) [rad] putting the foot at ``target_pos`` (N, 3) / ``target_rot``
    (N, 3, 3), from ``q0`` (N, 6), inside ``bounds`` (6, 2); and the remaining foot error
    (N, 6) (position [m], rotation weighted by :data:`IK_ROTATION_WEIGHT_M`).

    Damped least squares on all N frames at once: ``dq = J^T (J J^T + damping^2 I)^-1 e`` with
    the geometric Jacobian of the hinges (``axis x (foot - joint)``, ``axis``), then clipped to
    ``bounds``. ``start_fk``: :func:`leg_fk` at ``q0`` when already computed (e.g. rows of one
    for more frames: each frame's values depend on that frame only), used when ``q0`` is
    inside ``bounds``; ``final_error=False`` skips the last kinematics (the error is then None).
    """
    q = np.clip(q0, bounds[:, 0], bounds[:, 1])
    w = IK_ROTATION_WEIGHT_M
    eye = np.eye(6) * damping**2
    fk = start_fk if start_fk is not None and np.array_equal(q, q0) else None
    for _ in range(iterations):
        pos, rmat = leg_fk(chain, root_pos, root_rot, q) if fk is None else fk
        fk = None
        foot_p, foot_r = pos[:, -1], rmat[:, -1]
        err = _pose_error(foot_p, foot_r, target_pos, target_rot, w)  # (N, 6)
        if not len(err) or np.abs(err).max() < IK_TOLERANCE_M:
            return q, err
        axes = np.einsum("nkij,kj->nki", rmat, chain.axis)  # (N, 6, 3) world hinge axes
        jac = np.empty((q.shape[0], 6, 6))
        jac[:, :3] = np.swapaxes(np.cross(axes, foot_p[:, None] - pos), 1, 2)
        jac[:, 3:] = w * np.swapaxes(axes, 1, 2)
        jjt = jac @ np.swapaxes(jac, 1, 2) + eye
        dq = np.einsum("nji,nj->ni", jac, np.linalg.solve(jjt, err[..., None])[..., 0])
        big = np.abs(dq).max(axis=1, keepdims=True)
        dq *= np.minimum(1.0, IK_MAX_STEP_RAD / np.maximum(big, 1e-12))
        q = np.clip(q + dq, bounds[:, 0], bounds[:, 1])
    if not final_error:
        return q, None
    pos, rmat = leg_fk(chain, root_pos, root_rot, q)
    return q, _pose_error(pos[:, -1], rmat[:, -1], target_pos, target_rot, w)


def smooth_changed_columns(smooth, change: np.ndarray) -> np.ndarray:
    """``smooth(change)`` of a (T, K) change computed on its non-zero columns only.

    ``smooth`` must filter each column on its own and map a zero column to zero, as a linear
    filter per column does (the release's low-pass, :func:`retargeters.nmr.inference.lowpass`):
    the zero columns (the joints a clean-up step left alone, e.g. 17 of 29 for a leg step)
    are then zero without being filtered. Equal to ``smooth(change)`` up to the sign of zeros.
    """
    cols = np.flatnonzero(np.any(change != 0, axis=0))
    out = np.zeros_like(change)
    if len(cols):
        out[:, cols] = smooth(change[:, cols])
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True in a (T,) bool array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def merged_runs(stance: np.ndarray, max_gap: int) -> list[tuple[int, int]]:
    """Stance runs of one foot (T,) with gaps of at most ``max_gap`` frames merged."""
    out: list[tuple[int, int]] = []
    for a, b in _runs(stance):
        if out and a - out[-1][1] <= max_gap:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _yaw(rmat: np.ndarray) -> np.ndarray:
    """(T,) heading [rad] of the foot's forward (x) axis in the world xy plane."""
    return np.arctan2(rmat[:, 1, 0], rmat[:, 0, 0])


def _wrap(angle: np.ndarray) -> np.ndarray:
    return (angle + np.pi) % (2.0 * np.pi) - np.pi


def foot_pin_targets(
    foot_pos: np.ndarray, foot_rot: np.ndarray, stance: np.ndarray, fps: float, chain: LegChain
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames to solve (T,) bool, target position (T, 3) [m] and orientation (T, 3, 3) of a foot.

    ``foot_pos`` (T, 3) / ``foot_rot`` (T, 3, 3): the foot link's pose before pinning;
    ``stance`` (T,) bool. In a (merged) stance run the foot keeps the network's tilt (heel or
    toe rise) but its origin's xy is the run's mean, its heading the run's mean, and it is raised
    where its lowest sole point is below z = 0 (never lowered: the grounding step already put
    the stance feet on the floor, and lowering a tilted foot can push the ankle's mesh below
    it). The corrections (xy [m], heading
    [rad], height [m]) are interpolated linearly across a gap between two runs shorter than
    :data:`MAX_GAP_S` (the step's swing absorbs the difference between the network's foot and
    the pinned one); before the first run, after the last and across longer gaps they fade to
    zero over :data:`BLEND_S` (smoothstep). The height correction outside stance only fades
    (never interpolated across a swing) and never puts the sole below the floor.
    """
    n = foot_pos.shape[0]
    blend = max(1, int(round(BLEND_S * fps)))
    runs = merged_runs(stance, 2 * blend)
    solve = np.zeros(n, bool)
    if not runs:
        return solve, foot_pos.copy(), foot_rot.copy()
    yaw = _yaw(foot_rot)
    sole_z = np.einsum("tij,sj->tsi", foot_rot, chain.sole_pos_b)[..., 2] - chain.sole_radius
    low = foot_pos[:, 2] + sole_z.min(axis=1)  # (T,) lowest sole point [m]
    d_xy = np.zeros((n, 2))
    d_yaw = np.zeros(n)
    d_z = np.zeros(n)
    for a, b in runs:
        heading = np.array([np.cos(yaw[a:b]).sum(), np.sin(yaw[a:b]).sum()])
        d_xy[a:b] = foot_pos[a:b, :2].mean(axis=0) - foot_pos[a:b, :2]
        d_yaw[a:b] = _wrap(np.arctan2(heading[1], heading[0]) - yaw[a:b])
        d_z[a:b] = np.maximum(-low[a:b], 0.0)
        solve[a:b] = True
    max_gap = int(round(MAX_GAP_S * fps))
    t = np.arange(n)

    def fade(rows: np.ndarray, src: int, xy_yaw: bool = True) -> None:
        w = _smoothstep(1.0 - np.abs(rows - src) / (blend + 1))
        if xy_yaw:
            d_xy[rows] = w[:, None] * d_xy[src]
            d_yaw[rows] = w * d_yaw[src]
        d_z[rows] = w * d_z[src]
        solve[rows] = True

    fade(t[max(runs[0][0] - blend, 0) : runs[0][0]], runs[0][0])
    fade(t[runs[-1][1] : min(runs[-1][1] + blend, n)], runs[-1][1] - 1)
    for (_, b0), (a1, _) in zip(runs[:-1], runs[1:], strict=True):
        gap = t[b0:a1]
        short = a1 - b0 <= max_gap
        fade(gap[: min(blend, len(gap) // 2 + 1)], b0 - 1, not short)
        fade(gap[-min(blend, len(gap) // 2) or len(gap) :], a1, not short)
        if short:
            u = (gap - (b0 - 1)) / (a1 - (b0 - 1))
            d_xy[gap] = (1 - u)[:, None] * d_xy[b0 - 1] + u[:, None] * d_xy[a1]
            d_yaw[gap] = (1 - u) * d_yaw[b0 - 1] + u * d_yaw[a1]
    d_z = np.where(solve & ~stance, np.maximum(d_z, -low), d_z)
    shift = np.linalg.norm(d_xy, axis=1, keepdims=True)
    d_xy *= np.minimum(1.0, PIN_MAX_SHIFT_M / np.maximum(shift, 1e-12))
    d_yaw = np.clip(d_yaw, -PIN_MAX_TURN_RAD, PIN_MAX_TURN_RAD)
    target_pos = foot_pos + np.concatenate([d_xy, d_z[:, None]], axis=1)
    c, s_ = np.cos(d_yaw), np.sin(d_yaw)
    rz = np.zeros((n, 3, 3))
    rz[:, 0, 0], rz[:, 0, 1], rz[:, 1, 0], rz[:, 1, 1], rz[:, 2, 2] = c, -s_, s_, c, 1.0
    return solve, target_pos, rz @ foot_rot


def pin_stance_feet(
    root_pos: np.ndarray,
    root_quat: np.ndarray,
    joint_pos: np.ndarray,
    stance: np.ndarray,
    fps: float,
    bounds: np.ndarray,
    smooth=None,
) -> np.ndarray:
    """Joint angles (T, 29) [rad] with each stance foot pinned (see the module docstring).

    Args:
        root_pos: (T, 3) root position [m]; root_quat: (T, 4) wxyz.
        joint_pos: (T, 29) joint angles [rad] (only the twelve leg joints change).
        stance: (T, 2) bool human stance of the left and right foot.
        fps: frame rate [Hz] (for :data:`BLEND_S`).
        bounds: (29, 2) the joint range the result must stay in [rad] (the soft range); the
            leg joints also keep :data:`IK_LIMIT_MARGIN_RAD` inside the model's range.
        smooth: a zero-phase smoother of a (T, ...) series applied to the joint change (None:
            none): removes the kinks of the IK where a target is out of reach. It must act on
            each column on its own (:func:`smooth_changed_columns`).
    """
    out = np.array(joint_pos, dtype=float, copy=True)
    root_rot = rot.to_matrix(root_quat)
    inner = _inner_bounds(bounds)
    for f, chain in enumerate(leg_chains()):
        if not stance[:, f].any():
            continue
        idx = chain.joint_index
        pos, rmat = leg_fk(chain, root_pos, root_rot, out[:, idx])
        on, t_pos, t_rot = foot_pin_targets(pos[:, -1], rmat[:, -1], stance[:, f], fps, chain)
        q, _ = solve_leg_ik(
            chain, root_pos[on], root_rot[on], out[on][:, idx], t_pos[on], t_rot[on], inner[idx]
        )
        out[np.ix_(on, idx)] = q
    if smooth is not None:
        out = joint_pos + smooth_changed_columns(smooth, out - joint_pos)
    legs = np.concatenate([c.joint_index for c in leg_chains()])
    moved = np.abs(out[:, legs] - joint_pos[:, legs]) > 0  # (T, 12)
    out[:, legs] = np.where(
        moved, np.clip(out[:, legs], inner[legs, 0], inner[legs, 1]), out[:, legs]
    )
    return out


@functools.lru_cache(maxsize=1)
def _model_ranges() -> np.ndarray:
    """(29, 2) the reference model's joint ranges [rad] (read once)."""
    out = joint_ranges(kinematic_model())
    out.flags.writeable = False
    return out


def _inner_bounds(bounds: np.ndarray) -> np.ndarray:
    """(29, 2) ``bounds`` narrowed to keep :data:`IK_LIMIT_MARGIN_RAD` inside the model's range."""
    ranges = _model_ranges()
    return np.stack(
        [
            np.maximum(bounds[:, 0], ranges[:, 0] + IK_LIMIT_MARGIN_RAD),
            np.minimum(bounds[:, 1], ranges[:, 1] - IK_LIMIT_MARGIN_RAD),
        ],
        axis=1,
    )


def human_swing_clearance(foot_pos: np.ndarray, floor_z: float, stance: np.ndarray) -> np.ndarray:
    """(T, 2) how high [m] each human foot is lifted above its own stance level.

    ``foot_pos`` (T, 2, 3): the human's foot joints, height-scaled as the features [m];
    ``floor_z`` the clip's floor [m]; ``stance`` (T, 2) bool. A foot joint sits a few cm above
    the sole, so the stance level is that foot's median height above the floor over its stance
    frames; a foot never in stance gets clearance 0 (nothing to compare with).
    """
    height = foot_pos[..., 2] - floor_z  # (T, 2)
    out = np.zeros_like(height)
    for f in range(2):
        if stance[:, f].any():
            out[:, f] = np.maximum(height[:, f] - np.median(height[stance[:, f], f]), 0.0)
    return out


def speed_clearance(
    clearance: np.ndarray, feet_lowpassed: np.ndarray, fps: float, stance: np.ndarray
) -> np.ndarray:
    """(T, 2) the swing clearance [m] the lift asks for: ``clearance`` (T, 2)
    (:func:`human_swing_clearance`), raised outside ``stance`` (T, 2) to at least
    ``LIFT_PER_SPEED_S`` times the horizontal speed of ``feet_lowpassed`` (T, 2, 3) [m/s, at
    ``fps``], capped at :data:`LIFT_SPEED_CLEARANCE_M`. Continuous where the foot speeds up
    out of stance."""
    speed = np.linalg.norm(np.gradient(feet_lowpassed[..., :2], 1.0 / fps, axis=0), axis=-1)
    floor = np.minimum(LIFT_PER_SPEED_S * speed, LIFT_SPEED_CLEARANCE_M)  # (T, 2)
    return np.where(stance, clearance, np.maximum(clearance, floor))


def lift_swing_feet(
    root_pos: np.ndarray,
    root_quat: np.ndarray,
    joint_pos: np.ndarray,
    stance: np.ndarray,
    clearance: np.ndarray,
    bounds: np.ndarray,
    smooth=None,
    max_clearance: float = LIFT_MAX_CLEARANCE_M,
) -> np.ndarray:
    """Joint angles (T, 29) [rad] with each swing foot at least as high as the human's.

    A network trained with an L1 loss regresses the swing foot towards its mean height: on the
    held-out walking clips NMR's swing sole sits a median 0.7-3.4 cm above the floor where the
    teacher's is 4.6-9 cm, so the sliding swing foot counts as foot skating and scuffs the floor
    when the reference is tracked. Where a foot is outside the human's stance (``stance``
    (T, 2) bool) and is the higher of the human's two feet (``clearance`` (T, 2) [m],
    :func:`human_swing_clearance`), the robot's foot is raised, never lowered, until its
    lowest sole point is at least the human's clearance difference (capped at
    ``max_clearance``) above the other robot foot's. The lower foot, which carries the body,
    is never moved, and the lift is measured between the feet, not from the floor, so it runs
    before the root is grounded (:func:`retargeters.nmr.post.ground_root_height` then keeps
    every point above the floor). The foot translates vertically (orientation kept), solved
    by that leg's six joints (:func:`solve_leg_ik`); the lift is zero in stance and grows with
    the human's foot, so it is continuous, and ``smooth`` (the release's zero-phase filter)
    smooths the joint change (its non-zero columns, :func:`smooth_changed_columns`). Only
    the twelve leg joints change; they stay inside ``bounds`` (29, 2) and
    :data:`IK_LIMIT_MARGIN_RAD` inside the model's range.
    """
    if not 0.0 <= max_clearance <= 0.5:
        raise ValueError(f"max_clearance must be in [0, 0.5] m, got {max_clearance!r}")
    out = np.array(joint_pos, dtype=float, copy=True)
    root_rot = rot.to_matrix(root_quat)
    inner = _inner_bounds(bounds)
    chains = leg_chains()
    foot, fks = [], []
    for chain in chains:
        pos, rmat = leg_fk(chain, root_pos, root_rot, out[:, chain.joint_index])
        sole_z = np.einsum("tij,sj->tsi", rmat[:, -1], chain.sole_pos_b)[..., 2]
        foot.append((pos[:, -1], rmat[:, -1], pos[:, -1, 2] + (sole_z - chain.sole_radius).min(1)))
        fks.append((pos, rmat))
    low = np.stack([f[2] for f in foot], axis=1)  # (T, 2) lowest sole point of each foot [m]
    # only the higher human foot, outside its stance, is lifted (at most one foot per frame)
    higher = clearance > clearance[:, ::-1]  # (T, 2)
    want = np.minimum(clearance - clearance[:, ::-1], max_clearance)  # (T, 2)
    lift = np.where(~stance & higher, np.maximum(want - (low - low[:, ::-1]), 0.0), 0.0)
    for f, chain in enumerate(chains):
        on = lift[:, f] > LIFT_MIN_M
        if not on.any():
            continue
        idx = chain.joint_index
        target = foot[f][0][on].copy()
        target[:, 2] += lift[on, f]
        # the IK starts from these frames' rows of the kinematics above, needs no final error
        q, _ = solve_leg_ik(
            chain, root_pos[on], root_rot[on], out[on][:, idx], target, foot[f][1][on], inner[idx],
            LIFT_IK_ITERATIONS, IK_DAMPING, start_fk=(fks[f][0][on], fks[f][1][on]),
            final_error=False,
        )  # fmt: skip
        out[np.ix_(on, idx)] = q
    if smooth is not None:
        out = joint_pos + smooth_changed_columns(smooth, out - joint_pos)
    legs = np.concatenate([c.joint_index for c in chains])
    out[:, legs] = np.clip(out[:, legs], np.minimum(inner[legs, 0], joint_pos[:, legs]),
                           np.maximum(inner[legs, 1], joint_pos[:, legs]))  # fmt: skip
    return out
