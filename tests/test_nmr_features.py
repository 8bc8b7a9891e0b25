"""NMR features: sizes, canonicalisation invariants, body-size normalisation, 6D round trip."""

from __future__ import annotations

import numpy as np
import pytest

from nmr_gym import rotations as rot
from nmr_gym.g1 import kinematic_model
from nmr_gym.motion import forward_kinematics
from nmr_gym.suite import get_clip
from retargeters.nmr import features as F


@pytest.fixture(scope="module")
def walk():
    h = get_clip("walk_turn_medium").motion()[:120]
    return h.joint_pos[None, :, :22], h.joint_quat[None, :, 0], h


def _yaw_rotate(pos, quat, yaw, shift):
    qy = F.yaw_to_quat(np.array(yaw))
    p = rot.rotate(np.broadcast_to(qy, pos.shape[:-1] + (4,)), pos) + shift
    return p, rot.multiply(np.broadcast_to(qy, quat.shape), quat)


def test_sizes_match_the_paper():
    assert F.IN_DIM == 140 and F.OUT_DIM == 217
    assert F.LAYOUT["in_groups"][2] == ["joint_pos", 66]
    assert F.OUT_SLICES["joint_pos"] == slice(188, 217)


def test_input_features_are_invariant_to_world_yaw_and_position(walk):
    pos, pel, h = walk
    x0, *_ = F.window_features(pos, pel, np.array([h.height]), np.array([pos[..., 2].min()]))
    p2, q2 = _yaw_rotate(pos, pel, 1.234, np.array([3.0, -2.0, 0.0]))
    x1, *_ = F.window_features(p2, q2, np.array([h.height]), np.array([p2[..., 2].min()]))
    assert x0.shape == (1, 120, 140)
    np.testing.assert_allclose(x0, x1, atol=1e-5)


def test_features_are_not_trivially_constant(walk):
    pos, pel, h = walk
    x, *_ = F.window_features(pos, pel, np.array([h.height]), np.array([0.0]))
    assert x[0, 1:, F.IN_SLICES["root_vel_xy"]].std() > 1e-3  # the clip walks
    assert np.all(x[0, 0, F.IN_SLICES["joint_vel"]] == 0.0)  # 0 at frame 0


def test_height_normalisation_makes_a_scaled_human_identical(walk):
    pos, pel, h = walk
    base, *_ = F.window_features(pos, pel, np.array([h.height]), np.array([0.0]))
    for k in (0.85, 1.15):  # a short and a tall person doing the same motion
        x, *_ = F.window_features(pos * k, pel, np.array([h.height * k]), np.array([0.0]))
        np.testing.assert_allclose(x, base, atol=1e-5)
        y, *_ = F.window_features(pos * k, pel, np.array([h.height]), np.array([0.0]))
        assert np.abs(y - base).max() > 1e-2  # without the height, the input changes


def test_robot_features_follow_the_human_canonical_frame(walk):
    pos, pel, h = walk
    rng = np.random.default_rng(0)
    qpos = np.zeros((1, 120, 36))
    qpos[..., :3] = pos[:, :, 0]
    qpos[..., 3:7] = rot.multiply(pel, rot.conjugate(np.array([0.5, 0.5, 0.5, 0.5])))
    qpos[..., 7:] = rng.uniform(-0.2, 0.2, 29)
    bp = forward_kinematics(kinematic_model(), qpos[0])[0][None]
    _, y0, yaw0, _ = F.window_features(pos, pel, np.array([h.height]), np.array([0.0]), qpos, bp)
    p2, q2 = _yaw_rotate(pos, pel, -0.7, np.array([1.0, 2.0, 0.0]))
    qp2 = qpos.copy()
    qp2[..., :3], qp2[..., 3:7] = _yaw_rotate(
        qpos[..., :3], qpos[..., 3:7], -0.7, np.array([1.0, 2.0, 0.0])
    )
    bp2 = forward_kinematics(kinematic_model(), qp2[0])[0][None]
    _, y1, yaw1, _ = F.window_features(p2, q2, np.array([h.height]), np.array([0.0]), qp2, bp2)
    np.testing.assert_allclose(y0, y1, atol=1e-4)
    assert np.isclose(yaw1 - yaw0, -0.7) or np.isclose(yaw1 - yaw0 + 2 * np.pi, -0.7)
    np.testing.assert_allclose(y0[0, :, F.OUT_SLICES["joint_pos"]], qpos[0, :, 7:], atol=1e-6)
    # the canonical root faces +x at the first frame
    np.testing.assert_allclose(
        F.heading_yaw(
            rot.multiply(
                F.quat_from_6d(y0[0, :1, F.OUT_SLICES["root_rot_6d"]].astype(float)),
                np.array([0.5, 0.5, 0.5, 0.5]),
            )
        ),
        0.0,
        atol=1e-5,
    )


def test_6d_round_trip_and_yaw_rotation():
    rng = np.random.default_rng(1)
    q = rot.normalize(rng.normal(size=(50, 4)))
    q = np.where(q[:, :1] < 0, -q, q)
    np.testing.assert_allclose(F.quat_from_6d(rot.to_6d(q)), q, atol=1e-9)
    yaw = np.array([0.4])
    d6 = F.rotate_6d_yaw(rot.to_6d(q)[None], yaw)
    expect = rot.to_6d(rot.multiply(F.yaw_to_quat(yaw), q))[None]
    np.testing.assert_allclose(d6, expect, atol=1e-9)
