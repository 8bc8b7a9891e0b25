"""Where a retargeter's MPJPE comes from: per keypoint, and the part a root rotation could remove.

Reads the robot motions of an ``nmr-bench run`` folder and the suite it ran, and for each
retargeter prints, as means over the clips (each clip weighted once, as the leaderboards):

- the pelvis-relative error [m] of every keypoint of ``benchmark.metrics.KEYPOINT_MAP`` against
  the scaled human (the terms whose mean over keypoints is ``mpjpe_m``);
- the MPJPE after the best rotation of each frame's robot about its pelvis onto the human
  (Kabsch), and after the best yaw alone: upper bounds of what a better root orientation could
  win, since no retargeter can pick its root per frame from the metric's target.

The model card's "Session 12" section came from this script on the held-out run:

    python perf/keypoint_gap.py /work/data/nmr_heldout_run \\
        --suite benchmark/manifests/nmr_heldout.csv --retargeters nmr,gmr-safe,nmr-no-pin,phuma
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark import metrics
from benchmark import results as res
from benchmark.suites import load_suite
from nmr_gym.io import load_robot_motion


def best_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T, 3, 3) the rotation R of each frame minimising sum_k |R a_k - b_k|^2 (Kabsch), for
    point sets a, b (T, K, 3) about the same origin."""
    h = np.einsum("tki,tkj->tij", a, b)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.einsum("tij,tjk->tik", u, vt)))
    fix = np.broadcast_to(np.eye(3), h.shape).copy()
    fix[:, 2, 2] = d  # no reflection
    return np.einsum("tji,tjk,tlk->til", vt, fix, u)  # V diag(1, 1, d) U^T


def best_yaw(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T, 3, 3) the rotation about z of each frame minimising sum_k |R a_k - b_k|^2."""
    num = (a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]).sum(-1)
    den = (a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1]).sum(-1)
    c, s = np.cos(np.arctan2(num, den)), np.sin(np.arctan2(num, den))
    r = np.zeros((len(num), 3, 3))
    r[:, 0, 0], r[:, 0, 1], r[:, 1, 0], r[:, 1, 1], r[:, 2, 2] = c, -s, s, c, 1.0
    return r


def clip_terms(robot, human) -> tuple[np.ndarray, float, float]:
    """Per-keypoint mean error (K - 1,) [m] (the pelvis excluded), and the MPJPE after the best
    per-frame rotation and after the best per-frame yaw [m], at the scoring rate."""
    robot = metrics.resample_for_scoring(robot)
    kp = metrics.scan(robot.qpos, self_collision=False).keypoint_pos_w
    h = human.resample(robot.fps) if human.fps != robot.fps else human
    tgt = metrics.scaled_keypoints(h)
    n = min(len(tgt), len(kp))
    a = kp[:n, 1:] - kp[:n, :1]  # (T, K - 1, 3) pelvis-relative, world axes
    b = tgt[:n, 1:] - tgt[:n, :1]
    per_kp = np.linalg.norm(a - b, axis=-1).mean(0)
    rotated = [np.einsum("tij,tkj->tki", r, a) for r in (best_rotation(a, b), best_yaw(a, b))]
    full, yaw = (float(np.linalg.norm(x - b, axis=-1).mean()) for x in rotated)
    return per_kp, full, yaw


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", help="an 'nmr-bench run' output folder")
    ap.add_argument("--suite", required=True, help="the suite the run used (manifest or name)")
    ap.add_argument("--retargeters", required=True, help="comma-separated, e.g. nmr,gmr-safe")
    args = ap.parse_args(argv)
    run = Path(args.run)
    names = [r for r in args.retargeters.split(",") if r]
    missing = [r for r in names if not (run / "motions" / r).is_dir()]
    if missing:
        have = sorted(p.name for p in (run / "motions").glob("*") if p.is_dir())
        print(f"{run}: no motions for {missing}; the run has {have}", file=sys.stderr)
        return 2
    suite = load_suite(args.suite)
    labels = [b for _, b in metrics.KEYPOINT_MAP][1:]
    per_kp, summary = {}, {}
    for name in names:
        rows, full, yaw = [], [], []
        for clip in suite:
            found = sorted((run / "motions" / name).glob(res.slug(clip.name) + ".*"))
            if not found:
                print(f"{run}: no {name} motion for {clip.name}", file=sys.stderr)
                return 2
            k, f, y = clip_terms(load_robot_motion(found[0]), clip.load())
            rows.append(k)
            full.append(f)
            yaw.append(y)
        per_kp[name] = np.mean(rows, axis=0)
        summary[name] = {"mpjpe_m": float(np.mean(per_kp[name])),
                         "best_rotation_m": float(np.mean(full)),
                         "best_yaw_m": float(np.mean(yaw))}  # fmt: skip
    with pd.option_context("display.width", 200):
        print(pd.DataFrame(per_kp, index=labels).round(4).to_string())
        print()
        print(pd.DataFrame(summary).T.round(4).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
