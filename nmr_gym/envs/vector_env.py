"""``G1TrackingVecEnv``: N G1 tracking robots in one process, terms batched over robots.

The simulation core (:class:`~nmr_gym.envs.core.TrackingSim`) with N robots behind Gymnasium's
``VectorEnv``: per step the physics runs robot by robot (in ``num_threads`` threads: MuJoCo
releases the GIL), then observations, rewards and terminations are computed once for the whole
batch from the term tables of :mod:`.mdp`, so the Python cost per robot step shrinks with N.
Finished robots reset in the same step (Gymnasium's ``SAME_STEP`` autoreset: the returned
observation is the reset one, the last one is in ``infos["final_obs"]``). With the same seeds
and actions it reproduces N independent single envs (tested), except that by default the
robots share one adaptive start sampler, as BeyondMimic's GPU envs do.

Use it with stable-baselines3 through :class:`~nmr_gym.envs.sb3.SB3VecEnv`.
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from nmr_gym.envs import mdp
from nmr_gym.envs.config import TrackingConfig
from nmr_gym.envs.core import SimViews, TrackingSim
from nmr_gym.envs.rendering import SceneRenderer
from nmr_gym.envs.tracking_env import make_library, observation_space
from nmr_gym.g1 import model as g1_model


class G1TrackingVecEnv(SimViews, gym.vector.VectorEnv):
    """``num_envs`` tracking robots sharing one motion library.

    Args:
        num_envs: robots in the batch.
        motion: the reference, as for ``G1TrackingEnv`` (resolved once, shared).
        config, evaluation, obs_mode, render_reference, menagerie_dir, flat keywords: as for
            :class:`~nmr_gym.envs.tracking_env.G1TrackingEnv`.
        num_threads: threads stepping the physics (1 = all in the calling thread); one model
            per thread, shared by that thread's robots.
        max_episode_steps: time limit in control steps; "default" = the config's
            ``episode_length_s`` at the control rate (training), none in evaluation.
        shared_sampler: one adaptive start sampler for all robots (BeyondMimic); ``False``
            gives each robot its own, as independent single envs have.
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": ["rgb_array"]}

    def __init__(
        self,
        num_envs: int = 8,
        motion: Any = None,
        *,
        config: TrackingConfig | None = None,
        retargeter: str | None = None,
        evaluation: bool = False,
        obs_mode: str = "actor",
        num_threads: int = 1,
        max_episode_steps: int | None | str = "default",
        shared_sampler: bool = True,
        render_mode: str | None = None,
        render_reference: bool = False,
        menagerie_dir: str | os.PathLike | None = None,
        **overrides: Any,
    ):
        if int(num_envs) < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if int(num_threads) < 1:
            raise ValueError(f"num_threads must be >= 1, got {num_threads}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}")
        self.single_observation_space = observation_space(obs_mode)
        cfg = (config or TrackingConfig()).with_overrides(**overrides)
        n, n_threads = int(num_envs), min(int(num_threads), int(num_envs))
        # One model per physics thread, shared by that thread's robots (each writes its own
        # randomised parameters before stepping): N copies of the G1 model would multiply the
        # memory (the meshes make it ~80 MB) and evict each other from the caches.
        chunks = np.array_split(np.arange(n), n_threads)
        thread_models = [g1_model.tracking_model(menagerie_dir) for _ in chunks]
        models: list[mujoco.MjModel] = [None] * n  # type: ignore[list-item]
        for k, c in enumerate(chunks):
            for i in c.tolist():
                models[i] = thread_models[k]
        dt = float(thread_models[0].opt.timestep) * int(cfg.action.decimation)
        library = make_library(motion, retargeter, dt)
        self.sim = TrackingSim(
            library,
            cfg,
            models,
            evaluation=evaluation,
            shared_sampler=shared_sampler,
            num_threads=n_threads,
        )
        self.num_envs = n
        self.obs_mode = obs_mode
        self.render_mode = render_mode
        self.render_reference = bool(render_reference)
        if max_episode_steps != "default":  # else the config's episode length
            self.sim.max_episode_steps = (
                np.inf if max_episode_steps is None else int(max_episode_steps)
            )
        nj = self.sim.action.shape[1]
        bound = self.sim.action_bound
        self.single_action_space = gym.spaces.Box(-bound, bound, (nj,), np.float32)
        self.observation_space = batch_space(self.single_observation_space, n)
        self.action_space = batch_space(self.single_action_space, n)
        self.metadata = {**self.metadata, "render_fps": 1.0 / self.sim.dt}
        self._started = False
        self._renderer: SceneRenderer | None = None

    # ---------------------------------------------------------------------- read-only views
    # ------------------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        """Reset every robot; an int ``seed`` seeds robot i with ``seed + i``."""
        seeds = seed if isinstance(seed, list | tuple) else [None] * self.num_envs
        if isinstance(seed, int):
            seeds = [seed + i for i in range(self.num_envs)]
        if len(seeds) != self.num_envs:
            raise ValueError(f"{len(seeds)} seeds for {self.num_envs} envs")
        for i, s in enumerate(seeds):
            if s is not None or not self._started:
                self.sim.rngs[i] = np.random.default_rng(s)
        for i in range(self.num_envs):
            self.sim.reset_robot(i, options)
        self._started = True
        obs = self.sim.observation(self.obs_mode, self.sim.inputs())
        infos = {
            "clip": self.sim.clip.copy(),
            "frame": self.sim.g - self.library.clip_start[self.sim.clip],
            "clip_name": np.array([self.library.names[c] for c in self.sim.clip], dtype=object),
        }
        return obs, infos

    def step(self, actions):
        if not self._started:
            raise RuntimeError("call reset() before step()")
        sim = self.sim
        actions = np.asarray(actions, dtype=float)
        if actions.shape != sim.action.shape:
            raise ValueError(f"actions must have shape {sim.action.shape}, got {actions.shape}")
        sim.act(actions)
        n_undesired = sim.simulate()
        s = sim.inputs(n_undesired)
        terms = sim.reward_terms(s)
        rewards = sim.reward(terms)
        code = sim.termination_codes(s)
        terminated = code > 0
        truncated = sim.truncated(terminated)
        obs = sim.observation(self.obs_mode, s)
        infos: dict[str, Any] = {f"reward_{k}": terms[:, j] for j, k in enumerate(sim.reward_names)}
        infos.update({f"error_{k}": f(s) for k, f in mdp.ERRORS.items()})
        infos["termination"] = np.array(sim.termination_names, dtype=object)[code]
        infos["frame"] = s.g - self.library.clip_start[sim.clip]
        infos["clip"] = sim.clip.copy()
        sim.failed[:] = terminated
        done = terminated | truncated
        if done.any():
            self._autoreset(np.flatnonzero(done), obs, infos)
        return obs, rewards, terminated, truncated, infos

    def reference_joint_pos(self, offset: int = 0) -> np.ndarray:
        """Reference joint positions (N, 29) ``offset`` frames ahead (clamped to each clip)."""
        return self.library.joint_pos[np.minimum(self.sim.g + offset, self.sim.g_end)]

    def action_for_joint_targets(self, q_target: np.ndarray) -> np.ndarray:
        """Actions (N, 29) whose PD targets are ``q_target`` (N, 29)."""
        a = (np.asarray(q_target) - self.sim.action_offset()) / self.sim.action_scale
        return np.clip(a, -self.sim.action_bound, self.sim.action_bound).astype(np.float32)

    def term_inputs(self) -> mdp.TermInputs:
        """The term inputs of every robot in its current state (undesired contacts 0)."""
        return self.sim.inputs()

    def termination(self) -> np.ndarray:
        """The termination rule that fires for each robot in its current state (N,) str."""
        codes = self.sim.termination_codes(self.sim.inputs())
        return np.array(self.sim.termination_names, dtype=object)[codes]

    def render(self):
        """Robot 0's frame (``rgb_array``), with the reference ghost if asked for."""
        if self.render_mode != "rgb_array":
            return None
        if self._renderer is None:
            self._renderer = SceneRenderer(self.sim.models[0], ghost=self.render_reference)
        ref = self.library.qpos(int(self.sim.g[0])) if self.render_reference else None
        self.sim.apply_randomization(0)
        return self._renderer.render(self.sim.datas[0], reference_qpos=ref)

    def close_extras(self, **kwargs):
        self.sim.close()
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_renderer"] = None
        return state

    # ------------------------------------------------------------------------------ internals
    def _autoreset(self, idx: np.ndarray, obs, infos: dict) -> None:
        final_obs = np.full(self.num_envs, None, dtype=object)
        final_info = np.full(self.num_envs, None, dtype=object)
        for i in idx.tolist():
            final_obs[i] = _row(obs, i)
            final_info[i] = {k: v[i] for k, v in infos.items()}
            self.sim.reset_robot(i)
        fresh = self.sim.observation(self.obs_mode, self.sim.inputs(idx=idx), idx)
        if isinstance(obs, dict):
            for k in obs:
                obs[k][idx] = fresh[k]
        else:
            obs[idx] = fresh
        mask = np.zeros(self.num_envs, dtype=bool)
        mask[idx] = True
        infos["final_obs"], infos["_final_obs"] = final_obs, mask
        infos["final_info"], infos["_final_info"] = final_info, mask


def _row(obs, i: int):
    if isinstance(obs, dict):
        return {k: v[i].copy() for k, v in obs.items()}
    return obs[i].copy()
