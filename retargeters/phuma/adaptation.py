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
from nmr_gym.motion import HumanMotion, forward_kinematics
from nmr_gym.skeleton import (
    ANKLE_HEIGHT_FRACTION,
    REST_QUAT_FACING_X,
    SMPL_JOINT_NAMES,
    SMPL_PARENTS,
)
from retargeters.phuma.contacts import detect_foot_contacts

#: Keypoint table: (SMPL joint, G1 body, offset [m] in the G1 body frame, parent keypoint,
#: scale group of the bone parent -> this keypoint). Body origins sit on the joint axes
#: (hip_roll_link: hip centre; knee_link; ankle_roll_link: ankle centre; shoulder_roll_link:
#: shoulder centre; elbow_link; wrist_yaw_link: wrist centre). Offsets where no body origin fits:
#: - pelvis: 6 cm below the G1 pelvis origin, so the pelvis->hip bones slope down as SMPL's do;
#: - spine3 / head: 15 cm / 40 cm above the torso_link origin (chest; centre of the head mesh);
#: - foot (SMPL's ball of the foot): 10 cm forward and 4 cm below the ankle, so the ankle->ball
#:   direction of a flat G1 foot (21.8 deg below horizontal; the sole spheres are level in
#:   ankle_roll_link) matches SMPL's rest foot (21.8 deg measured in the ankle joint frame on
#:   the built-in skeleton and both AMASS examples; see also :func:`flat_foot_pitch`);
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


def range_98(
    model: mujoco.MjModel | None = None, fraction: float = RANGE_FRACTION, margin: float = 0.0
) -> np.ndarray:
    """Joint ranges (29, 2) [rad] shrunk about their centres to ``fraction`` of their width,
    then by ``margin`` [rad] at each end (at most to the centre)."""
    if not 0.0 < fraction <= 1.0 or margin < 0.0:
        raise ValueError(f"need 0 < range_fraction <= 1 and limit_margin >= 0, got {fraction}, "
                         f"{margin}")  # fmt: skip
    model = kinematic_model() if model is None else model
    r = np.array(model.jnt_range[1:], dtype=float)
    mid, half = r.mean(axis=1), 0.5 * (r[:, 1] - r[:, 0]) * fraction
    half = np.maximum(half - margin, 0.0)
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
    #: (T, 2, 3) unit lateral (left) axis of each human foot, left foot first, world frame:
    #: the target of the G1 sole's lateral axis (``LossWeights.foot_orientation``).
    foot_lateral: np.ndarray | None = None
    #: (2,) pitch correction [rad] applied to each human foot bone (:func:`flat_foot_pitch`).
    foot_pitch_correction: np.ndarray | None = None

    def scaled_keypoints(self, multipliers: np.ndarray | None = None) -> np.ndarray:
        """Adapted human keypoints (T, K, 3): scaled pelvis trajectory plus scaled bones."""
        lay = layout()
        s = self.group_scale * (1.0 if multipliers is None else multipliers)
        hk = self.human_keypoints
        bones = (hk[:, lay.bone_child] - hk[:, lay.bone_parent]) * s[lay.bone_group, None]
        root = self.root_scale * hk[:, :1]  # (T, 1, 3)
        return root + np.einsum("kb,tbd->tkd", lay.ancestry, bones)


#: Frames with heel and toe of a foot in contact needed to estimate that foot's flat slope.
FLAT_FOOT_MIN_FRAMES = 10
#: Largest flat-foot pitch correction [rad] (beyond it the stance estimate is distrusted).
FLAT_FOOT_MAX_CORRECTION = np.radians(15.0)
#: SMPL joints (ankle, ball) per foot, left foot first.
FOOT_JOINTS: tuple[tuple[str, str], ...] = (
    ("left_ankle", "left_foot"),
    ("right_ankle", "right_foot"),
)


def g1_flat_foot_slope() -> float:
    """Slope [rad] below horizontal of the G1 ankle -> foot keypoint vector, sole flat."""
    off = dict((k[0], k[2]) for k in KEYPOINTS)["left_foot"]
    return float(np.arctan2(-off[2], np.hypot(off[0], off[1])))


def flat_foot_pitch(human: HumanMotion, contacts: np.ndarray) -> np.ndarray:
    """Per foot (2,) the pitch [rad] that maps the human's flat stance foot to a flat G1 sole.

    The human's flat-foot slope of the ankle -> ball vector is measured on the clip: the
    median over frames where heel and toe of that foot are in contact (``contacts`` (T, 2, 2)).
    The G1's is fixed by its foot keypoint (:func:`g1_flat_foot_slope`, the G1 sole flat).
    Rotating the human foot bone about the ankle's lateral axis by the difference (positive:
    toes down) makes a flat human foot give a flat G1 sole, whatever the subject's ankle and
    ball joint heights. Feet with fewer than :data:`FLAT_FOOT_MIN_FRAMES` stance frames get 0
    (the rest-pose geometry, which matches the G1's for SMPL), and the correction is clipped to
    :data:`FLAT_FOOT_MAX_CORRECTION`.
    """
    out = np.zeros(2)
    for f, (a, b) in enumerate(FOOT_JOINTS):
        stance = contacts[:, f].min(axis=1) > 0
        if stance.sum() < FLAT_FOOT_MIN_FRAMES:
            continue
        v = human.joint_pos[stance, human.index(b)] - human.joint_pos[stance, human.index(a)]
        slope = np.arctan2(-v[:, 2], np.linalg.norm(v[:, :2], axis=1))
        out[f] = g1_flat_foot_slope() - float(np.median(slope))
    return np.clip(out, -FLAT_FOOT_MAX_CORRECTION, FLAT_FOOT_MAX_CORRECTION)


def _foot_geometry(
    human: HumanMotion, hk: np.ndarray, pitch: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Human keypoints with pitch-corrected foot bones, and the foot lateral axes (T, 2, 3)."""
    hk = hk.copy()
    lateral = np.zeros((human.n_frames, 2, 3))
    for f, (a, b) in enumerate(FOOT_JOINTS):
        quat = human.joint_quat[:, human.index(a)]
        lat = rot.rotate(quat, np.array([1.0, 0.0, 0.0]))  # SMPL joint frame x = body left
        lateral[:, f] = lat / np.linalg.norm(lat, axis=-1, keepdims=True)
        ka, kb = KEYPOINT_NAMES.index(a), KEYPOINT_NAMES.index(b)
        if pitch[f] != 0.0:
            # Toes down by pitch[f]: rotate about the foot's lateral axis (right-handed, +y left).
            spin = rot.from_axis_angle(lateral[:, f] * pitch[f])
            hk[:, kb] = hk[:, ka] + rot.rotate(spin, hk[:, kb] - hk[:, ka])
    return hk, lateral


def human_rest_keypoints(human: HumanMotion) -> np.ndarray:
    """The human's rest-pose keypoints (K, 3) [m], facing +x, pelvis at the origin.

    Each joint's offset from its parent in the parent's joint frame is constant for a rigid
    skeleton (SMPL); it is measured as the median over the clip, and the offsets are chained
    with every joint frame at rest (``REST_QUAT_FACING_X``).
    """
    parents = np.array(SMPL_PARENTS)
    pos, quat = human.joint_pos, human.joint_quat
    rest = np.zeros((len(SMPL_JOINT_NAMES), 3))
    for j in range(1, len(SMPL_JOINT_NAMES)):
        p = parents[j]
        local = np.median(rot.rotate_inverse(quat[:, p], pos[:, j] - pos[:, p]), axis=0)
        rest[j] = rest[p] + rot.rotate(REST_QUAT_FACING_X, local)
    return rest[layout().human_index]


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest rotation (wxyz) taking direction ``a`` (3,) to direction ``b`` (3,)."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    axis = np.cross(a, b)
    s, c = np.linalg.norm(axis), float(a @ b)
    if s < 1e-12:
        return rot.IDENTITY_WXYZ.copy()
    return rot.from_axis_angle(axis / s * np.arctan2(s, c))


def rest_align(human: HumanMotion, hk: np.ndarray) -> np.ndarray:
    """Human keypoints (T, K, 3) with every bone turned so the rest pose matches the G1's.

    Per bone, the smallest rotation from the human's rest bone direction
    (:func:`human_rest_keypoints`) to the G1 T-pose's is applied in the frame of the bone's
    parent joint, every frame: ``b'(t) = R_p(t) C R_p(t)^T b(t)``. The adapted human then has
    the G1's rest geometry (the analogue of PHUMA fitting the SMPL shape to the robot), so a
    human rest posture asks for the G1 rest posture (e.g. the AMASS 02_01 subject's chest sits
    7.5 deg forward of the pelvis axis at rest, which otherwise bends the G1's waist forward).
    """
    lay = layout()
    h_rest, g_rest = human_rest_keypoints(human), g1_tpose_keypoints()
    out = hk.copy()
    for p, c in zip(lay.bone_parent, lay.bone_child, strict=True):
        corr_w = _rotation_between(h_rest[c] - h_rest[p], g_rest[c] - g_rest[p])
        # Rest joint frames are REST_QUAT_FACING_X: the correction in the parent joint frame.
        corr_l = rot.multiply(rot.conjugate(REST_QUAT_FACING_X),
                              rot.multiply(corr_w, REST_QUAT_FACING_X))  # fmt: skip
        q_p = human.joint_quat[:, lay.human_index[p]]
        spin = rot.multiply(q_p, rot.multiply(corr_l, rot.conjugate(q_p)))  # (T, 4)
        out[:, c] = out[:, p] + rot.rotate(spin, hk[:, c] - hk[:, p])
    return out


def adapt(
    human: HumanMotion,
    contacts: np.ndarray | None = None,
    flat_feet: bool = False,
    rest_alignment: bool = False,
) -> Adaptation:
    """Human keypoints, per-group scales and root orientation for the G1 (see module doc).

    ``contacts`` (T, 2, 2) from :func:`.contacts.detect_foot_contacts` (computed when None);
    ``flat_feet`` applies :func:`flat_foot_pitch` to the human foot bones.
    """
    if not human.is_canonical:
        raise ValueError(
            f"{human.source}: the phuma retargeter needs SMPL's 24 canonical joints, got "
            f"{len(human.joint_names)} joints"
        )
    lay = layout()
    hk = human.joint_pos[:, lay.human_index]
    if contacts is None:
        contacts = detect_foot_contacts(human)
    pitch = flat_foot_pitch(human, contacts) if flat_feet else np.zeros(2)
    hk, lateral = _foot_geometry(human, hk, pitch)
    if rest_alignment:
        hk = rest_align(human, hk)
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
    return Adaptation(hk, group_scale, root_scale, root_quat, lateral, pitch)


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
