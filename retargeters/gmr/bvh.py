"""GMR's BVH loader for LAFAN1: raw bone poses, the way GMR's ``load_bvh_file`` builds them.

GMR does not map LAFAN1 onto a canonical skeleton: its IK targets are the global frames of the
BVH bones themselves. Per frame and bone: position ``R p / 100`` (cm to m) and orientation
``q_R ⊗ q_bone``, with R the Y-up to Z-up rotation (x, y, z) -> (x, -z, y); plus two virtual
bones ``LeftFootMod`` / ``RightFootMod`` = the Foot's position with the Toe's orientation. The
actor height is fixed at 1.75 m by GMR (the table's ``human_height_m``).

Parsing and forward kinematics are :mod:`nmr_gym.io.bvh`'s (the same BVH semantics: intrinsic
Euler channels in file order, root position channels).
"""

from __future__ import annotations

import os

import numpy as np

from nmr_gym import rotations as rot
from nmr_gym.errors import MotionFormatError
from nmr_gym.io.bvh import forward_kinematics, parse_bvh

#: GMR's BVH world change: Y-up to Z-up, (x, y, z) -> (x, -z, y).
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
CM_TO_M = 0.01
#: Virtual foot bones: name -> (position bone, orientation bone).
FOOT_MODS: dict[str, tuple[str, str]] = {
    "LeftFootMod": ("LeftFoot", "LeftToe"),
    "RightFootMod": ("RightFoot", "RightToe"),
}


def lafan1_bone_poses(
    path: str | os.PathLike,
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, float]:
    """Bone names, positions (T, N, 3) [m], orientations (T, N, 4) wxyz and fps of a LAFAN1 BVH.

    Raises :class:`MotionFormatError` naming the file when a bone GMR needs is missing or the
    data holds non-finite values.
    """
    bvh = parse_bvh(path)
    if not np.all(np.isfinite(bvh.motion)):
        raise MotionFormatError("MOTION data holds non-finite values (NaN/inf)", bvh.source)
    missing = [b for pair in FOOT_MODS.values() for b in pair if b not in bvh.names]
    if missing:
        raise MotionFormatError(
            f"not a LAFAN1 skeleton: bones {missing} missing (has {bvh.names})", bvh.source
        )
    pos, quat = forward_kinematics(bvh)  # (T, N, 3) cm, (T, N, 4)
    world = rot.from_matrix(Y_UP_TO_Z_UP)
    pos = pos @ Y_UP_TO_Z_UP.T * CM_TO_M
    quat = rot.multiply(np.broadcast_to(world, quat.shape), quat)
    names = list(bvh.names)
    extra_pos = [pos[:, names.index(p)] for p, _ in FOOT_MODS.values()]
    extra_quat = [quat[:, names.index(q)] for _, q in FOOT_MODS.values()]
    pos = np.concatenate([pos, np.stack(extra_pos, axis=1)], axis=1)
    quat = np.concatenate([quat, np.stack(extra_quat, axis=1)], axis=1)
    return tuple(names) + tuple(FOOT_MODS), pos, quat, bvh.fps
