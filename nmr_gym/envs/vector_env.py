"""``G1TrackingVecEnv``: N G1 tracking robots in one process, terms batched over robots.

A Gymnasium ``VectorEnv`` with the MDP of :class:`~nmr_gym.envs.tracking_env.G1TrackingEnv`
(one such env per robot holds its model, data, random stream and episode state): per step the
physics runs robot by robot (in ``num_threads`` threads: MuJoCo releases the GIL), then
observations, rewards and terminations are computed once for the whole batch
(:mod:`.batched`), so the Python cost per robot step shrinks with N. Finished robots reset in
the same step (Gymnasium's ``SAME_STEP`` autoreset: the returned observation is the reset one,
the last one is in ``infos["final_obs"]``). With the same seeds and actions it reproduces N
independent single envs wrapped in ``TimeLimit`` (tested), except that by default the robots
share one adaptive start sampler, as BeyondMimic's GPU envs do.

Use it with stable-baselines3 through :class:`~nmr_gym.envs.sb3.SB3VecEnv`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from nmr_gym.envs import batched
from nmr_gym.envs import rewards as rw
from nmr_gym.envs.tracking_env import _TB, EPISODE_STEPS, G1TrackingEnv
from nmr_gym.g1 import model as g1_model

_TERMINATION_NAMES = np.array(batched.TERMINATION_CODES, dtype=object)
_ERROR_KEYS = (
    "error_anchor_pos",
    "error_anchor_ori",
    "error_body_pos",
    "error_body_ori",
    "error_joint_pos",
)


class G1TrackingVecEnv(gym.vector.VectorEnv):
    """``num_envs`` tracking robots sharing one motion library.

    Args:
        num_envs: robots in the batch.
        motion, retargeter: the reference, as for ``G1TrackingEnv`` (resolved once, shared).
        num_threads: threads stepping the physics (1 = all in the calling thread).
        max_episode_steps: time limit in control steps (``None``: only the clip's end
            truncates); default BeyondMimic's 500 for training, ``None`` with ``evaluation``.
        shared_sampler: one adaptive start sampler for all robots (BeyondMimic); ``False``
            gives each robot its own, as independent single envs have.
        **env_kwargs: every other ``G1TrackingEnv`` keyword (``evaluation``, ``obs_mode``,
            the MDP's numbers).
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": ["rgb_array"]}

    def __init__(
        self,
        num_envs: int = 8,
        motion: Any = None,
        *,
        retargeter: str | None = None,
        num_threads: int = 1,
        max_episode_steps: int | None | str = "default",
        shared_sampler: bool = True,
        render_mode: str | None = None,
        **env_kwargs: Any,
    ):
        if int(num_envs) < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if int(num_threads) < 1:
            raise ValueError(f"num_threads must be >= 1, got {num_threads}")
        first = G1TrackingEnv(motion, retargeter=retargeter, render_mode=render_mode, **env_kwargs)
        # One model per physics thread, shared by that thread's robots (each writes its own
        # randomised parameters before stepping): N copies of the G1 model would multiply the
        # memory (the meshes make it ~80 MB) and evict each other from the caches.
        n, n_threads = int(num_envs), min(int(num_threads), int(num_envs))
        chunks = [c.tolist() for c in np.array_split(np.arange(n), n_threads)]
        models = [first.model] + [
            g1_model.tracking_model(env_kwargs.get("menagerie_dir")) for _ in chunks[1:]
        ]
        model_of = {i: models[k] for k, c in enumerate(chunks) for i in c}
        self.envs = [first] + [
            G1TrackingEnv(first.library, model=model_of[i], **env_kwargs) for i in range(1, n)
        ]
        self.library = lib = first.library
        self.num_envs = len(self.envs)
        self.render_mode = render_mode
        self.evaluation = first.evaluation
        self.obs_mode = first.obs_mode
        if max_episode_steps == "default":
            max_episode_steps = None if first.evaluation else EPISODE_STEPS
        self.max_episode_steps = np.inf if max_episode_steps is None else int(max_episode_steps)
        # The shared sampler's EMA decays once per batch step (BeyondMimic updates it once per
        # step of its env batch), not once per robot step.
        self._shared_sampler = first.sampler if shared_sampler else None
        if self._shared_sampler is not None:
            for e in self.envs:
                e.sampler = self._shared_sampler
                e._owns_sampler_decay = False
        for i, e in enumerate(self.envs):  # evaluation: robot i starts with clip i
            e._eval_next_clip = i % lib.num_clips
        self.single_observation_space = first.observation_space
        self.single_action_space = first.action_space
        self.observation_space = batch_space(first.observation_space, self.num_envs)
        self.action_space = batch_space(first.action_space, self.num_envs)

        self._datas = [e.data for e in self.envs]
        self.dt = first.dt
        self._bound = first.action_bound
        self._scale = first.action_scale
        self._w = first._w
        self._inv_sigma_sq = np.array(first._inv_sigma_sq)
        self._limit_mid, self._limit_half = first._limit_mid, first._limit_half
        self._thresholds = (
            first.anchor_height_threshold,
            first.anchor_tilt_threshold,
            first.end_effector_height_threshold,
        )
        self._action = np.zeros((n, first.action_space.shape[0]))
        self._last_action = np.zeros_like(self._action)
        self._q_default = np.zeros_like(self._action)
        self._num_threads = n_threads
        self._chunks = chunks
        self._pool = None
        self._started = False
        self._noisy = np.array([e.observation_noise for e in self.envs])
        self._noisy_idx = np.flatnonzero(self._noisy).tolist()
        self._noise_u = np.zeros((n, first._noise_scale.size))
        self._noise_scale = first._noise_scale.astype(float)
        self._noise_scale2 = first._noise_scale2.astype(float)
        self._cache_views()

    # ------------------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        """Reset every robot; an int ``seed`` seeds robot i with ``seed + i``."""
        seeds = seed if isinstance(seed, list | tuple) else [None] * self.num_envs
        if isinstance(seed, int):
            seeds = [seed + i for i in range(self.num_envs)]
        if len(seeds) != self.num_envs:
            raise ValueError(f"{len(seeds)} seeds for {self.num_envs} envs")
        obs, infos = [], []
        for i, e in enumerate(self.envs):
            o, info = e.reset(seed=seeds[i], options=options)
            obs.append(o)
            infos.append(info)
            self._q_default[i] = e._q_default
        self._action[:] = 0.0
        self._last_action[:] = 0.0
        self._started = True
        return self._stack(obs), self._stack_infos(infos)

    def step(self, actions):
        if not self._started:
            raise RuntimeError("call reset() before step()")
        actions = np.asarray(actions, dtype=float)
        if actions.shape != self._action.shape:
            raise ValueError(f"actions must have shape {self._action.shape}, got {actions.shape}")
        self._last_action, self._action = self._action, self._last_action
        np.minimum(np.maximum(actions, -self._bound), self._bound, out=self._action)
        ctrl = self._q_default + self._scale * self._action  # (N, 29)
        for i, e in enumerate(self.envs):
            e.data.ctrl[:] = ctrl[i]
            if e._steps >= e._next_push_step:
                e.apply_randomization()
                e._apply_push()
        n_undesired = self._simulate()
        if self._shared_sampler is not None:
            self._shared_sampler.decay(1)
        g = np.fromiter((e._g for e in self.envs), np.int64, self.num_envs)
        robot = self._robot_batch()
        lib = self.library
        terms, errors = batched.reward_terms(
            lib,
            g,
            robot,
            self._action,
            self._last_action,
            self._limit_mid,
            self._limit_half,
            self._inv_sigma_sq,
            n_undesired,
        )
        rewards = self.dt * (terms @ self._w)
        code = batched.terminations(lib, g, robot, *self._thresholds)
        terminated = code > 0
        steps = np.fromiter((e._steps for e in self.envs), np.int64, self.num_envs)
        g_end = np.fromiter((e._g_end for e in self.envs), np.int64, self.num_envs)
        truncated = ~terminated & ((g >= g_end) | (steps >= self.max_episode_steps))
        obs = self._observations(g, robot)
        infos: dict[str, Any] = {f"reward_{k}": terms[:, j] for j, k in enumerate(rw.REWARD_TERMS)}
        infos.update({k: errors[:, j] for j, k in enumerate(_ERROR_KEYS)})
        infos["termination"] = _TERMINATION_NAMES[code]
        clip = np.fromiter((e._clip for e in self.envs), np.int64, self.num_envs)
        infos["frame"] = g - lib.clip_start[clip]
        infos["clip"] = clip
        done = terminated | truncated
        if done.any():
            self._autoreset(np.flatnonzero(done), terminated, obs, infos)
        return obs, rewards, terminated, truncated, infos

    def render(self):
        """Robot 0's frame (``rgb_array``)."""
        return self.envs[0].render() if self.render_mode == "rgb_array" else None

    def close_extras(self, **kwargs):
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        for e in self.envs:
            e.close()

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_pool"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._datas = [e.data for e in self.envs]
        self._cache_views()

    # ------------------------------------------------------------------------------ internals
    def _simulate(self) -> np.ndarray:
        """Physics of one control step for every robot; undesired-contact counts (N,)."""
        envs = self.envs
        if self._num_threads == 1:
            return _simulate_chunk(envs)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._num_threads, thread_name_prefix="nmr-physics")
        futures = [self._pool.submit(_simulate_chunk, [envs[i] for i in c]) for c in self._chunks]
        return np.concatenate([f.result() for f in futures])

    def _cache_views(self) -> None:
        """Per-robot views of the MjData arrays the batch reads (their memory never moves):
        one ``np.concatenate`` per quantity then gathers the batch."""
        ds, a = self._datas, self.envs[0]._anchor_id
        self._views = {
            name: [fn(d) for d in ds]
            for name, fn in (
                ("qpos", lambda d: d.qpos),
                ("qvel", lambda d: d.qvel),
                ("xpos", lambda d: d.xpos),
                ("xquat", lambda d: d.xquat),
                ("cvel", lambda d: d.cvel),
                ("com", lambda d: d.subtree_com[1]),
                ("anchor_mat", lambda d: d.xmat[a]),
                ("pelvis_mat", lambda d: d.xmat[1]),
            )
        }

    def _robot_batch(self) -> batched.RobotBatch:
        n, v = self.num_envs, self._views
        cat = lambda name, *shape: np.concatenate(v[name]).reshape(n, *shape)  # noqa: E731
        xpos = cat("xpos", -1, 3)[:, _TB]
        return batched.RobotBatch(
            qpos=cat("qpos", -1),
            qvel=cat("qvel", -1),
            body_pos_w=xpos,
            body_quat_w=cat("xquat", -1, 4)[:, _TB],
            body_vel6_w=batched.body_vel6(cat("cvel", -1, 6)[:, _TB], xpos, cat("com", 3)),
            anchor_mat_w=cat("anchor_mat", 3, 3),
            pelvis_mat_w=cat("pelvis_mat", 3, 3),
        )

    def _observations(self, g: np.ndarray, robot: batched.RobotBatch):
        if self.obs_mode != "actor":  # per robot (the critic/NMR layouts are not batched)
            per = []
            for i, e in enumerate(self.envs):
                e._action[:] = self._action[i]
                e._read_state()
                per.append(e._observation())
            return self._stack(per)
        out = batched.actor_observation(
            self.library, g, robot, self._q_default, self._action
        ).astype(np.float32)
        if self._noisy.any():
            # Each robot's own noise stream, as the single env draws it: U(-s, s) = 2 s u - s.
            u = self._noise_u
            for i in self._noisy_idx:
                self.envs[i].np_random.random(out=u[i])
            out += (u * self._noise_scale2 - self._noise_scale) * self._noisy[:, None]
        return out

    def _autoreset(self, idx: np.ndarray, terminated: np.ndarray, obs, infos: dict) -> None:
        final_obs = np.full(self.num_envs, None, dtype=object)
        final_info = np.full(self.num_envs, None, dtype=object)
        for i in idx.tolist():
            e = self.envs[i]
            final_obs[i] = _row(obs, i)
            final_info[i] = {k: v[i] for k, v in infos.items()}
            e._failed = bool(terminated[i])
            o, _ = e.reset()
            if isinstance(obs, dict):
                for k in obs:
                    obs[k][i] = o[k]
            else:
                obs[i] = o
            self._q_default[i] = e._q_default
            self._action[i] = 0.0
            self._last_action[i] = 0.0
        mask = np.zeros(self.num_envs, dtype=bool)
        mask[idx] = True
        infos["final_obs"], infos["_final_obs"] = final_obs, mask
        infos["final_info"], infos["_final_info"] = final_info, mask

    def _stack(self, obs: list):
        if isinstance(obs[0], dict):
            return {k: np.stack([o[k] for o in obs]) for k in obs[0]}
        return np.stack(obs)

    @staticmethod
    def _stack_infos(infos: list[dict]) -> dict[str, np.ndarray]:
        return {k: np.array([info[k] for info in infos]) for k in infos[0]}


def _simulate_chunk(envs: list[G1TrackingEnv]) -> np.ndarray:
    """Step robots that share one model, one after the other (one thread's share)."""
    out = np.empty(len(envs))
    for i, e in enumerate(envs):
        e.apply_randomization()
        out[i] = e._simulate()
    return out


def _row(obs, i: int):
    if isinstance(obs, dict):
        return {k: v[i].copy() for k, v in obs.items()}
    return obs[i].copy()
