"""``SB3VecEnv``: a :class:`~nmr_gym.envs.vector_env.G1TrackingVecEnv` as a stable-baselines3
``VecEnv`` (one process, every robot batched, physics in threads).

stable-baselines3 expects per-env ``infos`` dicts, ``terminal_observation`` for finished
episodes and ``TimeLimit.truncated`` to bootstrap time-outs; this adapter translates the
Gymnasium vector API (``SAME_STEP`` autoreset) into that. Wrap it in SB3's ``VecMonitor`` for
episode statistics and ``VecNormalize`` for observation normalisation, as with any VecEnv.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices

from nmr_gym.envs.vector_env import G1TrackingVecEnv

#: Per-step info keys passed on to SB3's per-env dicts (reward terms and tracking errors).
_INFO_PREFIXES = ("reward_", "error_")


class SB3VecEnv(VecEnv):
    """stable-baselines3 view of a batched tracking env; ``SB3VecEnv(8, motion, ...)`` builds
    the ``G1TrackingVecEnv`` with those arguments, or pass one as ``venv=``."""

    def __init__(self, num_envs: int = 8, motion: Any = None, *, venv=None, **kwargs: Any):
        self.venv = venv if venv is not None else G1TrackingVecEnv(num_envs, motion, **kwargs)
        super().__init__(
            self.venv.num_envs, self.venv.single_observation_space, self.venv.single_action_space
        )
        self._actions: np.ndarray | None = None

    def reset(self):
        seeds = self._seeds
        seed = seeds if any(s is not None for s in seeds) else None
        obs, infos = self.venv.reset(seed=seed)
        self.reset_infos = [{k: v[i] for k, v in infos.items()} for i in range(self.num_envs)]
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        obs, rewards, terminated, truncated, infos = self.venv.step(self._actions)
        dones = terminated | truncated
        keys = [k for k in infos if k.startswith(_INFO_PREFIXES)]
        columns = [infos[k].tolist() for k in keys]
        per_env = [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)]
        for i in np.flatnonzero(dones).tolist():
            per_env[i]["terminal_observation"] = infos["final_obs"][i]
            per_env[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
            per_env[i]["termination"] = infos["termination"][i]
        return obs, rewards.astype(np.float32), dones, per_env

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(self.venv.envs[i], attr_name) for i in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        for i in self._get_indices(indices):
            setattr(self.venv.envs[i], attr_name, value)

    def env_method(
        self, method_name: str, *args, indices: VecEnvIndices = None, **kwargs
    ) -> list[Any]:
        return [
            getattr(self.venv.envs[i], method_name)(*args, **kwargs)
            for i in self._get_indices(indices)
        ]

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [self.venv.render()] + [None] * (self.num_envs - 1)
