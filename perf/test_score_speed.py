"""Scoring throughput of ``benchmark.metrics.score`` in frames/s, with and without the
self-collision pass.

    pytest perf/test_score_speed.py --benchmark-enable
    NMR_PERF_SCORE_FRAMES=119000 pytest perf/test_score_speed.py --benchmark-enable  # paper size

Scores the original GMR outputs in ``../shared/motions/robot/gmr_lafan1`` (read with
trusted=True; without the folder a synthetic motion with realistic joint-space movement)
concatenated and tiled up to ``NMR_PERF_SCORE_FRAMES`` frames (the NMR paper's test suite is
119,000). Reports the rate of the full score, of the score without the self-collision pass,
the ratio between them, the speed-up of ``NMR_PERF_SCORE_WORKERS`` processes, the rate when
every frame appears twice (consecutive identical frames are scored once), and, for reference,
a plain ``mj_kinematics`` + ``mj_collision`` loop and the kinematic pass alone.
"""

from __future__ import annotations

import functools
import os

import mujoco
import numpy as np
import pytest

from benchmark import metrics
from nmr_gym.g1 import spec
from nmr_gym.io import load_robot_motion
from nmr_gym.motion import RobotMotion
from nmr_gym.paths import shared_motions_dir

#: Frames scored; by default the fewest at which ``workers=2`` really uses two processes.
FRAMES = int(os.environ.get("NMR_PERF_SCORE_FRAMES") or 2 * metrics.MIN_FRAMES_PER_WORKER)
WORKERS = int(os.environ.get("NMR_PERF_SCORE_WORKERS") or 2)
#: Frames of the reference loops (they are per-frame Python loops; a fraction suffices).
REFERENCE_FRAMES = min(FRAMES, 20_000)
#: Frame rate of the scored motion [Hz] (the GMR outputs are resampled to it).
FPS = 30.0


@functools.cache
def motion() -> RobotMotion:
    shared = shared_motions_dir()
    files = sorted((shared / "robot" / "gmr_lafan1").glob("*.pkl")) if shared else []
    if files:
        q = np.concatenate([load_robot_motion(f, trusted=True).resample(FPS).qpos for f in files])
    else:  # synthetic: stand pose with smooth random joint movement, walking forward
        rng = np.random.default_rng(0)
        t = np.arange(10_000) / FPS
        q = np.zeros((len(t), 36))
        q[:, 0], q[:, 2], q[:, 3] = 0.5 * t, spec.STAND_ROOT_HEIGHT, 1.0
        freq, phase = rng.uniform(0.2, 1.5, 29), rng.uniform(0, 2 * np.pi, 29)
        q[:, 7:] = spec.STAND_JOINT_POS + 0.3 * np.sin(2 * np.pi * freq * t[:, None] + phase)
    q = np.tile(q, (int(np.ceil(FRAMES / len(q))), 1))[:FRAMES]
    m = RobotMotion.from_qpos(q, FPS, source="perf")
    metrics.score(m[:100])  # model compile and hulls outside the timing
    return m


@pytest.mark.parametrize(
    ("label", "options"),
    [
        ("score without self-collision", {"self_collision": False}),
        ("score with self-collision", {}),
        (f"score, {WORKERS} worker processes", {"workers": WORKERS}),
    ],
)
def test_score_speed(rate, label, options):
    m = motion()
    rate(lambda: metrics.score(m, **options), m.n_frames, label)


def test_score_speed_every_frame_twice(rate):
    slow = motion()[: FRAMES // 4]
    doubled = RobotMotion.from_qpos(np.repeat(slow.qpos, 2, axis=0), 2 * FPS)
    rate(lambda: metrics.score(doubled), doubled.n_frames, "every frame twice (dedup)")


def test_plain_mujoco_loop_speed(rate):
    qpos = motion().qpos[:REFERENCE_FRAMES]
    model = metrics._collision_model()  # the model score uses, for a like-for-like reference
    data = mujoco.MjData(model)

    def loop() -> None:
        for q in qpos:
            data.qpos[:] = q
            mujoco.mj_kinematics(model, data)
            mujoco.mj_collision(model, data)

    rate(loop, len(qpos), "plain mj_kinematics+collision")


def test_kinematic_pass_speed(rate):
    qpos = motion().qpos[:REFERENCE_FRAMES]
    rate(lambda: metrics._mujoco_scan(qpos, False), len(qpos), "kinematics, mj_kinematics")


def summary(rates: dict[str, float], cpu_rates: dict[str, float]) -> list[str]:
    full = rates.get("score with self-collision")
    lines = [f"{FRAMES} frames scored"]
    if full and "score without self-collision" in rates:
        ratio = rates["score without self-collision"] / full
        lines.append(f"ratio without / with self-collision: {ratio:.2f}")
    par = rates.get(f"score, {WORKERS} worker processes")
    if full and par:
        lines.append(f"speed-up from {WORKERS} workers: {par / full:.2f}")
    return lines
