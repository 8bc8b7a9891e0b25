"""``gmr`` against the original GMR's outputs on the nine LAFAN1 clips; writes a Markdown report.

For each clip of ``../shared/motions/bvh/lafan1`` with an original output in
``../shared/motions/robot/gmr_lafan1`` (GMR's own code and G1 file; see that folder's README):
retarget with ``retargeters.make("gmr")``, compare joint angles with the original
(:mod:`retargeters.gmr.validation`: agreement on frames where the original has no artifact,
with and without wrists, divergence, jump frames) and score both with
``benchmark.metrics.score`` at the canonical rate. Prints the tables and writes
``perf/results/gmr_vs_original.md``. Retargeting speed depends on the machine's load.

    python perf/gmr_vs_original.py                  # all nine clips (a few minutes)
    python perf/gmr_vs_original.py --clips walk4_subject1 --out /tmp/report.md
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

import numpy as np

import retargeters
from benchmark.metrics import SCORING_FPS, score
from nmr_gym.paths import shared_motions_dir
from retargeters.gmr import validation as val

CLIPS = val.LAFAN1_CLIPS
METRICS = ("joint_jump_pct", "self_collision_pct", "joint_limit_pct", "penetration_pct")
DEFAULT_OUT = Path(__file__).parent / "results" / "gmr_vs_original.md"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", default=",".join(CLIPS))
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    args = ap.parse_args(argv)
    shared = shared_motions_dir()
    if shared is None:
        print("../shared/motions is absent: nothing to compare", file=sys.stderr)
        return 2
    gmr = retargeters.make("gmr")
    rows = []
    for name in args.clips.split(","):
        human = val.load_lafan1_human(shared, name)
        t0 = time.perf_counter()
        ours = gmr.retarget(human)
        wall = time.perf_counter() - t0
        orig = val.load_original_gmr(shared, name)
        agr = val.agreement(ours.joint_pos, orig.joint_pos, orig.fps)
        m_ours, m_orig = score(ours), score(orig)
        rows.append((name, ours, orig, wall, agr, m_ours, m_orig))
        print(
            f"{name}: {ours.n_frames} frames, {ours.n_frames / wall:.0f} frames/s, "
            f"mean |dq| {agr.mean_abs_rad:.4f} rad (no wrists {agr.mean_abs_no_wrist_rad:.4f})",
            flush=True,
        )
    med = float(np.median([r[4].mean_abs_rad for r in rows]))
    med_nw = float(np.median([r[4].mean_abs_no_wrist_rad for r in rows]))
    med_all = float(np.median([r[4].mean_abs_all_frames_rad for r in rows]))
    lines = [
        "# `gmr` vs the original GMR on the nine LAFAN1 clips",
        "",
        f"Made by `python perf/gmr_vs_original.py` on {datetime.date.today().isoformat()} "
        "(2-core machine shared with other jobs: speeds are indicative only). Original: GMR's "
        "own code and G1 file (`shared/motions/robot/gmr_lafan1`, see its README); ours: "
        "`retargeters.make(\"gmr\")` (default options: GMR's LAFAN1 raw-bone table, GMR's "
        "ranges on the reference G1, no velocity limit, no ground shift).",
        "",
        "## Agreement (joint angles, at the original's 30 fps)",
        "",
        f"Median over clips of the mean absolute joint-angle difference on frames where the "
        f"original has no artifact (artifact: an original jump frame, i.e. a step > "
        f"{val.JUMP_THRESHOLD_RAD} rad, or within {val.ARTIFACT_WINDOW_S} s of one): "
        f"**{med:.2e} rad with wrists, {med_nw:.2e} rad without wrists** (target <= "
        f"{val.AGREEMENT_TARGET_RAD} rad). On every frame: {med_all:.2e} rad.",
        "",
        "| clip | frames | ours frames/s | mean abs diff [rad] | no wrists [rad] | all frames "
        "[rad] | artifact frames % | diverged frames % (> "
        f"{val.DIVERGED_RAD} rad) | jump frames ours / original / shared |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, ours, _orig, wall, a, _, _ in rows:
        lines.append(
            f"| {name} | {a.frames} | {ours.n_frames / wall:.0f} | {a.mean_abs_rad:.2e} | "
            f"{a.mean_abs_no_wrist_rad:.2e} | {a.mean_abs_all_frames_rad:.2e} | "
            f"{a.artifact_pct:.1f} | {a.diverged_pct:.2f} | "
            f"{a.jumps_ours} / {a.jumps_original} / {a.jumps_shared} |"
        )
    lines += [
        "",
        f"## Benchmark metrics, ours vs original (scored at {SCORING_FPS:g} fps)",
        "",
        "Each cell: ours / original. Percentages of frames; defined in `benchmark/metrics.py`.",
        "",
        "| clip | " + " | ".join(METRICS) + " |",
        "|---|" + "---:|" * len(METRICS),
    ]
    for name, *_, mo, mg in rows:
        lines.append(
            f"| {name} | " + " | ".join(f"{mo[c]:.2f} / {mg[c]:.2f}" for c in METRICS) + " |"
        )
    lines.append(
        "| **median** | "
        + " | ".join(
            f"{np.median([r[5][c] for r in rows]):.2f} / {np.median([r[6][c] for r in rows]):.2f}"
            for c in METRICS
        )
        + " |"
    )
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
