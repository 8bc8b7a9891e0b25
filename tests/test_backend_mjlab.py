"""The mjlab GPU tracking backend: reference export, the sim-to-sim observation/action mapping,
the exported-policy wrapper in the project's CPU env, and (where mjlab is installed) the same
observation and joint targets as mjlab's env on a constructed state and a CPU training run.

The mjlab tests run only in an environment with mjlab (``pip install 'nmr-gym[mjlab]'``, see
the README's "Scaling"); the default install skips them with that reason.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmark.backends import mjlab_backend as mb
from nmr_gym.envs import G1TrackingEnv, mdp
from nmr_gym.envs.motion_source import procedural_motion
from nmr_gym.errors import MotionFormatError
from nmr_gym.g1 import spec
from nmr_gym.g1.spec import DEFAULT_JOINT_POS

NJ = spec.NUM_JOINTS
#: IMU site of the G1 (Menagerie / mjlab): pelvis frame [m].
IMU_POS_B = [0.04525, 0.0, -0.08339]


def synthetic_conventions(reverse: bool = False, offset: float = 0.0) -> dict:
    """Conventions of a hypothetical mjlab build: joints reversed, other defaults, scales x2."""
    names = list(spec.JOINT_NAMES)[::-1] if reverse else list(spec.JOINT_NAMES)
    order = [spec.joint_index(n) for n in names]
    return {
        "format": mb.POLICY_FORMAT,
        "joint_names": names,
        "default_joint_pos": (DEFAULT_JOINT_POS[order] + offset).tolist(),
        "action_scale": (2.0 * np.asarray(spec.ACTION_SCALE)[order]).tolist(),
        "action_offset": (DEFAULT_JOINT_POS[order] + offset).tolist(),
        "observation_layouts": {"actor": [[n, t.size] for n, t in mdp.ACTOR_OBSERVATION.items()]},
        "imu_site_pos_b": IMU_POS_B,
        "imu_site_quat_b": [1.0, 0.0, 0.0, 0.0],
    }


def random_actor_obs(rng) -> np.ndarray:
    return rng.normal(size=mdp.size(mdp.ACTOR_OBSERVATION))


def test_export_reference_is_mjlabs_motion_npz(tmp_path):
    motion = procedural_motion(seconds=1.0, fps=30.0)
    path = mb.export_reference(motion, tmp_path / "m.npz")
    data = np.load(path)
    fps = float(np.asarray(data["fps"]).reshape(-1)[0])
    assert fps == pytest.approx(mb.control_fps())
    n = data["joint_pos"].shape[0]
    assert n == motion.resample(fps).n_frames
    assert data["joint_pos"].shape == data["joint_vel"].shape == (n, NJ)
    nb = len(spec.BODY_NAMES)
    for key in ("body_pos_w", "body_lin_vel_w", "body_ang_vel_w"):
        assert data[key].shape == (n, nb, 3)
    assert data["body_quat_w"].shape == (n, nb, 4)
    assert list(data["body_names"]) == list(spec.BODY_NAMES) and spec.BODY_NAMES[0] == "pelvis"
    np.testing.assert_allclose(np.linalg.norm(data["body_quat_w"], axis=-1), 1.0, atol=1e-5)
    with pytest.raises(MotionFormatError, match="RobotMotion"):
        mb.export_reference("not a motion", tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()


def test_identity_conventions_give_the_same_observation():
    rng = np.random.default_rng(0)
    conv = synthetic_conventions()
    conv["imu_site_pos_b"] = [0.0, 0.0, 0.0]
    conv["action_scale"] = list(spec.ACTION_SCALE)
    obs = random_actor_obs(rng)
    np.testing.assert_allclose(mb.project_to_mjlab_obs(obs, conv, DEFAULT_JOINT_POS), obs, 1e-6)


def test_mapping_permutes_rebases_and_moves_velocity_to_the_imu():
    rng = np.random.default_rng(1)
    conv = synthetic_conventions(reverse=True, offset=0.05)
    perm = mb.joint_permutation(conv)
    assert [spec.JOINT_NAMES[i] for i in perm] == conv["joint_names"]
    obs = random_actor_obs(rng)
    out = mb.project_to_mjlab_obs(obs, conv, DEFAULT_JOINT_POS).astype(float)
    src = mdp.slices(mdp.ACTOR_OBSERVATION)
    cmd = obs[src["command"]]
    np.testing.assert_allclose(out[src["command"]][:NJ], cmd[:NJ][::-1], atol=1e-6)
    np.testing.assert_allclose(out[src["command"]][NJ:], cmd[NJ:][::-1], atol=1e-6)
    q = obs[src["joint_pos"]] + DEFAULT_JOINT_POS
    np.testing.assert_allclose(
        out[src["joint_pos"]], q[::-1] - DEFAULT_JOINT_POS[::-1] - 0.05, 1e-5
    )
    w = obs[src["base_ang_vel"]]
    v_imu = obs[src["base_lin_vel"]] + np.cross(w, IMU_POS_B)
    np.testing.assert_allclose(out[src["base_lin_vel"]], v_imu, atol=1e-5)
    assert not np.allclose(v_imu, obs[src["base_lin_vel"]], atol=1e-3)  # the offset matters
    for name in ("motion_anchor_pos_b", "motion_anchor_ori_b", "base_ang_vel"):
        np.testing.assert_allclose(out[src[name]], obs[src[name]], atol=1e-6)
    # The last action means the same PD target in both unit systems.
    a_m = out[src["actions"]]
    target_p = DEFAULT_JOINT_POS + np.asarray(spec.ACTION_SCALE) * obs[src["actions"]]
    np.testing.assert_allclose(mb.mjlab_action_to_joint_targets(a_m, conv), target_p, atol=1e-5)


def test_action_targets_follow_mjlabs_offset_and_scale():
    conv = synthetic_conventions(reverse=True, offset=0.05)
    a = np.linspace(-1, 1, NJ)  # mjlab order
    target = mb.mjlab_action_to_joint_targets(a, conv)
    expected_m = np.asarray(conv["action_offset"]) + np.asarray(conv["action_scale"]) * a
    np.testing.assert_allclose(target[mb.joint_permutation(conv)], expected_m)


def write_policy(tmp_path, conv, bias: np.ndarray | None = None):
    """A 'policy' as the backend exports it: a constant action ``bias`` (weights zero) after a
    hidden ELU layer, and its conventions."""
    n_obs = sum(n for _, n in conv["observation_layouts"]["actor"])
    rng = np.random.default_rng(0)
    arrays = {
        "obs_mean": rng.normal(size=n_obs),
        "obs_std": rng.uniform(0.5, 2.0, n_obs),
        "obs_eps": np.array(0.01),
        "w0": rng.normal(size=(8, n_obs)),
        "b0": np.zeros(8),
        "w1": np.zeros((NJ, 8)),
        "b1": np.zeros(NJ) if bias is None else np.asarray(bias, dtype=float),
    }
    np.savez(tmp_path / mb.POLICY_FILE, **arrays)
    (tmp_path / mb.POLICY_META_FILE).write_text(
        json.dumps({**conv, "activations": ["elu", "identity"]})
    )
    return tmp_path


def test_mlp_forward_is_normalise_then_layers():
    rng = np.random.default_rng(2)
    arrays = {
        "obs_mean": rng.normal(size=3),
        "obs_std": rng.uniform(1, 2, 3),
        "obs_eps": np.array(0.01),
        "w0": rng.normal(size=(4, 3)),
        "b0": rng.normal(size=4),
        "w1": rng.normal(size=(2, 4)),
        "b1": rng.normal(size=2),
    }
    x = rng.normal(size=(5, 3))
    h = ((x - arrays["obs_mean"]) / (arrays["obs_std"] + 0.01)) @ arrays["w0"].T + arrays["b0"]
    h = np.where(h > 0, h, np.exp(h) - 1.0)
    want = h @ arrays["w1"].T + arrays["b1"]
    np.testing.assert_allclose(mb.mlp_forward(arrays, ["elu", "identity"], x), want, atol=1e-12)
    with pytest.raises(mb.MjlabBackendError, match="swish"):
        mb.mlp_forward(arrays, ["swish", "identity"], x)


def test_exported_policy_acts_in_the_cpu_env(tmp_path):
    """A constant mjlab action lands as the PD targets offset + scale * action in the project's
    env (joint order and units converted)."""
    conv = synthetic_conventions(reverse=True, offset=0.02)
    a_m = np.linspace(-0.5, 0.5, NJ)
    policy = mb.MjlabPolicy.load(write_policy(tmp_path, conv, bias=a_m))
    assert mb.MjlabPolicy.is_policy_dir(tmp_path)
    env = G1TrackingEnv(procedural_motion(seconds=1.0), evaluation=True)
    obs, _ = env.reset(seed=0)
    action = policy(obs, env)
    env.step(action)
    expected = mb.mjlab_action_to_joint_targets(a_m, conv)
    np.testing.assert_allclose(env.data.ctrl, expected, atol=1e-5)


def test_bad_policy_files_are_clear_errors(tmp_path):
    with pytest.raises(MotionFormatError, match="no mjlab policy"):
        mb.MjlabPolicy.load(tmp_path)
    conv = synthetic_conventions()
    conv["joint_names"] = conv["joint_names"][:-1] + ["tail_joint"]
    write_policy(tmp_path, conv)
    with pytest.raises(MotionFormatError, match="not the G1's 29"):
        mb.MjlabPolicy.load(tmp_path)
    conv = synthetic_conventions()
    conv["format"] = "something else"
    (tmp_path / mb.POLICY_META_FILE).write_text(json.dumps(conv))
    with pytest.raises(MotionFormatError, match="not an"):
        mb.MjlabPolicy.load(tmp_path)
    write_policy(tmp_path, synthetic_conventions())
    conv = json.loads((tmp_path / mb.POLICY_META_FILE).read_text())
    conv["observation_layouts"]["actor"][0][1] = 10  # layers no longer fit the layout
    (tmp_path / mb.POLICY_META_FILE).write_text(json.dumps(conv))
    with pytest.raises(MotionFormatError, match="expected 112"):
        mb.MjlabPolicy.load(tmp_path)


def test_train_refuses_bad_settings_before_launching(tmp_path, monkeypatch):
    monkeypatch.delenv(mb.MJLAB_PYTHON_ENV, raising=False)
    motion = procedural_motion(seconds=1.0)
    (tmp_path / "done").mkdir()
    with pytest.raises(mb.MjlabBackendError, match="exists"):
        mb.train(motion, tmp_path / "done")
    with pytest.raises(mb.MjlabBackendError, match="does not exist"):
        mb.train(motion, tmp_path / "new", python=tmp_path / "no-python")
    with pytest.raises(mb.MjlabBackendError, match="num_envs"):
        mb.train(motion, tmp_path / "new", num_envs=0, python=__import__("sys").executable)
    if not mb.mjlab_importable():
        with pytest.raises(mb.MjlabBackendError, match="needs mjlab"):
            mb.train(motion, tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done"]  # nothing left behind


# ------------------------------------------------------------------ with mjlab installed
mjlab_only = pytest.mark.skipif(
    not mb.mjlab_importable(),
    reason="mjlab is not installed in this environment (optional extra 'mjlab', own venv; "
    "see the README's Scaling section)",
)


@pytest.fixture(scope="module")
def mjlab_env(tmp_path_factory):
    """mjlab's G1 tracking env (project MDP, play mode, no randomisation) on a procedural clip."""
    from mjlab.envs import ManagerBasedRlEnv

    from benchmark.backends import mjlab_task

    motion = procedural_motion(seconds=2.0)
    path = mb.export_reference(motion, tmp_path_factory.mktemp("mjlab") / "motion.npz")
    cfg = mjlab_task.make_env_cfg(path, 1, play=True)
    for name in ("base_com", "encoder_bias", "foot_friction", "push_robot"):
        cfg.events.pop(name, None)
    env = ManagerBasedRlEnv(cfg=cfg, device="cpu")
    env.reset()
    yield env, motion
    env.close()


@mjlab_only
@pytest.mark.slow  # builds mjlab's Warp env on the CPU
def test_same_observation_and_targets_as_mjlab_on_a_constructed_state(mjlab_env):
    import torch

    from benchmark.backends import mjlab_task

    env_m, motion = mjlab_env
    conv = mjlab_task.conventions(env_m)
    assert conv["joint_names"] == list(spec.JOINT_NAMES)  # mjlab's G1 uses Menagerie's order
    assert conv["body_names"] == list(spec.BODY_NAMES)  # so the exported npz needs no reorder
    rng = np.random.default_rng(3)
    frame = 20
    env_p = G1TrackingEnv(motion, evaluation=True)
    env_p.reset(options={"frame": frame})
    # A constructed state near the reference: perturbed pose, random velocities, last action.
    qpos = env_p.library.qpos(int(env_p.sim.g[0])).copy()
    qpos[:3] += rng.normal(0, 0.03, 3)
    qpos[7:] += rng.normal(0, 0.1, NJ)
    qvel = rng.normal(0, 0.5, 6 + NJ)
    last_a_p = rng.normal(0, 0.5, NJ)
    import mujoco

    env_p.data.qpos[:] = qpos
    env_p.data.qvel[:] = qvel
    mujoco.mj_forward(env_p.model, env_p.data)
    env_p.sim.action[0] = last_a_p  # the previous policy action
    obs_p = env_p.actor_observation(noise=False)

    cmd = env_m.command_manager.get_term("motion")
    cmd.time_steps[:] = env_p.clip_frame
    d = env_m.sim.data
    d.qpos[0] = torch.as_tensor(qpos, dtype=d.qpos.dtype)
    d.qvel[0] = torch.as_tensor(qvel, dtype=d.qvel.dtype)
    env_m.sim.forward()
    env_m.scene.update(env_m.step_dt)
    perm = mb.joint_permutation(conv)
    target = DEFAULT_JOINT_POS + np.asarray(spec.ACTION_SCALE) * last_a_p
    last_a_m = (target[perm] - np.asarray(conv["action_offset"])) / np.asarray(conv["action_scale"])
    env_m.action_manager._action[:] = torch.as_tensor(last_a_m, dtype=torch.float32)
    obs_m = env_m.observation_manager.compute_group("actor")[0].cpu().numpy()

    mapped = mb.project_to_mjlab_obs(obs_p, conv, DEFAULT_JOINT_POS)
    layout = dict(map(tuple, conv["observation_layouts"]["actor"]))
    assert list(layout) == list(mdp.ACTOR_OBSERVATION)
    i = 0
    for name, size in conv["observation_layouts"]["actor"]:
        np.testing.assert_allclose(
            mapped[i : i + size], obs_m[i : i + size], atol=2e-4, err_msg=f"term {name}"
        )
        i += size
    lin = mdp.slices(mdp.ACTOR_OBSERVATION)["base_lin_vel"]
    assert not np.allclose(obs_p[lin], obs_m[lin], atol=2e-4)  # unmapped, the IMU offset shows

    # The same action gives the same PD targets in both envs: mjlab's through its action
    # manager into MuJoCo's ctrl (actuator order, mapped to joints by the model).
    a_m = rng.normal(0, 1.0, NJ)
    env_m.action_manager.process_action(torch.as_tensor(a_m, dtype=torch.float32)[None])
    env_m.action_manager.apply_action()
    env_m.scene.write_data_to_sim()
    ctrl = env_m.sim.data.ctrl[0].cpu().numpy()
    m = env_m.sim.mj_model
    targets_m = np.full(NJ, np.nan)  # project joint order
    for a in range(m.nu):
        joint = m.joint(int(m.actuator_trnid[a, 0])).name.split("/")[-1]
        targets_m[spec.joint_index(joint)] = ctrl[a]
    a_p = env_p.action_for_joint_targets(mb.mjlab_action_to_joint_targets(a_m, conv))
    env_p.sim.act(a_p[None])
    np.testing.assert_allclose(env_p.data.ctrl, targets_m, atol=1e-5)


@mjlab_only
@pytest.mark.slow  # a few PPO iterations of mjlab on Warp's CPU backend
def test_mjlab_training_end_to_end_on_cpu(tmp_path):
    from benchmark.tracking import evaluate

    motion = procedural_motion(seconds=2.0)
    result = mb.train(
        motion, tmp_path / "run", num_envs=4, iterations=3, save_interval=2, device="cpu",
        torch_threads=1, quiet=True, timeout_s=1800,
    )  # fmt: skip
    assert result.info["iterations"] == 3 and result.info["num_envs"] == 4
    rows = result.curve.read_text().splitlines()
    assert rows[0].startswith("iteration") and len(rows) == 1 + 3
    assert "Train/mean_reward" in rows[0]
    assert result.checkpoint is not None and result.checkpoint.is_file()
    assert result.info["project_mdp_changes"]
    policy = mb.MjlabPolicy.load(result.out)
    (row,) = evaluate([motion], policy, names=["proc"], retargeters=["none"], tracker="mjlab")
    assert row["episode_length"] >= 1 and np.isfinite(row["track_w_mpjpe_m"])
    assert not list(tmp_path.glob(".run.partial*"))


def test_train_tracker_cli_hands_its_motions_to_the_backend(tmp_path, monkeypatch):
    """``train-tracker --backend mjlab``: --out is left to the backend's atomic run (it must not
    exist before), several motions go to one run, the backend's options arrive."""
    from _mjlab_fakes import fake_mjlab_run

    from benchmark.cli import main

    calls = []

    def fake_train(motion, out, **kw):
        assert not __import__("os").path.exists(out)
        calls.append((motion, kw))
        fake_mjlab_run(__import__("pathlib").Path(out), DEFAULT_JOINT_POS)
        return mb.TrainResult.load(out)

    monkeypatch.setattr(mb, "train", fake_train)
    opts = ["--backend", "mjlab", "--num-envs", "4", "--iterations", "3"]
    assert main(["train-tracker", "turn_in_place_short", *opts, "--out", str(tmp_path / "a")]) == 0
    assert (tmp_path / "a" / mb.POLICY_FILE).is_file()
    two = ["turn_in_place_short", "wave_short"]
    assert main(["train-tracker", *two, *opts, "--out", str(tmp_path / "b")]) == 0
    (m1, kw1), (m2, kw2) = calls
    assert len(m1) == 1 and len(m2) == 2 and kw1["num_envs"] == 4 and kw1["iterations"] == 3
