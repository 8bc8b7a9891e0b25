"""NMR vs gmr, end to end on the NMR held-out clips: frames per second, in the same run.

    pytest perf/test_nmr_speed.py --benchmark-enable
    NMR_PERF_DEVICE=cuda pytest perf/test_nmr_speed.py --benchmark-enable   # NMR on a GPU too

Each method does the whole job on every clip of ``benchmark/manifests/nmr_heldout.csv``: load
the human file, retarget (NMR: features, network, crossfade, filter, batched over all clips;
gmr: its per-frame IK, clip by clip), forward kinematics and write a BeyondMimic npz (which
holds the body poses and velocities). The rate is input frames per wall-clock second; the
summary prints NMR's rate as a multiple of gmr's (the issue's target: >= 10x on CPU), and each
run prints the wall-clock seconds of its three stages (load, retarget, write; for NMR also the
part of retarget spent in the physical clean-up, ``retargeters.nmr.post.clean_up``). Results:
``perf/results/nmr_speed.md``. Torch runs
``NMR_PERF_THREADS`` threads (default 1, as each gmr process uses one core). Needs the real
motion data (``../shared/motions``); skips without it.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import pytest

import retargeters
from benchmark import results as res
from benchmark.suites import load_suite
from nmr_gym.io import save_robot_motion
from nmr_gym.paths import shared_motions_dir
from retargeters.nmr.post import CleanUp

MANIFEST = Path(__file__).resolve().parents[1] / "benchmark" / "manifests" / "nmr_heldout.csv"
THREADS = int(os.environ.get("NMR_PERF_THREADS") or 1)
#: Clips timed (0: all of the held-out manifest).
CLIPS = int(os.environ.get("NMR_PERF_CLIPS") or 0)
DEVICES = ["cpu"] + ([os.environ["NMR_PERF_DEVICE"]] if os.environ.get("NMR_PERF_DEVICE") else [])
#: NMR as released (one network pass, no clean-up: the model's full joint range, the network's
#: root; what ``nmr-release`` runs), timed too so the share of the mirror average and the
#: clean-up is visible; the default ``nmr`` is the shipped pipeline.
RELEASE_OPTIONS = {**dataclasses.asdict(CleanUp.release()), "mirror_average": False}
RUNS = [("gmr", "cpu"), *(("nmr", d) for d in DEVICES), ("nmr-release", "cpu")]
_RATES: dict[str, float] = {}


def _suite():
    if shared_motions_dir() is None:
        pytest.skip("real motion data not found: ../shared/motions is absent")
    suite = load_suite(MANIFEST)
    return suite[:CLIPS] if CLIPS else suite


def _job(method: str, retargeter, suite, out: Path, stages: dict[str, float]) -> int:
    """The timed job; ``stages`` receives the wall-clock seconds of load, retarget, write (and
    for NMR the clean-up's share of retarget)."""
    t0 = time.perf_counter()
    humans = [m.load() for m in suite]
    t1 = time.perf_counter()
    if method.startswith("nmr"):
        from retargeters.nmr import inference

        clean = [0.0]
        inner = inference.clean_up

        def timed_clean_up(*args, **kwargs):
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                clean[0] += time.perf_counter() - start

        inference.clean_up = timed_clean_up
        try:
            robots = retargeter.retarget_batch(humans)
        finally:
            inference.clean_up = inner
    else:
        robots = [retargeter.retarget(h) for h in humans]
    t2 = time.perf_counter()
    for m, robot in zip(suite, robots, strict=True):
        save_robot_motion(robot, out / f"{res.slug(m.name)}.npz", format="beyondmimic")
    stages.update(load=t1 - t0, retarget=t2 - t1, write=time.perf_counter() - t2)
    if method.startswith("nmr"):
        stages["of which clean-up"] = clean[0]
    return sum(h.n_frames for h in humans)


@pytest.mark.parametrize(("method", "device"), RUNS, ids=[f"{m}-{d}" for m, d in RUNS])
def test_end_to_end_speed(benchmark, method, device, tmp_path):
    if benchmark.disabled:
        pytest.skip("timing run only: pytest perf --benchmark-enable")
    import torch

    torch.set_num_threads(THREADS)
    suite = _suite()
    opts = {"device": device} if method.startswith("nmr") else {}
    if method == "nmr-release":
        opts.update(RELEASE_OPTIONS)
    retargeter = retargeters.make(method.removesuffix("-release"), **opts)
    retargeter.retarget(suite[0].load()[:10])  # set-up (model, hulls, kernels) outside the timing
    frames: list[int] = []
    stages: dict[str, float] = {}
    cpu = time.process_time()
    benchmark.pedantic(lambda: frames.append(_job(method, retargeter, suite, tmp_path, stages)),
                       rounds=1, iterations=1)  # fmt: skip
    cpu = time.process_time() - cpu
    rate = frames[-1] / benchmark.stats.stats.median
    label = f"{method}-{device}"
    _RATES[label] = rate
    benchmark.extra_info.update(frames=frames[-1], clips=len(suite), frames_per_s=rate,
                                frames_per_cpu_s=frames[-1] / cpu, threads=THREADS,
                                stage_s=stages)  # fmt: skip
    print(f"\n{label}: {frames[-1]} frames of {len(suite)} clips, {rate:.0f} frames/s "
          f"({frames[-1] / cpu:.0f} per CPU second); "
          + ", ".join(f"{k} {v:.2f} s" for k, v in stages.items()))  # fmt: skip
    if label.startswith("nmr") and "gmr-cpu" in _RATES:
        ratio = rate / _RATES["gmr-cpu"]
        benchmark.extra_info["speedup_vs_gmr"] = ratio
        print(f"{label} is {ratio:.1f}x gmr end to end (target >= 10x on CPU)")


def summary(wall: dict[str, float], cpu: dict[str, float]) -> list[str]:
    """Ratios for perf/conftest.py's summary hook (when it records these rates)."""
    if "gmr-cpu" not in _RATES:
        return []
    return [
        f"{k} / gmr-cpu = {v / _RATES['gmr-cpu']:.1f}x" for k, v in _RATES.items() if k != "gmr-cpu"
    ]
