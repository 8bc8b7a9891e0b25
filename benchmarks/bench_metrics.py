"""Scoring throughput of ``benchmark.metrics.score`` in frames/s, with and without the
self-collision pass.

    python benchmarks/bench_metrics.py [--frames N] [--workers W] [FILE ...]

Scores robot motion files (default: the original GMR outputs in
``../shared/motions/robot/gmr_lafan1``, read with trusted=True; otherwise a synthetic motion
with realistic joint-space movement) concatenated and tiled up to ``--frames`` frames (default
119,000: the NMR paper's test-suite size). Prints frames/s of the full score, of the score
without the self-collision pass, the ratio between them, of the full score with ``--workers``
processes, of a plain ``mj_kinematics`` + ``mj_collision`` loop and of the kinematic pass alone
(``mj_kinematics`` per frame with its outputs copied) for reference. Also shows
the gain from scoring consecutive identical frames once by scoring a clip with every frame
repeated. Timings on a shared machine are noisy: rerun it when the machine is quiet.
"""

from __future__ import annotations

import argparse
import time

import mujoco
import numpy as np

from benchmark import metrics
from nmr_gym.g1 import spec
from nmr_gym.motion import RobotMotion
from nmr_gym.paths import shared_motions_dir


def _motion(files: list[str], frames: int) -> RobotMotion:
    from nmr_gym.io import load_robot_motion

    if not files:
        shared = shared_motions_dir()
        files = (
            sorted(str(p) for p in (shared / "robot" / "gmr_lafan1").glob("*.pkl"))
            if shared
            else []
        )
    if files:
        parts = [load_robot_motion(f, trusted=True).resample(30.0).qpos for f in files]
        q = np.concatenate(parts)
        what = f"{len(files)} file(s)"
    else:  # synthetic: stand pose with smooth random joint movement, walking forward
        rng = np.random.default_rng(0)
        n = 10_000
        t = np.arange(n) / 30.0
        q = np.zeros((n, 36))
        q[:, 0], q[:, 2], q[:, 3] = 0.5 * t, spec.STAND_ROOT_HEIGHT, 1.0
        freq, phase = rng.uniform(0.2, 1.5, 29), rng.uniform(0, 2 * np.pi, 29)
        q[:, 7:] = spec.STAND_JOINT_POS + 0.3 * np.sin(2 * np.pi * freq * t[:, None] + phase)
        what = "a synthetic motion"
    reps = int(np.ceil(frames / len(q)))
    q = np.tile(q, (reps, 1))[:frames]
    print(f"scoring {frames} frames from {what}")
    return RobotMotion.from_qpos(q, 30.0, source="bench")


def _rate(fn, n: int) -> float:
    t0 = time.perf_counter()
    fn()
    return n / (time.perf_counter() - t0)


def _plain_loop(qpos: np.ndarray) -> None:
    model = metrics._collision_model()
    data = mujoco.MjData(model)
    for q in qpos:
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        mujoco.mj_collision(model, data)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="*")
    p.add_argument("--frames", type=int, default=119_000)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    motion = _motion(args.files, args.frames)
    n = motion.n_frames
    metrics.score(motion[:100])  # warm-up: model compile, hulls
    no_col = _rate(lambda: metrics.score(motion, self_collision=False), n)
    full = _rate(lambda: metrics.score(motion), n)
    par = _rate(lambda: metrics.score(motion, workers=args.workers), n)
    m = min(n, 20_000)
    plain = _rate(lambda: _plain_loop(motion.qpos[:m]), m)
    ref = _rate(lambda: metrics._mujoco_scan(motion.qpos[:m], False), m)
    slow = motion[: n // 4]
    doubled = RobotMotion.from_qpos(np.repeat(slow.qpos, 2, axis=0), 60.0)
    dup = _rate(lambda: metrics.score(doubled), doubled.n_frames)
    print(f"score without self-collision : {no_col:10.0f} frames/s  ({n / no_col:.2f} s)")
    print(f"score with self-collision    : {full:10.0f} frames/s  ({n / full:.2f} s)")
    print(f"  ratio without / with       : {no_col / full:10.2f}")
    print(f"score, {args.workers} worker processes   : {par:10.0f} frames/s  ({n / par:.2f} s)")
    print(f"  speed-up from workers      : {par / full:10.2f}")
    print(f"every frame twice (dedup)    : {dup:10.0f} frames/s")
    print(f"plain mj_kinematics+collision: {plain:10.0f} frames/s (reference, {m} frames)")
    print(f"kinematics, mj_kinematics    : {ref:10.0f} frames/s (per frame + copies, {m} frames)")


if __name__ == "__main__":
    main()
