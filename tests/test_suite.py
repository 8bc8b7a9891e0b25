"""The built-in motion suite: contents, determinism, and human plausibility of every clip."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark import splits
from nmr_gym import rotations as rot
from nmr_gym import suite
from nmr_gym.errors import UnknownNameError
from nmr_gym.motion import HumanMotion
from nmr_gym.skeleton import SMPL_JOINT_NAMES, local_rotations, rest_offsets
from nmr_gym.suite import body, noise

J = body.J
CLIPS = suite.builtin_suite()
NAMES = [c.name for c in CLIPS]
FEET = (J["left_foot"], J["right_foot"])

#: A planted ball of the foot may move at most this far between frames [m] (IK round-off).
MAX_STANCE_SLIDE_M = 1e-6
#: Bounds on the local joint rotations' angular acceleration [rad/s^2] and speed [rad/s].
#: Measured peak is ~300 rad/s^2 (knees in running and jumping); human knees reach ~500 in
#: sprinting, so these bounds catch kinks (C0 joins) without forbidding fast motion.
MAX_ANGULAR_ACC = 500.0
MAX_ANGULAR_SPEED = 20.0
#: Largest move [m] of the ball of a foot in the frame where it lifts off or touches down.
MAX_LIFTOFF_STEP_M = 0.03


def _local_rotvec(m: HumanMotion) -> np.ndarray:
    return rot.to_axis_angle(local_rotations(m.joint_quat))  # (T, 24, 3)


@pytest.fixture(scope="module", params=NAMES)
def clip(request) -> suite.SuiteClip:
    return suite.get_clip(request.param)


def test_suite_covers_every_split_cell_with_a_modest_frame_budget():
    assert 15 <= len(CLIPS) <= 20
    assert len(set(NAMES)) == len(NAMES)
    cells = {(c.complexity, c.length) for c in CLIPS}
    assert cells == {(cx, ln) for cx in splits.COMPLEXITY_CLASSES for ln in splits.LENGTH_CLASSES}
    total = sum(c.n_frames for c in CLIPS)
    assert 6000 <= total <= 12000, total


def test_clip_labels_and_metadata(clip):
    m = clip.motion()
    assert m.n_frames == clip.n_frames
    assert m.fps == clip.fps == 30.0
    assert splits.length_class(clip.n_frames) == clip.length
    assert m.joint_names == SMPL_JOINT_NAMES
    meta = m.metadata
    assert meta["complexity"] == clip.complexity and meta["length"] == clip.length
    assert meta["name"] == clip.name
    assert meta["format"] == "builtin" and meta["skeleton"] == "smpl24-builtin"


def test_motion_is_deterministic_and_cached():
    c = suite.get_clip("walk_short")
    a, b = c.motion(), c.motion()
    assert a is not b and a.joint_pos is not b.joint_pos  # copies of one cached generation
    a.joint_pos[:] = 0.0
    a.metadata["name"] = "edited"
    assert c.motion().metadata["name"] == "walk_short" and c.motion().joint_pos.any()
    fresh = suite._motion.__wrapped__("walk_short", False, 0)
    np.testing.assert_array_equal(fresh.joint_pos, c.motion().joint_pos)
    np.testing.assert_array_equal(fresh.joint_quat, c.motion().joint_quat)


def test_get_clip_and_default():
    assert suite.DEFAULT_CLIP in NAMES
    c = suite.get_clip(suite.DEFAULT_CLIP)
    assert c.complexity == "WBPM" and c.length == "short" and "walk" in c.name
    with pytest.raises(UnknownNameError, match="walk_short"):
        suite.get_clip("moonwalk")


def test_bone_lengths_are_the_builtin_skeleton(clip):
    m = clip.motion()
    off = np.linalg.norm(rest_offsets(m.height), axis=1)
    parents = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
    for j in range(1, 24):
        d = np.linalg.norm(m.joint_pos[:, j] - m.joint_pos[:, parents[j]], axis=1)
        np.testing.assert_allclose(d, off[j], atol=1e-9)


def test_joint_angles_within_human_ranges(clip):
    m = clip.motion()
    rv = _local_rotvec(m)
    angle = np.degrees(np.linalg.norm(rv, axis=-1))  # (T, 24)
    for name, j in J.items():
        key = name.split("_")[-1] if "_" in name else name
        if key in suite.JOINT_LIMITS_DEG:
            assert angle[:, j].max() <= suite.JOINT_LIMITS_DEG[key], (clip.name, name)
    for side, s in (("left", 1.0), ("right", -1.0)):
        knee = np.degrees(rv[:, J[f"{side}_knee"]])
        assert knee[:, 0].min() >= 0.0, "knee hyperextension"
        assert np.abs(knee[:, 1:]).max() < 1e-6, "the knee is a hinge about x"
        elbow = np.degrees(rv[:, J[f"{side}_elbow"]])
        assert (-s * elbow[:, 1]).min() >= 0.0, "elbow hyperextension"
        # hip: thigh direction in the pelvis frame (x left, y up, z forward)
        th = rot.rotate_inverse(
            m.joint_quat[:, 0], m.joint_pos[:, J[f"{side}_knee"]] - m.joint_pos[:, J[f"{side}_hip"]]
        )
        flex = np.degrees(np.arctan2(th[:, 2], -th[:, 1]))
        abd = np.degrees(np.arctan2(s * th[:, 0], np.hypot(th[:, 1], th[:, 2])))
        assert flex.max() <= suite.HIP_FLEXION_MAX_DEG
        assert -flex.min() <= suite.HIP_EXTENSION_MAX_DEG
        assert abd.max() <= suite.HIP_ABDUCTION_MAX_DEG
        assert -abd.min() <= suite.HIP_ADDUCTION_MAX_DEG


def test_planted_feet_do_not_slide_or_sink(clip):
    m, contact = clip.motion(), clip.contact()
    assert contact.shape == (m.n_frames, 2)
    floor_z = body.ball_height(m.height)
    for s, j in enumerate(FEET):
        ball = m.joint_pos[:, j]
        both = contact[1:, s] & contact[:-1, s]
        slide = np.linalg.norm(np.diff(ball, axis=0), axis=1)[both]
        assert slide.max(initial=0.0) < MAX_STANCE_SLIDE_M, clip.name
        np.testing.assert_allclose(ball[contact[:, s], 2], floor_z, atol=1e-9)
    # nothing goes through the floor (the ball of a planted foot is the lowest point)
    assert m.joint_pos[..., 2].min() > 0.0


def test_feet_leave_and_land_gently(clip):
    """The ball of a foot starts and ends each swing at rest: < MAX_LIFTOFF_STEP_M in the first
    and last frame of the swing (a linear, C0 swing moves it ~9 cm there)."""
    m, contact = clip.motion(), clip.contact()
    for s, j in enumerate(FEET):
        step = np.linalg.norm(np.diff(m.joint_pos[:, j], axis=0), axis=1)
        edges = contact[:-1, s] != contact[1:, s]  # lift-off or touch-down between f and f+1
        assert step[edges].max(initial=0.0) < MAX_LIFTOFF_STEP_M, clip.name


def test_motion_is_smooth(clip):
    m = clip.motion()
    local = local_rotations(m.joint_quat)
    omega = rot.angular_velocity(local, m.dt)  # (T, 24, 3)
    acc = np.linalg.norm(np.gradient(omega, m.dt, axis=0), axis=-1)
    assert np.linalg.norm(omega, axis=-1).max() < MAX_ANGULAR_SPEED, clip.name
    assert acc.max() < MAX_ANGULAR_ACC, clip.name
    # the root moves without teleporting (< 0.2 m per frame: 6 m/s)
    assert np.linalg.norm(np.diff(m.joint_pos[:, 0], axis=0), axis=1).max() < 0.2


def test_airborne_only_in_jumps_and_runs():
    airborne = {c.name: float((~c.contact()).all(axis=1).mean()) for c in CLIPS}
    ballistic = {"run_short", "locomotion_long", "jumps_short", "spins_medium",
                 "broad_jumps_medium", "dance_long"}  # fmt: skip
    for name, frac in airborne.items():
        if name in ballistic:
            assert frac > 0.01, name
        else:
            assert frac == 0.0, name
    # runs have flight phases; a walk always has a foot down
    assert airborne["run_short"] > 0.1


def test_upper_body_clips_keep_the_lower_body_still():
    for c in CLIPS:
        if c.complexity != "ULOM":
            continue
        p = c.motion().joint_pos
        for name in ("pelvis", "left_knee", "right_knee", "left_ankle", "right_ankle"):
            assert np.ptp(p[:, J[name]], axis=0).max() < 1e-6, (c.name, name)
        hands = p[:, J["right_wrist"]]
        assert np.ptp(hands, axis=0).max() > 0.3, c.name  # and the arms do move


def _facing(m: HumanMotion) -> np.ndarray:
    fwd = rot.rotate(m.joint_quat[:, 0], np.broadcast_to([0.0, 0.0, 1.0], (m.n_frames, 3)))
    return np.unwrap(np.arctan2(fwd[:, 1], fwd[:, 0]))


def test_heading_follows_the_gait():
    walk = suite.get_clip("walk_turn_medium").motion()
    vel = np.gradient(walk.joint_pos[:, 0, :2], walk.dt, axis=0)
    speed = np.linalg.norm(vel, axis=1)
    moving = speed > 0.6
    travel_dir = np.arctan2(vel[moving, 1], vel[moving, 0])
    diff = np.angle(np.exp(1j * (travel_dir - _facing(walk)[moving])))
    assert np.degrees(np.abs(diff)).max() < 20.0  # walks forward, in the direction it faces
    turn = suite.get_clip("turn_in_place_short")
    m = turn.motion()
    yaw = _facing(m)
    assert np.degrees(yaw[-1] - yaw[0]) > 180.0  # turning rotates the body ...
    assert np.ptp(m.joint_pos[:, 0, :2], axis=0).max() < 0.1  # ... on the spot
    # ... and the feet turn with it: the final stance faces the final heading
    for side in body.SIDES:
        foot = m.joint_pos[-1, J[f"{side}_foot"]] - m.joint_pos[-1, J[f"{side}_ankle"]]
        heading = np.arctan2(foot[1], foot[0])
        assert abs(np.angle(np.exp(1j * (heading - yaw[-1])))) < np.deg2rad(5)


def test_squat_lowers_the_pelvis_with_feet_planted():
    c = suite.get_clip("squat_medium")
    m = c.motion()
    assert np.ptp(m.joint_pos[:, 0, 2]) > 0.25
    assert c.contact().all()


def test_noisy_variant_is_seeded_and_recorded():
    clean = suite.get_clip("walk_short").motion()
    a = suite.get_clip("walk_short", noisy=True, seed=1).motion()
    b = suite.get_clip("walk_short", noisy=True, seed=1).motion()
    c = suite.get_clip("walk_short", noisy=True, seed=2).motion()
    np.testing.assert_array_equal(a.joint_pos, b.joint_pos)
    assert not np.allclose(a.joint_pos, c.joint_pos)
    info = a.metadata["noise"]
    assert info["seed"] == 1 and info["spike_frames"] and info["penetration_windows"]
    assert a.metadata["complexity"] == "WBPM" and a.metadata["format"] == "builtin"
    # jitter everywhere, a spike is a single-frame outlier, sinking goes below the floor
    err = np.linalg.norm(a.joint_pos - clean.joint_pos, axis=-1).max(axis=1)  # (T,)
    assert np.median(err) > 0.005
    spikes = np.array(info["spike_frames"])
    rotation_err = np.degrees(
        rot.angle_between(local_rotations(a.joint_quat), local_rotations(clean.joint_quat))
    )
    assert (rotation_err[spikes].max(axis=1) > noise.SPIKE_DEG[0] - 5).all()
    assert a.joint_pos[..., 2].min() < -0.01 < clean.joint_pos[..., 2].min()
    # still a valid skeleton: bone lengths unchanged
    for j in (4, 7, 18):
        parent = {4: 1, 7: 4, 18: 16}[j]
        np.testing.assert_allclose(
            np.linalg.norm(a.joint_pos[:, j] - a.joint_pos[:, parent], axis=1),
            np.linalg.norm(clean.joint_pos[0, j] - clean.joint_pos[0, parent]),
            atol=1e-9,
        )


def test_noisy_suite_lists_the_same_clips():
    noisy = suite.builtin_suite(noisy=True, seed=3)
    assert [c.name for c in noisy] == NAMES
    assert all(c.noisy and c.seed == 3 for c in noisy)
