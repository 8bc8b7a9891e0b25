"""CEPR stage 3: features, the motion encoder, cosine K-means and the silhouette."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.cepr import cluster
from benchmark.cepr.features import FEATURE_GROUPS, NUM_FEATURES, group_normaliser, human_features
from benchmark.cepr.sources import CeprError
from nmr_gym import rotations as rot
from nmr_gym.suite import get_clip


def test_features_have_nmr_layout_and_ignore_heading_and_position():
    h = get_clip("walk_short").motion()
    f = human_features(h.joint_pos, h.joint_quat)
    assert f.shape == (h.n_frames, NUM_FEATURES) == (h.n_frames, 140)
    turn = rot.from_axis_angle(np.array([0.0, 0.0, 1.2]))
    pos = rot.rotate(np.broadcast_to(turn, h.joint_pos.shape[:-1] + (4,)), h.joint_pos)
    quat = rot.multiply(np.broadcast_to(turn, h.joint_quat.shape), h.joint_quat)
    g = human_features(pos + np.array([2.0, -1.0, 0.0]), quat)
    np.testing.assert_allclose(f, g, atol=1e-5)
    # walking forward at ~1.1 m/s: +x velocity in the canonical frame, metres per frame
    assert 0.02 < float(np.median(f[60:150, 0])) < 0.05
    assert abs(float(np.median(f[60:150, 1]))) < 0.01


def test_group_normaliser_shares_one_std_per_group():
    rng = np.random.default_rng(0)
    feats = [rng.normal(size=(500, NUM_FEATURES)).astype(np.float32) * 3.0 + 7.0 for _ in range(3)]
    mean, std = group_normaliser(feats)
    i = 0
    for width in FEATURE_GROUPS.values():
        assert np.all(std[i : i + width] == std[i])
        i += width
    assert np.allclose(std, 3.0, rtol=0.1) and np.allclose(mean, 7.0, atol=0.3)


def _blobs(seed=0, n=30):
    rng = np.random.default_rng(seed)
    dirs = np.eye(8)[:3] * 5.0
    x = np.concatenate([d + rng.normal(scale=0.5, size=(n, 8)) for d in dirs])
    return x, np.repeat(np.arange(3), n)


def _same_partition(a, b):
    return all(len(set(b[a == k])) == 1 for k in np.unique(a)) and len(np.unique(b)) == len(
        np.unique(a)
    )


def test_cosine_kmeans_recovers_directions_and_ignores_lengths():
    x, truth = _blobs()
    labels, centres = cluster.cosine_kmeans(x, 3, seed=1)
    assert _same_partition(truth, labels)
    assert np.allclose(np.linalg.norm(centres, axis=1), 1.0)
    scale = np.random.default_rng(2).uniform(0.1, 10.0, size=(len(x), 1))
    labels2, _ = cluster.cosine_kmeans(x * scale, 3, seed=1)
    assert _same_partition(labels, labels2)  # cosine: lengths do not matter
    again, _ = cluster.cosine_kmeans(x, 3, seed=1)
    assert np.array_equal(labels, again)  # seeded


def test_k_larger_than_segments_is_an_error():
    x, _ = _blobs(n=2)
    with pytest.raises(CeprError, match="number of segments"):
        cluster.cosine_kmeans(x, 7)


def test_silhouette_high_for_separated_low_for_noise():
    x, truth = _blobs()
    assert cluster.silhouette(x, truth) > 0.8
    noise = np.random.default_rng(3).normal(size=(90, 8))
    labels = np.random.default_rng(4).integers(0, 3, size=90)
    assert abs(cluster.silhouette(noise, labels)) < 0.1
    sweep = cluster.silhouette_sweep(x, range(2, 6))
    assert [r["k"] for r in sweep] == [2, 3, 4, 5]
    assert max(sweep, key=lambda r: r["silhouette"])["k"] == 3


def test_encoder_learns_and_separates_motion_kinds():
    feats, kind = [], []
    for i, name in enumerate(("wave_short", "walk_short", "squat_medium", "run_short")):
        h = get_clip(name).motion()
        for s in range(0, h.n_frames - 60, 30):
            feats.append(human_features(h.joint_pos[s : s + 60], h.joint_quat[s : s + 60]))
            kind.append(i)
    mean, std = group_normaliser(feats)
    normed = [(f - mean) / std for f in feats]
    kinds = np.array(kind)
    model, losses = cluster.train_encoder(normed, epochs=80, seed=0)
    assert losses[-1] < 0.7 * losses[0]
    emb = cluster.embed(model, normed)
    assert emb.shape == (len(feats), cluster.LATENT_DIM) and np.isfinite(emb).all()
    u = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    sim = u @ u.T
    same = kinds[:, None] == kinds[None, :]
    off = ~np.eye(len(u), dtype=bool)
    assert sim[same & off].mean() > sim[~same].mean() + 0.2  # like motions embed alike
    _, losses2 = cluster.train_encoder(normed, epochs=3, seed=0)
    assert losses2 == losses[:3]  # seeded
