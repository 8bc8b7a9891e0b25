"""Readers and writers for every motion format nmr-gym exchanges.

- Robot motion (G1): :func:`load_robot_motion` / :func:`save_robot_motion`
  (``nmr_gym.io.robot_formats``: BeyondMimic/mjlab npz, Unitree CSV, GMR pickle, nmr npz).
- Human motion: :func:`load_human_motion` (``nmr_gym.io.human_formats``: AMASS npz, BVH,
  joint-position arrays), onto the canonical SMPL skeleton.
- :func:`load_motion`: either kind, decided from the file's content.
"""

from __future__ import annotations

from nmr_gym.io.atomic import atomic_path, write_text_atomic


def load_robot_motion(path, format=None, *, trusted=False, **kwargs):  # noqa: A002
    from nmr_gym.io.robot_formats import load_robot_motion as _load

    return _load(path, format=format, trusted=trusted, **kwargs)


def save_robot_motion(motion, path, format=None, **kwargs):  # noqa: A002
    from nmr_gym.io.robot_formats import save_robot_motion as _save

    return _save(motion, path, format=format, **kwargs)


def load_human_motion(path, format=None, **kwargs):  # noqa: A002
    from nmr_gym.io.human_formats import load_human_motion as _load

    return _load(path, format=format, **kwargs)


def load_motion(path, *, trusted=False, **kwargs):
    """A ``RobotMotion`` or a ``HumanMotion``, whichever the file holds."""
    from nmr_gym.io.detect import load_motion as _load

    return _load(path, trusted=trusted, **kwargs)


__all__ = [
    "atomic_path",
    "load_human_motion",
    "load_motion",
    "load_robot_motion",
    "save_robot_motion",
    "write_text_atomic",
]
