"""CEPR pipeline: presets, the smoke run end to end, resume after a stop between stages, and
the Ray path giving the same manifest as the local one."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from benchmark.cepr import pipeline
from benchmark.cepr.experts import EXPERTS_DIR, PHYSICS_DIR, ROLLOUT_DIR
from benchmark.cli import main
from nmr_gym.datasets import PairDataset


def test_unknown_preset_is_one_line_error(tmp_path, capsys):
    assert main(["cepr", "run", "--preset", "huge", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown preset 'huge'" in err[0] and "smoke" in err[0]
    assert not (tmp_path / "o").exists()


def test_paper_preset_settings_are_shown(capsys):
    assert main(["cepr", "run", "--preset", "paper", "--out", "x", "--show"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["k"] == 32 and s["n_envs"] == 4096 and s["obs_mode"] == "nmr"
    assert s["timesteps"] == 30_000 * 24 * 4096 and s["sigma_start"] > s["sigma_end"]


@pytest.mark.parametrize("preset", ["smoke", "cpu", "paper"])
def test_every_preset_trains_experts_on_the_papers_mdp(preset):
    s = pipeline.preset_settings(preset)
    mdp = (s["obs_mode"], s["rewards"], s["sigma_start"], s["sigma_end"])
    assert mdp == ("nmr", "nmr_expert", 2.0, 1.0)
    # the cpu budget trains residual experts (a named deviation), the others the paper's action
    assert s["action_offset"] == ("reference" if preset == "cpu" else "default")
    pipeline.check_settings(s)  # train-tracker takes them (no refusal)


def test_a_folder_refuses_other_settings(tmp_path):
    s = pipeline.preset_settings("smoke")
    pipeline._remember(tmp_path, s)
    pipeline._remember(tmp_path, dict(s))  # the same settings: fine
    with pytest.raises(pipeline.CeprError, match="k"):
        pipeline._remember(tmp_path, {**s, "k": 3})


def _compare_outputs(a, b):
    for rel in (
        "kinematic/manifest.csv",
        f"{PHYSICS_DIR}/manifest.csv",
        f"{ROLLOUT_DIR}/rollouts.csv",
        "cluster/clusters.csv",
    ):
        pd.testing.assert_frame_equal(pd.read_csv(a / rel), pd.read_csv(b / rel), obj=rel)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke")
    assert main(["cepr", "run", "--preset", "smoke", "--out", str(out), "--jobs", "2"]) == 0
    return out


@pytest.mark.slow
def test_smoke_run_writes_every_stage_and_the_report(smoke_run):
    out = smoke_run
    report = (out / "report.md").read_text()
    for section in ("Stage 1", "Stage 2", "Stage 3", "Stage 4", "Physics pairs"):
        assert section in report
    assert (out / "cluster" / "embedding.png").stat().st_size > 10_000
    ro = pd.read_csv(out / ROLLOUT_DIR / "rollouts.csv")
    assert len(ro) == 2 * 3  # K = 2 experts, at most 3 references each
    phys = PairDataset(out / PHYSICS_DIR)
    assert len(phys) == int((ro["kept_frames"] > 0).sum())
    assert set(pd.read_csv(out / EXPERTS_DIR / "summary.csv")["expert"]) == {
        "cluster-00",
        "cluster-01",
    }


@pytest.mark.slow
def test_stop_between_stages_then_rerun_gives_the_same_result(smoke_run, tmp_path):
    out = tmp_path / "resumed"
    args = ["cepr", "run", "--preset", "smoke", "--out", str(out), "--jobs", "2"]
    assert main([*args, "--stop-after", "retarget"]) == 0
    assert not (out / "cluster").exists()
    assert main([*args, "--stop-after", "cluster"]) == 0
    assert main(args) == 0
    _compare_outputs(smoke_run, out)


@pytest.mark.slow
def test_ray_path_gives_the_same_manifest_as_the_local_path(smoke_run, tmp_path):
    pytest.importorskip("ray", reason="ray is not installed (pip install 'nmr-gym[ray]')")
    out = tmp_path / "ray"
    shutil.copytree(smoke_run, out)
    for stage in (EXPERTS_DIR, ROLLOUT_DIR, PHYSICS_DIR, "report", "report.md"):
        p = out / stage
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    args = ["cepr", "run", "--preset", "smoke", "--out", str(out), "--ray", "local"]
    try:
        assert main(args) == 0
    finally:
        import ray

        ray.shutdown()
    _compare_outputs(smoke_run, out)


@pytest.mark.slow
def test_kill_within_stage_2_then_rerun_gives_the_same_dataset(tmp_path):
    """SIGKILL the retarget command after its first clip, rerun it: it continues from the
    cached clips and ends with the same manifest as an uninterrupted run."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}

    def cmd(out):
        return [sys.executable, "-m", "benchmark.cli", "cepr", "retarget", "--motions",
                "builtin", "--retargeter", "direct", "--out", str(out)]  # fmt: skip

    killed = tmp_path / "killed"
    proc = subprocess.Popen(cmd(killed), env=env, cwd=root)
    deadline = time.time() + 300
    while time.time() < deadline and not list(killed.glob("retarget/clips-*/*.npz")):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = list(killed.glob("retarget/clips-*/*.npz"))
    assert done_before and not (killed / "kinematic" / "manifest.csv").exists()
    subprocess.run(cmd(killed), env=env, cwd=root, check=True)
    clean = tmp_path / "clean"
    subprocess.run(cmd(clean), env=env, cwd=root, check=True)
    a = pd.read_csv(clean / "kinematic" / "manifest.csv")
    b = pd.read_csv(killed / "kinematic" / "manifest.csv")
    pd.testing.assert_frame_equal(a, b)
    assert len(a) > 20


@pytest.mark.slow
def test_rollout_over_all_references_keeps_the_trained_ones_and_adds_the_rest(smoke_run, tmp_path):
    """``cepr rollout --all-references``: the experts (trained on at most 3 segments each) are
    also rolled out over the rest of their clusters; the trained references' results are the
    same rows as before, the others are marked ``trained_on`` False."""
    out = tmp_path / "all"
    shutil.copytree(smoke_run, out)
    before = pd.read_csv(out / ROLLOUT_DIR / "rollouts.csv")
    args = ["cepr", "rollout", "--out", str(out), "--jobs", "2", "--all-references"]
    assert main(args) == 0
    after = pd.read_csv(out / ROLLOUT_DIR / "rollouts.csv")
    clusters = pd.read_csv(out / "cluster" / "clusters.csv")
    assert len(after) == len(clusters) > len(before)
    trained = after[after["trained_on"]]
    assert set(trained["pair_id"]) == set(before["pair_id"])
    cols = ["pair_id", "cluster", "tracked_s", "kept_frames", "success"]
    pd.testing.assert_frame_equal(
        trained[cols].reset_index(drop=True), before[cols].reset_index(drop=True)
    )
    assert (out / ROLLOUT_DIR / "refs").is_dir()  # the untrained segments' references
    assert len(PairDataset(out / PHYSICS_DIR)) == int((after["kept_frames"] > 0).sum())
    assert "(other)" in (out / "report.md").read_text()
