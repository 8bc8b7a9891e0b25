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
