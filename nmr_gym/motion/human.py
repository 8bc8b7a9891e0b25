"""``HumanMotion``: global joint positions and orientations of a named human skeleton."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nmr_gym import rotations as rot
from nmr_gym.errors import MotionError, UnknownNameError
from nmr_gym.motion import _validate as v
from nmr_gym.skeleton import SMPL_JOINT_NAMES


@dataclass(eq=False)
class HumanMotion(v.FrameSeries):
    """A human motion in nmr-gym's conventions (see :mod:`nmr_gym.skeleton`).

    Attributes:
        fps: frames per second (> 0).
        joint_names: J joint names; loaders map every source onto SMPL's 24 canonical names
            (``nmr_gym.skeleton.SMPL_JOINT_NAMES``) so retargeters see one skeleton.
        joint_pos: (T, J, 3) global joint positions [m], world z up, floor at z = 0.
        joint_quat: (T, J, 4) global joint orientations (wxyz) in SMPL's joint-frame convention
            (T-pose facing +x = (0.5, 0.5, 0.5, 0.5)); for position-only sources they are
            estimated and ``metadata["orientations_estimated"]`` is True.
        height: body height [m].
        source: file path or description, used in messages.
        metadata: format, skeleton, betas, gender, complexity/length class, ...
    """

    _POSITION_FIELDS = ("joint_pos",)
    _ROTATION_FIELDS = ("joint_quat",)

    fps: float
    joint_names: tuple[str, ...]
    joint_pos: np.ndarray
    joint_quat: np.ndarray
    height: float
    source: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        src = self.source
        self.fps = v.check_fps(self.fps, src)
        self.joint_names = tuple(self.joint_names)
        j = len(self.joint_names)
        if j == 0 or len(set(self.joint_names)) != j:
            raise MotionError("joint_names must be non-empty and unique", src)
        self.joint_pos = v.check_array("joint_pos", self.joint_pos, (None, j, 3), src)
        n = self.joint_pos.shape[0]
        v.check_frames(n, src)
        self.joint_quat = v.check_array("joint_quat", self.joint_quat, (n, j, 4), src)
        self.joint_quat = rot.make_continuous(v.check_quats("joint_quat", self.joint_quat, src))
        try:
            self.height = float(self.height)
        except (TypeError, ValueError):
            raise MotionError(f"height must be a number, got {self.height!r}", src) from None
        if not np.isfinite(self.height) or not 0.5 <= self.height <= 2.5:
            raise MotionError(f"height must be in [0.5, 2.5] m, got {self.height}", src)

    @property
    def is_canonical(self) -> bool:
        return self.joint_names == SMPL_JOINT_NAMES

    def index(self, name: str) -> int:
        try:
            return self.joint_names.index(name)
        except ValueError:
            raise UnknownNameError("human joint", name, self.joint_names) from None

    def joint(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Position (T, 3) and orientation (T, 4) of one joint by name."""
        i = self.index(name)
        return self.joint_pos[:, i], self.joint_quat[:, i]

    def replace(self, **changes: Any) -> HumanMotion:
        fields = dict(
            fps=self.fps,
            joint_names=self.joint_names,
            joint_pos=self.joint_pos,
            joint_quat=self.joint_quat,
            height=self.height,
            source=self.source,
            metadata=dict(self.metadata),
        )
        fields.update(changes)
        return HumanMotion(**fields)

    def __repr__(self) -> str:
        return (
            f"HumanMotion(frames={self.n_frames}, fps={self.fps:g}, joints={len(self.joint_names)}"
            f", height={self.height:.2f}m, source={self.source!r})"
        )


__all__ = ["HumanMotion"]
