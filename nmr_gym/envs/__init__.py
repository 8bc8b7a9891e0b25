"""Gymnasium tracking environments for the Unitree G1 (BeyondMimic's MDP in MuJoCo).

Registered on import of ``nmr_gym``:

- ``NMRTrack-G1-v0``: training (observation noise, reference-state initialisation with noise,
  adaptive start sampling, domain randomisation, pushes), 10 s episodes.
- ``NMRTrack-G1-Eval-v0``: evaluation (frame-0 start, clip by clip, no noise, randomisation or
  pushes); the environment truncates itself at the end of the clip.

``gym.make("NMRTrack-G1-v0", motion=..., retargeter=..., obs_mode=...)``; see
:class:`G1TrackingEnv` for every keyword. :class:`G1TrackingVecEnv` runs N robots of the same
MDP in one process with the terms batched over robots (the fast way to train on a CPU;
``gym.make_vec(TRAIN_ID, num_envs=N, num_threads=2)`` builds it), and
:class:`nmr_gym.envs.sb3.SB3VecEnv` presents it to stable-baselines3.
"""

from __future__ import annotations

import gymnasium as gym

from nmr_gym.envs.motion_library import CONTROL_FPS, MotionLibrary
from nmr_gym.envs.tracking_env import EPISODE_STEPS, G1TrackingEnv
from nmr_gym.envs.vector_env import G1TrackingVecEnv

TRAIN_ID = "NMRTrack-G1-v0"
EVAL_ID = "NMRTrack-G1-Eval-v0"

# Training: 10 s episodes. Evaluation: no step limit, the episode lasts exactly the clip (the
# env truncates at its last frame).
for _id, _steps, _evaluation in ((TRAIN_ID, EPISODE_STEPS, False), (EVAL_ID, None, True)):
    if _id not in gym.registry:
        gym.register(
            id=_id,
            entry_point="nmr_gym.envs.tracking_env:G1TrackingEnv",
            # gym.make_vec(id, num_envs=N) builds the batched G1TrackingVecEnv.
            vector_entry_point="nmr_gym.envs.vector_env:G1TrackingVecEnv",
            max_episode_steps=_steps,
            kwargs={"evaluation": _evaluation},
        )

__all__ = [
    "CONTROL_FPS",
    "EPISODE_STEPS",
    "EVAL_ID",
    "TRAIN_ID",
    "G1TrackingEnv",
    "G1TrackingVecEnv",
    "MotionLibrary",
]
