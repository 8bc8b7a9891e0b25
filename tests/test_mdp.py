"""The MDP term tables: fused-path parity, reward parameters and annealing, the NMR expert
observation and rewards, rates derived from the model, the shipped default reference."""

from __future__ import annotations

import subprocess
import sys

import mujoco
import numpy as np
import pytest

from nmr_gym import rotations as rot
from nmr_gym.envs import G1TrackingEnv, G1TrackingVecEnv, SigmaSchedule, TrackingConfig, mdp
from nmr_gym.envs.fused import FusedTerms, applies
from nmr_gym.envs.motion_source import procedural_motion
from nmr_gym.g1 import spec


@pytest.fixture(scope="module")
def motion():
    return procedural_motion(seconds=2.0)


def _perturb(env, rng, scale):
    """A random state near the reference (joints, root pose and velocities moved)."""
    d = env.data
    d.qpos[:3] += scale * rng.normal(0, 0.1, 3)
    d.qpos[3:7] = rot.normalize(d.qpos[3:7] + scale * rng.normal(0, 0.3, 4))
    d.qpos[7:] += scale * rng.normal(0, 0.5, 29)
    d.qvel[:] += scale * rng.normal(0, 1.0, d.qvel.size)
    mujoco.mj_forward(env.model, d)


@pytest.mark.parametrize("scale", [0.0, 0.3, 1.0, 3.0])
def test_fused_terms_equal_the_tables_on_random_states(motion, scale):
    """The fused single-robot path is an optimisation of the same tables: equal terms, errors,
    termination and actor observation on states from on-reference to fallen."""
    env = G1TrackingEnv(motion, evaluation=True, reward_sigmas={"body_pos": 0.2})
    assert applies(env.sim)
    rng = np.random.default_rng(int(scale * 10))
    fused = FusedTerms(env.sim)
    for k in range(5):
        env.reset(options={"frame": 10 * k})
        env.sim.action[0] = rng.normal(0, 0.5, 29)
        env.sim.last_action[0] = rng.normal(0, 0.5, 29)
        _perturb(env, rng, scale)
        terms, errors, reason = fused.step(n_undesired=2.0)
        s = env.sim.inputs(np.array([2.0]))
        np.testing.assert_allclose(terms, env.sim.reward_terms(s)[0], rtol=1e-9, atol=1e-12)
        # Angles from acos near 1 differ by ~1e-8 rad between the two orders of operations.
        np.testing.assert_allclose(
            errors, [f(s)[0] for f in mdp.ERRORS.values()], rtol=1e-9, atol=1e-7
        )
        assert reason == env.termination()
        np.testing.assert_allclose(
            fused.observation("actor"), env.sim.observe("actor", s)[0], atol=1e-6
        )
        table_reward = float(env.sim.reward(env.sim.reward_terms(s))[0])
        assert fused.reward(terms) == pytest.approx(table_reward)


def test_fused_and_table_envs_agree_step_for_step(motion):
    a, b = (G1TrackingEnv(motion, fused=f) for f in (True, False))
    assert a.uses_fused_path and not b.uses_fused_path
    oa, _ = a.reset(seed=3)
    ob, _ = b.reset(seed=3)
    np.testing.assert_array_equal(oa, ob)
    rng = np.random.default_rng(0)
    for _ in range(60):
        act = rng.normal(0, 0.4, 29).astype(np.float32)
        oa, ra, ta, tra, ia = a.step(act)
        ob, rb, tb, trb, ib = b.step(act)
        np.testing.assert_allclose(oa, ob, atol=1e-5)
        assert ra == pytest.approx(rb, rel=1e-9, abs=1e-12)
        assert (ta, tra, ia["termination"]) == (tb, trb, ib["termination"])
        if ta or tra:
            oa, _ = a.reset()
            ob, _ = b.reset()


def test_a_new_table_turns_the_fused_path_off_and_adds_its_info_terms(motion):
    env = G1TrackingEnv(motion, config=TrackingConfig(rewards="nmr_expert"), evaluation=True)
    assert not env.uses_fused_path and not applies(env.sim)
    env.reset()
    _, r, *_, info = env.step(np.zeros(29, np.float32))
    assert set(mdp.NMR_EXPERT_REWARDS) == {k[7:] for k in info if k.startswith("reward_")}
    w = {k: t.weight for k, t in env.rewards.items()}
    assert w == {
        "anchor_pos": 1.0, "anchor_ori": 1.0, "anchor_lin_vel": 1.0, "body_pos": 1.0,
        "body_ori": 1.0, "body_lin_vel": 1.0, "body_ang_vel": 1.0, "action_rate": -0.1,
        "undesired_contacts": -0.1,
    }  # fmt: skip
    assert r == pytest.approx(env.dt * sum(w[k] * info[f"reward_{k}"] for k in w))
    # The anchor velocity term on this state, from MuJoCo's own body velocity.
    v = np.zeros(6)
    a = env.model.body(spec.ANCHOR_BODY).id
    mujoco.mj_objectVelocity(env.model, env.data, mujoco.mjtObj.mjOBJ_XBODY, a, v, 0)
    g = int(env.sim.g[0])
    ref = env.library.body_lin_vel_w[g, spec.TRACKED_BODIES.index(spec.ANCHOR_BODY)]
    expected = np.exp(-np.sum((ref - v[3:]) ** 2) / 1.0**2)
    assert info["reward_anchor_lin_vel"] == pytest.approx(expected, rel=1e-9)


def test_set_reward_params_changes_the_term_in_both_envs(motion):
    env = G1TrackingEnv(motion, evaluation=True)
    venv = G1TrackingVecEnv(2, [motion], evaluation=True)
    for e in (env, venv):
        e.reset(seed=0)
    a = np.full(29, 0.2, np.float32)
    _, _, _, _, before = env.step(a)
    venv.step(np.stack([a, a]))
    err = before["error_body_pos"]
    assert before["reward_body_pos"] == pytest.approx(np.exp(-(err**2) / 0.3**2))
    env.set_reward_params("body_pos", sigma=0.1, weight=2.0)
    venv.set_reward_params("body_pos", sigma=0.1, weight=2.0)
    _, r, _, _, info = env.step(a)
    _, rv, _, _, iv = venv.step(np.stack([a, a]))
    err = info["error_body_pos"]
    assert info["reward_body_pos"] == pytest.approx(np.exp(-(err**2) / 0.1**2))
    assert iv["reward_body_pos"][0] == pytest.approx(info["reward_body_pos"], rel=1e-9)
    assert rv[0] == pytest.approx(r, rel=1e-9)
    assert env.rewards["body_pos"].weight == venv.rewards["body_pos"].weight == 2.0
    with pytest.raises(ValueError, match="sigma"):
        env.set_reward_params("action_rate", sigma=1.0)
    with pytest.raises(KeyError, match="body_pos"):  # UnknownNameError lists the valid names
        env.set_reward_params("bodypos", sigma=1.0)


def test_sigma_schedule_is_the_papers_linear_annealing():
    s = SigmaSchedule(start={"body_pos": 0.5}, end={"body_pos": 0.1}, i_max=100, i0=20)
    assert s.at(0) == {"body_pos": 0.5} and s.at(20) == {"body_pos": 0.5}
    assert s.at(60)["body_pos"] == pytest.approx(0.3)
    assert s.at(100)["body_pos"] == s.at(500)["body_pos"] == pytest.approx(0.1)
    with pytest.raises(ValueError):
        SigmaSchedule(start={"body_pos": 0.5}, end={}, i_max=10)


def test_sigma_annealing_callback_steers_the_envs_through_sb3(motion):
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecNormalize

    from nmr_gym.envs.sb3 import SB3VecEnv, SigmaAnnealingCallback

    venv = VecNormalize(SB3VecEnv(2, [motion]), norm_reward=False)
    schedule = SigmaSchedule(
        start={"body_pos": 0.3, "anchor_pos": 0.3},
        end={"body_pos": 0.1, "anchor_pos": 0.2},
        i_max=64,
    )
    model = PPO("MlpPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, seed=0, device="cpu",
                policy_kwargs={"net_arch": [8]})  # fmt: skip
    model.learn(64, callback=SigmaAnnealingCallback(schedule))
    rewards = venv.venv.venv.rewards
    assert rewards["body_pos"].params["sigma"] == pytest.approx(0.1)
    assert rewards["anchor_pos"].params["sigma"] == pytest.approx(0.2)


def test_nmr_observation_content_on_a_constructed_state(motion):
    """Table I of the NMR paper: 509 entries, each slice the quantity it names."""
    env = G1TrackingEnv(motion, evaluation=True, obs_mode="nmr")
    assert env.observation_space.shape == (509,)
    env.reset(options={"frame": 20})
    d, m = env.data, env.model
    d.qpos[7:] += 0.05
    d.qvel[:] = np.linspace(-1, 1, d.qvel.size)
    mujoco.mj_forward(m, d)
    env.sim.action[0] = np.linspace(0, 1, 29)
    obs = env.nmr_observation()
    s = mdp.slices(mdp.NMR_OBSERVATION)
    g, lib, tb = int(env.sim.g[0]), env.library, spec.TRACKED_BODY_INDICES + 1
    v = np.zeros((14, 6))
    for i, b in enumerate(tb):
        mujoco.mj_objectVelocity(m, d, mujoco.mjtObj.mjOBJ_XBODY, int(b), v[i], 0)
    expected = {
        "ref_joint_pos": lib.joint_pos[g],
        "ref_joint_vel": lib.joint_vel[g],
        "ref_body_pos_w": lib.body_pos_w[g],
        "ref_body_lin_vel_w": lib.body_lin_vel_w[g],
        "ref_body_quat_w": lib.body_quat_w[g],
        "ref_body_ang_vel_w": lib.body_ang_vel_w[g],
        "body_pos_w": d.xpos[tb],
        "body_lin_vel_w": v[:, 3:],
        "body_quat_w": d.xquat[tb],
        "body_ang_vel_w": v[:, :3],
        "joint_pos": d.qpos[7:] - env.default_joint_pos,
        "joint_vel": d.qvel[6:],
        "actions": np.linspace(0, 1, 29),
    }
    assert list(expected) == list(s) and sum(x.size for x in expected.values()) == 509
    for k, x in expected.items():
        np.testing.assert_allclose(obs[s[k]], np.ravel(x), atol=1e-5, err_msg=k)


def test_layout_entries_cover_the_observation_once():
    for group in mdp.OBSERVATION_GROUPS.values():
        entries = mdp.layout(group)
        covered = np.zeros(mdp.size(group), int)
        for e in entries:
            covered[e.slice] += 1
            assert e.meaning
        assert (covered == 1).all()


def test_decimation_2_gives_a_100_hz_env(motion):
    env = G1TrackingEnv(motion, decimation=2)
    base = G1TrackingEnv(motion)
    assert env.dt == pytest.approx(0.01) and env.library.fps == pytest.approx(100.0)
    assert env.metadata["render_fps"] == pytest.approx(100.0)
    assert env.max_episode_steps == 2 * base.max_episode_steps == 1000  # still 10 s
    # The reference is resampled at 100 Hz and advances one 100 Hz frame per step.
    ref = motion.resample(100.0)
    assert env.library.clip_length[0] == ref.n_frames
    ev = G1TrackingEnv(motion, decimation=2, evaluation=True)
    ev.reset(options={"frame": 10})
    for k in range(1, 4):
        ev.step(np.zeros(29, np.float32))
        np.testing.assert_allclose(ev.reference_joint_pos(), ref.joint_pos[10 + k], atol=1e-9)
        assert ev.data.time == pytest.approx(k * 0.01)
    # Adaptive bins span 1 s: 100 frames; pushes 1-3 s apart: 100-300 steps.
    assert env.sampler.frames_per_bin == 100 and base.sampler.frames_per_bin == 50
    env.reset(seed=0)
    assert 100 <= env.sim.next_push_step[0] <= 300
    # Time limit in steps: a 10 s episode truncates after 1000 steps.
    venv = G1TrackingVecEnv(1, [motion], decimation=2)
    assert venv.max_episode_steps == 1000


def test_the_default_env_uses_the_shipped_reference_and_no_retargeter():
    """gym.make with no arguments on a fresh process: no IK, no retargeter or benchmark import."""
    code = (
        "import sys, gymnasium as gym, nmr_gym\n"
        "env = gym.make('NMRTrack-G1-v0')\n"
        "env.reset(seed=0)\n"
        "env.step(env.action_space.sample())\n"
        "top = {m.split('.')[0] for m in sys.modules}\n"
        "bad = top & {'retargeters', 'benchmark', 'mink'}\n"
        "assert not bad, bad\n"
        "print(env.unwrapped.library.names[0])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "walk_short"


def test_the_env_refuses_to_retarget(motion):
    from nmr_gym.errors import MotionError

    with pytest.raises(MotionError, match="resolve_motion_specs"):
        G1TrackingEnv(motion, retargeter="gmr")


def test_render_reference_ghost_changes_pixels(motion):
    """The reference drawn as a translucent ghost: with the robot moved off it, pixels differ."""
    frames = []
    for ghost in (False, True):
        env = G1TrackingEnv(motion, evaluation=True, render_mode="rgb_array",
                            render_reference=ghost)  # fmt: skip
        env.reset()
        env.data.qpos[0] += 0.5  # the robot beside its reference
        mujoco.mj_forward(env.model, env.data)
        frames.append(env.render())
        env.close()
    plain, ghosted = frames
    assert plain.shape == ghosted.shape == (480, 640, 3)
    changed = np.any(plain != ghosted, axis=-1).mean()
    assert changed > 0.01  # a robot-sized region of the frame
