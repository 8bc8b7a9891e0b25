"""``nmr-bench nmr eval --suite``: one checkpoint scored on a suite by the leaderboards' metrics."""

from __future__ import annotations

import math

import pytest

import retargeters
from benchmark import metrics
from benchmark.commands.nmr import suite_metrics
from nmr_gym.suite import get_clip


def test_suite_metrics_are_the_clip_means_of_benchmark_metrics(tmp_path):
    manifest = tmp_path / "two.csv"
    manifest.write_text("path,name\nbuiltin:wave_short,wave\nbuiltin:walk_short,walk\n")
    nmr = retargeters.make("nmr")
    got = suite_metrics(nmr, str(manifest))
    assert got["clips"] == 2
    rows = [metrics.score(nmr.retarget(get_clip(n).motion()), get_clip(n).motion())
            for n in ("wave_short", "walk_short")]  # fmt: skip
    for col in metrics.METRIC_COLUMNS:
        vals = [r[col] for r in rows if not math.isnan(r[col])]
        if vals:
            assert got[col] == pytest.approx(sum(vals) / len(vals), rel=1e-6, abs=1e-9), col
    assert got["mpjpe_m"] > 0
