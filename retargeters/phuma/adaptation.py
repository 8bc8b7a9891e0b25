"""Shape and scale adaptation: which human joint drives which G1 point, and how much to scale.

The keypoint table maps SMPL's canonical joints (``nmr_gym.skeleton``) to points on the G1
(a body origin plus an offset in that body's frame). Consecutive keypoints form *bones*; each
bone belongs to a *scale group*, shared by the left and right side (symmetry). Adaptation
scales every human bone vector by its group's factor ``s0 = G1 length / human length`` (lengths
measured on the G1 T-pose and as the median over the clip's frames for the human), and the
pelvis trajectory by the leg-length ratio, so the adapted human has the G1's proportions. The
optimisation then multiplies ``s0`` by learnable factors regularised towards one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import mujoco
import numpy as np

from nmr_gym import rotations as rot
from nmr_gym.g1 import kinematic_model, spec
from nmr_gym.motion import HumanMotion
from nmr_gym.motion.robot import forward_kinematics
from nmr_gym.skeleton import REST_QUAT_FACING_X, SMPL_JOINT_NAMES
from retargeters.phuma.contacts import ANKLE_HEIGHT_FRACTION

#: Keypoint table: (SMPL joint, G1 body, offset [m] in the G1 body frame, parent keypoint,
#: scale group of the bone parent -> this keypoint). Body origins sit on the joint axes
#: (hip_roll_link: hip centre; knee_link; ankle_roll_link: ankle centre; shoulder_roll_link:
#: shoulder centre; elbow_link; wrist_yaw_link: wrist centre). Offsets where no body origin fits:
#: - pelvis: 6 cm below the G1 pelvis origin, so the pelvis->hip bones slope down as SMPL's do;
#: - spine3 / head: 15 cm / 40 cm above the torso_link origin (chest; centre of the head mesh);
#: - foot (SMPL's ball of the foot): 10 cm forward and 4 cm below the ankle, so the ankle->ball
#:   direction of a flat G1 foot (22 deg below horizontal) matches SMPL's;
#: - hand: 10 cm beyond the wrist centre, at the palm of the G1 hand (part of wrist_yaw_link).
KEYPOINTS: tuple[tuple[str, str, tuple[float, float, float], str | None, str | None], ...] = (
    ("pelvis", "pelvis", (0.0, 0.0, -0.06), None, None),
    ("left_hip", "left_hip_roll_link", (0.0, 0.0, 0.0), "pelvis", "pelvis_hip"),
    ("right_hip", "right_hip_roll_link", (0.0, 0.0, 0.0), "pelvis", "pelvis_hip"),
    ("left_knee", "left_knee_link", (0.0, 0.0, 0.0), "left_hip", "thigh"),
    ("right_knee", "right_knee_link", (0.0, 0.0, 0.0), "right_hip", "thigh"),
    ("left_ankle", "left_ankle_roll_link", (0.0, 0.0, 0.0), "left_knee", "shank"),
    ("right_ankle", "right_ankle_roll_link", (0.0, 0.0, 0.0), "right_knee", "shank"),
    ("left_foot", "left_ankle_roll_link", (0.10, 0.0, -0.04), "left_ankle", "foot"),
    ("right_foot", "right_ankle_roll_link", (0.10, 0.0, -0.04), "right_ankle", "foot"),
    ("spine3", "torso_link", (0.0, 0.0, 0.15), "pelvis", "spine"),
    ("head", "torso_link", (0.0, 0.0, 0.40), "spine3", "neck"),
    ("left_shoulder", "left_shoulder_roll_link", (0.0, 0.0, 0.0), "spine3", "clavicle"),
    ("right_shoulder", "right_shoulder_roll_link", (0.0, 0.0, 0.0), "spine3", "clavicle"),
    ("left_elbow", "left_elbow_link", (0.0, 0.0, 0.0), "left_shoulder", "upper_arm"),
    ("right_elbow", "right_elbow_link", (0.0, 0.0, 0.0), "right_shoulder", "upper_arm"),
    ("left_wrist", "left_wrist_yaw_link", (0.0, 0.0, 0.0), "left_elbow", "forearm"),
    ("right_wrist", "right_wrist_yaw_link", (0.0, 0.0, 0.0), "right_elbow", "forearm"),
    ("left_hand", "left_wrist_yaw_link", (0.10, 0.0, 0.0), "left_wrist", "hand"),
    ("right_hand", "right_wrist_yaw_link", (0.10, 0.0, 0.0), "right_wrist", "hand"),
)
KEYPOINT_NAMES = tuple(k[0] for k in KEYPOINTS)
#: Scale groups in order; left and right bones share one group (symmetry).
SCALE_GROUPS: tuple[str, ...] = tuple(dict.fromkeys(k[4] for k in KEYPOINTS if k[4]))

#: Rotation from SMPL's pelvis joint frame (x left, y up, z forward) to the G1 pelvis frame
#: (x forward, y left, z up): G1 pelvis = human pelvis ⊗ this (identity for a T-pose facing +x).
PELVIS_FRAME_OFFSET = rot.conjugate(REST_QUAT_FACING_X)

#: G1 pose that matches SMPL's rest T-pose (arms straight out sideways, palms down), [rad].
T_POSE_JOINT_POS = np.zeros(spec.NUM_JOINTS)
for _side, _sign in (("left", 1.0), ("right", -1.0)):
    T_POSE_JOINT_POS[spec.JOINT_NAMES.index(f"{_side}_shoulder_roll_joint")] = _sign * np.pi / 2
    T_POSE_JOINT_POS[spec.JOINT_NAMES.index(f"{_side}_elbow_joint")] = np.pi / 2

#: The G1's range is shrunk about its centre to this fraction for the hinge and the final clip.
RANGE_FRACTION = 0.98

# Velocity limits [rad/s] of the G1's motors, from Unitree's G1 29-DoF URDF (unitree_ros,
# ``<limit velocity=...>``): 7520-14 motors 32, 7520-22 motors 20, 5020 motors 37, 4010 motors 22.
_VEL_BY_KIND = {"7520-14": 32.0, "7520-22": 20.0, "2x5020": 37.0, "5020": 37.0, "4010": 22.0}
#: Per-joint velocity limit [rad/s], (29,).
VELOCITY_LIMIT = np.array([_VEL_BY_KIND[spec._joint_kind(j)] for j in spec.JOINT_NAMES])


def range_98(model: mujoco.MjModel | None = None, fraction: float = RANGE_FRACTION) -> np.ndarray:
    """Joint ranges (29, 2) [rad] shrunk about their centres to ``fraction`` of their width."""
    model = kinematic_model() if model is None else model
    r = np.array(model.jnt_range[1:], dtype=float)
    mid, half = r.mean(axis=1), 0.5 * (r[:, 1] - r[:, 0]) * fraction
    return np.stack([mid - half, mid + half], axis=1)


@dataclass(frozen=True)
class KeypointLayout:
    """Index arrays of the keypoint table, for vectorised use."""

    human_index: np.ndarray  # (K,) SMPL joint index of each keypoint
    body_index: np.ndarray  # (K,) G1 body index (0..29) of each keypoint
    offset: np.ndarray  # (K, 3) offset in the G1 body frame [m]
    bone_parent: np.ndarray  # (NB,) parent keypoint of each bone (bone i ends at keypoint i+1)
    bone_child: np.ndarray  # (NB,) child keypoint of each bone
    bone_group: np.ndarray  # (NB,) scale group index of each bone
    ancestry: np.ndarray  # (K, NB) 1 where a bone lies on the path pelvis -> keypoint


@functools.lru_cache(maxsize=1)
def layout() -> KeypointLayout:
    names = KEYPOINT_NAMES
    child = np.arange(1, len(KEYPOINTS))
    parent = np.array([names.index(k[3]) for k in KEYPOINTS[1:]])
    group = np.array([SCALE_GROUPS.index(k[4]) for k in KEYPOINTS[1:]])
    ancestry = np.zeros((len(names), len(child)))
    for k in range(1, len(names)):
        node = k
        while node != 0:
            ancestry[k, node - 1] = 1.0
            node = parent[node - 1]
    return KeypointLayout(
        human_index=np.array([SMPL_JOINT_NAMES.index(k[0]) for k in KEYPOINTS]),
        body_index=np.array([spec.BODY_NAMES.index(k[1]) for k in KEYPOINTS]),
        offset=np.array([k[2] for k in KEYPOINTS], dtype=float),
        bone_parent=parent,
        bone_child=child,
        bone_group=group,
        ancestry=ancestry,
    )


def keypoints_from_fk(body_pos: np.ndarray, body_quat: np.ndarray) -> np.ndarray:
    """G1 keypoints (T, K, 3) [m] from body positions (T, 30, 3) and orientations (T, 30, 4)."""
    lay = layout()
    return body_pos[:, lay.body_index] + rot.rotate(body_quat[:, lay.body_index], lay.offset)


@functools.lru_cache(maxsize=1)
def g1_tpose_keypoints() -> np.ndarray:
    """G1 keypoints (K, 3) [m] in :data:`T_POSE_JOINT_POS`, pelvis at the origin, identity."""
    qpos = np.concatenate([np.zeros(3), rot.IDENTITY_WXYZ, T_POSE_JOINT_POS])[None]
    pos, quat = forward_kinematics(kinematic_model(), qpos)
    return keypoints_from_fk(pos, quat)[0]


def _group_lengths(kp: np.ndarray) -> np.ndarray:
    """Mean bone length per scale group (G,) of keypoints (..., K, 3), median over frames."""
    lay = layout()
    length = np.linalg.norm(kp[..., lay.bone_child, :] - kp[..., lay.bone_parent, :], axis=-1)
    if length.ndim == 2:
        length = np.median(length, axis=0)
    return np.array([length[lay.bone_group == g].mean() for g in range(len(SCALE_GROUPS))])


#: SMPL's pelvis joint above the hip-joint centres, fraction of body height (as in
#: nmr_gym.skeleton's built-in skeleton).
PELVIS_DROP_FRACTION = 0.040


@functools.lru_cache(maxsize=1)
def g1_standing_pelvis_height() -> float:
    """Height [m] of the G1 pelvis keypoint above the soles with straight legs (zero pose)."""
    qpos = np.concatenate([np.zeros(3), rot.IDENTITY_WXYZ, np.zeros(spec.NUM_JOINTS)])[None]
    pos, quat = forward_kinematics(kinematic_model(), qpos)
    body, centre, radius, _ = foot_contact_spheres()
    sole = (pos[0, body] + rot.rotate(quat[0, body], centre))[:, 2] - radius
    return float(keypoints_from_fk(pos, quat)[0, 0, 2] - sole.min())


@dataclass(frozen=True)
class Adaptation:
    """The human keypoints and the factors that give them the G1's proportions."""

    human_keypoints: np.ndarray  # (T, K, 3) [m] raw human keypoints, world
    group_scale: np.ndarray  # (G,) s0 = G1 bone length / human bone length per scale group
    root_scale: np.ndarray  # (3,) pelvis trajectory scale: xy by leg length, z by pelvis height
    root_quat: np.ndarray  # (T, 4) G1 pelvis orientation from the human pelvis (wxyz)

    def scaled_keypoints(self, multipliers: np.ndarray | None = None) -> np.ndarray:
        """Adapted human keypoints (T, K, 3): scaled pelvis trajectory plus scaled bones."""
        lay = layout()
        s = self.group_scale * (1.0 if multipliers is None else multipliers)
        hk = self.human_keypoints
        bones = (hk[:, lay.bone_child] - hk[:, lay.bone_parent]) * s[lay.bone_group, None]
        root = self.root_scale * hk[:, :1]  # (T, 1, 3)
        return root + np.einsum("kb,tbd->tkd", lay.ancestry, bones)


def adapt(human: HumanMotion) -> Adaptation:
    """Human keypoints, per-group scales and root orientation for the G1 (see module doc)."""
    if not human.is_canonical:
        raise ValueError(
            f"{human.source}: the phuma retargeter needs SMPL's 24 canonical joints, got "
            f"{len(human.joint_names)} joints"
        )
    lay = layout()
    hk = human.joint_pos[:, lay.human_index]
    g1_len = _group_lengths(g1_tpose_keypoints())
    human_len = _group_lengths(hk)
    group_scale = g1_len / np.maximum(human_len, 1e-3)
    leg = [SCALE_GROUPS.index("thigh"), SCALE_GROUPS.index("shank")]
    xy_scale = g1_len[leg].sum() / max(human_len[leg].sum(), 1e-3)
    # Standing pelvis height of the human: legs + ankle height + pelvis-joint drop to the hips.
    human_stand = (
        human_len[leg].sum() + (ANKLE_HEIGHT_FRACTION + PELVIS_DROP_FRACTION) * human.height
    )
    z_scale = g1_standing_pelvis_height() / human_stand
    root_scale = np.array([xy_scale, xy_scale, z_scale])
    pelvis_quat = human.joint_quat[:, SMPL_JOINT_NAMES.index("pelvis")]
    root_quat = rot.make_continuous(rot.multiply(pelvis_quat, PELVIS_FRAME_OFFSET))
    return Adaptation(hk, group_scale, root_scale, root_quat)


@functools.lru_cache(maxsize=1)
def foot_contact_spheres() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The G1's foot collision spheres, read from the model.

    Returns body index (S,), centre in the body frame (S, 3) [m], radius (S,) [m], and the
    point kind (S,): 0 heel (behind the ankle), 1 toe; ordered left foot first.
    """
    model = kinematic_model()
    bodies, centres, radii, kinds = [], [], [], []
    for name in spec.FOOT_BODIES:
        b = spec.body_index(name)
        for g in range(model.ngeom):
            if model.geom_bodyid[g] == b + 1 and model.geom_type[g] == mujoco.mjtGeom.mjGEOM_SPHERE:
                bodies.append(b)
                centres.append(model.geom_pos[g].copy())
                radii.append(float(model.geom_size[g][0]))
                kinds.append(0 if model.geom_pos[g][0] < 0 else 1)
    if len(bodies) != 8:
        raise ValueError(f"expected 8 foot spheres on the G1, found {len(bodies)}")
    return np.array(bodies), np.array(centres), np.array(radii), np.array(kinds)
