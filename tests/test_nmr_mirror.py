"""Left-right mirroring: an involution, consistent with the G1's kinematics and the human's."""

from __future__ import annotations

import numpy as np
from _helpers import random_g1_qpos

import retargeters
from nmr_gym.g1 import joint_ranges, kinematic_model, spec
from nmr_gym.motion import forward_kinematics
from nmr_gym.skeleton import REST_QUAT_FACING_X
from nmr_gym.suite import get_clip
from retargeters.nmr import mirror as m

_random_qpos = random_g1_qpos


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


def _mirror_6d(d6):
    """M R M (M = diag(1, -1, 1)) applied to 6D rotations (the first two matrix columns)."""
    c = d6.reshape(*d6.shape[:-1], 3, 2).copy()
    c[..., 1, 0] *= -1
    c[..., 0, 1] *= -1
    c[..., 2, 1] *= -1
    return c.reshape(d6.shape)


def _mirror_features(x, slices, points):
    """The mirror map on features written out group by group (independent of make_batch)."""
    out = x.copy()
    out[..., slices["root_vel_xy"]] = x[..., slices["root_vel_xy"]] * [1.0, -1.0]
    out[..., slices["root_rot_6d"]] = _mirror_6d(x[..., slices["root_rot_6d"]])
    for group, perm in points.items():
        v = x[..., slices[group]].reshape(*x.shape[:-1], len(perm), 3)
        out[..., slices[group]] = (v[..., perm, :] * [1.0, -1.0, 1.0]).reshape(*x.shape[:-1], -1)
    return out


def test_mirrored_training_windows_are_the_mirror_of_the_features():
    # Issue 13 check: a mirrored training window (make_batch's augmentation) must be exactly
    # the left-right mirror of the clean window's input and target features, so mirroring
    # never shows the network one input with two targets.
    from retargeters.nmr import data as D
    from retargeters.nmr import features as F

    clips = [get_clip(n).motion()[:64] for n in ("wave_short", "walk_turn_medium")]
    d = retargeters.make("direct", ground_align=False)
    pairs = D.pairs_from_motions([(h, d.retarget(h).qpos) for h in clips])
    n = len(pairs)
    b0 = D.make_batch(pairs, np.arange(n), np.zeros(n, int), 64, np.zeros(n, bool))
    b1 = D.make_batch(pairs, np.arange(n), np.zeros(n, int), 64, np.ones(n, bool))
    hp = m.SMPL_PERM[: F.NUM_HUMAN_JOINTS]
    x_m = _mirror_features(b0.x, F.IN_SLICES, {"joint_pos": hp, "joint_vel": hp})
    y_m = _mirror_features(b0.y, F.OUT_SLICES, {"body_pos": m.BODY_PERM, "body_vel": m.BODY_PERM})
    jp = F.OUT_SLICES["joint_pos"]
    y_m[..., jp] = b0.y[..., jp][..., m.JOINT_PERM] * m.JOINT_SIGN
    np.testing.assert_allclose(b1.x, x_m, atol=1e-5)
    np.testing.assert_allclose(b1.y, y_m, atol=1e-5)
    assert np.abs(b1.x - b0.x).max() > 0.3  # wave_short is one-armed: the mirror differs
    # the library's feature maps (the mirror-averaged inference's) are the same maps
    np.testing.assert_allclose(m.mirror_input_features(b0.x), b1.x, atol=1e-5)
    np.testing.assert_allclose(m.mirror_output_features(b0.y), b1.y, atol=1e-5)
    for f in (m.mirror_input_features, m.mirror_output_features):
        z = b0.x if f is m.mirror_input_features else b0.y
        assert np.array_equal(f(f(z)), z)  # an involution, bit for bit


def test_teacher_retargets_the_mirrored_wave_to_the_mirrored_robot():
    # The stage-1 teacher (gmr-safe) on the mirrored human gives the mirrored G1 motion, so the
    # mirrored pairs are pairs the teacher itself would have made.
    h = get_clip("wave_short").motion()[:60]
    pm, qm = m.mirror_human(h.joint_pos, h.joint_quat)
    g = retargeters.make("gmr-safe")
    a = g.retarget(h).qpos
    b = g.retarget(h.replace(joint_pos=pm, joint_quat=qm)).qpos
    err_deg = np.degrees(np.abs(b[:, 7:] - m.mirror_qpos(a)[:, 7:]))
    assert err_deg.max() < 3.0, err_deg.max()
    ri = spec.joint_index("right_shoulder_roll_joint")
    assert a[:, 7 + ri].min() < -1.5  # the teacher raises the right arm (the wave)
