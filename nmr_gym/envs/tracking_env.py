"""``G1TrackingEnv``: BeyondMimic whole-body motion tracking for the Unitree G1 in MuJoCo.

One environment, one robot, CPU. The MDP follows ``shared/reference/anchors.md`` section 2;
every number is a constructor keyword whose default is BeyondMimic's value.

Timing of a step (50 Hz control over 200 Hz physics): the PD targets ``q_default + scale * a``
are held for ``decimation`` physics steps, the reference advances one frame (50 fps), and
rewards, terminations and the next observation compare the robot with that frame. Physics runs
as ``mj_step2`` + ``(decimation - 1) * mj_step`` + ``mj_step1`` so that positions, velocities and
contacts read after a step belong to the current state without an extra ``mj_forward``.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from nmr_gym.envs import observations as obs_terms
from nmr_gym.envs import randomization as dr
from nmr_gym.envs import rewards as rw
from nmr_gym.envs import terminations as term
from nmr_gym.envs.motion_library import ANCHOR_IN_TRACKED, END_EFFECTORS_IN_TRACKED, MotionLibrary
from nmr_gym.envs.motion_source import resolve_motions
from nmr_gym.envs.sampling import FAILURE_EMA_ALPHA, FRAMES_PER_BIN, UNIFORM_RATIO, AdaptiveSampler
from nmr_gym.g1 import model as g1_model
from nmr_gym.g1 import spec

_HAS_DISPLAY = bool(
    os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform != "linux"
)
_USER_GL = bool(os.environ.get("MUJOCO_GL"))


def _make_renderer(model: mujoco.MjModel, height: int, width: int) -> mujoco.Renderer:
    """``mujoco.Renderer``; on a headless Linux without ``MUJOCO_GL`` it renders through EGL.

    MuJoCo picks its GL backend from ``MUJOCO_GL`` when ``mujoco`` is imported (before this
    module could set it), defaulting to GLFW, which needs a display; so we point MuJoCo's
    context class at its own EGL context instead (the user's ``MUJOCO_GL`` always wins).
    """
    if not _HAS_DISPLAY and not _USER_GL:
        from mujoco.egl import GLContext
        from mujoco.rendering.classic import gl_context

        gl_context.GLContext = GLContext
    return mujoco.Renderer(model, height, width)


DECIMATION = 4
#: BeyondMimic's episode length: 10 s at 50 Hz (the training id's ``max_episode_steps``).
EPISODE_STEPS = 500
#: Actions are unbounded in BeyondMimic; the Box needs finite bounds. 25 lets a target reach
#: every joint limit (the wrist pitch/yaw scale is only 0.0745 rad per unit).
ACTION_BOUND = 25.0
OBS_MODES = ("actor", "critic", "dict", "nmr")


def _beyondmimic_default_pose() -> np.ndarray:
    q = np.zeros(spec.NUM_JOINTS)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        for joint, value in (
            ("hip_pitch", -0.312),
            ("knee", 0.669),
            ("ankle_pitch", -0.363),
            ("elbow", 0.6),
            ("shoulder_pitch", 0.2),
            ("shoulder_roll", 0.2 * sign),
        ):
            q[spec.joint_index(f"{side}_{joint}_joint")] = value
    return q


#: Default joint positions [rad] (action offset, ``joint_pos`` observation origin): the
#: BeyondMimic G1 initial pose (slightly bent knees, arms down), inside the soft joint limits.
DEFAULT_JOINT_POS = _beyondmimic_default_pose()
RENDER_SIZE = (480, 640)  # height, width [px]

_TB = spec.TRACKED_BODY_INDICES + 1  # MuJoCo body ids (world is body 0)
_ALL_EE = END_EFFECTORS_IN_TRACKED
_UNDESIRED_EXCLUDED = (*spec.FOOT_BODIES, *spec.HAND_BODIES)
_LEVI_CIVITA = np.zeros((3, 3, 3))
_LEVI_CIVITA[0, 1, 2] = _LEVI_CIVITA[1, 2, 0] = _LEVI_CIVITA[2, 0, 1] = 1.0
_LEVI_CIVITA[0, 2, 1] = _LEVI_CIVITA[2, 1, 0] = _LEVI_CIVITA[1, 0, 2] = -1.0


class G1TrackingEnv(gym.Env):
    """Track a G1 reference motion (or a library of them) with joint-position PD actions.

    Args:
        motion: the reference: a ``RobotMotion``, a robot motion file, a ``(retargeter, human)``
            pair, or a list of these; ``None`` = the default clip (see ``motion_source``).
        retargeter: with this name, ``motion`` holds human motions to retarget on construction.
        evaluation: start at frame 0 (clip by clip), no noise, randomisation or pushes, the
            episode lasts the clip. The ``*_noise``/``randomize``/``push`` keywords are ignored.
        obs_mode: "actor" (160), "critic" (286), "dict" ({"policy": 160, "critic": 286}) or
            "nmr" (the NMR paper's 509-dim expert observation).
        model: a tracking model (``nmr_gym.g1.tracking_model()``) to use instead of a fresh
            copy; envs may share one (the env writes its randomised parameters into it before
            each use; :class:`~nmr_gym.envs.vector_env.G1TrackingVecEnv` does this).
        Others: the MDP's numbers (anchors.md section 2), defaults BeyondMimic's.
    """

    # "human" (a passive MuJoCo viewer window) only where a display exists.
    metadata = {
        "render_modes": ["rgb_array", "human"] if _HAS_DISPLAY else ["rgb_array"],
        "render_fps": 50,
    }

    def __init__(
        self,
        motion: Any = None,
        *,
        retargeter: str | None = None,
        evaluation: bool = False,
        obs_mode: str = "actor",
        render_mode: str | None = None,
        decimation: int = DECIMATION,
        default_joint_pos: np.ndarray | None = None,
        action_scale: np.ndarray | None = None,
        action_bound: float = ACTION_BOUND,
        reward_sigmas: dict[str, float] | None = None,
        reward_weights: dict[str, float] | None = None,
        soft_joint_limit_factor: float = spec.SOFT_JOINT_LIMIT_FACTOR,
        undesired_contact_force: float = rw.UNDESIRED_CONTACT_FORCE,
        anchor_height_threshold: float = term.ANCHOR_HEIGHT_THRESHOLD,
        anchor_tilt_threshold: float = term.ANCHOR_TILT_THRESHOLD,
        end_effector_height_threshold: float = term.END_EFFECTOR_HEIGHT_THRESHOLD,
        observation_noise: bool = True,
        anchor_pos_noise: float = obs_terms.ANCHOR_POS_NOISE,
        anchor_ori_noise: float = obs_terms.ANCHOR_ORI_NOISE,
        base_lin_vel_noise: float = obs_terms.BASE_LIN_VEL_NOISE,
        base_ang_vel_noise: float = obs_terms.BASE_ANG_VEL_NOISE,
        joint_pos_noise: float = obs_terms.JOINT_POS_NOISE,
        joint_vel_noise: float = obs_terms.JOINT_VEL_NOISE,
        adaptive_sampling: bool = True,
        frames_per_bin: int = FRAMES_PER_BIN,
        failure_ema_alpha: float = FAILURE_EMA_ALPHA,
        uniform_sampling_ratio: float = UNIFORM_RATIO,
        init_root_pos_noise: tuple[float, float, float] = dr.INIT_ROOT_POS_NOISE,
        init_root_rpy_noise: tuple[float, float, float] = dr.INIT_ROOT_RPY_NOISE,
        init_joint_pos_noise: float = dr.INIT_JOINT_POS_NOISE,
        randomize: bool = True,
        friction_range: tuple[float, float] = dr.FRICTION_RANGE,
        default_joint_offset: float = dr.DEFAULT_JOINT_OFFSET,
        torso_com_offset: tuple[float, float, float] = dr.TORSO_COM_OFFSET,
        push: bool = True,
        push_interval_s: tuple[float, float] = dr.PUSH_INTERVAL_S,
        push_lin_vel: tuple[float, float, float] = dr.PUSH_LIN_VEL,
        push_ang_vel: tuple[float, float, float] = dr.PUSH_ANG_VEL,
        menagerie_dir: str | os.PathLike | None = None,
        model: mujoco.MjModel | None = None,
    ):
        if obs_mode not in OBS_MODES:
            raise ValueError(f"obs_mode must be one of {OBS_MODES}, got {obs_mode!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}")
        self.evaluation = bool(evaluation)
        self.obs_mode = obs_mode
        self.render_mode = render_mode
        # A caller-given model may be shared (the vector env shares one per physics thread):
        # the env writes its randomised parameters into it before each use.
        self.model = g1_model.tracking_model(menagerie_dir) if model is None else model
        self._shared_model = model is not None
        self.data = mujoco.MjData(self.model)
        self.decimation = int(decimation)
        self.dt = self.model.opt.timestep * self.decimation  # control period [s]
        if isinstance(motion, MotionLibrary):  # shared by the sub-envs of a vector env
            if abs(motion.fps - 1.0 / self.dt) > 1e-9:
                raise ValueError(
                    f"motion library at {motion.fps} fps; the env runs at {1 / self.dt} fps"
                )
            self.library = motion
        else:
            self.library = MotionLibrary(resolve_motions(motion, retargeter), fps=1.0 / self.dt)

        # Actions.
        self.default_joint_pos = np.array(
            DEFAULT_JOINT_POS if default_joint_pos is None else default_joint_pos, dtype=float
        )
        self.action_scale = np.array(
            spec.ACTION_SCALE if action_scale is None else action_scale, dtype=float
        )
        self.action_bound = float(action_bound)
        # Rewards and terminations.
        self.reward_sigmas = {**rw.DEFAULT_SIGMAS, **(reward_sigmas or {})}
        self.reward_weights = {**rw.DEFAULT_WEIGHTS, **(reward_weights or {})}
        self._w = np.array([self.reward_weights[k] for k in rw.REWARD_TERMS])
        self.joint_lower, self.joint_upper = rw.soft_joint_limits(
            g1_model.joint_ranges(self.model), soft_joint_limit_factor
        )
        self._hard_lower, self._hard_upper = g1_model.joint_ranges(self.model).T.copy()
        self.undesired_contact_force = float(undesired_contact_force)
        self.anchor_height_threshold = float(anchor_height_threshold)
        self.anchor_tilt_threshold = float(anchor_tilt_threshold)
        self.end_effector_height_threshold = float(end_effector_height_threshold)
        excluded = {self.model.body(b).id for b in _UNDESIRED_EXCLUDED}
        robot_geom = self.model.geom_bodyid > 0
        self._undesired_geom = robot_geom & ~np.isin(self.model.geom_bodyid, list(excluded))
        self._undesired_bodies = np.array(
            [b for b in range(1, self.model.nbody) if b not in excluded]
        )
        self._contact_force_sq = np.full(self.model.nbody, np.inf)
        self._contact_force_sq[self._undesired_bodies] = self.undesired_contact_force**2
        self._limit_mid = 0.5 * (self.joint_lower + self.joint_upper)
        self._limit_half = 0.5 * (self.joint_upper - self.joint_lower)
        self._inv_sigma_sq = [1.0 / self.reward_sigmas[k] ** 2 for k in rw.REWARD_TERMS[:6]]
        self._wl = [float(x) for x in self._w]
        self._reward_keys = tuple(f"reward_{k}" for k in rw.REWARD_TERMS)
        self._anchor_id = self.model.body(spec.ANCHOR_BODY).id
        # Observation noise (actor only), reset noise, randomisation, pushes.
        train = not self.evaluation
        self.observation_noise = train and bool(observation_noise)
        self._noise_scale = obs_terms.noise_scale(
            obs_terms.ACTOR_LAYOUT,
            {
                "motion_anchor_pos_b": anchor_pos_noise,
                "motion_anchor_ori_b": anchor_ori_noise,
                "base_lin_vel": base_lin_vel_noise,
                "base_ang_vel": base_ang_vel_noise,
                "joint_pos": joint_pos_noise,
                "joint_vel": joint_vel_noise,
            },
        )
        self.init_root_pos_noise = init_root_pos_noise if train else (0.0, 0.0, 0.0)
        self.init_root_rpy_noise = init_root_rpy_noise if train else (0.0, 0.0, 0.0)
        self.init_joint_pos_noise = init_joint_pos_noise if train else 0.0
        self.randomize = train and bool(randomize)
        self.friction_range = friction_range
        self.default_joint_offset = float(default_joint_offset)
        self.torso_com_offset = torso_com_offset
        self.push = train and bool(push)
        self.push_interval_s = push_interval_s
        self.push_lin_vel = push_lin_vel
        self.push_ang_vel = push_ang_vel
        self._robot_geoms = np.flatnonzero(robot_geom & (self.model.geom_contype > 0))
        self._nominal_friction = self.model.geom_friction[self._robot_geoms, 0].copy()
        self._friction = self._nominal_friction.copy()
        self._torso_id = self.model.body(spec.ANCHOR_BODY).id
        self._nominal_torso_ipos = self.model.body_ipos[self._torso_id].copy()
        self._torso_ipos = self._nominal_torso_ipos.copy()
        self.sampler = (
            AdaptiveSampler(
                self.library.clip_length, frames_per_bin, failure_ema_alpha, uniform_sampling_ratio
            )
            if train and adaptive_sampling
            else None
        )

        # Spaces.
        nj = spec.NUM_JOINTS
        self.action_space = gym.spaces.Box(-self.action_bound, self.action_bound, (nj,), np.float32)
        box = lambda n: gym.spaces.Box(-np.inf, np.inf, (n,), np.float32)  # noqa: E731
        n_actor = obs_terms.size(obs_terms.ACTOR_LAYOUT)
        n_critic = obs_terms.size(obs_terms.CRITIC_LAYOUT)
        self.observation_space = {
            "actor": lambda: box(n_actor),
            "critic": lambda: box(n_critic),
            "dict": lambda: gym.spaces.Dict({"policy": box(n_actor), "critic": box(n_critic)}),
            "nmr": lambda: box(obs_terms.size(obs_terms.NMR_LAYOUT)),
        }[obs_mode]()

        # Episode state and preallocated buffers.
        self._actor = np.zeros(n_actor)
        self._actor_ori = self._actor[61:67].reshape(3, 2)  # a view: 6D rows written in place
        self._noise_scale2 = (2.0 * self._noise_scale).astype(np.float32)
        self._noise_scale = self._noise_scale.astype(np.float32)
        self._rz_t = np.zeros((4, 3))
        self._rz_t[2, 2] = 1.0
        self._lq_t = np.zeros((4, 4))
        self._clip_start = 0
        self._action = np.zeros(nj)
        self._last_action = np.zeros(nj)
        self._q_default = self.default_joint_pos.copy()  # with the randomised offset
        self._clip = 0
        self._g = 0  # global reference frame
        self._g_end = 1  # last global frame of the clip
        self._start_bin = 0
        self._steps = 0
        self._next_push_step = np.inf
        self._eval_next_clip = 0
        self._episode_open = False
        self._owns_sampler_decay = True
        self._renderer = None
        self._camera = None
        self._viewer = None
        self._root_subtree = np.zeros(len(_TB), dtype=int) + 1  # every body's tree root: pelvis

    # ------------------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        rng = self.np_random
        options = options or {}
        if self._episode_open and self.sampler is not None:
            # A vector env sharing the sampler decays it once per batch step itself.
            steps = self._steps if self._owns_sampler_decay else 0
            self.sampler.record(self._start_bin, steps, self._failed)
        clip, start, self._start_bin = self._choose_start(rng, options)
        lib = self.library
        self._clip = clip
        self._g = lib.frame(clip, start)
        self._g_end = lib.frame(clip, int(lib.clip_length[clip]) - 1)
        self._clip_start = int(lib.clip_start[clip])
        m, d = self.model, self.data
        if self.randomize:
            self._friction = dr.sample_friction(rng, self._robot_geoms.size, self.friction_range)
            self._torso_ipos = self._nominal_torso_ipos + dr.uniform(rng, self.torso_com_offset)
            self.apply_randomization()
            self._q_default = self.default_joint_pos + dr.uniform(
                rng, np.full(spec.NUM_JOINTS, self.default_joint_offset)
            )
        else:
            self._q_default = self.default_joint_pos.copy()
        qpos = (
            dr.noisy_reference_state(
                rng,
                lib.qpos(self._g),
                self.joint_lower,
                self.joint_upper,
                self.init_root_pos_noise,
                self.init_root_rpy_noise,
                self.init_joint_pos_noise,
            )
            if not self.evaluation
            else lib.qpos(self._g)
        )
        # Reset only what carries state between episodes (mj_resetData clears the whole arena,
        # ~1 ms): time, warm start, applied forces, actuator activations.
        d.time = 0.0
        d.qacc_warmstart[:] = 0.0
        d.xfrc_applied[:] = 0.0
        d.qfrc_applied[:] = 0.0
        d.qpos[:] = qpos
        d.qvel[:] = lib.qvel(self._g)
        d.ctrl[:] = qpos[7:]
        # Position and velocity stages only (kinematics, CoM velocities): what observations need
        # and what the next step's mj_step2 expects; mj_forward would also solve the dynamics.
        mujoco.mj_step1(m, d)
        self._action[:] = 0.0
        self._last_action[:] = 0.0
        self._steps = 0
        self._failed = False
        self._episode_open = True
        self._next_push_step = (
            round(dr.sample_push_interval(rng, self.push_interval_s) / self.dt)
            if self.push
            else math.inf
        )
        self._read_state()
        return self._observation(), self._reset_info()

    def step(self, action):
        if not self._episode_open:
            raise RuntimeError("call reset() before step()")
        if self._shared_model:
            self.apply_randomization()
        self._act(action)
        n_undesired = self._simulate()
        self._read_state()
        terms = self._reward_terms(n_undesired)
        reward = self.dt * (
            self._wl[0] * terms[0]
            + self._wl[1] * terms[1]
            + self._wl[2] * terms[2]
            + self._wl[3] * terms[3]
            + self._wl[4] * terms[4]
            + self._wl[5] * terms[5]
            + self._wl[6] * terms[6]
            + self._wl[7] * terms[7]
            + self._wl[8] * terms[8]
        )
        terminated, reason = self._terminated()
        truncated = self._g >= self._g_end and not terminated
        self._failed = terminated
        info = dict(zip(self._reward_keys, terms, strict=True))
        info["error_anchor_pos"] = self._err_anchor_pos
        info["error_anchor_ori"] = self._err_anchor_ori
        info["error_body_pos"] = self._err_body_pos
        info["error_body_ori"] = self._err_body_ori
        info["error_joint_pos"] = self._err_joint_pos
        info["termination"] = reason
        info["frame"] = self._g - self._clip_start
        info["clip"] = self._clip
        if self.render_mode == "human":
            self.render()
        return self._observation(), reward, terminated, truncated, info

    def render(self):
        if self.render_mode == "rgb_array":
            if self._renderer is None:
                h, w = RENDER_SIZE
                self._renderer = _make_renderer(self.model, h, w)
                self._camera = mujoco.MjvCamera()
                self._camera.distance, self._camera.elevation, self._camera.azimuth = 3.0, -15, 90
            self._camera.lookat[:] = self.data.xpos[1]
            self._renderer.update_scene(self.data, self._camera)
            return self._renderer.render()
        if self.render_mode == "human":
            if self._viewer is None:
                import mujoco.viewer as mj_viewer

                self._viewer = mj_viewer.launch_passive(self.model, self.data)
            self._viewer.sync()
        return None

    def close(self):
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        if self._viewer is not None:
            self._viewer.close()
            self._viewer = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_renderer"] = state["_camera"] = state["_viewer"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._actor_ori = self._actor[61:67].reshape(3, 2)  # views do not survive pickling
        self._read_state()

    # ------------------------------------------------------------------------ public helpers
    @property
    def clip_frame(self) -> int:
        """Current frame within the current clip."""
        return self._g - int(self.library.clip_start[self._clip])

    @property
    def clip_index(self) -> int:
        return self._clip

    def reference_joint_pos(self, offset: int = 0) -> np.ndarray:
        """Reference joint positions (29,) ``offset`` frames ahead (clamped to the clip)."""
        return self.library.joint_pos[min(self._g + offset, self._g_end)]

    def action_for_joint_targets(self, q_target: np.ndarray) -> np.ndarray:
        """The action whose PD targets are ``q_target`` (29,) under the current default offset."""
        a = (np.asarray(q_target) - self._q_default) / self.action_scale
        return np.clip(a, -self.action_bound, self.action_bound).astype(np.float32)

    def robot_body_pos_w(self) -> np.ndarray:
        """Tracked-body positions of the robot (14, 3) [m], world frame."""
        return self._xpos.copy()

    def reference_body_pos_w(self) -> np.ndarray:
        """Tracked-body positions of the reference at the current frame (14, 3) [m], world."""
        return self.library.body_pos_w[self._g].copy()

    def critic_observation(self) -> np.ndarray:
        """The privileged critic observation (286,) of the current state (no noise)."""
        lib, g = self.library, self._g
        body_pos, body_ori = obs_terms.bodies_in_anchor_frame(
            self._anchor_mat, self._anchor_pos, self._xpos, self.data.xmat[_TB]
        )
        return np.concatenate(
            [
                lib.command[g],
                self._anchor_pos_b(),
                self._anchor_ori_b(),
                body_pos,
                body_ori,
                self._base_lin_vel(),
                self.data.qvel[3:6],
                self.data.qpos[7:] - self._q_default,
                self.data.qvel[6:],
                self._action,
            ]
        ).astype(np.float32)

    def actor_observation(self, noise: bool = False) -> np.ndarray:
        """The actor observation (160,) of the current state, optionally with noise."""
        o, d, g = self._actor, self.data, self._g
        o[0:58] = self.library.command[g]
        o[58:61] = (self.library.anchor_pos_w[g] - self._anchor_pos) @ self._anchor_mat
        self._actor_ori[:] = (self._anchor_mat.T @ self.library.anchor_mat_w[g])[:, :2]
        o[67:70] = d.qvel[:3] @ d.xmat[1].reshape(3, 3)
        o[70:73] = d.qvel[3:6]
        np.subtract(d.qpos[7:], self._q_default, out=o[73:102])
        o[102:131] = d.qvel[6:]
        o[131:160] = self._action
        out = o.astype(np.float32)
        if noise:
            # random * (2 s) - s: Generator.uniform with array bounds is ~3x slower.
            out += self.np_random.random(o.size) * self._noise_scale2 - self._noise_scale
        return out

    def nmr_observation(self) -> np.ndarray:
        """The NMR paper's expert observation (509,) (its Table I), world-frame bodies."""
        lib, g = self.library, self._g
        return np.concatenate(
            [
                lib.command[g],
                lib.body_pos_w[g].ravel(),
                lib.body_lin_vel_w[g].ravel(),
                lib.body_quat_w[g].ravel(),
                lib.body_ang_vel_w[g].ravel(),
                self._xpos.ravel(),
                self._lin_vel.ravel(),
                self.data.xquat[_TB].ravel(),
                self._ang_vel.ravel(),
                self.data.qpos[7:] - self._q_default,
                self.data.qvel[6:],
                self._action,
            ]
        ).astype(np.float32)

    # ------------------------------------------------------------------------------ internals
    def _choose_start(self, rng: np.random.Generator, options: dict) -> tuple[int, int, int]:
        lib = self.library
        if "clip" in options or "frame" in options:
            clip = int(options.get("clip", 0))
            if not 0 <= clip < lib.num_clips:
                raise ValueError(f"clip {clip} out of range: the library has {lib.num_clips}")
            frame = int(options.get("frame", 0))
            return clip, min(max(frame, 0), int(lib.clip_length[clip]) - 2), 0
        if self.evaluation:
            clip = self._eval_next_clip
            self._eval_next_clip = (clip + 1) % lib.num_clips
            return clip, 0, 0
        if self.sampler is not None:
            return self.sampler.sample(rng)
        clip = int(rng.integers(lib.num_clips))
        return clip, int(rng.integers(int(lib.clip_length[clip]) - 1)), 0

    def _act(self, action) -> None:
        """Pre-physics: clip the action, set the PD targets, apply a due push."""
        self._last_action, self._action = self._action, self._last_action
        # np.clip is ~3x slower than maximum + minimum on small arrays.
        np.minimum(np.maximum(action, -self.action_bound), self.action_bound, out=self._action)
        self.data.ctrl[:] = self._q_default + self.action_scale * self._action
        if self._steps >= self._next_push_step:
            self._apply_push()

    def _simulate(self) -> float:
        """Physics of one control step; advances the reference. Returns the number of bodies
        (other than feet and hands) in contact (the ``undesired_contacts`` term).

        Touches only this env's ``MjData`` (MuJoCo releases the GIL): the vector env runs it
        in threads.
        """
        m, d = self.model, self.data
        mujoco.mj_step2(m, d)
        for _ in range(self.decimation - 1):
            mujoco.mj_step(m, d)
        n_undesired = 0.0
        # Only when a contact involves a body other than the feet and hands (rarely: standing
        # on the feet touches nothing undesired), computing per-body forces costs a pass.
        if d.ncon and self._undesired_geom[d.contact.geom[: d.ncon]].any():
            # Per-body contact forces (cfrc_ext) of the last sub-step, whose contacts and
            # constraint forces are consistent here (before mj_step1 recomputes contacts).
            mujoco.mj_rnePostConstraint(m, d)
            # rewards.undesired_contacts over every body at once: the threshold is infinite for
            # the world, feet and hands.
            f = d.cfrc_ext[:, 3:]
            n_undesired = float(
                np.count_nonzero(np.einsum("ij,ij->i", f, f) > self._contact_force_sq)
            )
        mujoco.mj_step1(m, d)
        self._steps += 1
        if self._g < self._g_end:  # past the clip's end (no reset yet) the last frame holds
            self._g += 1
        return n_undesired

    def apply_randomization(self) -> None:
        """Write this episode's randomised friction and torso CoM into ``self.model`` (needed
        before stepping when several envs share one model)."""
        if self.randomize:
            self.model.geom_friction[self._robot_geoms, 0] = self._friction
            self.model.body_ipos[self._torso_id] = self._torso_ipos

    def _apply_push(self) -> None:
        d = self.data
        d.qvel[:6] += dr.push_velocity(
            self.np_random, d.qpos[3:7], self.push_lin_vel, self.push_ang_vel
        )
        mujoco.mj_step1(self.model, d)  # velocity-dependent terms of the pushed state
        self._next_push_step = self._steps + round(
            dr.sample_push_interval(self.np_random, self.push_interval_s) / self.dt
        )

    def _read_state(self) -> None:
        """Robot quantities used by observations, rewards and terminations (one numpy read each)."""
        d = self.data
        self._xpos = d.xpos[_TB]  # (14, 3)
        self._xquat = d.xquat[_TB]  # (14, 4)
        # (14, 6) [rot, lin] from cvel (about the pelvis subtree CoM, world axes), the linear part
        # moved to each body origin in place: v = v_com + w x (p - com). einsum with the
        # Levi-Civita tensor: np.cross costs ~20 us on 14 rows, this ~4 us.
        vel = d.cvel[_TB]
        vel[:, 3:] += np.einsum(
            "ijk,bj,bk->bi", _LEVI_CIVITA, vel[:, :3], self._xpos - d.subtree_com[1]
        )
        self._vel6 = vel
        self._ang_vel = vel[:, :3]
        self._lin_vel = vel[:, 3:]
        self._anchor_pos = self._xpos[ANCHOR_IN_TRACKED]
        self._anchor_mat = d.xmat[self._anchor_id].reshape(3, 3)

    def _anchor_pos_b(self) -> np.ndarray:
        return obs_terms.anchor_pos_b(
            self._anchor_mat, self._anchor_pos, self.library.anchor_pos_w[self._g]
        )

    def _anchor_ori_b(self) -> np.ndarray:
        return obs_terms.anchor_ori_b(self._anchor_mat, self.library.anchor_mat_w[self._g])

    def _base_lin_vel(self) -> np.ndarray:
        return self.data.qvel[:3] @ self.data.xmat[1].reshape(3, 3)

    def _observation(self):
        if self.obs_mode == "actor":
            return self.actor_observation(self.observation_noise)
        if self.obs_mode == "critic":
            return self.critic_observation()
        if self.obs_mode == "dict":
            return {
                "policy": self.actor_observation(self.observation_noise),
                "critic": self.critic_observation(),
            }
        return self.nmr_observation()

    def _reward_terms(self, n_undesired: float) -> list[float]:
        """The nine reward terms (``rewards.REWARD_TERMS`` order) and the tracking errors.

        A fused, allocation-light version of the pure functions in :mod:`.rewards` (the tests
        check it against them): Python floats for the anchor, one numpy op per body quantity.
        """
        lib, g, inv = self.library, self._g, self._inv_sigma_sq
        ax, ay, az = self._anchor_pos.tolist()
        rx, ry, rz = lib.anchor_pos_w[g].tolist()
        anchor_pos_sq = (rx - ax) ** 2 + (ry - ay) ** 2 + (rz - az) ** 2
        qdot = abs(float(lib.anchor_quat_w[g] @ self._xquat[ANCHOR_IN_TRACKED]))
        anchor_ori = 2.0 * math.acos(min(qdot, 1.0))
        # Re-anchoring: heading of R_robot R_ref^T (its first column is R_robot @ ref row 0),
        # the reference moved to the robot anchor's xy, keeping its own z.
        c0, c1, _ = (self._anchor_mat @ lib.anchor_mat_w[g, 0]).tolist()
        yaw = math.atan2(c1, c0)
        c, s_ = math.cos(yaw), math.sin(yaw)
        t = self._rz_t  # rows 0-2: R_z(yaw)^T; row 3: the offset (homogeneous reference rows)
        t[0, 0] = t[1, 1] = c
        t[0, 1] = s_
        t[1, 0] = -s_
        t[3, 0] = ax
        t[3, 1] = ay
        t[3, 2] = rz
        e = lib.body_rel_anchor_h[g] @ t
        e -= self._xpos
        body_pos_sq = float(np.vdot(e, e)) / 14.0
        ch, sh = math.cos(0.5 * yaw), math.sin(0.5 * yaw)
        lq = self._lq_t  # (left multiplication by the yaw quaternion)^T on wxyz rows
        lq[0, 0] = lq[1, 1] = lq[2, 2] = lq[3, 3] = ch
        lq[0, 3] = lq[1, 2] = sh
        lq[2, 1] = lq[3, 0] = -sh
        dots = np.abs(np.einsum("ij,ij->i", lib.body_quat_w[g] @ lq, self._xquat))
        ang = np.arccos(np.minimum(dots, 1.0, out=dots), out=dots)
        body_ori_sq = 4.0 * float(ang @ ang) / 14.0
        e = lib.body_vel6_w[g] - self._vel6
        sw0, sw1, sw2, sv0, sv1, sv2 = np.einsum("ij,ij->j", e, e).tolist()
        ang_sq = (sw0 + sw1 + sw2) / 14.0
        lin_sq = (sv0 + sv1 + sv2) / 14.0
        da = self._action - self._last_action
        q = self.data.qpos[7:]
        v = np.abs(q - self._limit_mid)
        v -= self._limit_half
        self._err_anchor_pos = math.sqrt(anchor_pos_sq)
        self._err_anchor_ori = anchor_ori
        self._err_body_pos = math.sqrt(body_pos_sq)
        self._err_body_ori = math.sqrt(body_ori_sq)
        self._err_joint_pos = float(np.abs(q - lib.joint_pos[g]).sum()) / 29.0
        return [
            math.exp(-anchor_pos_sq * inv[0]),
            math.exp(-anchor_ori * anchor_ori * inv[1]),
            math.exp(-body_pos_sq * inv[2]),
            math.exp(-body_ori_sq * inv[3]),
            math.exp(-lin_sq * inv[4]),
            math.exp(-ang_sq * inv[5]),
            float(da @ da),
            float(np.maximum(v, 0.0, out=v).sum()),
            n_undesired,
        ]

    def _terminated(self) -> tuple[bool, str]:
        lib, g = self.library, self._g
        if abs(lib.anchor_pos_w[g, 2] - self._anchor_pos.item(2)) > self.anchor_height_threshold:
            return True, "anchor_height"
        # |g_z,ref - g_z,robot| with g_z = -R[2, 2] (terminations.projected_gravity_z).
        if abs(lib.anchor_mat_w[g, 2, 2] - self._anchor_mat.item(8)) > self.anchor_tilt_threshold:
            return True, "anchor_tilt"
        if np.abs(lib.ee_z[g] - self._xpos[_ALL_EE, 2]).max() > self.end_effector_height_threshold:
            return True, "end_effector_height"
        return False, ""

    def _reset_info(self) -> dict[str, Any]:
        return {
            "clip": self._clip,
            "frame": self.clip_frame,
            "clip_name": self.library.names[self._clip],
        }
