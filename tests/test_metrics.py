"""Every metric on hand-made motions whose answer is known."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest

from benchmark import metrics
from nmr_gym.g1 import geometry, joint_ranges, kinematic_model, spec
from nmr_gym.motion import HumanMotion, RobotMotion
from nmr_gym.skeleton import SMPL_JOINT_NAMES

FPS = metrics.SCORING_FPS  # hand-made motions at the scoring rate: frame counts are exact
J = spec.joint_index


def stand_motion(n: int = 20, joint_pos: np.ndarray | None = None, z: float = 0.79):
    """``n`` frames of the Menagerie stand pose (or ``joint_pos`` (n, 29)) at root height z."""
    jp = np.tile(spec.STAND_JOINT_POS, (n, 1)) if joint_pos is None else joint_pos
    root = np.tile([0.0, 0.0, z], (n, 1))
    quat = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
    return RobotMotion(FPS, root, quat, jp, source="test")


@pytest.fixture(scope="module")
def ground_z() -> float:
    """Root height at which the stand pose's lowest collision point is exactly on the floor."""
    sc = metrics.scan(stand_motion(2, z=1.0).qpos)
    low = geometry.lowest_point_z(sc.geom_pos_w, sc.geom_zrow, below=2.0)[0]
    return 1.0 - float(low)


# ----------------------------------------------------------------------------- joint jump
def test_joint_jump_counts_exactly_k_frames():
    n = 30
    jp = np.tile(spec.STAND_JOINT_POS, (n, 1))
    e = J("right_shoulder_roll_joint")
    jp[10:, e] += 0.6  # jump into frame 10
    jp[20:, e] -= 0.6  # and back into frame 20
    jp[25:, J("left_knee_joint")] += 0.51  # a third, on another joint
    jp[5:, J("left_elbow_joint")] += 0.4  # below the threshold: not a jump
    pct, vel = metrics.joint_jump(jp, FPS)
    assert pct == pytest.approx(100 * 3 / n)
    assert vel == pytest.approx(0.6 * FPS)
    assert list(np.flatnonzero(metrics.jump_frames(jp))) == [10, 20, 25]
    assert metrics.score(stand_motion(n, jp), self_collision=False)["joint_jump_pct"] == (
        pytest.approx(10.0)
    )


def test_smooth_motion_has_no_jumps():
    t = np.arange(60) / FPS
    jp = np.tile(spec.STAND_JOINT_POS, (60, 1))
    jp[:, J("left_elbow_joint")] += 0.5 * np.sin(2 * np.pi * t)
    pct, vel = metrics.joint_jump(jp, FPS)
    assert pct == 0.0
    assert vel == pytest.approx(np.abs(np.diff(jp, axis=0)).max() * FPS)
    assert vel < 0.5 * 2 * np.pi + 1e-9


# ------------------------------------------------------------------- one scoring rate
#: Ramp speed [rad/s] of the rate-independence motion: 40 rad/s is 0.8 rad per 50 fps step
#: (a jump), 1.33 rad per 30 fps step (a jump) but 0.33 rad per 120 fps step (no jump).
RAMP_SPEED = 40.0
#: Ramps (start [s], duration [s], sign); their ends fall between samples of both rates.
RAMPS = ((1.013, 0.21, 1.0), (2.507, 0.19, -1.0), (3.301, 0.25, 1.0))
RAMP_CLIP_S = 4.5


def ramp_motion(fps: float) -> RobotMotion:
    """A stand pose whose right shoulder roll follows :data:`RAMPS`, sampled at ``fps``."""
    t = np.arange(int(RAMP_CLIP_S * fps) + 1) / fps
    angle = np.zeros_like(t)
    for start, dur, sign in RAMPS:
        angle += sign * RAMP_SPEED * np.clip(t - start, 0.0, dur)
    jp = np.tile(spec.STAND_JOINT_POS, (len(t), 1))
    jp[:, J("right_shoulder_roll_joint")] += angle
    return RobotMotion(
        fps, np.tile([0, 0, 0.79], (len(t), 1)), np.tile([1.0, 0, 0, 0], (len(t), 1)), jp
    )


def test_same_motion_at_30_and_120_fps_scores_the_same():
    """Issue 11 part 2. Tolerance: each ramp end falls between samples, so linear
    resampling can move one partial step across the threshold there: at most one frame per
    ramp end, 2 * len(RAMPS) frames of the clip at the scoring rate."""
    slow, fast = ramp_motion(30.0), ramp_motion(120.0)
    # at their own rates the two disagree completely (the bug this fixes)
    assert metrics.joint_jump(slow.joint_pos, 30.0)[0] > 10.0
    assert metrics.joint_jump(fast.joint_pos, 120.0)[0] == 0.0
    a = metrics.score(slow, self_collision=False)
    b = metrics.score(fast, self_collision=False)
    n_scored = int(RAMP_CLIP_S * metrics.SCORING_FPS) + 1
    tol_pct = 100.0 * 2 * len(RAMPS) / n_scored
    assert a["joint_jump_pct"] > 12.0  # 0.65 s of ramps in 4.5 s: ~14%
    assert a["joint_jump_pct"] == pytest.approx(b["joint_jump_pct"], abs=tol_pct)
    for m in (a, b):  # rad/s from the scoring rate: the ramp speed, not a per-frame change
        assert m["max_joint_vel"] == pytest.approx(RAMP_SPEED, rel=0.02)
        assert m["joint_vel_p99"] == pytest.approx(RAMP_SPEED, rel=0.02)
    assert metrics.score(slow, self_collision=False, fps=30.0)["max_joint_vel"] == (
        pytest.approx(RAMP_SPEED, rel=0.02)
    )


def test_joint_vel_p99_ignores_one_spike():
    n = 401  # 2 spike steps of 400: under 1%
    t = np.arange(n) / FPS
    jp = np.tile(spec.STAND_JOINT_POS, (n, 1))
    jp[:, J("left_elbow_joint")] += 0.2 * np.sin(2 * np.pi * t)  # peak 0.4 pi rad/s
    jp[200, J("left_elbow_joint")] += 1.0  # one frame out and back
    s = metrics.score(stand_motion(n, jp), self_collision=False)
    assert s["max_joint_vel"] > 1.0 * FPS
    assert s["joint_vel_p99"] <= 0.4 * np.pi * 1.01
    assert s["joint_jump_pct"] == pytest.approx(100 * 2 / n)


# ----------------------------------------------------------------------------- joint limit
def test_joint_parked_near_its_limit():
    ranges = joint_ranges(kinematic_model())
    k = J("left_knee_joint")
    n = 10
    jp = np.tile(spec.STAND_JOINT_POS, (n, 1))
    jp[:4, k] = ranges[k, 1] - 0.03  # within 0.05 rad: counted
    jp[4:6, k] = ranges[k, 0] - 0.10  # beyond the range: counted
    jp[6:, k] = ranges[k, 1] - 0.07  # 0.07 rad away: not counted
    assert metrics.joint_limit_pct(jp) == pytest.approx(60.0)
    assert metrics.joint_limit_pct(np.tile(spec.STAND_JOINT_POS, (n, 1))) == 0.0


# --------------------------------------------------------------------------- self-collision
ARM_IN_TORSO = {
    "left_shoulder_pitch_joint": -0.5,
    "left_shoulder_roll_joint": -1.0,
    "left_elbow_joint": 1.0,
}
_ARM_PREFIXES = ("left_shoulder", "left_elbow", "left_wrist")
_LEFT_ARM = [j for j in spec.JOINT_NAMES if j.startswith(_ARM_PREFIXES)]
HAND_ON_TORSO = dict(zip(_LEFT_ARM, [-2.26, 1.17, -1.17, -0.63, -1.79, -1.05, -1.0], strict=True))


def posed(pose: dict[str, float]) -> np.ndarray:
    q = spec.STAND_JOINT_POS.copy()
    for name, value in pose.items():
        q[J(name)] = value
    return q


def test_arm_folded_into_torso_collides_and_stand_does_not():
    n = 8
    jp = np.tile(spec.STAND_JOINT_POS, (n, 1))
    jp[2:5] = posed(ARM_IN_TORSO)  # 3 frames of 8
    s = metrics.score(stand_motion(n, jp))
    assert s["self_collision_pct"] == pytest.approx(100 * 3 / 8)
    assert s["self_collision_hands_pct"] == pytest.approx(100 * 3 / 8)
    zero = metrics.score(stand_motion(4, np.zeros((4, 29))))
    assert zero["self_collision_pct"] == 0.0 and zero["self_collision_hands_pct"] == 0.0


def test_hand_only_contact_counts_with_hands_only():
    jp = np.tile(posed(HAND_ON_TORSO), (4, 1))
    s = metrics.score(stand_motion(4, jp))
    assert s["self_collision_pct"] == 0.0
    assert s["self_collision_hands_pct"] == 100.0


def test_parent_child_pairs_are_filtered_as_documented():
    model = metrics._collision_model()
    assert not model.opt.disableflags & mujoco.mjtDisableBit.mjDSBL_FILTERPARENT
    assert np.all(model.geom_margin == 0)


def test_scan_dedup_and_workers_match_a_plain_pass(monkeypatch):
    rng = np.random.default_rng(0)
    n = 40
    jp = np.tile(spec.STAND_JOINT_POS, (n, 1))
    jp[::3] += rng.normal(0, 0.4, (len(jp[::3]), 29))  # runs of repeated poses in between
    jp[10:14] = posed(ARM_IN_TORSO)
    q = stand_motion(n, jp).qpos
    q[:, :3] += rng.normal(0, 0.3, (n, 3))  # the root moves and turns too
    q[:, 3:7] = rng.normal(size=(n, 4))
    q[:, 3:7] /= np.linalg.norm(q[:, 3:7], axis=1, keepdims=True)
    q[1::3] = q[::3][: len(q[1::3])]  # repeated poses
    plain = metrics._mujoco_scan(q, True)
    fast = metrics.scan(q)
    monkeypatch.setattr(metrics, "MIN_FRAMES_PER_WORKER", 5)
    parallel = metrics.scan(q, workers=2)
    for other in (fast, parallel):
        np.testing.assert_array_equal(other.collision, plain.collision)
        np.testing.assert_array_equal(other.collision_hands, plain.collision_hands)
        np.testing.assert_array_equal(other.geom_pos_w, plain.geom_pos_w)
        np.testing.assert_array_equal(other.geom_zrow, plain.geom_zrow)
        np.testing.assert_array_equal(other.keypoint_pos_w, plain.keypoint_pos_w)
    assert plain.collision[11:14].all()  # the folded-arm frames (10 copies frame 9)


# ------------------------------------------------------------------------ ground contact
def test_lowest_point_matches_every_mesh_vertex():
    """Hull vertices + analytic shapes give the same lowest point as all raw vertices."""
    model = kinematic_model()
    data = mujoco.MjData(model)
    rng = np.random.default_rng(3)
    ranges = joint_ranges(model)
    qpos = np.zeros((5, 36))
    qpos[:, 2] = 0.5
    qpos[:, 3:7] = rng.normal(size=(5, 4))
    qpos[:, 3:7] /= np.linalg.norm(qpos[:, 3:7], axis=1, keepdims=True)
    qpos[:, 7:] = rng.uniform(ranges[:, 0], ranges[:, 1], (5, 29))
    sc = metrics.scan(qpos, self_collision=False)
    fast = geometry.lowest_point_z(sc.geom_pos_w, sc.geom_zrow, below=10.0)
    geo = geometry.collision_geometry()
    for t in range(5):
        data.qpos[:] = qpos[t]
        mujoco.mj_kinematics(model, data)
        lows = []
        for g in geo.coll:
            pos, mat = data.geom_xpos[g], data.geom_xmat[g].reshape(3, 3)
            if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_MESH:
                m = model.geom_dataid[g]
                v = model.mesh_vert[
                    model.mesh_vertadr[m] : model.mesh_vertadr[m] + model.mesh_vertnum[m]
                ]
                lows.append((pos + v @ mat.T)[:, 2].min())
            elif model.geom_type[g] == mujoco.mjtGeom.mjGEOM_SPHERE:
                lows.append(pos[2] - model.geom_size[g, 0])
            else:  # cylinder: sample its rim densely
                r, h = model.geom_size[g, :2]
                a = np.linspace(0, 2 * np.pi, 2000)
                ring = np.stack([r * np.cos(a), r * np.sin(a), np.zeros_like(a)], 1)
                pts = np.concatenate([ring + [0, 0, h], ring - [0, 0, h]])
                lows.append((pos + pts @ mat.T)[:, 2].min())
        assert fast[t] == pytest.approx(min(lows), abs=1e-5)


def test_body_pushed_under_the_floor_by_a_known_depth(ground_z):
    n = 10
    z = np.full(n, ground_z)
    z[3:6] -= 0.04  # 3 frames 4 cm under
    z[6] -= 0.005  # within tolerance: depth counted in the max only if deepest
    m = stand_motion(n).replace(root_pos=np.stack([np.zeros(n), np.zeros(n), z], 1))
    s = metrics.score(m, self_collision=False)
    assert s["penetration_max_m"] == pytest.approx(0.04, abs=1e-9)
    assert s["penetration_pct"] == pytest.approx(30.0)
    on_floor = metrics.score(stand_motion(5, z=ground_z), self_collision=False)
    assert on_floor["penetration_max_m"] == pytest.approx(0.0, abs=1e-9)
    assert on_floor["float_pct"] == 0.0


def test_floating_motion(ground_z):
    n = 10
    z = np.full(n, ground_z)
    z[:4] += 0.2  # 4 frames 20 cm up
    z[4:7] += 0.05  # 5 cm up: not floating
    m = stand_motion(n).replace(root_pos=np.stack([np.zeros(n), np.zeros(n), z], 1))
    assert metrics.score(m, self_collision=False)["float_pct"] == pytest.approx(40.0)


def test_sliding_foot_at_a_known_speed(ground_z):
    n, v = 30, 0.3  # [m/s] along x
    x = v * np.arange(n) / FPS
    m = stand_motion(n).replace(root_pos=np.stack([x, np.zeros(n), np.full(n, ground_z)], 1))
    assert metrics.score(m, self_collision=False)["foot_skate_mps"] == pytest.approx(v)
    still = metrics.score(stand_motion(n, z=ground_z), self_collision=False)
    assert still["foot_skate_mps"] == pytest.approx(0.0, abs=1e-12)
    air = metrics.score(stand_motion(n, z=ground_z + 0.3), self_collision=False)
    assert math.isnan(air["foot_skate_mps"])


# ------------------------------------------------------------------------------ fidelity
def human_from_robot(robot: RobotMotion, height: float, offset=(0.0, 0.0, 0.0)) -> HumanMotion:
    """A human whose scaled keypoints are exactly the robot's mapped bodies (+ ``offset``)."""
    kp = robot.body_pos_w[:, [spec.body_index(b) for _, b in metrics.KEYPOINT_MAP]]
    s = metrics.G1_HEIGHT_M / height
    origin = np.array([kp[0, 0, 0], kp[0, 0, 1], 0.0])
    pos = np.repeat(kp[:, :1], len(SMPL_JOINT_NAMES), axis=1)  # unmapped joints: at the pelvis
    for (joint, _), p in zip(metrics.KEYPOINT_MAP, np.moveaxis(kp, 1, 0), strict=True):
        pos[:, SMPL_JOINT_NAMES.index(joint)] = origin + (p + offset - origin) / s
    quat = np.tile([1.0, 0, 0, 0], (robot.n_frames, len(SMPL_JOINT_NAMES), 1))
    return HumanMotion(robot.fps, SMPL_JOINT_NAMES, pos, quat, height, source="test")


def walking_robot(n: int = 20) -> RobotMotion:
    t = np.arange(n) / FPS
    jp = np.tile(spec.STAND_JOINT_POS, (n, 1))
    jp[:, J("left_hip_pitch_joint")] = 0.4 * np.sin(2 * np.pi * t)
    jp[:, J("right_elbow_joint")] = 1.0 + 0.3 * np.sin(2 * np.pi * t)
    root = np.stack([0.5 * t + 1.0, 0.2 * t, np.full(n, 0.78)], 1)
    quat = np.tile([np.cos(0.2), 0, 0, np.sin(0.2)], (n, 1))
    return RobotMotion(FPS, root, quat, jp)


@pytest.mark.parametrize("height", [metrics.G1_HEIGHT_M, 1.75])
def test_mpjpe_of_a_motion_against_its_own_keypoints_is_zero(height):
    robot = walking_robot()
    s = metrics.score(robot, human_from_robot(robot, height), self_collision=False)
    assert s["mpjpe_m"] == pytest.approx(0.0, abs=1e-9)
    assert s["w_mpjpe_m"] == pytest.approx(0.0, abs=1e-9)


def test_world_offset_shows_in_w_mpjpe_only():
    robot = walking_robot()
    # s = 1: the offset is neither scaled nor moves the scaling origin
    human = human_from_robot(robot, metrics.G1_HEIGHT_M, offset=(0.1, 0.0, 0.0))
    s = metrics.score(robot, human, self_collision=False)
    assert s["w_mpjpe_m"] == pytest.approx(0.1, abs=1e-9)
    assert s["mpjpe_m"] == pytest.approx(0.0, abs=1e-9)


def test_mpjpe_resamples_a_human_at_another_rate():
    robot = walking_robot(31)
    human = human_from_robot(robot, 1.7)
    # robot at half the rate, scored at that rate: only the human is resampled
    s = metrics.score(robot[::2], human, self_collision=False, fps=FPS / 2)
    assert s["w_mpjpe_m"] == pytest.approx(0.0, abs=1e-9)


def test_score_columns_and_nan_without_human():
    s = metrics.score(stand_motion(5))
    assert tuple(s) == metrics.METRIC_COLUMNS
    assert math.isnan(s["mpjpe_m"]) and math.isnan(s["w_mpjpe_m"])
    assert all(isinstance(v, float) for v in s.values())
    assert s["self_collision_pct"] == 0.0 and s["joint_limit_pct"] == 0.0


@pytest.mark.shared_data
def test_scores_the_original_gmr_output(shared_motions):
    from nmr_gym.io import load_robot_motion

    path = shared_motions / "robot" / "gmr_lafan1" / "dance1_subject2.pkl"
    s = metrics.score(load_robot_motion(path, trusted=True)[:600])
    assert all(np.isfinite(s[c]) for c in metrics.METRIC_COLUMNS if "mpjpe" not in c)
    full = load_robot_motion(path, trusted=True)
    # the README of that folder: 16.5% jump frames on dance1_subject2 (wrist/shoulder flips)
    assert metrics.joint_jump(full.joint_pos, full.fps)[0] == pytest.approx(16.5, abs=0.1)
