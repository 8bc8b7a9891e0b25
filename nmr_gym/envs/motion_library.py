"""Reference motions for tracking, resampled to the control rate and precomputed per frame.

BeyondMimic resamples references to the policy rate; the environment passes its control rate
(model timestep x decimation).

A :class:`MotionLibrary` holds one or more clips concatenated frame-wise; every array is indexed
by a global frame index ``clip_start[c] + t``. Everything the environment needs from the
reference at a frame is computed here once, so a step only indexes rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nmr_gym import rotations as rot
from nmr_gym.errors import MotionError
from nmr_gym.g1 import spec
from nmr_gym.motion import RobotMotion

#: Index of the anchor body (torso_link) inside the 14 tracked bodies.
ANCHOR_IN_TRACKED = spec.TRACKED_BODIES.index(spec.ANCHOR_BODY)
#: Tracked-body indices of the end effectors checked by the end-effector termination.
END_EFFECTORS_IN_TRACKED = np.array(
    [spec.TRACKED_BODIES.index(b) for b in (*spec.FOOT_BODIES, *spec.HAND_BODIES)]
)


class MotionLibrary:
    """Clips resampled to ``fps`` with per-frame reference quantities of the 14 tracked bodies.

    Arrays (N = total frames over all clips, B = 14 tracked bodies):
        joint_pos, joint_vel: (N, 29) [rad], [rad/s]
        command: (N, 58) joint_pos and joint_vel side by side (the observation's first slice)
        root_pos, root_quat, root_lin_vel_w, root_ang_vel_w: (N, 3/4) pelvis state, world frame
        body_pos_w (N, B, 3), body_quat_w (N, B, 4), body_lin_vel_w, body_ang_vel_w (N, B, 3)
        anchor_pos_w (N, 3), anchor_quat_w (N, 4), anchor_mat_w (N, 3, 3)
        body_rel_anchor_w: (N, B, 3) body positions minus the anchor position, world axes
        body_rel_anchor_h: (N, B, 4) the same with a column of ones (homogeneous rows)
        body_vel6_w: (N, B, 6) [ang_vel, lin_vel] of the bodies (MuJoCo's cvel order)
        qpos_all (N, 36), qvel_all (N, 35): MuJoCo states of the frames
        ee_z: (N, 4) heights of feet and hands [m]
    """

    def __init__(self, motions: Sequence[RobotMotion], fps: float):
        if not fps > 0:
            raise MotionError(f"the motion library needs fps > 0 (the control rate), got {fps}")
        if len(motions) == 0:
            raise MotionError("the motion library needs at least one motion")
        self.fps = float(fps)
        self.dt = 1.0 / self.fps
        clips = [m.resample(self.fps) for m in motions]
        self.names = [
            str(m.metadata.get("name") or m.source or f"clip{i}") for i, m in enumerate(motions)
        ]
        self.sources = [m.source for m in motions]
        self.motions = clips
        self.clip_length = np.array([m.n_frames for m in clips], dtype=np.int64)
        self.clip_start = np.concatenate([[0], np.cumsum(self.clip_length)[:-1]]).astype(np.int64)
        tb = spec.TRACKED_BODY_INDICES
        cat = lambda f: np.ascontiguousarray(np.concatenate([f(m) for m in clips]))  # noqa: E731
        self.joint_pos = cat(lambda m: m.joint_pos)
        self.joint_vel = cat(lambda m: m.joint_vel)
        self.command = np.ascontiguousarray(np.concatenate([self.joint_pos, self.joint_vel], 1))
        self.root_pos = cat(lambda m: m.root_pos)
        self.root_quat = cat(lambda m: m.root_quat)
        self.root_lin_vel_w = cat(lambda m: m.root_lin_vel_w)
        self.root_ang_vel_w = cat(lambda m: m.root_ang_vel_w)
        self.body_pos_w = cat(lambda m: m.body_pos_w[:, tb])
        self.body_quat_w = cat(lambda m: m.body_quat_w[:, tb])
        self.body_lin_vel_w = cat(lambda m: m.body_lin_vel_w[:, tb])
        self.body_ang_vel_w = cat(lambda m: m.body_ang_vel_w[:, tb])
        a = ANCHOR_IN_TRACKED
        self.anchor_pos_w = np.ascontiguousarray(self.body_pos_w[:, a])
        self.anchor_quat_w = np.ascontiguousarray(self.body_quat_w[:, a])
        self.anchor_mat_w = np.ascontiguousarray(rot.to_matrix(self.anchor_quat_w))
        self.body_rel_anchor_w = np.ascontiguousarray(
            self.body_pos_w - self.anchor_pos_w[:, None, :]
        )
        self.ee_z = np.ascontiguousarray(self.body_pos_w[:, END_EFFECTORS_IN_TRACKED, 2])
        # Fused layouts for the step's reward: [body_rel_anchor_w, 1] (N, B, 4), so that one
        # matmul applies the re-anchoring rotation and offset; [ang_vel, lin_vel] (N, B, 6), in
        # the order of MuJoCo's cvel rows.
        ones = np.ones((*self.body_rel_anchor_w.shape[:2], 1))
        self.body_rel_anchor_h = np.ascontiguousarray(
            np.concatenate([self.body_rel_anchor_w, ones], 2)
        )
        self.body_vel6_w = np.ascontiguousarray(
            np.concatenate([self.body_ang_vel_w, self.body_lin_vel_w], 2)
        )
        # MuJoCo states per frame (resets copy rows): free-joint angular velocity in the pelvis
        # frame, as MuJoCo's qvel holds it.
        self.qpos_all = np.concatenate([self.root_pos, self.root_quat, self.joint_pos], 1)
        ang_local = rot.rotate_inverse(self.root_quat, self.root_ang_vel_w)
        self.qvel_all = np.concatenate([self.root_lin_vel_w, ang_local, self.joint_vel], 1)

    @property
    def num_clips(self) -> int:
        return len(self.clip_length)

    @property
    def num_frames(self) -> int:
        return int(self.clip_length.sum())

    def frame(self, clip: int, t: int) -> int:
        """Global frame index of frame ``t`` of clip ``clip``."""
        return int(self.clip_start[clip] + t)

    def qpos(self, g: int) -> np.ndarray:
        """MuJoCo qpos (36,) of global frame ``g``."""
        return self.qpos_all[g].copy()

    def qvel(self, g: int) -> np.ndarray:
        """MuJoCo qvel (35,) of global frame ``g`` (free-joint angular part in the pelvis frame)."""
        return self.qvel_all[g].copy()
