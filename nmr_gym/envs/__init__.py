"""Gymnasium tracking environments for the Unitree G1 (BeyondMimic's MDP in MuJoCo).

Registered on import of ``nmr_gym``:

- ``NMRTrack-G1-v0``: training (observation noise, reference-state initialisation with noise,
  adaptive start sampling, domain randomisation, pushes), 10 s episodes (the env truncates
  itself at ``TrackingConfig.episode_length_s``).
- ``NMRTrack-G1-Eval-v0``: evaluation (frame-0 start, clip by clip, no noise, randomisation or
  pushes); the episode lasts the clip.

``gym.make("NMRTrack-G1-v0", motion=..., obs_mode=..., config=...)``; see
:class:`G1TrackingEnv` for every keyword and :mod:`nmr_gym.envs.mdp` for the term tables.
:class:`G1TrackingVecEnv` runs N robots of the same MDP in one process with the terms batched
over robots (``gym.make_vec(TRAIN_ID, num_envs=N, num_threads=2)`` builds it), and
:class:`nmr_gym.envs.sb3.SB3VecEnv` presents it to stable-baselines3.
"""

from __future__ import annotations

import gymnasium as gym

from nmr_gym.envs.config import TrackingConfig
from nmr_gym.envs.mdp import OBS_MODES, REWARD_PRESETS, SigmaSchedule
from nmr_gym.envs.motion_library import MotionLibrary
from nmr_gym.envs.tracking_env import G1TrackingEnv
from nmr_gym.envs.vector_env import G1TrackingVecEnv

TRAIN_ID = "NMRTrack-G1-v0"
EVAL_ID = "NMRTrack-G1-Eval-v0"

# No TimeLimit wrapper: the env derives its step limit from episode_length_s and its control
# rate, so that a different decimation keeps 10 s episodes.
for _id, _evaluation in ((TRAIN_ID, False), (EVAL_ID, True)):
    if _id not in gym.registry:
        gym.register(
            id=_id,
            entry_point="nmr_gym.envs.tracking_env:G1TrackingEnv",
            # gym.make_vec(id, num_envs=N) builds the batched G1TrackingVecEnv.
            vector_entry_point="nmr_gym.envs.vector_env:G1TrackingVecEnv",
            kwargs={"evaluation": _evaluation},
        )

__all__ = [
    "EVAL_ID",
    "OBS_MODES",
    "REWARD_PRESETS",
    "TRAIN_ID",
    "G1TrackingEnv",
    "G1TrackingVecEnv",
    "MotionLibrary",
    "SigmaSchedule",
    "TrackingConfig",
]
