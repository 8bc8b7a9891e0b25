"""NMR's stance-foot pinning: batched leg kinematics and IK (``retargeters.nmr.legik``)."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
import torch
from _helpers import random_g1_qpos, write_tiny_nmr_checkpoint

import retargeters
from nmr_gym import rotations as rot
from nmr_gym.g1 import joint_ranges, kinematic_model, spec
from nmr_gym.g1.geometry import lowest_point_z_of_qpos
from nmr_gym.suite import get_clip
from retargeters.nmr import inference, legik, post
from retargeters.nmr.features import NMR_FPS

RANGES = joint_ranges(kinematic_model())  # (29, 2)
SOFT = post.soft_range(RANGES)
LEGS = np.concatenate([c.joint_index for c in legik.leg_chains()])


_random_qpos = random_g1_qpos


def test_leg_fk_matches_mj_kinematics():
    q = _random_qpos(40, 0)
    model = kinematic_model()
    data = mujoco.MjData(model)
    for chain in legik.leg_chains():
        pos, rmat = legik.leg_fk(
            chain, q[:, :3], rot.to_matrix(q[:, 3:7]), q[:, 7:][:, chain.joint_index]
        )
        for t in range(len(q)):
            data.qpos[:] = q[t]
            mujoco.mj_kinematics(model, data)
            np.testing.assert_allclose(pos[t], data.xpos[chain.body_id], atol=1e-9)
            np.testing.assert_allclose(rmat[t].reshape(6, 9), data.xmat[chain.body_id], atol=1e-9)


def test_leg_ik_reaches_nearby_targets_inside_the_bounds():
    q = _random_qpos(200, 1)
    rng = np.random.default_rng(2)
    bounds = np.stack([SOFT[:, 0], SOFT[:, 1]], axis=1)
    for chain in legik.leg_chains():
        idx = chain.joint_index
        goal = np.clip(q[:, 7:][:, idx], bounds[idx, 0] + 0.2, bounds[idx, 1] - 0.2)
        root_rot = rot.to_matrix(q[:, 3:7])
        pos, rmat = legik.leg_fk(chain, q[:, :3], root_rot, goal)
        start = goal + rng.uniform(-0.15, 0.15, size=goal.shape)
        sol, err = legik.solve_leg_ik(
            chain, q[:, :3], root_rot, start, pos[:, -1], rmat[:, -1], bounds[idx]
        )
        assert np.abs(err).max() < legik.IK_TOLERANCE_M * 10
        assert np.all(sol >= bounds[idx, 0]) and np.all(sol <= bounds[idx, 1])


def _sliding_stand(n: int, speed: float, z_shift: float = 0.0) -> np.ndarray:
    """(n, 36) a bent-knee stand (hip pitch -0.3, knee 0.6, ankle pitch -0.3 rad: feet flat) on
    the floor, the whole robot sliding along x [m/s]. The knees are bent so that a foot can
    be held in place: the stand keyframe's straight legs cannot reach any further."""
    q = np.zeros((n, 36))
    q[:, 2] = spec.STAND_ROOT_HEIGHT
    q[:, 3] = 1.0
    q[:, 7:] = spec.STAND_JOINT_POS
    for chain in legik.leg_chains():
        q[:, 7 + chain.joint_index[[0, 3, 4]]] = (-0.3, 0.6, -0.3)
    q[:, 2] -= lowest_point_z_of_qpos(q[:1])[0]
    q[:, 2] += z_shift
    q[:, 0] = speed * np.arange(n) / NMR_FPS
    return q


def _foot_pose(q: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    chain = legik.leg_chains()[side]
    pos, rmat = legik.leg_fk(
        chain, q[:, :3], rot.to_matrix(q[:, 3:7]), q[:, 7:][:, chain.joint_index]
    )
    return pos[:, -1], rmat[:, -1]


@pytest.mark.parametrize("smooth", [None, inference.lowpass])
def test_a_sliding_stance_foot_is_pinned_by_its_leg_only(smooth):
    n, run = 70, slice(20, 50)
    q = _sliding_stand(n, 0.15)  # the network's feet slide at 0.15 m/s
    stance = np.zeros((n, 2), bool)
    stance[run, 0] = True  # left foot planted for one second
    joints = legik.pin_stance_feet(q[:, :3], q[:, 3:7], q[:, 7:], stance, NMR_FPS, SOFT, smooth)
    out = q.copy()
    out[:, 7:] = joints
    pos, rmat = _foot_pose(out, 0)
    inner = slice(run.start + 3, run.stop - 3) if smooth is not None else run
    tol = 1e-3 if smooth is None else 5e-3
    assert np.ptp(pos[inner], axis=0).max() < tol  # held at one place
    assert np.abs(rmat[inner] - rmat[inner][0]).max() < 10 * tol  # and one orientation
    before, _ = _foot_pose(q, 0)
    assert np.ptp(before[run, 0]) > 0.1  # it did slide before
    # only the left leg changes; the right foot is not in stance and is not touched
    keep = np.setdiff1d(np.arange(29), legik.leg_chains()[0].joint_index)
    np.testing.assert_array_equal(joints[:, keep], q[:, 7:][:, keep])
    # no jump, soft range kept, the sole not pushed below the floor
    assert np.abs(np.diff(joints, axis=0)).max() < 0.1
    assert np.all(joints >= SOFT[:, 0] - 1e-12) and np.all(joints <= SOFT[:, 1] + 1e-12)
    assert lowest_point_z_of_qpos(out).min() > -2e-3


def test_a_stance_foot_below_the_floor_is_raised_onto_it():
    n = 40
    q = _sliding_stand(n, 0.0, z_shift=-0.02)  # 2 cm into the floor
    stance = np.ones((n, 2), bool)
    joints = legik.pin_stance_feet(q[:, :3], q[:, 3:7], q[:, 7:], stance, NMR_FPS, SOFT)
    out = q.copy()
    out[:, 7:] = joints
    chain = legik.leg_chains()[0]
    for side in (0, 1):
        pos, rmat = _foot_pose(out, side)
        sole = pos[:, None] + np.einsum("tij,sj->tsi", rmat, chain.sole_pos_b)
        np.testing.assert_allclose((sole[..., 2] - chain.sole_radius).min(axis=1), 0.0, atol=1e-4)


def test_no_stance_changes_nothing():
    q = _sliding_stand(20, 0.3)
    joints = legik.pin_stance_feet(
        q[:, :3], q[:, 3:7], q[:, 7:], np.zeros((20, 2), bool), NMR_FPS, SOFT
    )
    np.testing.assert_array_equal(joints, q[:, 7:])


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return write_tiny_nmr_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt", out_std=0.8)


@pytest.mark.parametrize(
    ("name", "default", "root_kept"),
    # the lift runs before grounding and locking, which then place the changed legs' root;
    # the pinning runs after them and may only raise the root (a pinned leg below the floor)
    [("pin_feet", legik.PIN_FEET, True), ("lift_swing", legik.LIFT_SWING, False)],
)
def test_leg_options_change_only_leg_joints(ckpt, name, default, root_kept):
    torch.set_num_threads(1)
    h = get_clip("walk_medium").motion()
    on = retargeters.make("nmr", checkpoint=ckpt, **{name: True})
    off = retargeters.make("nmr", checkpoint=ckpt, **{name: False})
    assert retargeters.make("nmr", checkpoint=ckpt).options()[name] is default
    assert on.options()[name] is True and off.options()[name] is False
    a, b = on.retarget(h), off.retarget(h)
    np.testing.assert_allclose(a.root_quat, b.root_quat)
    if root_kept:
        np.testing.assert_allclose(a.root_pos[:, :2], b.root_pos[:, :2])
        assert np.all(a.root_pos[:, 2] >= b.root_pos[:, 2] - 1e-12)
    assert np.abs(a.joint_pos[:, LEGS] - b.joint_pos[:, LEGS]).max() > 1e-3  # the legs moved
    other = np.setdiff1d(np.arange(29), LEGS)
    np.testing.assert_allclose(a.joint_pos[:, other], b.joint_pos[:, other])
    assert np.all(a.joint_pos >= SOFT[:, 0] - 1e-9) and np.all(a.joint_pos <= SOFT[:, 1] + 1e-9)


@pytest.mark.parametrize("name", ["pin_feet", "lift_swing", "lock_feet", "ground"])
def test_flag_options_are_validated(ckpt, name):
    with pytest.raises(ValueError, match=rf"{name} must be True or False, got 'yes'"):
        retargeters.make("nmr", checkpoint=ckpt, **{name: "yes"})


# ------------------------------------------------------------------ swing-foot lift
def _sole_low(q: np.ndarray, side: int) -> np.ndarray:
    chain = legik.leg_chains()[side]
    pos, rmat = _foot_pose(q, side)
    sole = pos[:, None] + np.einsum("tij,sj->tsi", rmat, chain.sole_pos_b)
    return (sole[..., 2] - chain.sole_radius).min(axis=1)


def _lift(q, stance, clearance, smooth=None, **kw):
    out = q.copy()
    out[:, 7:] = legik.lift_swing_feet(
        q[:, :3], q[:, 3:7], q[:, 7:], stance, clearance, SOFT, smooth, **kw
    )
    return out


def test_the_higher_swing_foot_is_lifted_to_the_human_clearance_by_its_leg_only():
    n = 60
    q = _sliding_stand(n, 0.3)  # both robot feet drag along the floor
    t = np.arange(n)
    clearance = np.zeros((n, 2))
    clearance[:, 0] = 0.08 * np.sin(np.pi * t / (n - 1))  # the human lifts its left foot
    stance = np.zeros((n, 2), bool)
    stance[:, 1] = True
    stance[[0, -1], 0] = True
    out = _lift(q, stance, clearance)
    low = _sole_low(out, 0)
    want = np.minimum(clearance[:, 0], legik.LIFT_MAX_CLEARANCE_M)
    swing = ~stance[:, 0]
    assert np.all(low[swing] >= want[swing] - 2e-3)  # at least the human's clearance
    assert np.all(low >= _sole_low(q, 0) - 1e-9)  # never lowered
    assert low.max() > 0.07  # it did rise (the robot's sole was on the floor)
    # only the left leg moved: the right (lower, supporting) foot, arms, waist, root kept
    keep = np.setdiff1d(np.arange(29), legik.leg_chains()[0].joint_index)
    np.testing.assert_array_equal(out[:, 7:][:, keep], q[:, 7:][:, keep])
    np.testing.assert_array_equal(out[:, :7], q[:, :7])
    assert np.abs(np.diff(out[:, 7:], axis=0)).max() < 0.1  # no jump
    assert np.all(out[:, 7:] >= SOFT[:, 0] - 1e-12) and np.all(out[:, 7:] <= SOFT[:, 1] + 1e-12)


def test_the_lower_foot_and_stance_feet_are_never_lifted():
    n = 30
    q = _sliding_stand(n, 0.3)
    clearance = np.full((n, 2), 0.05)  # equal: neither foot is the higher one
    out = _lift(q, np.zeros((n, 2), bool), clearance)
    np.testing.assert_array_equal(out, q)
    clearance[:, 0] = 0.09  # left higher, but in stance
    out = _lift(q, np.column_stack([np.ones(n, bool), np.zeros(n, bool)]), clearance)
    np.testing.assert_array_equal(out, q)


def test_human_swing_clearance_is_relative_to_the_foot_stance_level():
    n = 10
    foot = np.zeros((n, 2, 3))
    foot[:, :, 2] = 0.05  # foot joints 5 cm above the floor in stance
    foot[5:, 0, 2] = 0.15
    stance = np.ones((n, 2), bool)
    stance[5:, 0] = False
    c = legik.human_swing_clearance(foot, 0.0, stance)
    np.testing.assert_allclose(c[:, 0], [0.0] * 5 + [0.10] * 5)
    np.testing.assert_allclose(c[:, 1], 0.0)
    assert np.all(legik.human_swing_clearance(foot, 0.0, np.zeros((n, 2), bool)) == 0.0)


def test_lift_clearance_cap_is_validated():
    q = _sliding_stand(5, 0.0)
    with pytest.raises(ValueError, match="max_clearance"):
        _lift(q, np.zeros((5, 2), bool), np.zeros((5, 2)), max_clearance=-0.1)
