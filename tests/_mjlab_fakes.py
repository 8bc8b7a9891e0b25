"""A finished mjlab backend run without mjlab (imported as ``_mjlab_fakes``): what
``benchmark.backends.mjlab_backend.train`` leaves in its output folder."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from benchmark.backends import mjlab_backend as mb
from nmr_gym.envs import mdp
from nmr_gym.g1 import spec

#: rsl_rl's scalars of a 3-iteration run (iteration 0 ended no episode).
RAW_CURVE = pd.DataFrame(
    {
        "iteration": [0, 1, 2],
        "Train/mean_episode_length": [np.nan, 40.0, 80.0],
        "Train/mean_reward": [np.nan, 1.0, 2.0],
        "Loss/value_function": [0.3, 0.2, 0.1],
    }
)
ENVS, STEPS_PER_ENV = 4, 24


def fake_mjlab_run(dest, targets: np.ndarray) -> None:
    """What ``mjlab_backend.train`` leaves: curve, result and a policy whose action puts the
    PD targets at ``targets`` (29,) [rad] whatever the observation."""
    dest.mkdir(parents=True)
    names = list(spec.JOINT_NAMES)
    scale = np.asarray(spec.ACTION_SCALE, dtype=float)
    conv = {
        "format": mb.POLICY_FORMAT,
        "joint_names": names,
        "default_joint_pos": spec.DEFAULT_JOINT_POS.tolist(),
        "action_scale": scale.tolist(),
        "action_offset": spec.DEFAULT_JOINT_POS.tolist(),
        "observation_layouts": {"actor": [[n, t.size] for n, t in mdp.ACTOR_OBSERVATION.items()]},
        "imu_site_pos_b": [0.04525, 0.0, -0.08339],
        "imu_site_quat_b": [1.0, 0.0, 0.0, 0.0],
        "activations": ["identity"],
    }
    n_obs = mdp.size(mdp.ACTOR_OBSERVATION)
    np.savez(
        dest / mb.POLICY_FILE,
        obs_mean=np.zeros(n_obs),
        obs_std=np.ones(n_obs),
        obs_eps=np.array(0.0),
        w0=np.zeros((spec.NUM_JOINTS, n_obs)),
        b0=(targets - spec.DEFAULT_JOINT_POS) / scale,
    )
    (dest / mb.POLICY_META_FILE).write_text(json.dumps(conv))
    RAW_CURVE.to_csv(dest / "curve.csv", index=False)
    info = {
        "backend": "mjlab",
        "num_envs": ENVS,
        "iterations": 3,
        "episode_steps": 500,
        "env_steps": 3 * STEPS_PER_ENV * ENVS,
        "setup_s": 1.0,
        "train_s": 2.0,
        "checkpoint": "",
        "policy": mb.POLICY_FILE,
        "policy_meta": mb.POLICY_META_FILE,
        "curve": "curve.csv",
    }
    (dest / "result.json").write_text(json.dumps(info))
