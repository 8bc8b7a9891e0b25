"""Left-right mirroring: an involution, consistent with the G1's kinematics and the human's."""

from __future__ import annotations

import numpy as np

import retargeters
from nmr_gym import rotations as rot
from nmr_gym.g1 import joint_ranges, kinematic_model, spec
from nmr_gym.motion import forward_kinematics
from nmr_gym.skeleton import REST_QUAT_FACING_X
from nmr_gym.suite import get_clip
from retargeters.nmr import mirror as m


def _random_qpos(n=20, seed=0):
    rng = np.random.default_rng(seed)
    r = joint_ranges(kinematic_model())
    q = np.zeros((n, 36))
    q[:, :3] = rng.normal(size=(n, 3))
    q[:, 3:7] = rot.normalize(rng.normal(size=(n, 4)))
    q[:, 7:] = rng.uniform(r[:, 0], r[:, 1], size=(n, 29))
    return q


def test_mirroring_twice_is_identity():
    q = _random_qpos()
    np.testing.assert_allclose(m.mirror_qpos(m.mirror_qpos(q)), q, atol=1e-12)
    h = get_clip("kicks_short").motion()
    p2, q2 = m.mirror_human(*m.mirror_human(h.joint_pos, h.joint_quat))
    np.testing.assert_allclose(p2, h.joint_pos, atol=1e-12)
    np.testing.assert_allclose(q2, h.joint_quat, atol=1e-12)
    bp = np.random.default_rng(2).normal(size=(4, 30, 3))
    np.testing.assert_allclose(m.mirror_body_pos(m.mirror_body_pos(bp)), bp)


def test_mirrored_pose_fk_is_the_mirror_image():
    model = kinematic_model()
    q = _random_qpos()
    pos, _ = forward_kinematics(model, q)
    pos_m, _ = forward_kinematics(model, m.mirror_qpos(q))
    np.testing.assert_allclose(pos_m, m.mirror_body_pos(pos), atol=1e-4)
    assert np.abs(pos_m - pos).max() > 0.1  # the test poses are not symmetric themselves


def test_mirrored_joints_stay_in_range_and_swap_sides():
    r = joint_ranges(kinematic_model())
    qm = m.mirror_qpos(_random_qpos())[:, 7:]
    assert np.all(qm >= r[:, 0] - 1e-9) and np.all(qm <= r[:, 1] + 1e-9)
    li, ri = spec.joint_index("left_knee_joint"), spec.joint_index("right_knee_joint")
    assert m.JOINT_PERM[li] == ri and m.JOINT_SIGN[li] == 1.0
    assert m.JOINT_SIGN[spec.joint_index("left_hip_roll_joint")] == -1.0


def test_human_rest_pose_is_symmetric_and_quats_follow_positions():
    np.testing.assert_allclose(m.mirror_quat_smpl(REST_QUAT_FACING_X), REST_QUAT_FACING_X)
    # The direct retargeter reads only joint orientations: retargeting the mirrored human
    # must give the mirrored G1 motion, so the orientation mirror matches the position mirror.
    h = get_clip("kicks_short").motion()[:60]
    pm, qm = m.mirror_human(h.joint_pos, h.joint_quat)
    hm = h.replace(joint_pos=pm, joint_quat=qm)
    d = retargeters.make("direct", ground_align=False)
    a, b = d.retarget(h).qpos, d.retarget(hm).qpos
    np.testing.assert_allclose(b[:, 7:], m.mirror_qpos(a)[:, 7:], atol=2e-2)
    np.testing.assert_allclose(b[:, :3], m.mirror_qpos(a)[:, :3], atol=1e-9)
