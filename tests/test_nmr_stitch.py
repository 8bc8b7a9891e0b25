"""Stitched training windows: overlapping chunks of one clip join, anything else stays apart."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import tiny_train_config

import retargeters
from nmr_gym.datasets import PairDatasetWriter
from nmr_gym.suite import get_clip
from retargeters.nmr.data import NMR_FPS, compute_normalizer, epoch_order, load_pairs
from retargeters.nmr.train import train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CHUNK, STEP = 60, 45  # frames: CEPR's 4-s chunks every 3.5 s, scaled down


@pytest.fixture(scope="module")
def chunked(tmp_path_factory):
    """CEPR-like pairs: walk_short cut into overlapping chunks (the third one's robot perturbed,
    so it must not join), then one chunk of wave_short. Returns (folder, walk human, walk qpos)."""
    out = tmp_path_factory.mktemp("stitch") / "pairs"
    direct = retargeters.make("direct")
    walk = get_clip("walk_short").motion().resample(NMR_FPS)
    walk_robot = direct.retarget(walk)
    wave = get_clip("wave_short").motion().resample(NMR_FPS)
    wave_robot = direct.retarget(wave)
    with PairDatasetWriter(out, kind="kinematic", provenance={}, overwrite=True) as w:
        starts = list(range(0, walk.n_frames - CHUNK + 1, STEP))
        assert len(starts) >= 4
        for k, s in enumerate(starts):
            robot = walk_robot[s : s + CHUNK]
            if k == 2:  # a different rollout of this chunk: its shared frames differ
                robot = robot.replace(joint_pos=robot.joint_pos + 0.01)
            w.add(walk[s : s + CHUNK], robot, human_source="walk", start_frame=s,
                  stop_frame=s + CHUNK, success=True)  # fmt: skip
        w.add(wave[:CHUNK], wave_robot[:CHUNK], human_source="wave", start_frame=0,
              stop_frame=CHUNK, success=True)  # fmt: skip
    return out, walk, walk_robot, len(starts)


def test_overlapping_chunks_of_one_clip_join_exactly(chunked):
    out, walk, walk_robot, n_walk = chunked
    plain = load_pairs([out], noise_variants=0)
    assert len(plain) == n_walk + 1 and plain.slots == [1] * (n_walk + 1)
    joined = load_pairs([out], noise_variants=0, stitch=True)
    # chunks 0 and 1 join; chunk 2 differs on the frames it shares with both neighbours, so it
    # stands alone and the later walk chunks start a new entry; wave is another clip
    assert joined.slots == [2, 1, n_walk - 3, 1]
    assert sum(joined.slots) == len(plain)
    first = joined.human_pos[0]
    assert first.shape[0] == STEP + CHUNK
    np.testing.assert_allclose(first, walk.joint_pos[: STEP + CHUNK, :22], atol=1e-6)
    np.testing.assert_allclose(joined.qpos[0], walk_robot.qpos[: STEP + CHUNK], atol=1e-6)
    assert joined.pair_ids[0] == plain.pair_ids[0]
    np.testing.assert_array_equal(joined.human_pos[-1], plain.human_pos[-1])


def test_noise_is_drawn_on_the_joined_human(chunked):
    out = chunked[0]
    a = load_pairs([out], noise_variants=1, seed=4, stitch=True)
    b = load_pairs([out], noise_variants=1, seed=4, stitch=True)
    assert len(a.noisy[0]) == len(a)
    for (pa, _, _), (pb, _, _), clean in zip(a.noisy[0], b.noisy[0], a.human_pos, strict=True):
        assert pa.shape == clean.shape
        np.testing.assert_array_equal(pa, pb)


def test_epoch_draws_each_entry_as_often_as_the_pairs_it_holds():
    slots = np.array([1, 3, 2])
    order = epoch_order(3, 0, 1, 5, slots=slots)
    np.testing.assert_array_equal(np.bincount(order, minlength=3), slots)
    # all ones is exactly the unstitched order (runs without stitching are unchanged)
    np.testing.assert_array_equal(epoch_order(7, 2, 1, 3, slots=np.ones(7, int)),
                                  epoch_order(7, 2, 1, 3))  # fmt: skip
    probs = np.array([0.5, 0.25, 0.25])
    draws = np.concatenate([epoch_order(3, 0, 1, e, probs, slots) for e in range(2000)])
    assert len(draws) == 2000 * 6
    share = np.bincount(draws, minlength=3) / len(draws)  # ~ probs * slots: 0.5, 0.75, 0.5
    np.testing.assert_allclose(share, np.array([0.5, 0.75, 0.5]) / 1.75, atol=0.015)
    with pytest.raises(ValueError, match="slots"):
        epoch_order(3, 0, 1, 0, slots=np.array([1, 0, 2]))


def test_normalizer_sees_a_joined_entry_as_its_chunks(chunked):
    out = chunked[0]
    plain = load_pairs([out], noise_variants=0)
    joined = load_pairs([out], noise_variants=0, stitch=True)
    a = compute_normalizer(plain, CHUNK)
    b = compute_normalizer(joined, CHUNK)
    # the joined entries' spread windows fall on the chunk grid here: the very same windows
    for f in ("in_mean", "in_std", "out_mean", "out_std"):
        np.testing.assert_allclose(getattr(b, f), getattr(a, f), rtol=1e-6, atol=1e-7)
    joined.slots = [1] * len(joined)  # one window per entry would miss the joined chunks
    c = compute_normalizer(joined, CHUNK)
    assert np.abs(c.out_mean - a.out_mean).max() > 1e-3


def test_stitched_training_keeps_the_epoch_length_and_records_the_entries(chunked, tmp_path):
    out = chunked[0]
    rec = train(tiny_train_config(out, tmp_path / "s", stitch=True))
    st = rec["stages"][0]
    assert st["pairs"] == chunked[3] + 1 and st["stitched_entries"] == 4
    assert st["steps"] == 2 * -(-st["pairs"] // 4)


def test_motion_concat_joins_frames_and_refuses_mismatches():
    walk = get_clip("walk_short").motion().resample(NMR_FPS)
    joined = walk[:40].concat(walk[40:90])
    np.testing.assert_array_equal(joined.joint_pos, walk[:90].joint_pos)
    # quaternions are re-normalised on construction (1e-16)
    np.testing.assert_allclose(joined.joint_quat, walk[:90].joint_quat, rtol=0, atol=1e-12)
    robot = retargeters.make("direct").retarget(walk[:60])
    np.testing.assert_allclose(robot[:20].concat(robot[20:]).qpos, robot.qpos, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="fps"):
        walk[:40].concat(walk[40:90].resample(60.0))
    with pytest.raises(TypeError):
        walk[:40].concat(robot)
