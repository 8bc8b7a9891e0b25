"""Paired human/robot motion datasets: what CEPR writes and what the NMR trainer reads.

A pair is one human motion segment and the G1 motion made from it, on the same frames (same fps,
same frame count). Kinematic pairs come from a kinematic retargeter (NMR's stage-1 data); physics
pairs come from a tracking expert's rollout in the simulator (NMR's stage-2 data, CEPR).

Layout of a dataset folder ``DIR``::

    DIR/shards/pairs-00000.npz   arrays of up to ``shard_size`` pairs, keys "<pair_id>/<array>"
    DIR/provenance.json          how the dataset was made: commit, arguments, seed, time
    DIR/manifest.csv             one row per pair (written last: a folder without it is not a
                                 dataset, so an interrupted write is never mistaken for one)

Arrays of a pair (float32):

    human_joint_pos   (T, 24, 3)  SMPL joint positions [m], world frame, z up, floor at z = 0
    human_joint_quat  (T, 24, 4)  SMPL joint orientations, wxyz, world frame
    robot_qpos        (T, 36)     G1 root position [m], root quaternion (wxyz), 29 joints [rad]
                                  in Menagerie order (``nmr_gym.g1.spec.JOINT_NAMES``)

Manifest columns (``MANIFEST_COLUMNS``; writers may add more, readers keep them):

    pair_id, shard      identity and the shard file (relative to DIR) holding its arrays
    kind                "kinematic" or "physics"
    fps, frames         the pair's rate [Hz] and frame count
    human_source        the human clip (path or suite name)
    source_start_s, source_stop_s   the segment's time range in that clip [s]
    human_height        body height of the human [m]
    retargeter          the kinematic retargeter of the robot motion (or of the expert's reference)
    cluster, expert     CEPR cluster id and expert name (-1 and "" for kinematic pairs)
    success             whether the robot motion is usable (kinematic: passed the hard filters;
                        physics: the rollout tracked without termination)
    track_mpjpe_m, track_w_mpjpe_m  rollout tracking errors [m] (NaN for kinematic pairs)
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nmr_gym.errors import MotionError, MotionFormatError
from nmr_gym.io.atomic import atomic_path, write_text_atomic
from nmr_gym.motion import HumanMotion, RobotMotion
from nmr_gym.skeleton import SMPL_JOINT_NAMES

MANIFEST = "manifest.csv"
PROVENANCE = "provenance.json"
SHARD_DIR = "shards"
KINDS = ("kinematic", "physics")
ARRAYS = ("human_joint_pos", "human_joint_quat", "robot_qpos")
MANIFEST_COLUMNS = (
    "pair_id",
    "shard",
    "kind",
    "fps",
    "frames",
    "human_source",
    "source_start_s",
    "source_stop_s",
    "human_height",
    "retargeter",
    "cluster",
    "expert",
    "success",
    "track_mpjpe_m",
    "track_w_mpjpe_m",
)
#: Pairs per shard file: large enough that a dataset is a handful of files, small enough that
#: reading one pair does not decompress hundreds of megabytes.
DEFAULT_SHARD_SIZE = 256

_TEXT_COLUMNS = ("pair_id", "shard", "kind", "human_source", "retargeter", "expert")
_FLOAT_COLUMNS = ("source_stop_s", "track_mpjpe_m", "track_w_mpjpe_m")
_DEFAULTS: dict[str, Any] = {
    "human_source": "",
    "source_start_s": 0.0,
    "source_stop_s": math.nan,
    "retargeter": "",
    "cluster": -1,
    "expert": "",
    "success": True,
    "track_mpjpe_m": math.nan,
    "track_w_mpjpe_m": math.nan,
}


@dataclass(frozen=True)
class Pair:
    """One pair: the human segment, the robot motion on the same frames, and its manifest row."""

    human: HumanMotion
    robot: RobotMotion
    row: Mapping[str, Any]


def is_dataset(path: str | os.PathLike) -> bool:
    """True when ``path`` is a complete dataset folder (its manifest exists)."""
    return (Path(path) / MANIFEST).is_file()


class PairDatasetWriter:
    """Write a pair dataset; nothing appears at ``out_dir`` unless :meth:`close` succeeds.

    Pairs are written into ``out_dir`` + ``.partial`` and the folder is renamed onto ``out_dir``
    when closed; an exception inside a ``with`` block removes the partial folder. ``out_dir``
    must not already be a dataset unless ``overwrite=True``.

    Args:
        out_dir: the dataset folder to create.
        kind: "kinematic" or "physics", the default ``kind`` column of added pairs.
        provenance: a JSON-serialisable record of how the data was made (commit, arguments, seed).
        shard_size: pairs per shard file (> 0).
        id_prefix: pair ids are ``f"{id_prefix}{n:07d}"``, n counting from 0 in insertion order.
    """

    def __init__(
        self,
        out_dir: str | os.PathLike,
        *,
        kind: str = "kinematic",
        provenance: Mapping[str, Any] | None = None,
        shard_size: int = DEFAULT_SHARD_SIZE,
        id_prefix: str = "p",
        overwrite: bool = False,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if int(shard_size) <= 0:
            raise ValueError(f"shard_size must be > 0, got {shard_size}")
        self.out_dir = Path(out_dir)
        if is_dataset(self.out_dir) and not overwrite:
            raise FileExistsError(f"{self.out_dir}: already a pair dataset (overwrite=False)")
        self.kind = kind
        self.provenance = dict(provenance or {})
        self.shard_size = int(shard_size)
        self.id_prefix = id_prefix
        self._tmp = self.out_dir.with_name(self.out_dir.name + ".partial")
        if self._tmp.exists():
            shutil.rmtree(self._tmp)
        (self._tmp / SHARD_DIR).mkdir(parents=True)
        self._rows: list[dict[str, Any]] = []
        self._pending: dict[str, np.ndarray] = {}
        self._n_pending = 0
        self._n_shards = 0
        self._closed = False

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, human: HumanMotion, robot: RobotMotion, **columns: Any) -> str:
        """Add one pair; returns its id. ``columns`` fill or extend the manifest row."""
        if self._closed:
            raise RuntimeError("the writer is closed")
        src = columns.get("human_source") or human.source
        if human.joint_names != SMPL_JOINT_NAMES:
            raise MotionError("pairs store humans on SMPL's 24 canonical joints", src)
        if human.n_frames != robot.n_frames or not math.isclose(human.fps, robot.fps):
            raise MotionError(
                f"human ({human.n_frames} frames at {human.fps:g} fps) and robot "
                f"({robot.n_frames} frames at {robot.fps:g} fps) must share their frames",
                src,
            )
        pair_id = f"{self.id_prefix}{len(self._rows):07d}"
        shard = f"{SHARD_DIR}/pairs-{self._n_shards:05d}.npz"
        arrays = {
            "human_joint_pos": human.joint_pos,
            "human_joint_quat": human.joint_quat,
            "robot_qpos": robot.qpos,
        }
        for name, arr in arrays.items():
            self._pending[f"{pair_id}/{name}"] = np.asarray(arr, dtype=np.float32)
        row = {
            "pair_id": pair_id,
            "shard": shard,
            "kind": self.kind,
            "fps": float(human.fps),
            "frames": int(human.n_frames),
            "human_height": float(human.height),
            **_DEFAULTS,
            "human_source": str(src or ""),
        }
        row.update(columns)
        if row["kind"] not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {row['kind']!r}")
        self._rows.append(row)
        self._n_pending += 1
        if self._n_pending >= self.shard_size:
            self._flush()
        return pair_id

    def _flush(self) -> None:
        if not self._n_pending:
            return
        path = self._tmp / SHARD_DIR / f"pairs-{self._n_shards:05d}.npz"
        with atomic_path(path) as tmp:
            np.savez_compressed(tmp, **self._pending)
        self._pending, self._n_pending = {}, 0
        self._n_shards += 1

    def close(self) -> Path:
        """Write the last shard, the provenance and the manifest, then move the folder in place."""
        if self._closed:
            return self.out_dir
        self._flush()
        write_text_atomic(
            self._tmp / PROVENANCE, json.dumps(self.provenance, indent=2, default=str) + "\n"
        )
        columns = list(MANIFEST_COLUMNS) + sorted(
            {k for r in self._rows for k in r} - set(MANIFEST_COLUMNS)
        )
        frame = pd.DataFrame(self._rows, columns=columns)
        with atomic_path(self._tmp / MANIFEST) as tmp:
            frame.to_csv(tmp, index=False)
        if self.out_dir.exists():
            shutil.rmtree(self.out_dir)
        os.replace(self._tmp, self.out_dir)
        self._closed = True
        return self.out_dir

    def abort(self) -> None:
        """Drop everything written so far."""
        self._closed = True
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> PairDatasetWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class PairDataset:
    """Read a pair dataset folder: ``len(ds)``, ``ds[i]`` -> :class:`Pair`, ``ds.manifest``.

    Shards are opened lazily and kept open; :meth:`arrays` gives the raw float32 arrays without
    building motion objects (what a training loader wants).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise MotionFormatError("not a folder", self.path)
        if not is_dataset(self.path):
            raise MotionFormatError(
                f"no {MANIFEST}: not a pair dataset (or an interrupted write)", self.path
            )
        try:
            self.manifest = pd.read_csv(
                self.path / MANIFEST, dtype={c: str for c in _TEXT_COLUMNS}, keep_default_na=False
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise MotionFormatError(f"{MANIFEST} cannot be read ({exc})", self.path) from None
        missing = [c for c in MANIFEST_COLUMNS if c not in self.manifest.columns]
        if missing:
            raise MotionFormatError(f"{MANIFEST} lacks columns {missing}", self.path)
        for col in _FLOAT_COLUMNS:  # empty cells are NaN (kinematic pairs have no errors)
            self.manifest[col] = pd.to_numeric(self.manifest[col].replace("", np.nan))
        self._index = {pid: i for i, pid in enumerate(self.manifest["pair_id"])}
        self._shards: dict[str, Any] = {}

    @property
    def provenance(self) -> dict[str, Any]:
        path = self.path / PROVENANCE
        return json.loads(path.read_text()) if path.is_file() else {}

    def __len__(self) -> int:
        return len(self.manifest)

    def _shard(self, name: str):
        if name not in self._shards:
            path = self.path / name
            if not path.is_file():
                raise MotionFormatError("shard listed in the manifest is missing", path)
            try:
                self._shards[name] = np.load(path)
            except (OSError, ValueError) as exc:
                raise MotionFormatError(f"shard cannot be read ({exc})", path) from None
        return self._shards[name]

    def arrays(self, key: int | str) -> dict[str, np.ndarray]:
        """The float32 arrays of pair ``key`` (index or pair id), keyed by ``ARRAYS`` names."""
        i = self._index[key] if isinstance(key, str) else int(key)
        row = self.manifest.iloc[i]
        shard = self._shard(row["shard"])
        pid, n = row["pair_id"], int(row["frames"])
        out = {}
        for name in ARRAYS:
            try:
                out[name] = shard[f"{pid}/{name}"]
            except KeyError:
                raise MotionFormatError(
                    f"pair {pid} has no array {name!r}", self.path / row["shard"]
                ) from None
            if out[name].shape[0] != n:
                raise MotionFormatError(
                    f"pair {pid}: {name} has {out[name].shape[0]} frames, manifest says {n}",
                    self.path / row["shard"],
                )
        return out

    def __getitem__(self, key: int | str) -> Pair:
        i = self._index[key] if isinstance(key, str) else int(key)
        row = self.manifest.iloc[i].to_dict()
        arr = self.arrays(i)
        src = f"{self.path}:{row['pair_id']}"
        human = HumanMotion(
            fps=row["fps"],
            joint_names=SMPL_JOINT_NAMES,
            joint_pos=arr["human_joint_pos"],
            joint_quat=arr["human_joint_quat"],
            height=row["human_height"],
            source=src,
        )
        robot = RobotMotion.from_qpos(arr["robot_qpos"], row["fps"], source=src)
        return Pair(human, robot, row)

    def __iter__(self) -> Iterator[Pair]:
        for i in range(len(self)):
            yield self[i]
