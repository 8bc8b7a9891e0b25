"""`gmr` (the published GMR) vs the original GMR on the nine full LAFAN1 clips: speed.

    pytest perf/test_gmr_speed.py --benchmark-enable             # whole clips

Times ``retargeters.make("gmr").retarget`` per clip (input frames per wall-clock second) and
reports the median over clips as a multiple of the original GMR's speed. The original GMR is
not a dependency: the ratio uses the number its README-documented run gives on these clips
(``ORIGINAL_FPS``). When the package ``general_motion_retargeting`` is importable, the original
is timed in the same run too and the measured ratio is reported as well. Each clip also records
the mean joint-angle difference to the original GMR's output (``shared/motions/robot/
gmr_lafan1``) on frames where the original has no joint jump within ``CLEAN_WINDOW`` frames.
Needs the real motion data (``../shared/motions``); skips without it. Rates in process CPU
time are reported too (steadier on a loaded machine).
"""

from __future__ import annotations

import os
import statistics

import numpy as np
import pytest

import retargeters
from benchmark import metrics
from nmr_gym.g1 import spec
from nmr_gym.paths import shared_motions_dir
from nmr_gym.suite import get_clip
from retargeters.gmr import validation as val

#: The original GMR's median speed on these clips [frames/s] (2-core machine; the README of
#: ``shared/motions/robot/gmr_lafan1``).
ORIGINAL_FPS = 133.0
#: A frame counts as artifact-free when the original has no joint jump this close [frames].
CLEAN_WINDOW = 15
#: Frames timed per clip (0, the default: the whole clip). ``gmr`` reads LAFAN1 files through
#: GMR's raw-bone loader, which needs the whole file, so a cut clip is only possible for the
#: original's timing.
FRAMES = int(os.environ.get("NMR_PERF_GMR_FRAMES") or 0)
CLIPS = val.LAFAN1_CLIPS
_WRISTS = [i for i, j in enumerate(spec.JOINT_NAMES) if "wrist" in j]
_MEAN_DQ: dict[str, float] = {}


def clean_frames(joint_pos: np.ndarray, window: int = CLEAN_WINDOW) -> np.ndarray:
    """(T,) True where no joint jump of ``joint_pos`` lies within ``window`` frames."""
    jumps = metrics.jump_frames(joint_pos)
    bad = np.zeros(len(joint_pos), dtype=bool)
    for t in np.flatnonzero(jumps):
        bad[max(0, t - window) : t + window + 1] = True
    return ~bad


def _human(clip: str):
    root = shared_motions_dir()
    if root is None:
        pytest.skip("real motion data not found: ../shared/motions is absent")
    return val.load_lafan1_human(root, clip)


@pytest.mark.parametrize("clip", CLIPS)
def test_gmr_speed(rate, clip):
    human = _human(clip)
    gmr = retargeters.make("gmr")
    gmr.retarget(get_clip("wave_short").motion()[:3])  # model and solver set up before timing
    out = []
    rate(lambda: out.append(gmr.retarget(human)), human.n_frames, f"ours {clip}")
    if val.original_gmr_path(shared_motions_dir(), clip).is_file():
        orig = val.load_original_gmr(shared_motions_dir(), clip)
        n = min(orig.n_frames, out[-1].n_frames)
        clean = clean_frames(orig.joint_pos[:n])
        diff = np.abs(out[-1].joint_pos[:n] - orig.joint_pos[:n])[clean]
        _MEAN_DQ[clip] = float(np.delete(diff, _WRISTS, axis=1).mean())


@pytest.mark.parametrize("clip", CLIPS)
def test_original_gmr_speed(rate, clip):
    gmr_pkg = pytest.importorskip(
        "general_motion_retargeting", reason="the original GMR is not installed"
    )
    from general_motion_retargeting.utils.lafan1 import load_lafan1_file

    root = shared_motions_dir()
    if root is None:
        pytest.skip("real motion data not found: ../shared/motions is absent")
    frames, height = load_lafan1_file(str(val.lafan1_bvh_path(root, clip)))
    frames = frames[:FRAMES] if FRAMES else frames
    original = gmr_pkg.GeneralMotionRetargeting(
        src_human="bvh_lafan1", tgt_robot="unitree_g1", actual_human_height=height
    )

    def run() -> None:
        for frame in frames:
            original.retarget(frame)

    rate(run, len(frames), f"original {clip}")


def _per_clip(rates: dict[str, float], prefix: str) -> dict[str, float]:
    return {k.removeprefix(prefix): v for k, v in rates.items() if k.startswith(prefix)}


def summary(rates: dict[str, float], cpu_rates: dict[str, float]) -> list[str]:
    ours, orig = _per_clip(rates, "ours "), _per_clip(rates, "original ")
    lines = []
    for clock, per_clip in (("wall-clock", ours), ("CPU-time", _per_clip(cpu_rates, "ours "))):
        if not per_clip:
            continue
        med = statistics.median(per_clip.values())
        lines.append(
            f"median {clock} rate over {len(per_clip)} clips: {med:.0f} frames/s = "
            f"{med / ORIGINAL_FPS:.2f}x the original GMR's {ORIGINAL_FPS:.0f} frames/s (its "
            f"documented number, not measured in this run); {FRAMES or 'all'} frames per clip"
        )
    both = sorted(set(ours) & set(orig))
    if both:
        ratio = statistics.median(ours[c] / orig[c] for c in both)
        lines.append(f"median speed-up over the original timed in this run: {ratio:.2f}x")
    if _MEAN_DQ:
        lines.append(
            "median over clips of the mean |joint difference| to the original's output, "
            f"clean frames, wrists excluded: {statistics.median(_MEAN_DQ.values()):.3f} rad"
        )
    return lines
