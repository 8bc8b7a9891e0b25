"""CEPR experts on the mjlab backend: settings it cannot train are refused in one line, several
references become one multi-clip motion file, a finished expert run is summarised and rolled
out in the CPU env; with mjlab, the multi-clip command's invariants and one real expert run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _helpers import cepr_expert_settings
from _mjlab_fakes import fake_mjlab_run

from benchmark.backends import cepr_experts as ce
from benchmark.backends import mjlab_backend as mb
from benchmark.cepr import experts
from benchmark.cepr.sources import CeprError
from benchmark.cli import main
from nmr_gym.envs.motion_source import procedural_motion
from nmr_gym.g1 import spec
from nmr_gym.io import save_robot_motion


def _settings(**kw):
    """BeyondMimic's MDP (what mjlab trains) on the mjlab backend."""
    mjlab = dict(obs_mode="actor", rewards="beyondmimic", sigma_start=1.0, sigma_end=1.0)
    return cepr_expert_settings(**{**mjlab, "timesteps": 1000, "backend": "mjlab", **kw})


def test_cpu_settings_are_unchanged_by_the_option():
    cpu = _settings(backend="cpu")
    assert "backend" not in cpu and _settings()["backend"] == "mjlab"
    assert {k: v for k, v in _settings().items() if k != "backend"} == cpu


def test_mjlab_refuses_what_it_cannot_train():
    ce.check_backend_settings(_settings())
    ce.check_backend_settings(_settings(backend="cpu", obs_mode="nmr"))  # the cpu trains it
    with pytest.raises(CeprError, match="--obs-mode actor --rewards beyondmimic"):
        ce.check_backend_settings(_settings(obs_mode="nmr", rewards="nmr_expert"))
    with pytest.raises(CeprError, match="--sigma-start 1"):
        ce.check_backend_settings(_settings(sigma_start=2.0))
    with pytest.raises(CeprError, match="cannot offset actions around the reference"):
        ce.check_backend_settings({**_settings(), "action_offset": "reference"})
    ce.check_backend_settings({**_settings(), "action_offset": "default"})
    with pytest.raises(Exception, match="unknown backend 'gpu'; valid backends: cpu, mjlab"):
        ce.check_backend_settings({**_settings(), "backend": "gpu"})


def test_cli_refuses_in_one_line_before_any_work(tmp_path, capsys):
    for argv, needle in (
        (["--backend", "mjlab"], "--obs-mode actor"),  # the preset's MDP is the paper's
        (["--backend", "gpu"], "unknown backend 'gpu'"),
    ):
        assert main(["cepr", "experts", "--out", str(tmp_path / "o"), *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0], err
    assert main(["cepr", "run", "--out", str(tmp_path / "o"), "--backend", "mjlab"]) == 2
    assert "--obs-mode actor" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_iterations_cover_the_experts_steps():
    assert ce.mjlab_iterations(_settings(timesteps=96, n_envs=4)) == 1  # 4 x 24 per iteration
    assert ce.mjlab_iterations(_settings(timesteps=97, n_envs=4)) == 2
    assert ce.mjlab_iterations(_settings(timesteps=30_000 * 24 * 4096, n_envs=4096)) == 30_000


def test_several_references_are_one_motion_file_with_clip_lengths(tmp_path):
    a, b = (
        procedural_motion(seconds=1.0, fps=30.0),
        procedural_motion(seconds=2.6, fps=30.0)[30:],  # starts mid-wave,
    )
    path = mb.export_references([a, b], tmp_path / "m.npz")
    single = [np.load(mb.export_reference(m, tmp_path / f"{i}.npz")) for i, m in enumerate((a, b))]
    with np.load(path) as data:
        lengths = data[mb.CLIP_LENGTHS_KEY].tolist()
        assert lengths == [s["joint_pos"].shape[0] for s in single]
        for key in ("joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_ang_vel_w"):
            np.testing.assert_array_equal(
                data[key], np.concatenate([s[key] for s in single]), err_msg=key
            )
        assert float(np.asarray(data["fps"]).reshape(-1)[0]) == pytest.approx(mb.control_fps())
    # one reference: mjlab's plain file, no clip lengths
    with np.load(mb.export_references([a], tmp_path / "one.npz")) as one:
        assert mb.CLIP_LENGTHS_KEY not in one.files
    with pytest.raises(Exception, match="no reference motion"):
        mb.export_references([], tmp_path / "none.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.npz", "1.npz", "m.npz", "one.npz"]


def test_a_finished_mjlab_expert_is_summarised_and_rolled_out(tmp_path, monkeypatch):
    """The dispatch of ``experts._train_one`` and ``_rollout_one`` with a fake mjlab run whose
    policy holds the default pose: the rollout runs in the CPU env with ``MjlabPolicy``."""
    ref = procedural_motion(seconds=3.0, fps=30.0)
    ref_path = save_robot_motion(ref, tmp_path / "refs" / "p0.nmr.npz", "nmr")
    seen = []

    def fake_train(motions, out, **kw):
        seen.append((len(motions), kw["num_envs"], kw["iterations"]))
        fake_mjlab_run(out, spec.DEFAULT_JOINT_POS)

    monkeypatch.setattr(mb, "train", fake_train)
    out = tmp_path / "cluster-00"
    settings = _settings(timesteps=200, n_envs=4)
    row = experts._train_one((0, [str(ref_path), str(ref_path)], str(out), settings, 1))
    assert seen == [(2, 4, 3)]  # both references, ceil(200 / 96) iterations
    assert row["expert"] == "cluster-00" and row["references"] == 2 and row["timesteps"] == 288
    assert json.loads((out / "done.json").read_text()) == json.loads(json.dumps(row))
    assert isinstance(ce.load_expert(out), mb.MjlabPolicy)
    cache = tmp_path / "cache.npz"
    res = experts._rollout_one(("p0", str(out), str(ref_path), str(cache), 30.0, "actor"))
    direct = experts.rollout_reference(mb.MjlabPolicy.load(out / ce.MJLAB_EXPERT_DIR), ref)
    assert res["tracked_s"] == direct["tracked_s"] and res["kept_frames"] == direct["kept_frames"]
    np.testing.assert_array_equal(res["qpos"], direct["qpos"])
    with pytest.raises(CeprError, match="obs_mode"):  # an mjlab expert reads the actor obs
        experts._rollout_one(("p0", str(out), str(ref_path), str(tmp_path / "c2.npz"), 30.0, "nmr"))


# ------------------------------------------------------------------ with mjlab installed
def _mjlab_python() -> str | None:
    try:
        return mb.find_mjlab_python()
    except mb.MjlabBackendError:
        return None


mjlab_only = pytest.mark.skipif(
    not mb.mjlab_importable(),
    reason="mjlab is not installed in this environment (optional extra 'mjlab', own venv; "
    "see the README's Scaling section)",
)


@mjlab_only
@pytest.mark.slow  # builds mjlab's Warp env on the CPU
def test_multiclip_command_keeps_every_robot_inside_its_clip(tmp_path):
    import torch
    from mjlab.envs import ManagerBasedRlEnv

    from benchmark.backends import mjlab_task
    from benchmark.backends.mjlab_multiclip import MultiClipMotionCommand

    clips = [
        procedural_motion(seconds=1.2, fps=30.0),
        procedural_motion(seconds=3.6, fps=30.0)[30:],
    ]
    path = mb.export_references(clips, tmp_path / "m.npz")
    cfg = mjlab_task.make_env_cfg(path, 16)
    env = ManagerBasedRlEnv(cfg=cfg, device="cpu")
    try:
        cmd = env.command_manager.get_term("motion")
        assert isinstance(cmd, MultiClipMotionCommand)
        lengths = np.load(path)[mb.CLIP_LENGTHS_KEY]
        per_bin = round(1.0 / env.step_dt)
        assert cmd.bin_count == int(sum(n // per_bin + 1 for n in lengths))
        starts = np.cumsum(lengths) - lengths
        ends = starts + lengths
        env.reset()
        seen_clips = set()
        actions = torch.zeros(env.num_envs, env.action_manager.total_action_dim)
        for _ in range(80):  # > the short clip: robots reach clip ends and are resampled
            env.step(actions)
            t = cmd.time_steps.cpu().numpy()
            seen_clips.update((np.searchsorted(starts, t, side="right") - 1).tolist())
            ref = cmd.joint_pos.cpu().numpy()  # the reference of each robot's own frame
            np.testing.assert_allclose(ref, np.load(path)["joint_pos"][t], atol=1e-6)
        assert seen_clips == {0, 1}
        # A robot on its clip's last frame is resampled, never advanced into the next clip.
        resampled = []

        def record(ids):
            resampled.extend(ids.tolist())
            cmd.time_steps[ids] = 0

        cmd._resample_command = record
        t0 = torch.full((env.num_envs,), 10, dtype=torch.long)
        t0[:3] = torch.as_tensor([ends[0] - 1, ends[0] - 2, ends[1] - 1])
        cmd.time_steps[:] = t0
        cmd._update_command(None)
        assert sorted(resampled) == [0, 2]
        assert cmd.time_steps[1] == ends[0] - 1 and bool((cmd.time_steps[3:] == 11).all())
        del cmd._resample_command
        # adaptive sampling over every clip's bins; starts leave at least one step in the clip
        ids = torch.arange(env.num_envs)
        for _ in range(20):
            cmd._adaptive_sampling(ids)
            t = cmd.time_steps.cpu().numpy()
            clip = np.searchsorted(starts, t, side="right") - 1
            assert np.all(t <= ends[clip] - 2)
    finally:
        env.close()


@pytest.mark.skipif(
    _mjlab_python() is None,
    reason=f"no Python with mjlab (set ${mb.MJLAB_PYTHON_ENV}; optional extra 'mjlab')",
)
@pytest.mark.slow  # mjlab's trainer on Warp's CPU backend: 4 robots, 2 iterations, 2 clips
def test_mjlab_expert_on_two_references_end_to_end(tmp_path, monkeypatch):
    refs = []
    for i, seconds in enumerate((1.5, 2.0)):
        m = procedural_motion(seconds=seconds + i, fps=30.0)[30 * i :]
        refs.append(str(save_robot_motion(m, tmp_path / f"p{i}.nmr.npz", "nmr")))
    real = mb.train  # on Warp's CPU backend, one torch thread
    monkeypatch.setattr(mb, "train", lambda *a, **k: real(*a, **k, device="cpu", torch_threads=1))
    out = tmp_path / "cluster-00"
    row = ce.train_expert(0, "cluster-00", refs, out, _settings(timesteps=192, n_envs=4))
    assert row["references"] == 2 and row["timesteps"] == 2 * 24 * 4
    info = json.loads((out / ce.MJLAB_EXPERT_DIR / "result.json").read_text())
    assert info["iterations"] == 2 and info["num_envs"] == 4
    policy = ce.load_expert(out)
    from nmr_gym.io import load_robot_motion

    assert isinstance(policy, mb.MjlabPolicy) and policy.conventions["body_names"]
    res = experts.rollout_reference(policy, load_robot_motion(refs[1]))  # in the CPU env
    assert res["qpos"].shape == (res["kept_frames"] if res["kept_frames"] else 0, 36)
    assert res["tracked_s"] >= 0
