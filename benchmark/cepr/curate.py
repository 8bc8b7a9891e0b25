"""CEPR stage 1: cut human clips into chunks and apply PHUMA's curation filters.

The NMR paper (III-B) curates its human data with PHUMA's filters; PHUMA's curation stage
splits clips into 4 s chunks with 0.5 s overlap and keeps a chunk when its foot-contact score
is > 0.6, its root jerk < 50 m/s^3, its pelvis height within 0.6-1.5 m, its pelvis within 6 cm
and its spine within 11 cm of the base of support. PHUMA measures contact on SMPL-X mesh
vertices; nmr-gym's human motions carry SMPL joint centres, not vertices, so every quantity
below is defined on joints (choices named and explained at each constant):

- foot points: per foot the heel (SMPL ``*_ankle``) and toe (SMPL ``*_foot``, the ball), the
  same pair PHUMA's retargeter port uses (``retargeters.phuma.contacts``); a point touches the
  ground when it is less than ``CONTACT_HEIGHT_MARGIN`` above its standing height. Skeletons
  place these joints differently (a Bandai Namco BVH ankle stands ~0.12 m up, SMPL's ~0.06 m),
  so the standing height is measured per clip: the ``REST_PERCENTILE`` percentile of the
  point's height over the clip, at most ``REST_MAX_ABOVE_NOMINAL_M`` above the anthropometric
  value (a clip whose feet never come down does not make its lowest height "standing").
- contact score of a frame: the larger over the two feet of the fraction of that foot's points
  touching (1 when a whole foot is planted); the chunk's score is its mean over frames.
- root jerk: mean over frames of ``|d^3 p_pelvis / dt^3|`` by finite differences at the
  dataset rate, after a zero-phase low-pass at ``JERK_LOWPASS_HZ`` (PHUMA's own joint cutoff):
  differentiating raw capture three times measures marker noise (a clean AMASS walk scores
  ~1300 m/s^3 at 120 Hz and ~80 at 30 fps unfiltered, ~20 after the filter).
- pelvis height: the chunk's mean pelvis height [m].
- support distances: the horizontal distance from the pelvis (and from ``SUPPORT_SPINE_JOINT``)
  to the convex hull of the touching foot points grown by ``FOOT_HALF_WIDTH_M`` (joints sit on
  the foot's centre line; the sole is wider), averaged over frames with contact.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.cepr._store import (
    histogram_figure,
    load_npz,
    markdown_table,
    parallel_map,
    save_npz,
    settings_hash,
    write_csv,
    write_json,
)
from benchmark.cepr.sources import CeprError, SourceClip
from nmr_gym.errors import NmrGymError
from nmr_gym.motion import HumanMotion
from retargeters.phuma.contacts import (
    ANKLE_HEIGHT_FRACTION,
    BALL_HEIGHT_FRACTION,
    CONTACT_HEIGHT_MARGIN,
    FOOT_POINT_JOINTS,
)
from retargeters.phuma.filters import JOINT_CUTOFF_HZ, lowpass

#: Chunk length and overlap [s] (PHUMA). At 30 fps a chunk is 120 frames, NMR's window length.
CHUNK_S = 4.0
OVERLAP_S = 0.5
#: Shortest chunk kept [s]: a clip shorter than a chunk gives one chunk of its whole length if
#: it lasts at least this long, and a clip's tail is covered by a last chunk aligned to its end.
#: 2 s is also the shortest physics stretch CEPR keeps (issue 12), so every chunk can pass.
MIN_CHUNK_S = 2.0

#: PHUMA's curation thresholds (PHUMA's data-curation stage).
CONTACT_SCORE_MIN = 0.6
ROOT_JERK_MAX_MPS3 = 50.0
PELVIS_HEIGHT_MIN_M = 0.6
PELVIS_HEIGHT_MAX_M = 1.5
PELVIS_SUPPORT_MAX_M = 0.06
SPINE_SUPPORT_MAX_M = 0.11
#: Half width of the sole around the heel-toe line [m]: the G1's and an adult's foot are about
#: 0.08-0.10 m wide, so the support polygon of joint centres is grown by 0.045 m.
FOOT_HALF_WIDTH_M = 0.045
#: Percentile of a foot point's height over the clip taken as its standing height, and how far
#: above the anthropometric standing height it may be [m] (see the module docstring).
REST_PERCENTILE = 5.0
REST_MAX_ABOVE_NOMINAL_M = 0.08
#: Low-pass cutoff [Hz] applied to the pelvis trajectory before the jerk (PHUMA's 6 Hz).
JERK_LOWPASS_HZ = JOINT_CUTOFF_HZ
#: PHUMA's "spine" point; SMPL's spine3 (upper chest) is the spine joint farthest from the
#: pelvis, which is what a looser threshold than the pelvis's suggests.
SUPPORT_SPINE_JOINT = "spine3"

#: Filters in the order they are reported: name -> (metric column, test description).
FILTERS: dict[str, str] = {
    "contact": f"contact_score > {CONTACT_SCORE_MIN}",
    "jerk": f"root_jerk_mps3 < {ROOT_JERK_MAX_MPS3:g}",
    "pelvis_height": f"{PELVIS_HEIGHT_MIN_M} <= pelvis_height_m <= {PELVIS_HEIGHT_MAX_M}",
    "pelvis_support": f"pelvis_support_m < {PELVIS_SUPPORT_MAX_M}",
    "spine_support": f"spine_support_m < {SPINE_SUPPORT_MAX_M}",
}


@dataclass(frozen=True)
class Chunk:
    """Frames ``[start, stop)`` of a clip at the dataset rate."""

    index: int
    start: int
    stop: int

    @property
    def n_frames(self) -> int:
        return self.stop - self.start


def chunk_ranges(
    n_frames: int,
    fps: float,
    chunk_s: float = CHUNK_S,
    overlap_s: float = OVERLAP_S,
    min_chunk_s: float = MIN_CHUNK_S,
) -> list[Chunk]:
    """Chunks of ``chunk_s`` seconds every ``chunk_s - overlap_s`` seconds covering the clip.

    Frame counts are rounded at ``fps``: a chunk spans ``round(chunk_s * fps)`` frames. The tail
    after the last full chunk gets one more full chunk ending at the clip's last frame (so it
    overlaps its neighbour more) when the tail is at least ``min_chunk_s`` long; a clip shorter
    than one chunk is one chunk when it lasts at least ``min_chunk_s``.
    """
    if not (chunk_s > 0 and 0 <= overlap_s < chunk_s):
        raise ValueError(
            f"need chunk_s > 0 and 0 <= overlap_s < chunk_s, got {chunk_s}, {overlap_s}"
        )
    size = int(round(chunk_s * fps))
    stride = size - int(round(overlap_s * fps))
    min_frames = int(math.ceil(min_chunk_s * fps - 1e-9))
    if n_frames < size:
        return [Chunk(0, 0, n_frames)] if n_frames >= max(min_frames, 2) else []
    starts = list(range(0, n_frames - size + 1, stride))
    end = starts[-1] + size
    if n_frames - end >= min_frames and n_frames - end > 0:
        starts.append(n_frames - size)
    return [Chunk(i, s, s + size) for i, s in enumerate(starts)]


def _point_segment_dist(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance (T,) from points p (T, 2) to segments a-b (T, 2)."""
    ab = b - a
    denom = np.maximum(np.sum(ab * ab, axis=-1), 1e-12)
    t = np.clip(np.sum((p - a) * ab, axis=-1) / denom, 0.0, 1.0)
    return np.linalg.norm(p - (a + t[:, None] * ab), axis=-1)


def _in_triangle(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    def cross(o, u, v):
        return (u[:, 0] - o[:, 0]) * (v[:, 1] - o[:, 1]) - (u[:, 1] - o[:, 1]) * (v[:, 0] - o[:, 0])

    d1, d2, d3 = cross(p, a, b), cross(p, b, c), cross(p, c, a)
    neg = (d1 < 0) | (d2 < 0) | (d3 < 0)
    pos = (d1 > 0) | (d2 > 0) | (d3 > 0)
    return ~(neg & pos)


def support_distance(point_xy: np.ndarray, foot_xy: np.ndarray, touching: np.ndarray) -> np.ndarray:
    """(T,) horizontal distance [m] from ``point_xy`` (T, 2) to the convex hull of the touching
    foot points ``foot_xy`` (T, P, 2) (``touching`` (T, P) bool); NaN where nothing touches.

    Exact for a handful of points: the hull of P points is the union of the triangles of its
    points and its boundary lies on the segments between them, so the distance is 0 inside a
    triangle of touching points, else the smallest distance to a segment (or a point).
    Hand-written because scipy's ConvexHull is per frame and fails on fewer than 3 points.
    """
    t, p = touching.shape
    dist = np.full(t, np.inf)
    for i in range(p):
        for j in range(i, p):
            ok = touching[:, i] & touching[:, j]
            d = _point_segment_dist(point_xy, foot_xy[:, i], foot_xy[:, j])
            dist = np.where(ok, np.minimum(dist, d), dist)
    for i in range(p):
        for j in range(i + 1, p):
            for k in range(j + 1, p):
                ok = touching[:, i] & touching[:, j] & touching[:, k]
                inside = _in_triangle(point_xy, foot_xy[:, i], foot_xy[:, j], foot_xy[:, k])
                dist = np.where(ok & inside, 0.0, dist)
    dist[~touching.any(axis=1)] = np.nan
    return dist


@dataclass(frozen=True)
class FrameTerms:
    """Per-frame quantities of a whole clip; chunks are slices of them."""

    contact_score: np.ndarray  # (T,) in [0, 1]
    jerk_mps3: np.ndarray  # (T,) |third derivative of the pelvis position| [m/s^3]
    pelvis_height_m: np.ndarray  # (T,)
    pelvis_support_m: np.ndarray  # (T,), NaN without contact
    spine_support_m: np.ndarray  # (T,), NaN without contact


def frame_terms(human: HumanMotion) -> FrameTerms:
    """Per-frame curation quantities of ``human`` (see the module docstring)."""
    idx = np.array([[human.index(h), human.index(t)] for h, t in FOOT_POINT_JOINTS])  # (2, 2)
    feet = human.joint_pos[:, idx]  # (T, 2 feet, 2 points, 3)
    nominal = np.array([ANKLE_HEIGHT_FRACTION, BALL_HEIGHT_FRACTION]) * human.height  # (2,)
    measured = np.percentile(feet[..., 2], REST_PERCENTILE, axis=0)  # (2 feet, 2 points)
    rest = np.minimum(np.maximum(measured, nominal), nominal + REST_MAX_ABOVE_NOMINAL_M)
    touching = feet[..., 2] < rest + CONTACT_HEIGHT_MARGIN  # (T, 2, 2)
    score = touching.mean(axis=2).max(axis=1)  # (T,)
    pelvis = human.joint_pos[:, human.index("pelvis")]  # (T, 3)
    spine = human.joint_pos[:, human.index(SUPPORT_SPINE_JOINT)]
    if human.n_frames >= 4:
        smooth = lowpass(pelvis, human.fps, JERK_LOWPASS_HZ)
        jerk = np.linalg.norm(np.diff(smooth, n=3, axis=0), axis=-1) * human.fps**3  # (T-3,)
        jerk = np.concatenate([jerk, np.repeat(jerk[-1:], 3)])
    else:
        jerk = np.zeros(human.n_frames)
    foot_xy = feet[..., :2].reshape(len(feet), 4, 2)
    flat = touching.reshape(len(feet), 4)
    pel_d = np.maximum(support_distance(pelvis[:, :2], foot_xy, flat) - FOOT_HALF_WIDTH_M, 0.0)
    spi_d = np.maximum(support_distance(spine[:, :2], foot_xy, flat) - FOOT_HALF_WIDTH_M, 0.0)
    return FrameTerms(score, jerk, pelvis[:, 2].copy(), pel_d, spi_d)


def _nanmean(x: np.ndarray) -> float:
    return float(np.mean(x[np.isfinite(x)])) if np.isfinite(x).any() else math.nan


def chunk_metrics(terms: FrameTerms, chunk: Chunk) -> dict[str, float | bool]:
    """The chunk's curation metrics, one pass flag per filter (``pass_<name>``) and ``curated``."""
    sl = slice(chunk.start, chunk.stop)
    # jerk needs 4 frames: the last 3 of a chunk use differences that stay inside it
    j = terms.jerk_mps3[chunk.start : max(chunk.start + 1, chunk.stop - 3)]
    m: dict[str, float | bool] = {
        "contact_score": float(terms.contact_score[sl].mean()),
        "root_jerk_mps3": float(j.mean()),
        "pelvis_height_m": float(terms.pelvis_height_m[sl].mean()),
        "pelvis_support_m": _nanmean(terms.pelvis_support_m[sl]),
        "spine_support_m": _nanmean(terms.spine_support_m[sl]),
    }
    flags = {
        "contact": m["contact_score"] > CONTACT_SCORE_MIN,
        "jerk": m["root_jerk_mps3"] < ROOT_JERK_MAX_MPS3,
        "pelvis_height": PELVIS_HEIGHT_MIN_M <= m["pelvis_height_m"] <= PELVIS_HEIGHT_MAX_M,
        "pelvis_support": bool(m["pelvis_support_m"] < PELVIS_SUPPORT_MAX_M),  # NaN fails
        "spine_support": bool(m["spine_support_m"] < SPINE_SUPPORT_MAX_M),
    }
    for name, ok in flags.items():
        m[f"pass_{name}"] = bool(ok)
    m["curated"] = all(flags.values())
    return m


def filter_report(rows, filters: dict[str, str] | None = None) -> list[dict[str, object]]:
    """What each filter removed: per filter, chunks failing it at all and chunks for which it
    is the first failing filter (in ``filters`` order, default :data:`FILTERS`), out of
    ``len(rows)``. ``rows`` is a DataFrame with a boolean ``pass_<name>`` column per filter
    (stage 1's :func:`chunk_metrics` columns, or stage 2's hard-filter columns)."""
    n = len(rows)
    out = []
    remaining = np.ones(n, dtype=bool)
    for name, test in (FILTERS if filters is None else filters).items():
        ok = rows[f"pass_{name}"].to_numpy(dtype=bool)
        out.append(
            {
                "filter": name,
                "test": test,
                "failed": int((~ok).sum()),
                "removed_in_order": int((remaining & ~ok).sum()),
            }
        )
        remaining &= ok
    return out


# ------------------------------------------------------------------------- the stage
#: NMR's frame rate (paper and release: 30 fps); every CEPR array is resampled to it.
DEFAULT_FPS = 30.0
STAGE_DIR = "curate"
CHUNKS_CSV = "chunks.csv"


def curate_settings(fps: float) -> dict[str, Any]:
    """Everything stage 1's per-clip results depend on (part of the cache key)."""
    return {
        "fps": float(fps),
        "chunk_s": CHUNK_S,
        "overlap_s": OVERLAP_S,
        "min_chunk_s": MIN_CHUNK_S,
        "version": 1,
    }


def _curate_clip(job: tuple[SourceClip, Path, float]) -> dict[str, Any]:
    """Load one clip, resample it, cut it into chunks and measure them; cached per clip."""
    from benchmark.splits import classify

    clip, cache, fps = job
    hit = load_npz(cache)
    if hit is not None:
        return hit[0]
    meta: dict[str, Any] = {"clip": clip.name, "key": clip.key, "source": clip.source}
    try:
        human = clip.load()
        native_fps, native_frames = human.fps, human.n_frames
        if not human.is_canonical:
            raise CeprError(f"{clip.source}: not on SMPL's 24 joints ({len(human.joint_names)})")
        human = human.resample(fps)
    except (NmrGymError, OSError, ValueError, KeyError) as exc:
        meta.update(status="error", error=f"{type(exc).__name__}: {exc}", rows=[])
        save_npz(cache, meta)
        return meta
    terms = frame_terms(human)
    clip_cx = clip.complexity or classify(human).complexity
    rows = []
    for ch in chunk_ranges(human.n_frames, fps):
        seg = human[ch.start : ch.stop]
        try:
            cx = classify(seg).complexity
        except NmrGymError:  # pragma: no cover - canonical joints are checked above
            cx = clip_cx
        rows.append(
            {
                "clip": clip.name,
                "clip_key": clip.key,
                "source": clip.source,
                "chunk": ch.index,
                "start_frame": ch.start,
                "stop_frame": ch.stop,
                "start_s": ch.start / fps,
                "stop_s": ch.stop / fps,
                "frames": ch.n_frames,
                "complexity": cx,
                "clip_complexity": clip_cx,
                **chunk_metrics(terms, ch),
            }
        )
    meta.update(
        status="ok",
        error="",
        rows=rows,
        native_fps=native_fps,
        native_frames=native_frames,
        frames=human.n_frames,
        height=human.height,
    )
    save_npz(
        cache,
        meta,
        joint_pos=human.joint_pos.astype(np.float32),
        joint_quat=human.joint_quat.astype(np.float32),
    )
    return meta


def clip_cache_dir(out_dir: Path, fps: float) -> Path:
    return Path(out_dir) / STAGE_DIR / f"clips-{settings_hash(curate_settings(fps))}"


def load_curated_human(out_dir: Path, fps: float, clip_key: str, source: str) -> HumanMotion:
    """The resampled human clip that stage 1 cached."""
    from nmr_gym.skeleton import SMPL_JOINT_NAMES

    hit = load_npz(clip_cache_dir(out_dir, fps) / f"{clip_key}.npz")
    if hit is None or "joint_pos" not in hit[1]:
        raise CeprError(f"{out_dir}: stage 1 (curate) has no cached clip {clip_key}; rerun curate")
    meta, arr = hit
    return HumanMotion(
        fps=fps,
        joint_names=SMPL_JOINT_NAMES,
        joint_pos=arr["joint_pos"],
        joint_quat=arr["joint_quat"],
        height=meta["height"],
        source=source,
    )


def run_curate(
    clips: list[SourceClip],
    out_dir: str | os.PathLike,
    *,
    fps: float = DEFAULT_FPS,
    jobs: int = 1,
) -> pd.DataFrame:
    """Stage 1 over ``clips``: writes ``OUT/curate/chunks.csv`` (one row per chunk, every
    metric and pass flag) and ``OUT/curate/summary.json``; returns the chunk table.

    Per-clip results are cached under ``OUT/curate/clips-<settings>/`` as they finish, so an
    interrupted run continues where it stopped. Clips that cannot be loaded are reported in the
    summary and skipped; no usable clip at all is a :class:`CeprError`.
    """
    from nmr_gym.motion import check_fps

    fps = check_fps(fps, "--fps")
    out = Path(out_dir)
    cache = clip_cache_dir(out, fps)
    cache.mkdir(parents=True, exist_ok=True)
    jobs_list = [(c, cache / f"{c.key}.npz", fps) for c in clips]
    metas = parallel_map(_curate_clip, jobs_list, jobs=jobs, desc="cepr curate", unit="clip")
    rows = [r for m in metas for r in m["rows"]]
    errors = [{"clip": m["clip"], "error": m["error"]} for m in metas if m["status"] != "ok"]
    if not rows:
        detail = f"; first error: {errors[0]['error']}" if errors else ""
        raise CeprError(
            f"no usable human clip: {len(clips)} clip(s) gave no chunk of at least "
            f"{MIN_CHUNK_S:g} s{detail}"
        )
    table = pd.DataFrame(rows)
    summary = {
        "clips": len(clips),
        "clips_failed": errors,
        "clips_too_short": sum(1 for m in metas if m["status"] == "ok" and not m["rows"]),
        "chunks": len(table),
        "curated": int(table["curated"].sum()),
        "filters": filter_report(table),
        "settings": curate_settings(fps),
        "seconds_total": float(sum(m.get("frames", 0) for m in metas if m["status"] == "ok") / fps),
    }
    stage = out / STAGE_DIR
    histogram_figure(
        stage / "filters.png",
        table,
        [
            ("contact_score", "foot-contact score", [CONTACT_SCORE_MIN]),
            ("root_jerk_mps3", "root jerk [m/s^3]", [ROOT_JERK_MAX_MPS3]),
            ("pelvis_height_m", "pelvis height [m]", [PELVIS_HEIGHT_MIN_M, PELVIS_HEIGHT_MAX_M]),
            ("pelvis_support_m", "pelvis to support [m]", [PELVIS_SUPPORT_MAX_M]),
            ("spine_support_m", "spine to support [m]", [SPINE_SUPPORT_MAX_M]),
        ],
    )
    write_json(stage / "summary.json", summary)
    write_csv(stage / CHUNKS_CSV, table)  # last: its presence marks the stage complete
    return table


def curate_summary_markdown(out_dir: str | os.PathLike) -> str:
    """Stage 1's section of ``report.md``."""
    s = json.loads((Path(out_dir) / STAGE_DIR / "summary.json").read_text())
    lines = [
        "## Stage 1: curation (PHUMA's filters on human chunks)\n",
        "![curation metrics, thresholds in red](curate/filters.png)\n",
        f"{s['clips']} clips ({s['seconds_total']:.0f} s at {s['settings']['fps']:g} fps), "
        f"{s['chunks']} chunks of {s['settings']['chunk_s']:g} s "
        f"({s['settings']['overlap_s']:g} s overlap); {s['curated']} pass every filter. "
        f"{len(s['clips_failed'])} clips could not be loaded, {s['clips_too_short']} were "
        f"shorter than {s['settings']['min_chunk_s']:g} s.\n",
        "'failed': chunks failing the filter; 'removed in order': chunks it removes when the "
        "filters run in this order.\n",
        markdown_table(
            [
                {
                    "filter": f["filter"],
                    "test": f["test"],
                    "failed": f["failed"],
                    "removed in order": f["removed_in_order"],
                }
                for f in s["filters"]
            ]
        ),
    ]
    if s["clips_failed"]:
        lines.append("\nClips that could not be loaded:\n")
        lines += [f"- {e['clip']}: {e['error']}" for e in s["clips_failed"][:20]]
        lines.append("")
    return "\n".join(lines)
