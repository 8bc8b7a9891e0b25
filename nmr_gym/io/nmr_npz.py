"""nmr-gym's own compact G1 motion file (``.nmr.npz``), read and written.

Keys: ``format`` (the tag ``NMR_FORMAT_TAG``), ``format_version``, ``fps``, ``root_pos`` (T, 3),
``root_quat`` (T, 4, wxyz), ``joint_pos`` (T, 29), ``joint_names`` (checked; columns reordered
by name), ``metadata`` (a JSON string). The only robot format that keeps metadata.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from nmr_gym.errors import MotionFormatError
from nmr_gym.g1 import spec
from nmr_gym.io import _robot_common as rc
from nmr_gym.io.files import read_npz
from nmr_gym.motion.robot import RobotMotion

NMR_FORMAT_TAG = "nmr_gym.robot_motion"
NMR_FORMAT_VERSION = 1


def _json_default(value: Any) -> Any:
    """JSON for metadata values json cannot encode (arrays, numpy scalars, paths)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def read(path: Path, fps: float | None = None, **_: Any) -> RobotMotion:
    """A RobotMotion from an nmr npz (joints reordered by name, metadata kept)."""
    data = read_npz(path)
    keys = (
        "format",
        "format_version",
        "fps",
        "root_pos",
        "root_quat",
        "joint_pos",
        "joint_names",
        "metadata",
    )
    rc.require_keys(data, keys, "nmr robot motion", path)
    if str(data["format"]) != NMR_FORMAT_TAG:
        raise MotionFormatError(
            f"format tag is {str(data['format'])!r}, expected {NMR_FORMAT_TAG!r}", path
        )
    try:
        version = int(np.asarray(data["format_version"]).reshape(-1)[0])
    except (ValueError, TypeError, IndexError):
        raise MotionFormatError(
            f"format_version must be an integer, got {data['format_version']!r}", path
        ) from None
    if version > NMR_FORMAT_VERSION:
        raise MotionFormatError(
            f"was written by a newer nmr-gym (format version {version}; this one reads up to "
            f"{NMR_FORMAT_VERSION})",
            path,
        )
    file_fps = rc.stored_fps(data["fps"], fps, path)
    try:
        metadata = json.loads(str(data["metadata"]))
    except json.JSONDecodeError as exc:
        raise MotionFormatError(f"metadata is not valid JSON ({exc})", path) from None
    if not isinstance(metadata, dict):
        raise MotionFormatError("metadata must be a JSON object", path)
    joint_pos = rc.numeric("joint_pos", data["joint_pos"], path)
    names = tuple(str(j) for j in np.asarray(data["joint_names"]).reshape(-1))
    if names != spec.JOINT_NAMES:
        unknown = sorted(set(names) - set(spec.JOINT_NAMES))
        if unknown or len(names) != spec.NUM_JOINTS or len(set(names)) != len(names):
            raise MotionFormatError(
                f"joint_names are not the 29 G1 joints (unknown: {', '.join(unknown) or '-'}; "
                f"{len(names)} names)",
                path,
            )
        if joint_pos.ndim != 2 or joint_pos.shape[1] != spec.NUM_JOINTS:
            rc.columns_error("joint_pos", joint_pos, path, "29 G1 joints")
        joint_pos = joint_pos[:, [names.index(j) for j in spec.JOINT_NAMES]]  # into G1 order
    metadata["format"] = "nmr"
    return rc.make_motion(path, file_fps, data["root_pos"], data["root_quat"], joint_pos, metadata)


def write(motion: RobotMotion, path: Path, **_: Any) -> None:
    """Write ``motion`` as an nmr npz with its metadata and source."""
    metadata = dict(motion.metadata)
    metadata.pop("format", None)
    if motion.source and "source" not in metadata:
        metadata["source"] = str(motion.source)
    rc.savez(
        path,
        {
            "format": np.array(NMR_FORMAT_TAG),
            "format_version": np.array(NMR_FORMAT_VERSION),
            "fps": np.array(motion.fps),
            "root_pos": motion.root_pos,
            "root_quat": motion.root_quat,
            "joint_pos": motion.joint_pos,
            "joint_names": np.array(spec.JOINT_NAMES),
            "metadata": np.array(json.dumps(metadata, default=_json_default)),
        },
    )
