"""NMR on one long clip: wall time, the multiple of real time, and peak memory; a report.

The issue asks NMR to retarget any clip length, "1 frame to hours" (a motion here has at least
2 frames: :data:`nmr_gym.motion._validate.MIN_FRAMES`). This script builds an N-minute human
motion from the built-in ``locomotion_long`` clip (played forwards, then backwards, and so on,
so the joints stay continuous at every seam), resampled to the input rate asked, and times
``retargeters.make("nmr").retarget`` on it in a fresh process per case, which reports its own
peak resident memory (``ru_maxrss``, the whole process: Python, torch, MuJoCo and the motion).
No data files are needed. The report (``--out``) gets the newest run first, older runs below.

    python perf/nmr_long_clip.py                      # 10 and 60 min at 30 fps, 60 min at 120 fps
    python perf/nmr_long_clip.py --cases 60@30 --out /tmp/long.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

DEFAULT_OUT = Path(__file__).parent / "results" / "nmr_long_clip.md"
DEFAULT_CASES = ("10@30", "60@30", "60@120")


def _child(minutes: float, fps: float, threads: int) -> dict:
    """One case in this process: build the motion, retarget it, report time and memory."""
    import resource
    import time

    import numpy as np
    import torch

    torch.set_num_threads(threads)
    import retargeters
    from nmr_gym.suite import get_clip

    base = get_clip("locomotion_long").motion()
    base = base.resample(fps) if fps != base.fps else base
    n = round(minutes * 60.0 * fps)
    reps = -(-n // base.n_frames)
    fwd = np.arange(base.n_frames)
    idx = np.concatenate([fwd if k % 2 == 0 else fwd[::-1] for k in range(reps)])[:n]
    human = base.replace(joint_pos=base.joint_pos[idx], joint_quat=base.joint_quat[idx])
    del base, idx
    nmr = retargeters.make("nmr")
    nmr.retarget(get_clip("walk_short").motion())  # set-up outside the timing
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    t0 = time.perf_counter()
    out = nmr.retarget(human)
    wall = time.perf_counter() - t0
    assert out.n_frames == human.n_frames and np.isfinite(out.qpos).all()
    return {
        "minutes": minutes,
        "fps": fps,
        "frames": int(human.n_frames),
        "wall_s": wall,
        "x_real_time": minutes * 60.0 / wall,
        "frames_per_s": human.n_frames / wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "rss_before_mb": rss_before,
        "threads": threads,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=list(DEFAULT_CASES),
                    help="MINUTES@FPS of each clip (default: %(default)s)")  # fmt: skip
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        minutes, fps = (float(v) for v in args.child.split("@"))
        print(json.dumps(_child(minutes, fps, args.threads)))
        return 0
    rows = []
    for case in args.cases:
        try:
            minutes, fps = (float(v) for v in case.split("@"))
        except ValueError:
            ap.error(f"a case is MINUTES@FPS, e.g. 60@30; got {case!r}")
        if minutes <= 0 or fps <= 0:
            ap.error(f"minutes and fps must be > 0; got {case!r}")
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
        cmd = [sys.executable, __file__, "--child", case, "--threads", str(args.threads)]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if done.returncode:
            print(done.stderr[-2000:], file=sys.stderr)
            return done.returncode
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"{row['minutes']:g} min at {row['fps']:g} fps ({row['frames']} frames): "
              f"{row['wall_s']:.1f} s, {row['x_real_time']:.0f}x real time, "
              f"{row['frames_per_s']:.0f} frames/s, peak RSS {row['peak_rss_mb']:.0f} MB "
              f"({row['rss_before_mb']:.0f} MB peak before the call)")  # fmt: skip
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    git = ["git", "rev-parse", "--short", "HEAD"]
    here = Path(__file__).parent
    commit = subprocess.run(git, capture_output=True, text=True, cwd=here, check=False).stdout
    commit = commit.strip()
    out = Path(args.out)
    title = "# nmr_long_clip: `python perf/nmr_long_clip.py`"
    older = out.read_text().removeprefix(title).lstrip("\n") if out.exists() else ""
    lines = [
        title,
        "",
        f"## {when}, commit {commit or 'unknown'}",
        "",
        f"{platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"torch threads {args.threads}. One fresh process per row; the clip is the built-in "
        "`locomotion_long` played forwards and backwards to the length asked; peak RSS is the "
        "whole process (Python, torch, MuJoCo, the input and output motions); the column before "
        "the call is the peak of the set-up (a first retarget of `walk_short`) and of building "
        "the clip.",
        "",
        "| clip | input frames | wall [s] | x real time | frames/s | peak RSS [MB] | "
        "peak RSS before the call [MB] |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['minutes']:g} min at {r['fps']:g} fps | {r['frames']:,} | {r['wall_s']:.1f} "
            f"| {r['x_real_time']:.0f} | {r['frames_per_s']:,.0f} | {r['peak_rss_mb']:,.0f} "
            f"| {r['rss_before_mb']:,.0f} |"
        )
    out.write_text("\n".join(lines) + "\n" + (f"\n{older}" if older else ""))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
