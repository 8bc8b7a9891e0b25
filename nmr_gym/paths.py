"""Where optional data lives: the shared real-motion folder, the SMPL model files, the cache."""

from __future__ import annotations

import os
from pathlib import Path

SHARED_MOTIONS_ENV_VAR = "NMR_GYM_SHARED_MOTIONS"
SMPL_MODELS_ENV_VAR = "NMR_GYM_SMPL_MODELS"
#: Overrides the cache folder (retargeted reference motions and other derived files).
CACHE_ENV_VAR = "NMR_GYM_CACHE"
_REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_motions_dir() -> Path | None:
    """``$NMR_GYM_SHARED_MOTIONS`` or ``../shared/motions`` beside the checkout, if present."""
    env = os.environ.get(SHARED_MOTIONS_ENV_VAR)
    for cand in ([Path(env)] if env else []) + [_REPO_ROOT.parent / "shared" / "motions"]:
        if cand.is_dir():
            return cand
    return None


def smpl_models_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """The folder with the user's SMPL/SMPL+H/SMPL-X model files, if one is given."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(SMPL_MODELS_ENV_VAR)
    return Path(env) if env else None


def cache_dir() -> Path:
    """``$NMR_GYM_CACHE``, else ``~/.cache/nmr_gym``: where nmr-gym caches derived files.

    Read on every call (not at import), so a test session or a user can redirect it at any time.
    """
    env = os.environ.get(CACHE_ENV_VAR)
    return Path(env) if env else Path.home() / ".cache" / "nmr_gym"
