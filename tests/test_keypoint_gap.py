"""The rotation bounds of ``perf/keypoint_gap.py`` (loaded from its file: perf/ is no package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from nmr_gym import rotations as rot

_PATH = Path(__file__).resolve().parents[1] / "perf" / "keypoint_gap.py"
_spec = importlib.util.spec_from_file_location("keypoint_gap", _PATH)
kg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kg)


def _points(rng, t: int = 6, k: int = 12) -> np.ndarray:
    return rng.normal(scale=0.3, size=(t, k, 3))


def test_best_rotation_recovers_a_rotation_and_never_reflects():
    rng = np.random.default_rng(0)
    a = _points(rng)
    true = rot.to_matrix(rot.normalize(rng.normal(size=(len(a), 4))))  # (T, 3, 3)
    b = np.einsum("tij,tkj->tki", true, a)
    found = kg.best_rotation(a, b)
    np.testing.assert_allclose(found, true, atol=1e-9)
    # a mirrored target: the best proper rotation, not the reflection
    mirrored = b * np.array([1.0, 1.0, -1.0])
    r = kg.best_rotation(a, mirrored)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-9)
    np.testing.assert_allclose(
        np.einsum("tij,tkj->tik", r, r), np.tile(np.eye(3), (len(r), 1, 1)), atol=1e-9
    )


def test_best_yaw_recovers_a_yaw_and_is_no_better_than_the_full_rotation():
    rng = np.random.default_rng(1)
    a = _points(rng)
    yaw = rng.uniform(-np.pi, np.pi, len(a))
    c, s = np.cos(yaw), np.sin(yaw)
    true = np.zeros((len(a), 3, 3))
    true[:, 0, 0], true[:, 0, 1], true[:, 1, 0], true[:, 1, 1], true[:, 2, 2] = c, -s, s, c, 1.0
    b = np.einsum("tij,tkj->tki", true, a)
    np.testing.assert_allclose(kg.best_yaw(a, b), true, atol=1e-9)
    # with noise and a tilt, the full rotation fits at least as well as the yaw alone
    tilted = np.einsum("ij,tkj->tki", rot.to_matrix(rot.from_axis_angle(np.array([0.3, 0, 0]))), b)
    noisy = tilted + rng.normal(scale=0.02, size=b.shape)

    def err(r):
        return np.linalg.norm(np.einsum("tij,tkj->tki", r, a) - noisy, axis=-1).mean()

    assert err(kg.best_rotation(a, noisy)) <= err(kg.best_yaw(a, noisy)) + 1e-12
