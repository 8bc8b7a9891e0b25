import numpy as np
import pytest

from nmr_gym import rotations as rot
from nmr_gym import skeleton
from nmr_gym.errors import MotionError
from nmr_gym.g1 import spec
from nmr_gym.motion import HumanMotion, RobotMotion


def _robot(n=60, fps=30.0):
    t = np.arange(n) / fps
    root = np.stack([0.5 * t, np.zeros(n), 0.79 + 0.02 * np.sin(t)], axis=1)
    quat = rot.from_axis_angle(np.stack([np.zeros(n), np.zeros(n), 0.8 * t], axis=1))
    joints = 0.3 * np.sin(t[:, None] + np.arange(29)[None] * 0.1)
    return RobotMotion(fps, root, quat, joints, source="test")


def test_fk_root_body_is_root():
    m = _robot()
    np.testing.assert_allclose(m.body_pos_w[:, 0], m.root_pos, atol=1e-12)
    assert rot.angle_between(m.body_quat_w[:, 0], m.root_quat).max() < 1e-9
    assert m.body_pos_w.shape == (60, spec.NUM_BODIES, 3)


def test_velocities_match_constant_rates():
    m = _robot()
    np.testing.assert_allclose(m.root_lin_vel_w[:, 0], 0.5, atol=1e-9)
    np.testing.assert_allclose(m.root_ang_vel_w[5:-5, 2], 0.8, atol=1e-3)
    assert m.qvel.shape == (60, 35)


def test_resample_keeps_endpoints_and_duration():
    m = _robot()
    r = m.resample(50)
    assert r.fps == 50 and r.duration == pytest.approx(m.duration, abs=1 / 50)
    np.testing.assert_allclose(r.joint_pos[0], m.joint_pos[0])
    np.testing.assert_allclose(r.root_pos[::5][:12], m.root_pos[::3][:12], atol=1e-12)
    assert np.allclose(np.linalg.norm(r.root_quat, axis=1), 1)


def test_slice():
    m = _robot()
    s = m[10:20]
    assert s.n_frames == 10
    np.testing.assert_array_equal(s.joint_pos, m.joint_pos[10:20])
    assert m[::2].fps == 15


@pytest.mark.parametrize(
    "change,match",
    [
        (dict(fps=0), "fps"),
        (dict(fps=-30), "fps"),
        (dict(joint_pos=np.zeros((60, 23))), r"shape \(60, 23\)"),
        (dict(root_quat=np.zeros((60, 4))), "unit"),
        (dict(root_pos=np.full((60, 3), np.nan)), "non-finite"),
    ],
)
def test_validation_errors_name_the_source(change, match):
    with pytest.raises(MotionError, match=match) as info:
        _robot().replace(**change)
    assert "test" in str(info.value)


def test_single_frame_rejected():
    with pytest.raises(MotionError, match="at least 2 frames"):
        RobotMotion(30, np.zeros((1, 3)), np.array([[1.0, 0, 0, 0]]), np.zeros((1, 29)))


def test_human_tpose_rest_convention():
    h = 1.7
    n = 3
    pos, quat = skeleton.forward_kinematics(
        np.tile([0, 0, skeleton.rest_pelvis_height(h)], (n, 1)),
        np.tile(skeleton.REST_QUAT_FACING_X, (n, 1)),
        np.tile([1.0, 0, 0, 0], (n, 24, 1)),
        skeleton.rest_offsets(h),
    )
    names = skeleton.SMPL_JOINT_NAMES
    lw, rw = pos[0, names.index("left_wrist")], pos[0, names.index("right_wrist")]
    assert lw[1] > 0.6 and rw[1] < -0.6  # left is +y when facing +x
    assert pos[0, names.index("head")][2] > 1.4
    assert pos[0, names.index("left_foot")][2] == pytest.approx(0.02, abs=0.03)
    m = HumanMotion(30, names, pos, quat, h)
    assert m.resample(60).n_frames == 5
    assert m.is_canonical


@pytest.mark.parametrize(
    ("cls", "start"),
    [(RobotMotion, "A G1 motion: floating base"), (HumanMotion, "A human motion in nmr-gym")],
)
def test_motion_types_have_their_docstring(cls, start):
    # A docstring placed after class attributes is not a docstring: dataclass then sets
    # __doc__ to the signature "RobotMotion(fps: float, ...)".
    assert cls.__doc__.startswith(start)


def test_local_rotations_invert_forward_kinematics():
    rng = np.random.default_rng(0)
    n = 5
    local = rot.from_axis_angle(rng.normal(0.0, 0.5, (n, skeleton.NUM_JOINTS, 3)))
    root_quat = rot.from_axis_angle(rng.normal(0.0, 0.5, (n, 3)))
    local[:, 0] = root_quat
    _, world = skeleton.forward_kinematics(
        np.zeros((n, 3)), root_quat, local, skeleton.rest_offsets()
    )
    back = skeleton.local_rotations(world)
    assert rot.angle_between(back, local).max() < 1e-6  # arccos round-off is ~1e-8
