"""GMR's two-stage differential IK on the reference G1, shared by ``gmr`` and ``gmr-safe``.

Per frame (warm-started from the previous frame's solution), for stage 1 then stage 2:

1. e = |stacked frame-task errors of the stage| (unweighted, as GMR's ``error1/error2``);
2. solve the mink QP ``min sum_i ||W_i (J_i dq + e_i)||^2 + (damping + mu) ||dq||^2`` with
   ``mu = lm_damping * sum_i ||W_i e_i||^2`` (mink's per-task Levenberg-Marquardt term; GMR
   builds its frame tasks with ``lm_damping=1``) subject to the joint limits
   (``mink.ConfigurationLimit``, gain 0.95) and, when enabled, the joint velocity limit; then
   integrate dq;
3. repeat while the error drops by more than ``convergence_tol``, at most ``max_extra_iters``
   more times.

The velocity limit. GMR builds ``mink.VelocityLimit`` at 3π rad/s but passes the limits list in
the position of ``solve_ik``'s ``safety_break`` argument, so no limit reaches its solver (only
mink's default ``ConfigurationLimit``). ``gmr`` reproduces that (``max_joint_vel=None``);
``gmr-safe`` passes it. The bound applies to the *output motion*: every hinge moves at most
``max_joint_vel / fps`` between consecutive frames (mink's ``VelocityLimit`` evaluated with the
frame period, measured from the previous frame's solution, so it holds however many IK steps a
frame takes). The first frame has no predecessor and no velocity bound.

Two additions that GMR does not have, both used by ``gmr-safe`` and switchable (they are what
makes its output beat the original on the benchmark's near-limit and self-collision columns):
``limit_margin`` keeps joints 0.06 rad inside the Menagerie ranges (GMR's own G1 file tightens
several ranges instead), and ``avoid_self_collision`` adds mink's ``CollisionAvoidanceLimit``
between legs, arms and trunk (linearised once per frame, re-checked at the frame's solution, and
a pair left too close is pushed apart by up to ``COLLISION_PASSES`` more stage-2 solves; see
:class:`_FrameCollisionLimit`).
With ``limit_margin=0, avoid_self_collision=False, max_joint_vel=None, lm_damping=1`` the solver
is GMR's.

Two backends compute exactly the same QPs:

- ``"mink"``: ``mink.FrameTask`` objects and ``mink.solve_ik`` (via qpsolvers); the reference.
- ``"fast"`` (default): the same objective assembled from mink's native SE(3) helpers and
  MuJoCo Jacobians, with both limits (boxes on dq) passed to DAQP as simple bounds. Written by
  hand because profiling the mink path showed most of a frame's time in per-call Python
  overhead (task objects, qpsolvers' problem conversion, stacking G/h matrices of identity rows,
  the per-solve limit check), not in kinematics or the QP itself. ``tests/test_gmr.py`` and
  ``tests/test_gmr_published.py`` check the two backends agree. The SE(3) helpers are mink's
  compiled ``mink.lie._lie_ops_c`` (private: called once per body and IK step, where the public
  ``mink.SE3`` objects cost more than the rest of the step); pyproject pins mink's minor version
  and ``tests/test_gmr_published.py`` checks them against the public API.
"""

from __future__ import annotations

import math

import daqp
import mink
import mujoco
import numpy as np
from mink.lie import _lie_ops_c as lie
from mink.limits.collision_avoidance_limit import compute_contact_normal_jacobian

from nmr_gym.g1 import collision_geom_mask, spec
from retargeters.gmr.tables import MappingTable

#: GMR's solver settings.
DAMPING = 0.5
SOLVER = "daqp"
CONVERGENCE_TOL = 1e-3  # stop when the error norm drops by no more than this
MAX_EXTRA_ITERS = 10  # iterations after the first solve of a stage
MAX_JOINT_VEL = 3.0 * math.pi  # [rad/s], GMR's (intended) velocity limit
CONFIG_LIMIT_GAIN = 0.95  # mink.ConfigurationLimit default, as GMR uses it
#: Joints stay this far inside the reference G1's ranges [rad] (mink.ConfigurationLimit's
#: ``min_distance_from_limits``). Not in GMR, which runs on its own G1 file with tightened
#: ranges (e.g. hip pitch ±1.57) instead; on the Menagerie ranges a joint parked on a hard
#: limit (ankle roll ±0.26, waist pitch ±0.52) is both a tracking hazard (BeyondMimic penalises
#: the outer 10% of each range) and a "near-limit" frame for the benchmark, which counts joints
#: within 0.05 rad of a limit. 0 reproduces GMR's limit exactly.
LIMIT_MARGIN = 0.06
#: Self-collision avoidance (not in GMR): mink.CollisionAvoidanceLimit between the body groups
#: of ``COLLISION_GROUPS`` (legs vs legs, arms vs legs and trunk, trunk vs thighs), active when
#: two collision geoms come closer than COLLISION_DETECTION_M at the start of a frame; within the
#: frame, the gap may close by at most COLLISION_GAIN * (distance - COLLISION_MIN_DISTANCE_M)
#: (mink's rule with dt = 1, linearised at the frame's warm start; see _FrameCollisionLimit).
COLLISION_DETECTION_M = 0.05
COLLISION_MIN_DISTANCE_M = 0.005
COLLISION_GAIN = 0.85
#: After a frame's IK, the collision rows are evaluated again at its solution; while a guarded
#: pair is closer than COLLISION_MIN_DISTANCE_M there, stage 2 runs again under the new rows,
#: at most this many times. Needed because one linearisation per frame only sees pairs that
#: were within COLLISION_DETECTION_M at the warm start: the first frame (warm-started from
#: GMR's arms-out initial pose) and fast 30 fps arm swings move a forearm more than that within
#: one frame, into the hip links, unguarded. mink's rows never push a penetrating pair apart
#: (their bound is 0: "no deeper"), so such a contact then lasted for the whole clip (100% of
#: the frames of several Bandai Namco clips); see _FrameCollisionLimit.linearize.
COLLISION_PASSES = 2
#: hip_pitch_link (the upper-thigh housing beside the pelvis) is where a hanging forearm meets
#: the leg; leaving it out let forearms sink 2 cm into it in arm-down clips (Bandai Namco,
#: ACCAD B13: 16-89% of frames).
_LEG = spec.LEG_LINKS
_ARM = (
    "shoulder_roll_link",
    "shoulder_yaw_link",
    "elbow_link",
    "wrist_roll_link",
    "wrist_pitch_link",
)
_THIGH = ("hip_roll_link", "hip_yaw_link", "knee_link")
_TRUNK = ("pelvis", "torso_link")


def _side(side: str, links: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{side}_{b}" for b in links)


#: Pairs of body groups whose collision geoms are kept apart (hands, i.e. the wrist_yaw links,
#: are left out, as in the benchmark's self-collision metric).
COLLISION_GROUPS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (_side("left", _LEG), _side("right", _LEG)),
    (_side("left", _ARM), _side("right", _ARM)),
    (
        _side("left", _ARM) + _side("right", _ARM),
        _side("left", _LEG) + _side("right", _LEG) + _TRUNK,
    ),
    (_TRUNK, _side("left", _THIGH) + _side("right", _THIGH)),
)

_FREE_DOFS = 6  # the floating base's dofs come first in qvel
_INF = 1e30  # DAQP's infinity

#: GMR's initial pose of its SMPL-X config (``robot_initial_qpos``), left/right mirrored; the
#: first frame of ``gmr-safe`` starts from it (``gmr`` takes it from its table).
INITIAL_JOINT_POS: dict[str, float] = {}
for _s_name, _s in (("left", 1.0), ("right", -1.0)):
    INITIAL_JOINT_POS.update(
        {
            f"{_s_name}_shoulder_pitch_joint": -0.57,
            f"{_s_name}_shoulder_roll_joint": 0.87 * _s,
            f"{_s_name}_elbow_joint": 0.57,
            f"{_s_name}_hip_pitch_joint": -0.57,
            f"{_s_name}_hip_roll_joint": 0.3 * _s,
            f"{_s_name}_hip_yaw_joint": 0.3 * _s,
            f"{_s_name}_knee_joint": 0.8,
        }
    )


def initial_joint_pos() -> np.ndarray:
    """GMR's first-frame joint positions [rad], (29,)."""
    q = np.zeros(spec.NUM_JOINTS)
    for name, value in INITIAL_JOINT_POS.items():
        q[spec.joint_index(name)] = value
    return q


class _FrameVelocityLimit(mink.VelocityLimit):
    """mink's VelocityLimit measured from the previous frame's solution.

    ``dq`` must keep ``|q + dq - q_prev| <= v_max * frame_dt`` on every limited joint.
    """

    def __init__(self, model: mujoco.MjModel, max_vel: float, frame_dt: float):
        hinges = {spec.JOINT_NAMES[i]: max_vel for i in range(spec.NUM_JOINTS)}
        super().__init__(model, hinges)
        self.frame_dt = frame_dt
        self.model = model
        self.q_prev: np.ndarray | None = None

    def compute_qp_inequalities(self, configuration: mink.Configuration, dt: float):
        if self.q_prev is None:
            return mink.limits.Constraint()
        moved = np.empty(self.model.nv)
        mujoco.mj_differentiatePos(self.model, moved, 1.0, self.q_prev, configuration.q)
        moved = moved[self.indices]
        room = self.frame_dt * self.limit
        proj = self.projection_matrix
        return mink.limits.Constraint(
            G=np.vstack([proj, -proj]), h=np.hstack([room - moved, room + moved])
        )


#: Regularisation of :func:`hull_distance`'s QP (its objective alone is only semidefinite):
#: pulls each witness point towards its geom's centre with this weight, which moves the
#: distance by far less than a micrometre at the G1's sizes.
_HULL_QP_REG = 1e-6


class _MeshHulls:
    """Facets of every mesh's convex hull (scipy's Qhull, in the mesh frame), built on first
    use: ``normals @ x <= offsets`` inside the hull."""

    def __init__(self, model: mujoco.MjModel):
        self.model = model
        self._facets: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def facets(self, mesh: int) -> tuple[np.ndarray, np.ndarray]:
        if mesh not in self._facets:
            from scipy.spatial import ConvexHull

            m = self.model
            start, n = int(m.mesh_vertadr[mesh]), int(m.mesh_vertnum[mesh])
            eq = ConvexHull(np.asarray(m.mesh_vert[start : start + n], dtype=float)).equations
            self._facets[mesh] = (eq[:, :3].copy(), -eq[:, 3].copy())
        return self._facets[mesh]


def hull_distance(
    model: mujoco.MjModel, data: mujoco.MjData, g1: int, g2: int, hulls: _MeshHulls,
    fromto: np.ndarray,
) -> float:  # fmt: skip
    """Distance [m] between the convex hulls of mesh geoms ``g1`` and ``g2`` (0 when they
    overlap), and the witness points written to ``fromto`` (on ``g1``, then on ``g2``), from
    the QP ``min |x - y|^2`` over x in hull 1, y in hull 2 (DAQP); nan when DAQP fails."""
    rows, bounds = [], []
    for k, g in enumerate((g1, g2)):
        normals, offsets = hulls.facets(int(model.geom_dataid[g]))
        rot, pos = data.geom_xmat[g].reshape(3, 3), data.geom_xpos[g]
        n_w = normals @ rot.T  # facet normals in the world frame
        block = np.zeros((len(n_w), 6))
        block[:, 3 * k : 3 * k + 3] = n_w
        rows.append(block)
        bounds.append(offsets + n_w @ pos)
    eye = np.eye(3)
    h = 2.0 * np.block([[eye, -eye], [-eye, eye]]) + 2.0 * _HULL_QP_REG * np.eye(6)
    c = -2.0 * _HULL_QP_REG * np.concatenate([data.geom_xpos[g1], data.geom_xpos[g2]])
    a = np.vstack(rows)
    upper = np.concatenate(bounds)
    x, _, exitflag, _ = daqp.solve(h, c, a, upper, np.full(len(upper), -_INF))
    if exitflag < 1:
        return math.nan
    fromto[:] = x
    return float(np.linalg.norm(x[:3] - x[3:]))


def geom_distance(
    model: mujoco.MjModel,
    data: mujoco.MjData,
    g1: int,
    g2: int,
    distmax: float,
    fromto: np.ndarray,
    hulls: _MeshHulls,
) -> tuple[float, bool]:
    """``mujoco.mj_geomDistance`` (distances up to ``distmax``), corrected where MuJoCo 3.11 is
    wrong; returns (distance [m], whether it was corrected).

    MuJoCo 3.11's native convex-collision code (the version mjlab 1.6 pins) returns exactly 0
    for some separated mesh-mesh pairs: on the gmr-safe output of two Bandai Namco clips, 70 of
    80,500 guarded-pair queries gave 0 where MuJoCo 4.0 gives 5-39 mm, and an exact hull QP
    agrees with 4.0 (every other query agreed to 1e-6). mink then reads such a pair as touching
    with garbage witness points, and the recovery pass pushes the limbs along a wrong normal.
    A true distance of exactly 0 has measure zero, so a 0 on a mesh pair is re-measured by
    :func:`hull_distance` (MuJoCo treats a mesh geom as its convex hull).
    """
    dist = mujoco.mj_geomDistance(model, data, g1, g2, distmax, fromto)
    mesh = mujoco.mjtGeom.mjGEOM_MESH
    if dist != 0.0 or model.geom_type[g1] != mesh or model.geom_type[g2] != mesh:
        return dist, False
    witness = np.empty(6)
    exact = hull_distance(model, data, g1, g2, hulls, witness)
    if not np.isfinite(exact) or exact == 0.0:
        return dist, False
    fromto[:] = witness
    return min(exact, distmax), True


class _FrameCollisionLimit(mink.CollisionAvoidanceLimit):
    """mink's CollisionAvoidanceLimit over ``COLLISION_GROUPS``, linearised once per frame.

    :meth:`linearize` evaluates mink's rows (G, h) (dt = 1: h = gain (d - d_min)) at the
    frame's warm-start configuration q0; every IK step of the frame then keeps
    G (q + dq - q0) <= h, i.e. G dq <= h - G (q - q0). One distance query per pair and frame
    instead of one per IK step: the narrow-phase distances cost more than the rest of a step.
    """

    def __init__(self, model: mujoco.MjModel):
        geoms: dict[str, list[int]] = {}
        for g in np.flatnonzero(collision_geom_mask(model)):
            geoms.setdefault(model.body(model.geom_bodyid[g]).name, []).append(int(g))
        pairs = [
            ([g for b in a for g in geoms[b]], [g for b in bb for g in geoms[b]])
            for a, bb in COLLISION_GROUPS
        ]
        super().__init__(
            model,
            pairs,
            gain=COLLISION_GAIN,
            minimum_distance_from_collisions=COLLISION_MIN_DISTANCE_M,
            collision_detection_distance=COLLISION_DETECTION_M,
        )
        self._hulls = _MeshHulls(model)
        self._g = np.zeros((0, model.nv))
        self._h = np.zeros(0)
        self._q0 = np.zeros(model.nq)
        self._moved = np.zeros(model.nv)

    def linearize(self, configuration: mink.Configuration, recover: bool = False) -> float:
        """Rows at ``configuration``; with ``recover``, returns the smallest guarded-pair
        distance [m] (inf if no pair is within the detection distance; nan without it).

        mink bounds a pair closer than the minimum distance by 0 (it may not get closer, but
        nothing moves it apart), so a penetration, once there, stays. With ``recover`` such a
        pair gets mink's velocity-damper bound ``gain (d - d_min)`` also when it is negative,
        which asks the step to separate the pair. Those rows can make the QP infeasible (a
        joint limit in the way), so only the correction pass of ``solve_frame`` uses them.

        Pairs mink found closer than the minimum distance are measured again with
        :func:`geom_distance`, which corrects MuJoCo 3.11's spurious zero distances (row and
        bound recomputed at the corrected distance; a pair that is then beyond the detection
        distance leaves the rows).
        """
        con = super().compute_qp_inequalities(configuration, 1.0)
        active = np.flatnonzero(np.isfinite(con.h))
        self._g = np.ascontiguousarray(con.G[active])
        self._h = con.h[active].copy()
        self._q0[:] = configuration.data.qpos
        data = configuration.data
        keep = np.ones(len(active), dtype=bool)
        for row in np.flatnonzero(self._h <= self.bound_relaxation):
            g1, g2 = self.geom_id_pairs[active[row]]
            dist, corrected = geom_distance(
                self.model, data, g1, g2, self.collision_detection_distance, self._fromto,
                self._hulls,
            )  # fmt: skip
            if corrected:  # mink's row came from a wrong distance and witness points
                if dist >= self.collision_detection_distance:
                    keep[row] = False
                    continue
                sign = -1.0 if dist >= 0 else 1.0
                self._g[row] = sign * compute_contact_normal_jacobian(
                    self.model, data, g1, g2, self._fromto, self._normal, self._jac1, self._jac2
                )
                gap = self.gain * (dist - self.minimum_distance_from_collisions)
                self._h[row] = max(gap, 0.0) + self.bound_relaxation
            if recover:
                self._h[row] = self.gain * (dist - self.minimum_distance_from_collisions)
        self._g, self._h = np.ascontiguousarray(self._g[keep]), self._h[keep]
        if not recover:
            return math.nan
        if not len(self._h):
            return math.inf
        return self.minimum_distance_from_collisions + float(np.min(self._h)) / self.gain

    def rows(self, configuration: mink.Configuration) -> tuple[np.ndarray, np.ndarray]:
        """(G, h') of G dq <= h' at the current configuration."""
        if not len(self._h):
            return self._g, self._h
        mujoco.mj_differentiatePos(self.model, self._moved, 1.0, self._q0, configuration.data.qpos)
        return self._g, self._h - self._g @ self._moved

    def compute_qp_inequalities(self, configuration: mink.Configuration, dt: float):
        g, h = self.rows(configuration)
        return mink.limits.Constraint(G=g, h=h) if len(h) else mink.limits.Constraint()


class GMRSolver:
    """Two-stage IK for one clip at a time (create one per worker; not thread-safe)."""

    def __init__(
        self,
        model: mujoco.MjModel,
        table: MappingTable,
        fps: float,
        *,
        damping: float = DAMPING,
        solver: str = SOLVER,
        convergence_tol: float = CONVERGENCE_TOL,
        max_extra_iters: int = MAX_EXTRA_ITERS,
        max_joint_vel: float | None = MAX_JOINT_VEL,
        limit_margin: float = LIMIT_MARGIN,
        avoid_self_collision: bool = True,
        backend: str = "fast",
        lm_damping: float = 0.0,
    ):
        if backend not in ("fast", "mink"):
            raise ValueError(f"backend must be 'fast' or 'mink', got {backend!r}")
        if not (np.isfinite(lm_damping) and lm_damping >= 0):
            raise ValueError(f"lm_damping must be a finite number >= 0, got {lm_damping!r}")
        if backend == "fast" and solver != "daqp":
            raise ValueError(
                f"the 'fast' backend calls DAQP directly; use backend='mink' for solver={solver!r}"
            )
        self.model = model
        self.table = table
        self.damping = float(damping)
        self.solver = solver
        self.tol = float(convergence_tol)
        self.max_extra = int(max_extra_iters)
        self.max_joint_vel = max_joint_vel
        self.frame_dt = 1.0 / fps
        self.ik_dt = model.opt.timestep  # GMR's dt (only scales v = dq / dt)
        self.backend = backend
        self.lm_damping = float(lm_damping)
        self.config = mink.Configuration(model)
        self.data = self.config.data
        self.body_ids = np.array([model.body(b).id for b in table.robot_bodies])
        n = len(table.bodies)
        # (stage, body) costs; a body with no weight in a stage has no task there (as GMR).
        self.costs = []
        self.stage_bodies = []
        for stage in (0, 1):
            w = np.array([(b.stage1_weights, b.stage2_weights)[stage] for b in table.bodies])
            active = np.flatnonzero(w.sum(axis=1) > 0)
            cost = np.repeat(w, 3, axis=1)  # (B, 6): position xyz, rotation xyz
            self.costs.append(cost)
            self.stage_bodies.append(active)
        self.targets = np.zeros((n, 7))  # wxyz_xyz per body
        # Limits: joint range (mink.ConfigurationLimit) and the frame velocity limit.
        self.config_limit = mink.ConfigurationLimit(
            model, gain=CONFIG_LIMIT_GAIN, min_distance_from_limits=limit_margin
        )
        self.vel_limit = (
            None
            if max_joint_vel is None
            else _FrameVelocityLimit(model, max_joint_vel, self.frame_dt)
        )
        self.collision_limit = _FrameCollisionLimit(model) if avoid_self_collision else None
        self._hinge_lo = self.config_limit.lower[7:]
        self._hinge_hi = self.config_limit.upper[7:]
        if backend == "mink":
            self.tasks = [
                [
                    mink.FrameTask(
                        b.robot_body,
                        "body",
                        position_cost=c[i, :3].tolist(),
                        orientation_cost=c[i, 3:].tolist(),
                        lm_damping=self.lm_damping,
                    )
                    for i, b in enumerate(table.bodies)
                ]
                for c in self.costs
            ]
        self._jac = np.empty((n, 6, model.nv))
        self._jlog = np.empty((n, 6, 6))
        self._jac_ok = False
        self._err = np.empty((n, 6))
        self._frames = np.empty((n, 7))
        self._root_id = int(model.body_rootid[self.body_ids[0]])
        # (B, nv) 1 where a dof moves the body (its ancestor chain), as mj_jac walks it
        self._ancestors = np.zeros((n, model.nv))
        for i, b in enumerate(self.body_ids):
            while b > 0 and model.body_dofnum[b] == 0:
                b = model.body_parentid[b]
            dof = model.body_dofadr[b] + model.body_dofnum[b] - 1 if b > 0 else -1
            while dof >= 0:
                self._ancestors[i, dof] = 1.0
                dof = model.dof_parentid[dof]
        self._lo = np.full(model.nv, -_INF)
        self._hi = np.full(model.nv, _INF)
        self._no_rows = np.zeros((0, model.nv))
        self._skew = np.zeros((n, 3, 3))
        self._q_prev: np.ndarray | None = None
        self._rows_fresh = False  # collision rows already linearised at the current qpos
        self.n_solves = 0

    # ------------------------------------------------------------------ state and targets
    def reset(self, qpos: np.ndarray) -> None:
        """Start a clip at ``qpos`` (36,); the next frame has no velocity bound."""
        self.data.qpos[:] = qpos
        self._fk()
        self._q_prev = None
        self._rows_fresh = False

    def _fk(self) -> None:
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_comPos(self.model, self.data)
        self._jac_ok = False
        if self.backend == "fast":
            self._compute_errors()

    def _set_targets(self, pos: np.ndarray, quat: np.ndarray) -> None:
        self.targets[:, :4] = quat
        self.targets[:, 4:] = pos
        if self.backend == "mink":
            for stage_tasks in self.tasks:
                for i, task in enumerate(stage_tasks):
                    task.set_target(mink.SE3(self.targets[i].copy()))
        else:
            self._compute_errors()

    # ------------------------------------------------------------------ fast backend
    def _compute_errors(self) -> None:
        """Body poses (wxyz_xyz) and mink's frame-task errors of every mapped body."""
        ids = self.body_ids
        self._frames[:, :4] = self.data.xquat[ids]
        self._frames[:, 4:] = self.data.xpos[ids]
        for i in range(len(ids)):
            self._err[i] = lie.se3_rminus(self.targets[i], self._frames[i])
        self._jac_ok = False

    def _jacobians(self) -> np.ndarray:
        """mink's ``FrameTask.compute_jacobian`` of every mapped body, (B, 6, nv).

        The MuJoCo body Jacobians (``mj_jacBody``: cdof columns of the body's ancestor dofs,
        linear part at the body origin) are assembled for all bodies at once from ``cdof``,
        rotated into the body frame, and multiplied by -jlog(T_target^-1 T_body) as in mink.
        """
        if self._jac_ok:
            return self._jac
        d = self.data
        ids = self.body_ids
        cdof = d.cdof  # (nv, 6): [angular, linear] at the subtree com of the root
        o = d.xpos[ids] - d.subtree_com[self._root_id]  # (B, 3) offset from the root com
        skew = self._skew  # (B, 3, 3): skew(o) @ v = o x v
        skew[:, 0, 1], skew[:, 0, 2], skew[:, 1, 2] = -o[:, 2], o[:, 1], -o[:, 0]
        skew[:, 1, 0], skew[:, 2, 0], skew[:, 2, 1] = o[:, 2], -o[:, 1], o[:, 0]
        ang_t, lin_t = cdof[:, :3].T, cdof[:, 3:].T  # (3, nv) each
        rot_t = d.xmat[ids].reshape(-1, 3, 3).transpose(0, 2, 1)  # world -> body
        body_jac = np.empty((len(ids), 6, self.model.nv))
        body_jac[:, :3] = rot_t @ (lin_t - skew @ ang_t)  # lin + ang x o, in the body frame
        body_jac[:, 3:] = rot_t @ ang_t
        body_jac *= self._ancestors[:, None]
        for i in range(len(ids)):
            t_tb = lie.se3_inverse_multiply(self.targets[i], self._frames[i])
            self._jlog[i] = lie.se3_jlog(t_tb)
        np.matmul(-self._jlog, body_jac, out=self._jac)
        self._jac_ok = True
        return self._jac

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Box on dq: the ConfigurationLimit rows and the frame velocity rows, intersected."""
        q = self.data.qpos[7:]
        lo, hi = self._lo, self._hi
        np.multiply(self._hinge_lo - q, CONFIG_LIMIT_GAIN, out=lo[_FREE_DOFS:])
        np.multiply(self._hinge_hi - q, CONFIG_LIMIT_GAIN, out=hi[_FREE_DOFS:])
        if self.vel_limit is not None and self._q_prev is not None:
            room = self.max_joint_vel * self.frame_dt
            moved = q - self._q_prev[7:]
            np.maximum(lo[_FREE_DOFS:], -room - moved, out=lo[_FREE_DOFS:])
            np.minimum(hi[_FREE_DOFS:], room - moved, out=hi[_FREE_DOFS:])
        return lo, hi

    def _solve_fast(self, stage: int) -> np.ndarray:
        active = self.stage_bodies[stage]
        cost = self.costs[stage][active]  # (A, 6)
        w_jac = (cost[:, :, None] * self._jacobians()[active]).reshape(-1, self.model.nv)
        w_err = (cost * -self._err[active]).ravel()
        h = w_jac.T @ w_jac
        # mink's per-task Levenberg-Marquardt term: lm_damping * ||W e||^2 on the diagonal
        mu = self.lm_damping * float(w_err @ w_err) if self.lm_damping else 0.0
        h.flat[:: self.model.nv + 1] += self.damping + mu
        c = -(w_err @ w_jac)
        lo, hi = self._bounds()
        if self.collision_limit is not None:
            g_rows, h_rows = self.collision_limit.rows(self.config)
            if len(h_rows):
                x, _, exitflag, _ = daqp.solve(
                    h,
                    c,
                    g_rows,
                    np.concatenate([hi, h_rows]),
                    np.concatenate([lo, np.full(len(h_rows), -_INF)]),
                )
                if exitflag < 1:
                    raise mink.NoSolutionFound(f"daqp (exit flag {exitflag})")
                return x
        x, _, exitflag, _ = daqp.solve(h, c, self._no_rows, hi, lo)
        if exitflag < 1:
            raise mink.NoSolutionFound(f"daqp (exit flag {exitflag})")
        return x

    # ------------------------------------------------------------------ mink backend
    def _solve_mink(self, stage: int) -> np.ndarray:
        tasks = [self.tasks[stage][i] for i in self.stage_bodies[stage]]
        limits: list = [self.config_limit]
        if self.vel_limit is not None:
            self.vel_limit.q_prev = self._q_prev
            limits.append(self.vel_limit)
        if self.collision_limit is not None:
            limits.append(self.collision_limit)
        v = mink.solve_ik(
            self.config,
            tasks,
            self.ik_dt,
            self.solver,
            damping=self.damping,
            safety_break=False,
            limits=limits,
        )
        return v * self.ik_dt

    def _stage_error(self, stage: int) -> float:
        active = self.stage_bodies[stage]
        if self.backend == "fast":
            return float(np.linalg.norm(self._err[active]))
        errs = [self.tasks[stage][i].compute_error(self.config) for i in active]
        return float(np.linalg.norm(np.concatenate(errs)))

    # ------------------------------------------------------------------ the GMR loop
    def _step(self, stage: int) -> None:
        dq = self._solve_fast(stage) if self.backend == "fast" else self._solve_mink(stage)
        mujoco.mj_integratePos(self.model, self.data.qpos, dq, 1.0)
        self._fk()
        self.n_solves += 1

    def _run_stage(self, stage: int) -> None:
        """GMR's loop for one stage: step while the error drops by more than ``tol``."""
        err = self._stage_error(stage)
        self._step(stage)
        nxt = self._stage_error(stage)
        extra = 0
        while err - nxt > self.tol and extra < self.max_extra:
            err = nxt
            self._step(stage)
            nxt = self._stage_error(stage)
            extra += 1

    def solve_frame(self, pos: np.ndarray, quat: np.ndarray) -> np.ndarray:
        """IK for one frame's targets (B, 3) and (B, 4); returns qpos (36,)."""
        self._set_targets(pos, quat)
        limit = self.collision_limit
        if limit is not None and not self._rows_fresh:
            limit.linearize(self.config)
        for stage in (0, 1):
            self._run_stage(stage)
        self._rows_fresh = False
        if limit is not None:
            for n_pass in range(COLLISION_PASSES + 1):
                if limit.linearize(self.config, recover=True) >= COLLISION_MIN_DISTANCE_M:
                    # no pair too close: these rows are mink's own at the output pose, i.e.
                    # at the next frame's warm start, so that frame reuses them
                    self._rows_fresh = True
                    break
                if n_pass == COLLISION_PASSES:
                    break
                try:
                    self._run_stage(1)
                except mink.NoSolutionFound:  # separation conflicts with a joint limit
                    break
        q = self.data.qpos.copy()
        self._q_prev = q
        return q

    def solve_clip(self, pos: np.ndarray, quat: np.ndarray, qpos0: np.ndarray) -> np.ndarray:
        """IK for every frame of (T, B, 3) / (T, B, 4) targets from ``qpos0``; qpos (T, 36)."""
        self.reset(qpos0)
        out = np.empty((pos.shape[0], self.model.nq))
        for t in range(pos.shape[0]):
            out[t] = self.solve_frame(pos[t], quat[t])
        return out
