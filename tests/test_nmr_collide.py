"""Invariants of NMR's arm self-collision removal (retargeters/nmr/collide.py) and of the shared
self-collision definition (nmr_gym/g1/collision.py)."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from benchmark import metrics
from nmr_gym.g1 import collision, joint_ranges, kinematic_model, spec
from nmr_gym.g1.geometry import collision_geometry
from retargeters.nmr import collide, post
from retargeters.nmr.inference import lowpass

FPS = 30.0
J = spec.JOINT_NAMES
NON_ARM = np.setdiff1d(np.arange(29), collide.ARM_JOINTS)
BOUNDS = post.soft_range(joint_ranges(kinematic_model()))


def _hand_in_thigh() -> np.ndarray:
    """(29,) the left hand pushed into the left thigh (wrist pitch / yaw links 1-2.4 cm deep
    in the hip pitch and hip roll links)."""
    q = np.zeros(29)
    q[J.index("left_hip_pitch_joint")] = -0.4
    q[J.index("left_shoulder_pitch_joint")] = 0.3
    q[J.index("left_elbow_joint")] = 1.0
    return q


def _random_poses(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(BOUNDS[:, 0], BOUNDS[:, 1], (n, 29))


def _qpos(joint_pos: np.ndarray) -> np.ndarray:
    out = np.zeros((len(joint_pos), 36))
    out[:, 2], out[:, 3], out[:, 7:] = 0.8, 1.0, joint_pos
    return out


def _min_over_pairs(
    joint_pos: np.ndarray, group=None, reach: float = 0.05, less_margin: bool = False
) -> np.ndarray:
    """(T,) smallest signed distance [m] over the pairs of ``group`` (None: the arms), less
    each pair's margin (``collide.pair_margins``) when ``less_margin``: >= 0 where every pair
    keeps its margin; ``reach`` where no pair is closer."""
    g = collide.arm_group() if group is None else group
    f, p = collide.candidates(joint_pos, reach, g)
    close = collide.closeness(joint_pos, f, p, reach, g)
    dist = close.dist - (collide.pair_margins(group=g)[close.pair] if less_margin else 0.0)
    out = np.full(len(joint_pos), reach)
    np.minimum.at(out, close.frame, dist)
    return out


def _min_distance(joint_pos: np.ndarray, margin: float = 0.05) -> np.ndarray:
    """(T,) smallest signed distance [m] over the arm pairs (``margin`` where none is closer)."""
    return _min_over_pairs(joint_pos, reach=margin)


def _min_clearance(joint_pos: np.ndarray, reach: float = 0.05) -> np.ndarray:
    """(T,) smallest signed distance minus the pair's margin [m] over the arm pairs."""
    return _min_over_pairs(joint_pos, reach=reach, less_margin=True)


# ------------------------------------------------------------- the shared definition
def test_metric_uses_the_moved_definition_with_the_same_result():
    """The old rule (any contact with no hand body among its two bodies) written out here
    gives the metric's flags on poses with and without hand contacts."""
    q = _qpos(np.concatenate([_random_poses(150), _hand_in_thigh()[None]]))
    scan = metrics._mujoco_scan(q, True)
    m = metrics._collision_model()
    assert m is collision.self_collision_model()
    hand = np.zeros(m.nbody, bool)
    hand[[m.body(b).id for b in spec.HAND_BODIES]] = True
    d = mujoco.MjData(m)
    old, old_h = np.zeros(len(q), bool), np.zeros(len(q), bool)
    for t, qp in enumerate(q):
        d.qpos[:] = qp
        mujoco.mj_kinematics(m, d)
        mujoco.mj_collision(m, d)
        if d.ncon:
            bodies = m.geom_bodyid[d.contact.geom[: d.ncon]]
            old_h[t] = True
            old[t] = not np.all(hand[bodies].any(axis=1))
    np.testing.assert_array_equal(scan.collision, old)
    np.testing.assert_array_equal(scan.collision_hands, old_h)
    assert old.any() and (old_h & ~old).any()  # both rules exercised


def test_self_collision_pairs_hold_every_contact():
    m = collision.self_collision_model()
    pairs = {tuple(p) for p in collision.self_collision_pairs().tolist()}
    d = mujoco.MjData(m)
    seen = 0
    for qp in _qpos(_random_poses(200, seed=1)):
        d.qpos[:] = qp
        mujoco.mj_kinematics(m, d)
        mujoco.mj_collision(m, d)
        for g in d.contact.geom[: d.ncon]:
            assert tuple(sorted(g.tolist())) in pairs
            seen += 1
    assert seen > 0


def test_contact_rule_excludes_hands_only_from_the_main_column():
    hand = [_geom_of("left_hip_roll_link"), _geom_of("left_wrist_yaw_link")]
    wrist = [_geom_of("left_hip_roll_link"), _geom_of("left_wrist_pitch_link")]
    both = np.array([hand, wrist])
    np.testing.assert_array_equal(collision.contact_counts_as_self_collision(both), [False, True])
    assert collision.contact_counts_as_self_collision(both, hands=True).all()


def _geom_of(body: str) -> int:
    m = collision.self_collision_model()
    mask = np.flatnonzero(
        (m.geom_bodyid == m.body(body).id) & ((m.geom_contype != 0) | (m.geom_conaffinity != 0))
    )
    return int(mask[0])


# ------------------------------------------------------------------- kinematics, prefilter
def test_batched_kinematics_matches_mujoco():
    q = _random_poses(20, seed=2)
    pos, rot = collide._fk(q)
    k = collide._kinematics()
    m = collision.self_collision_model()
    d = mujoco.MjData(m)
    for t, qp in enumerate(_qpos(q)):
        d.qpos[:] = qp
        d.qpos[:3] = 0.0
        mujoco.mj_kinematics(m, d)
        np.testing.assert_allclose(pos[:-1, :, t], d.xpos[k.body], atol=1e-12)
        np.testing.assert_allclose(
            rot[:-1, :, :, t], d.xmat[k.body].reshape(-1, 3, 3).transpose(0, 2, 1), atol=1e-12
        )


def test_capsules_contain_their_geoms():
    m = collision.self_collision_model()
    cap = collide._capsules()
    geo = collision_geometry()
    for i, g in enumerate(cap.geom):
        if m.geom_type[g] != mujoco.mjtGeom.mjGEOM_MESH:
            continue
        verts = collide.hull_vertices(geo.hulls[int(np.flatnonzero(geo.coll == g)[0])])
        assert len(verts) >= 4
        body = cap.geom_pos[i] + verts @ cap.geom_rot[i].T  # (n, 3) in the body frame
        rel = body - cap.centre[i]
        a = np.clip(rel @ cap.axis[i], -cap.half[i], cap.half[i])
        dist = np.linalg.norm(rel - np.outer(a, cap.axis[i]), axis=1)
        assert dist.max() <= cap.radius[i] + 1e-9, m.body(m.geom_bodyid[g]).name


def test_prefilter_misses_no_close_pair():
    """Every (frame, pair) closer than the margin by MuJoCo is a prefilter candidate."""
    q = np.concatenate([_random_poses(300, seed=3), _hand_in_thigh()[None]])
    margin = collide.MARGIN_M
    f, p = collide.candidates(q, margin)
    got = set(zip(f.tolist(), p.tolist(), strict=True))
    every_f = np.repeat(np.arange(len(q)), len(collide.arm_pairs()))
    every_p = np.tile(np.arange(len(collide.arm_pairs())), len(q))
    close = collide.closeness(q, every_f, every_p, margin)
    assert len(close.frame) > 10
    assert set(zip(close.frame.tolist(), close.pair.tolist(), strict=True)) <= got


# ------------------------------------------------------------------------ resolution
def test_hand_pushed_into_thigh_is_separated_by_the_margin():
    q = np.repeat(_hand_in_thigh()[None], 15, axis=0)
    assert _min_distance(q).min() < -0.02
    out = collide.resolve_arm_collisions(q, FPS, BOUNDS, lowpass)
    assert _min_clearance(out).min() >= 0.0
    np.testing.assert_array_equal(out[:, NON_ARM], q[:, NON_ARM])
    arm = collide.ARM_JOINTS
    assert np.all(out[:, arm] >= BOUNDS[arm, 0]) and np.all(out[:, arm] <= BOUNDS[arm, 1])
    # only the left arm moves (the right hand is nowhere near)
    right = [J.index(n) for n in J if n.startswith("right_") and "shoulder" in n or "right_wr" in n]
    np.testing.assert_array_equal(out[:, right], q[:, right])


def test_a_clip_gets_no_joint_jump_and_keeps_the_soft_range():
    """The hand sweeps into the thigh and out (2 s, 1 s still before and after); the
    correction ramps in and out."""
    free = _hand_in_thigh()
    free[J.index("left_shoulder_roll_joint")] = 0.6  # arm out to the side
    u = 0.5 - 0.5 * np.cos(np.linspace(0, 2 * np.pi, 60))[:, None]  # 0 -> 1 -> 0
    u = np.concatenate([np.zeros((30, 1)), u, np.zeros((30, 1))])
    q = free + u * (_hand_in_thigh() - free)
    assert _min_distance(q).min() < -0.02
    out = collide.resolve_arm_collisions(q, FPS, BOUNDS, lowpass)
    assert _min_clearance(out).min() >= 0.0
    step = np.abs(np.diff(out, axis=0)).max()
    assert step < metrics.JUMP_THRESHOLD_RAD * 0.5
    assert not metrics.jump_frames(out).any()
    arm = collide.ARM_JOINTS
    assert np.all(out[:, arm] >= BOUNDS[arm, 0]) and np.all(out[:, arm] <= BOUNDS[arm, 1])
    np.testing.assert_array_equal(out[:, NON_ARM], q[:, NON_ARM])
    assert np.array_equal(out[:5], q[:5]) and np.array_equal(out[-5:], q[-5:])  # far frames


def test_collision_free_motion_is_returned_bit_identical():
    q = np.repeat(_hand_in_thigh()[None], 20, axis=0)
    q[:, J.index("left_shoulder_roll_joint")] = 0.6
    q[:, J.index("right_shoulder_roll_joint")] = -0.3  # both upper arms off the torso
    q += np.linspace(0, 0.05, 20)[:, None]
    assert _min_clearance(q).min() > 0.0
    out = collide.resolve_arm_collisions(q, FPS, BOUNDS, lowpass)
    assert np.array_equal(out, q)
    n = len(q)
    kw = dict(ground=False, lock_feet=False, pin_feet=False)
    args = (np.zeros((n, 3)), np.tile([1.0, 0, 0, 0], (n, 1)), q, np.zeros((n, 2, 3)), 0.0, FPS)
    ranges = joint_ranges(kinematic_model())
    on = post.clean_up(*args, ranges, post.CleanUp(**kw, resolve_collisions=True), smooth=lowpass)
    off = post.clean_up(*args, ranges, post.CleanUp(**kw, resolve_collisions=False), smooth=lowpass)
    assert np.array_equal(on[1], off[1]) and np.array_equal(on[0], off[0])


def test_bad_margin_raises():
    with pytest.raises(ValueError, match="margin"):
        collide.resolve_arm_collisions(np.zeros((3, 29)), FPS, BOUNDS, margin=0.0)


def test_option_is_validated_and_reported():
    import retargeters

    with pytest.raises(ValueError, match="resolve_collisions"):
        retargeters.make("nmr", resolve_collisions="yes")
    r = retargeters.make("nmr", resolve_collisions=False)
    assert r.options()["resolve_collisions"] is False
    assert retargeters.make("nmr").options()["resolve_collisions"] is collide.RESOLVE_COLLISIONS


def test_upper_arm_in_the_torso_is_resolved_and_hanging_arms_are_left_alone():
    hanging = np.zeros((20, 29))  # arms straight down: the upper arms 7.8-9.2 mm from the torso
    assert _min_clearance(hanging).min() > 0.0
    assert np.array_equal(collide.resolve_arm_collisions(hanging, FPS, BOUNDS, lowpass), hanging)
    across = hanging.copy()
    across[:, J.index("left_shoulder_roll_joint")] = -0.25  # the left upper arm into the torso
    assert _min_distance(across).min() < 0.0
    out = collide.resolve_arm_collisions(across, FPS, BOUNDS, lowpass)
    assert _min_clearance(out).min() >= 0.0
    np.testing.assert_array_equal(out[:, NON_ARM], across[:, NON_ARM])


def test_solve_keeps_nearby_pairs_apart():
    """One contact to push apart and a nearby pair the push would close: the step meets both
    (``rows . dq >= need``), where the equality solve of the contact alone closes the other."""
    rng = np.random.default_rng(0)
    contact = rng.normal(0, 0.3, 14)
    nearby = -0.8 * contact + rng.normal(0, 0.05, 14)  # moving the contact apart closes this
    rows = np.stack([contact, nearby])
    need = np.array([0.01, -0.002])  # push 1 cm apart; the other may close by 2 mm at most
    alone, _ = collide._solve(rows[:1], need[:1], np.zeros(1, int))
    assert rows[1] @ alone[0] < need[1]  # the old solve: the nearby pair goes into contact
    dq, frames = collide._solve(rows, need, np.zeros(2, int), np.array([True, False]))
    assert list(frames) == [0]
    tol = collide.DAMPING_M**2 * 10  # the damping leaves the contact row a hair short
    assert np.all(rows @ dq[0] >= need - tol)
    # a frame whose rows all push apart gets the plain damped least squares, batched
    free = np.stack([contact, rng.normal(0, 0.3, 14)])
    dq2, _ = collide._solve(free, np.array([0.01, 0.004]), np.zeros(2, int))
    gram = free @ free.T + collide.DAMPING_M**2 * np.eye(2)
    mu = np.linalg.solve(gram, [0.01, 0.004])
    assert np.all(mu >= 0)
    np.testing.assert_allclose(dq2[0], free.T @ mu)


# ----------------------------------------------------------------------------------- legs
LEG = collide.LEG_JOINTS
NON_LEG = np.setdiff1d(np.arange(29), LEG)
LEFT_LEG = LEG[collide.LEG_JOINT_SIDE == 0]
RIGHT_LEG = LEG[collide.LEG_JOINT_SIDE == 1]


def _knees_together(n: int, adduct: float = 0.15) -> np.ndarray:
    """(n, 29) both hips rolled in by ``adduct`` [rad]: at 0.15 the legs overlap by ~0.8 cm."""
    q = np.zeros((n, 29))
    q[:, J.index("left_hip_roll_joint")] = -adduct
    q[:, J.index("right_hip_roll_joint")] = adduct
    return q


def _leg_min_clearance(joint_pos: np.ndarray, reach: float = 0.05) -> np.ndarray:
    """(T,) smallest signed distance minus the pair's margin [m] over the leg pairs."""
    return _min_over_pairs(joint_pos, collide.leg_group(), reach, less_margin=True)


def test_leg_pairs_are_between_the_two_legs_and_apart_from_the_arm_pairs():
    m = collision.self_collision_model()
    names = [[m.body(m.geom_bodyid[g]).name for g in pair] for pair in collide.leg_pairs()]
    assert len(names) > 20
    for a, b in names:
        assert a.split("_", 1)[0] != b.split("_", 1)[0], (a, b)
        for n in (a, b):
            assert n.split("_", 1)[-1].startswith(collide.LEG_LINK_PREFIXES), n
    assert ["left_knee_link", "right_knee_link"] in names
    arm = {tuple(sorted(p)) for p in collide.arm_pairs().tolist()}
    assert not arm & {tuple(sorted(p)) for p in collide.leg_pairs().tolist()}
    assert [spec.JOINT_NAMES[j] for j in LEG] == ["left_hip_roll_joint", "right_hip_roll_joint"]


@pytest.mark.parametrize("group", ["arms", "legs"])
def test_jacobian_rows_match_finite_differences(group):
    """Each row predicts how its pair's distance changes with the group's joints (exact to
    first order for separated convex geoms, whose witness points move smoothly). The legs'
    group is taken with MuJoCo's witness directions (its own rows use the lateral axis)."""
    import dataclasses

    g = collide.arm_group() if group == "arms" else collide.leg_group()
    if g.normal is not None:
        g = dataclasses.replace(g, normal=None)
    if group == "legs":
        q = _knees_together(4, 0.12) + np.linspace(0, 0.02, 4)[:, None] * (np.arange(29) < 12)
    else:
        q = np.repeat(_hand_in_thigh()[None], 4, axis=0)
        q[:, J.index("left_hip_pitch_joint")] = np.linspace(-0.2, -0.3, 4)
    f, p = collide.candidates(q, 0.03, g)
    close = collide.closeness(q, f, p, 0.03, g)
    sep = close.dist > 0.002  # separated: the distance is smooth there
    fr, pr = close.frame[sep], close.pair[sep]
    assert len(fr) >= 3
    rows = collide._jacobian_rows(q, close, g)[sep]

    def dist(qq: np.ndarray) -> np.ndarray:
        out = collide.closeness(qq, fr, pr, 0.5, g)
        assert np.array_equal(out.frame, fr) and np.array_equal(out.pair, pr)
        return out.dist

    h = 1e-6
    for k, j in enumerate(g.joints):
        dq = np.zeros_like(q)
        dq[:, j] = h
        fd = (dist(q + dq) - dist(q - dq)) / (2 * h)
        np.testing.assert_allclose(rows[:, k], fd, atol=2e-3)
    assert np.abs(rows).max() > 0.05  # the rows are not trivially zero


def test_knees_pushed_together_are_spread_by_the_hips_only():
    q = _knees_together(15)
    assert _leg_min_clearance(q).min() < -0.01
    out = collide.resolve_leg_collisions(q, FPS, BOUNDS, lowpass)
    assert _leg_min_clearance(out).min() >= 0.0
    np.testing.assert_array_equal(out[:, NON_LEG], q[:, NON_LEG])
    assert np.all(out[:, J.index("left_hip_roll_joint")] > q[:, J.index("left_hip_roll_joint")])
    assert np.all(out[:, J.index("right_hip_roll_joint")] < q[:, J.index("right_hip_roll_joint")])
    assert np.all(out[:, LEG] >= BOUNDS[LEG, 0]) and np.all(out[:, LEG] <= BOUNDS[LEG, 1])
    # the arm step leaves them alone: it moves arms only
    assert np.array_equal(collide.resolve_arm_collisions(q, FPS, BOUNDS, lowpass), q)


def test_a_stance_leg_moves_less_than_the_swing_leg():
    q = _knees_together(15)
    both = np.abs(collide.resolve_leg_collisions(q, FPS, BOUNDS, lowpass) - q)
    # the pose is left-right symmetric, so without stance the two legs share the work
    np.testing.assert_allclose(both[:, LEFT_LEG].max(), both[:, RIGHT_LEG].max(), rtol=0.1)
    for side in (0, 1):
        stance = np.zeros((15, 2), bool)
        stance[:, side] = True
        out = collide.resolve_leg_collisions(q, FPS, BOUNDS, lowpass, stance=stance)
        assert _leg_min_clearance(out).min() >= 0.0
        d = np.abs(out - q)
        held, free = (LEFT_LEG, RIGHT_LEG) if side == 0 else (RIGHT_LEG, LEFT_LEG)
        assert d[:, held].max() < 0.5 * d[:, free].max()


def test_leg_step_validates_stance_and_runs_in_the_clean_up():
    q = _knees_together(20)
    with pytest.raises(ValueError, match=r"stance must be \(T, 2\)"):
        collide.resolve_leg_collisions(q, FPS, BOUNDS, stance=np.zeros((20, 3), bool))
    n = len(q)
    kw = dict(ground=False, lock_feet=False, pin_feet=False, lift_swing=False)
    args = (np.zeros((n, 3)), np.tile([1.0, 0, 0, 0], (n, 1)), q, np.zeros((n, 2, 3)), 0.0, FPS)
    ranges = joint_ranges(kinematic_model())
    on = post.clean_up(*args, ranges, post.CleanUp(**kw, resolve_collisions=True), smooth=lowpass)
    off = post.clean_up(*args, ranges, post.CleanUp(**kw, resolve_collisions=False), smooth=lowpass)
    assert _leg_min_clearance(off[1]).min() < 0.0
    assert _leg_min_clearance(on[1]).min() >= 0.0


def test_pinned_legs_of_a_narrow_gait_keep_their_margin():
    """Pinning (after the first leg step) moves the stance legs back towards each other on a
    narrow gait; the clean-up checks the legs once more (without that: 124 of this clip's
    1,247 frames beyond the margin)."""
    from pathlib import Path

    import retargeters
    from benchmark.suites import load_suite
    from nmr_gym.paths import shared_motions_dir

    if shared_motions_dir() is None:
        pytest.skip("real motion data not found: ../shared/motions is absent")
    manifest = Path(__file__).resolve().parents[1] / "benchmark" / "manifests" / "real_clips.csv"
    clip = next(m for m in load_suite(manifest) if m.name == "cmu/bvh11__131_02")
    human = clip.load()
    nmr = retargeters.make("nmr", fps=30)  # the clean-up's own rate: the margin holds
    assert nmr.options()["pin_feet"] is True
    assert not (_leg_min_clearance(nmr.retarget(human).joint_pos) < -0.0005).any()
    # at the clip's 120 fps the joints are interpolated between those frames, which may cut a
    # few mm into the margin (collide.MARGIN_M is there to cover it): the legs never touch
    out = retargeters.make("nmr").retarget(human)
    assert not (_leg_min_clearance(out.joint_pos) <= -collide.MARGIN_M).any()


# ------------------------------------------------------------- the pelvis and the hips
def _deep_hip_flexion(n: int, roll: float) -> np.ndarray:
    """(n, 29) the left thigh raised to the chest (hip pitch -2.2 rad, inside the soft range)
    and rolled by ``roll`` [rad]: at -0.3 (turned in) its hip roll link is 1.1 cm inside the
    pelvis, at 0.1 (turned out) 1.8 mm from it."""
    q = np.zeros((n, 29))
    q[:, J.index("left_hip_pitch_joint")] = -2.2
    q[:, J.index("left_hip_roll_joint")] = roll
    return q


def _pelvis_hip_distance(joint_pos: np.ndarray, reach: float = 0.05) -> np.ndarray:
    """(T,) smallest signed distance [m] over the pelvis-hip pairs."""
    return _min_over_pairs(joint_pos, collide.pelvis_hip_group(), reach)


def test_pelvis_hip_pairs_are_the_pelvis_against_each_hip_link():
    m = collision.self_collision_model()
    names = sorted(
        tuple(sorted(m.body(m.geom_bodyid[g]).name for g in pair))
        for pair in collide.pelvis_hip_pairs()
    )
    assert names == [
        ("left_hip_roll_link", "pelvis"),
        ("left_hip_yaw_link", "pelvis"),
        ("pelvis", "right_hip_roll_link"),
        ("pelvis", "right_hip_yaw_link"),
    ]
    g = collide.pelvis_hip_group()
    assert g.normal is None and np.array_equal(g.joints, LEG)
    np.testing.assert_array_equal(collide.pair_margins(group=g), collide.PELVIS_HIP_MARGIN_M)


def test_a_thigh_turned_into_the_pelvis_is_turned_out_by_its_hip_roll_only():
    q = _deep_hip_flexion(15, roll=-0.3)
    assert _pelvis_hip_distance(q).max() < -0.01
    out = collide.resolve_leg_collisions(q, FPS, BOUNDS, lowpass)
    # open by the pair's margin, less what one linear step of a rotation falls short by
    assert _pelvis_hip_distance(out).min() >= collide.PELVIS_HIP_MARGIN_M
    changed = np.flatnonzero(np.any(out != q, axis=0))
    assert [J[j] for j in changed] == ["left_hip_roll_joint"]
    assert np.all(out[:, J.index("left_hip_roll_joint")] > -0.3)  # turned out
    assert np.all(out[:, LEG] >= BOUNDS[LEG, 0]) and np.all(out[:, LEG] <= BOUNDS[LEG, 1])


def test_a_deep_bend_clear_of_the_pelvis_is_left_alone():
    """Closer than the legs' 8 mm margin but beyond the pelvis-hip pairs' 1 mm: unchanged (the
    8 mm margin moved the hips of every deep bend, see PELVIS_HIP_MARGIN_M)."""
    q = _deep_hip_flexion(15, roll=0.1)
    d = _pelvis_hip_distance(q)
    assert np.all((d > collide.PELVIS_HIP_MARGIN_M) & (d < collide.MARGIN_M))
    assert np.array_equal(collide.resolve_leg_collisions(q, FPS, BOUNDS, lowpass), q)


def test_segment_distance_matches_brute_force_with_points_and_parallel_segments():
    """The prefilter's segment distance against a dense search, with either segment a point (a
    sphere's capsule) and parallel segments; it may never exceed the true distance, or a
    contact passes the prefilter unseen."""
    rng = np.random.default_rng(0)
    n = 400
    p1, q1, p2, q2 = (rng.normal(size=(3, n)) for _ in range(4))
    q1[:, :50] = p1[:, :50]  # first segment a point
    q2[:, 50:100] = p2[:, 50:100]  # second segment a point (the case once wrong)
    q1[:, 100:110], q2[:, 100:110] = p1[:, 100:110], p2[:, 100:110]  # both points
    q2[:, 110:150] = p2[:, 110:150] + (q1 - p1)[:, 110:150]  # parallel
    got = collide._segment_distance(p1, q1, p2, q2)
    u = np.linspace(0.0, 1.0, 401)
    a = p1.T[:, None] + u[None, :, None] * (q1 - p1).T[:, None]  # (n, 401, 3)
    b = p2.T[:, None] + u[None, :, None] * (q2 - p2).T[:, None]
    brute = np.linalg.norm(a[:, :, None] - b[:, None], axis=-1).min(axis=(1, 2))
    assert np.all(got <= brute + 1e-9)
    step = (np.linalg.norm(q1 - p1, axis=0) + np.linalg.norm(q2 - p2, axis=0)) / 400
    assert np.all(got >= brute - step - 1e-9)
    # a point beside the middle of a segment, the point second
    seg = np.array([[-1.0], [0.0], [0.0]]), np.array([[1.0], [0.0], [0.0]])
    point = np.array([[0.0], [0.5], [0.0]])
    np.testing.assert_allclose(collide._segment_distance(*seg, point, point), [0.5])
