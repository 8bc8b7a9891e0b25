"""CEPR's ``report.md``: every stage's numbers and figures, and the physics pairs' quality
against their kinematic sources.

Quality (:func:`quality_table`): each physics pair and the kinematic pair it came from, on the
same frames, scored with ``benchmark.metrics.score`` (joint jumps, self-collision, penetration,
float, foot skating, MPJPE to the human) and ``benchmark.tracking.inverse_dynamics`` (residual
root force ``id_root_force_n``, root torque, torque-limit frames). A physics pair came out of
the simulator, so the residual root force it needs should be far below its source's.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.cepr._store import markdown_table, write_csv
from benchmark.cepr.sources import CeprError

#: Columns compared between physics pairs and their kinematic sources (lower is better).
QUALITY_COLUMNS = (
    "id_root_force_n",
    "id_root_torque_nm",
    "id_torque_limit_pct",
    "penetration_pct",
    "float_pct",
    "foot_skate_mps",
    "joint_jump_pct",
    "self_collision_pct",
    "mpjpe_m",
)
REPORT = "report.md"


def _scores(robot, human) -> dict[str, float]:
    from benchmark import metrics
    from benchmark.tracking import inverse_dynamics

    s = metrics.score(robot, human)
    s.update(inverse_dynamics(robot))
    return s


def quality_table(out_dir: str | os.PathLike) -> pd.DataFrame:
    """One row per physics pair: ``phys_<col>`` and ``kin_<col>`` for :data:`QUALITY_COLUMNS`.
    Written to ``OUT/report/quality.csv``."""
    from benchmark.cepr.cluster import kinematic_dataset_path
    from benchmark.cepr.experts import PHYSICS_DIR
    from nmr_gym.datasets import PairDataset, is_dataset

    out = Path(out_dir)
    if not is_dataset(out / PHYSICS_DIR):
        raise CeprError(f"{out}: no physics pair dataset yet; run `cepr rollout` first")
    phys = PairDataset(out / PHYSICS_DIR)
    kin = PairDataset(kinematic_dataset_path(out))
    rows = []
    for i in range(len(phys)):
        p = phys[i]
        k = kin[str(p.row["kinematic_pair_id"])]
        n = p.robot.n_frames
        sp, sk = _scores(p.robot, p.human), _scores(k.robot[:n], k.human[:n])
        row = {"pair_id": p.row["pair_id"], "cluster": p.row["cluster"], "frames": n}
        row.update({f"phys_{c}": sp[c] for c in QUALITY_COLUMNS})
        row.update({f"kin_{c}": sk[c] for c in QUALITY_COLUMNS})
        rows.append(row)
    frame = pd.DataFrame(rows)
    write_csv(out / "report" / "quality.csv", frame)
    return frame


def quality_markdown(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "No physics pair was kept, so there is nothing to compare.\n"
    rows = []
    for c in QUALITY_COLUMNS:
        kin, phys = frame[f"kin_{c}"].mean(), frame[f"phys_{c}"].mean()
        ratio = phys / kin if np.isfinite(kin) and kin > 0 else float("nan")
        rows.append(
            {
                "metric": c,
                "kinematic source (mean)": float(kin),
                "physics pair (mean)": float(phys),
                "physics / kinematic": ratio,
            }
        )
    return (
        f"Over {len(frame)} physics pairs ({int(frame['frames'].sum())} frames) and their "
        "kinematic sources on the same frames (`benchmark.metrics`, "
        "`benchmark.tracking.inverse_dynamics`):\n\n" + markdown_table(rows)
    )


def write_report(out_dir: str | os.PathLike, preset: dict | None = None) -> Path:
    """Write ``OUT/report.md`` from whatever stages have finished."""
    from benchmark.cepr.cluster import STAGE_DIR as CLUSTER_DIR
    from benchmark.cepr.cluster import cluster_summary_markdown
    from benchmark.cepr.curate import STAGE_DIR as CURATE_DIR
    from benchmark.cepr.curate import curate_summary_markdown
    from benchmark.cepr.experts import EXPERTS_DIR, PHYSICS_DIR, experts_summary_markdown
    from benchmark.cepr.retarget import STAGE_DIR as RETARGET_DIR
    from benchmark.cepr.retarget import retarget_summary_markdown
    from nmr_gym.datasets import is_dataset
    from nmr_gym.io.atomic import write_text_atomic

    out = Path(out_dir)
    parts = ["# CEPR report\n"]
    if preset:
        parts.append("Preset: " + ", ".join(f"{k}={v}" for k, v in preset.items()) + "\n")
    if (out / CURATE_DIR / "summary.json").is_file():
        parts.append(curate_summary_markdown(out))
    if (out / RETARGET_DIR / "summary.json").is_file():
        parts.append(retarget_summary_markdown(out))
    if (out / CLUSTER_DIR / "summary.json").is_file():
        parts.append(cluster_summary_markdown(out))
    if (out / EXPERTS_DIR / "summary.csv").is_file():
        parts.append(experts_summary_markdown(out))
    if is_dataset(out / PHYSICS_DIR):
        parts.append("## Physics pairs against their kinematic sources\n")
        parts.append(quality_markdown(quality_table(out)))
    path = out / REPORT
    write_text_atomic(path, "\n".join(parts) + "\n")
    return path
