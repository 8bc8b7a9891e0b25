"""Where NMR's MPJPE gap to its teacher comes from, on a benchmark run's clips (issue 13).

    python docs/nmr_analysis/mpjpe_gap.py RUN_DIR [--teacher gmr-safe] [--method nmr]

``RUN_DIR`` is an ``nmr-bench run`` directory holding both methods' motions (e.g. the
``nmr_heldout`` leaderboard's run). Per clip, pelvis-relative MPJPE against the scaled human
(``benchmark.metrics.mpjpe``, the leaderboard's definition, at the scoring rate) of:

- ``teacher``: the teacher's motion as scored on the leaderboard;
- ``teacher_nmr_pipeline``: the teacher resampled to NMR's rate and passed through the NMR
  release's output filter (``retargeters.nmr.inference.lowpass`` on root and joints), i.e. the
  error NMR would have if its network imitated the teacher exactly;
- ``method``: the method's motion;
- ``method_vs_teacher``: the method's keypoints against the teacher's (pelvis-relative), the
  network's imitation error.

Writes ``mpjpe_gap.csv`` next to this script and prints the means.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark import metrics
from benchmark import results as res
from benchmark.suites import load_suite
from nmr_gym import rotations as rot
from nmr_gym.io import load_robot_motion
from retargeters.nmr.features import NMR_FPS
from retargeters.nmr.inference import lowpass


def keypoints(robot):
    robot = metrics.resample_for_scoring(robot)
    return metrics.scan(robot.qpos, self_collision=False).keypoint_pos_w, robot.fps


def rel(k: np.ndarray) -> np.ndarray:
    return k[:, 1:] - k[:, :1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--teacher", default="gmr-safe")
    ap.add_argument("--method", default="nmr")
    a = ap.parse_args()
    suite = load_suite(json.loads((a.run / "run.json").read_text())["suite"])
    rows = []
    for m in suite:
        human = m.load()
        motion = {k: load_robot_motion(next((a.run / "motions" / k).glob(res.slug(m.name) + ".*")))
                  for k in (a.teacher, a.method)}  # fmt: skip
        t = motion[a.teacher]
        t30 = t.resample(NMR_FPS)
        t_pipe = dataclasses.replace(t30, root_pos=lowpass(t30.root_pos),
                                     root_quat=rot.normalize(lowpass(t30.root_quat)),
                                     joint_pos=lowpass(t30.joint_pos))  # fmt: skip
        row = {"motion": m.name}
        kp = {}
        for name, r in (
            ("teacher", t),
            ("teacher_nmr_pipeline", t_pipe),
            ("method", motion[a.method]),
        ):
            kp[name], fps = keypoints(r)
            row[name], _ = metrics.mpjpe(kp[name], human, fps)
        n = min(len(kp["teacher"]), len(kp["method"]))
        row["method_vs_teacher"] = float(
            np.linalg.norm(rel(kp["method"][:n]) - rel(kp["teacher"][:n]), axis=-1).mean()
        )
        rows.append(row)
        print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    d = pd.DataFrame(rows)
    d.to_csv(Path(__file__).with_name("mpjpe_gap.csv"), index=False, float_format="%.5f")
    print(d.mean(numeric_only=True).round(4).to_string())


if __name__ == "__main__":
    main()
