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
    ref_rows = collide._jacobian_rows(q, ref)
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


# ------------------------------------------------------------------------------ the filter
def _sosfiltfilt(x: np.ndarray) -> np.ndarray:
    """The release's filter as scipy's one call (what :func:`inference.lowpass` replaces)."""
    from scipy import signal

    from retargeters.nmr import inference

    n = x.shape[0]
    if n < 2:
        return x.copy()
    return signal.sosfiltfilt(inference._SOS, x, axis=0, padlen=min(inference.FILTER_PADLEN, n - 1))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 14, 15, 16, 27, 28, 29, 40, 300])
@pytest.mark.parametrize("tail", [(), (1,), (3,), (29,), (4, 3)])
def test_lowpass_is_scipy_sosfiltfilt(n, tail):
    from retargeters.nmr.inference import lowpass

    x = np.random.default_rng(n).normal(size=(n, *tail)) + 0.3
    got, want = lowpass(x), _sosfiltfilt(x)
    assert got.shape == want.shape and got.dtype == want.dtype
    assert np.array_equal(got, want)
    assert got.strides == want.strides  # the same layout, so later reductions sum alike


def test_smooth_changed_columns_is_smooth_of_all_columns():
    from retargeters.nmr.inference import lowpass
    from retargeters.nmr.legik import smooth_changed_columns

    rng = np.random.default_rng(5)
    change = np.zeros((120, 29))
    change[:, [0, 3, 11, 20]] = rng.normal(size=(120, 4))
    change[40:50, 7] = 0.01  # a column non-zero on a few frames only
    want = lowpass(change)
    got = smooth_changed_columns(lowpass, change)
    assert np.array_equal(got, want)
    assert np.all(want[:, [1, 2, 4]] == 0.0)  # a zero column filters to exactly zero
    assert np.array_equal(smooth_changed_columns(lowpass, np.zeros((30, 14))), np.zeros((30, 14)))


# --------------------------------------------------------------------------------- leg IK
@pytest.mark.parametrize("outside", [False, True])
def test_leg_ik_from_rows_of_a_larger_kinematics(outside):
    """The lift's IK starts from rows of the kinematics it computed for all frames and skips
    the final error: the joints are those of :func:`legik.solve_leg_ik` (which computes its
    own kinematics); a start outside the bounds is clipped first, and its rows are not used."""
    from nmr_gym import rotations
    from retargeters.nmr import legik

    rng = np.random.default_rng(7)
    n = 200
    chain = legik.leg_chains()[1]
    idx = chain.joint_index
    inner = legik._inner_bounds(BOUNDS)[idx]
    q_all = rng.uniform(inner[:, 0], inner[:, 1], (n, 6))
    if outside:
        q_all[::3, 3] = inner[3, 1] + 0.1
    root_pos = rng.normal(size=(n, 3)) * 0.1 + [0, 0, 0.8]
    quat = rng.normal(size=(n, 4)) * [1, 0.1, 0.1, 0.5]
    root_rot = rotations.to_matrix(quat / np.linalg.norm(quat, axis=1, keepdims=True))
    fk = legik.leg_fk(chain, root_pos, root_rot, q_all)
    on = rng.random(n) < 0.4
    target = fk[0][on, -1] + [0.0, 0.0, 0.03]
    args = (chain, root_pos[on], root_rot[on], q_all[on], target, fk[1][on, -1], inner)
    want, err = legik.solve_leg_ik(*args, iterations=legik.LIFT_IK_ITERATIONS)
    got, none = legik.solve_leg_ik(
        *args, legik.LIFT_IK_ITERATIONS, legik.IK_DAMPING,
        start_fk=(fk[0][on], fk[1][on]), final_error=False,
    )  # fmt: skip
    assert none is None and np.array_equal(got, want)
    assert np.abs(err).max() > legik.IK_TOLERANCE_M or outside  # iterations were run
    assert not np.array_equal(want, q_all[on])
