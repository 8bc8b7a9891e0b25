"""The published GMR (``gmr``): its code's behaviour, re-implemented on the reference G1.

Invariants of GMR's code (velocity limit never applied, mink's LM damping of its frame tasks,
its tightened joint ranges, its first-frame pose, its ground handling, its LAFAN1 BVH loader)
and the registry names. Agreement with GMR's own outputs: ``tests/test_gmr_original.py``.
"""

from __future__ import annotations

import mink
import mujoco
import numpy as np
import pytest
from mink.lie import _lie_ops_c
from test_gmr import FPS, make_human

import retargeters
from nmr_gym import rotations as rot
from nmr_gym import skeleton as sk
from nmr_gym.errors import MotionError, UnknownNameError
from nmr_gym.g1 import joint_ranges, kinematic_model, spec
from retargeters.gmr import ik
from retargeters.gmr.bvh import lafan1_bone_poses
from retargeters.gmr.model import gmr_joint_ranges, ik_model
from retargeters.gmr.retargeter import GMR_FPS, lowest_body_offset
from retargeters.gmr.tables import load_table

SHORT_LAFAN1 = "bvh/lafan1/fallAndGetUp1_subject1_680_800.bvh"


def _arm_flip_human(n: int = 12):
    """Arms down, then straight up from frame 6: a target jump no joint can follow in 1/30 s."""
    local = np.tile(rot.IDENTITY_WXYZ, (n, sk.NUM_JOINTS, 1))
    for side, sign in (("left", 1.0), ("right", -1.0)):
        angle = np.where(np.arange(n) < 6, -sign * 1.3, sign * 1.4)
        local[:, sk.SMPL_JOINT_NAMES.index(f"{side}_shoulder")] = rot.from_axis_angle(
            np.stack([np.zeros(n), np.zeros(n), angle], axis=-1)
        )
    return make_human(n, local=local)


def test_names_and_options():
    gmr = retargeters.make("gmr")
    assert type(gmr).name == "gmr" and type(retargeters.make("gmr-safe")).name == "gmr-safe"
    opts = gmr.options()
    assert opts["lm_damping"] == 1.0 and opts["damping"] == ik.DAMPING
    assert opts["joint_ranges"] == "gmr" and opts["fps"] == GMR_FPS
    assert "max_joint_vel" not in opts and "limit_margin" not in opts
    with pytest.raises(UnknownNameError, match="reference"):
        retargeters.make("gmr", joint_ranges="nope")
    with pytest.raises(UnknownNameError, match="lowest_body"):
        retargeters.make("gmr", ground="nope")


def test_velocity_limit_is_not_applied():
    """GMR passes its VelocityLimit as ``safety_break``: joints jump as far as the IK goes."""
    human = _arm_flip_human()
    step = np.abs(np.diff(retargeters.make("gmr").retarget(human).joint_pos, axis=0)).max()
    assert step > ik.MAX_JOINT_VEL / FPS + 0.05
    safe = retargeters.make("gmr-safe").retarget(human)
    assert np.abs(np.diff(safe.joint_pos, axis=0)).max() <= ik.MAX_JOINT_VEL / FPS + 1e-6


def test_gmr_ranges_are_applied_to_the_reference_g1():
    ref = kinematic_model()
    model = ik_model("gmr")
    tight = gmr_joint_ranges()
    assert len(tight) == 15
    for i, name in enumerate(spec.JOINT_NAMES):
        lo, hi = model.jnt_range[i + 1]
        if name in tight:
            assert (lo, hi) == pytest.approx(tight[name]), name
            assert lo >= ref.jnt_range[i + 1, 0] - 1e-9 and hi <= ref.jnt_range[i + 1, 1] + 1e-9
        else:
            assert (lo, hi) == pytest.approx(tuple(ref.jnt_range[i + 1])), name
    assert tight["right_shoulder_roll_joint"] == pytest.approx((-1.77, 0.6))
    # same kinematics: body frames at a random pose agree
    rng = np.random.default_rng(0)
    q = ref.qpos0.copy()
    q[7:] = rng.uniform(-0.3, 0.3, spec.NUM_JOINTS)
    d1, d2 = mujoco.MjData(ref), mujoco.MjData(model)
    d1.qpos[:], d2.qpos[:] = q, q
    mujoco.mj_kinematics(ref, d1)
    mujoco.mj_kinematics(model, d2)
    np.testing.assert_allclose(d1.xpos, d2.xpos, atol=1e-12)
    assert ik_model("reference") is ref


def test_output_stays_inside_the_chosen_ranges():
    human = make_human(20, amp=1.2, seed=3)
    for ranges in ("gmr", "reference"):
        out = retargeters.make("gmr", joint_ranges=ranges).retarget(human)
        r = joint_ranges(ik_model(ranges))
        assert np.all(out.joint_pos >= r[:, 0] - 1e-6) and np.all(out.joint_pos <= r[:, 1] + 1e-6)
    hip = spec.joint_index("left_hip_pitch_joint")
    assert np.abs(retargeters.make("gmr").retarget(human).joint_pos[:, hip]).max() <= 1.57 + 1e-6


def test_lm_damping_fast_backend_matches_mink():
    """The per-task LM term (lm_damping * ||W e||^2 on the diagonal) is mink's."""
    human = make_human(6, amp=0.5, seed=2)
    fast = retargeters.make("gmr").retarget(human)
    ref = retargeters.make("gmr", backend="mink").retarget(human)
    np.testing.assert_allclose(fast.qpos, ref.qpos, atol=1e-6)
    undamped = retargeters.make("gmr", lm_damping=0.0).retarget(human)
    assert np.abs(undamped.qpos - fast.qpos).max() > 1e-4  # the term changes the solution


def test_first_frame_starts_from_the_tables_initial_pose():
    """With no IK step allowed to move far (one step, huge damping) frame 0 stays at GMR's
    start: the model's default pose with the table's initial joints (SMPL-X: arms out)."""
    out = retargeters.make("gmr", damping=1e9, max_extra_iters=0, ground="none").retarget(
        make_human(2)
    )
    expected = ik_model("gmr").qpos0.copy()
    for name, value in load_table("smpl").initial_joint_pos:
        expected[7 + spec.joint_index(name)] = value
    np.testing.assert_allclose(out.qpos[0], expected, atol=1e-4)
    assert expected[7 + spec.joint_index("left_knee_joint")] == pytest.approx(0.8)


def test_ground_modes():
    human = make_human(10, amp=0.3, seed=4)
    body = retargeters.make("gmr", ground="lowest_body").retarget(human)
    assert lowest_body_offset(kinematic_model(), body.qpos) == pytest.approx(0.0, abs=1e-9)
    # standing: GMR's lowest body is a toe, 2 cm under the ankle_roll_link origin
    ankle = body.body_pos_w[:, [spec.body_index(b) for b in spec.FOOT_BODIES], 2]
    assert ankle.min() == pytest.approx(0.02, abs=0.01)
    none = retargeters.make("gmr", ground="none").retarget(human)
    np.testing.assert_allclose(none.qpos[:, 2] + body.metadata["ground_shift_m"], body.qpos[:, 2])
    assert retargeters.make("gmr").retarget(human).metadata["ground"] == "lowest_body"


def test_mink_private_lie_ops_agree_with_the_public_api():
    """ik.py's fast backend calls mink.lie._lie_ops_c (pinned mink range in pyproject)."""
    for _ in range(5):
        a, b = mink.SE3.sample_uniform(), mink.SE3.sample_uniform()
        np.testing.assert_allclose(
            _lie_ops_c.se3_rminus(a.wxyz_xyz, b.wxyz_xyz), a.rminus(b), atol=1e-10
        )
        np.testing.assert_allclose(
            _lie_ops_c.se3_inverse_multiply(a.wxyz_xyz, b.wxyz_xyz),
            (a.inverse() @ b).wxyz_xyz,
            atol=1e-10,
        )
        np.testing.assert_allclose(_lie_ops_c.se3_jlog(a.wxyz_xyz), a.jlog(), atol=1e-10)


@pytest.mark.shared_data
def test_lafan1_loader_is_gmrs(shared_motions):
    names, pos, quat, fps = lafan1_bone_poses(shared_motions / SHORT_LAFAN1)
    assert fps == 30.0 and pos.shape[1] == len(names) == 24
    i = names.index
    np.testing.assert_array_equal(pos[:, i("LeftFootMod")], pos[:, i("LeftFoot")])
    np.testing.assert_array_equal(quat[:, i("RightFootMod")], quat[:, i("RightToe")])
    assert np.all(pos[:, i("Head"), 2] > pos[:, i("LeftFoot"), 2] - 0.5)  # z is up, metres
    assert 0.5 < np.max(pos[:, i("Head"), 2] - pos[:, i("Hips"), 2]) < 0.9  # stands up at the end


@pytest.mark.shared_data
def test_lafan1_bvh_uses_raw_bones_and_refuses_trimmed_motions(shared_motions):
    from nmr_gym.io import load_human_motion

    human = load_human_motion(shared_motions / SHORT_LAFAN1)
    gmr = retargeters.make("gmr")
    assert gmr.table_name(human) == "bvh_lafan1"
    with pytest.raises(MotionError, match="frames"):
        gmr.retarget(human[:20])
    assert retargeters.make("gmr", table="lafan1").retarget(human[:20]).n_frames == 20
