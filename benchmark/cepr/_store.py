"""Small helpers shared by the CEPR stages: atomic caches, provenance, parallel maps."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nmr_gym.io.atomic import atomic_path, write_text_atomic


def settings_hash(settings: dict[str, Any]) -> str:
    """Short stable hash of a JSON-serialisable settings dict (cache folder names)."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def save_npz(path: Path, meta: dict[str, Any], **arrays: np.ndarray) -> None:
    """Arrays plus a JSON ``meta`` record in one npz, written atomically."""
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, _meta=np.array(json.dumps(meta, default=str)), **arrays)


def load_npz(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """(meta, arrays) of a cache file, or None when it is missing or unreadable (recompute)."""
    if not path.is_file():
        return None
    try:
        with np.load(path) as z:
            meta = json.loads(str(z["_meta"]))
            arrays = {k: z[k] for k in z.files if k != "_meta"}
    except (OSError, ValueError, KeyError, json.JSONDecodeError):
        return None
    return meta, arrays


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def write_json(path: Path, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, default=str) + "\n")


def git_commit() -> str:
    """The commit of the code that runs (empty when not in a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
        commit = out.stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return commit + ("+dirty" if dirty and commit else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def provenance(stage: str, settings: dict[str, Any], seed: int | None = None) -> dict[str, Any]:
    return {
        "stage": stage,
        "commit": git_commit(),
        "settings": settings,
        "seed": seed,
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _one_thread() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


def parallel_map(
    fn: Callable[..., Any],
    items: Sequence[Any],
    *,
    jobs: int = 1,
    desc: str = "",
    unit: str = "item",
    weights: Sequence[float] | None = None,
) -> list[Any]:
    """``[fn(x) for x in items]`` in ``jobs`` processes with a progress bar (ETA).

    The bar advances by ``weights`` (e.g. frames) so its ETA reflects the work, not the count.
    Results keep the order of ``items``.
    """
    from tqdm import tqdm

    w = list(weights) if weights is not None else [1.0] * len(items)
    results: list[Any] = [None] * len(items)
    bar = tqdm(total=float(sum(w)), desc=desc, unit=unit, disable=None, smoothing=0.05)
    try:
        if jobs <= 1 or len(items) <= 1:
            for i, x in enumerate(items):
                results[i] = fn(x)
                bar.update(w[i])
        else:
            with ProcessPoolExecutor(
                max_workers=min(jobs, len(items)), initializer=_one_thread
            ) as pool:
                futures = {pool.submit(fn, x): i for i, x in enumerate(items)}
                for fut in as_completed(futures):
                    i = futures[fut]
                    results[i] = fut.result()
                    bar.update(w[i])
    finally:
        bar.close()
    return results


def markdown_table(rows: Iterable[dict[str, Any]], floatfmt: str = ".3g") -> str:
    rows = list(rows)
    if not rows:
        return "(none)\n"
    cols = list(rows[0])

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return format(v, floatfmt)
        return str(v)

    buf = io.StringIO()
    buf.write("| " + " | ".join(cols) + " |\n")
    buf.write("|" + "---|" * len(cols) + "\n")
    for r in rows:
        buf.write("| " + " | ".join(fmt(r.get(c, "")) for c in cols) + " |\n")
    return buf.getvalue()


def histogram_figure(
    path: Path, table: pd.DataFrame, panels: Sequence[tuple[str, str, Sequence[float]]]
) -> None:
    """One histogram per ``(column, title, thresholds)`` panel, threshold lines drawn in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 2.8))
    for ax, (col, title, lines) in zip(np.atleast_1d(axes), panels, strict=True):
        x = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        if len(x):
            hi = np.percentile(x, 99) if len(x) > 20 else x.max()
            ax.hist(np.clip(x, None, max(hi, max(lines, default=hi))), bins=30, color="0.5")
        for v in lines:
            ax.axvline(v, color="red")
        ax.set_title(title, fontsize=8)
        ax.set_ylabel("chunks", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
