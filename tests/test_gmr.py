"""GMR's tables, scaling/offsets and IK, and ``gmr-safe`` (GMR with its limits enforced):
IK limits, ground, determinism, collision avoidance. The published ``gmr`` is tested in
``tests/test_gmr_published.py``."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

import retargeters
from nmr_gym import rotations as rot
from nmr_gym import skeleton as sk
from nmr_gym.errors import MotionError, UnknownNameError
from nmr_gym.g1 import kinematic_model, spec
from nmr_gym.g1.geometry import lowest_point_z_of_qpos
from nmr_gym.motion import HumanMotion
from retargeters.gmr import ik
from retargeters.gmr.scaling import apply_offsets, body_targets, human_height, scale_positions
from retargeters.gmr.tables import available_tables, load_table, table_for_skeleton

FPS = 30.0


def make_human(
    n_frames: int = 20,
    amp: float = 0.0,
    seed: int = 0,
    height: float = 1.7,
    local: np.ndarray | None = None,
) -> HumanMotion:
    """Built-in skeleton facing +x walking forward; T-pose when amp = 0."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames) / FPS
    if local is None:
        freq = rng.uniform(0.3, 1.2, (sk.NUM_JOINTS, 3))
        phase = rng.uniform(0.0, 2 * np.pi, (sk.NUM_JOINTS, 3))
        rotvec = amp * np.sin(2 * np.pi * freq[None] * t[:, None, None] + phase[None])
        local = rot.from_axis_angle(rotvec)
    root_q = np.tile(sk.REST_QUAT_FACING_X, (n_frames, 1))
    root_p = np.stack(
        [0.4 * t, np.zeros(n_frames), np.full(n_frames, sk.rest_pelvis_height(height))], axis=-1
    )
    pos, quat = sk.forward_kinematics(root_p, root_q, local, sk.rest_offsets(height))
    return HumanMotion(FPS, sk.SMPL_JOINT_NAMES, pos, quat, height, source="synthetic")


@pytest.fixture(scope="module")
def tpose_robot():
    return retargeters.make("gmr-safe")(make_human(15))


def test_registered():
    assert {"gmr", "gmr-safe"} <= set(retargeters.registered())
    opts = retargeters.make("gmr-safe").options()
    assert opts["damping"] == ik.DAMPING and opts["max_joint_vel"] == ik.MAX_JOINT_VEL


@pytest.mark.parametrize("name", available_tables())
def test_tables_name_only_existing_bodies(name):
    table = load_table(name)
    model = kinematic_model()
    for b in table.bodies:
        assert b.robot_body in spec.BODY_NAMES
        assert mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, b.robot_body) > 0
        if table.human_skeleton == "smpl":
            assert b.human_joint in sk.SMPL_JOINT_NAMES
        assert b.scale > 0 and min(b.stage1_weights + b.stage2_weights) >= 0
    assert len(set(table.robot_bodies)) == len(table.bodies)


def test_table_rotation_offsets_are_the_rest_alignment():
    """q_off = q_rest^-1 ⊗ q_link(G1 T-pose: shoulder roll ±π/2, elbows π/2)."""
    model = kinematic_model()
    data = mujoco.MjData(model)
    data.qpos[3] = 1.0
    for side, sign in (("left", 1.0), ("right", -1.0)):
        data.qpos[7 + spec.joint_index(f"{side}_shoulder_roll_joint")] = sign * np.pi / 2
        data.qpos[7 + spec.joint_index(f"{side}_elbow_joint")] = np.pi / 2
    mujoco.mj_kinematics(model, data)
    for b in load_table("smpl").bodies:  # nmr-gym's canonical joints (not GMR's LAFAN1 bones)
        expected = rot.multiply(
            rot.conjugate(sk.REST_QUAT_FACING_X), data.xquat[model.body(b.robot_body).id]
        )
        assert rot.angle_between(expected, b.rot_offset_wxyz) < 1e-3, b.robot_body


def test_table_choice_and_unknown_table():
    assert table_for_skeleton("LAFAN1") == "lafan1"
    assert table_for_skeleton("bandai_namco") == "bandai_namco"
    assert table_for_skeleton("smplh") == "smpl"
    assert load_table("lafan1").human_height_m == 1.75
    with pytest.raises(UnknownNameError, match="smpl"):
        load_table("nope")
    with pytest.raises(UnknownNameError):
        retargeters.make("gmr-safe", table="nope")


def test_scaling_about_root_on_constructed_pose():
    pos = np.array([[[1.0, 2.0, 1.0], [1.0, 2.5, 1.0], [2.0, 2.0, 0.0]]])  # (1, 3, 3)
    scales = np.array([0.5, 2.0, 0.8])
    out = scale_positions(pos, scales, root=0)
    np.testing.assert_allclose(out[0, 0], [0.5, 1.0, 0.5])  # root: s_root * p
    np.testing.assert_allclose(out[0, 1], [0.5, 2.0, 0.5])  # 2 * (0, .5, 0) + root'
    np.testing.assert_allclose(out[0, 2], [1.3, 1.0, -0.3])  # 0.8 * (1, 0, -1) + root'


def test_offsets_on_constructed_pose():
    quat = rot.from_axis_angle(np.array([[[0.0, 0.0, np.pi / 2]]]))  # 90° about z
    off = rot.from_axis_angle(np.array([[np.pi / 2, 0.0, 0.0]]))  # then 90° about local x
    p, q = apply_offsets(np.zeros((1, 1, 3)), quat, off, np.array([[0.0, 1.0, 0.0]]))
    # q' = Rz(90) Rx(90): local y -> world z
    np.testing.assert_allclose(p[0, 0], [0.0, 0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(rot.rotate(q[0, 0], np.array([1.0, 0, 0])), [0, 1, 0], atol=1e-12)


def test_body_targets_use_height_ratio_and_table_scales():
    human = make_human(3)
    table = load_table("smpl")
    h = human_height(human, table)
    assert h == pytest.approx(1.7)  # no betas, no fixed height: the motion's own
    assert human_height(human.replace(metadata={"betas": [1.0]}), table) == pytest.approx(1.76)
    pos, _ = body_targets(human, table, h)
    root = table.root_index()
    hand = table.robot_bodies.index("left_wrist_yaw_link")
    human_vec = human.joint("left_wrist")[0][0] - human.joint("pelvis")[0][0]
    robot_vec = pos[0, hand] - pos[0, root]
    np.testing.assert_allclose(robot_vec, 0.8 * h / 1.8 * human_vec, atol=1e-12)
    np.testing.assert_allclose(pos[0, root], 0.9 * h / 1.8 * human.joint("pelvis")[0][0])


def test_tpose_gives_arms_out(tpose_robot):
    """T-pose human -> G1 with shoulder roll ±π/2 (arms out sideways) and straight elbows."""
    q = tpose_robot.joint_pos[-1]
    j = spec.joint_index
    assert q[j("left_shoulder_roll_joint")] == pytest.approx(np.pi / 2, abs=0.1)
    assert q[j("right_shoulder_roll_joint")] == pytest.approx(-np.pi / 2, abs=0.1)
    assert q[j("left_elbow_joint")] == pytest.approx(np.pi / 2, abs=0.2)
    hands = tpose_robot.body_pos_w[-1, [spec.body_index(b) for b in spec.HAND_BODIES]]
    assert hands[0, 1] > 0.4 and hands[1, 1] < -0.4  # far out to the sides
    assert np.all(np.abs(hands[:, 2] - tpose_robot.body_pos_w[-1, 0, 2]) < 0.5)


def test_ground_alignment_touches_floor(tpose_robot):
    low = lowest_point_z_of_qpos(tpose_robot.qpos)
    assert low.min() == pytest.approx(0.0, abs=1e-9)
    assert tpose_robot.metadata["retargeter"] == "gmr-safe"


def test_output_fps_and_resampling():
    human = make_human(31, amp=0.2)
    assert retargeters.make("gmr-safe").retarget(human[:8]).fps == FPS
    out = retargeters.make("gmr-safe", fps=15).retarget(human)
    assert out.fps == 15 and out.n_frames == 16


def test_velocity_limit_holds_between_frames():
    """A human that flips its arms between two frames: joints move <= 3π/fps per frame."""
    n = 12
    local = np.tile(rot.IDENTITY_WXYZ, (n, sk.NUM_JOINTS, 1))
    for side, sign in (("left", 1.0), ("right", -1.0)):
        # arms down (about the forward axis z) then, from frame 6, straight up
        angle = np.where(np.arange(n) < 6, -sign * 1.3, sign * 1.4)
        local[:, sk.SMPL_JOINT_NAMES.index(f"{side}_shoulder")] = rot.from_axis_angle(
            np.stack([np.zeros(n), np.zeros(n), angle], axis=-1)
        )
    human = make_human(n, local=local)
    limited = retargeters.make("gmr-safe").retarget(human)
    step = np.abs(np.diff(limited.joint_pos, axis=0)).max()
    assert step <= ik.MAX_JOINT_VEL / FPS + 1e-6
    free = retargeters.make("gmr-safe", max_joint_vel=None).retarget(human)
    assert np.abs(np.diff(free.joint_pos, axis=0)).max() > ik.MAX_JOINT_VEL / FPS + 0.05


def test_joint_limits_hold_with_margin():
    out = retargeters.make("gmr-safe").retarget(make_human(20, amp=1.2, seed=3))
    lo = spec.JOINT_RANGES[:, 0] + ik.LIMIT_MARGIN
    hi = spec.JOINT_RANGES[:, 1] - ik.LIMIT_MARGIN
    assert np.all(out.joint_pos >= lo - 1e-3) and np.all(out.joint_pos <= hi + 1e-3)
    # the clip does push joints to their (margin) limits, so the check above can fail
    assert np.any(
        np.isclose(out.joint_pos, lo, atol=0.02) | np.isclose(out.joint_pos, hi, atol=0.02)
    )


def test_deterministic():
    human = make_human(12, amp=0.5, seed=1)
    a = retargeters.make("gmr-safe").retarget(human)
    b = retargeters.make("gmr-safe").retarget(human)
    np.testing.assert_array_equal(a.qpos, b.qpos)


def test_fast_backend_matches_mink_backend():
    """The hand-assembled QP is the same math as mink.solve_ik."""
    human = make_human(6, amp=0.5, seed=2)
    fast = retargeters.make("gmr-safe").retarget(human)
    ref = retargeters.make("gmr-safe", backend="mink").retarget(human)
    np.testing.assert_allclose(fast.qpos, ref.qpos, atol=1e-6)


def test_non_canonical_human_is_a_clear_error():
    human = make_human(3)
    odd = HumanMotion(
        FPS, [f"j{i}" for i in range(24)], human.joint_pos, human.joint_quat, 1.7, source="odd.npz"
    )
    with pytest.raises(MotionError, match="odd.npz"):
        retargeters.make("gmr-safe").retarget(odd)


@pytest.mark.shared_data
def test_real_clips_retarget(shared_motions):
    """Short slices of real AMASS and BVH clips retarget without error (fast: 40 frames)."""
    from nmr_gym.io import load_human_motion

    paths = [
        "bvh/lafan1/fallAndGetUp1_subject1_680_800.bvh",
        "amass/accad/ACCAD_Female1General_c3d_A2_-Sway_poses.npz",
    ]
    for rel in paths:
        human = load_human_motion(shared_motions / rel)
        human = human.resample(30.0)[:40]
        out = retargeters.make("gmr-safe").retarget(human)
        assert out.n_frames == human.n_frames
        assert np.isfinite(out.qpos).all()


@pytest.mark.slow
@pytest.mark.parametrize("method", ["gmr", "gmr-safe", "direct"])
def test_builtin_suite_retargets(method):
    from nmr_gym.suite import builtin_suite

    retargeter = retargeters.make(method)
    for clip in builtin_suite():
        human = clip.motion()
        out = retargeter.retarget(human)
        assert out.n_frames == human.n_frames and np.isfinite(out.qpos).all(), clip.name


@pytest.mark.slow
@pytest.mark.shared_data
def test_every_shared_clip_retargets(shared_motions):
    """Every AMASS and BVH clip in shared/motions (first 2 s at 30 fps) retargets."""
    from nmr_gym.io import load_human_motion

    retargeter = retargeters.make("gmr-safe", fps=30.0)
    files = sorted(shared_motions.glob("amass/**/*.npz"))
    files += sorted(shared_motions.glob("bvh/**/*.bvh"))
    assert files
    for path in files:
        human = load_human_motion(path)
        human = human[: max(2, int(2.0 * human.fps))]
        out = retargeter.retarget(human)
        assert np.isfinite(out.qpos).all(), path


# A pose (from a real clip's old output) whose right forearm (wrist_pitch_link) is 8 mm
# inside the right hip_roll_link: the state every later frame inherited before the fix.
FOREARM_IN_HIP = {
    "right_hip_pitch_joint": -0.37,
    "right_hip_roll_joint": 0.08,
    "right_hip_yaw_joint": -0.16,
    "right_knee_joint": 1.11,
    "right_shoulder_roll_joint": -0.13,
    "right_shoulder_yaw_joint": 0.44,
    "right_elbow_joint": 1.24,
}


def _forearm_hip_distance(model: mujoco.MjModel, data: mujoco.MjData) -> float:
    def geom(body: str) -> int:
        ids = np.flatnonzero(model.geom_bodyid == model.body(body).id)
        return int(next(g for g in ids if model.geom_contype[g]))

    fromto = np.zeros(6)
    a, b = geom("right_hip_roll_link"), geom("right_wrist_pitch_link")
    return mujoco.mj_geomDistance(model, data, a, b, 0.1, fromto)


def test_collision_limit_guards_arms_against_every_leg_link():
    """Every arm link (hands excepted) is kept apart from every leg link and the trunk."""
    guarded = {frozenset((a, b)) for aa, bb in ik.COLLISION_GROUPS for a in aa for b in bb}
    legs = ("hip_pitch", "hip_roll", "hip_yaw", "knee", "ankle_pitch", "ankle_roll")
    for arm_side in ("left", "right"):
        for leg_side in ("left", "right"):
            for leg in legs:
                for arm in ("shoulder_yaw", "elbow", "wrist_roll", "wrist_pitch"):
                    pair = frozenset((f"{arm_side}_{arm}_link", f"{leg_side}_{leg}_link"))
                    assert pair in guarded, sorted(pair)
        for arm in ("elbow", "wrist_roll", "wrist_pitch"):
            assert frozenset((f"{arm_side}_{arm}_link", "pelvis")) in guarded


def test_ik_pushes_a_penetrating_forearm_out_of_the_hip():
    """A frame that starts in penetration ends separated (mink alone only says 'no deeper')."""
    model = kinematic_model()
    q0 = np.concatenate([[0.0, 0.0, 0.75, 1.0, 0.0, 0.0, 0.0], np.zeros(spec.NUM_JOINTS)])
    for name, value in FOREARM_IN_HIP.items():
        q0[7 + spec.joint_index(name)] = value
    solver = ik.GMRSolver(model, load_table("smpl"), FPS)
    solver.reset(q0)
    assert _forearm_hip_distance(model, solver.data) < -0.005
    closest = solver.collision_limit.linearize(solver.config, recover=True)
    assert closest < -0.005  # the recovery rows see the penetration depth
    assert (solver.collision_limit.rows(solver.config)[1] < 0).any()
    ids = solver.body_ids  # targets = the penetrating pose itself
    q = solver.solve_frame(solver.data.xpos[ids].copy(), solver.data.xquat[ids].copy())
    data = mujoco.MjData(model)
    data.qpos[:] = q
    mujoco.mj_kinematics(model, data)
    assert _forearm_hip_distance(model, data) > -1e-3


@pytest.mark.shared_data
def test_arm_down_clips_have_no_self_collision(shared_motions):
    """Regression: Bandai Namco arm-down clips had forearms inside the hips in 89-100% of
    frames (first-frame penetration kept for the whole clip; hip_pitch_link unguarded)."""
    from benchmark.metrics import score
    from nmr_gym.io import load_human_motion

    for rel, n in (
        ("bvh/bandai_namco/dataset-2_raise-up-left-hand_normal_001.bvh", 30),
        ("bvh/bandai_namco/dataset-1_bye_normal_001.bvh", 40),
    ):
        human = load_human_motion(shared_motions / rel)[:n]
        out = retargeters.make("gmr-safe").retarget(human)
        assert score(out, human)["self_collision_pct"] == 0.0, rel
