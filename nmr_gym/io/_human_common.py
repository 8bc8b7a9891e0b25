"""Helpers shared by the human-motion readers: safe npz access, up axes, the floor.

Floor policy (``ground=`` of every human loader):

- ``"auto"`` (default): keep the source's floor when its feet touch z = 0 (AMASS fits and
  mocap BVH are recorded on a floor at height 0); when the lowest foot height over the clip is
  more than :data:`GROUND_TOLERANCE` away from where SMPL's foot joints sit on a floor
  (video estimates such as ASAP float ~15 cm), shift the whole clip vertically so it is. The
  shift is logged and stored in ``metadata["ground_shift_m"]``.
- ``"source"``: never shift. ``"feet"``: always shift so the lowest foot touches the floor.
"""

from __future__ import annotations

import logging
import os
import zipfile
import zlib
from typing import Any

import numpy as np

from nmr_gym import rotations as rot
from nmr_gym import skeleton as sk
from nmr_gym.errors import MotionFormatError
from nmr_gym.io.files import check_input_file
from nmr_gym.motion import _validate as v

log = logging.getLogger("nmr_gym.io.human_formats")

GROUND_MODES = ("auto", "source", "feet")
#: Lowest-foot height error [m] above which ``ground="auto"`` moves a clip onto the floor.
GROUND_TOLERANCE = 0.05
#: Percentile of the per-frame lowest foot-joint height taken as the clip's foot contact
#: height (robust to a few frames of estimation spikes through the floor).
GROUND_PERCENTILE = 1.0
_FEET = tuple(
    sk.SMPL_JOINT_NAMES.index(n) for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")
)


class NpzFile:
    """Read-only npz access that turns every low-level failure into a MotionFormatError.

    Never unpickles (``allow_pickle=False``): object arrays in a file (e.g. AMASS stage-II
    marker metadata) are simply never read.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = check_input_file(path)
        if not zipfile.is_zipfile(self.path):
            with open(self.path, "rb") as f:
                zip_start = f.read(4) == b"PK\x03\x04"
            raise MotionFormatError(
                "truncated or corrupt npz (zip directory missing)"
                if zip_start
                else "not an npz file (not a zip archive)",
                self.path,
            )
        try:
            self._npz = np.load(self.path, allow_pickle=False)
            self.keys = set(self._npz.files)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise MotionFormatError(f"cannot read npz ({exc})", self.path) from None

    def __contains__(self, key: str) -> bool:
        return key in self.keys

    def get(self, key: str) -> np.ndarray:
        if key not in self.keys:
            raise MotionFormatError(
                f"missing key {key!r}; the file has {sorted(self.keys)}", self.path
            )
        try:
            return self._npz[key]
        except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError) as exc:
            raise MotionFormatError(
                f"key {key!r} cannot be read; truncated or corrupt npz ({exc})", self.path
            ) from None

    def first(self, *keys: str) -> np.ndarray:
        for k in keys:
            if k in self.keys:
                return self.get(k)
        raise MotionFormatError(
            f"missing key: none of {list(keys)}; the file has {sorted(self.keys)}", self.path
        )

    def close(self) -> None:
        self._npz.close()


def as_str(value: Any) -> str:
    """A string from a 0-d str/bytes array or scalar (AMASS stores gender either way)."""
    value = np.asarray(value)
    item = value.item() if value.ndim == 0 else value.ravel()[0]
    return item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)


def numeric(name: str, value: Any, shape: tuple[int | None, ...], source: Any) -> np.ndarray:
    """Float64 array of ``shape``; a MotionFormatError naming the key otherwise."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise MotionFormatError(f"{name} is not numeric (dtype {arr.dtype})", source)
    return v.check_array(name, arr, shape, source)


def up_to_z(up_axis: str) -> np.ndarray:
    """Rotation (wxyz) taking a source's up axis (``"y"``, ``"-y"``, ``"z"``, ``"x"``, ...)
    onto +z: the minimal rotation, so for +y it is +90 deg about x (skeleton.Y_UP_TO_Z_UP)."""
    axes = {"x": 0, "y": 1, "z": 2}
    key = up_axis.strip().lower()
    sign = -1.0 if key.startswith("-") else 1.0
    key = key.lstrip("+-")
    if key not in axes:
        raise ValueError(f"up_axis must be one of x, y, z, -x, -y, -z; got {up_axis!r}")
    a = np.zeros(3)
    a[axes[key]] = sign
    z = np.array([0.0, 0.0, 1.0])
    c = float(a @ z)
    if c > 1 - 1e-9:
        return rot.IDENTITY_WXYZ.copy()
    if c < -1 + 1e-9:
        return np.array([0.0, 1.0, 0.0, 0.0])  # 180 deg about x
    axis = np.cross(a, z)
    return rot.from_axis_angle(axis / np.linalg.norm(axis) * np.arccos(c))


def apply_ground(
    joint_pos: np.ndarray, height: float, ground: str, source: Any
) -> tuple[np.ndarray, float]:
    """Joint positions on the floor per the ``ground`` policy (module docstring); the shift."""
    if ground not in GROUND_MODES:
        raise ValueError(f"ground must be one of {GROUND_MODES}, got {ground!r}")
    if ground == "source":
        return joint_pos, 0.0
    lowest = np.percentile(joint_pos[:, _FEET, 2].min(axis=1), GROUND_PERCENTILE)
    expected = sk.BALL_HEIGHT_FRACTION * height  # the lowest foot joint, standing
    shift = float(expected - lowest)
    if ground == "auto" and abs(shift) <= GROUND_TOLERANCE:
        return joint_pos, 0.0
    log.info(
        "%s: feet %.3f m from the floor; shifting the clip by %+.3f m (ground=%r)",
        source,
        -shift,
        shift,
        ground,
    )
    out = joint_pos.copy()
    out[..., 2] += shift
    return out, shift
