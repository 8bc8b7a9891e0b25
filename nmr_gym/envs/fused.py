"""A fused single-robot evaluation of BeyondMimic's default term tables (an optimisation).

For one robot the batched term functions of :mod:`.mdp` cost about four times as much as this
scalar version (numpy's per-call overhead dominates on 1-row arrays), which is the difference
between a ~0.55 and a ~0.70 throughput ratio of the single env. It computes exactly the terms of
:data:`~nmr_gym.envs.mdp.BEYONDMIMIC_REWARDS`, :data:`~nmr_gym.envs.mdp.BEYONDMIMIC_TERMINATIONS`
and the actor observation, reading their weights, sigmas, thresholds and noise from the tables
in use; :func:`applies` says when the tables are those (any other table runs the batched
functions). ``tests/test_fused.py`` checks it against the tables on random states.
"""

from __future__ import annotations

import math

import numpy as np

from nmr_gym import rotations as rot
from nmr_gym.envs import mdp
from nmr_gym.envs.core import TRACKED_BODY_IDS, TrackingSim
from nmr_gym.envs.motion_library import ANCHOR_IN_TRACKED, END_EFFECTORS_IN_TRACKED

_REWARD_FUNCS = tuple((k, t.func) for k, t in mdp.BEYONDMIMIC_REWARDS.items())
_TERMINATION_FUNCS = tuple((k, t.func) for k, t in mdp.BEYONDMIMIC_TERMINATIONS.items())
_LEVI_CIVITA = np.zeros((3, 3, 3))
_LEVI_CIVITA[0, 1, 2] = _LEVI_CIVITA[1, 2, 0] = _LEVI_CIVITA[2, 0, 1] = 1.0
_LEVI_CIVITA[0, 2, 1] = _LEVI_CIVITA[2, 1, 0] = _LEVI_CIVITA[1, 0, 2] = -1.0


def applies(sim: TrackingSim) -> bool:
    """True when ``sim`` has one robot and BeyondMimic's reward and termination functions (in
    that order; weights and parameters may differ) and the actor observation table."""
    return (
        sim.num_robots == 1
        and tuple((k, t.func) for k, t in sim.rewards.items()) == _REWARD_FUNCS
        and tuple((k, t.func) for k, t in sim.terminations.items()) == _TERMINATION_FUNCS
        and list(sim.observation_groups["actor"]) == list(mdp.ACTOR_OBSERVATION)
        and all(
            t.func is mdp.ACTOR_OBSERVATION[k].func
            for k, t in sim.observation_groups["actor"].items()
        )
    )


class FusedTerms:
    """Rewards, errors, termination and actor observation of robot 0 of ``sim``."""

    def __init__(self, sim: TrackingSim):
        self.sim = sim
        self._tb = TRACKED_BODY_IDS
        self._rz_t = np.zeros((4, 3))  # rows 0-2: R_z(yaw)^T; row 3: the offset
        self._rz_t[2, 2] = 1.0
        self._actor = np.zeros(mdp.size(mdp.ACTOR_OBSERVATION))
        sl = mdp.slices(mdp.ACTOR_OBSERVATION)
        # Views of the actor buffer per term, in the table's order (the 6D orientation as its
        # (3, 2) matrix): written in place each step.
        self._views = [self._actor[sl[k]] for k in mdp.ACTOR_OBSERVATION]
        self._views[2] = self._views[2].reshape(3, 2)
        self._lq = np.zeros((4, 4))  # left multiplication by the yaw quaternion, rewritten
        # End-effector heights as flat indices into the (14, 3) tracked positions.
        self._ee_z = END_EFFECTORS_IN_TRACKED * 3 + 2
        self._mid = 0.5 * (sim.soft_lower + sim.soft_upper)
        self._half = 0.5 * (sim.soft_upper - sim.soft_lower)
        self._version = -1

    def _refresh_params(self) -> None:
        """Read the tables' sigmas, weights and thresholds (again after a change)."""
        sim = self.sim
        r, t = sim.rewards, sim.terminations
        names = ("anchor_pos", "anchor_ori", "body_pos", "body_ori", "body_lin_vel",
                 "body_ang_vel")  # fmt: skip
        self._inv_sigma_sq = [1.0 / r[k].params["sigma"] ** 2 for k in names]
        self._w = sim.weights.tolist()
        self._thresholds = [t[k].params["threshold"] for k in t]
        self._version = sim.table_version

    def __getstate__(self):
        return {"sim": self.sim}

    def __setstate__(self, state):
        self.__init__(state["sim"])

    def read_state(self) -> None:
        """Robot quantities (one numpy read each; ``take`` costs a third of fancy indexing)."""
        d = self.sim.datas[0]
        self._xpos = d.xpos.take(self._tb, 0)  # (14, 3)
        self._xquat = d.xquat.take(self._tb, 0)  # (14, 4)
        # (14, 6) [rot, lin] from cvel (about the pelvis subtree CoM, world axes), the linear
        # part moved to each body origin: v = v_com + w x (p - com). einsum with the
        # Levi-Civita tensor: np.cross costs ~20 us on 14 rows, this ~4 us.
        vel = d.cvel.take(self._tb, 0)
        vel[:, 3:] += np.einsum(
            "ijk,bj,bk->bi", _LEVI_CIVITA, vel[:, :3], self._xpos - d.subtree_com[1]
        )
        self._vel6 = vel
        self._anchor_pos = self._xpos[ANCHOR_IN_TRACKED]
        self._anchor_mat = d.xmat[self.sim.anchor_id].reshape(3, 3)

    def step(self, n_undesired: float) -> tuple[list[float], list[float], str]:
        """Reward terms (table order), errors (``mdp.ERRORS`` order) and the termination."""
        self.read_state()
        sim, lib, g = self.sim, self.sim.library, self.sim.g.item(0)
        if self._version != sim.table_version:
            self._refresh_params()
        inv = self._inv_sigma_sq
        ax, ay, az = self._anchor_pos.tolist()
        rx, ry, rz = lib.anchor_pos_w[g].tolist()
        anchor_pos_sq = (rx - ax) ** 2 + (ry - ay) ** 2 + (rz - az) ** 2
        qdot = abs(float(lib.anchor_quat_w[g] @ self._xquat[ANCHOR_IN_TRACKED]))
        anchor_ori = 2.0 * math.acos(min(qdot, 1.0))
        # Re-anchoring (mdp.TermInputs.yaw): heading of R_robot R_ref^T.
        c0, c1, _ = (self._anchor_mat @ lib.anchor_mat_w[g, 0]).tolist()
        yaw = math.atan2(c1, c0)
        c, s_ = math.cos(yaw), math.sin(yaw)
        t = self._rz_t  # homogeneous reference rows [rel, 1] @ t = R_z rel + offset
        t[0, 0] = t[1, 1] = c
        t[0, 1] = s_
        t[1, 0] = -s_
        t[3, 0] = ax
        t[3, 1] = ay
        t[3, 2] = rz
        e = lib.body_rel_anchor_h[g] @ t
        e -= self._xpos
        nb = e.shape[0]
        body_pos_sq = float(np.vdot(e, e)) / nb
        # (q_yaw ⊗ q_ref) . q_robot for every body, q_yaw ⊗ as a 4x4 matrix.
        # Written into a preallocated matrix from Python floats (no array per step).
        lq = rot.left_multiplication_matrix(
            (math.cos(0.5 * yaw), 0.0, 0.0, math.sin(0.5 * yaw)), out=self._lq
        )
        dots = np.abs(np.einsum("ij,ij->i", lib.body_quat_w[g] @ lq.T, self._xquat))
        ang = np.arccos(np.minimum(dots, 1.0, out=dots), out=dots)
        body_ori_sq = 4.0 * float(ang @ ang) / nb
        e = lib.body_vel6_w[g] - self._vel6
        sw0, sw1, sw2, sv0, sv1, sv2 = np.einsum("ij,ij->j", e, e).tolist()
        ang_sq = (sw0 + sw1 + sw2) / nb
        lin_sq = (sv0 + sv1 + sv2) / nb
        da = sim.action[0] - sim.last_action[0]
        q = sim.datas[0].qpos[7:]
        # Outside [lower, upper]: |q - mid| - half > 0 (one pass instead of two).
        over = np.abs(q - self._mid)
        over -= self._half
        np.maximum(over, 0.0, out=over)
        terms = [
            math.exp(-anchor_pos_sq * inv[0]),
            math.exp(-anchor_ori * anchor_ori * inv[1]),
            math.exp(-body_pos_sq * inv[2]),
            math.exp(-body_ori_sq * inv[3]),
            math.exp(-lin_sq * inv[4]),
            math.exp(-ang_sq * inv[5]),
            float(da @ da),
            float(over.sum()),
            float(n_undesired),
        ]
        errors = [
            math.sqrt(anchor_pos_sq),
            anchor_ori,
            math.sqrt(body_pos_sq),
            math.sqrt(body_ori_sq),
            float(np.abs(q - lib.joint_pos[g]).sum()) / q.size,
        ]
        return terms, errors, self._termination(g)

    def reward(self, terms: list[float]) -> float:
        w, t = self._w, terms
        return self.sim.dt * (
            w[0] * t[0] + w[1] * t[1] + w[2] * t[2] + w[3] * t[3] + w[4] * t[4]
            + w[5] * t[5] + w[6] * t[6] + w[7] * t[7] + w[8] * t[8]
        )  # fmt: skip

    def _termination(self, g: int) -> str:
        lib, th = self.sim.library, self._thresholds
        if abs(lib.anchor_pos_w[g, 2] - self._anchor_pos.item(2)) > th[0]:
            return "anchor_height"
        if abs(lib.anchor_mat_w[g, 2, 2] - self._anchor_mat.item(8)) > th[1]:
            return "anchor_tilt"
        # Four heights as Python floats: cheaper than np.abs(...).max() on 4 entries.
        th_ee = th[2]
        for dz in (lib.ee_z[g] - self._xpos.take(self._ee_z)).tolist():
            if abs(dz) > th_ee:
                return "end_effector_height"
        return ""

    def observation(self, obs_mode: str) -> np.ndarray | None:
        """The actor observation (with the training noise) after :meth:`step` or
        :meth:`read_state`, or None for other modes (the caller uses the tables)."""
        if obs_mode != "actor":
            return None
        sim, v = self.sim, self._views
        o, d, g = self._actor, sim.datas[0], sim.g.item(0)
        lib = sim.library
        v[0][:] = lib.command[g]
        np.matmul(lib.anchor_pos_w[g] - self._anchor_pos, self._anchor_mat, out=v[1])
        # First two columns of R_robot^T R_ref: R_robot^T @ R_ref[:, :2] into the (3, 2) view.
        np.matmul(self._anchor_mat.T, lib.anchor_mat_w[g, :, :2], out=v[2])
        np.matmul(d.qvel[:3], d.xmat[1].reshape(3, 3), out=v[3])
        v[4][:] = d.qvel[3:6]
        np.subtract(d.qpos[7:], sim.q_default[0], out=v[5])
        v[6][:] = d.qvel[6:]
        v[7][:] = sim.action[0]
        out = o.astype(np.float32)
        if sim.observation_noise:
            # random * (2 s) - s: Generator.uniform with array bounds is ~3x slower.
            out += sim.rngs[0].random(o.size) * sim.noise_scale2 - sim.noise_scale
        return out
