"""``TrackingSim``: the simulation core of the tracking MDP, N robots held as arrays.

One ``MjData`` per robot (models shared by the robots of one physics thread), and the episode
state of every robot (reference frame, actions, default offsets, step counters, push schedule)
as arrays with a leading robot axis. :class:`~nmr_gym.envs.tracking_env.G1TrackingEnv` is this
core with N = 1 behind ``gymnasium.Env``; :class:`~nmr_gym.envs.vector_env.G1TrackingVecEnv`
the same core behind ``VectorEnv``. Rewards, terminations and observations come from the term
tables of :mod:`.mdp` (given by :class:`~nmr_gym.envs.config.TrackingConfig`).

Timing of a step: the PD targets ``q_default + scale * a`` are held for ``decimation`` physics
steps, the reference advances one frame (at the control rate), and rewards, terminations and the
next observation compare the robot with that frame. Physics runs as ``mj_step2`` +
``(decimation - 1) * mj_step`` + ``mj_step1`` so that positions, velocities and contacts read
after a step belong to the current state without an extra ``mj_forward``.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import mujoco
import numpy as np

from nmr_gym.envs import mdp
from nmr_gym.envs import randomization as dr
from nmr_gym.envs.config import TrackingConfig
from nmr_gym.envs.motion_library import MotionLibrary
from nmr_gym.envs.sampling import AdaptiveSampler
from nmr_gym.g1 import model as g1_model
from nmr_gym.g1 import spec

#: MuJoCo body ids of the 14 tracked bodies (the world is body 0).
TRACKED_BODY_IDS = spec.TRACKED_BODY_INDICES + 1
#: Bodies whose contacts are desired (feet and hands): not counted by ``undesired_contacts``.
_UNDESIRED_EXCLUDED = (*spec.FOOT_BODIES, *spec.HAND_BODIES)


def check_library_rate(library: MotionLibrary, dt: float) -> None:
    """Raise when ``library`` is not sampled at the control rate 1 / ``dt``."""
    if abs(library.fps - 1.0 / dt) > 1e-9:
        raise ValueError(
            f"motion library at {library.fps} fps; the env runs at {1.0 / dt} fps "
            "(model timestep x decimation)"
        )


class TrackingSim:
    """N tracking robots sharing one motion library and one configuration.

    Args:
        library: the reference clips, resampled to the control rate.
        config: the MDP.
        models: one MuJoCo tracking model per robot (robots may share one: each writes its
            randomised parameters into it before stepping).
        evaluation: frame-0 starts clip by clip, no noise, randomisation or pushes.
        shared_sampler: one adaptive start sampler for all robots, its EMA decayed once per
            batch step (BeyondMimic's GPU env batch); else one per robot.
        num_threads: threads stepping the physics (robots grouped by model).
    """

    def __init__(
        self,
        library: MotionLibrary,
        config: TrackingConfig,
        models: list[mujoco.MjModel],
        *,
        evaluation: bool = False,
        shared_sampler: bool = True,
        num_threads: int = 1,
    ):
        self.library = lib = library
        self.config = cfg = config
        self.models = list(models)
        self.num_robots = n = len(self.models)
        m0 = self.models[0]
        self.decimation = int(cfg.action.decimation)
        self.dt = float(m0.opt.timestep) * self.decimation  # control period [s]
        check_library_rate(lib, self.dt)
        self.evaluation = bool(evaluation)
        train = not self.evaluation
        self.datas = [mujoco.MjData(m) for m in self.models]
        self.rngs: list[np.random.Generator] = [np.random.default_rng() for _ in range(n)]
        # Robots whose model another robot also steps write their randomisation before use.
        ids = [id(m) for m in self.models]
        self.model_shared = np.array([ids.count(i) > 1 for i in ids])

        # Actions.
        self.default_joint_pos = cfg.action.default_joint_pos_array()
        self.action_scale = cfg.action.scale_array()
        self.action_bound = float(cfg.action.bound)
        #: PD targets centred on the reference joints (``ActionConfig.offset == "reference"``).
        self.reference_offset = cfg.action.offset == "reference"
        # Soft joint limits and contact bookkeeping.
        ranges = g1_model.joint_ranges(m0)
        mid, half = (
            ranges.mean(1),
            0.5 * (ranges[:, 1] - ranges[:, 0]) * cfg.soft_joint_limit_factor,
        )
        self.soft_lower, self.soft_upper = mid - half, mid + half
        excluded = {m0.body(b).id for b in _UNDESIRED_EXCLUDED}
        robot_geom = m0.geom_bodyid > 0
        self.undesired_geom = robot_geom & ~np.isin(m0.geom_bodyid, list(excluded))
        undesired_bodies = [b for b in range(1, m0.nbody) if b not in excluded]
        #: Squared force threshold per body (infinite for the world, feet and hands).
        self.contact_force_sq = np.full(m0.nbody, np.inf)
        self.contact_force_sq[undesired_bodies] = cfg.undesired_contact_force**2
        self.anchor_id = m0.body(spec.ANCHOR_BODY).id
        # Tables.
        self.rewards = dict(cfg.rewards)
        self.reward_names = tuple(self.rewards)
        self.terminations = dict(cfg.terminations)
        self.termination_names = ("", *self.terminations)
        self._weights = np.array([t.weight for t in self.rewards.values()])
        #: Incremented whenever a table's weights or parameters change (caches compare it).
        self.table_version = 0
        # Observation noise (training, actor terms).
        self.observation_noise = train and bool(cfg.observation.noise)
        actor = {
            k: (
                t
                if k not in cfg.observation.noise_overrides
                else replace(t, noise=float(cfg.observation.noise_overrides[k]))
            )
            for k, t in mdp.ACTOR_OBSERVATION.items()
        }
        self.observation_groups = {**mdp.OBSERVATION_GROUPS, "actor": actor}
        scale = mdp.noise_scale(actor)
        self.noise_scale = scale.astype(np.float32)
        self.noise_scale2 = (2.0 * scale).astype(np.float32)
        # Reset noise, randomisation, pushes.
        r = cfg.randomization
        self.randomize = train and bool(r.randomize)
        self.push = train and bool(r.push)
        self.robot_geoms = np.flatnonzero(robot_geom & (m0.geom_contype > 0))
        self.torso_id = m0.body("torso_link").id
        self.nominal_torso_ipos = m0.body_ipos[self.torso_id].copy()
        self.max_episode_steps: float = (
            math.inf if self.evaluation else round(cfg.episode_length_s / self.dt)
        )
        # Samplers.
        s = cfg.sampling
        frames_per_bin = max(round(s.bin_duration_s / self.dt), 1)
        if train and s.adaptive:
            make = lambda: AdaptiveSampler(  # noqa: E731
                lib.clip_length, frames_per_bin, s.alpha, s.uniform_ratio
            )
            first = make()
            self.samplers = (
                [first] * n if shared_sampler else [first] + [make() for _ in range(n - 1)]
            )
            self.shared_sampler = bool(shared_sampler) and n > 1
        else:
            self.samplers = [None] * n
            self.shared_sampler = False

        # Per-robot episode state.
        nj = spec.NUM_JOINTS
        self.action = np.zeros((n, nj))
        self.last_action = np.zeros((n, nj))
        self.q_default = np.tile(self.default_joint_pos, (n, 1))
        self.clip = np.zeros(n, dtype=np.int64)
        self.g = np.zeros(n, dtype=np.int64)  # global reference frame
        self.g_end = np.ones(n, dtype=np.int64)  # last global frame of the clip
        self.start_bin = np.zeros(n, dtype=np.int64)
        self.steps = np.zeros(n, dtype=np.int64)
        self.next_push_step = np.full(n, np.inf)
        self.failed = np.zeros(n, dtype=bool)
        self.episode_open = np.zeros(n, dtype=bool)
        self.eval_next_clip = np.arange(n) % lib.num_clips
        self.friction = np.zeros((n, self.robot_geoms.size))
        self.torso_ipos = np.tile(self.nominal_torso_ipos, (n, 1))
        # Threads: robots sharing a model step in one thread.
        groups: dict[int, list[int]] = {}
        for i, m in enumerate(self.models):
            groups.setdefault(id(m), []).append(i)
        self.chunks = list(groups.values())
        self.num_threads = min(int(num_threads), len(self.chunks))
        self._pool: ThreadPoolExecutor | None = None
        self._cache_views()

    # ---------------------------------------------------------------------------- episodes
    def reset_robot(self, i: int, options: dict | None = None) -> None:
        """Start a new episode for robot ``i`` (its rng draws every random number)."""
        options = options or {}
        rng, lib, d = self.rngs[i], self.library, self.datas[i]
        sampler = self.samplers[i]
        if self.episode_open[i] and sampler is not None:
            # A shared sampler decays once per batch step in :meth:`step`.
            sampler.record(
                int(self.start_bin[i]),
                0 if self.shared_sampler else int(self.steps[i]),
                bool(self.failed[i]),
            )
        clip, start, self.start_bin[i] = self._choose_start(i, rng, options)
        self.clip[i] = clip
        self.g[i] = g = lib.frame(clip, start)
        self.g_end[i] = lib.frame(clip, int(lib.clip_length[clip]) - 1)
        r = self.config.randomization
        if self.randomize:
            self.friction[i] = dr.sample_friction(rng, self.robot_geoms.size, r.friction_range)
            self.torso_ipos[i] = self.nominal_torso_ipos + dr.uniform(rng, r.torso_com_offset)
            self.apply_randomization(i)
            self.q_default[i] = self.default_joint_pos + dr.uniform(
                rng, np.full(spec.NUM_JOINTS, r.default_joint_offset)
            )
        else:
            self.q_default[i] = self.default_joint_pos
        if self.evaluation:
            qpos = lib.qpos(g)
        else:
            rc = self.config.reset
            qpos = dr.noisy_reference_state(
                rng,
                lib.qpos(g),
                self.soft_lower,
                self.soft_upper,
                rc.root_pos_noise,
                rc.root_rpy_noise,
                rc.joint_pos_noise,
            )
        # Reset only what carries state between episodes (mj_resetData clears the whole arena,
        # ~1 ms): time, warm start, applied forces.
        d.time = 0.0
        d.qacc_warmstart[:] = 0.0
        d.xfrc_applied[:] = 0.0
        d.qfrc_applied[:] = 0.0
        d.qpos[:] = qpos
        d.qvel[:] = lib.qvel(g)
        d.ctrl[:] = qpos[7:]
        # Position and velocity stages only: what observations need and what the next step's
        # mj_step2 expects (mj_forward would also solve the dynamics).
        mujoco.mj_step1(self.models[i], d)
        self.action[i] = 0.0
        self.last_action[i] = 0.0
        self.steps[i] = 0
        self.failed[i] = False
        self.episode_open[i] = True
        self.next_push_step[i] = (
            round(dr.sample_push_interval(rng, r.push_interval_s) / self.dt)
            if self.push
            else math.inf
        )

    def _choose_start(self, i: int, rng: np.random.Generator, options: dict):
        lib = self.library
        if "clip" in options or "frame" in options:
            clip = int(options.get("clip", 0))
            if not 0 <= clip < lib.num_clips:
                raise ValueError(f"clip {clip} out of range: the library has {lib.num_clips}")
            frame = int(options.get("frame", 0))
            return clip, min(max(frame, 0), int(lib.clip_length[clip]) - 2), 0
        if self.evaluation:
            clip = int(self.eval_next_clip[i])
            self.eval_next_clip[i] = (clip + 1) % lib.num_clips
            return clip, 0, 0
        if self.samplers[i] is not None:
            return self.samplers[i].sample(rng)
        clip = int(rng.integers(lib.num_clips))
        return clip, int(rng.integers(int(lib.clip_length[clip]) - 1)), 0

    def apply_randomization(self, i: int) -> None:
        """Write robot ``i``'s randomised friction and torso CoM into its model."""
        if self.randomize:
            m = self.models[i]
            m.geom_friction[self.robot_geoms, 0] = self.friction[i]
            m.body_ipos[self.torso_id] = self.torso_ipos[i]

    # ------------------------------------------------------------------------------ steps
    def action_offset(self) -> np.ndarray:
        """The PD targets of a zero action this step (N, 29) [rad]: the (encoder-offset)
        default pose, or with ``offset="reference"`` the reference joints of the frame the
        step ends on plus the same encoder offset."""
        if not self.reference_offset:
            return self.q_default
        nxt = np.minimum(self.g + 1, self.g_end)
        return self.library.joint_pos[nxt] + (self.q_default - self.default_joint_pos)

    def act(self, actions: np.ndarray) -> None:
        """Pre-physics: clip the actions (N, J), set the PD targets, apply due pushes."""
        self.last_action, self.action = self.action, self.last_action
        # np.clip is ~3x slower than maximum + minimum on small arrays.
        np.minimum(np.maximum(actions, -self.action_bound), self.action_bound, out=self.action)
        ctrl = self.action_offset() + self.action_scale * self.action
        if self.num_robots == 1:  # the single env's path: no array of due pushes
            self.datas[0].ctrl[:] = ctrl[0]
            if self.steps.item(0) >= self.next_push_step.item(0):
                if self.model_shared[0]:
                    self.apply_randomization(0)
                self._push(0)
            return
        due = self.steps >= self.next_push_step
        for i, d in enumerate(self.datas):
            d.ctrl[:] = ctrl[i]
            if due[i]:
                if self.model_shared[i]:
                    self.apply_randomization(i)
                self._push(i)

    def _push(self, i: int) -> None:
        rng, d, r = self.rngs[i], self.datas[i], self.config.randomization
        d.qvel[:6] += dr.push_velocity(rng, d.qpos[3:7], r.push_lin_vel, r.push_ang_vel)
        mujoco.mj_step1(self.models[i], d)  # velocity-dependent terms of the pushed state
        self.next_push_step[i] = self.steps[i] + round(
            dr.sample_push_interval(rng, r.push_interval_s) / self.dt
        )

    def simulate(self) -> np.ndarray:
        """Physics of one control step for every robot; advances the references. Returns the
        number of undesired contacts per robot (N,)."""
        if self.num_threads <= 1:
            out = np.concatenate([self._simulate_chunk(c) for c in self.chunks])
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.num_threads, thread_name_prefix="nmr-physics")
            futures = [self._pool.submit(self._simulate_chunk, c) for c in self.chunks]
            out = np.concatenate([f.result() for f in futures])
        order = np.concatenate(self.chunks)
        n_undesired = np.empty(self.num_robots)
        n_undesired[order] = out
        self.steps += 1
        np.minimum(self.g + 1, self.g_end, out=self.g)  # past the clip's end the last frame holds
        if self.shared_sampler:
            self.samplers[0].decay(1)
        return n_undesired

    def step_robot(self, i: int) -> float:
        """Physics of one control step of robot ``i`` alone (the single env's path: no
        shared sampler); its undesired-contact count."""
        n_undesired = self.simulate_robot(i)
        self.steps[i] += 1
        if self.g.item(i) < self.g_end.item(i):
            self.g[i] += 1
        return n_undesired

    def _simulate_chunk(self, robots: list[int]) -> np.ndarray:
        """Step robots that share one model, one after the other (one thread's share; MuJoCo
        releases the GIL)."""
        out = np.empty(len(robots))
        for k, i in enumerate(robots):
            if self.model_shared[i]:
                self.apply_randomization(i)
            out[k] = self.simulate_robot(i)
        return out

    def simulate_robot(self, i: int) -> float:
        """Physics of one control step of robot ``i``; its undesired-contact count."""
        m, d = self.models[i], self.datas[i]
        mujoco.mj_step2(m, d)
        for _ in range(self.decimation - 1):
            mujoco.mj_step(m, d)
        n_undesired = 0.0
        # Per-body contact forces only when a contact involves a body other than the feet and
        # hands (rarely: standing on the feet touches nothing undesired).
        if d.ncon and self.undesired_geom.take(d.contact.geom[: d.ncon]).any():
            # cfrc_ext of the last sub-step, consistent before mj_step1 recomputes contacts.
            mujoco.mj_rnePostConstraint(m, d)
            f = d.cfrc_ext[:, 3:]
            n_undesired = float(
                np.count_nonzero(np.einsum("ij,ij->i", f, f) > self.contact_force_sq)
            )
        mujoco.mj_step1(m, d)
        return n_undesired

    # ------------------------------------------------------------------------------- terms
    def _cache_views(self) -> None:
        """Per-robot views of the MjData arrays the terms read (their memory never moves)."""
        a = self.anchor_id
        self._views = {
            name: [fn(d) for d in self.datas]
            for name, fn in (
                ("qpos", lambda d: d.qpos),
                ("qvel", lambda d: d.qvel),
                ("xpos", lambda d: d.xpos),
                ("xquat", lambda d: d.xquat),
                ("anchor_mat", lambda d: d.xmat[a]),
                ("pelvis_mat", lambda d: d.xmat[1]),
                ("cvel", lambda d: d.cvel),
                ("com", lambda d: d.subtree_com[1]),
            )
        }

    def robot_batch(self, idx: np.ndarray | None = None) -> mdp.RobotBatch:
        """The robots' state (all, or those in ``idx``) as batched arrays."""
        rows = range(self.num_robots) if idx is None else idx.tolist()
        n, v, tb = len(rows), self._views, TRACKED_BODY_IDS

        def cat(name, *shape):
            return np.concatenate([v[name][i] for i in rows]).reshape(n, *shape)

        xpos = cat("xpos", -1, 3)[:, tb]
        return mdp.RobotBatch(
            qpos=cat("qpos", -1),
            qvel=cat("qvel", -1),
            body_pos_w=xpos,
            body_quat_w=cat("xquat", -1, 4)[:, tb],
            body_vel6_w=mdp.body_vel6(cat("cvel", -1, 6)[:, tb], xpos, cat("com", 3)),
            anchor_mat_w=cat("anchor_mat", 3, 3),
            pelvis_mat_w=cat("pelvis_mat", 3, 3),
        )

    def inputs(
        self, n_undesired: np.ndarray | None = None, idx: np.ndarray | None = None
    ) -> mdp.TermInputs:
        """The term inputs of every robot (or those in ``idx``) in their current state."""
        sel = slice(None) if idx is None else idx
        n = self.num_robots if idx is None else len(idx)
        return mdp.TermInputs(
            lib=self.library,
            g=self.g[sel],
            robot=self.robot_batch(idx),
            action=self.action[sel],
            last_action=self.last_action[sel],
            q_default=self.q_default[sel],
            soft_lower=self.soft_lower,
            soft_upper=self.soft_upper,
            n_undesired=np.zeros(n) if n_undesired is None else n_undesired[sel],
        )

    def reward_terms(self, s: mdp.TermInputs) -> np.ndarray:
        """Every reward term (N, K), in the table's order."""
        return np.stack([t(s) for t in self.rewards.values()], 1)

    @property
    def weights(self) -> np.ndarray:
        """Reward weights (K,) in the table's order."""
        return self._weights

    def reward(self, terms: np.ndarray) -> np.ndarray:
        """``dt * terms @ weights`` (N,)."""
        return self.dt * (terms @ self._weights)

    def termination_codes(self, s: mdp.TermInputs) -> np.ndarray:
        """Index into :attr:`termination_names` per robot (N,) (0 = alive; the first rule of
        the table that fires wins)."""
        code = np.zeros(len(s.g), dtype=np.int64)
        for k, t in enumerate(reversed(self.terminations.values())):
            code[t(s)] = len(self.terminations) - k
        return code

    def truncated(self, terminated: np.ndarray) -> np.ndarray:
        """Clip end or time limit, unless terminated (N,)."""
        return ~terminated & ((self.g >= self.g_end) | (self.steps >= self.max_episode_steps))

    def observe(self, group: str, s: mdp.TermInputs, idx: np.ndarray | None = None) -> np.ndarray:
        """Observation ``group`` (N, size) float32; the actor's with each robot's noise."""
        out = mdp.observe(self.observation_groups[group], s).astype(np.float32)
        if group == "actor" and self.observation_noise:
            rows = range(self.num_robots) if idx is None else idx.tolist()
            u = np.empty(out.shape)
            for k, i in enumerate(rows):  # each robot's own stream, as the single env draws it
                self.rngs[i].random(out=u[k])
            # random * (2 s) - s: Generator.uniform with array bounds is ~3x slower.
            out += u * self.noise_scale2 - self.noise_scale
        return out

    def observation(self, mode: str, s: mdp.TermInputs, idx: np.ndarray | None = None) -> Any:
        """The observation of ``obs_mode`` ("dict" = {"policy": actor, "critic": critic})."""
        if mode == "dict":
            return {"policy": self.observe("actor", s, idx), "critic": self.observe("critic", s)}
        return self.observe(mode, s, idx)

    # ------------------------------------------------------------------------ reward params
    def set_reward_params(self, name: str, weight: float | None = None, **params: float) -> None:
        """Change reward term ``name``'s weight and/or parameters (e.g. ``sigma``) in place."""
        self.rewards = mdp.with_params(self.rewards, name, weight, **params)
        self._weights = np.array([t.weight for t in self.rewards.values()])
        self.table_version += 1

    # ---------------------------------------------------------------------------- pickling
    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_pool"] = None
        state["_views"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._cache_views()


class SimViews:
    """Read-only views of a :class:`TrackingSim` (``self.sim``) shared by the single env and the
    vector env, and the one mutator both expose (:meth:`set_reward_params`)."""

    sim: TrackingSim

    @property
    def library(self) -> MotionLibrary:
        return self.sim.library

    @property
    def dt(self) -> float:
        """Control period [s] (model timestep x decimation)."""
        return self.sim.dt

    @property
    def decimation(self) -> int:
        return self.sim.decimation

    @property
    def evaluation(self) -> bool:
        return self.sim.evaluation

    @property
    def max_episode_steps(self) -> float:
        """Training time limit in control steps (``episode_length_s / dt``; inf in evaluation)."""
        return self.sim.max_episode_steps

    @property
    def default_joint_pos(self) -> np.ndarray:
        return self.sim.default_joint_pos

    @property
    def action_scale(self) -> np.ndarray:
        return self.sim.action_scale

    @property
    def action_bound(self) -> float:
        return self.sim.action_bound

    @property
    def rewards(self) -> dict[str, mdp.RewardTerm]:
        """The reward table in use (name -> term)."""
        return self.sim.rewards

    def set_reward_params(self, name: str, weight: float | None = None, **params: float) -> None:
        """Change reward term ``name``'s weight and/or parameters for every robot, e.g.
        ``env.set_reward_params("body_pos", sigma=0.2)`` (takes effect at the next step)."""
        self.sim.set_reward_params(name, weight, **params)
