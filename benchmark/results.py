"""The result schema: one row per (motion, retargeter), and how rows are stored and merged.

Columns, in order (:data:`COLUMNS`):

- identity (:data:`IDENTITY_COLUMNS`): ``motion`` (suite-unique name), ``source`` (file path or
  ``builtin:NAME``), ``retargeter``, ``complexity`` (ULOM/WBPM/WBCM), ``length``
  (short/medium/long, from the human motion's frame count at its own rate), ``n_frames`` and
  ``fps`` of the human motion, ``seed``, ``options`` (the retargeter's options as JSON);
- every metric of :data:`benchmark.metrics.METRIC_COLUMNS`;
- tracking (:data:`TRACKING_COLUMNS`): ``success`` (0/1 or a rate), ``track_mpjpe_m``,
  ``track_w_mpjpe_m``. The runner leaves them NaN; tracking evaluation fills them with
  :func:`merge_tracking` (same keys), and the leaderboard shows them once any is set;
- bookkeeping (:data:`INFO_COLUMNS`): ``robot_frames`` and ``robot_fps`` of the retargeted
  motion, ``robot_file`` (relative to the run folder), ``retarget_s`` (wall time, the only
  column that is not deterministic; leaderboards leave it out), ``error`` (empty, or why this
  row has no metrics).

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
INFO_COLUMNS: tuple[str, ...] = ("robot_frames", "robot_fps", "robot_file", "retarget_s", "error")
COLUMNS: tuple[str, ...] = IDENTITY_COLUMNS + METRIC_COLUMNS + TRACKING_COLUMNS + INFO_COLUMNS
#: Columns that identify a row.
KEY: tuple[str, str] = ("motion", "retargeter")
#: For each tracking column, whether higher is better.
TRACKING_HIGHER_IS_BETTER: dict[str, bool] = {
    "success": True,
    "track_mpjpe_m": False,
    "track_w_mpjpe_m": False,
}
#: Columns that differ between identical runs (timing); excluded from comparisons and tables.
NONDETERMINISTIC_COLUMNS: tuple[str, ...] = ("retarget_s",)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def slug(name: str) -> str:
    """A file-name-safe version of a motion or retargeter name ("a/b c" -> "a__b_c")."""
    return _UNSAFE.sub("_", name.replace("/", "__")).strip("_") or "motion"


def make_row(**values: Any) -> dict[str, Any]:
    """A full row: the given values, NaN for missing numbers, "" for missing text."""
    text = {
        "motion",
        "source",
        "retargeter",
        "complexity",
        "length",
        "options",
        "robot_file",
        "error",
    }
    row = {c: ("" if c in text else math.nan) for c in COLUMNS}
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

    Missing tracking/info columns are added (NaN), so older files and partial tables load.
    Raises :class:`MotionFormatError` for a file that is not a results table.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: results file not found")
    try:
        df = (
            pd.read_parquet(p)
            if p.suffix == ".parquet"
            else pd.read_csv(
                p, keep_default_na=True, dtype={"options": str, "error": str, "robot_file": str}
            )
        )
    except Exception as exc:  # pandas raises many types for a bad file
        raise MotionFormatError(f"cannot be read as a results table ({exc})", p) from None
    missing = [c for c in IDENTITY_COLUMNS[:3] + METRIC_COLUMNS if c not in df.columns]
    if missing:
        raise MotionFormatError(f"is not a results table: no column(s) {', '.join(missing)}", p)
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = math.nan
    for c in ("options", "error", "robot_file", "complexity", "length"):
        df[c] = df[c].fillna("").astype(str)
    return df


def merge_tracking(results: pd.DataFrame, tracking: pd.DataFrame) -> pd.DataFrame:
    """``results`` with the tracking columns taken from ``tracking`` (matched on motion and
    retargeter); rows that ``tracking`` does not mention keep their values."""
    cols = [c for c in TRACKING_COLUMNS if c in tracking.columns]
    upd = tracking.set_index(list(KEY))[cols]
    out = results.set_index(list(KEY))
    out.update(upd)
    return out.reset_index()[list(results.columns)]
