"""Speed of the PHUMA-style retargeter, and the metric cost of its fast default schedule.

Prints frames/s (input frames per wall-clock second) of ``retargeters.make("phuma")`` on the
built-in suite, and for a few clips the metrics of the fast default next to PHUMA's full
schedule (Adam lr 0.005, 3000 iterations, ``schedule="full"``) and, with ``--gmr``, the GMR-style
retargeter. Timings depend on the machine's load; rerun on an idle machine for reference values.

    python benchmarks/bench_phuma_speed.py                    # suite speed (fast schedule)
    python benchmarks/bench_phuma_speed.py --compare 2 --gmr  # + fast vs full on 2 clips
    python benchmarks/bench_phuma_speed.py --real 3           # + 3 real clips (../shared)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import retargeters
from benchmark.metrics import score
from nmr_gym.suite import builtin_suite

COLUMNS = ("joint_jump_pct", "max_joint_vel", "joint_limit_pct", "penetration_pct",
           "foot_skate_mps", "float_pct", "mpjpe_m", "w_mpjpe_m")  # fmt: skip
REAL_CLIPS = (
    "amass/nmr_examples/02_01_stageii.npz",
    "amass/nmr_examples/C13_-__run_turn_left_(135)_stageii.npz",
    "amass/accad/ACCAD_Female1General_c3d_A14_-stand_to_skip_poses.npz",
    "bvh/lafan1/walk1_subject1.bvh",
)


def run(name: str, human, **options) -> tuple[dict, float]:
    r = retargeters.make(name, **options)
    t0 = time.perf_counter()
    robot = r(human)
    elapsed = time.perf_counter() - t0
    return score(robot, human), elapsed


def row(label: str, metrics: dict, elapsed: float, n: int) -> str:
    cols = " ".join(f"{metrics[c]:9.4f}" for c in COLUMNS)
    return f"{label:38s} {n / elapsed:8.1f} {cols}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=int, default=0, help="suite clips timed (0 = all)")
    p.add_argument("--compare", type=int, default=0, help="suite clips also run with 'full'")
    p.add_argument("--real", type=int, default=0, help="real clips from ../shared/motions")
    p.add_argument("--gmr", action="store_true", help="also run gmr on the compared clips")
    p.add_argument("--full-iterations", type=int, default=3000)
    args = p.parse_args()

    retargeters.make("phuma")(builtin_suite()[0].motion()[:10])  # imports and model warm-up
    suite = builtin_suite()
    clips = suite[: args.clips] if args.clips else suite
    total_frames, total_time = 0, 0.0
    header = f"{'clip / schedule':38s} {'frames/s':>8s} " + " ".join(
        f"{c[:9]:>9s}" for c in COLUMNS
    )
    print(header)
    for clip in clips:
        human = clip.motion()
        m, el = run("phuma", human)
        total_frames += human.n_frames
        total_time += el
        print(row(f"{clip.name} fast", m, el, human.n_frames), flush=True)
    print(f"suite: {total_frames} frames in {total_time:.1f} s = "
          f"{total_frames / total_time:.1f} frames/s (fast schedule)")  # fmt: skip

    humans = [(c.name, c.motion()) for c in suite[: args.compare]]
    if args.real:
        from nmr_gym.io.human_formats import load_human_motion
        from nmr_gym.paths import shared_motions_dir

        root = shared_motions_dir()
        for rel in REAL_CLIPS[: args.real]:
            humans.append((rel.split("/")[-1][:30], load_human_motion(root / rel)))
    for label, human in humans:
        fast, t_fast = run("phuma", human)
        full, t_full = run("phuma", human, schedule="full", iterations=args.full_iterations)
        print(row(f"{label} fast", fast, t_fast, human.n_frames))
        print(row(f"{label} full", full, t_full, human.n_frames))
        print(f"{'':38s} speed-up of fast over full: {t_full / t_fast:.1f}x")
        if args.gmr:
            g, t_g = run("gmr", human)
            print(row(f"{label} gmr", g, t_g, human.n_frames))
    np.set_printoptions(precision=3)


if __name__ == "__main__":
    main()
