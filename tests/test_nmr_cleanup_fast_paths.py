"""NMR clean-up fast paths against the formulations they replace, bit for bit.

Each fast path computes the same products and sums in the same order as the plain version (so
the clean-up's output, and the leaderboards made from it, do not change); these tests hold them
to ``np.array_equal`` on synthetic poses."""

from __future__ import annotations

import numpy as np
import pytest

from nmr_gym.g1 import joint_ranges, kinematic_model, spec
from retargeters.nmr import collide, post

J = spec.JOINT_NAMES
BOUNDS = post.soft_range(joint_ranges(kinematic_model()))


def _poses_with_contacts(n: int, seed: int = 0) -> np.ndarray:
    """(n, 29) random poses in the soft range, every fourth one a hand pushed into a thigh."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(BOUNDS[:, 0], BOUNDS[:, 1], (n, 29))
    q[::4] *= 0.05
    q[::4, J.index("left_hip_pitch_joint")] = -0.4
    q[::4, J.index("left_shoulder_pitch_joint")] = 0.3 + rng.uniform(-0.05, 0.05, len(q[::4]))
    q[::4, J.index("left_elbow_joint")] = 1.0
    return q


def _assert_same_closeness(a: collide.Closeness, b: collide.Closeness) -> None:
    for field in ("frame", "pair", "dist", "point_a", "point_b", "normal"):
        x, y = getattr(a, field), getattr(b, field)
        assert x.dtype == y.dtype and np.array_equal(x, y), field


@pytest.mark.parametrize("chunk", [collide.CHUNK_FRAMES, 24])
def test_detect_is_candidates_then_closeness_then_jacobian(monkeypatch, chunk):
    """One kinematics per chunk shared by the prefilter, MuJoCo's distances and the Jacobian
    rows gives what the three separate calls (each with its own kinematics) give."""
    monkeypatch.setattr(collide, "CHUNK_FRAMES", chunk)
    q = _poses_with_contacts(90)
    close, rows = collide._detect(q, collide.MARGIN_M, True)
    f, p = collide.candidates(q, collide.MARGIN_M)
    ref = collide.closeness(q, f, p, collide.MARGIN_M)
    assert len(ref.frame) > 10 and len(np.unique(ref.frame)) > 5  # the test exercises rows
    _assert_same_closeness(close, ref)
    ref_rows = collide._arm_jacobian_rows(q, ref)
    assert rows.dtype == ref_rows.dtype and np.array_equal(rows, ref_rows)
    assert collide._detect(q, collide.MARGIN_M, False)[1] is None


def test_detect_of_no_frames():
    close, rows = collide._detect(np.zeros((0, 29)), collide.MARGIN_M, True)
    assert len(close.frame) == 0 and close.point_a.shape == (0, 3) and rows.shape == (0, 14)


def test_resolve_unchanged_by_chunking(monkeypatch):
    """The fused detection per chunk gives the same result however the frames are chunked."""
    q = _poses_with_contacts(80, seed=3)
    from retargeters.nmr.inference import lowpass

    whole = collide.resolve_arm_collisions(q, 30.0, BOUNDS, lowpass)
    monkeypatch.setattr(collide, "CHUNK_FRAMES", 16)
    assert not np.array_equal(whole, q)
    assert np.array_equal(collide.resolve_arm_collisions(q, 30.0, BOUNDS, lowpass), whole)
