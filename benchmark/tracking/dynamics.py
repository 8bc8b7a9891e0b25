"""MuJoCo inverse dynamics of a reference motion (feasibility columns, pd-ff feed-forward).

``mj_inverse`` on the reference's qpos, qvel and qacc without contacts gives the generalised
force the motion needs; the ground can supply part of the root's share through the feet
(non-negative forces in linearised friction cones at the foot contact spheres near the floor,
fitted by non-negative least squares); what is left is the residual root force [N] and torque
[N m], a non-physical "hand of god" (lower is more feasible). Joint torques are the joint part
after subtracting contact forces from a second fit: among the forces giving (almost exactly)
that least-residual root wrench, the ones that need the least joint effort (torques in units of
their effort limits), because the first fit's solution is a sparse vertex that jumps between
feet from frame to frame. The fraction of frames where any joint torque exceeds the G1 effort
limits is reported. :func:`reference_dynamics` returns the per-frame quantities.

Accelerations are differences at the control rate (model timestep x decimation) unless a rate
is given.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from nmr_gym.envs.config import control_fps
from nmr_gym.g1 import spec
from nmr_gym.motion import RobotMotion

#: Inverse dynamics: a foot contact sphere counts as touching below this height [m].
CONTACT_HEIGHT = 0.02
#: Friction coefficient of the linearised friction cones (4 edges) used for the ground forces.
ID_FRICTION = 1.0
#: Inverse dynamics, second contact fit: weight [1/N] of the root-wrench rows against the joint
#: torques in units of their effort limits, so that 0.01 N of root wrench weighs as much as a
#: joint's whole effort limit (the root wrench of the first fit is kept almost exactly).
ID_ROOT_WEIGHT = 100.0
#: Inverse dynamics, second contact fit: weight [1/N] of the contact forces themselves (makes
#: the fit unique where forces inside one foot cancel out in every joint).
ID_FORCE_REGULARISATION = 1e-3
#: Torque-limit check tolerance: |tau| > (1 + tol) * limit counts as exceeding.
TORQUE_LIMIT_TOLERANCE = 0.0


def _foot_spheres(model: mujoco.MjModel) -> tuple[np.ndarray, np.ndarray]:
    feet = [model.body(b).id for b in spec.FOOT_BODIES]
    sph = np.flatnonzero(
        (model.geom_type == mujoco.mjtGeom.mjGEOM_SPHERE) & np.isin(model.geom_bodyid, feet)
    )
    return sph, model.geom_size[sph, 0]


@dataclass(frozen=True)
class ReferenceDynamics:
    """Per-frame MuJoCo inverse dynamics of a reference (T frames at ``fps``).

    ``root_force_n`` (T, 3) [N] and ``root_torque_nm`` (T, 3) [N m]: the residual generalised
    force on the free joint that the fitted ground forces cannot supply (world-frame force, the
    torque in MuJoCo's free-joint convention, i.e. about the pelvis axes); ``joint_torque_nm``
    (T, 29) [N m]: the joint torques the motion needs, contact forces subtracted, G1 joint order.
    """

    fps: float
    root_force_n: np.ndarray  # (T, 3)
    root_torque_nm: np.ndarray  # (T, 3)
    joint_torque_nm: np.ndarray  # (T, 29)


def reference_dynamics(
    motion: RobotMotion, fps: float | None = None, model: mujoco.MjModel | None = None
) -> ReferenceDynamics:
    """Per-frame inverse dynamics of ``motion`` resampled to ``fps`` (see the module docstring).

    ``fps``: default the tracking env's control rate. ``model``: the MuJoCo model to use
    (copied; default ``nmr_gym.g1.tracking_model()``, whose joints carry the armatures the
    actuators must also accelerate). qacc is the central difference of qvel at ``fps``. One
    function for :func:`inverse_dynamics` (feasibility columns) and
    :class:`PDFeedForwardPolicy` (torque feed-forward).
    """
    import copy

    from scipy.optimize import nnls

    from nmr_gym.g1 import tracking_model

    m = tracking_model() if model is None else copy.copy(model)
    fps = control_fps(m) if fps is None else float(fps)
    m.opt.disableflags |= int(mujoco.mjtDisableBit.mjDSBL_CONTACT)
    d = mujoco.MjData(m)
    ref = motion.resample(fps) if motion.fps != fps else motion
    qpos, qvel = ref.qpos, ref.qvel
    qacc = np.gradient(qvel, 1.0 / fps, axis=0)
    sph, radius = _foot_spheres(m)
    mu = ID_FRICTION
    # Force directions of the 4 friction-cone edges (world), each n + mu * t.
    edges = np.array([[mu, 0, 1], [-mu, 0, 1], [0, mu, 1], [0, -mu, 1]], float)
    edges /= np.linalg.norm(edges, axis=1, keepdims=True)
    jacp = np.zeros((3, m.nv))
    inv_limit = (1.0 / spec.EFFORT_LIMIT)[:, None]  # (29, 1)
    need_all = np.empty((ref.n_frames, m.nv))  # (T, 35)
    for t in range(ref.n_frames):
        d.qpos[:], d.qvel[:], d.qacc[:] = qpos[t], qvel[t], qacc[t]
        mujoco.mj_inverse(m, d)
        need = d.qfrc_inverse.copy()  # (nv,)
        touching = np.flatnonzero(d.geom_xpos[sph, 2] - radius <= CONTACT_HEIGHT)
        cols = []
        for g in sph[touching]:  # at most 8 contact points per frame
            point = d.geom_xpos[g] - np.array([0.0, 0.0, m.geom_size[g, 0]])
            mujoco.mj_jac(m, d, jacp, None, point, int(m.geom_bodyid[g]))
            cols.append(jacp.T @ edges.T)  # (nv, 4): generalised force per unit edge force
        if cols:
            basis = np.concatenate(cols, axis=1)  # (nv, k)
            coef, _ = nnls(basis[:6], need[:6])  # the least residual root wrench
            root = need[:6] - basis[:6] @ coef
            # Among the contact forces giving (almost) that root wrench, the ones needing the
            # least joint effort: a vertex of the first fit (NNLS is sparse) can put the whole
            # weight on one foot edge one frame and the other foot the next.
            k = basis.shape[1]
            system = np.concatenate(
                [
                    ID_ROOT_WEIGHT * basis[:6],
                    basis[6:] * inv_limit,
                    ID_FORCE_REGULARISATION * np.eye(k),
                ]
            )
            rhs = np.concatenate(
                [ID_ROOT_WEIGHT * (need[:6] - root), need[6:] * inv_limit[:, 0], np.zeros(k)]
            )
            coef, _ = nnls(system, rhs)
            need = need - basis @ coef
            need[:6] = root
        need_all[t] = need
    return ReferenceDynamics(
        fps=float(fps),
        root_force_n=need_all[:, :3],
        root_torque_nm=need_all[:, 3:6],
        joint_torque_nm=need_all[:, 6:],
    )


def inverse_dynamics(motion: RobotMotion, fps: float | None = None) -> dict[str, float]:
    """Residual root force/torque and torque-limit violations of a reference motion.

    Returns ``id_root_force_n`` / ``id_root_torque_nm`` (mean over frames of the residual's
    norm), their maxima (``*_max``), and ``id_torque_limit_pct`` (percent of frames where any
    joint torque exceeds its effort limit).
    """
    dyn = reference_dynamics(motion, fps)
    force = np.linalg.norm(dyn.root_force_n, axis=1)
    torque = np.linalg.norm(dyn.root_torque_nm, axis=1)
    limit = spec.EFFORT_LIMIT * (1.0 + TORQUE_LIMIT_TOLERANCE)
    over = np.any(np.abs(dyn.joint_torque_nm) > limit, axis=1)
    return {
        "id_root_force_n": float(force.mean()),
        "id_root_force_n_max": float(force.max()),
        "id_root_torque_nm": float(torque.mean()),
        "id_root_torque_nm_max": float(torque.max()),
        "id_torque_limit_pct": 100.0 * float(np.mean(over)),
    }
