"""Shared fixtures: the real-motion folder (skipped with a reason when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nmr_gym.paths import SHARED_MOTIONS_ENV_VAR, shared_motions_dir


@pytest.fixture(scope="session")
def shared_motions() -> Path:
    """``../shared/motions``; tests that need it skip when it is absent (a user's clone)."""
    path = shared_motions_dir()
    if path is None:
        pytest.skip(
            "real motion data not found: ../shared/motions is absent (set "
            f"${SHARED_MOTIONS_ENV_VAR} to use another copy)"
        )
    return path
