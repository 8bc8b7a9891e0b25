"""Offscreen rendering speed of ``nmr_gym.viz.MotionRenderer`` at 640x480 (frames/s).

Run: ``pytest perf/test_render_speed.py --benchmark-enable -s``. Each benchmark renders the
frames of a short stand-and-wave G1 motion in turn (forward kinematics + scene update + GL
render + pixel read-back; no video encoding) and prints frames/s. On a headless machine MuJoCo
renders through EGL, which without a GPU driver is Mesa's software ``llvmpipe``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nmr_gym.g1 import spec
from nmr_gym.motion import RobotMotion
from nmr_gym.viz import MotionRenderer, RobotTrack

WIDTH, HEIGHT = 640, 480
FPS = 30.0
N_FRAMES = 30


def _wave(n: int = N_FRAMES) -> RobotMotion:
    jp = np.tile(spec.STAND_JOINT_POS, (n, 1))
    jp[:, spec.joint_index("right_shoulder_roll_joint")] -= np.abs(np.sin(np.arange(n) / 5))
    root = np.tile([0.0, 0.0, spec.STAND_ROOT_HEIGHT], (n, 1))
    return RobotMotion(FPS, root, np.tile([1.0, 0, 0, 0], (n, 1)), jp)


def _report(benchmark, what: str) -> None:
    stats = getattr(benchmark, "stats", None)
    if stats is None:  # --benchmark-disable: ran once, nothing measured
        return
    mean = stats.stats.mean
    print(f"\n{what} at {WIDTH}x{HEIGHT}: {1.0 / mean:.2f} frames/s ({1000 * mean:.0f} ms/frame)")


@pytest.mark.parametrize(
    ("robots", "shadows"), [(1, False), (3, False), (1, True)], ids=["1robot", "3robots", "shadows"]
)
def test_render_speed(benchmark, robots: int, shadows: bool) -> None:
    tracks = [RobotTrack(_wave(), f"r{k}") for k in range(robots)]
    with MotionRenderer(tracks, width=WIDTH, height=HEIGHT, shadows=shadows) as r:
        frames = itertools.cycle(range(r.n_frames))
        image = benchmark(lambda: r.render(next(frames)))
        assert image.shape == (HEIGHT, WIDTH, 3)
    _report(benchmark, f"{robots} robot(s), shadows {'on' if shadows else 'off'}")
