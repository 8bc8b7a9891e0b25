"""NMRTrack-G1 environments: registration, layout, rewards, terminations, determinism."""

from __future__ import annotations

import math
import pickle
import warnings

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import nmr_gym  # noqa: F401
from nmr_gym import rotations as rot
from nmr_gym.envs import EVAL_ID, TRAIN_ID, G1TrackingEnv, mdp
from nmr_gym.envs.motion_source import lowest_foot_point, procedural_motion
from nmr_gym.envs.sampling import AdaptiveSampler
from nmr_gym.errors import MotionError
from nmr_gym.g1 import spec

#: Warnings we chose: BeyondMimic's actions are unnormalised joint offsets (not [-1, 1]) and
#: observations are unbounded.
CHOSEN_WARNINGS = (
    "symmetric and normalized",
    "observation space minimum",
    "observation space maximum",
)


@pytest.fixture(scope="module")
def motion():
    return procedural_motion(seconds=3.0)


@pytest.fixture
def eval_env(motion):
    env = G1TrackingEnv(motion, evaluation=True)
    env.reset(seed=0)
    return env


@pytest.mark.parametrize(("env_id", "obs_mode"), [(TRAIN_ID, "actor"), (EVAL_ID, "dict")])
def test_check_env_passes_for_registered_ids(env_id, obs_mode, motion):
    env = gym.make(env_id, motion=motion, obs_mode=obs_mode)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    unexpected = [
        str(w.message) for w in caught if not any(c in str(w.message) for c in CHOSEN_WARNINGS)
    ]
    assert unexpected == []
    env.close()


def test_registration_and_default_motion():
    env = gym.make(TRAIN_ID)  # no arguments: the default clip
    obs, info = env.reset(seed=3)
    assert obs.shape == (160,) and obs.dtype == np.float32
    assert info["clip_name"] == "walk_short"
    # BeyondMimic's 10 s episodes at the control rate the model and decimation give.
    assert env.unwrapped.max_episode_steps == round(10.0 / env.unwrapped.dt) == 500
    assert env.metadata["render_fps"] == pytest.approx(50.0)
    env.close()


def test_observation_sizes(motion):
    assert mdp.size(mdp.ACTOR_OBSERVATION) == 160
    assert mdp.size(mdp.CRITIC_OBSERVATION) == 286
    assert mdp.size(mdp.NMR_OBSERVATION) == 509
    for mode, shape in (("actor", (160,)), ("critic", (286,)), ("nmr", (509,))):
        env = G1TrackingEnv(motion, evaluation=True, obs_mode=mode)
        obs, _ = env.reset(seed=0)
        assert obs.shape == shape == env.observation_space.shape
    env = G1TrackingEnv(motion, obs_mode="dict")
    obs, _ = env.reset(seed=0)
    assert obs["policy"].shape == (160,) and obs["critic"].shape == (286,)


def test_actor_observation_slices_mean_what_they_say(motion):
    env = G1TrackingEnv(motion, evaluation=True)
    obs, _ = env.reset(options={"frame": 40})
    s = mdp.slices(mdp.ACTOR_OBSERVATION)
    lib = env.library
    ref = motion.resample(1.0 / env.dt)
    np.testing.assert_allclose(obs[s["command"]][:29], ref.joint_pos[40], atol=1e-6)
    np.testing.assert_allclose(obs[s["command"]][29:], ref.joint_vel[40], atol=1e-5)
    # The robot starts on the reference: the reference anchor is at the robot anchor.
    np.testing.assert_allclose(obs[s["motion_anchor_pos_b"]], 0.0, atol=1e-5)
    np.testing.assert_allclose(obs[s["motion_anchor_ori_b"]], [1, 0, 0, 1, 0, 0], atol=1e-5)
    np.testing.assert_allclose(
        obs[s["joint_pos"]], ref.joint_pos[40] - env.default_joint_pos, atol=1e-6
    )
    np.testing.assert_allclose(obs[s["joint_vel"]], ref.joint_vel[40], atol=1e-5)
    np.testing.assert_allclose(obs[s["actions"]], 0.0)
    a = np.linspace(-0.5, 0.5, 29).astype(np.float32)
    obs, *_ = env.step(a)
    np.testing.assert_allclose(obs[s["actions"]], a, atol=1e-6)
    np.testing.assert_allclose(obs[s["command"]][:29], lib.joint_pos[41], atol=1e-6)
    # base velocities: pelvis frame
    d = env.data
    v_b = rot.rotate_inverse(d.qpos[3:7], d.qvel[:3])
    np.testing.assert_allclose(obs[s["base_lin_vel"]], v_b, atol=1e-5)
    np.testing.assert_allclose(obs[s["base_ang_vel"]], d.qvel[3:6], atol=1e-5)


def test_critic_body_slices_are_bodies_in_the_anchor_frame(eval_env):
    env = eval_env
    env.step(np.zeros(29, np.float32))
    c = env.critic_observation()
    s = mdp.slices(mdp.CRITIC_OBSERVATION)
    d = env.data
    a = env.model.body(spec.ANCHOR_BODY).id
    ra = d.xmat[a].reshape(3, 3)
    pelvis_b = ra.T @ (d.xpos[1] - d.xpos[a])
    np.testing.assert_allclose(c[s["body_pos"]][:3], pelvis_b, atol=1e-5)
    rel = ra.T @ d.xmat[1].reshape(3, 3)
    np.testing.assert_allclose(c[s["body_ori"]][:6], rel[:, :2].ravel(), atol=1e-5)
    actor, sa = env.actor_observation(), mdp.slices(mdp.ACTOR_OBSERVATION)
    for k in ("command", "motion_anchor_pos_b", "motion_anchor_ori_b", "joint_pos", "actions"):
        np.testing.assert_allclose(c[s[k]], actor[sa[k]], atol=1e-6)


def test_nmr_observation_reference_slices(motion):
    env = G1TrackingEnv(motion, evaluation=True, obs_mode="nmr")
    obs, _ = env.reset()
    s = mdp.slices(mdp.NMR_OBSERVATION)
    np.testing.assert_allclose(
        obs[s["ref_body_pos_w"]].reshape(14, 3), env.reference_body_pos_w(), atol=1e-5
    )
    np.testing.assert_allclose(
        obs[s["body_pos_w"]].reshape(14, 3), env.robot_body_pos_w(), atol=1e-5
    )


def test_reward_is_dt_times_weighted_sum_of_info_terms(motion):
    env = G1TrackingEnv(motion)
    env.reset(seed=1)
    rng = np.random.default_rng(0)
    for _ in range(10):
        _, r, terminated, truncated, info = env.step(rng.normal(0, 0.5, 29).astype(np.float32))
        expected = env.dt * sum(t.weight * info[f"reward_{k}"] for k, t in env.rewards.items())
        assert r == pytest.approx(expected, rel=1e-9, abs=1e-12)
        for k in (
            "error_anchor_pos",
            "error_anchor_ori",
            "error_body_pos",
            "error_body_ori",
            "error_joint_pos",
        ):
            assert k in info
        if terminated or truncated:
            break


def test_reward_terms_match_independent_formulas(motion):
    """Each reward term from MuJoCo's own quantities (mj_objectVelocity, xmat) and the formulas
    of BeyondMimic's MDP, written out here independently of the term functions."""
    env = G1TrackingEnv(motion, evaluation=True)
    env.reset()
    rng = np.random.default_rng(2)
    for _ in range(5):
        a = rng.normal(0, 0.3, 29).astype(np.float32)
        last = env.term_inputs().action[0].copy()
        _, _, _, _, info = env.step(a)
    lib, g, d = env.library, int(env.sim.g[0]), env.data
    tb = spec.TRACKED_BODY_INDICES + 1
    a_i = spec.TRACKED_BODIES.index(spec.ANCHOR_BODY)
    xpos, xquat = d.xpos[tb], d.xquat[tb]
    sig = {k: t.params.get("sigma") for k, t in env.rewards.items()}
    kernel = lambda e, s: math.exp(-e / s**2)  # noqa: E731
    e = lib.anchor_pos_w[g] - xpos[a_i]
    assert info["reward_anchor_pos"] == pytest.approx(kernel(e @ e, sig["anchor_pos"]))
    ang = rot.angle_between(lib.anchor_quat_w[g], xquat[a_i])
    assert info["reward_anchor_ori"] == pytest.approx(kernel(ang**2, sig["anchor_ori"]))
    r = d.xmat[tb[a_i]].reshape(3, 3) @ lib.anchor_mat_w[g].T
    yaw = math.atan2(r[1, 0], r[0, 0])
    qy = np.array([math.cos(yaw / 2), 0, 0, math.sin(yaw / 2)])
    target = rot.rotate(qy, lib.body_pos_w[g] - lib.anchor_pos_w[g])
    target[:, :2] += xpos[a_i, :2]
    target[:, 2] += lib.anchor_pos_w[g, 2]
    err = ((target - xpos) ** 2).sum(1).mean()
    assert info["reward_body_pos"] == pytest.approx(kernel(err, sig["body_pos"]))
    tq = rot.multiply(qy, lib.body_quat_w[g])
    err = (rot.angle_between(tq, xquat) ** 2).mean()
    assert info["reward_body_ori"] == pytest.approx(kernel(err, sig["body_ori"]))
    v = np.zeros((14, 6))
    for i, b in enumerate(tb):
        mujoco.mj_objectVelocity(env.model, d, mujoco.mjtObj.mjOBJ_XBODY, int(b), v[i], 0)
    err = ((lib.body_lin_vel_w[g] - v[:, 3:]) ** 2).sum(1).mean()
    assert info["reward_body_lin_vel"] == pytest.approx(kernel(err, sig["body_lin_vel"]))
    err = ((lib.body_ang_vel_w[g] - v[:, :3]) ** 2).sum(1).mean()
    assert info["reward_body_ang_vel"] == pytest.approx(kernel(err, sig["body_ang_vel"]))
    assert info["reward_action_rate"] == pytest.approx(float(((a - last) ** 2).sum()), rel=1e-6)
    ranges = env.model.jnt_range[1:]
    mid, half = ranges.mean(1), 0.45 * (ranges[:, 1] - ranges[:, 0])
    over = np.maximum(np.abs(d.qpos[7:] - mid) - half, 0.0).sum()
    assert info["reward_joint_limit"] == pytest.approx(over, abs=1e-12)


def test_joint_limit_term_counts_the_distance_outside_the_soft_limits():
    from types import SimpleNamespace

    qpos = np.zeros((2, 9))
    qpos[0, 7:] = [1.0, 0.0]
    qpos[1, 7:] = [0.0, 1.0]
    s = SimpleNamespace(
        robot=SimpleNamespace(qpos=qpos),
        soft_lower=np.array([-0.9, 0.1]),
        soft_upper=np.array([0.9, 1.9]),
    )
    np.testing.assert_allclose(mdp.joint_limit(s), [0.1 + 0.1, 0.0])


def test_undesired_contacts_lying_and_standing():
    # A robot lying on the floor touches it with non-foot bodies.
    env = G1TrackingEnv(procedural_motion(1.0), evaluation=True)
    env.reset()
    env.data.qpos[2] = 0.12
    env.data.qpos[3:7] = rot.from_euler(np.array([0.0, math.pi / 2, 0.0]), "xyz")
    mujoco.mj_forward(env.model, env.data)
    _, _, _, _, info = env.step(np.zeros(29, np.float32))
    assert info["reward_undesired_contacts"] >= 1
    # Standing on the feet touches nothing undesired.
    env.reset()
    _, _, _, _, info = env.step(env.action_for_joint_targets(env.reference_joint_pos(1)))
    assert info["reward_undesired_contacts"] == 0.0


def _refresh(env):
    mujoco.mj_forward(env.model, env.data)
    reason = env.termination()
    return reason != "", reason


def test_each_termination_rule_on_a_constructed_state(eval_env):
    env = eval_env
    assert _refresh(env) == (False, "")
    q0 = env.data.qpos.copy()
    env.data.qpos[2] -= 0.3  # sink the whole robot
    assert _refresh(env) == (True, "anchor_height")
    # Tilt 90 degrees about x around the anchor: anchor height unchanged, gravity sideways.
    env.data.qpos[:] = q0
    mujoco.mj_forward(env.model, env.data)
    a = env.model.body(spec.ANCHOR_BODY).id
    pa = env.data.xpos[a].copy()
    qx = rot.from_axis_angle(np.array([math.pi / 2, 0.0, 0.0]))
    env.data.qpos[:3] = pa + rot.rotate(qx, q0[:3] - pa)
    env.data.qpos[3:7] = rot.multiply(qx, q0[3:7])
    assert _refresh(env) == (True, "anchor_tilt")
    # Raise one arm overhead: a hand leaves the reference height by more than 0.25 m.
    env.data.qpos[:] = q0
    env.data.qpos[7 + spec.joint_index("left_shoulder_pitch_joint")] = -2.8
    env.data.qpos[7 + spec.joint_index("left_elbow_joint")] = 0.0
    assert _refresh(env) == (True, "end_effector_height")


def test_episode_truncates_at_the_clip_end_in_evaluation(motion):
    env = gym.make(EVAL_ID, motion=motion)
    env.reset()
    u = env.unwrapped
    n = int(u.library.clip_length[0]) - 1
    u.reset(options={"frame": n - 3})
    for _ in range(3):
        _, _, terminated, truncated, info = u.step(
            u.action_for_joint_targets(u.reference_joint_pos(1))
        )
    assert truncated and not terminated and info["frame"] == n


def test_deterministic_reset_and_rollout_for_a_seed(motion):
    def rollout():
        env = G1TrackingEnv(motion, push_interval_s=(0.1, 0.2))  # pushes within the rollout
        obs, _ = env.reset(seed=123)
        rng = np.random.default_rng(7)
        out = [obs]
        for _ in range(30):
            obs, r, te, tr, _ = env.step(rng.normal(0, 0.3, 29).astype(np.float32))
            out.append(np.append(obs, r))
            if te or tr:
                out.append(env.reset()[0])
        return np.concatenate(out)

    a, b = rollout(), rollout()
    np.testing.assert_array_equal(a, b)
    env = G1TrackingEnv(motion)
    o1, _ = env.reset(seed=1)
    o2, _ = env.reset(seed=2)
    assert not np.array_equal(o1, o2)


def test_pickle_round_trip_continues_identically(motion):
    env = G1TrackingEnv(motion, render_mode="rgb_array")
    env.reset(seed=5)
    env.step(np.zeros(29, np.float32))
    clone = pickle.loads(pickle.dumps(env))
    a = np.full(29, 0.1, np.float32)
    o1, r1, *_ = env.step(a)
    o2, r2, *_ = clone.step(a)
    np.testing.assert_array_equal(o1, o2)
    assert r1 == r2


def test_pd_gains_and_action_scale_from_armatures():
    env = G1TrackingEnv(procedural_motion(1.0), evaluation=True)
    m = env.model
    kp = m.actuator_gainprm[:, 0]
    np.testing.assert_allclose(kp, spec.KP)
    np.testing.assert_allclose(-m.actuator_biasprm[:, 2], spec.KD)
    i = {
        n: spec.joint_index(n)
        for n in (
            "left_hip_pitch_joint",
            "left_knee_joint",
            "left_ankle_pitch_joint",
            "left_elbow_joint",
            "left_wrist_pitch_joint",
        )
    }
    for name, (p, d, tau, scale) in {
        "left_hip_pitch_joint": (40.18, 2.558, 88, 0.548),
        "left_knee_joint": (99.10, 6.309, 139, 0.351),
        "left_ankle_pitch_joint": (28.50, 1.814, 50, 0.439),
        "left_elbow_joint": (14.25, 0.907, 25, 0.439),
        "left_wrist_pitch_joint": (16.78, 1.068, 5, 0.0745),
    }.items():
        j = i[name]
        assert kp[j] == pytest.approx(p, abs=0.01)
        assert spec.KD[j] == pytest.approx(d, abs=0.001)
        assert m.actuator_forcerange[j, 1] == tau
        assert env.action_scale[j] == pytest.approx(scale, abs=5e-4)
    assert env.dt == pytest.approx(0.02) and m.opt.timestep == pytest.approx(0.005)
    # The PD targets are default + scale * action.
    env.reset()
    a = np.linspace(-1, 1, 29).astype(np.float32)
    env.step(a)
    np.testing.assert_allclose(
        env.data.ctrl, env.default_joint_pos + env.action_scale * a, rtol=1e-6
    )


def test_adaptive_sampler_prefers_failing_bins():
    s = AdaptiveSampler(np.array([120, 30]), frames_per_bin=50, alpha=0.5)
    assert s.n_bins == 3 + 1
    np.testing.assert_allclose(s.probabilities(), 0.25)
    s.record(start_bin=1, steps=3, failed=True)
    p = s.probabilities()
    assert p[1] > p[0] and p.sum() == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    for _ in range(200):
        clip, start, b = s.sample(rng)
        assert 0 <= start <= s.clip_lengths[clip] - 2
        assert s.bin_clip[b] == clip


def test_motion_library_and_motion_arguments(motion):
    short = procedural_motion(seconds=1.0, fps=30.0)
    env = G1TrackingEnv([motion, short])
    lib = env.library
    assert lib.num_clips == 2 and lib.fps == pytest.approx(1.0 / env.dt)
    assert lib.clip_length[1] == short.resample(lib.fps).n_frames
    ev = G1TrackingEnv([motion, short], evaluation=True)
    assert ev.reset()[1]["clip"] == 0 and ev.reset()[1]["clip"] == 1  # clip by clip
    with pytest.raises(MotionError):
        G1TrackingEnv(42)


def test_training_env_randomises(motion):
    env = G1TrackingEnv(motion)
    env.reset(seed=0)
    geoms, torso = env.sim.robot_geoms, env.model.body("torso_link").id
    f1 = env.model.geom_friction[geoms, 0].copy()
    c1 = env.model.body_ipos[torso].copy()
    env.reset()
    assert not np.array_equal(f1, env.model.geom_friction[geoms, 0])
    assert not np.array_equal(c1, env.model.body_ipos[torso])
    assert np.all((f1 >= 0.3) & (f1 <= 1.6))
    ev = G1TrackingEnv(motion, evaluation=True)
    ev.reset(seed=0)
    assert not ev.sim.randomize and not ev.sim.push and not ev.sim.observation_noise


def test_render_rgb_array(motion):
    env = G1TrackingEnv(motion, render_mode="rgb_array")
    env.reset(seed=0)
    img = env.render()
    assert img.shape == (480, 640, 3) and img.dtype == np.uint8 and img.std() > 0
    env.close()


def test_sampler_draws_bins_with_their_probabilities():
    s = AdaptiveSampler(np.array([200, 60]), frames_per_bin=50, alpha=0.5)
    s.record(start_bin=2, steps=1, failed=True)
    s.record(start_bin=4, steps=1, failed=True)
    rng = np.random.default_rng(0)
    counts = np.bincount([s.sample(rng)[2] for _ in range(20000)], minlength=s.n_bins)
    np.testing.assert_allclose(counts / counts.sum(), s.probabilities(), atol=0.015)


def test_reset_noise_rotation_is_roll_pitch_yaw_about_world_axes():
    from nmr_gym.envs import randomization as dr

    q0 = rot.normalize(np.array([0.9, 0.1, -0.3, 0.2]))
    qpos = np.concatenate([[0.0, 0.0, 0.8], q0, np.zeros(29)])
    half = (0.3, 0.2, 1.1)
    out = dr.noisy_reference_state(
        np.random.default_rng(4), qpos, -np.ones(29), np.ones(29), (0, 0, 0), half, 0.0
    )
    rng = np.random.default_rng(4)
    rng.random(3)  # the position noise's draws
    r, p, y = (2.0 * rng.random(3) - 1.0) * half  # the rotation's draws
    expected = rot.multiply(
        rot.from_axis_angle(np.array([0.0, 0.0, y])),
        rot.multiply(
            rot.from_axis_angle(np.array([0.0, p, 0.0])),
            rot.multiply(rot.from_axis_angle(np.array([r, 0.0, 0.0])), q0),
        ),
    )
    np.testing.assert_allclose(out[3:7], expected, atol=1e-12)


def test_reset_state_is_the_reference_standing_on_the_floor(motion):
    """Evaluation reset: qpos/qvel of the reference, feet on the floor, state fully computed."""
    env = G1TrackingEnv(motion, evaluation=True)
    obs, _ = env.reset(seed=0)
    ref = env.library
    np.testing.assert_allclose(env.data.qpos, ref.qpos(0))
    np.testing.assert_allclose(env.data.qvel, ref.qvel(0))
    assert abs(lowest_foot_point(env.data.qpos)) < 0.005  # neither sunk nor floating [m]
    # Reset runs only MuJoCo's position/velocity stages: the observation equals mj_forward's.
    mujoco.mj_forward(env.model, env.data)
    np.testing.assert_allclose(obs, env.actor_observation(), atol=1e-6)
    assert env.termination() == ""


def _rollout_length(env, policy, steps: int) -> tuple[int, str, float]:
    env.reset(seed=0)
    errors = []
    for _ in range(steps):
        _, _, terminated, truncated, info = env.step(policy(env))
        errors.append(info["error_body_pos"])
        if terminated or truncated:
            break
    return len(errors), info["termination"], float(np.mean(errors))


def test_zero_action_holds_a_standing_reference_and_pd_tracks_better(motion):
    """a = 0 targets the default pose: on a reference standing in it the robot stays up for
    a while (BeyondMimic's soft ankle gains cannot balance it statically: it then tips over,
    as an inverted pendulum, in ~1.3 s); on the waving reference, PD targets at the reference
    track it more closely than a = 0."""
    stand = motion.replace(
        root_pos=np.repeat(motion.root_pos[:1], len(motion.root_pos), 0),
        root_quat=np.repeat(motion.root_quat[:1], len(motion.root_quat), 0),
        joint_pos=np.repeat(motion.joint_pos[:1], len(motion.joint_pos), 0),
    )
    np.testing.assert_allclose(stand.joint_pos[0], G1TrackingEnv(stand).default_joint_pos)
    env = G1TrackingEnv(stand, evaluation=True)
    n, reason, err = _rollout_length(env, lambda e: np.zeros(29, np.float32), 500)
    assert n >= 40  # 0.8 s before it has tipped over
    n, reason, err = _rollout_length(env, lambda e: np.zeros(29, np.float32), 25)
    assert (n, reason) == (25, "") and err < 0.03
    env = G1TrackingEnv(motion, evaluation=True)
    zero = _rollout_length(env, lambda e: np.zeros(29, np.float32), 500)
    pd = _rollout_length(env, lambda e: e.action_for_joint_targets(e.reference_joint_pos()), 500)
    assert pd[0] >= zero[0] and pd[2] < zero[2]


def test_reference_action_offset_makes_zero_action_the_reference_pd_targets(motion):
    """``action_offset="reference"``: a zero action puts the PD targets on the reference joints
    of the frame the step ends on, so it replays the PD-at-reference tracker step for step;
    ``action_for_joint_targets`` inverts the offset; training keeps the encoder offset."""
    ref = G1TrackingEnv(motion, evaluation=True, action_offset="reference")
    ref.reset(seed=0)
    for _ in range(3):
        target = ref.reference_joint_pos(1)
        ref.step(np.zeros(29, np.float32))
        np.testing.assert_allclose(ref.data.ctrl, target)
    q = np.linspace(-0.2, 0.2, 29)
    np.testing.assert_allclose(
        ref.action_for_joint_targets(q) * ref.action_scale + ref.reference_joint_pos(1),
        q,
        atol=1e-6,  # float32 actions
    )
    default = G1TrackingEnv(motion, evaluation=True)
    pd = _rollout_length(
        default, lambda e: e.action_for_joint_targets(e.reference_joint_pos(1)), 500
    )
    zero_ref = _rollout_length(ref, lambda e: np.zeros(29, np.float32), 500)
    assert zero_ref[:2] == pd[:2] and zero_ref[2] == pytest.approx(pd[2], rel=1e-6)
    # The clip's last frame holds: the target stays there.
    train = G1TrackingEnv(motion, action_offset="reference")
    train.reset(seed=3)
    sim = train.sim
    enc = sim.q_default[0] - sim.default_joint_pos
    assert np.abs(enc).max() > 0  # randomised encoder offset
    nxt = min(int(sim.g[0]) + 1, int(sim.g_end[0]))
    np.testing.assert_allclose(sim.action_offset()[0], sim.library.joint_pos[nxt] + enc)
    with pytest.raises(KeyError, match="valid action offsets: default, reference"):
        G1TrackingEnv(motion, action_offset="residual")
