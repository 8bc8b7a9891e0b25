"""G1TrackingVecEnv (batched robots) and its stable-baselines3 adapter."""

from __future__ import annotations

import pickle

import mujoco
import numpy as np
import pytest
from gymnasium.wrappers import TimeLimit

from nmr_gym.envs import G1TrackingEnv, G1TrackingVecEnv
from nmr_gym.envs.motion_library import MotionLibrary
from nmr_gym.envs.motion_source import procedural_motion
from nmr_gym.envs.sb3 import SB3VecEnv

N = 3
#: A short time limit so that the rollouts below cross several autoresets.
LIMIT = 40


@pytest.fixture(scope="module")
def motions():
    # Two clips of different lengths, the second shifted so the clips differ.
    a = procedural_motion(seconds=2.0)
    b = procedural_motion(seconds=3.0)
    b = b.replace(root_pos=b.root_pos + np.array([0.3, -0.2, 0.0]))
    return [a, b]


def _actions(rng: np.random.Generator, n: int = N) -> np.ndarray:
    return (0.3 * rng.standard_normal((n, 29))).astype(np.float32)


def _rollout(venv, steps: int, seed: int = 0) -> list[tuple]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(steps):
        obs, rew, term, trunc, info = venv.step(_actions(rng, venv.num_envs))
        out.append((obs.copy(), rew.copy(), term.copy(), trunc.copy(), info["error_body_pos"]))
    return out


def test_reproduces_independent_single_envs_step_for_step(motions):
    """Same seeds and actions: N single envs (TimeLimit) and the batch agree on everything,
    across autoresets, with domain randomisation writing into one shared model. The single
    envs run the fused single-robot terms, the batch the term tables."""
    venv = G1TrackingVecEnv(N, motions, shared_sampler=False, max_episode_steps=LIMIT)
    assert all(m is venv.sim.models[0] for m in venv.sim.models)
    singles = [TimeLimit(G1TrackingEnv(motions), LIMIT) for _ in range(N)]
    obs, _ = venv.reset(seed=5)
    np.testing.assert_array_equal(
        obs, np.stack([s.reset(seed=5 + i)[0] for i, s in enumerate(singles)])
    )
    rng = np.random.default_rng(0)
    episodes = 0
    for _ in range(150):
        a = _actions(rng)
        obs, rew, term, trunc, info = venv.step(a)
        for i, s in enumerate(singles):
            o, r, te, tr, inf = s.step(a[i])
            assert (term[i], trunc[i]) == (te, tr)
            for k in (k for k in inf if k.startswith(("reward_", "error_"))):
                assert info[k][i] == pytest.approx(inf[k], abs=1e-9), k
            assert info["termination"][i] == inf["termination"]
            assert rew[i] == pytest.approx(r, abs=1e-12)
            if te or tr:
                episodes += 1
                np.testing.assert_allclose(info["final_obs"][i], o, atol=1e-5)
                assert info["_final_obs"][i]
                o, _ = s.reset()
            np.testing.assert_allclose(obs[i], o, atol=1e-5)
    assert episodes >= N  # the comparison crossed resets


def test_threads_do_not_change_results(motions):
    runs = []
    for threads in (1, 2):
        venv = G1TrackingVecEnv(4, motions, num_threads=threads, max_episode_steps=LIMIT)
        venv.reset(seed=1)
        runs.append(_rollout(venv, 60))
        venv.close()
    for a, b in zip(*runs, strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)


def test_make_vec_builds_the_batched_env_with_the_registered_limits(motions):
    import gymnasium as gym

    from nmr_gym.envs import EVAL_ID, TRAIN_ID

    venv = gym.make_vec(TRAIN_ID, num_envs=2, motion=motions)
    assert isinstance(venv, G1TrackingVecEnv)
    assert venv.max_episode_steps == round(10.0 / venv.dt) == 500
    assert not venv.evaluation
    venv = gym.make_vec(EVAL_ID, num_envs=2, motion=motions)
    assert venv.evaluation and venv.max_episode_steps == np.inf
    sync = gym.make_vec(TRAIN_ID, num_envs=2, motion=motions, vectorization_mode="sync")
    assert sync.single_observation_space == venv.single_observation_space


def test_one_model_per_thread_and_one_shared_sampler(motions):
    venv = G1TrackingVecEnv(4, motions, num_threads=2)
    models = {id(m) for m in venv.sim.models}
    assert len(models) == 2
    assert len({id(s) for s in venv.sim.samplers}) == 1
    venv.reset(seed=0)
    for _ in range(80):  # falls record failures in the shared sampler
        venv.step(np.zeros((4, 29), np.float32))
    assert venv.sim.samplers[0].score.sum() > 0


def test_evaluation_batch_starts_each_robot_on_its_clip(motions):
    venv = G1TrackingVecEnv(2, motions, evaluation=True)
    assert venv.max_episode_steps == np.inf
    _, info = venv.reset(seed=0)
    np.testing.assert_array_equal(info["clip"], [0, 1])
    np.testing.assert_array_equal(info["frame"], [0, 0])
    obs, *_ = venv.step(np.zeros((2, 29), np.float32))
    assert np.isfinite(obs).all()


@pytest.mark.parametrize("obs_mode", ["critic", "dict", "nmr"])
def test_other_observation_modes_match_the_single_env(motions, obs_mode):
    venv = G1TrackingVecEnv(2, motions, evaluation=True, obs_mode=obs_mode)
    single = G1TrackingEnv(motions, evaluation=True, obs_mode=obs_mode)
    obs, _ = venv.reset(seed=0)
    o, _ = single.reset(seed=0)
    a = np.full((2, 29), 0.1, np.float32)
    obs, *_ = venv.step(a)
    o, *_ = single.step(a[0])
    first = {k: v[0] for k, v in obs.items()} if obs_mode == "dict" else obs[0]
    if obs_mode == "dict":
        for k in o:
            np.testing.assert_allclose(first[k], o[k], atol=1e-6)
    else:
        np.testing.assert_allclose(first, o, atol=1e-6)
    assert venv.observation_space.contains(obs)


def test_pickle_round_trip_continues_identically(motions):
    venv = G1TrackingVecEnv(2, motions, max_episode_steps=LIMIT)
    venv.reset(seed=3)
    _rollout(venv, 5)
    clone = pickle.loads(pickle.dumps(venv))
    for a, b in zip(_rollout(venv, 30, seed=9), _rollout(clone, 30, seed=9), strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)


def test_bad_arguments_raise_early(motions):
    with pytest.raises(ValueError, match="num_envs"):
        G1TrackingVecEnv(0, motions)
    with pytest.raises(ValueError, match="num_threads"):
        G1TrackingVecEnv(2, motions, num_threads=0)
    venv = G1TrackingVecEnv(2, motions)
    with pytest.raises(RuntimeError, match="reset"):
        venv.step(np.zeros((2, 29)))
    venv.reset(seed=0)
    with pytest.raises(ValueError, match=r"\(2, 29\)"):
        venv.step(np.zeros(29))
    with pytest.raises(ValueError, match="fps"):
        G1TrackingEnv(MotionLibrary(motions, fps=30.0))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("drop", "anchor_height"),  # anchor 0.4 m down (the feet go down too: first rule wins)
        ("tilt", "anchor_tilt"),  # pelvis rolled 90 degrees about x, height kept
        ("hand", "end_effector_height"),  # one shoulder swung up, the body kept in place
        ("none", ""),
    ],
)
def test_batched_terminations_on_constructed_states(motions, change, expected):
    venv = G1TrackingVecEnv(2, motions, evaluation=True)
    venv.reset(seed=0)
    d, m = venv.sim.datas[0], venv.sim.models[0]  # robot 0 changed, robot 1 left alone
    if change == "drop":
        d.qpos[2] -= 0.4
    elif change == "tilt":
        d.qpos[3:7] = [np.cos(np.pi / 4), np.sin(np.pi / 4), 0.0, 0.0]
    elif change == "hand":
        from nmr_gym.g1 import spec

        d.qpos[7 + spec.joint_index("left_shoulder_pitch_joint")] = -2.5
    mujoco.mj_kinematics(m, d)
    mujoco.mj_comPos(m, d)
    assert venv.termination().tolist() == [expected, ""]


def test_sb3_adapter_gives_terminal_observations_and_time_limits(motions):
    venv = SB3VecEnv(2, motions, max_episode_steps=5, evaluation=False)
    venv.seed(0)
    obs = venv.reset()
    assert obs.shape == (2, 160) and obs.dtype == np.float32
    seen_timeout = False
    for _ in range(12):
        venv.step_async(venv.venv.action_for_joint_targets(venv.venv.reference_joint_pos(1)))
        obs, rew, dones, infos = venv.step_wait()
        assert rew.dtype == np.float32 and len(infos) == 2
        assert {"reward_body_pos", "error_body_pos"} <= set(infos[0])
        for done, info in zip(dones, infos, strict=True):
            if done:
                assert info["terminal_observation"].shape == (160,)
                seen_timeout |= info["TimeLimit.truncated"]
    assert seen_timeout
    assert venv.get_attr("dt") == [0.02, 0.02]
    assert venv.env_method("reference_joint_pos", indices=[1])[0].shape == (2, 29)
    venv.env_method("set_reward_params", "body_pos", sigma=0.1)
    assert venv.venv.rewards["body_pos"].params["sigma"] == 0.1


def test_sb3_ppo_learns_a_few_updates(motions, tmp_path):
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecMonitor, VecNormalize

    venv = VecNormalize(VecMonitor(SB3VecEnv(4, motions, num_threads=2)), norm_reward=False)
    model = PPO("MlpPolicy", venv, n_steps=32, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.learn(256)
    assert model.num_timesteps >= 256
    model.save(tmp_path / "m.zip")


def test_single_envs_sharing_a_model_keep_their_own_randomisation(motions):
    from nmr_gym.g1 import tracking_model

    shared = tracking_model()
    pair = [G1TrackingEnv(motions, model=shared) for _ in range(2)]
    alone = [G1TrackingEnv(motions) for _ in range(2)]
    for i, (p, a) in enumerate(zip(pair, alone, strict=True)):
        p.reset(seed=10 + i)
        a.reset(seed=10 + i)
    assert not np.array_equal(pair[0].sim.friction, pair[1].sim.friction)
    rng = np.random.default_rng(0)
    for _ in range(20):
        act = _actions(rng, 2)
        for k in range(2):
            o1, r1, *_ = pair[k].step(act[k])
            o2, r2, *_ = alone[k].step(act[k])
            np.testing.assert_array_equal(o1, o2)
            assert r1 == r2


def test_render_shows_the_first_robot(motions):
    venv = G1TrackingVecEnv(2, motions, render_mode="rgb_array", evaluation=True)
    venv.reset(seed=0)
    frame = venv.render()
    assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8 and frame.std() > 0
    venv.close()


def test_shared_sampler_decays_once_per_batch_step(motions):
    """BeyondMimic's failure EMA steps once per step of the env batch, whatever its size."""
    venv = G1TrackingVecEnv(4, motions, max_episode_steps=LIMIT)
    venv.reset(seed=0)
    sampler = venv.sim.samplers[0]
    sampler.score[:] = 1.0
    for k in range(1, 4):
        actions = venv.action_for_joint_targets(venv.reference_joint_pos(1))
        _, _, term, trunc, _ = venv.step(actions)
        assert not (term | trunc).any()
        np.testing.assert_allclose(sampler.score, (1.0 - sampler.alpha) ** k)
    # An early termination adds alpha to its start bin (and decays nothing more).
    before = sampler.score.copy()
    venv.sim.failed[1] = True
    start_bin = int(venv.sim.start_bin[1])
    venv.sim.reset_robot(1)
    expected = before.copy()
    expected[start_bin] += sampler.alpha
    np.testing.assert_allclose(sampler.score, expected)
