"""``G1TrackingEnv``: BeyondMimic whole-body motion tracking for the Unitree G1 in MuJoCo.

The simulation core (:class:`~nmr_gym.envs.core.TrackingSim`) with one robot behind the
Gymnasium ``Env`` API. The MDP's terms are the tables of :mod:`.mdp`, configured by
:class:`~nmr_gym.envs.config.TrackingConfig`; a fused single-robot evaluation of the default
tables (:mod:`.fused`) is used when the tables are BeyondMimic's, with a parity test.
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from nmr_gym.envs import fused as fused_terms
from nmr_gym.envs import mdp
from nmr_gym.envs.config import TrackingConfig
from nmr_gym.envs.core import TRACKED_BODY_IDS, SimViews, TrackingSim
from nmr_gym.envs.motion_library import MotionLibrary
from nmr_gym.envs.motion_source import resolve_motions
from nmr_gym.envs.rendering import HAS_DISPLAY, SceneRenderer
from nmr_gym.g1 import model as g1_model

OBS_MODES = mdp.OBS_MODES


def observation_space(obs_mode: str) -> gym.Space:
    """The observation space of ``obs_mode`` (sizes from the term tables)."""
    if obs_mode not in OBS_MODES:
        raise ValueError(f"obs_mode must be one of {OBS_MODES}, got {obs_mode!r}")

    def box(group: str) -> gym.spaces.Box:
        n = mdp.size(mdp.OBSERVATION_GROUPS[group])
        return gym.spaces.Box(-np.inf, np.inf, (n,), np.float32)

    if obs_mode == "dict":
        return gym.spaces.Dict({"policy": box("actor"), "critic": box("critic")})
    return box(obs_mode)


def make_library(motion: Any, retargeter: str | None, dt: float) -> MotionLibrary:
    """The motion library of the env's ``motion`` argument at the control period ``dt``."""
    if isinstance(motion, MotionLibrary):
        return motion
    return MotionLibrary(resolve_motions(motion, retargeter), fps=1.0 / dt)


class G1TrackingEnv(SimViews, gym.Env):
    """Track a G1 reference motion (or a library of them) with joint-position PD actions.

    ============================  ===========================================================
    Keyword                       Meaning (default)
    ============================  ===========================================================
    ``motion``                    reference: ``RobotMotion``, robot motion file, built-in clip
                                  name with a shipped reference, ``MotionLibrary``, or a list
                                  (None: the shipped default clip)
    ``config``                    :class:`~nmr_gym.envs.config.TrackingConfig` (BeyondMimic)
    ``evaluation``                frame-0 starts clip by clip, no noise, randomisation or
                                  pushes; the episode lasts the clip (False)
    ``obs_mode``                  "actor" (160), "critic" (286), "dict" ({"policy", "critic"})
                                  or "nmr" (509, the NMR paper's Table I) ("actor")
    ``render_mode``               "rgb_array" or "human" (None)
    ``render_reference``          draw the reference as a translucent ghost robot (False)
    ``model``                     a tracking model to use (may be shared; None: a fresh copy)
    ``menagerie_dir``             where the Menagerie G1 lives (None: the default)
    ``fused``                     use the fused single-robot evaluation of the default
                                  tables when they apply (an optimisation; True)
    ``retargeter``                not supported: the env takes robot motions (retarget with
                                  ``benchmark.motions.resolve_motion_specs``)
    flat keywords                 ``decimation``, ``reward_sigmas``, ``reward_weights``,
                                  ``anchor_height_threshold``, ... (see
                                  :data:`~nmr_gym.envs.config.ALL_KEYWORDS`) override
                                  ``config``
    ============================  ===========================================================

    The control period is the model timestep times ``decimation`` (BeyondMimic: 0.005 s x 4 =
    50 Hz); references are resampled to it. ``info`` holds every reward term
    (``reward_<name>``), the tracking errors (``error_<name>``), ``termination`` (the rule
    that fired, "" if none), ``frame`` and ``clip``. Reward widths and weights can change
    during training with :meth:`set_reward_params`.
    """

    metadata = {"render_modes": ["rgb_array", "human"] if HAS_DISPLAY else ["rgb_array"]}

    def __init__(
        self,
        motion: Any = None,
        *,
        config: TrackingConfig | None = None,
        retargeter: str | None = None,
        evaluation: bool = False,
        obs_mode: str = "actor",
        render_mode: str | None = None,
        render_reference: bool = False,
        menagerie_dir: str | os.PathLike | None = None,
        model: mujoco.MjModel | None = None,
        fused: bool = True,
        **overrides: Any,
    ):
        fused_path = fused
        self.observation_space = observation_space(obs_mode)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}")
        cfg = (config or TrackingConfig()).with_overrides(**overrides)
        self.config = cfg
        self.obs_mode = obs_mode
        self.render_mode = render_mode
        self.render_reference = bool(render_reference)
        caller_model = model is not None
        model = g1_model.tracking_model(menagerie_dir) if model is None else model
        dt = float(model.opt.timestep) * int(cfg.action.decimation)
        library = make_library(motion, retargeter, dt)
        self.sim = TrackingSim(library, cfg, [model], evaluation=evaluation)
        # A caller-given model may be shared with other envs: write the randomisation first.
        self.sim.model_shared[:] = caller_model
        self._model_shared = caller_model
        self._reward_keys = tuple(f"reward_{k}" for k in self.sim.reward_names)
        self._error_keys = tuple(f"error_{k}" for k in mdp.ERRORS)
        self.metadata = {**self.metadata, "render_fps": 1.0 / self.sim.dt}
        self.action_space = gym.spaces.Box(
            -self.sim.action_bound, self.sim.action_bound, (self.sim.action.shape[1],), np.float32
        )
        use_fused = fused_path and fused_terms.applies(self.sim)
        self._fused = fused_terms.FusedTerms(self.sim) if use_fused else None
        self._renderer: SceneRenderer | None = None
        self._viewer = None

    # ---------------------------------------------------------------------- read-only views
    @property
    def model(self) -> mujoco.MjModel:
        return self.sim.models[0]

    @property
    def data(self) -> mujoco.MjData:
        return self.sim.datas[0]

    @property
    def sampler(self):
        return self.sim.samplers[0]

    @property
    def uses_fused_path(self) -> bool:
        """Whether steps run the fused single-robot evaluation of the default tables."""
        return self._fused is not None

    @property
    def clip_frame(self) -> int:
        """Current frame within the current clip."""
        return int(self.sim.g[0] - self.library.clip_start[self.sim.clip[0]])

    @property
    def clip_index(self) -> int:
        return int(self.sim.clip[0])

    # ------------------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.sim.rngs[0] = self.np_random
        self.sim.reset_robot(0, options)
        obs = None
        if self._fused is not None:
            self._fused.read_state()
            obs = self._fused.observation(self.obs_mode)
        if obs is None:
            obs = self._observation(self._inputs())
        return obs, self._reset_info()

    def step(self, action):
        sim = self.sim
        if not sim.episode_open[0]:
            raise RuntimeError("call reset() before step()")
        sim.rngs[0] = self.np_random
        if self._model_shared:
            sim.apply_randomization(0)
        # (J,) broadcasts into the (1, J) action row: no reshape.
        sim.act(np.asarray(action, dtype=float))
        if self._fused is not None:
            n_undesired = sim.step_robot(0)
            terms, errors, reason = self._fused.step(n_undesired)
            reward = self._fused.reward(terms)
        else:
            n_undesired = sim.simulate()
            s = sim.inputs(n_undesired)
            terms_a = sim.reward_terms(s)
            reward = float(sim.reward(terms_a)[0])
            terms = terms_a[0].tolist()
            errors = [float(f(s)[0]) for f in mdp.ERRORS.values()]
            reason = sim.termination_names[int(sim.termination_codes(s)[0])]
        terminated = reason != ""
        g, steps = sim.g.item(0), sim.steps.item(0)
        truncated = not terminated and (g >= sim.g_end.item(0) or steps >= sim.max_episode_steps)
        sim.failed[0] = terminated
        info: dict[str, Any] = dict(zip(self._reward_keys, terms, strict=True))
        info.update(zip(self._error_keys, errors, strict=True))
        info["termination"] = reason
        clip = sim.clip.item(0)
        info["frame"] = g - self.library.clip_start.item(clip)
        info["clip"] = clip
        if self.render_mode == "human":
            self.render()
        obs = self._fused.observation(self.obs_mode) if self._fused is not None else None
        if obs is None:
            obs = self._observation(self._inputs())
        return obs, reward, terminated, truncated, info

    def render(self):
        if self.render_mode == "rgb_array":
            if self._renderer is None:
                self._renderer = SceneRenderer(self.model, ghost=self.render_reference)
            ref = self.library.qpos(int(self.sim.g[0])) if self.render_reference else None
            return self._renderer.render(self.data, reference_qpos=ref)
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
        state["_renderer"] = state["_viewer"] = None
        return state

    # ------------------------------------------------------------------------ public helpers
    def reference_joint_pos(self, offset: int = 0) -> np.ndarray:
        """Reference joint positions (29,) ``offset`` frames ahead (clamped to the clip)."""
        return self.library.joint_pos[min(int(self.sim.g[0]) + offset, int(self.sim.g_end[0]))]

    def action_for_joint_targets(self, q_target: np.ndarray) -> np.ndarray:
        """The action whose PD targets are ``q_target`` (29,) under the current default offset."""
        a = (np.asarray(q_target) - self.sim.action_offset()[0]) / self.action_scale
        return np.clip(a, -self.action_bound, self.action_bound).astype(np.float32)

    def robot_body_pos_w(self) -> np.ndarray:
        """Tracked-body positions of the robot (14, 3) [m], world frame."""
        return self.data.xpos[TRACKED_BODY_IDS].copy()

    def reference_body_pos_w(self) -> np.ndarray:
        """Tracked-body positions of the reference at the current frame (14, 3) [m], world."""
        return self.library.body_pos_w[int(self.sim.g[0])].copy()

    def term_inputs(self) -> mdp.TermInputs:
        """The term inputs of the current state (undesired contacts 0)."""
        return self._inputs()

    def actor_observation(self, noise: bool = False) -> np.ndarray:
        """The actor observation (160,) of the current state, optionally with noise."""
        s = self._inputs()
        o = mdp.observe(self.sim.observation_groups["actor"], s)[0].astype(np.float32)
        if noise:
            o += self.np_random.random(o.size) * self.sim.noise_scale2 - self.sim.noise_scale
        return o

    def critic_observation(self) -> np.ndarray:
        """The privileged critic observation (286,) of the current state (no noise)."""
        return self.sim.observe("critic", self._inputs())[0]

    def nmr_observation(self) -> np.ndarray:
        """The NMR paper's expert observation (509,) (its Table I)."""
        return self.sim.observe("nmr", self._inputs())[0]

    def termination(self) -> str:
        """The termination rule that fires in the current state ("" if none)."""
        return self.sim.termination_names[int(self.sim.termination_codes(self._inputs())[0])]

    # ------------------------------------------------------------------------------ internals
    def _inputs(self) -> mdp.TermInputs:
        return self.sim.inputs()

    def _observation(self, s: mdp.TermInputs):
        obs = self.sim.observation(self.obs_mode, s)
        if isinstance(obs, dict):
            return {k: v[0] for k, v in obs.items()}
        return obs[0]

    def _reset_info(self) -> dict[str, Any]:
        return {
            "clip": self.clip_index,
            "frame": self.clip_frame,
            "clip_name": self.library.names[self.clip_index],
        }
