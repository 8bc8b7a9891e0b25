"""Helpers several test modules share (imported as ``_helpers``: pytest puts ``tests/`` on the
path of its rootdir-less test modules)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from retargeters.nmr.checkpoint import save_checkpoint
from retargeters.nmr.data import Normalizer
from retargeters.nmr.features import IN_DIM, OUT_DIM
from retargeters.nmr.model import PRESETS, NMRNet


def write_tiny_nmr_checkpoint(path: Path, out_std: float) -> Path:
    """Write an untrained ``tiny`` NMR network (seed 0) to ``path`` with a plausible normaliser:
    inputs and outputs centred near 0, input std 1, output std ``out_std`` (a larger one makes
    the untrained output's root height and joints further off). Returns ``path``."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    norm = Normalizer(
        rng.normal(0, 0.1, IN_DIM).astype(np.float32), np.ones(IN_DIM, np.float32),
        rng.normal(0, 0.1, OUT_DIM).astype(np.float32), np.full(OUT_DIM, out_std, np.float32),
    )  # fmt: skip
    save_checkpoint(path, NMRNet(PRESETS["tiny"]), norm, {"stages": []})
    return path


def make_track_run(root: Path, clip: str) -> Path:
    """An ``nmr-bench run`` folder under ``root``: the built-in ``clip`` retargeted by
    ``direct`` (what ``nmr-bench track`` trains on). Returns the run folder."""
    from benchmark.runner import run

    manifest = root / "m.csv"
    manifest.write_text(f"path,name\nbuiltin:{clip},{clip}\n")
    out = root / "run"
    run(str(manifest), ["direct"], out, progress=False)
    return out


def cepr_expert_settings(**kw):
    """Small CEPR expert settings (``benchmark.cepr.experts.expert_settings``) for tests: the
    paper's expert MDP unless ``kw`` says otherwise."""
    from benchmark.cepr import experts

    base = dict(
        timesteps=1024,
        n_envs=4,
        n_steps=32,
        seed=0,
        net_arch=[32],
        init_std=0.5,
        obs_mode=experts.EXPERT_OBS_MODE,
        rewards=experts.EXPERT_REWARDS,
        sigma_start=experts.EXPERT_SIGMA_START,
        sigma_end=experts.EXPERT_SIGMA_END,
        checkpoint_every=10_000,
    )
    return experts.expert_settings(**{**base, **kw})


def tiny_train_config(pairs: Path, out: Path, **kw):
    """A two-epoch ``tiny`` NMR training configuration on the pair set ``pairs``."""
    from retargeters.nmr.train import TrainConfig

    base = dict(data=(str(pairs),), out=str(out), preset="tiny", epochs=2, batch_size=4,
                window=60, warmup_steps=2, save_every=3, eval_every=3, progress=False,
                tensorboard=False)  # fmt: skip
    return TrainConfig(**{**base, **kw})


def random_g1_qpos(n: int = 20, seed: int = 0) -> np.ndarray:
    """(n, 36) seeded random G1 poses: root anywhere, any orientation, joints inside range."""
    from nmr_gym import rotations as rot
    from nmr_gym.g1 import joint_ranges, kinematic_model

    rng = np.random.default_rng(seed)
    r = joint_ranges(kinematic_model())
    q = np.zeros((n, 36))
    q[:, :3] = rng.normal(size=(n, 3))
    q[:, 3:7] = rot.normalize(rng.normal(size=(n, 4)))
    q[:, 7:] = rng.uniform(r[:, 0], r[:, 1], size=(n, 29))
    return q
