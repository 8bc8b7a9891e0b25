"""PHUMA-style retargeter: FK against MuJoCo, each loss term, contacts, filters, init, windows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import retargeters
from nmr_gym import rotations as rot
from nmr_gym import skeleton as sk
from nmr_gym.g1 import kinematic_model, spec
from nmr_gym.motion import HumanMotion, RobotMotion
from nmr_gym.motion.robot import forward_kinematics
from retargeters.phuma import filters
from retargeters.phuma import losses as L
from retargeters.phuma.adaptation import (
    KEYPOINTS,
    PELVIS_FRAME_OFFSET,
    SCALE_GROUPS,
    adapt,
    foot_contact_spheres,
    range_98,
)
from retargeters.phuma.contacts import detect_foot_contacts
from retargeters.phuma.init import JOINT_GROUPS, _group_plans, initial_joint_pos
from retargeters.phuma.optimize import blend_weights, window_starts
from retargeters.phuma.torch_fk import G1TorchFK

T64 = torch.float64


def _random_qpos(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lo, hi = kinematic_model().jnt_range[1:].T
    q = rng.uniform(lo, hi, (n, spec.NUM_JOINTS))
    root = rng.normal(size=(n, 3))
    quat = rot.normalize(rng.normal(size=(n, 4)))
    return np.concatenate([root, quat, q], axis=1)


def _standing_human(n: int = 60, fps: float = 30.0, height: float = 1.7) -> HumanMotion:
    """A T-pose human standing still facing +x, feet on the floor (built with skeleton FK)."""
    local = np.tile(rot.IDENTITY_WXYZ, (n, sk.NUM_JOINTS, 1))
    root_quat = np.tile(sk.REST_QUAT_FACING_X, (n, 1))
    root = np.tile([0.0, 0.0, sk.rest_pelvis_height(height)], (n, 1))
    pos, quat = sk.forward_kinematics(root, root_quat, local, sk.rest_offsets(height))
    return HumanMotion(fps, sk.SMPL_JOINT_NAMES, pos, quat, height, source="standing")


def _walking_human(n: int = 90, fps: float = 30.0) -> HumanMotion:
    """A simple procedural walk: hips and knees swing, arms hang and swing, pelvis advances."""
    t = np.arange(n) / fps
    ph = 2 * np.pi * t
    aa = np.zeros((n, sk.NUM_JOINTS, 3))
    aa[:, 1, 0], aa[:, 2, 0] = -0.4 * np.sin(ph), 0.4 * np.sin(ph)
    aa[:, 4, 0] = 0.6 * np.maximum(0, np.sin(ph + 1.0))
    aa[:, 5, 0] = 0.6 * np.maximum(0, -np.sin(ph + 1.0))
    aa[:, 16, 2], aa[:, 17, 2] = -1.2, 1.2
    aa[:, 16, 0], aa[:, 17, 0] = 0.3 * np.sin(ph), -0.3 * np.sin(ph)
    local = rot.from_axis_angle(aa)
    root_quat = np.tile(sk.REST_QUAT_FACING_X, (n, 1))
    root = np.stack([0.8 * t, 0 * t, np.full(n, sk.rest_pelvis_height() - 0.03)], axis=1)
    pos, quat = sk.forward_kinematics(root, root_quat, local, sk.rest_offsets())
    pos[..., 2] -= pos[:, [7, 8, 10, 11], 2].min()
    return HumanMotion(fps, sk.SMPL_JOINT_NAMES, pos, quat, sk.DEFAULT_HEIGHT, source="walk")


# ------------------------------------------------------------------------------------ FK
def test_torch_fk_matches_mujoco_on_random_poses():
    qpos = _random_qpos(64, seed=0)
    pos_mj, quat_mj = forward_kinematics(kinematic_model(), qpos)
    fk = G1TorchFK(dtype=T64)
    pos, R = fk(*(torch.as_tensor(x) for x in (qpos[:, :3], qpos[:, 3:7], qpos[:, 7:])))
    assert np.abs(pos.numpy() - pos_mj).max() < 1e-5
    assert np.abs(R.numpy() - rot.to_matrix(quat_mj)).max() < 1e-5


def test_torch_fk_batches_leading_dims_and_has_gradients():
    qpos = _random_qpos(6, seed=1).reshape(2, 3, -1)
    fk = G1TorchFK(dtype=T64)
    q = torch.as_tensor(qpos[..., 7:]).requires_grad_(True)
    pos, _ = fk(torch.as_tensor(qpos[..., :3]), torch.as_tensor(qpos[..., 3:7]), q)
    assert pos.shape == (2, 3, spec.NUM_BODIES, 3)
    pos[..., spec.body_index("left_wrist_yaw_link"), 0].sum().backward()
    assert q.grad is not None and q.grad.abs().sum() > 0


# -------------------------------------------------------------------------------- losses
def test_joint_range_hinge_zero_inside_98_percent_positive_outside():
    lim = torch.as_tensor(range_98(), dtype=T64)
    inside = (lim[:, 0] + 0.5 * (lim[:, 1] - lim[:, 0]))[None].repeat(4, 1)
    assert L.joint_range_hinge(inside, lim[:, 0], lim[:, 1]) == 0.0
    edge = lim[:, 1][None].clone()
    assert L.joint_range_hinge(edge, lim[:, 0], lim[:, 1]) == 0.0
    full = torch.as_tensor(kinematic_model().jnt_range[1:, 1], dtype=T64)[None]
    assert L.joint_range_hinge(full, lim[:, 0], lim[:, 1]) > 0.0  # at the real limit: outside 98%
    assert L.joint_range_hinge(lim[:, 0][None] - 0.1, lim[:, 0], lim[:, 1]) == pytest.approx(0.1)


def test_smoothness_zero_for_linear_positive_for_jerky():
    t = torch.linspace(0, 1, 20, dtype=T64)[:, None]
    linear = 0.3 + 2.0 * t.repeat(1, 29)
    assert L.second_difference(linear) == pytest.approx(0.0, abs=1e-20)
    jerky = linear.clone()
    jerky[10] += 0.1
    assert L.second_difference(jerky) > 0.0


def test_velocity_hinge_zero_below_limit_positive_above():
    dt = 1 / 30
    limit = torch.full((29,), 10.0, dtype=T64)
    slow = torch.arange(5, dtype=T64)[:, None].repeat(1, 29) * 9.0 * dt
    fast = torch.arange(5, dtype=T64)[:, None].repeat(1, 29) * 12.0 * dt
    assert L.velocity_hinge(slow, limit, dt) == 0.0
    assert L.velocity_hinge(fast, limit, dt) == pytest.approx(2.0)


def test_contact_skating_zero_for_still_foot_positive_for_sliding():
    contact = torch.ones(10, 4, dtype=T64)
    still = torch.zeros(10, 4, 2, dtype=T64) + 0.3
    assert L.contact_skating(still, contact, 1 / 30) == pytest.approx(0.0, abs=1e-4)
    sliding = still + torch.arange(10, dtype=T64)[:, None, None] * 0.01  # 0.3 m/s per axis
    assert L.contact_skating(sliding, contact, 1 / 30) == pytest.approx(0.3 * np.sqrt(2), rel=1e-4)
    assert L.contact_skating(sliding, contact * 0, 1 / 30) == 0.0  # no contact, no cost


def test_contact_height_only_counts_contact_frames():
    z = torch.tensor([[0.0, 0.02], [0.05, 0.0]], dtype=T64)
    c = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=T64)
    assert L.contact_height(z, c) == 0.0
    assert L.contact_height(z, 1 - c) == pytest.approx((0.02**2 + 0.05**2) / 4)


def test_ground_penetration_only_below_floor():
    assert L.ground_penetration(torch.tensor([0.0, 0.1], dtype=T64)) == 0.0
    assert L.ground_penetration(torch.tensor([-0.02, 0.1], dtype=T64)) == pytest.approx(0.01)


def test_keypoint_and_bone_losses():
    a = torch.randn(5, 7, 3, dtype=T64)
    assert L.keypoint_l1(a, a) == 0.0
    assert L.keypoint_l1(a + 0.1, a) == pytest.approx(0.1)
    assert L.bone_direction_length(a, a) == pytest.approx(0.0, abs=1e-6)
    assert L.bone_direction_length(a, 2 * a) > 0.0  # same direction, other length
    assert L.bone_direction_length(a, -a) > 1.9  # opposite direction
    assert L.scale_regularisation(torch.ones(3, 10, dtype=T64)) == 0.0
    assert L.scale_regularisation(torch.full((10,), 1.1, dtype=T64)) > 0.0


#: PHUMA's loss weights and full schedule as the PHUMA paper states them (PhySINK).
PHUMA_WEIGHTS = {"keypoint": 0.1, "bone": 2.0, "smooth": 0.05, "scale": 0.001,
                 "joint_limit": 1000.0, "velocity_limit": 1000.0, "foot_height": 10.0,
                 "foot_skate": 0.002}  # fmt: skip


def test_the_registered_method_runs_phumas_weights_and_schedule():
    """What ``make("phuma")`` records in its options (and so in every result) is PHUMA's."""
    opts = retargeters.make("phuma", schedule="full").options()
    assert {k: opts["weights"][k] for k in PHUMA_WEIGHTS} == PHUMA_WEIGHTS
    assert (opts["iterations"], opts["lr"], opts["tol"]) == (3000, 0.005, 0.0)
    # A dict of weights overrides only the terms it names (the extras not in PHUMA, here).
    off = retargeters.make("phuma", weights={"ground": 0.0, "foot_orientation": 0.0}).options()
    assert off["weights"] == {**opts["weights"], "ground": 0.0, "foot_orientation": 0.0}


def test_axis_alignment_zero_when_aligned_two_when_opposite():
    a = torch.nn.functional.normalize(torch.randn(4, 6, 2, 3, dtype=T64), dim=-1)
    assert L.axis_alignment(a, a) == pytest.approx(0.0, abs=1e-12)
    assert L.axis_alignment(a, -a) == pytest.approx(2.0)
    tilted = torch.tensor([0.0, np.cos(0.2), np.sin(0.2)], dtype=T64)
    assert L.axis_alignment(tilted, torch.tensor([0.0, 1.0, 0.0], dtype=T64)) == pytest.approx(
        1 - np.cos(0.2)
    )


def test_range_fraction_and_margin_shrink_the_range():
    full = range_98(fraction=1.0)
    assert np.allclose(full, kinematic_model().jnt_range[1:])
    r98 = range_98()
    width = full[:, 1] - full[:, 0]
    assert np.allclose(r98[:, 1] - r98[:, 0], 0.98 * width)
    m = range_98(margin=0.06)
    assert np.allclose(m[:, 0], r98[:, 0] + 0.06) and np.allclose(m[:, 1], r98[:, 1] - 0.06)
    with pytest.raises(ValueError, match="range_fraction"):
        retargeters.make("phuma", range_fraction=1.5)


def test_limit_margin_keeps_joints_inside():
    human = _walking_human(30)
    robot = retargeters.make("phuma", iterations=5, limit_margin=0.06)(human)
    lim = kinematic_model().jnt_range[1:]
    assert np.all(robot.joint_pos >= lim[:, 0] + 0.06) and np.all(
        robot.joint_pos <= lim[:, 1] - 0.06
    )


def test_flat_feet_slopes_match_and_sole_is_flat_at_zero_pose():
    """SMPL's rest ankle -> ball slope (built-in skeleton) equals the G1's flat-sole keypoint
    slope, and the G1 sole spheres are level in the ankle-roll frame (flat at zero pose)."""
    from retargeters.phuma.adaptation import flat_foot_pitch, g1_flat_foot_slope

    off = sk.rest_offsets(1.7)[sk.SMPL_JOINT_NAMES.index("left_foot")]  # (x left, y up, z fwd)
    human_slope = np.arctan2(-off[1], np.hypot(off[0], off[2]))
    assert g1_flat_foot_slope() == pytest.approx(human_slope, abs=np.radians(1.0))
    _, centre, _, _ = foot_contact_spheres()
    assert np.ptp(centre[:, 2]) == 0.0
    human = _standing_human()
    c = detect_foot_contacts(human)
    assert np.allclose(flat_foot_pitch(human, c), g1_flat_foot_slope() - human_slope)
    assert np.all(flat_foot_pitch(human, np.zeros_like(c)) == 0.0)  # no stance: no change


def test_rest_alignment_gives_the_g1_rest_geometry():
    from retargeters.phuma.adaptation import (
        g1_tpose_keypoints,
        human_rest_keypoints,
        layout,
        rest_align,
    )

    human = _standing_human(3)
    lay = layout()
    hk = human.joint_pos[:, lay.human_index]
    assert np.allclose(human_rest_keypoints(human), hk[0] - hk[0, 0], atol=1e-12)
    aligned, g = rest_align(human, hk)[0], g1_tpose_keypoints()
    hb = aligned[lay.bone_child] - aligned[lay.bone_parent]
    gb = g[lay.bone_child] - g[lay.bone_parent]
    cos = np.sum(hb * gb, axis=1) / np.linalg.norm(hb, axis=1) / np.linalg.norm(gb, axis=1)
    assert np.all(cos > 1 - 1e-9)  # same directions as the G1 T-pose
    assert np.allclose(np.linalg.norm(hb, axis=1), np.linalg.norm(hk[0, lay.bone_child]
                       - hk[0, lay.bone_parent], axis=1))  # fmt: skip  # human lengths kept


def test_standing_human_gives_flat_g1_ankles():
    robot = retargeters.make("phuma", iterations=60)(_standing_human(30))
    ankles = [spec.joint_index(f"{s}_ankle_{a}_joint") for s in ("left", "right")
              for a in ("pitch", "roll")]  # fmt: skip
    assert np.abs(robot.joint_pos[:, ankles]).max() < 0.05


def test_foot_lateral_axes_follow_the_human_feet():
    a = adapt(_standing_human(5))
    # T-pose facing +x: both foot lateral axes point to world +y (left).
    assert np.allclose(a.foot_lateral, [0.0, 1.0, 0.0], atol=1e-9)


# ----------------------------------------------------------- adaptation, contacts, filters
def test_keypoint_table_and_symmetric_scales():
    assert len(SCALE_GROUPS) == 10
    human = _standing_human()
    a = adapt(human)
    assert a.group_scale.shape == (len(SCALE_GROUPS),) and np.all(a.group_scale > 0.3)
    # T-pose facing +x: the G1 pelvis is upright, facing +x.
    assert np.allclose(a.root_quat, rot.IDENTITY_WXYZ, atol=1e-9)
    assert np.allclose(rot.multiply(sk.REST_QUAT_FACING_X, PELVIS_FRAME_OFFSET), [1, 0, 0, 0])
    kp = a.scaled_keypoints()
    names = [k[0] for k in KEYPOINTS]
    left, right = kp[0, names.index("left_hand")], kp[0, names.index("right_hand")]
    assert left[1] == pytest.approx(-right[1]) and left[2] == pytest.approx(right[2])


def test_foot_spheres_come_from_the_model():
    body, centre, radius, kind = foot_contact_spheres()
    assert len(body) == 8 and set(kind) == {0, 1}
    assert np.all(centre[kind == 0, 0] < 0) and np.all(centre[kind == 1, 0] > 0)


def test_contacts_still_feet_on_floor_and_none_when_lifted():
    human = _standing_human()
    assert detect_foot_contacts(human).min() == 1.0
    lifted = human.replace(joint_pos=human.joint_pos + [0.0, 0.0, 0.3])
    assert detect_foot_contacts(lifted).max() == 0.0
    t = np.arange(human.n_frames)[:, None, None] / human.fps
    sliding = human.replace(joint_pos=human.joint_pos + t * [2.0, 0.0, 0.0])  # 2 m/s
    assert detect_foot_contacts(sliding).max() == 0.0


def test_lowpass_keeps_slow_removes_fast_and_clip():
    fps = 30.0
    t = np.arange(300) / fps
    slow, fast = np.sin(2 * np.pi * 0.5 * t), 0.5 * np.sin(2 * np.pi * 12.0 * t)
    out = filters.lowpass((slow + fast)[:, None], fps, 6.0)[:, 0]
    assert np.abs(out - slow)[30:-30].max() < 0.02
    lim = range_98()
    q = np.tile(kinematic_model().jnt_range[1:, 1], (3, 1))
    assert np.all(filters.clip_to_range(q, lim) <= lim[:, 1])


# ---------------------------------------------------------------------------------- init
def test_analytic_init_recovers_g1_poses():
    """A human whose segments rotate exactly as a G1 pose's links gives back that pose."""
    from scipy.interpolate import CubicSpline

    rng = np.random.default_rng(3)
    n, lim = 90, range_98()
    keys = rng.uniform(0.75 * lim[:, 0] + 0.25 * lim[:, 1], 0.25 * lim[:, 0] + 0.75 * lim[:, 1],
                       (4, spec.NUM_JOINTS))  # fmt: skip
    q = CubicSpline(np.linspace(0, n - 1, 4), keys)(np.arange(n))
    q = np.clip(q, lim[:, 0], lim[:, 1])
    root_quat = rot.from_axis_angle(rng.normal(scale=0.5, size=(n, 3)))
    robot = RobotMotion(30.0, np.zeros((n, 3)), root_quat, q)
    hq = np.tile(sk.REST_QUAT_FACING_X, (n, sk.NUM_JOINTS, 1))
    hq[:, 0] = rot.multiply(robot.root_quat, rot.conjugate(PELVIS_FRAME_OFFSET))
    rest = rot.to_matrix(sk.REST_QUAT_FACING_X)
    for plan, _group in zip(_group_plans(), JOINT_GROUPS, strict=True):
        jidx, rest_end, hc = plan[0], plan[5], plan[7]
        link = rot.to_matrix(robot.body_quat_w[:, jidx[-1] + 1])
        hq[:, hc] = rot.from_matrix(link @ rest_end.T @ rest)
    human = HumanMotion(30.0, sk.SMPL_JOINT_NAMES, np.zeros((n, 24, 3)), hq, 1.7)
    assert np.abs(initial_joint_pos(human) - q).max() < 1e-6


# ------------------------------------------------------------------------ the retargeter
def test_windows_cover_and_blend_to_one():
    starts, length = window_starts(200, 60, 20)
    assert starts[0] == 0 and starts[-1] + length == 200
    w = blend_weights(starts, length, 200, 20)
    total = np.zeros(200)
    for s, wi in zip(starts, w, strict=True):
        total[s : s + length] += wi
    assert np.all(total > 0.0) and w.min() > 0.0
    assert window_starts(50, 60, 20) == ([0], 50)


def test_produces_a_valid_motion():
    human = _walking_human(60)
    r = retargeters.make("phuma", iterations=15)
    robot = r(human)
    assert isinstance(robot, RobotMotion)
    assert robot.n_frames == human.n_frames and robot.fps == human.fps
    lim = range_98()
    assert np.all(robot.joint_pos >= lim[:, 0] - 1e-9) and np.all(
        robot.joint_pos <= lim[:, 1] + 1e-9
    )
    assert np.abs(np.diff(robot.joint_pos, axis=0)).max() <= 0.5  # no joint jumps
    assert robot.metadata["retargeter"] == "phuma"


def test_rejects_non_canonical_skeleton():
    from nmr_gym.errors import MotionError

    human = _standing_human(5)
    odd = HumanMotion(30.0, [f"j{i}" for i in range(24)], human.joint_pos, human.joint_quat, 1.7)
    with pytest.raises(MotionError, match="24 canonical"):
        retargeters.make("phuma")(odd)


def test_optimisation_lowers_the_loss():
    human = _walking_human(60)
    r = retargeters.make("phuma", iterations=40, tol=0.0, filter=False)
    r(human)
    first = retargeters.make("phuma", iterations=1, tol=0.0, filter=False)
    first(human)
    assert r.last_info["final_loss"][0] < first.last_info["final_loss"][0]


def test_windowed_and_whole_clip_agree():
    """Tolerance: windows of 40 frames (overlap 20) vs one 90-frame window, 30 iterations:
    joints agree to 0.05 rad on average and 0.25 rad at worst (each window solves its own
    problem, with its own edge effects and scale multipliers), root to 2 cm."""
    human = _walking_human(90)
    opts = dict(iterations=30, tol=0.0)
    whole = retargeters.make("phuma", window=200, **opts)(human)
    windowed = retargeters.make("phuma", window=40, overlap=20, **opts)(human)
    dq = np.abs(whole.joint_pos - windowed.joint_pos)
    assert dq.mean() < 0.05 and dq.max() < 0.25
    assert np.abs(whole.root_pos - windowed.root_pos).max() < 0.02


def test_deterministic_for_a_seed():
    human = _walking_human(45)
    a = retargeters.make("phuma", iterations=10, seed=7)(human)
    b = retargeters.make("phuma", iterations=10, seed=7)(human)
    assert np.array_equal(a.joint_pos, b.joint_pos) and np.array_equal(a.root_pos, b.root_pos)


def test_bad_options_raise():
    with pytest.raises(ValueError, match="schedule"):
        retargeters.make("phuma", schedule="slow")
    with pytest.raises(ValueError, match="window"):
        retargeters.make("phuma", window=10, overlap=10)
    with pytest.raises(ValueError, match="max_step"):
        retargeters.make("phuma", max_step=0.0)


# ----------------------------------------------------------------------- joint jumps (issue 6)
def test_limit_steps_bounds_steps_centres_the_ramp_and_keeps_smooth_input():
    t = np.arange(40)
    smooth = np.stack([0.1 * np.sin(0.2 * t), 0.02 * t], axis=1)
    assert np.allclose(filters.limit_steps(smooth, 0.3), smooth)
    step = np.where(t[:, None] < 20, 0.0, [2.0, -1.5])  # (40, 2): a 2 rad and a -1.5 rad jump
    out = filters.limit_steps(step, np.array([0.4, 0.2]))
    assert np.all(np.abs(np.diff(out, axis=0)) <= np.array([0.4, 0.2]) + 1e-12)
    assert np.allclose(out[[0, -1]], step[[0, -1]])  # far from the jump: unchanged
    assert np.allclose(out[19] + out[20], step[19] + step[20])  # ramp centred on the jump


def _snapping_human(fps: float) -> HumanMotion:
    """The walk with a left elbow that snaps 1.6 rad in one frame and back (a fast punch at a
    low frame rate; the real clips' 30 fps dances and punches have 0.6-2 rad steps)."""
    walk = _walking_human(int(3 * fps), fps)
    aa = np.zeros((walk.n_frames, sk.NUM_JOINTS, 3))
    aa[:, 16, 2], aa[:, 17, 2] = -1.2, 1.2
    n = walk.n_frames
    aa[n // 3 : 2 * n // 3, sk.SMPL_JOINT_NAMES.index("left_elbow"), 1] = 1.6
    local = rot.from_axis_angle(aa)
    root_quat = np.tile(sk.REST_QUAT_FACING_X, (n, 1))
    root = walk.joint_pos[:, 0] - (walk.joint_pos[0, 0] - [0, 0, sk.rest_pelvis_height() - 0.03])
    pos, quat = sk.forward_kinematics(root, root_quat, local, sk.rest_offsets())
    pos[..., 2] -= pos[:, [7, 8, 10, 11], 2].min()
    return HumanMotion(fps, sk.SMPL_JOINT_NAMES, pos, quat, sk.DEFAULT_HEIGHT, source="snap")


@pytest.mark.parametrize("fps", [30.0, 24.0])
def test_no_joint_jumps_on_a_snapping_elbow(fps):
    from benchmark.metrics import JUMP_THRESHOLD_RAD
    from retargeters.phuma.adaptation import VELOCITY_LIMIT

    human = _snapping_human(fps)
    off = retargeters.make("phuma", iterations=10, max_step=None)(human)
    assert np.abs(np.diff(off.joint_pos, axis=0)).max() > JUMP_THRESHOLD_RAD  # the input jumps
    robot = retargeters.make("phuma", iterations=10)(human)
    steps = np.abs(np.diff(robot.joint_pos, axis=0))  # (T-1, 29)
    bound = np.minimum(filters.MAX_STEP_RAD, VELOCITY_LIMIT / fps)
    assert np.all(steps <= bound + 1e-9) and filters.MAX_STEP_RAD < JUMP_THRESHOLD_RAD
    elbow = spec.joint_index("left_elbow_joint")
    mid = robot.n_frames // 2  # the snap itself is kept, only spread over a few frames
    assert abs(robot.joint_pos[mid, elbow] - off.joint_pos[mid, elbow]) < 0.05
