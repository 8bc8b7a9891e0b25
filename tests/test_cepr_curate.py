"""CEPR stage 1: chunking and PHUMA's curation filters on constructed motions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from benchmark.cepr import curate
from nmr_gym.suite import get_clip


@pytest.mark.parametrize("n", [60, 119, 120, 121, 300, 1000, 1234])
def test_chunks_are_four_seconds_with_half_second_overlap(n):
    fps = 30.0
    chunks = curate.chunk_ranges(n, fps)
    size, stride = 120, 105
    if n < 60:
        assert chunks == []
        return
    if n < size:
        assert [(c.start, c.stop) for c in chunks] == [(0, n)]
        return
    assert all(c.n_frames == size for c in chunks)
    assert all(0 <= c.start and c.stop <= n for c in chunks)
    regular = [c for c in chunks if c.start % stride == 0]
    assert [c.start for c in regular] == list(range(0, n - size + 1, stride))
    tail = n - (regular[-1].stop)
    if tail >= 60:  # a last chunk aligned to the clip's end covers a tail of >= 2 s
        assert chunks[-1].stop == n
    else:
        assert chunks[-1] is regular[-1]
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_chunk_size_follows_the_rate():
    assert curate.chunk_ranges(1000, 50.0)[0].n_frames == 200
    assert curate.chunk_ranges(59, 30.0) == []  # under 2 s


def test_support_distance_inside_outside_and_without_contact():
    feet = np.array([[[0, 0], [1, 0], [0, 1], [1, 1]]], float).repeat(4, axis=0)  # (4, 4, 2)
    touching = np.array([[1, 1, 1, 1], [1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]], bool)
    point = np.array([[0.5, 0.5], [0.3, 0.4], [0.5, -0.2], [0.0, 0.0]])
    d = curate.support_distance(point, feet, touching)
    assert d[0] == 0.0  # inside the square
    assert d[1] == pytest.approx(0.5)  # to the single point (0, 0)
    assert d[2] == pytest.approx(0.2)  # to the segment (0, 0)-(1, 0)
    assert math.isnan(d[3])


def _standing():
    return get_clip("wave_short").motion()  # feet planted, pelvis still


def test_standing_clip_passes_every_filter():
    human = _standing()
    terms = curate.frame_terms(human)
    m = curate.chunk_metrics(terms, curate.chunk_ranges(human.n_frames, human.fps)[0])
    assert m["contact_score"] == pytest.approx(1.0)
    assert m["root_jerk_mps3"] < 1.0
    assert 0.6 < m["pelvis_height_m"] < 1.5
    assert m["pelvis_support_m"] < 0.01 and m["spine_support_m"] < 0.05
    assert m["curated"] and all(m[f"pass_{f}"] for f in curate.FILTERS)


def test_each_filter_catches_its_defect():
    human = _standing()
    ch = curate.chunk_ranges(human.n_frames, human.fps)[0]

    def metrics_of(pos):
        return curate.chunk_metrics(curate.frame_terms(human.replace(joint_pos=pos)), ch)

    floating = human.joint_pos + np.array([0.0, 0.0, 0.3])  # feet never reach the floor
    assert not metrics_of(floating)["pass_contact"]

    rng = np.random.default_rng(0)
    jitter = human.joint_pos.copy()
    jitter += rng.normal(scale=0.03, size=(human.n_frames, 1, 3))  # the whole body shakes
    m = metrics_of(jitter)
    assert not m["pass_jerk"] and m["root_jerk_mps3"] > curate.ROOT_JERK_MAX_MPS3

    low = human.joint_pos.copy()
    low[:, 0, 2] = 0.5  # pelvis at 0.5 m
    assert not metrics_of(low)["pass_pelvis_height"]

    leaning = human.joint_pos.copy()
    upper = [human.index(j) for j in ("pelvis", "spine1", "spine2", "spine3")]
    leaning[:, upper, 0] += 0.3  # pelvis and spine 30 cm ahead of the feet
    m = metrics_of(leaning)
    assert not m["pass_pelvis_support"] and not m["pass_spine_support"]
    assert m["pelvis_support_m"] > 0.1  # beyond the toes (and the sole margin)


def test_contact_uses_the_clip_own_standing_height():
    """A skeleton whose ankle joint stands higher than SMPL's still counts as standing."""
    human = _standing()
    pos = human.joint_pos.copy()
    feet = [human.index(j) for j in ("left_ankle", "right_ankle")]
    pos[:, feet, 2] += 0.05  # e.g. a BVH ankle 5 cm higher
    ch = curate.chunk_ranges(human.n_frames, human.fps)[0]
    m = curate.chunk_metrics(curate.frame_terms(human.replace(joint_pos=pos)), ch)
    assert m["contact_score"] == pytest.approx(1.0)


def test_filter_report_counts_failures_and_removals_in_order():
    rows = pd.DataFrame(
        {
            "pass_contact": [True, False, False, True],
            "pass_jerk": [True, False, True, False],
            "pass_pelvis_height": [True] * 4,
            "pass_pelvis_support": [True] * 4,
            "pass_spine_support": [True, True, True, False],
        }
    )
    rep = {r["filter"]: r for r in curate.filter_report(rows)}
    assert rep["contact"]["failed"] == 2 and rep["contact"]["removed_in_order"] == 2
    assert rep["jerk"]["failed"] == 2 and rep["jerk"]["removed_in_order"] == 1
    assert rep["spine_support"]["failed"] == 1 and rep["spine_support"]["removed_in_order"] == 0
