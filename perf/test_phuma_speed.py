"""Speed of the PHUMA-style retargeter, and of its fast default schedule over PHUMA's full one.

    pytest perf/test_phuma_speed.py --benchmark-enable
    NMR_PERF_PHUMA_COMPARE=2 pytest perf/test_phuma_speed.py --benchmark-enable

Times ``retargeters.make("phuma")`` on every clip of the built-in suite (input frames per
wall-clock second; the suite rate is total frames over total time) and, on the first
``NMR_PERF_PHUMA_COMPARE`` clips, PHUMA's full schedule (Adam lr 0.005,
``NMR_PERF_PHUMA_ITERATIONS`` = 3000 iterations, ``schedule="full"``) to report the speed-up of
the fast schedule. The metric cost of the fast schedule is compared by
``perf/compare_phuma_gmr.py``.
"""

from __future__ import annotations

import functools
import os

import pytest

import retargeters
from nmr_gym.suite import builtin_suite

COMPARE = int(os.environ.get("NMR_PERF_PHUMA_COMPARE") or 1)
FULL_ITERATIONS = int(os.environ.get("NMR_PERF_PHUMA_ITERATIONS") or 3000)
SUITE = builtin_suite()
_FRAMES: dict[str, int] = {}


@functools.cache
def _warm() -> None:
    retargeters.make("phuma")(SUITE[0].motion()[:10])  # imports and model set-up


@pytest.mark.parametrize("clip", SUITE, ids=lambda c: c.name)
def test_phuma_fast_speed(rate, clip):
    _warm()
    human = clip.motion()
    phuma = retargeters.make("phuma")
    rate(lambda: phuma(human), human.n_frames, f"fast {clip.name}")
    _FRAMES[clip.name] = human.n_frames


@pytest.mark.parametrize("clip", SUITE[:COMPARE], ids=lambda c: c.name)
def test_phuma_full_speed(rate, clip):
    _warm()
    human = clip.motion()
    phuma = retargeters.make("phuma", schedule="full", iterations=FULL_ITERATIONS)
    rate(lambda: phuma(human), human.n_frames, f"full {clip.name}")


def summary(rates: dict[str, float], cpu_rates: dict[str, float]) -> list[str]:
    fast = {k.removeprefix("fast "): v for k, v in rates.items() if k.startswith("fast ")}
    lines = []
    if fast:
        frames = sum(_FRAMES[c] for c in fast)
        seconds = sum(_FRAMES[c] / v for c, v in fast.items())
        lines.append(
            f"suite ({len(fast)} clips): {frames} frames in {seconds:.1f} s = "
            f"{frames / seconds:.1f} frames/s (fast schedule)"
        )
    for key, full in rates.items():
        clip = key.removeprefix("full ")
        if key.startswith("full ") and clip in fast:
            lines.append(
                f"{clip}: speed-up of fast over full ({FULL_ITERATIONS} iterations): "
                f"{fast[clip] / full:.1f}x"
            )
    return lines
