"""Noise robustness (``benchmark.noise_robustness``): the deviation numbers and the command."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from benchmark import noise_robustness as nr
from benchmark.cli import main
from benchmark.metrics import JUMP_THRESHOLD_RAD, SCORING_FPS
from nmr_gym.errors import MotionError
from nmr_gym.motion import RobotMotion
from nmr_gym.suite import get_clip
from nmr_gym.suite.noise import add_noise

CLIP = "wave_short"  # short built-in clip; direct is the cheapest retargeter


@pytest.fixture(scope="module")
def human():
    return get_clip(CLIP).motion()


@pytest.fixture(scope="module")
def clean(human):
    return nr._retarget("direct", human, seed=0)


def _robot(joint_pos: np.ndarray, fps: float = SCORING_FPS) -> RobotMotion:
    n = len(joint_pos)
    quat = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
    return RobotMotion(
        fps=fps, root_pos=np.zeros((n, 3)) + [0, 0, 0.79], root_quat=quat, joint_pos=joint_pos
    )


def test_deviation_of_identical_motions_is_zero():
    t = np.arange(60)[:, None] / SCORING_FPS
    q = 0.3 * np.sin(2 * np.pi * t + np.arange(29))  # (60, 29), smooth: no jumps
    d = nr.deviation(_robot(q), _robot(q.copy()))
    assert d["joint_dev_mean_rad"] == 0.0 and d["joint_dev_max_rad"] == 0.0
    assert d["root_pos_dev_m"] == 0.0 and d["noisy_jump_frames"] == 0
    assert d["scored_frames"] == 60


def test_deviation_counts_a_known_offset_and_jump():
    q = np.zeros((50, 29))
    noisy = q.copy()
    noisy[:, 3] += 0.29  # one joint off by 0.29 rad everywhere: mean over 29 joints = 0.01
    noisy[30:, 7] += 2 * JUMP_THRESHOLD_RAD  # one step of 1 rad: one jump frame
    d = nr.deviation(_robot(q), _robot(noisy))
    assert d["joint_dev_mean_rad"] == pytest.approx(0.01 + 20 * 1.0 / (50 * 29))
    assert d["joint_dev_max_rad"] == pytest.approx(1.0)
    assert d["noisy_jump_frames"] == 1 and d["clean_jump_frames"] == 0


def test_deviation_rejects_different_clips():
    with pytest.raises(MotionError, match="differ in length"):
        nr.deviation(_robot(np.zeros((50, 29))), _robot(np.zeros((40, 29))))


def test_scale_one_is_the_documented_noise_and_scale_is_checked(human):
    a, b = add_noise(human, seed=3), add_noise(human, seed=3, scale=1.0)
    np.testing.assert_array_equal(a.joint_pos, b.joint_pos)
    with pytest.raises(MotionError, match="scale"):
        add_noise(human, seed=3, scale=-0.5)


def test_direct_deviation_grows_with_noise(human, clean):
    devs = []
    for scale in (0.0, 0.1, 1.0):
        row, _, noisy = nr.evaluate("direct", human, noise_seed=1, scale=scale, clean=clean)
        devs.append(row["joint_dev_mean_rad"])
    assert devs[0] < 1e-6  # no noise: the same output up to forward-kinematics round-off
    assert 0.0 < devs[1] < devs[2]
    # the built-in jitter is 1.5 deg per joint rotation; direct copies it through
    assert math.radians(0.05) < devs[1] < math.radians(1.0) < devs[2] < math.radians(10.0)


def test_command_runs_resumes_and_publishes(tmp_path, capsys):
    out, pub = tmp_path / "rob", tmp_path / "pub"
    args = ["robustness", "--retargeters", "direct", "--motions", CLIP, "--out", str(out)]
    assert main([*args, "--noise-scale", "0.5", "--no-progress"]) == 0
    rows = pd.read_csv(out / "rows.csv")
    assert list(rows["retargeter"]) == ["direct"] and rows["joint_dev_mean_rad"].iloc[0] > 0
    noisy_file = nr.robot_file(out, "noisy", "direct", CLIP)
    mtime = noisy_file.stat().st_mtime_ns
    # resumes without recomputing, and publishes
    assert main([*args, "--noise-scale", "0.5", "--no-progress", "--publish", str(pub)]) == 0
    assert noisy_file.stat().st_mtime_ns == mtime
    readme = (pub / "README.md").read_text()
    assert "nmr-bench robustness" in readme and "| direct | 1 |" in readme
    assert list((pub / "figures").glob("noise_*.png"))
    # another noise scale in the same folder is refused: exit 2, one line on stderr
    capsys.readouterr()
    assert main([*args, "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "another --out" in err and len(err.splitlines()) == 1


def test_command_rejects_unknown_motion(tmp_path, capsys):
    code = main(
        ["robustness", "--retargeters", "direct", "--motions", "nope", "--out", str(tmp_path)]
    )
    assert code == 2 and "nope" in capsys.readouterr().err


def test_clean_outputs_come_from_the_run_folder(tmp_path, human, clean):
    import json

    from nmr_gym.io import save_robot_motion

    run_dir = tmp_path / "run"
    (run_dir / "motions" / "direct").mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({"seed": 0}))
    shifted = clean.replace(joint_pos=clean.joint_pos + 0.1)  # marks the run's file as used
    save_robot_motion(shifted, run_dir / "motions" / "direct" / f"{CLIP}.nmr.npz")
    rows = nr.run("builtin", ["direct"], tmp_path / "rob", motions=[CLIP], scale=0.0,
                  clean_run=run_dir, progress=False)  # fmt: skip
    assert rows["joint_dev_mean_rad"].iloc[0] == pytest.approx(0.1, abs=1e-5)
    with pytest.raises(nr.RobustnessConfigError, match="seed"):
        nr.run("builtin", ["direct"], tmp_path / "rob2", motions=[CLIP], seed=1,
               clean_run=run_dir, progress=False)  # fmt: skip
