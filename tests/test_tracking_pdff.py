"""The "pd-ff" baseline: PD tracking with an inverse-dynamics torque feed-forward."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
from scipy.optimize import nnls

from benchmark.tracking import (
    BASELINES,
    CONTACT_HEIGHT,
    ID_FRICTION,
    PDFeedForwardPolicy,
    ReferenceDynamics,
    evaluate,
    feed_forward_offsets,
    pd_baseline_policy,
    pd_gains,
    reference_dynamics,
    run_episode,
    score_episode,
)
from nmr_gym.envs import G1TrackingEnv
from nmr_gym.envs.motion_source import procedural_motion
from nmr_gym.g1 import spec, tracking_model

# Mirror pairs of the legs (left index, right index, sign of the right torque): pitch joints
# mirror with the same sign, roll and yaw joints with the opposite sign.
_LEG_MIRROR = [(i, i + 6, 1.0 if i in (0, 3, 4) else -1.0) for i in range(6)]


@pytest.fixture(scope="module")
def still():
    """The default standing pose held for 0.5 s, feet flat on the floor (symmetric)."""
    stand = procedural_motion(seconds=0.5)
    return stand.replace(joint_pos=np.tile(stand.joint_pos[0], (stand.n_frames, 1)))


@pytest.fixture(scope="module")
def still_dynamics(still):
    return reference_dynamics(still)


def _suite_clip(name):
    pytest.importorskip("retargeters.gmr")
    from benchmark.motions import builtin_reference

    return builtin_reference(name, "gmr")


def test_pd_gains_are_read_from_the_model_in_joint_order():
    kp, kd = pd_gains(tracking_model())
    np.testing.assert_allclose(kp, spec.KP, rtol=1e-12)
    np.testing.assert_allclose(kd, spec.KD, rtol=1e-12)


def test_offset_is_the_clipped_torque_over_kp_plus_the_damping_term():
    rng = np.random.default_rng(0)
    tau = rng.normal(0.0, 1.5, (7, 29)) * spec.EFFORT_LIMIT  # some beyond the limits
    qdot = rng.normal(0.0, 2.0, (7, 29))
    dyn = ReferenceDynamics(50.0, np.zeros((7, 3)), np.zeros((7, 3)), tau)
    clipped = np.clip(tau, -spec.EFFORT_LIMIT, spec.EFFORT_LIMIT)
    assert np.any(clipped != tau)
    plain = feed_forward_offsets(dyn, qdot, spec.KP, spec.KD, damping_compensation=False)
    np.testing.assert_allclose(plain, clipped / spec.KP, rtol=1e-14, atol=0)
    full = feed_forward_offsets(dyn, qdot, spec.KP, spec.KD)
    np.testing.assert_allclose(full, (clipped + spec.KD * qdot) / spec.KP, rtol=1e-14, atol=0)
    # On the reference, MuJoCo's position actuator kp (ctrl - q) - kd qdot then applies tau.
    np.testing.assert_allclose(spec.KP * full - spec.KD * qdot, clipped, atol=1e-9)


def test_standing_torques_are_consistent_with_an_independent_mj_inverse(still, still_dynamics):
    """qfrc_inverse = [0; tau] + J_c^T f with f >= 0 in the friction cones, at one frame."""
    assert np.abs(still_dynamics.root_force_n).max() < 1e-6
    assert np.abs(still_dynamics.root_torque_nm).max() < 1e-6
    t = still.n_frames // 2
    tau = still_dynamics.joint_torque_nm[t]
    m = tracking_model()
    m.opt.disableflags |= int(mujoco.mjtDisableBit.mjDSBL_CONTACT)
    d = mujoco.MjData(m)
    d.qpos[:] = still.qpos[t]  # qvel = qacc = 0: the pose is held
    mujoco.mj_inverse(m, d)
    need = d.qfrc_inverse.copy()
    # Friction-cone edges at the lowest point of every foot sphere touching the floor.
    feet = [m.body(b).id for b in spec.FOOT_BODIES]
    is_sphere = m.geom_type == mujoco.mjtGeom.mjGEOM_SPHERE
    spheres = np.flatnonzero(is_sphere & np.isin(m.geom_bodyid, feet))
    mu = ID_FRICTION
    edges = np.array([[mu, 0, 1], [-mu, 0, 1], [0, mu, 1], [0, -mu, 1]]) / np.sqrt(1 + mu * mu)
    cols, jacp = [], np.zeros((3, m.nv))
    for g in spheres:
        low = d.geom_xpos[g] - [0.0, 0.0, m.geom_size[g, 0]]
        if low[2] <= CONTACT_HEIGHT:
            mujoco.mj_jac(m, d, jacp, None, low, int(m.geom_bodyid[g]))
            cols.append(jacp.T @ edges.T)
    assert len(cols) >= 4  # both feet flat
    contact = need - np.concatenate([np.zeros(6), tau])  # what the ground must supply
    _, residual = nnls(np.concatenate(cols, axis=1), contact)
    weight = m.body_subtreemass[1] * 9.81
    assert residual < 1e-6 * weight
    # The ground carries the weight: the legs' torques differ from the floating-base ones.
    assert np.abs(tau[:12] - need[6:18]).max() > 1.0


def test_standing_symmetric_pose_shares_the_load_between_the_legs(still_dynamics):
    tau = still_dynamics.joint_torque_nm  # (T, 29)
    for left, right, sign in _LEG_MIRROR:
        np.testing.assert_allclose(tau[:, right], sign * tau[:, left], atol=0.1)
    assert np.ptp(tau, axis=0).max() < 1e-6  # a held pose needs constant torques


def test_without_contact_the_torques_are_plain_mj_inverse(still):
    flying = still.replace(root_pos=still.root_pos + np.array([0.0, 0.0, 0.5]))
    dyn = reference_dynamics(flying)
    m = tracking_model()
    d = mujoco.MjData(m)
    d.qpos[:] = flying.qpos[3]
    mujoco.mj_inverse(m, d)
    np.testing.assert_allclose(dyn.joint_torque_nm[3], d.qfrc_inverse[6:], atol=1e-9)
    np.testing.assert_allclose(dyn.root_force_n[3], d.qfrc_inverse[:3], atol=1e-9)


def test_policy_targets_are_reference_plus_cached_offsets(still, still_dynamics):
    env = G1TrackingEnv(still, evaluation=True)
    env.reset(options={"clip": 0, "frame": 0})
    policy = PDFeedForwardPolicy()
    offsets = policy.offsets(env)
    assert policy.offsets(env) is offsets  # computed once per motion library
    assert offsets.shape == (env.library.num_frames, spec.NUM_JOINTS)
    expected = np.clip(still_dynamics.joint_torque_nm, -spec.EFFORT_LIMIT, spec.EFFORT_LIMIT)
    np.testing.assert_allclose(offsets, expected / spec.KP, atol=1e-9)  # qdot_ref = 0
    target = policy.joint_targets(env)
    np.testing.assert_allclose(target, env.reference_joint_pos(1) + offsets[1], atol=1e-12)
    env.step(policy(None, env))
    np.testing.assert_allclose(env.data.ctrl, target, atol=1e-5)  # float32 action
    env.close()


def test_pd_ff_holds_a_standing_pose_that_pd_lets_sag(still):
    stand = procedural_motion(seconds=2.0)
    hold = stand.replace(joint_pos=np.tile(stand.joint_pos[0], (stand.n_frames, 1)))
    pd_row, ff_row = (
        evaluate([hold], p, names=["hold"], retargeters=["none"])[0]
        for p in (pd_baseline_policy, PDFeedForwardPolicy())
    )
    assert ff_row["episode_length"] >= pd_row["episode_length"]
    assert ff_row["track_joint_error_rad"] < 0.5 * pd_row["track_joint_error_rad"]


def test_pd_ff_survives_longer_than_pd_on_suite_clips():
    """Measured (gmr): wave_short 145 vs 24 steps, walk_short 63 vs 65 (both fall; the walk's
    reference needs up to ~250 N of residual root force) with W-MPJPE 0.19 vs 0.27 m."""
    wave, walk = _suite_clip("wave_short"), _suite_clip("walk_short")
    rows = {
        name: evaluate([wave, walk], policy, tracker=name) for name, policy in BASELINES.items()
    }
    (pd_wave, pd_walk), (ff_wave, ff_walk) = rows["pd"], rows["pd-ff"]
    assert ff_wave["episode_length"] >= 2 * pd_wave["episode_length"]
    assert ff_wave["track_w_mpjpe_clip_m"] < pd_wave["track_w_mpjpe_clip_m"]
    assert ff_walk["track_w_mpjpe_m"] < pd_walk["track_w_mpjpe_m"]
    assert ff_walk["tracker"] == "pd-ff" and set(ff_walk) == set(pd_walk)


def test_pd_ff_is_deterministic():
    motion = procedural_motion(seconds=1.0)
    episodes = []
    for _ in range(2):
        env = G1TrackingEnv(motion, evaluation=True)
        episodes.append(run_episode(env, PDFeedForwardPolicy()))
        env.close()
    a, b = episodes
    np.testing.assert_array_equal(a["robot_body_pos_w"], b["robot_body_pos_w"])
    assert score_episode(a) == score_episode(b)


def test_eval_tracker_cli_pd_ff_rows_match_the_pd_schema(tmp_path):
    pytest.importorskip("nmr_gym.io.robot_formats")
    import pandas as pd

    from benchmark.cli import main
    from benchmark.commands.eval_tracker import BASELINE_NAMES
    from benchmark.results import BASELINE_TRACKERS
    from nmr_gym.io import save_robot_motion

    # Spelled three times so that the CLI parser and the result schema need no MuJoCo import.
    assert BASELINE_NAMES == tuple(BASELINES) == BASELINE_TRACKERS
    path = tmp_path / "proc.npz"
    save_robot_motion(procedural_motion(seconds=1.0), path)
    frames = {}
    for args in (["pd"], ["pd-ff"], ["--baseline", "pd-ff"]):
        out = tmp_path / f"{'_'.join(args)}.csv"
        assert main(["eval-tracker", *args, str(path), "--out", str(out)]) == 0
        frames[" ".join(args)] = pd.read_csv(out)
    ff = frames["pd-ff"]
    assert list(ff.columns) == list(frames["pd"].columns)
    assert list(ff.tracker) == ["pd-ff"] and list(ff.motion) == ["proc"]
    pd.testing.assert_frame_equal(frames["--baseline pd-ff"], ff)
    assert main(["eval-tracker", "pd-ff"]) == 2  # no motion: one-line error
