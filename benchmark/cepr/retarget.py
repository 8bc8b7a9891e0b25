"""CEPR stage 2: kinematic retargeting with hard filters; writes NMR's stage-1 pair dataset.

Each source clip (as stage 1 resampled it to the dataset rate) is retargeted ONCE with a
registered retargeter (``retargeters.make(name)``), the robot motion is cut into the same
chunks as the human, and a chunk is kept when (NMR paper III-B):

- its peak joint speed stays below the G1's hardware velocity limit, joint by joint
  (:data:`G1_JOINT_VEL_LIMIT_RADPS`; speed = ``|q[t] - q[t-1]| * fps``, the step-based speed
  ``benchmark.metrics`` reports as ``max_joint_vel``);
- at most :data:`SELF_COLLISION_MAX_PCT` % of its frames self-collide
  (``benchmark.metrics``' definition: collision-class contacts between different bodies, hands
  excluded, from the same kinematic scan);
- the mean over frames of the height of its lowest foot point (``benchmark.metrics.
  foot_heights``, the sole spheres) is at most :data:`LOWEST_FOOT_MEAN_MAX_M`.

Every chunk that passes is a kinematic pair of the output dataset (NMR's stage-1 data), with a
``curated`` column saying whether it also passed stage 1; the CEPR experts use only the pairs
with ``curated`` true.

**Chunk grounding** (``ground_chunks``, off by default as in the paper): a retargeter puts a
whole clip on the floor with one vertical shift (``gmr-safe``: the clip's lowest collision
point; GMR's BVH scripts: none). Where the clip's lowest moment is not a standing one (a fall
where the robot's torso lies lower than the scaled human's, a crawl), every standing chunk of
that clip floats by the same few centimetres, and the foot-height filter drops chunks whose
motion is fine. With ``ground_chunks`` each chunk is shifted on its own so that its lowest
collision point touches z = 0 before the filters and in the written pair (the shift is the
``ground_shift_m`` column). Measured on the NMR stage-1 clips (``gmr-safe``'s retargets, 599
chunks): 358 pass without it, 520 with it, most of the new ones LAFAN1 chunks of falls and
getting up whose standing parts floated 9-14 cm.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark import metrics
from benchmark.cepr._store import (
    histogram_figure,
    load_npz,
    markdown_table,
    parallel_map,
    provenance,
    save_npz,
    settings_hash,
    write_csv,
    write_json,
)
from benchmark.cepr.curate import CHUNKS_CSV, DEFAULT_FPS, filter_report, load_curated_human
from benchmark.cepr.curate import STAGE_DIR as CURATE_DIR
from benchmark.cepr.sources import CeprError
from nmr_gym.errors import NmrGymError, UnknownNameError
from nmr_gym.g1 import geometry, spec
from nmr_gym.motion import RobotMotion

#: The retargeter CEPR uses unless told otherwise. The paper uses GMR; `gmr-safe` is the GMR
#: method with its velocity limit applied and collision avoidance, so more segments pass the hard
#: filters. `--retargeter gmr` gives the published one.
DEFAULT_RETARGETER = "gmr-safe"

#: Unitree's published G1 joint velocity limits [rad/s]: the ``velocity`` attribute of each
#: joint's ``<limit>`` in Unitree's G1 29-DoF URDF (``g1_29dof_rev_1_0.urdf`` in
#: unitreerobotics/unitree_rl_gym and unitree_ros). MuJoCo Menagerie's MJCF does not state them.
G1_JOINT_VEL_LIMIT_BY_TYPE_RADPS: dict[str, float] = {
    "hip_pitch": 32.0,
    "hip_roll": 20.0,
    "hip_yaw": 32.0,
    "knee": 20.0,
    "ankle_pitch": 37.0,
    "ankle_roll": 37.0,
    "waist_yaw": 32.0,
    "waist_roll": 37.0,
    "waist_pitch": 37.0,
    "shoulder_pitch": 37.0,
    "shoulder_roll": 37.0,
    "shoulder_yaw": 37.0,
    "elbow": 37.0,
    "wrist_roll": 37.0,
    "wrist_pitch": 22.0,
    "wrist_yaw": 22.0,
}


def _limit_of(joint: str) -> float:
    base = joint.removesuffix("_joint").removeprefix("left_").removeprefix("right_")
    return G1_JOINT_VEL_LIMIT_BY_TYPE_RADPS[base]


#: (29,) the limits in ``spec.JOINT_NAMES`` order [rad/s].
G1_JOINT_VEL_LIMIT_RADPS = np.array([_limit_of(j) for j in spec.JOINT_NAMES])
#: Largest share of self-colliding frames a kept chunk may have [%] (NMR paper III-B: 5%).
SELF_COLLISION_MAX_PCT = 5.0
#: Largest mean height of the lowest foot point a kept chunk may have [m] (NMR paper: 0.10 m).
LOWEST_FOOT_MEAN_MAX_M = 0.10

HARD_FILTERS: dict[str, str] = {
    "joint_speed": "peak |dq/dt| < G1 hardware limit (per joint)",
    "self_collision": f"self_collision_pct <= {SELF_COLLISION_MAX_PCT:g}",
    "foot_height": f"mean lowest foot height <= {LOWEST_FOOT_MEAN_MAX_M:g} m",
}

STAGE_DIR = "retarget"
DATASET_DIR = "kinematic"


def hard_filter_metrics(
    joint_pos: np.ndarray,
    fps: float,
    collision: np.ndarray,
    lowest_foot_z: np.ndarray,
) -> dict[str, Any]:
    """Hard-filter metrics and flags of one chunk.

    Args:
        joint_pos: (T, 29) joint angles [rad] of the chunk.
        fps: its rate [Hz].
        collision: (T,) bool, self-collision per frame (``benchmark.metrics.Scan.collision``).
        lowest_foot_z: (T,) height of the lowest sole point [m].
    """
    speed = np.abs(np.diff(joint_pos, axis=0)).max(axis=0) * fps  # (29,) peak per joint
    ratio = speed / G1_JOINT_VEL_LIMIT_RADPS
    worst = int(np.argmax(ratio))
    m: dict[str, Any] = {
        "max_joint_vel": float(speed.max()),
        "joint_speed_ratio": float(ratio[worst]),
        "fastest_joint": spec.JOINT_NAMES[worst],
        "self_collision_pct": 100.0 * float(np.mean(collision)),
        "lowest_foot_mean_m": float(np.mean(lowest_foot_z)),
    }
    m["pass_joint_speed"] = bool(np.all(speed < G1_JOINT_VEL_LIMIT_RADPS))
    m["pass_self_collision"] = bool(m["self_collision_pct"] <= SELF_COLLISION_MAX_PCT)
    m["pass_foot_height"] = bool(m["lowest_foot_mean_m"] <= LOWEST_FOOT_MEAN_MAX_M)
    m["kept"] = m["pass_joint_speed"] and m["pass_self_collision"] and m["pass_foot_height"]
    return m


def check_retargeter(name: str, options: dict[str, Any] | None = None) -> None:
    """Fail early (one line) on an unknown retargeter name or bad options."""
    import retargeters

    try:
        retargeters.make(name, **(options or {}))
    except UnknownNameError:
        raise
    except (TypeError, ValueError) as exc:
        raise CeprError(f"bad options for retargeter {name!r}: {exc}") from None


def chunk_rows(
    clip_key: str,
    chunks: list[dict],
    arrays: dict[str, np.ndarray],
    fps: float,
    ground_chunks: bool,
) -> list[dict[str, Any]]:
    """One row per chunk: its ground shift and hard-filter metrics.

    Args:
        arrays: the clip's cached per-frame series: ``qpos`` (T, 36) its robot motion,
            ``collision`` (T,) bool, ``lowest_foot_z`` and ``lowest_point_z`` (T,) heights [m]
            of the lowest sole point and the lowest collision point (before any chunk shift).
        ground_chunks: shift each chunk so that its lowest collision point is at z = 0
            (``ground_shift_m``, added to the foot heights); otherwise the shift is 0.
    """
    joint_pos = np.asarray(arrays["qpos"], dtype=np.float64)[:, 7:]  # (T, 29)
    rows = []
    for ch in chunks:
        sl = slice(int(ch["start_frame"]), int(ch["stop_frame"]))
        shift = -float(np.min(arrays["lowest_point_z"][sl])) if ground_chunks else 0.0
        foot = arrays["lowest_foot_z"][sl] + shift
        rows.append(
            {
                "clip_key": clip_key,
                "chunk": int(ch["chunk"]),
                "ground_shift_m": shift,
                **hard_filter_metrics(joint_pos[sl], fps, arrays["collision"][sl], foot),
            }
        )
    return rows


def _retarget_clip(
    job: tuple[str, dict, str, str, Path, Path, float, list[dict], bool],
) -> dict:
    """Retarget one clip once (cached), cut it into its chunks, measure the hard filters."""
    import retargeters

    name, options, clip_key, source, out_dir, cache, fps, chunks, ground_chunks = job
    hit = load_npz(cache)
    if hit is not None:
        meta, arrays = hit
        if meta["status"] == "ok":
            meta["rows"] = chunk_rows(clip_key, chunks, arrays, fps, ground_chunks)
        return meta
    meta: dict[str, Any] = {"clip_key": clip_key}
    try:
        human = load_curated_human(out_dir, fps, clip_key, source)
        robot = retargeters.make(name, **options).retarget(human)
        if robot.n_frames != human.n_frames or not math.isclose(robot.fps, fps):
            robot = robot.resample(fps)
            if robot.n_frames != human.n_frames:
                raise CeprError(
                    f"{source}: {name} returned {robot.n_frames} frames for {human.n_frames}"
                )
    except (NmrGymError, ValueError, RuntimeError, FloatingPointError) as exc:
        meta.update(status="error", error=f"{type(exc).__name__}: {exc}", rows=[])
        save_npz(cache, meta)
        return meta
    qpos = robot.qpos.astype(np.float32)  # (T, 36) as cached: rows come from the cached copy
    scan = metrics.scan(qpos.astype(np.float64), self_collision=True)
    arrays = {
        "qpos": qpos,
        "collision": scan.collision,  # (T,) bool
        "lowest_foot_z": metrics.foot_heights(scan).min(axis=(1, 2)),  # (T,) [m]
        "lowest_point_z": geometry.lowest_point_z(scan.geom_pos_w, scan.geom_zrow),  # (T,) [m]
    }
    meta.update(status="ok", error="")
    save_npz(cache, meta, **arrays)
    meta["rows"] = chunk_rows(clip_key, chunks, arrays, fps, ground_chunks)
    return meta


def retarget_settings(fps: float, retargeter: str, options: dict[str, Any]) -> dict[str, Any]:
    """What the cached robot motions depend on (``ground_chunks`` does not: it is applied to
    the cached motions). Version 2 caches the per-frame filter inputs beside the motion."""
    return {"fps": float(fps), "retargeter": retargeter, "options": options, "version": 2}


def run_retarget(
    out_dir: str | os.PathLike,
    *,
    retargeter: str = DEFAULT_RETARGETER,
    options: dict[str, Any] | None = None,
    fps: float = DEFAULT_FPS,
    jobs: int = 1,
    pairs_out: str | os.PathLike | None = None,
    args: dict[str, Any] | None = None,
    ground_chunks: bool = False,
) -> pd.DataFrame:
    """Stage 2 on stage 1's chunks in ``OUT``: writes ``OUT/retarget/chunks.csv`` (every chunk,
    curation and hard-filter columns), ``OUT/retarget/summary.json`` and the kinematic pair
    dataset (default ``OUT/kinematic``; ``pairs_out`` elsewhere). Returns the chunk table.

    Each clip's robot motion is cached under ``OUT/retarget/clips-<settings>/`` as soon as it
    is done, so a killed run continues where it stopped; the dataset is written only at the
    end (shards, then the manifest, then an atomic rename). ``ground_chunks``: see the module
    docstring.
    """
    from nmr_gym.datasets import PairDatasetWriter
    from nmr_gym.motion import HumanMotion

    options = dict(options or {})
    check_retargeter(retargeter, options)
    out = Path(out_dir)
    chunks_csv = out / CURATE_DIR / CHUNKS_CSV
    if not chunks_csv.is_file():
        raise CeprError(f"{out}: stage 1 (curate) has not finished; run `nmr-bench cepr curate`")
    chunks = pd.read_csv(chunks_csv, keep_default_na=False)
    settings = retarget_settings(fps, retargeter, options)
    cache = out / STAGE_DIR / f"clips-{settings_hash(settings)}"
    cache.mkdir(parents=True, exist_ok=True)
    groups = list(chunks.groupby("clip_key", sort=False))
    jobs_list = [
        (
            retargeter,
            options,
            key,
            str(g["source"].iloc[0]),
            out,
            cache / f"{key}.npz",
            fps,
            g[["chunk", "start_frame", "stop_frame"]].to_dict("records"),
            bool(ground_chunks),
        )
        for key, g in groups
    ]
    frames = [float(g["stop_frame"].max()) for _, g in groups]
    metas = parallel_map(
        _retarget_clip,
        jobs_list,
        jobs=jobs,
        desc=f"cepr retarget ({retargeter})",
        unit="frame",
        weights=frames,
    )
    hard = pd.DataFrame([r for m in metas for r in m["rows"]])
    errors = [
        {"clip_key": m["clip_key"], "error": m["error"]} for m in metas if m["status"] != "ok"
    ]
    if hard.empty:
        detail = f"; first error: {errors[0]['error']}" if errors else ""
        raise CeprError(f"{retargeter} retargeted no clip{detail}")
    table = chunks.merge(hard, on=["clip_key", "chunk"], how="inner")
    table["retargeter"] = retargeter

    dataset = Path(pairs_out) if pairs_out is not None else out / DATASET_DIR
    prov = provenance(
        "cepr retarget", {**settings, "ground_chunks": bool(ground_chunks), **(args or {})}
    )
    kept = table[table["kept"]].reset_index(drop=True)
    with PairDatasetWriter(dataset, kind="kinematic", provenance=prov, overwrite=True) as w:
        for key, g in kept.groupby("clip_key", sort=False):
            human = load_curated_human(out, fps, key, str(g["source"].iloc[0]))
            hit = load_npz(cache / f"{key}.npz")
            assert hit is not None  # written above
            for row in g.to_dict("records"):
                sl = slice(int(row["start_frame"]), int(row["stop_frame"]))
                seg_h: HumanMotion = human[sl]
                q = hit[1]["qpos"][sl].astype(np.float64)  # (T_chunk, 36)
                q[:, 2] += row["ground_shift_m"]
                w.add(
                    seg_h,
                    RobotMotion.from_qpos(q, fps, source=str(g["source"].iloc[0])),
                    human_source=row["source"],
                    source_start_s=row["start_s"],
                    source_stop_s=row["stop_s"],
                    retargeter=retargeter,
                    success=True,
                    **{k: row[k] for k in _EXTRA_COLUMNS},
                )
    summary = {
        "retargeter": retargeter,
        "options": options,
        "ground_chunks": bool(ground_chunks),
        "clips": len(groups),
        "clips_failed": errors,
        "chunks": len(table),
        "kept": int(table["kept"].sum()),
        "kept_and_curated": int((table["kept"] & table["curated"]).sum()),
        "hard_filters": hard_filter_report(table),
        "dataset": str(dataset),
        "settings": settings,
    }
    histogram_figure(
        out / STAGE_DIR / "filters.png",
        table,
        [
            ("joint_speed_ratio", "peak joint speed / G1 limit", [1.0]),
            ("self_collision_pct", "self-colliding frames [%]", [SELF_COLLISION_MAX_PCT]),
            ("lowest_foot_mean_m", "mean lowest foot height [m]", [LOWEST_FOOT_MEAN_MAX_M]),
        ],
    )
    write_json(out / STAGE_DIR / "summary.json", summary)
    write_csv(out / STAGE_DIR / CHUNKS_CSV, table)  # last: marks the stage complete
    return table


#: Columns of the chunk table copied into the pair manifest (beside the dataset's own).
_EXTRA_COLUMNS = (
    "clip",
    "chunk",
    "start_frame",
    "stop_frame",
    "curated",
    "complexity",
    "clip_complexity",
    "contact_score",
    "root_jerk_mps3",
    "pelvis_height_m",
    "pelvis_support_m",
    "spine_support_m",
    "max_joint_vel",
    "joint_speed_ratio",
    "self_collision_pct",
    "lowest_foot_mean_m",
    "ground_shift_m",
)


def hard_filter_report(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Per hard filter: chunks failing it, and removed when the filters run in order."""
    return filter_report(table, HARD_FILTERS)


def retarget_summary_markdown(out_dir: str | os.PathLike) -> str:
    """Stage 2's section of ``report.md``."""
    s = json.loads((Path(out_dir) / STAGE_DIR / "summary.json").read_text())
    lines = [
        "## Stage 2: kinematic retargeting with hard filters\n",
        "![hard-filter metrics, thresholds in red](retarget/filters.png)\n",
        f"Retargeter `{s['retargeter']}` on {s['clips']} clips ({len(s['clips_failed'])} "
        f"failed), {s['chunks']} chunks: {s['kept']} pass the hard filters (the kinematic "
        f"pair dataset, NMR's stage-1 data, `{s['dataset']}`); {s['kept_and_curated']} pass "
        "both curation and the hard filters (the CEPR experts' references).\n",
        (
            "Each chunk was put on the floor by its own lowest collision point "
            "(`--ground-chunks`) before the filters.\n"
            if s.get("ground_chunks")
            else ""
        ),
        markdown_table(
            [
                {
                    "filter": f["filter"],
                    "test": f["test"],
                    "failed": f["failed"],
                    "removed in order": f["removed_in_order"],
                }
                for f in s["hard_filters"]
            ]
        ),
        "G1 joint velocity limits [rad/s] (Unitree's URDF): "
        + ", ".join(f"{k} {v:g}" for k, v in G1_JOINT_VEL_LIMIT_BY_TYPE_RADPS.items())
        + ".\n",
    ]
    if s["clips_failed"]:
        lines.append("Clips the retargeter failed on:\n")
        lines += [f"- {e['clip_key']}: {e['error']}" for e in s["clips_failed"][:20]]
        lines.append("")
    return "\n".join(lines)
