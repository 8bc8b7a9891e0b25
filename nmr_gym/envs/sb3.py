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

    # The robots share one simulation core: attributes and methods are the batch's (the same
    # value for every index), e.g. ``env_method("set_reward_params", "body_pos", sigma=0.2)``.
    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self.venv, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(
        self, method_name: str, *args, indices: VecEnvIndices = None, **kwargs
    ) -> list[Any]:
        result = getattr(self.venv, method_name)(*args, **kwargs)
        return [result for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [self.venv.render()] + [None] * (self.num_envs - 1)


def SigmaAnnealingCallback(schedule, verbose: int = 0):  # noqa: N802 (a class factory)
    """A stable-baselines3 callback annealing reward widths during training (the NMR paper's
    Eq. 6): before each rollout and at the end it sets every scheduled term's sigma to
    ``schedule.at(num_timesteps)`` through ``env_method("set_reward_params", ...)``, which works
    for :class:`SB3VecEnv` (batched) and for SB3's vector envs of single ``G1TrackingEnv``.

    ``schedule``: a :class:`~nmr_gym.envs.mdp.SigmaSchedule` counting environment steps.
    """
    from stable_baselines3.common.callbacks import BaseCallback

    class _SigmaAnnealing(BaseCallback):
        def _apply(self) -> None:
            for name, sigma in schedule.at(self.num_timesteps).items():
                self.training_env.env_method("set_reward_params", name, sigma=sigma)
                if self.verbose:
                    self.logger.record(f"sigma/{name}", sigma)

        def _on_rollout_start(self) -> None:
            self._apply()

        def _on_step(self) -> bool:
            return True

        def _on_training_end(self) -> None:
            self._apply()

    return _SigmaAnnealing(verbose)
