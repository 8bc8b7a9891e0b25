"""Left-right mirroring of human and G1 motions (training augmentation, not in the NMR paper).

The mirror is the reflection y -> -y of the world (the xz plane), with left and right swapped.

- Positions: y -> -y, left/right entries swapped.
- Orientations R (world from joint frame): R' = M R N with M = diag(1, -1, 1) the world
  reflection and N the reflection of the local frame across its sagittal plane. For the G1's
  pelvis (x forward, y left) N = M, so R' = M R M, i.e. wxyz (w, -x, y, -z). For SMPL joint
  frames (x to the body's left) N = diag(-1, 1, 1), so R' = (M R M)(M N) with M N a half turn
  about z: q' = (w, -x, y, -z) ⊗ (0, 0, 0, 1). Both map the rest pose onto itself.
- G1 joints: left/right swapped; roll and yaw hinges (hip, ankle, shoulder, wrist, waist) change
  sign, pitch hinges, knees and elbows do not (the G1's mirrored joints have mirrored ranges).

Mirroring twice is the identity, and the mirrored G1 pose's forward kinematics is the mirror image
of the pose's (both tested in tests/test_nmr_mirror.py).
"""

from __future__ import annotations

import numpy as np

from nmr_gym import rotations as rot
from nmr_gym.g1 import spec
from nmr_gym.skeleton import SMPL_JOINT_NAMES
from retargeters.nmr.features import IN_SLICES, NUM_HUMAN_JOINTS, OUT_SLICES

_HALF_TURN_Z = np.array([0.0, 0.0, 0.0, 1.0])
_FLIP_Q = np.array([1.0, -1.0, 1.0, -1.0])


def _swap_perm(names: tuple[str, ...]) -> np.ndarray:
    """Index of each name's mirror partner (left_* <-> right_*, others themselves)."""

    def partner(n: str) -> str:
        if n.startswith("left_"):
            return "right_" + n[5:]
        if n.startswith("right_"):
            return "left_" + n[6:]
        return n

    return np.array([names.index(partner(n)) for n in names])


SMPL_PERM = _swap_perm(SMPL_JOINT_NAMES)
BODY_PERM = _swap_perm(spec.BODY_NAMES)
JOINT_PERM = _swap_perm(spec.JOINT_NAMES)
#: Sign of each G1 joint under mirroring (after the swap): -1 for roll and yaw hinges.
JOINT_SIGN = np.array([-1.0 if ("_roll_" in j or "_yaw_" in j) else 1.0 for j in spec.JOINT_NAMES])


def mirror_pos(pos: np.ndarray, perm: np.ndarray | None = None) -> np.ndarray:
    """Mirror positions (..., N, 3) (swapping entries by ``perm`` when given) or (..., 3)."""
    out = pos * np.array([1.0, -1.0, 1.0])
    return out[..., perm, :] if perm is not None else out


def mirror_quat_g1(q: np.ndarray) -> np.ndarray:
    """Mirror G1-convention orientations (x forward, y left): (w, x, y, z) -> (w, -x, y, -z)."""
    return q * _FLIP_Q


def mirror_quat_smpl(q: np.ndarray) -> np.ndarray:
    """Mirror SMPL joint-frame orientations (x to the body's left); see the module docstring."""
    return rot.multiply(q * _FLIP_Q, np.broadcast_to(_HALF_TURN_Z, q.shape))


def mirror_human(joint_pos: np.ndarray, joint_quat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirror SMPL 24-joint positions (..., 24, 3) and orientations (..., 24, 4)."""
    return mirror_pos(joint_pos, SMPL_PERM), mirror_quat_smpl(joint_quat)[..., SMPL_PERM, :]


def mirror_qpos(qpos: np.ndarray) -> np.ndarray:
    """Mirror G1 generalised positions (..., 36): root, root quaternion, 29 joints."""
    out = np.empty_like(qpos)
    out[..., :3] = mirror_pos(qpos[..., :3])
    out[..., 3:7] = mirror_quat_g1(qpos[..., 3:7])
    out[..., 7:] = qpos[..., 7:][..., JOINT_PERM] * JOINT_SIGN
    return out


def mirror_body_pos(body_pos: np.ndarray) -> np.ndarray:
    """Mirror G1 body positions (..., 30, 3) (depth-first order)."""
    return mirror_pos(body_pos, BODY_PERM)


# ------------------------------------------------------------------- features (inference)
# The mirror as a map on the network's canonical features, for the mirror-averaged inference
# (``mirror_average``): a window's canonical frame is equivariant under the mirror (heading
# -yaw, origin mirrored), so the features of the mirrored window are these maps of the
# window's features (tested against make_batch, which mirrors the world-frame window first).
#: Sign of each 6D entry (the first two columns of R, row-major) under R -> M R M.
_SIGN_6D = np.array([1.0, -1.0, -1.0, 1.0, 1.0, -1.0])


def _mirror_points(x: np.ndarray, sl: slice, perm: np.ndarray) -> None:
    """Mirror, in place, the flattened points (..., 3 len(perm)) of ``x[..., sl]``."""
    v = x[..., sl].reshape(*x.shape[:-1], len(perm), 3)
    x[..., sl] = mirror_pos(v, perm).reshape(*x.shape[:-1], -1)


def mirror_input_features(x: np.ndarray) -> np.ndarray:
    """Mirror input features (..., 140): root velocity, 6D root rotation, 22 joint positions
    and velocities (left and right swapped)."""
    out = np.array(x, copy=True)
    out[..., IN_SLICES["root_vel_xy"].start + 1] *= -1.0
    out[..., IN_SLICES["root_rot_6d"]] *= _SIGN_6D.astype(out.dtype)
    perm = SMPL_PERM[:NUM_HUMAN_JOINTS]  # the 22 body joints mirror among themselves
    for group in ("joint_pos", "joint_vel"):
        _mirror_points(out, IN_SLICES[group], perm)
    return out


def mirror_output_features(y: np.ndarray) -> np.ndarray:
    """Mirror output features (..., 217): root velocity, 6D root rotation, 30 body positions
    and velocities, 29 joint angles (swapped, roll and yaw hinges negated)."""
    out = np.array(y, copy=True)
    out[..., OUT_SLICES["root_vel_xy"].start + 1] *= -1.0
    out[..., OUT_SLICES["root_rot_6d"]] *= _SIGN_6D.astype(out.dtype)
    for group in ("body_pos", "body_vel"):
        _mirror_points(out, OUT_SLICES[group], BODY_PERM)
    jp = OUT_SLICES["joint_pos"]
    out[..., jp] = y[..., jp][..., JOINT_PERM] * JOINT_SIGN.astype(out.dtype)
    return out
