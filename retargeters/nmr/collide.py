"""Self-collision removal for NMR's output, by moving the arm joints, and the hip roll joints.

NMR's network knows nothing of the G1's volumes. On the held-out clips its self-collisions are
almost all a hand (wrist roll / pitch / yaw link) against the same side's thigh (hip roll / hip
pitch / hip yaw link), and for other checkpoints an upper arm swung into the torso; on the
real-clip suite's narrow gaits one shin or foot against the other (knee, ankle pitch and roll
links). Two groups of pairs (:class:`LimbGroup`), each with the joints that move it apart:

- :func:`resolve_arm_collisions` (:func:`arm_group`): every arm pair separated by at least its
  margin (:data:`MARGIN_M`; :data:`UPPER_ARM_MARGIN_M` for the upper arm), changing only the
  14 arm joints (shoulder, elbow, wrist) of the frames near a contact: legs, waist and root
  stay, so the feet and the ground contact are not touched.
- :func:`resolve_leg_collisions` (:func:`leg_group`): every pair between the two legs
  separated by :data:`MARGIN_M`, changing only the two hip roll joints (the legs spread
  sideways; knees and ankles keep the feet's height), a stance leg's at :data:`STANCE_COST`.
  Each pair's separating direction is the pelvis frame's lateral axis, not MuJoCo's witness
  direction (:func:`leg_group`). The same step then keeps the pelvis off the hip links
  (:func:`pelvis_hip_group`: a deep hip flexion with the thigh turned in), by the same joints,
  with the witness direction and a margin of :data:`PELVIS_HIP_MARGIN_M`.

Self-collision is the definition of :mod:`nmr_gym.g1.collision` (the metric's): the geom pairs
checked are those of :func:`nmr_gym.g1.collision.self_collision_pairs` with a geom on an arm and
the other on another limb or the trunk (:func:`arm_pairs`), or a geom on each leg
(:func:`leg_pairs`). Collisions are independent of the
root pose, so everything here is computed in the pelvis frame.

Detection, two stages:

1. a conservative numpy prefilter over all frames: each collision geom is enclosed in a capsule
   (:func:`_enclosing_capsule` of its convex hull's vertices, the shape MuJoCo collides), placed
   by a batched forward kinematics (:func:`_fk`); a pair whose capsules are further apart than
   the margin cannot be closer than the margin;
2. MuJoCo's ``mj_geomDistance`` (signed distance and witness points) on the candidate pairs of
   the candidate frames only.

Resolution: per frame with a pair closer than its margin, each pair within
:data:`ACTIVATION_M` beyond the margin gives one linear constraint on the arm joints,
``n . (J_b(p_b) - J_a(p_a)) dq >= target - dist`` (``n`` the separating direction, ``p_a``,
``p_b`` the witness points, ``J`` the hinge point Jacobians, ``target`` the pair's margin plus
the step's overshoot): the contacts must open, the nearby pairs must not close. The smallest
``dq`` meeting them (damped, through the dual: batched where no constraint is slack, a small
non-negative least squares per frame where one is) is the frame's required correction. The
required corrections are spread over neighbouring frames (a running largest-magnitude over
:data:`SPREAD_S` each side, then the zero-phase low-pass the caller passes, the release's 5 Hz
filter), added to the arms, clipped to the soft range; the frames are checked again, for at most
:data:`MAX_ROUNDS` rounds.

The kinematics, the capsule distance and the Jacobians are hand-written numpy because MuJoCo has
no batched CPU kinematics (one ``mj_kinematics`` per frame costs more than the whole prefilter)
and no vectorised distance; they are checked against MuJoCo in the tests.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import mujoco
import numpy as np
from scipy import linalg, ndimage, optimize

from nmr_gym.g1 import collision, spec
from nmr_gym.g1.geometry import collision_geometry
from retargeters.nmr.legik import smooth_changed_columns

#: Default of the ``resolve_collisions`` option.
RESOLVE_COLLISIONS = True
#: A pair closer than this is moved apart [m]; the result keeps every checked pair at least
#: this far apart where the soft range allows. It covers the joint interpolation between the
#: 30 fps frames the clean-up sees and the 50 fps frames the metric scores.
MARGIN_M = 0.008
#: Each linearised step aims this far apart [m] (a little beyond MARGIN_M: the arm rotates, so
#: a linear step falls slightly short).
STEP_TARGET_M = 0.010
#: Levenberg-Marquardt damping of the per-frame solve [m]: bounds the step where the arm's
#: Jacobian along the contact normal is nearly zero.
DAMPING_M = 0.002
#: Largest joint change of one round's per-frame step [rad] (a trust region).
MAX_STEP_RAD = 0.3
#: Each frame's required correction is held over this time each side [s] before the low-pass,
#: so the filtered correction still reaches it at the frame (a 5 Hz zero-phase filter settles
#: in about 0.1 s) and the arm moves smoothly in and out.
SPREAD_S = 0.2
#: Frames per block of the prefilter's first stage (one bounding sphere per geom and block).
BLOCK_FRAMES = 8
#: Frames the prefilter takes at a time.
CHUNK_FRAMES = 4096
#: Pairs up to this far beyond the margin [m] enter each frame's solve as constraints that the
#: step must not close (a hand moved off the thigh must not push the upper arm into the
#: torso); without them the rounds traded one contact for another (a stage-1 checkpoint on a
#: held-out jump: 2 colliding 30 fps frames before the step, 22 after four rounds).
ACTIVATION_M = 0.03
#: Rounds of check, solve and spread at most.
MAX_ROUNDS = 4
#: Correction below this is set to zero [rad]: the low-pass's infinitely long tails would
#: otherwise change every frame of a clip by ~1e-12 rad.
CHANGE_TOL_RAD = 1e-7

#: The arm links (one side, without its prefix): shoulder pitch to wrist yaw.
ARM_LINKS: tuple[str, ...] = tuple(
    n[len("left_") :]
    for n in spec.BODY_NAMES
    if n.startswith("left_") and n[len("left_") :].startswith(("shoulder", "elbow", "wrist"))
)
#: Indices of the 14 arm joints among the 29 (left arm, then right).
ARM_JOINTS = np.array(
    [
        i
        for i, n in enumerate(spec.JOINT_NAMES)
        if n.split("_", 1)[-1].startswith(("shoulder", "elbow", "wrist"))
    ]
)


#: A leg link's name (one side, without its prefix) starts with one of these.
LEG_LINK_PREFIXES: tuple[str, ...] = ("hip", "knee", "ankle")
#: The joints that move the legs apart (one side, without its prefix): hip roll spreads the
#: legs sideways; knees and ankles stay, so the feet keep their height and the ground contact
#: its shape. (Hip yaw as well was tried: with the witness directions it turned the hips by up
#: to 0.8 rad on a narrow-gait clip; with the lateral direction of :func:`leg_group` it has
#: nothing to add, a yaw barely moves a straight leg sideways.)
LEG_RESOLVE_JOINTS: tuple[str, ...] = ("hip_roll_joint",)
#: Indices of the leg joints moved (left leg, then right) among the 29.
LEG_JOINTS = np.array(
    [
        spec.JOINT_NAMES.index(f"{side}_{j}")
        for side in ("left", "right")
        for j in LEG_RESOLVE_JOINTS
    ]
)
#: 0 (left) or 1 (right): the leg each of :data:`LEG_JOINTS` belongs to.
LEG_JOINT_SIDE = np.array([0 if spec.JOINT_NAMES[j].startswith("left_") else 1 for j in LEG_JOINTS])
#: Weight of a stance leg's joint change against a swing leg's in the leg step (its square
#: root is how much less a stance hip turns for the same opening): turning a stance hip slides
#: the foot on the floor. On the real-clip suite (105 clips) 1, 25 and 100 gave the same mean
#: foot skating to 1e-4 m/s (the corrections are small, 0.03-0.06 rad, and ``lock_feet``
#: holds a stance foot after the step); 25 resolved one more clip's last contacts.
STANCE_COST = 25.0
#: The margin [m] of the pelvis-hip pairs (:func:`pelvis_hip_group`). The hip roll link sits
#: next to the pelvis by construction: on the 29 held-out clips (shipped network, every fifth
#: 50 fps frame) the pair is 24 mm apart at the median but under 9.3 mm on 5 % of the frames
#: and under 4.9 mm on 1 %, so :data:`MARGIN_M` would move the hips of every deep bend. The
#: contacts are deep hip flexion with the thigh turned in (at most 3.3 mm deep); 1 mm keeps
#: them open. (Session 11 tried these pairs at the 8 mm margin and reverted: ACCAD Extended_3's
#: MPJPE rose 0.094 -> 0.143 m, its float 0 -> 5.7 %.)
PELVIS_HIP_MARGIN_M = 0.001


@dataclass(frozen=True)
class _Kinematics:
    """The reference G1's tree below the pelvis, read once from the collision model."""

    body: np.ndarray  # (B,) MuJoCo body ids, parents first (pelvis excluded); slot B: pelvis
    parent: np.ndarray  # (B,) slot of the parent body (B: the pelvis)
    offset_pos: np.ndarray  # (B, 3) body origin in its parent's frame [m]
    offset_rot: np.ndarray  # (B, 3, 3)
    offset_is_identity: np.ndarray  # (B,) bool
    axis: np.ndarray  # (B, 3) hinge axis in the body frame (a signed unit axis)
    axis_sign: np.ndarray  # (B,) +-1
    axis_pair: np.ndarray  # (B, 2) the other two axes, in cyclic order after the hinge's
    joint: np.ndarray  # (B,) the hinge's index among the 29 joints
    slot_of_body: np.ndarray  # (nbody,) slot of each body (B: the pelvis, -1: the world)
    ancestor: np.ndarray  # (B + 1, B) bool: slot a is slot b or one of its ancestors


def _quat_mat(q: np.ndarray) -> np.ndarray:
    out = np.zeros(9)
    mujoco.mju_quat2Mat(out, np.asarray(q, float))
    return out.reshape(3, 3)


@functools.lru_cache(maxsize=1)
def _kinematics() -> _Kinematics:
    m = collision.self_collision_model()
    pelvis = m.body(spec.ROOT_BODY).id
    body = np.array([b for b in range(m.nbody) if b not in (0, pelvis)])
    slot_of_body = np.full(m.nbody, -1)
    slot_of_body[body] = np.arange(len(body))
    slot_of_body[pelvis] = len(body)
    parent = slot_of_body[m.body_parentid[body]]
    if np.any((parent >= np.arange(len(body))) & (parent != len(body))) or np.any(parent < 0):
        raise ValueError("bodies must be ordered parents first")
    jnt = m.body_jntadr[body]
    if np.any(m.body_jntnum[body] != 1) or np.any(m.jnt_type[jnt] != mujoco.mjtJoint.mjJNT_HINGE):
        raise ValueError("every body below the pelvis must carry one hinge")
    if np.abs(m.jnt_pos[jnt]).max() > 0:
        raise ValueError("hinges must sit at their body origins")
    axis = np.array(m.jnt_axis[jnt])
    which = np.abs(axis).argmax(axis=1)
    if not np.allclose(np.abs(axis).max(axis=1), 1.0):
        raise ValueError("every hinge must turn about a body axis (x, y or z)")
    offset_rot = np.array([_quat_mat(q) for q in m.body_quat[body]])
    joint = np.array(m.jnt_qposadr[jnt]) - 7
    anc = np.zeros((len(body) + 1, len(body)), bool)  # anc[b, a]: slot a is b or an ancestor
    for b in range(len(body)):
        a = b
        while a < len(body):
            anc[b, a] = True
            a = parent[a]
    return _Kinematics(
        body=body,
        parent=parent,
        offset_pos=np.array(m.body_pos[body]),
        offset_rot=offset_rot,
        offset_is_identity=np.all(offset_rot == np.eye(3), axis=(1, 2)),
        axis=axis,
        axis_sign=np.sign(axis[np.arange(len(body)), which]),
        axis_pair=np.stack([(which + 1) % 3, (which + 2) % 3], axis=1),
        joint=joint,
        slot_of_body=slot_of_body,
        ancestor=anc,
    )


def _fk(joint_pos: np.ndarray, need: np.ndarray | None = None):
    """Positions (B + 1, 3, N) [m] and orientations (B + 1, 3, 3, N) of the bodies in the pelvis
    frame (slot B: the pelvis itself) for joint angles (N, 29) [rad]. Orientations are stored by
    column: ``rot[b, k]`` (3, N) is column k, the body's k-th axis. Frames last, so every step is
    a product of contiguous (N,) rows, and each hinge (about a body axis, as every G1 joint)
    mixes two columns only. ``need`` (B,) bool: only those bodies are computed (they must
    include their ancestors; the others stay zero)."""
    k = _kinematics()
    n, nb = joint_pos.shape[0], len(k.body)
    pos = np.zeros((nb + 1, 3, n), joint_pos.dtype)
    rot = np.zeros((nb + 1, 3, 3, n), joint_pos.dtype)
    rot[nb] = np.eye(3)[:, :, None]
    for b in range(nb) if need is None else np.flatnonzero(need):
        p = k.parent[b]
        rp = rot[p]
        pos[b] = pos[p] + _rotate(rp, k.offset_pos[b])
        cols = rot[b]
        if k.offset_is_identity[b]:
            cols[:] = rp
        else:
            for c in range(3):
                cols[c] = _rotate(rp, k.offset_rot[b][:, c])
        q = joint_pos[:, k.joint[b]] * k.axis_sign[b]
        i, j = k.axis_pair[b]
        ci, cj = cols[i].copy(), cols[j]
        cos, sin = np.cos(q), np.sin(q)
        cols[i] = ci * cos + cj * sin
        cols[j] = cj * cos - ci * sin
    return pos, rot


def _rotate(cols: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(3, N): rotations stored by column (3, 3, N) applied to a constant vector (3,)."""
    return cols[0] * v[0] + cols[1] * v[1] + cols[2] * v[2]


def _with_ancestors(slots: np.ndarray) -> np.ndarray:
    """(B,) bool: the body slots ``slots`` and all their ancestors (the pelvis excluded)."""
    k = _kinematics()
    need = np.zeros(len(k.body), bool)
    for s in np.atleast_1d(slots):
        a = int(s)
        while a < len(k.body) and not need[a]:
            need[a] = True
            a = k.parent[a]
    return need


def _capsule_about(points: np.ndarray, axis: np.ndarray):
    """The capsule about the line through the points' mean along ``axis`` with the smallest
    radius containing every point (n, 3), its segment as short as that radius allows."""
    mean = points.mean(axis=0)
    rel = points - mean
    a = rel @ axis
    rho = np.linalg.norm(rel - np.outer(a, axis), axis=1)
    r = float(rho.max())
    reach = np.sqrt(np.maximum(r * r - rho * rho, 0.0))
    hi, lo = float((a - reach).max()), float((a + reach).min())
    if lo > hi:  # every point fits a sphere about one point of the line
        c = mean + axis * 0.5 * (lo + hi)
        return c, axis, 0.0, float(np.linalg.norm(points - c, axis=1).max())
    return mean + axis * 0.5 * (lo + hi), axis, 0.5 * (hi - lo), r


def _enclosing_capsule(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """A capsule containing every point (n, 3): centre (3,), unit axis (3,), half length and
    radius [m]; of the capsules about the points' principal axes and the frame axes, the one
    with the smallest radius (the prefilter's distance bound loses the radius)."""
    # the reduced SVD: the right singular vectors only (a full one also builds the (n, n) left
    # matrix, 240 MB for the G1's largest hull of 5,583 vertices)
    principal = np.linalg.svd(points - points.mean(axis=0), full_matrices=False)[2]
    axes = np.concatenate([principal, np.eye(3)])
    fits = [_capsule_about(points, u) for u in axes]
    return min(fits, key=lambda f: (f[3], f[2]))


def hull_vertices(hull) -> np.ndarray:
    """(n, 3) the vertices [m, geom frame] of a mesh's convex hull as
    :func:`nmr_gym.g1.geometry.collision_geometry` holds it (split in grid cells there)."""
    return np.concatenate(hull.cell_verts)


@dataclass(frozen=True)
class _Capsules:
    """Enclosing capsules of the collision geoms, in their bodies' frames."""

    geom: np.ndarray  # (G,) geom ids
    slot: np.ndarray  # (G,) body slot
    centre: np.ndarray  # (G, 3) [m]
    axis: np.ndarray  # (G, 3)
    half: np.ndarray  # (G,) [m]
    radius: np.ndarray  # (G,) [m]
    geom_pos: np.ndarray  # (G, 3) geom frame in the body frame [m]
    geom_rot: np.ndarray  # (G, 3, 3)


@functools.lru_cache(maxsize=1)
def _capsules() -> _Capsules:
    m = collision.self_collision_model()
    k = _kinematics()
    geoms = np.unique(collision.self_collision_pairs())
    hulls = collision_geometry()  # the convex hulls MuJoCo collides, found once there
    hull_of = dict(zip(hulls.coll.tolist(), hulls.hulls, strict=True))
    rows = []
    for g in geoms:
        kind = int(m.geom_type[g])
        size = m.geom_size[g]
        if kind == mujoco.mjtGeom.mjGEOM_MESH:
            c, u, h, r = _enclosing_capsule(hull_vertices(hull_of[int(g)]))
        elif kind == mujoco.mjtGeom.mjGEOM_SPHERE:
            c, u, h, r = np.zeros(3), np.array([0.0, 0.0, 1.0]), 0.0, float(size[0])
        elif kind in (int(mujoco.mjtGeom.mjGEOM_CYLINDER), int(mujoco.mjtGeom.mjGEOM_CAPSULE)):
            c, u, h, r = np.zeros(3), np.array([0.0, 0.0, 1.0]), float(size[1]), float(size[0])
        else:  # pragma: no cover - the G1 has no other collision shapes
            raise NotImplementedError(f"collision geom type {kind}")
        rot = _quat_mat(m.geom_quat[g])
        rows.append((m.geom_pos[g] + rot @ c, rot @ u, h, r, np.array(m.geom_pos[g]), rot))
    slot = k.slot_of_body[m.geom_bodyid[geoms]]
    return _Capsules(
        geom=geoms,
        slot=slot,
        centre=np.array([r[0] for r in rows]),
        axis=np.array([r[1] for r in rows]),
        half=np.array([r[2] for r in rows]),
        radius=np.array([r[3] for r in rows]),
        geom_pos=np.array([r[4] for r in rows]),
        geom_rot=np.array([r[5] for r in rows]),
    )


#: The links whose collisions are resolved: the forearm and the hand. The shoulder pitch and
#: roll links sit at the torso by construction (their pairs with it are left to the shoulder's
#: joint ranges).
RESOLVED_ARM_LINKS: tuple[str, ...] = ("elbow_link", "wrist_roll_link", "wrist_pitch_link",
                                       "wrist_yaw_link")  # fmt: skip
#: The upper arm (shoulder roll and yaw links), whose pairs are resolved too but with
#: :data:`UPPER_ARM_MARGIN_M`: an arm swung across the body puts the yaw link into the torso (a
#: pose-balanced checkpoint's most common contact on the held-out clips), a raised and crossed
#: one the roll link (a martial-arts form of the real-clip suite: 5.3 % of its frames), while
#: hanging straight down (shoulder roll 0) they are only 7.8-9.7 mm from the torso, so the
#: forearm's margin would move every arms-down frame.
UPPER_ARM_LINKS: tuple[str, ...] = ("shoulder_roll_link", "shoulder_yaw_link")
#: The margin [m] of the pairs with an upper-arm link and no forearm or hand link.
UPPER_ARM_MARGIN_M = 0.004


def _select_pairs(rule) -> np.ndarray:
    """(P, 2) the pairs of :func:`nmr_gym.g1.collision.self_collision_pairs` for which
    ``rule(side, link)`` holds: the two bodies' name prefixes ("left", "right", ...) and the
    rest of their names (the link without its side), each a list of two."""
    m = collision.self_collision_model()
    pairs = collision.self_collision_pairs()
    keep = []
    for pair in pairs:
        names = [m.body(m.geom_bodyid[g]).name for g in pair]
        keep.append(rule([n.split("_", 1)[0] for n in names], [n.split("_", 1)[-1] for n in names]))
    out = pairs[np.array(keep, bool)]
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=1)
def arm_pairs() -> np.ndarray:
    """(P, 2) geom ids: the pairs of :func:`nmr_gym.g1.collision.self_collision_pairs` that are
    resolved: a geom on a forearm or hand link (:data:`RESOLVED_ARM_LINKS`) or on the upper arm
    (:data:`UPPER_ARM_LINKS`) against one on the trunk, a leg or the other arm (pairs within one
    arm are left to its joint ranges)."""

    def rule(side: list[str], link: list[str]) -> bool:
        lower = any(x in RESOLVED_ARM_LINKS + UPPER_ARM_LINKS for x in link)
        same_arm = side[0] == side[1] and all(x in ARM_LINKS for x in link)
        return lower and not same_arm

    return _select_pairs(rule)


@dataclass(frozen=True, eq=False)
class LimbGroup:
    """Geom pairs kept apart and the joints moved to do it, with what the detection and the
    Jacobian read of them (built once per group: :func:`arm_group`, :func:`leg_group`)."""

    name: str
    joints: np.ndarray  # (J,) indices among the 29 joints
    pairs: np.ndarray  # (P, 2) geom ids, from collision.self_collision_pairs()
    margin_cap: np.ndarray  # (P,) largest margin of each pair [m] (inf: the margin asked for)
    slot: np.ndarray  # (J,) body slot each joint rotates
    moves: np.ndarray  # (B + 1, J) bool: joint j moves body slot b
    capsule: np.ndarray  # (P, 2) positions of each pair's two geoms in _capsules()
    reach: np.ndarray  # (P,) sum of both capsules' half lengths and radii [m]
    used: np.ndarray  # (U,) positions in _capsules() of the geoms of the pairs
    fk_bodies: np.ndarray | None  # (B,) bool: the bodies detection and Jacobian need; None: all
    normal: np.ndarray | None = None  # (P, 3) fixed separating direction of each pair; None:
    # MuJoCo's witness direction (Closeness.normal)


def _limb_group(
    name: str, joints: np.ndarray, pairs: np.ndarray, margin_cap, normal=None
) -> LimbGroup:
    k, cap = _kinematics(), _capsules()
    where = {int(g): i for i, g in enumerate(cap.geom)}
    capsule = np.array([[where[int(g)] for g in row] for row in pairs], int).reshape(-1, 2)
    a, b = capsule[:, 0], capsule[:, 1]
    slot = np.array([int(np.flatnonzero(k.joint == j)[0]) for j in joints], int)
    used = np.union1d(a, b)
    need = _with_ancestors(np.concatenate([cap.slot[used], slot]))
    for arr in (joints, pairs, capsule, slot, used):
        arr.flags.writeable = False
    return LimbGroup(
        name=name,
        joints=joints,
        pairs=pairs,
        margin_cap=np.broadcast_to(np.asarray(margin_cap, dtype=float), (len(pairs),)),
        slot=slot,
        moves=k.ancestor[:, slot],
        capsule=capsule,
        reach=cap.half[a] + cap.radius[a] + cap.half[b] + cap.radius[b],
        used=used,
        fk_bodies=None if need.all() else need,
        normal=normal,
    )


@functools.lru_cache(maxsize=1)
def arm_group() -> LimbGroup:
    """The arms: the pairs of :func:`arm_pairs`, moved by the 14 arm joints; a pair with an
    upper-arm link and no forearm or hand link has at most :data:`UPPER_ARM_MARGIN_M`."""
    m = collision.self_collision_model()
    pairs = arm_pairs()
    upper_only = np.array(
        [
            not any(m.body(m.geom_bodyid[g]).name.split("_", 1)[-1] in RESOLVED_ARM_LINKS
                    for g in pair)
            for pair in pairs
        ],
        bool,
    )  # fmt: skip
    return _limb_group(
        "arms", ARM_JOINTS.copy(), pairs, np.where(upper_only, UPPER_ARM_MARGIN_M, np.inf)
    )


@functools.lru_cache(maxsize=1)
def leg_pairs() -> np.ndarray:
    """(P, 2) geom ids: the pairs of :func:`nmr_gym.g1.collision.self_collision_pairs` between
    the two legs (a hip, knee or ankle link of each side; pairs within one leg are left to its
    joint ranges)."""
    return _select_pairs(
        lambda side, link: side[0] != side[1] and all(x.startswith(LEG_LINK_PREFIXES) for x in link)
    )


@functools.lru_cache(maxsize=1)
def leg_group() -> LimbGroup:
    """The legs: the pairs of :func:`leg_pairs`, moved by :data:`LEG_JOINTS`, each pair's
    separating direction the pelvis frame's lateral axis (the left leg's geom to the left):
    MuJoCo's witness direction of two feet side by side is often vertical (a sole sphere over
    the other foot's edge), which hip roll cannot open, and the step then turned the hips by
    up to 0.8 rad on a narrow-gait clip (cmu/bvh11__131_02) where 0.05-0.1 rad spreads them."""
    m = collision.self_collision_model()
    pairs = leg_pairs()
    left_second = np.array([m.body(m.geom_bodyid[b]).name.startswith("left_") for _, b in pairs])
    normal = np.zeros((len(pairs), 3))
    normal[:, 1] = np.where(left_second, 1.0, -1.0)
    normal.flags.writeable = False
    return _limb_group("legs", LEG_JOINTS.copy(), pairs, np.inf, normal)


@functools.lru_cache(maxsize=1)
def pelvis_hip_pairs() -> np.ndarray:
    """(P, 2) geom ids: the pairs of :func:`nmr_gym.g1.collision.self_collision_pairs` of the
    pelvis and a hip link (the hip roll and hip yaw links of either side)."""

    def rule(side: list[str], link: list[str]) -> bool:
        hip = [
            s in ("left", "right") and x.startswith("hip") for s, x in zip(side, link, strict=True)
        ]
        return "pelvis" in side and any(hip)

    return _select_pairs(rule)


@functools.lru_cache(maxsize=1)
def pelvis_hip_group() -> LimbGroup:
    """The pelvis against the hips: the pairs of :func:`pelvis_hip_pairs`, moved by
    :data:`LEG_JOINTS` (hip roll: the thigh turned out), with MuJoCo's witness direction (the
    contact is at the inside of the hip, where the lateral axis of :func:`leg_group` is not the
    way out) and at most :data:`PELVIS_HIP_MARGIN_M` apart."""
    return _limb_group(
        "pelvis-hips", LEG_JOINTS.copy(), pelvis_hip_pairs(), PELVIS_HIP_MARGIN_M, None
    )


def _group(group: LimbGroup | None) -> LimbGroup:
    return arm_group() if group is None else group


@functools.lru_cache(maxsize=16)
def _margins(margin: float, group: LimbGroup) -> np.ndarray:
    out = np.minimum(margin, group.margin_cap)
    out.flags.writeable = False
    return out


def pair_margins(margin: float = MARGIN_M, group: LimbGroup | None = None) -> np.ndarray:
    """(P,) the margin [m] of each pair of ``group`` (None: the arms): ``margin``, or the
    pair's cap where it is lower (the arms' upper-arm pairs, :data:`UPPER_ARM_MARGIN_M`)."""
    return _margins(float(margin), _group(group))


def _segment_distance(p1, q1, p2, q2) -> np.ndarray:
    """(N,) distance between segments [p1, q1] and [p2, q2], each (3, N) (closest points by
    clamped parameters, C. Ericson, Real-Time Collision Detection, 5.1.9; degenerate segments,
    points, and parallel ones included)."""
    d1, d2, r = q1 - p1, q2 - p2, p1 - p2
    a = np.einsum("in,in->n", d1, d1)
    e = np.einsum("in,in->n", d2, d2)
    f = np.einsum("in,in->n", d2, r)
    c = np.einsum("in,in->n", d1, r)
    b = np.einsum("in,in->n", d1, d2)
    tiny = 1e-12
    denom = a * e - b * b
    s = np.where(denom > tiny, np.clip((b * f - c * e) / np.maximum(denom, tiny), 0, 1), 0.0)
    t = (b * s + f) / np.maximum(e, tiny)
    s = np.where(t < 0, np.clip(-c / np.maximum(a, tiny), 0, 1), s)
    s = np.where(t > 1, np.clip((b - c) / np.maximum(a, tiny), 0, 1), s)
    t = np.clip(t, 0, 1)
    # the second segment a point (a sphere): the first's point nearest to it (without this
    # the first segment's start was taken, and a sole sphere's contact with the other leg's
    # knee passed the prefilter unseen)
    s = np.where(e > tiny, s, np.clip(-c / np.maximum(a, tiny), 0, 1))
    t = np.where(e > tiny, t, 0.0)
    gap = p1 + d1 * s - p2 - d2 * t
    return np.sqrt(np.einsum("in,in->n", gap, gap))


def candidates(
    joint_pos: np.ndarray, margin: float = MARGIN_M, group: LimbGroup | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Frames (M,) and pair indices into ``group.pairs`` (M,; None: the arms, :func:`arm_pairs`),
    sorted by frame, whose enclosing capsules are closer than ``margin`` [m] at joint angles
    ``joint_pos`` (N, 29): every (frame, pair) closer than ``margin`` is among them (the
    capsules contain the geoms).

    Three stages, each on what the last kept: per block of :data:`BLOCK_FRAMES` frames, a sphere
    about each capsule that holds it in every frame of the block (all pairs); per frame, the
    capsules' bounding spheres; the capsules (segment to segment distance). Frames are taken
    :data:`CHUNK_FRAMES` at a time (the arrays then stay in the CPU's cache)."""
    group = _group(group)
    step = _chunk_step()
    parts = []
    for s in range(0, len(joint_pos), step):
        chunk = joint_pos[s : s + step]
        parts.append(_candidates_at(*_chunk_fk(chunk, group), len(chunk), margin, group))
    frames = np.concatenate([p[0] + i * step for i, p in enumerate(parts)] + [np.zeros(0, int)])
    pair = np.concatenate([p[1] for p in parts] + [np.zeros(0, int)])
    return frames, pair


def _chunk_step() -> int:
    """Frames per chunk of :func:`candidates` (a whole number of blocks)."""
    return CHUNK_FRAMES - CHUNK_FRAMES % BLOCK_FRAMES


def _chunk_fk(joint_pos: np.ndarray, group: LimbGroup):
    """:func:`_fk` of the bodies ``group.fk_bodies`` (the capsules' bodies, the moved joints'
    bodies, their ancestors; every body's values are those of a full :func:`_fk`: each body is
    computed from its ancestors only)."""
    return _fk(joint_pos, group.fk_bodies)


def _pair_margin_array(margin, group: LimbGroup) -> np.ndarray:
    """(P,) a margin [m] per pair of ``group`` from one margin or a (P,) array."""
    return np.broadcast_to(np.asarray(margin, dtype=float), (len(group.pairs),))


def _candidates_at(pos, rot, n: int, margin, group: LimbGroup) -> tuple[np.ndarray, np.ndarray]:
    """The prefilter's stages on the kinematics ``pos``, ``rot`` (:func:`_fk`) of ``n`` frames;
    ``margin`` [m]: one for every pair or (P,), one per pair of ``group``."""
    cap = _capsules()
    tab_a, tab_b = group.capsule[:, 0], group.capsule[:, 1]
    margin = _pair_margin_array(margin, group)
    used = group.used
    # every used capsule at once: the same products and sums, in the same order, as
    # ``pos + _rotate(rot, centre)`` and ``_rotate(rot, axis) * half`` one geom at a time
    slot = cap.slot[used]
    r = rot[slot]  # (U, 3, 3, N), column k of each body at r[:, k]
    c, u = cap.centre[used][:, :, None, None], cap.axis[used][:, :, None, None]  # (U, 3, 1, 1)
    centre_u = pos[slot] + (r[:, 0] * c[:, 0] + r[:, 1] * c[:, 1] + r[:, 2] * c[:, 2])
    half = cap.half[used][:, None, None]
    axis_u = (r[:, 0] * u[:, 0] + r[:, 1] * u[:, 1] + r[:, 2] * u[:, 2]) * half
    if len(used) == len(cap.geom):  # every capsule is used (the G1's case): no scatter
        centre, axis = centre_u, axis_u
    else:
        centre = np.zeros((len(cap.geom), 3, n))
        axis = np.zeros((len(cap.geom), 3, n))
        centre[used], axis[used] = centre_u, axis_u
    reach = cap.half + cap.radius
    # stage 1: blocks; the sphere about the block's middle frame's centre
    block = np.arange(n) // BLOCK_FRAMES
    n_blk = int(block[-1]) + 1
    mid = np.minimum(np.arange(n_blk) * BLOCK_FRAMES + BLOCK_FRAMES // 2, n - 1)
    blk_c = centre[:, :, mid]  # (G, 3, n_blk)
    drift = np.linalg.norm(centre - blk_c[:, :, block], axis=1)  # (G, N)
    blk_r = np.maximum.reduceat(drift, np.arange(0, n, BLOCK_FRAMES), axis=1) + reach[:, None]
    gap = blk_c[tab_a] - blk_c[tab_b]  # (P, 3, n_blk)
    lim = blk_r[tab_a] + blk_r[tab_b] + margin[:, None]
    pi, bi = np.nonzero(np.einsum("pin,pin->pn", gap, gap) < lim * lim)
    if not len(pi):
        return np.zeros(0, int), np.zeros(0, int)
    # expand the blocks to their frames
    start = bi * BLOCK_FRAMES
    size = np.minimum(start + BLOCK_FRAMES, n) - start
    pi = np.repeat(pi, size)
    fi = np.repeat(start - np.cumsum(size) + size, size) + np.arange(size.sum())
    # stage 2: per frame, bounding spheres
    ga, gb = tab_a[pi], tab_b[pi]
    ca, cb = centre[ga, :, fi], centre[gb, :, fi]  # (M, 3)
    lim = group.reach[pi] + margin[pi]
    near = np.einsum("mi,mi->m", ca - cb, ca - cb) < lim * lim
    pi, fi, ga, gb, ca, cb = pi[near], fi[near], ga[near], gb[near], ca[near], cb[near]
    # stage 3: capsules
    ua, ub = axis[ga, :, fi], axis[gb, :, fi]
    d = _segment_distance((ca - ua).T, (ca + ua).T, (cb - ub).T, (cb + ub).T)
    near = d - cap.radius[ga] - cap.radius[gb] < margin[pi]
    fi, pi = fi[near], pi[near]
    order = np.lexsort((pi, fi))
    return fi[order], pi[order]


@dataclass
class Closeness:
    """Pairs closer than a margin, one row each: (R,) frame, (R,) index into :func:`arm_pairs`,
    (R,) signed distance [m] (negative: overlap depth), (R, 3) witness points on the first and
    the second geom (pelvis frame [m]), (R, 3) unit direction in which moving the second geom
    away from the first increases the distance."""

    frame: np.ndarray
    pair: np.ndarray  # index into the group's pairs
    dist: np.ndarray
    point_a: np.ndarray
    point_b: np.ndarray
    normal: np.ndarray


@functools.lru_cache(maxsize=1)
def _scratch() -> mujoco.MjData:
    return mujoco.MjData(collision.self_collision_model())


def _geom_poses(pos, rot, slots, geom_pos, geom_rot, cols):
    """Pelvis-frame position (R, 3) and rotation (R, 3, 3) of geoms on body ``slots`` (R,) at
    FK columns ``cols`` (R,), from their local poses (R, 3), (R, 3, 3)."""
    r_body = np.transpose(rot[slots, :, :, cols], (0, 2, 1))  # (R, 3, 3) rows of R
    return pos[slots, :, cols] + np.einsum("rij,rj->ri", r_body, geom_pos), r_body @ geom_rot


def closeness(
    joint_pos: np.ndarray,
    frames: np.ndarray,
    pairs: np.ndarray,
    margin: float = MARGIN_M,
    group: LimbGroup | None = None,
) -> Closeness:
    """MuJoCo's signed distance (``mj_geomDistance``) of each (frame, pair) of ``frames`` (R,)
    and ``pairs`` (R,) (indices into ``group.pairs``; None: the arms) at joint angles
    ``joint_pos`` (N, 29); the rows closer than ``margin`` [m] are returned. One call per row
    (MuJoCo has no batched distance); the geom poses come from the batched kinematics."""
    uniq, col = np.unique(frames, return_inverse=True)
    return _closeness_at(*_fk(joint_pos[uniq]), col, frames, pairs, margin, _group(group))


def _closeness_at(pos, rot, col, frames, pairs, margin, group: LimbGroup) -> Closeness:
    """:func:`closeness` on kinematics ``pos``, ``rot`` (:func:`_fk`) whose column ``col`` (R,)
    holds each row's frame ``frames`` (R,); ``margin`` as :func:`_candidates_at`'s."""
    m, d = collision.self_collision_model(), _scratch()
    cap = _capsules()
    geoms = group.pairs[pairs]  # (R, 2)
    poses = []
    for side in range(2):
        ci = group.capsule[pairs, side]
        poses.append(_geom_poses(pos, rot, cap.slot[ci], cap.geom_pos[ci], cap.geom_rot[ci], col))
    n = len(frames)
    dist = np.empty(n)
    ft = np.empty((n, 6))
    fromto = np.zeros(6)
    # MuJoCo's arrays and the per-row inputs bound once: the loop only copies and calls
    xpos, xmat, distance = d.geom_xpos, d.geom_xmat, mujoco.mj_geomDistance
    limit = _pair_margin_array(margin, group)[pairs]  # (R,)
    pa, pb = poses[0][0], poses[1][0]
    ma, mb = poses[0][1].reshape(n, 9), poses[1][1].reshape(n, 9)
    for r, (g1, g2) in enumerate(geoms.tolist()):
        xpos[g1], xpos[g2] = pa[r], pb[r]
        xmat[g1], xmat[g2] = ma[r], mb[r]
        dist[r] = distance(m, d, g1, g2, limit[r], fromto)
        ft[r] = fromto
    keep = dist < limit
    pa, pb = ft[keep, :3], ft[keep, 3:]
    sep = pb - pa
    length = np.linalg.norm(sep, axis=1, keepdims=True)
    # overlapping geoms: the witness segment points into the overlap, so the direction flips;
    # touching ones (no segment): the direction between the geom centres
    centres = poses[1][0][keep] - poses[0][0][keep]
    fallback = centres / np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    normal = np.where(
        length > 1e-9, sep / np.maximum(length, 1e-12) * np.sign(dist[keep])[:, None], fallback
    )
    normal = np.where((dist[keep] == 0)[:, None], fallback, normal)
    return Closeness(frames[keep], pairs[keep], dist[keep], pa, pb, normal)


def _jacobian_rows(
    joint_pos: np.ndarray, close: Closeness, group: LimbGroup | None = None
) -> np.ndarray:
    """(R, J) d(dist)/d(the group's joints) [m/rad] of each row: ``n . (J_b(p_b) - J_a(p_a))``
    with hinge point Jacobians ``axis x (p - joint origin)`` in the pelvis frame."""
    uniq, col = np.unique(close.frame, return_inverse=True)
    return _jacobian_at(*_fk(joint_pos[uniq]), col, close, _group(group))


def _jacobian_at(pos, rot, col, close: Closeness, group: LimbGroup) -> np.ndarray:
    """:func:`_jacobian_rows` on kinematics ``pos``, ``rot`` (:func:`_fk`) whose column
    ``col`` (R,) holds each row's frame."""
    k, cap = _kinematics(), _capsules()
    jslot = group.slot  # (J,)
    which = np.abs(k.axis[jslot]).argmax(axis=1)
    omega = rot[jslot, which][:, :, col] * k.axis_sign[jslot][:, None, None]  # (J, 3, R)
    origin = pos[jslot][:, :, col]  # (J, 3, R)
    rows = np.zeros((len(close.frame), len(jslot)))
    for side, point, sign in ((0, close.point_a, -1.0), (1, close.point_b, 1.0)):
        slot = cap.slot[group.capsule[close.pair, side]]
        moved = group.moves[slot]  # (R, J)
        lever = point.T[None] - origin  # (J, 3, R)
        v = np.cross(omega, lever, axis=1)  # (J, 3, R)
        normal = close.normal if group.normal is None else group.normal[close.pair]
        rows += sign * moved * np.einsum("jir,ri->rj", v, normal)
    return rows


def _detect(
    joint_pos: np.ndarray, margin: float, jacobian: bool, group: LimbGroup | None = None
) -> tuple[Closeness, np.ndarray | None]:
    """:func:`closeness` of the :func:`candidates` of all frames of ``joint_pos`` (N, 29) and,
    when ``jacobian``, their :func:`_jacobian_rows` (``group``, None: the arms): the same
    values, with the kinematics computed once per chunk of frames and shared by the three
    (instead of once each)."""
    group = _group(group)
    step = _chunk_step()
    parts, rows = [], []
    if not len(joint_pos):
        pos, rot = _chunk_fk(joint_pos, group)
        none = np.zeros(0, int)
        close = _closeness_at(pos, rot, none, none, none, margin, group)
        return close, _jacobian_at(pos, rot, none, close, group) if jacobian else None
    for s in range(0, len(joint_pos), step):
        chunk = joint_pos[s : s + step]
        pos, rot = _chunk_fk(chunk, group)
        fi, pi = _candidates_at(pos, rot, len(chunk), margin, group)
        close = _closeness_at(pos, rot, fi, fi, pi, margin, group)
        if jacobian:
            rows.append(_jacobian_at(pos, rot, close.frame, close, group))
        close.frame = close.frame + s
        parts.append(close)
    if len(parts) == 1:
        return parts[0], rows[0] if jacobian else None
    close = Closeness(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                        ("frame", "pair", "dist", "point_a", "point_b", "normal")))  # fmt: skip
    return close, np.concatenate(rows) if jacobian else None


def _solve(
    rows: np.ndarray,
    need: np.ndarray,
    frame: np.ndarray,
    active: np.ndarray | None = None,
    scale: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per frame with an ``active`` row (all rows when None), the smallest joint change (F, J)
    [rad] with ``rows`` (R, J) . dq >= ``need`` (R,) [m] for every row of that frame; and the
    frames (F,). ``scale`` (R, J), the same on every row of a frame: each joint's change is
    weighted by ``1 / scale**2`` in the norm (None: all 1), i.e. the problem is solved for
    ``z = dq / scale`` (a stance leg's joints get a small scale: they move little).

    The damped problem ``min |dq|^2`` subject to ``A dq >= b`` is solved through its dual:
    ``dq = A^T mu`` with ``mu >= 0`` minimising ``mu^T G mu / 2 - b^T mu``, ``G = A A^T +
    DAMPING_M^2 I``. Where the unconstrained ``mu = G^-1 b`` is already >= 0 (the usual case:
    every row wants to move apart) that is the answer, batched; elsewhere (a nearby pair the
    step must not push into contact, or two contacts pulling against each other) it is
    non-negative least squares (``scipy.optimize.nnls`` on the Cholesky factor of ``G``), per
    frame. A step longer than :data:`MAX_STEP_RAD` is scaled down."""
    if active is not None:
        keep = np.isin(frame, frame[active])
        rows, need, frame = rows[keep], need[keep], frame[keep]
        scale = None if scale is None else scale[keep]
    uniq, col, count = np.unique(frame, return_inverse=True, return_counts=True)
    if not len(uniq):
        return np.zeros((0, rows.shape[1])), uniq
    if scale is not None:
        rows = rows * scale
    slot = np.arange(len(frame)) - np.repeat(np.cumsum(count) - count, count)
    a = np.zeros((len(uniq), count.max(), rows.shape[1]))
    b = np.zeros((len(uniq), count.max()))
    a[col, slot], b[col, slot] = rows, need
    gram = a @ np.swapaxes(a, 1, 2) + DAMPING_M**2 * np.eye(count.max())
    mu = np.linalg.solve(gram, b[..., None])[..., 0]  # (F, K); padded rows: 0
    for f in np.flatnonzero((mu < 0).any(axis=1)):
        k = count[f]
        chol = np.linalg.cholesky(gram[f, :k, :k])
        mu[f, :k] = optimize.nnls(chol.T, linalg.solve_triangular(chol, b[f, :k], lower=True))[0]
    dq = np.einsum("fri,fr->fi", a, mu)
    if scale is not None:
        dq = dq * scale[np.cumsum(count) - count]  # each frame's first row's scale
    big = np.abs(dq).max(axis=1, keepdims=True)
    return dq * np.minimum(1.0, MAX_STEP_RAD / np.maximum(big, 1e-12)), uniq


def _spread(required: np.ndarray, fps: float, smooth) -> np.ndarray:
    """(T, J) correction from the per-frame required ones (T, J): for each joint, the required
    value of largest magnitude within :data:`SPREAD_S` (a running max of each sign), then
    ``smooth`` (a zero-phase low-pass of each column on its own, applied to the non-zero
    columns only, :func:`retargeters.nmr.legik.smooth_changed_columns`; None: a moving average
    over the same window)."""
    w = max(1, int(round(SPREAD_S * fps)))
    up = ndimage.maximum_filter1d(np.maximum(required, 0.0), 2 * w + 1, axis=0, mode="constant")
    down = ndimage.maximum_filter1d(np.maximum(-required, 0.0), 2 * w + 1, axis=0, mode="constant")
    held = np.where(up >= down, up, -down)
    if smooth is None:
        out = ndimage.uniform_filter1d(held, 2 * w + 1, axis=0, mode="constant")
    else:
        out = smooth_changed_columns(smooth, held)
    out[np.abs(out) < CHANGE_TOL_RAD] = 0.0
    return out


def resolve_arm_collisions(
    joint_pos: np.ndarray,
    fps: float,
    bounds: np.ndarray,
    smooth=None,
    *,
    margin: float = MARGIN_M,
    max_rounds: int = MAX_ROUNDS,
) -> np.ndarray:
    """Joint angles (T, 29) [rad] with the pairs of :func:`arm_pairs` at least their margin
    (:func:`pair_margins` of ``margin`` [m]) apart where the arms' ``bounds`` allow; only the
    14 arm joints change (module docstring).

    Args:
        joint_pos: (T, 29) joint angles [rad] at ``fps`` [Hz].
        bounds: (29, 2) the range the changed joints must stay in [rad] (the soft range).
        smooth: the zero-phase low-pass applied to the spread correction (the release's 5 Hz
            filter; None: a moving average).
        margin: the separation to reach [m]; max_rounds: rounds of check, solve and spread.

    A motion with no pair closer than its margin is returned unchanged (the same values).
    """
    return _resolve(arm_group(), joint_pos, fps, bounds, smooth, margin, max_rounds, None)


def resolve_leg_collisions(
    joint_pos: np.ndarray,
    fps: float,
    bounds: np.ndarray,
    smooth=None,
    *,
    stance: np.ndarray | None = None,
    margin: float = MARGIN_M,
    max_rounds: int = MAX_ROUNDS,
) -> np.ndarray:
    """Joint angles (T, 29) [rad] with the pairs of :func:`leg_pairs` (a knee or ankle against
    the other leg) at least ``margin`` [m] apart where ``bounds`` allow, by the hip roll
    joints (:data:`LEG_JOINTS`) only: the legs spread apart, knees, ankles, waist and
    root stay; then, by the same joints, the pelvis and the hip links
    (:func:`pelvis_hip_group`) at least :data:`PELVIS_HIP_MARGIN_M` apart. ``stance`` (T, 2)
    bool, left and right (None: no foot in stance): a stance leg's joints cost
    :data:`STANCE_COST` times a swing leg's in each frame's step, since turning them slides
    the foot on the floor; the swing leg then does the work where it can.
    Other arguments as :func:`resolve_arm_collisions`.
    """
    cost = None
    if stance is not None:
        stance = np.asarray(stance, dtype=bool)
        if stance.shape != (len(joint_pos), 2):
            raise ValueError(
                f"stance must be (T, 2) = ({len(joint_pos)}, 2) bool, got shape {stance.shape}"
            )
        cost = np.where(stance[:, LEG_JOINT_SIDE], STANCE_COST, 1.0)  # (T, J)
    q = _resolve(leg_group(), joint_pos, fps, bounds, smooth, margin, max_rounds, cost)
    return _resolve(pelvis_hip_group(), q, fps, bounds, smooth, margin, max_rounds, cost)


def _resolve(
    group: LimbGroup,
    joint_pos: np.ndarray,
    fps: float,
    bounds: np.ndarray,
    smooth,
    margin: float,
    max_rounds: int,
    cost: np.ndarray | None,
) -> np.ndarray:
    """The check, solve and spread rounds of one group (module docstring); ``cost`` (T, J): the
    weight of each joint's change in each frame's step (None: all 1)."""
    if not margin > 0:
        raise ValueError(f"margin must be > 0 [m], got {margin!r}")
    q0 = np.asarray(joint_pos, dtype=float)
    pair_margin = pair_margins(float(margin), group)  # (P,)
    scale = None if cost is None else 1.0 / np.sqrt(cost)  # (T, J)
    joints = group.joints

    def constraints(frames: np.ndarray) -> tuple[Closeness, np.ndarray] | None:
        """The rows of the frames of ``frames`` with a pair closer than its margin: every pair
        within ACTIVATION_M beyond its margin (the step must not close those either), with
        their Jacobian rows; None when no frame has a contact. Candidates, closeness and
        Jacobian rows share one kinematics per call (_detect)."""
        close, _ = _detect(q[frames], pair_margin, False, group)
        if not len(close.frame):
            return None
        hit = frames[np.unique(close.frame)]
        near, rows = _detect(q[hit], pair_margin + ACTIVATION_M, True, group)
        near.frame = hit[near.frame]
        return near, rows

    q = q0
    found = constraints(np.arange(len(q0))) if max_rounds > 0 else None
    if found is None:
        return q0
    lo, hi = bounds[joints, 0], bounds[joints, 1]
    required = np.zeros((len(q0), len(joints)))
    corr = np.zeros_like(required)
    for r in range(max_rounds):
        near, rows = found
        m_row = pair_margin[near.pair]
        target = m_row + (STEP_TARGET_M - MARGIN_M)
        row_scale = None if scale is None else scale[near.frame]
        dq, at = _solve(rows, target - near.dist, near.frame, near.dist < m_row, row_scale)
        required[at] = corr[at] + dq
        corr = _spread(required, fps, smooth)
        q = q0.copy()
        q[:, joints] = np.clip(q0[:, joints] + corr, lo, hi)
        if r + 1 == max_rounds:
            break
        found = constraints(np.flatnonzero(np.any(corr != 0, axis=1)))
        if found is None:
            break
    return q
