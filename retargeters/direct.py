"""The ``direct`` retargeter: the naive baseline and lower bound of the leaderboards.

No IK, no scaling: each G1 joint chain copies the human's rotation between the two matching
segments, decomposed into the chain's hinge axes (an Euler decomposition in the G1's axis order),
and the root copies the pelvis. Concretely, for a chain such as the left hip (pitch, roll, yaw)
between the pelvis and the thigh:

1. Human segment orientations are expressed in G1 link convention, q_link = q_human ⊗ q_off,
   with q_off = q_rest^-1 ⊗ q_link(G1 T-pose): the human rest T-pose maps onto the G1 with
   zero joints, shoulder roll ±π/2 and straight elbows (the same alignment as the gmr ``smpl``
   table).
2. The chain's relative rotation R = R_parent^T R_child is written as
   F1 R_a1(θ1) F2 R_a2(θ2) F3 R_a3(θ3) from the model's body frames F and hinge axes a, i.e.
   F1^-1 R (F2 F3)^-1 = R_a1(θ1) R_b(θ2) R_c(θ3) with b = F2 a2, c = F2 F3 a3.
3. a1, b, c are snapped to the nearest coordinate axes ("nearest G1 joint axes": the G1's hip
   links are tilted 10°), the product is decomposed with scipy's intrinsic Euler angles, chains
   with fewer than three hinges keep their leading angles, and every joint is clipped to range.

Ground alignment (optional, on by default) puts the lowest collision point at z = 0
(:func:`retargeters.common.ground_offset`, as ``gmr-safe``), so floors are comparable.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from nmr_gym import rotations as rot
from nmr_gym.errors import MotionError, UnknownNameError
from nmr_gym.g1 import joint_ranges, kinematic_model, spec
from nmr_gym.motion import HumanMotion, RobotMotion
from nmr_gym.skeleton import REST_QUAT_FACING_X
from retargeters.base import Retargeter, register
from retargeters.common import carried_metadata, check_fps_option, ground_offset

#: (parent G1 link, parent human joint, child G1 link, child human joint, hinge joints in
#: chain order). The G1 has no collar: the shoulder chain is measured from spine3.
CHAINS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = tuple(
    chain
    for side in ("left", "right")
    for chain in (
        (
            "pelvis",
            "pelvis",
            f"{side}_hip_yaw_link",
            f"{side}_hip",
            tuple(f"{side}_hip_{j}_joint" for j in ("pitch", "roll", "yaw")),
        ),
        (
            f"{side}_hip_yaw_link",
            f"{side}_hip",
            f"{side}_knee_link",
            f"{side}_knee",
            (f"{side}_knee_joint",),
        ),
        (
            f"{side}_knee_link",
            f"{side}_knee",
            f"{side}_ankle_roll_link",
            f"{side}_ankle",
            (f"{side}_ankle_pitch_joint", f"{side}_ankle_roll_joint"),
        ),
        (
            "torso_link",
            "spine3",
            f"{side}_shoulder_yaw_link",
            f"{side}_shoulder",
            tuple(f"{side}_shoulder_{j}_joint" for j in ("pitch", "roll", "yaw")),
        ),
        (
            f"{side}_shoulder_yaw_link",
            f"{side}_shoulder",
            f"{side}_elbow_link",
            f"{side}_elbow",
            (f"{side}_elbow_joint",),
        ),
        (
            f"{side}_elbow_link",
            f"{side}_elbow",
            f"{side}_wrist_yaw_link",
            f"{side}_wrist",
            tuple(f"{side}_wrist_{j}_joint" for j in ("roll", "pitch", "yaw")),
        ),
    )
) + (
    (
        "pelvis",
        "pelvis",
        "torso_link",
        "spine3",
        ("waist_yaw_joint", "waist_roll_joint", "waist_pitch_joint"),
    ),
)

#: Joint positions [rad] of the G1 pose that the human rest T-pose maps onto.
T_POSE_JOINTS = {
    "left_shoulder_roll_joint": np.pi / 2,
    "right_shoulder_roll_joint": -np.pi / 2,
    "left_elbow_joint": np.pi / 2,
    "right_elbow_joint": np.pi / 2,
}
_AXES = "XYZ"


@dataclass(frozen=True)
class _Chain:
    parent_human: str
    child_human: str
    joints: np.ndarray  # indices into the 29 joints
    pre: Rotation  # F1^-1 and the G1 T-pose alignment of the parent
    post: Rotation  # (F2 F3 ...)^-1 and the alignment of the child
    parent_off: np.ndarray  # (4,) wxyz
    child_off: np.ndarray
    sequence: str  # intrinsic Euler sequence, e.g. "YXZ"
    signs: np.ndarray  # (n_joints,) +-1 for axes snapped to a negative coordinate axis


def _tpose_link_quats(model: mujoco.MjModel) -> dict[str, np.ndarray]:
    data = mujoco.MjData(model)
    data.qpos[3] = 1.0
    for name, value in T_POSE_JOINTS.items():
        data.qpos[7 + spec.joint_index(name)] = value
    mujoco.mj_kinematics(model, data)
    return {spec.BODY_NAMES[i]: data.xquat[i + 1].copy() for i in range(spec.NUM_BODIES)}


def _snap(axis: np.ndarray) -> tuple[str, float]:
    k = int(np.argmax(np.abs(axis)))
    return _AXES[k], float(np.sign(axis[k]))


def _build_chain(model: mujoco.MjModel, tpose: dict[str, np.ndarray], chain) -> _Chain:
    parent_link, parent_human, child_link, child_human, joints = chain
    rest_inv = rot.conjugate(REST_QUAT_FACING_X)
    # Fixed body rotations F_k and hinge axes a_k of the chain's bodies (one hinge each).
    bodies = [model.joint(j).bodyid[0] for j in joints]
    child_id = model.body(child_link).id
    fixed = [Rotation.from_quat(rot.wxyz_to_xyzw(model.body_quat[b])) for b in bodies]
    # Bodies between the last hinge and the child link (e.g. torso_link after waist_pitch).
    tail = Rotation.identity()
    b = child_id
    while b != bodies[-1]:
        tail = Rotation.from_quat(rot.wxyz_to_xyzw(model.body_quat[b])) * tail
        b = model.body_parentid[b]
    axes = [model.jnt_axis[model.joint(j).id] for j in joints]
    acc = Rotation.identity()  # F2 F3 ... accumulated
    seq, signs = "", []
    for k, a in enumerate(axes):
        if k > 0:
            acc = acc * fixed[k]
        letter, sign = _snap(acc.apply(a))
        seq += letter
        signs.append(sign)
    seq += "".join(c for c in _AXES if c not in seq)  # complete 1- and 2-hinge chains
    return _Chain(
        parent_human=parent_human,
        child_human=child_human,
        joints=np.array([spec.joint_index(j) for j in joints]),
        pre=fixed[0].inv(),
        post=(acc * tail).inv(),
        parent_off=rot.multiply(rest_inv, tpose[parent_link]),
        child_off=rot.multiply(rest_inv, tpose[child_link]),
        sequence=seq,
        signs=np.array(signs),
    )


@register("direct")
class DirectRetargeter(Retargeter):
    """Copy human segment rotations onto the G1's hinge axes; root from the pelvis.

    Options:
        ground_align: shift the clip so its lowest collision point touches z = 0.
        fps: resample the human motion to this rate first; None keeps the input rate.
    """

    def __init__(self, *, ground_align: bool = True, fps: float | None = None):
        self.ground_align = bool(ground_align)
        self.fps = check_fps_option(fps)
        model = kinematic_model()
        tpose = _tpose_link_quats(model)
        self._chains = [_build_chain(model, tpose, c) for c in CHAINS]
        self._root_off = rot.multiply(rot.conjugate(REST_QUAT_FACING_X), tpose["pelvis"])
        self._ranges = joint_ranges(model)

    def options(self) -> dict[str, Any]:
        return {"ground_align": self.ground_align, "fps": self.fps}

    def retarget(self, human: HumanMotion) -> RobotMotion:
        if self.fps is not None:
            human = human.resample(self.fps)
        try:
            pelvis_pos, pelvis_quat = human.joint("pelvis")
        except UnknownNameError as exc:
            raise MotionError(
                f"direct needs the canonical SMPL joints ({exc})", human.source
            ) from None
        joint_pos = np.zeros((human.n_frames, spec.NUM_JOINTS))
        for chain in self._chains:
            try:
                qp = rot.multiply(human.joint(chain.parent_human)[1], chain.parent_off)
                qc = rot.multiply(human.joint(chain.child_human)[1], chain.child_off)
            except UnknownNameError as exc:
                raise MotionError(
                    f"direct needs the canonical SMPL joints ({exc})", human.source
                ) from None
            rel = Rotation.from_quat(rot.wxyz_to_xyzw(rot.multiply(rot.conjugate(qp), qc)))
            with warnings.catch_warnings():  # gimbal lock is part of this naive baseline
                warnings.simplefilter("ignore", UserWarning)
                euler = (chain.pre * rel * chain.post).as_euler(chain.sequence)
            joint_pos[:, chain.joints] = euler[:, : len(chain.joints)] * chain.signs
        joint_pos = np.clip(joint_pos, self._ranges[:, 0], self._ranges[:, 1])
        root_quat = rot.multiply(pelvis_quat, self._root_off)
        qpos = np.concatenate([pelvis_pos, root_quat, joint_pos], axis=1)
        shift = ground_offset(qpos) if self.ground_align else 0.0
        qpos[:, 2] += shift
        metadata = carried_metadata(
            human, retargeter=self.name, options=self.options(), ground_shift_m=shift
        )
        return RobotMotion.from_qpos(qpos, human.fps, source=human.source, metadata=metadata)
