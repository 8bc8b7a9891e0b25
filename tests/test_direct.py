"""The naive ``direct`` baseline: joint-axis decomposition of human segment rotations."""

from __future__ import annotations

import numpy as np
import pytest

import retargeters
from nmr_gym import rotations as rot
from nmr_gym import skeleton as sk
from nmr_gym.errors import MotionError
from nmr_gym.g1 import spec
from nmr_gym.motion import HumanMotion

FPS = 30.0


def human_with(local_rotvecs: dict[str, tuple[float, float, float]], n: int = 4) -> HumanMotion:
    """T-pose facing +x, with some joints' local rotations (SMPL frame: x left, y up, z fwd)."""
    local = np.tile(rot.IDENTITY_WXYZ, (n, sk.NUM_JOINTS, 1))
    for name, rv in local_rotvecs.items():
        local[:, sk.SMPL_JOINT_NAMES.index(name)] = rot.from_axis_angle(np.array(rv))
    root_q = np.tile(sk.REST_QUAT_FACING_X, (n, 1))
    root_p = np.tile([0.0, 0.0, sk.rest_pelvis_height()], (n, 1))
    pos, quat = sk.forward_kinematics(root_p, root_q, local, sk.rest_offsets())
    return HumanMotion(FPS, sk.SMPL_JOINT_NAMES, pos, quat, sk.DEFAULT_HEIGHT, source="synth")


@pytest.fixture(scope="module")
def direct():
    return retargeters.make("direct")


def test_tpose_maps_to_g1_tpose(direct):
    q = direct(human_with({})).joint_pos[0]
    expected = np.zeros(spec.NUM_JOINTS)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        expected[spec.joint_index(f"{side}_shoulder_roll_joint")] = sign * np.pi / 2
        expected[spec.joint_index(f"{side}_elbow_joint")] = np.pi / 2
    np.testing.assert_allclose(q, expected, atol=1e-6)


def test_single_joint_rotations_land_on_their_axes(direct):
    # knee flexion and hip flexion are rotations about SMPL's x (body left) axis
    human = human_with({"left_knee": (0.8, 0, 0), "right_hip": (-0.5, 0, 0), "spine3": (0, 0.3, 0)})
    q = direct(human).joint_pos[0]
    j = spec.joint_index
    assert q[j("left_knee_joint")] == pytest.approx(0.8, abs=1e-6)
    assert q[j("right_hip_pitch_joint")] == pytest.approx(-0.5, abs=0.1)  # 10° hip tilt
    assert q[j("waist_yaw_joint")] == pytest.approx(0.3, abs=1e-3)  # twist about up
    others = np.delete(
        q,
        [
            j("left_knee_joint"),
            j("right_hip_pitch_joint"),
            j("right_hip_roll_joint"),
            j("right_hip_yaw_joint"),
            j("waist_yaw_joint"),
            j("left_shoulder_roll_joint"),
            j("right_shoulder_roll_joint"),
            j("left_elbow_joint"),
            j("right_elbow_joint"),
        ],
    )
    np.testing.assert_allclose(others, 0.0, atol=1e-6)


def test_joints_clipped_to_range_and_ground(direct):
    out = direct(human_with({"left_knee": (-1.0, 0, 0), "left_elbow": (0, 0, 3.0)}))
    lo, hi = spec.JOINT_RANGES[:, 0], spec.JOINT_RANGES[:, 1]
    assert np.all(out.joint_pos >= lo - 1e-4) and np.all(out.joint_pos <= hi + 1e-4)
    assert out.metadata["retargeter"] == "direct"
    assert out.root_pos[:, 2].min() > 0.5  # standing, shifted onto the floor


def test_deterministic_and_fps(direct):
    human = human_with({"left_knee": (0.4, 0.1, 0.0)}, n=9)
    a, b = direct(human), direct(human)
    np.testing.assert_array_equal(a.qpos, b.qpos)
    assert a.fps == FPS
    assert retargeters.make("direct", fps=15).retarget(human).fps == 15


def test_non_canonical_is_a_clear_error(direct):
    h = human_with({})
    odd = HumanMotion(
        FPS, [f"j{i}" for i in range(24)], h.joint_pos, h.joint_quat, 1.7, source="odd.npz"
    )
    with pytest.raises(MotionError, match="odd.npz"):
        direct(odd)
