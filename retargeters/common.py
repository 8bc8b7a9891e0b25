"""Pieces several retargeters share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nmr_gym.errors import MotionError, UnknownNameError
from nmr_gym.g1.geometry import lowest_point_z_of_qpos
from nmr_gym.motion import HumanMotion

#: Keys of the human motion's metadata that a retargeted clip carries over.
CARRIED_METADATA_KEYS: tuple[str, ...] = ("name", "complexity", "length", "skeleton", "format")


def ground_offset(qpos: np.ndarray) -> float:
    """The vertical shift [m] that puts the lowest collision point of a G1 clip ``qpos``
    (T, 36) at z = 0 (:func:`nmr_gym.g1.geometry.lowest_point_z` on the reference G1)."""
    return -float(np.min(lowest_point_z_of_qpos(qpos)))


def check_fps_option(fps: float | None) -> float | None:
    """A retargeter's ``fps`` option [frames/s] as a float (None stays None); raises
    ``ValueError`` naming the value unless it is finite and > 0."""
    if fps is not None and not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a finite number > 0 or None, got {fps!r}")
    return None if fps is None else float(fps)


def check_backend_option(backend: str) -> str:
    """The IK ``backend`` option (``fast`` or ``mink``); raises ``ValueError`` otherwise."""
    if backend not in ("fast", "mink"):
        raise ValueError(f"backend must be 'fast' or 'mink', got {backend!r}")
    return backend


def canonical_human(
    human: HumanMotion, joints: Sequence[str], fps: float | None, method: str
) -> HumanMotion:
    """``human`` resampled to ``fps`` (None keeps its rate) after checking it has every joint
    of ``joints``; a missing one raises :class:`MotionError` naming ``method`` and the file."""
    try:
        for joint in joints:
            human.index(joint)
    except UnknownNameError as exc:
        raise MotionError(
            f"{method} needs the canonical SMPL joints ({exc}); load files with "
            "nmr_gym.io.load_human_motion",
            human.source,
        ) from None
    return human if fps is None else human.resample(fps)


def carried_metadata(human: HumanMotion, **extra: Any) -> dict[str, Any]:
    """The metadata of a clip retargeted from ``human``: its :data:`CARRIED_METADATA_KEYS`
    that are present, then ``extra`` (retargeter name, options, per-method facts)."""
    metadata = {k: human.metadata[k] for k in CARRIED_METADATA_KEYS if k in human.metadata}
    metadata.update(extra)
    return metadata
