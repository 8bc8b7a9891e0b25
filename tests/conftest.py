"""Shared fixtures: caches in a temporary folder; the real-motion folder, skipped when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from nmr_gym.paths import CACHE_ENV_VAR, SHARED_MOTIONS_ENV_VAR, cache_dir, shared_motions_dir


@pytest.fixture(scope="session", autouse=True)
def _cache_in_tmp(tmp_path_factory: pytest.TempPathFactory):
    """Point ``$NMR_GYM_CACHE`` (``nmr_gym.paths.cache_dir``) at a session temporary folder.

    Tests then never read a stale cache from, nor write into, the user's ``~/.cache/nmr_gym``.
    Matplotlib's cache follows too (``$MPLCONFIGDIR``), for the plotting commands.
    """
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("cache")
    mp.setenv(CACHE_ENV_VAR, str(root / "nmr_gym"))
    mp.setenv("MPLCONFIGDIR", str(root / "matplotlib"))
    assert cache_dir() == root / "nmr_gym"
    yield root
    mp.undo()


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


@pytest.fixture
def one_torch_thread():
    """One torch thread for the test: the CI machine has 2 cores, and tiny models run faster on
    one. Modules use it with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch  # here, so that tests without torch do not pay its import

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
