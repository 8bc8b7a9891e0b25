"""GMR-style retargeter vs the original GMR on the nine full LAFAN1 clips: speed and quality.

    python benchmarks/bench_gmr_speed.py                 # all nine clips, scored
    python benchmarks/bench_gmr_speed.py --frames 600    # quick: the first 600 frames of each
    python benchmarks/bench_gmr_speed.py --all-shared --frames 90   # every real clip retargets

For each clip it times ``retargeters.make("gmr").retarget`` (wall clock and process CPU time;
the CPU-time rate is the one to trust on a shared, loaded machine), loads the original GMR's
output from ``shared/motions/robot/gmr_lafan1`` and scores both with ``benchmark.metrics.score``
(same G1, same definitions), and reports the mean joint-angle difference between the two on
frames where the original has no artifact (no joint jump within ``CLEAN_WINDOW`` frames).

The original GMR is not installed here: the speed ratio uses the README's number
(``ORIGINAL_FPS``, median 133 frames/s on a 2-core machine). When the package
``general_motion_retargeting`` is importable, the original is timed in the same run and that
ratio is printed too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import retargeters
from benchmark import metrics
from nmr_gym.g1 import spec
from nmr_gym.io import load_human_motion, load_robot_motion
from nmr_gym.paths import shared_motions_dir

#: The original GMR's median speed on these clips (shared/motions/robot/gmr_lafan1/README.md).
ORIGINAL_FPS = 133.0
#: A frame counts as artifact-free when the original has no joint jump this close [frames].
CLEAN_WINDOW = 15
CLIPS = (
    "dance1_subject1",
    "dance1_subject2",
    "fallAndGetUp1_subject1",
    "ground1_subject1",
    "multipleActions1_subject1",
    "obstacles1_subject1",
    "push1_subject2",
    "pushAndFall1_subject1",
    "walk4_subject1",
)
SHOWN = (
    "joint_jump_pct",
    "self_collision_pct",
    "joint_limit_pct",
    "penetration_pct",
    "max_joint_vel",
)
_WRISTS = [i for i, j in enumerate(spec.JOINT_NAMES) if "wrist" in j]


def clean_frames(joint_pos: np.ndarray, window: int = CLEAN_WINDOW) -> np.ndarray:
    """(T,) True where no joint jump of ``joint_pos`` lies within ``window`` frames."""
    jumps = metrics.jump_frames(joint_pos)
    bad = np.zeros(len(joint_pos), dtype=bool)
    for t in np.flatnonzero(jumps):
        bad[max(0, t - window) : t + window + 1] = True
    return ~bad


def time_original(bvh: Path, n_frames: int) -> float | None:
    """Frames/s of the original GMR on ``bvh`` when it is importable, else None."""
    try:
        from general_motion_retargeting import GeneralMotionRetargeting
        from general_motion_retargeting.utils.lafan1 import load_lafan1_file
    except ImportError:
        return None
    try:  # the original's API as of its BVH script; report instead of crashing if it moved
        frames, height = load_lafan1_file(str(bvh))
        frames = frames[:n_frames] if n_frames else frames
        gmr = GeneralMotionRetargeting(
            src_human="bvh_lafan1", tgt_robot="unitree_g1", actual_human_height=height
        )
    except Exception as exc:  # noqa: BLE001
        print(f"original GMR importable but not runnable here: {exc}", file=sys.stderr)
        return None
    start = time.perf_counter()
    for frame in frames:
        gmr.retarget(frame)
    return len(frames) / (time.perf_counter() - start)


def run_lafan1(root: Path, n_frames: int, score: bool, workers: int) -> pd.DataFrame:
    gmr = retargeters.make("gmr")
    rows = []
    for name in CLIPS:
        bvh = root / "bvh" / "lafan1" / f"{name}.bvh"
        human = load_human_motion(bvh)
        if n_frames:
            human = human[:n_frames]
        gmr.retarget(human[:3])  # warm caches (model, hulls) outside the timing
        wall, cpu = time.perf_counter(), time.process_time()
        ours = gmr.retarget(human)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        row = {
            "clip": name,
            "frames": ours.n_frames,
            "fps_wall": ours.n_frames / wall,
            "fps_cpu": ours.n_frames / cpu,
            "solves_per_frame": gmr.last_stats["ik_solves"] / ours.n_frames,
        }
        original_fps = time_original(bvh, n_frames)
        if original_fps is not None:
            row["orig_fps_wall"] = original_fps
        orig_path = root / "robot" / "gmr_lafan1" / f"{name}.pkl"
        if orig_path.is_file():
            orig = load_robot_motion(orig_path, trusted=True)
            n = min(orig.n_frames, ours.n_frames)
            orig, ours_n = orig[:n], ours[:n]
            clean = clean_frames(orig.joint_pos)
            diff = np.abs(ours_n.joint_pos - orig.joint_pos)[clean]
            row["clean_pct"] = 100.0 * clean.mean()
            row["mean_dq_rad"] = float(diff.mean())
            row["mean_dq_no_wrist_rad"] = float(np.delete(diff, _WRISTS, axis=1).mean())
            if score:
                s_ours = metrics.score(ours_n, human[:n], workers=workers)
                s_orig = metrics.score(orig, human[:n], workers=workers)
                for key in SHOWN:
                    row[f"{key}"] = s_ours[key]
                    row[f"orig_{key}"] = s_orig[key]
        rows.append(row)
        print(pd.DataFrame([row]).round(3).to_string(index=False), flush=True)
    return pd.DataFrame(rows)


def run_all_shared(root: Path, n_frames: int) -> int:
    """Retarget every AMASS and BVH clip in the shared folder; returns the failure count."""
    gmr = retargeters.make("gmr", fps=30.0)
    files = sorted(root.glob("amass/**/*.npz")) + sorted(root.glob("bvh/**/*.bvh"))
    failures = 0
    for path in files:
        try:
            human = load_human_motion(path)
            human = human[: max(2, int(n_frames * human.fps / 30.0))] if n_frames else human
            out = gmr.retarget(human)
            ok = np.isfinite(out.qpos).all()
            print(
                f"ok   {path.relative_to(root)}: {out.n_frames} frames"
                if ok
                else f"FAIL {path.relative_to(root)}: non-finite output"
            )
            failures += not ok
        except Exception as exc:  # noqa: BLE001 - report every file, then fail
            failures += 1
            print(f"FAIL {path.relative_to(root)}: {type(exc).__name__}: {exc}")
    print(f"{len(files) - failures}/{len(files)} clips retargeted")
    return failures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=0, help="first N frames per clip (0: all)")
    p.add_argument("--no-score", action="store_true", help="timing and pose difference only")
    p.add_argument("--workers", type=int, default=1, help="processes for metric scoring")
    p.add_argument(
        "--all-shared",
        action="store_true",
        help="instead: retarget every AMASS/BVH clip in shared/motions",
    )
    args = p.parse_args(argv)
    root = shared_motions_dir()
    if root is None:
        print("shared/motions not found (set NMR_GYM_SHARED_MOTIONS)", file=sys.stderr)
        return 2
    if args.all_shared:
        return int(run_all_shared(root, args.frames) > 0)
    table = run_lafan1(root, args.frames, not args.no_score, args.workers)
    pd.set_option("display.width", 250)
    print("\nper clip:")
    print(table.round(3).to_string(index=False))
    for col in ("fps_wall", "fps_cpu"):
        med = statistics.median(table[col])
        print(
            f"median {col}: {med:.0f} frames/s = {med / ORIGINAL_FPS:.2f}x the original GMR's "
            f"{ORIGINAL_FPS:.0f} frames/s (README number, not measured in this run)"
        )
    if "orig_fps_wall" in table:
        ratio = statistics.median(table["fps_wall"] / table["orig_fps_wall"])
        print(f"median speed-up over the original timed in this run: {ratio:.2f}x")
    numeric = table.drop(columns=["clip"])
    print("\nmedians over clips:")
    print(numeric.median().round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
