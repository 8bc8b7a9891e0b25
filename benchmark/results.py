"""The result schema: one row per (motion, retargeter), and how rows are stored and merged.

Columns, in order (:data:`COLUMNS`):

- identity (:data:`IDENTITY_COLUMNS`): ``motion`` (suite-unique name), ``source`` (file path or
  ``builtin:NAME``), ``retargeter``, ``complexity`` (ULOM/WBPM/WBCM), ``length``
  (short/medium/long, from the human motion's frame count at its own rate), ``n_frames`` and
  ``fps`` of the human motion, ``seed``, ``options`` (the retargeter's options as JSON);
- every metric of :data:`benchmark.metrics.METRIC_COLUMNS`;
- tracking (:data:`TRACKING_COLUMNS`): ``success`` (0/1 or a rate), ``track_mpjpe_m``,
  ``track_w_mpjpe_m`` of a trained tracking policy (``nmr-bench eval-tracker POLICY``);
- physics (:data:`PHYSICS_COLUMNS`): how physically feasible and trackable the retargeted
  reference is, from MuJoCo (``nmr-bench eval-tracker --baseline pd-ff --inverse-dynamics``):

  * ``id_root_force_n`` / ``id_root_torque_nm``: mean norm of the residual root force [N] /
    torque [N m] that inverse dynamics needs beyond what the ground can supply through the feet
    (a non-physical "hand of god"; lower is more feasible);
  * ``id_torque_limit_pct``: percent of frames where a joint torque exceeds the G1 effort
    limit (lower is better);
  * ``pdff_tracked_pct``: percent of the clip the training-free ``pd-ff`` baseline (PD servos
    plus an inverse-dynamics torque feed-forward, no root help) tracks before an early
    termination (higher is better; 100 = the whole clip);
  * ``pdff_w_mpjpe_clip_m``: its whole-clip world MPJPE over the 14 tracked bodies [m], the
    frames after an early termination counted at PHC's 0.5 m (lower is better).

  A training-free baseline fails almost every clip, so its success and surviving-frames MPJPE
  do not rank references: baselines fill these columns, never the tracking ones
  (:func:`tracking_result_columns`);

  the runner leaves tracking and physics columns NaN; evaluation fills them with
  :func:`merge_tracking` (same keys), and the leaderboard shows each group once any is set
  (direction of each column: :data:`HIGHER_IS_BETTER`);
- bookkeeping (:data:`INFO_COLUMNS`): ``robot_frames`` and ``robot_fps`` of the retargeted
  motion as written, ``scoring_fps`` (the rate it was resampled to before scoring,
  :data:`benchmark.metrics.SCORING_FPS`), ``robot_file`` (relative to the run folder),
  ``retarget_s`` (wall time, the only column that is not deterministic; leaderboards leave it
  out), ``error`` (empty, or why this row has no metrics).

The runner writes each row as its own JSON file (atomically) under ``OUT/rows/`` and merges them
into ``OUT/results.csv``; a row file that exists is a finished row (that is how runs resume).
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.metrics import METRIC_COLUMNS
from nmr_gym.errors import MotionFormatError
from nmr_gym.io.atomic import atomic_path, write_text_atomic

IDENTITY_COLUMNS: tuple[str, ...] = (
    "motion",
    "source",
    "retargeter",
    "complexity",
    "length",
    "n_frames",
    "fps",
    "seed",
    "options",
)
TRACKING_COLUMNS: tuple[str, ...] = ("success", "track_mpjpe_m", "track_w_mpjpe_m")
#: Inverse-dynamics feasibility and pd-ff trackability of each reference (module docstring).
PHYSICS_COLUMNS: tuple[str, ...] = (
    "id_root_force_n",
    "id_root_torque_nm",
    "id_torque_limit_pct",
    "pdff_tracked_pct",
    "pdff_w_mpjpe_clip_m",
)
INFO_COLUMNS: tuple[str, ...] = (
    "robot_frames",
    "robot_fps",
    "scoring_fps",
    "robot_file",
    "retarget_s",
    "error",
)
COLUMNS: tuple[str, ...] = (
    IDENTITY_COLUMNS + METRIC_COLUMNS + TRACKING_COLUMNS + PHYSICS_COLUMNS + INFO_COLUMNS
)
#: Columns holding text ("" when missing); every other column is a number (NaN when missing).
TEXT_COLUMNS: tuple[str, ...] = (
    "motion",
    "source",
    "retargeter",
    "complexity",
    "length",
    "options",
    "robot_file",
    "error",
)
#: Columns that identify a row.
KEY: tuple[str, str] = ("motion", "retargeter")
#: For each tracking column, whether higher is better.
TRACKING_HIGHER_IS_BETTER: dict[str, bool] = {
    "success": True,
    "track_mpjpe_m": False,
    "track_w_mpjpe_m": False,
}
#: For each physics column, whether higher is better.
PHYSICS_HIGHER_IS_BETTER: dict[str, bool] = {
    "id_root_force_n": False,
    "id_root_torque_nm": False,
    "id_torque_limit_pct": False,
    "pdff_tracked_pct": True,
    "pdff_w_mpjpe_clip_m": False,
}
#: Every column where higher is better; every other value column: lower is better.
HIGHER_IS_BETTER: frozenset[str] = frozenset(
    c for c, up in {**TRACKING_HIGHER_IS_BETTER, **PHYSICS_HIGHER_IS_BETTER}.items() if up
)
#: Columns that tracking evaluation fills (:func:`merge_tracking`).
MERGED_COLUMNS: tuple[str, ...] = TRACKING_COLUMNS + PHYSICS_COLUMNS
#: Training-free baseline trackers (``benchmark.tracking.BASELINES``): they fill physics
#: columns only, never the tracking columns.
BASELINE_TRACKERS: tuple[str, ...] = ("pd", "pd-ff")
#: The baseline whose evaluation fills the ``pdff_*`` columns.
PDFF_TRACKER = "pd-ff"
#: Inverse-dynamics columns of an evaluation row copied as they are.
ID_COLUMNS: tuple[str, ...] = ("id_root_force_n", "id_root_torque_nm", "id_torque_limit_pct")
#: Columns that differ between identical runs (timing); excluded from comparisons and tables.
NONDETERMINISTIC_COLUMNS: tuple[str, ...] = ("retarget_s",)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def slug(name: str) -> str:
    """A file-name-safe version of a motion or retargeter name ("a/b c" -> "a__b_c")."""
    return _UNSAFE.sub("_", name.replace("/", "__")).strip("_") or "motion"


def make_row(**values: Any) -> dict[str, Any]:
    """A full row: the given values, NaN for missing numbers, "" for missing text."""
    row = {c: ("" if c in TEXT_COLUMNS else math.nan) for c in COLUMNS}
    unknown = set(values) - set(COLUMNS)
    if unknown:
        raise KeyError(f"unknown result columns: {', '.join(sorted(unknown))}")
    row.update(values)
    return row


def row_path(rows_dir: str | os.PathLike, motion: str, retargeter: str) -> Path:
    """Where the row of (motion, retargeter) lives under ``rows_dir``."""
    return Path(rows_dir) / f"{slug(motion)}--{slug(retargeter)}.json"


def write_row(rows_dir: str | os.PathLike, row: dict[str, Any]) -> Path:
    """Write one row atomically as JSON (NaN kept as NaN); returns its path."""
    path = row_path(rows_dir, row["motion"], row["retargeter"])
    write_text_atomic(path, json.dumps(row, indent=1, sort_keys=True, allow_nan=True))
    return path


def read_row(path: str | os.PathLike) -> dict[str, Any]:
    try:
        row = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise MotionFormatError(f"is not a result row ({exc})", path) from None
    if not isinstance(row, dict) or any(k not in row for k in KEY):
        raise MotionFormatError("is not a result row (no motion/retargeter)", path)
    return make_row(**{k: v for k, v in row.items() if k in COLUMNS})


def to_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows as a DataFrame with :data:`COLUMNS`, sorted by (motion, retargeter)."""
    df = pd.DataFrame(
        [make_row(**r) if set(r) != set(COLUMNS) else r for r in rows], columns=list(COLUMNS)
    )
    if df.empty:
        return df
    return df.sort_values(list(KEY), kind="stable").reset_index(drop=True)


def collect_rows(rows_dir: str | os.PathLike) -> pd.DataFrame:
    """Every finished row under ``rows_dir`` as one frame."""
    paths = sorted(Path(rows_dir).glob("*.json"))
    return to_frame([read_row(p) for p in paths])


def write_results(df: pd.DataFrame, path: str | os.PathLike, exclude: tuple[str, ...] = ()) -> Path:
    """Write a results table atomically: CSV, or Parquet when ``path`` ends in ``.parquet``;
    columns in :data:`COLUMNS` order (extra ones after), ``exclude`` left out."""
    path = Path(path)
    cols = list(COLUMNS) + [c for c in df.columns if c not in COLUMNS]
    df = df.reindex(columns=[c for c in cols if c not in exclude])
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False, float_format="%.10g")
    return path


def read_results(path: str | os.PathLike) -> pd.DataFrame:
    """A results table (CSV or Parquet) with every column of :data:`COLUMNS` present.

    Missing tracking/physics/info columns are added (NaN), so older files (from before a column
    group existed) and partial tables load.
    Raises :class:`MotionFormatError` for a file that is not a results table.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: results file not found")
    try:
        df = (
            pd.read_parquet(p)
            if p.suffix == ".parquet"
            else pd.read_csv(p, keep_default_na=True, dtype=dict.fromkeys(TEXT_COLUMNS, str))
        )
    except Exception as exc:  # pandas raises many types for a bad file
        raise MotionFormatError(f"cannot be read as a results table ({exc})", p) from None
    missing = [c for c in IDENTITY_COLUMNS[:3] + METRIC_COLUMNS if c not in df.columns]
    if missing:
        raise MotionFormatError(f"is not a results table: no column(s) {', '.join(missing)}", p)
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = math.nan
    for c in TEXT_COLUMNS:  # object first: an all-empty column reads as float NaN
        df[c] = df[c].astype(object).fillna("").astype(str)
    return df


def tracking_result_columns(rows: pd.DataFrame, tracker: str) -> pd.DataFrame:
    """The result columns that an evaluation fills, from ``benchmark.tracking`` rows.

    ``rows``: one per (motion, retargeter) with ``benchmark.tracking.evaluate``'s columns
    (``success``, ``track_*``, ``episode_length``, ``clip_length``...) and optionally
    ``inverse_dynamics``'s ``id_*``. ``tracker``: the tracker's name -- a trained policy fills
    :data:`TRACKING_COLUMNS`; ``pd-ff`` fills ``pdff_tracked_pct`` (episode length over clip
    length, capped at 100) and ``pdff_w_mpjpe_clip_m``; any baseline fills no tracking
    column. The ``id_*`` columns are copied whoever the tracker is.
    Returns :data:`KEY` plus the filled columns (only those).
    """
    out = rows[list(KEY)].copy()
    for c in ID_COLUMNS:
        if c in rows.columns:
            out[c] = rows[c].astype(float)
    if tracker == PDFF_TRACKER:
        steps = rows["episode_length"].astype(float).to_numpy()
        clip = rows["clip_length"].astype(float).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(clip > 0, 100.0 * steps / clip, 100.0)
        out["pdff_tracked_pct"] = np.minimum(pct, 100.0)
        out["pdff_w_mpjpe_clip_m"] = rows["track_w_mpjpe_clip_m"].astype(float)
    elif tracker not in BASELINE_TRACKERS:
        for c in TRACKING_COLUMNS:
            out[c] = rows[c].astype(float)
    return out


def tracking_updates(update: pd.DataFrame) -> dict[tuple[str, str], dict[str, float]]:
    """{(motion, retargeter): {column: value}}: the set (non-NaN) values of
    :data:`MERGED_COLUMNS` in ``update``; a later row of the same key wins."""
    cols = [c for c in MERGED_COLUMNS if c in update.columns]
    out: dict[tuple[str, str], dict[str, float]] = {}
    for rec in update[list(KEY) + cols].to_dict("records"):
        values = {c: float(rec[c]) for c in cols if pd.notna(rec[c])}
        out.setdefault((str(rec["motion"]), str(rec["retargeter"])), {}).update(values)
    return out


def merge_tracking(results: pd.DataFrame, update: pd.DataFrame) -> pd.DataFrame:
    """``results`` with the tracking and physics columns (:data:`MERGED_COLUMNS`) set from
    ``update`` (matched on motion and retargeter; NaN in ``update`` does not clear a value);
    rows that ``update`` does not mention keep their values, and so does every other column."""
    updates = tracking_updates(update)
    out = results.copy()
    for c in {c for vals in updates.values() for c in vals}:
        out[c] = pd.to_numeric(out[c], errors="coerce") if c in out.columns else math.nan
    keys = zip(out["motion"].astype(str), out["retargeter"].astype(str), strict=True)
    for i, key in zip(out.index, keys, strict=True):
        for c, v in updates.get(key, {}).items():
            out.at[i, c] = v
    return out


def update_row_files(rows_dir: str | os.PathLike, update: pd.DataFrame) -> list[Path]:
    """Apply :func:`merge_tracking`'s update to the run's row files (``rows_dir``) too, so that
    a later ``nmr-bench run`` on the same folder, which rebuilds ``results.csv`` from its rows,
    keeps the values. Keys without a row file are skipped; returns the files rewritten."""
    written = []
    for (motion, retargeter), values in tracking_updates(update).items():
        path = row_path(rows_dir, motion, retargeter)
        if values and path.is_file():
            row = read_row(path)
            row.update(values)
            written.append(write_row(rows_dir, row))
    return written


#: A run folder's record of how it was made (written by ``nmr-bench run``): ``command`` is the
#: run's command line, ``followup_commands`` the commands that later filled columns of its
#: results table, in the order they last ran.
RUN_INFO_FILE = "run.json"


def add_followup_command(run_dir: str | os.PathLike, command: str) -> bool:
    """Record ``command`` as the latest follow-up of the run in ``run_dir`` (an earlier
    identical entry moves to the end). Returns False, writing nothing, when ``run_dir`` has
    no :data:`RUN_INFO_FILE` (not a run folder) or ``command`` is empty."""
    path = Path(run_dir) / RUN_INFO_FILE
    if not command or not path.is_file():
        return False
    try:
        info = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise MotionFormatError(f"is not a run record ({exc})", path) from None
    done = [c for c in info.get("followup_commands", []) if c != command]
    info["followup_commands"] = [*done, command]
    write_text_atomic(path, json.dumps(info, indent=1) + "\n")
    return True


def run_commands(run_dir: str | os.PathLike) -> list[str]:
    """The command lines that made the run in ``run_dir``: its ``nmr-bench run`` command, then
    the follow-ups (:func:`add_followup_command`); [] without a readable record."""
    path = Path(run_dir) / RUN_INFO_FILE
    try:
        info = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return []
    first = [str(info["command"])] if info.get("command") else []
    return first + [str(c) for c in info.get("followup_commands", []) if c]
