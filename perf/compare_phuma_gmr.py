"""PHUMA-style vs GMR-style retargeting: metrics and frames/s per clip, one table.

Runs ``retargeters.make(name, **options)`` for each configuration on the named built-in suite
clips (``nmr_gym.suite.get_clip``) and the two AMASS examples in
``../shared/motions/amass/nmr_examples`` (skipped when absent), scores every result with
``benchmark.metrics.score(robot, human)`` and prints one row per (clip, configuration).
Timings depend on the machine's load; rerun on an idle machine for reference values.

    python perf/compare_phuma_gmr.py                         # default configurations
    python perf/compare_phuma_gmr.py --clips kicks_short,02_01 --config phuma-margin
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

import retargeters
from benchmark.metrics import score
from nmr_gym.motion import HumanMotion
from nmr_gym.suite import get_clip

COLUMNS = ("joint_jump_pct", "joint_limit_pct", "self_collision_pct", "foot_skate_mps",
           "mpjpe_m", "w_mpjpe_m")  # fmt: skip
SUITE_CLIPS = ("kicks_short", "spins_medium", "side_step_medium", "dance_long", "walk_short")
REAL_CLIPS = {
    "02_01": "amass/nmr_examples/02_01_stageii.npz",
    "C13": "amass/nmr_examples/C13_-__run_turn_left_(135)_stageii.npz",
}
#: Configurations: label -> (retargeter name, options).
CONFIGS: dict[str, tuple[str, dict]] = {
    "gmr": ("gmr", {}),
    "phuma": ("phuma", {}),
    "phuma-flatfeet": ("phuma", {"flat_feet": True}),
    "phuma-restalign": ("phuma", {"rest_alignment": True}),
    # Without the foot-orientation term (PHUMA's loss terms plus the ground hinge).
    "phuma-noorient": ("phuma", {"weights": {"foot_orientation": 0.0}}),
    "phuma-margin": ("phuma", {"limit_margin": 0.06}),
    "phuma-full": ("phuma", {"schedule": "full"}),
}


def load(name: str) -> HumanMotion | None:
    if name not in REAL_CLIPS:
        return get_clip(name).motion()
    from nmr_gym.io.human_formats import load_human_motion
    from nmr_gym.paths import shared_motions_dir

    path = shared_motions_dir() / REAL_CLIPS[name]
    return load_human_motion(path) if path.exists() else None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", default=",".join(SUITE_CLIPS + tuple(REAL_CLIPS)))
    p.add_argument("--config", default="gmr,phuma,phuma-noorient,phuma-margin",
                   help=f"comma-separated, from: {', '.join(CONFIGS)}")  # fmt: skip
    args = p.parse_args()
    rows = []
    for clip in args.clips.split(","):
        human = load(clip)
        if human is None:
            print(f"{clip}: not found, skipped")
            continue
        for label in args.config.split(","):
            name, options = CONFIGS[label]
            r = retargeters.make(name, **options)
            t0 = time.perf_counter()
            robot = r(human)
            fps = human.n_frames / (time.perf_counter() - t0)
            m = score(robot, human)
            rows.append({"clip": clip, "config": label, "frames_s": fps,
                         **{c: m[c] for c in COLUMNS}})  # fmt: skip
            print(pd.DataFrame(rows[-1:]).to_string(header=len(rows) == 1, index=False,
                                                    float_format="%.3f"), flush=True)  # fmt: skip
    table = pd.DataFrame(rows)
    print()
    print(table.to_string(index=False, float_format="%.3f"))


if __name__ == "__main__":
    main()
