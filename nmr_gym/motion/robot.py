"""``RobotMotion``: the one G1 reference-motion type every retargeter, metric and env uses."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import mujoco
import numpy as np

from nmr_gym import rotations as rot
from nmr_gym.errors import MotionError
from nmr_gym.g1 import spec
from nmr_gym.g1.model import kinematics_per_frame
from nmr_gym.motion import _validate as v


@dataclass(eq=False)
class RobotMotion(v.FrameSeries):
    """A G1 motion: floating base plus 29 joint positions, sampled at ``fps``.

    Attributes:
        fps: frames per second (> 0).
        root_pos: (T, 3) pelvis position [m], world frame, z up.
        root_quat: (T, 4) pelvis orientation, wxyz, world frame (unit, sign-continuous).
        joint_pos: (T, 29) joint positions [rad] in ``spec.JOINT_NAMES`` order.
        source: where it came from (a file path or a description), used in messages.
        metadata: free-form facts (format, retargeter, options, ...).

    Derived quantities (body poses and velocities) are computed on demand with MuJoCo forward
    kinematics on the reference G1 and cached.
    """

    _POSITION_FIELDS = ("root_pos", "joint_pos")
    _ROTATION_FIELDS = ("root_quat",)

    fps: float
    root_pos: np.ndarray
    root_quat: np.ndarray
    joint_pos: np.ndarray
    source: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        src = self.source
        self.fps = v.check_fps(self.fps, src)
        self.root_pos = v.check_array("root_pos", self.root_pos, (None, 3), src)
        n = self.root_pos.shape[0]
        v.check_frames(n, src)
        self.root_quat = v.check_array("root_quat", self.root_quat, (n, 4), src)
        self.root_quat = rot.make_continuous(v.check_quats("root_quat", self.root_quat, src))
        self.joint_pos = v.check_array("joint_pos", self.joint_pos, (n, spec.NUM_JOINTS), src)

    # ----------------------------------------------------------------------------- basics
    @property
    def qpos(self) -> np.ndarray:
        """MuJoCo generalised positions (T, 36): root xyz, root wxyz, 29 joints."""
        return np.concatenate([self.root_pos, self.root_quat, self.joint_pos], axis=1)

    @classmethod
    def from_qpos(cls, qpos: np.ndarray, fps: float, **kwargs: Any) -> RobotMotion:
        qpos = np.asarray(qpos, dtype=float)
        if qpos.ndim != 2 or qpos.shape[1] != 7 + spec.NUM_JOINTS:
            raise MotionError(
                f"qpos has shape {qpos.shape}, expected (T, 36)", kwargs.get("source")
            )
        return cls(fps, qpos[:, :3], qpos[:, 3:7], qpos[:, 7:], **kwargs)

    def replace(self, **changes: Any) -> RobotMotion:
        """A copy with some fields replaced (validated again)."""
        fields = dict(
            fps=self.fps,
            root_pos=self.root_pos,
            root_quat=self.root_quat,
            joint_pos=self.joint_pos,
            source=self.source,
            metadata=dict(self.metadata),
        )
        fields.update(changes)
        return RobotMotion(**fields)

    # ------------------------------------------------------------------- derived quantities
    @functools.cached_property
    def joint_vel(self) -> np.ndarray:
        """(T, 29) joint velocities [rad/s], central differences."""
        return np.gradient(self.joint_pos, self.dt, axis=0)

    @functools.cached_property
    def root_lin_vel_w(self) -> np.ndarray:
        """(T, 3) pelvis linear velocity [m/s], world frame."""
        return np.gradient(self.root_pos, self.dt, axis=0)

    @functools.cached_property
    def root_ang_vel_w(self) -> np.ndarray:
        """(T, 3) pelvis angular velocity [rad/s], world frame."""
        return rot.angular_velocity(self.root_quat, self.dt)

    @property
    def qvel(self) -> np.ndarray:
        """MuJoCo generalised velocities (T, 35); the free joint's angular part is local."""
        ang_local = rot.rotate_inverse(self.root_quat, self.root_ang_vel_w)
        return np.concatenate([self.root_lin_vel_w, ang_local, self.joint_vel], axis=1)

    @functools.cached_property
    def _fk(self) -> tuple[np.ndarray, np.ndarray]:
        from nmr_gym.g1.model import kinematic_model

        return forward_kinematics(kinematic_model(), self.qpos)

    @property
    def body_pos_w(self) -> np.ndarray:
        """(T, 30, 3) body origins [m], world frame, ``spec.BODY_NAMES`` order."""
        return self._fk[0]

    @property
    def body_quat_w(self) -> np.ndarray:
        """(T, 30, 4) body orientations (wxyz), world frame."""
        return self._fk[1]

    @functools.cached_property
    def body_lin_vel_w(self) -> np.ndarray:
        """(T, 30, 3) body-origin linear velocities [m/s], world frame."""
        return np.gradient(self.body_pos_w, self.dt, axis=0)

    @functools.cached_property
    def body_ang_vel_w(self) -> np.ndarray:
        """(T, 30, 3) body angular velocities [rad/s], world frame."""
        # body_quat_w is sign-continuous already (forward_kinematics returns it so)
        return rot.angular_velocity(self.body_quat_w, self.dt, continuous=True)

    def body(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Position (T, 3) and orientation (T, 4) of one body by name."""
        i = spec.body_index(name)
        return self.body_pos_w[:, i], self.body_quat_w[:, i]

    def __repr__(self) -> str:
        return (
            f"RobotMotion(frames={self.n_frames}, fps={self.fps:g}, "
            f"duration={self.duration:.2f}s, source={self.source!r})"
        )


def forward_kinematics(model: mujoco.MjModel, qpos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Body positions (T, B, 3) and orientations (T, B, 4) of ``qpos`` (T, nq), world excluded.

    One ``mj_kinematics`` per frame (:func:`nmr_gym.g1.model.kinematics_per_frame`).
    """
    pos, quat = kinematics_per_frame(model, qpos, "xpos", "xquat")  # (T, nbody, ...)
    pos, quat = np.ascontiguousarray(pos[:, 1:]), np.ascontiguousarray(quat[:, 1:])
    return pos, rot.make_continuous(quat, axis=0)


__all__ = ["RobotMotion", "forward_kinematics"]
