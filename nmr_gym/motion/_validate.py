"""Shared checks for motion arrays; every failure is a MotionError naming the source."""

from __future__ import annotations

import math

import numpy as np

from nmr_gym.errors import MotionError

#: Quaternions whose norm differs from 1 by more than this are rejected; closer ones are
#: renormalised (files store float32 quaternions with ~1e-7 error; 1e-2 catches real garbage).
QUAT_NORM_TOLERANCE = 1e-2
MIN_FRAMES = 2


def check_fps(fps: object, source: str | None) -> float:
    try:
        value = float(fps)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise MotionError(f"fps must be a number, got {fps!r}", source) from None
    if not np.isfinite(value) or value <= 0:
        raise MotionError(f"fps must be a finite number > 0, got {fps!r}", source)
    return value


def check_array(
    name: str, value: object, shape: tuple[int | None, ...], source: str | None
) -> np.ndarray:
    """Float64 array with the given shape (None = any size); finite values only."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MotionError(f"{name} is not a numeric array ({exc})", source) from None
    expected = (
        "("
        + ", ".join(
            "T" if i == 0 and s is None else ("*" if s is None else str(s))
            for i, s in enumerate(shape)
        )
        + ")"
    )
    if arr.ndim != len(shape) or any(
        s is not None and a != s for a, s in zip(arr.shape, shape, strict=False)
    ):
        raise MotionError(f"{name} has shape {arr.shape}, expected {expected}", source)
    bad = ~np.isfinite(arr)
    if bad.any():
        frame = int(np.argwhere(bad)[0][0])
        raise MotionError(
            f"{name} has {int(bad.sum())} non-finite values (NaN/inf), first at frame {frame}",
            source,
        )
    return arr


def check_frames(n_frames: int, source: str | None) -> None:
    if n_frames < MIN_FRAMES:
        raise MotionError(f"a motion needs at least {MIN_FRAMES} frames, got {n_frames}", source)


def check_quats(name: str, q: np.ndarray, source: str | None) -> np.ndarray:
    """Renormalised unit quaternions; error when a norm is off by more than the tolerance."""
    norm = np.linalg.norm(q, axis=-1)
    bad = np.abs(norm - 1.0) > QUAT_NORM_TOLERANCE
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise MotionError(
            f"{name} holds {int(bad.sum())} quaternions that are not unit length "
            f"(|q| = {norm[first]:.4g} at index {first}; tolerance {QUAT_NORM_TOLERANCE})",
            source,
        )
    return q / norm[..., None]


def resample_times(n_frames: int, fps: float, new_fps: float) -> tuple[np.ndarray, np.ndarray]:
    """For each new frame: index of the earlier source frame and interpolation weight."""
    duration = (n_frames - 1) / fps
    n_new = int(np.floor(duration * new_fps + 1e-9)) + 1
    t = np.arange(n_new) / new_fps * fps  # in source frames
    i0 = np.clip(np.floor(t).astype(int), 0, n_frames - 1)
    i1 = np.minimum(i0 + 1, n_frames - 1)
    return i0, np.where(i1 > i0, t - i0, 0.0)


class FrameSeries:
    """Frame bookkeeping shared by the motion types: length, timing, slicing, resampling.

    Subclasses are dataclasses with ``fps``, ``source`` and a ``replace(**fields)`` method, and
    list their per-frame array fields in ``_POSITION_FIELDS`` (linearly interpolated) and
    ``_ROTATION_FIELDS`` (slerped quaternions).
    """

    _POSITION_FIELDS: tuple[str, ...] = ()
    _ROTATION_FIELDS: tuple[str, ...] = ()
    fps: float
    source: str | None

    @property
    def n_frames(self) -> int:
        return getattr(self, self._POSITION_FIELDS[0]).shape[0]

    def __len__(self) -> int:
        return self.n_frames

    @property
    def dt(self) -> float:
        return 1.0 / self.fps

    @property
    def duration(self) -> float:
        """Seconds from the first to the last frame."""
        return (self.n_frames - 1) / self.fps

    def __getitem__(self, index: slice):
        """Frames ``index`` (a slice with step >= 1) as a new motion at the matching fps."""
        if not isinstance(index, slice):
            raise TypeError(f"{type(self).__name__} supports slicing only, e.g. motion[10:200]")
        start, stop, step = index.indices(self.n_frames)
        if step < 1:
            raise ValueError(f"slice step must be >= 1, got {step}")
        sl = slice(start, stop, step)
        fields = self._POSITION_FIELDS + self._ROTATION_FIELDS
        return self.replace(fps=self.fps / step, **{f: getattr(self, f)[sl] for f in fields})

    def concat(self, other):
        """This motion followed by ``other`` (same type, joints and rate) as one motion."""
        if type(other) is not type(self):
            raise TypeError(f"cannot join a {type(self).__name__} and a {type(other).__name__}")
        if not math.isclose(self.fps, other.fps):
            raise MotionError(f"cannot join motions at {self.fps:g} and {other.fps:g} fps",
                              other.source)  # fmt: skip
        if getattr(self, "joint_names", None) != getattr(other, "joint_names", None):
            raise MotionError("cannot join motions on different joints", other.source)
        fields = self._POSITION_FIELDS + self._ROTATION_FIELDS
        return self.replace(
            **{f: np.concatenate([getattr(self, f), getattr(other, f)]) for f in fields}
        )

    def resample(self, fps: float):
        """The same motion at another frame rate: linear for positions, slerp for rotations."""
        from nmr_gym import rotations as rot

        fps = check_fps(fps, self.source)
        if fps == self.fps:
            return self
        i0, w = resample_times(self.n_frames, self.fps, fps)
        i1 = np.minimum(i0 + 1, self.n_frames - 1)
        new = {}
        for f in self._POSITION_FIELDS:
            a = getattr(self, f)
            wb = w.reshape((-1,) + (1,) * (a.ndim - 1))
            new[f] = a[i0] + (a[i1] - a[i0]) * wb
        for f in self._ROTATION_FIELDS:
            q = getattr(self, f)
            new[f] = rot.slerp(q[i0], q[i1], w.reshape((-1,) + (1,) * (q.ndim - 2)))
        return self.replace(fps=fps, **new)
