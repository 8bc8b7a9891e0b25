"""``nmr-bench run``: rows, determinism, resuming after an interruption, suites, ``score``."""

from __future__ import annotations

import json
import math
import shlex
import sys

import numpy as np
import pandas as pd
import pytest

from benchmark import leaderboard, metrics, runner, suites
from benchmark import results as res
from benchmark.cli import main
from nmr_gym import skeleton
from nmr_gym.g1 import spec
from nmr_gym.motion import HumanMotion, RobotMotion
from retargeters import Retargeter, register

FPS = 50.0  # = benchmark.metrics.SCORING_FPS: scored frames are the written frames


def make_human(n: int, speed: float, wave: float, name: str) -> HumanMotion:
    """A T-pose human walking along +x at ``speed`` [m/s] with a bobbing pelvis."""
    t = np.arange(n) / FPS
    height = 1.7
    root = np.stack(
        [speed * t, np.zeros(n), skeleton.rest_pelvis_height(height) + wave * np.sin(6 * t)], 1
    )
    root_q = np.tile(skeleton.REST_QUAT_FACING_X, (n, 1))
    local = np.tile([1.0, 0, 0, 0], (n, skeleton.NUM_JOINTS, 1))
    pos, quat = skeleton.forward_kinematics(root, root_q, local, skeleton.rest_offsets(height))
    return HumanMotion(FPS, skeleton.SMPL_JOINT_NAMES, pos, quat, height, source=name)


CALLS: list[str] = []


@register("tiny")
class TinyRetargeter(Retargeter):
    """Pelvis path scaled to the G1, stand pose plus seeded noise, one joint following z."""

    def __init__(self, seed: int = 0, noise: float = 0.01):
        self.seed, self.noise = seed, noise

    def options(self):
        return {"noise": self.noise}

    def retarget(self, human: HumanMotion) -> RobotMotion:
        CALLS.append(human.source)
        if "broken" in str(human.source):
            raise ValueError("cannot retarget this one")
        rng = np.random.default_rng(self.seed)
        n = human.n_frames
        s = metrics.G1_HEIGHT_M / human.height
        root = human.joint_pos[:, 0] * s
        root[:, 2] = spec.STAND_ROOT_HEIGHT
        jp = np.tile(spec.STAND_JOINT_POS, (n, 1)) + rng.normal(0, self.noise, (n, 29))
        jp[:, spec.joint_index("left_knee_joint")] += 5 * (human.joint_pos[:, 0, 2] - 0.9)
        return RobotMotion(human.fps, root, np.tile([1.0, 0, 0, 0], (n, 1)), jp)


@register("tiny_jumpy")
class JumpyRetargeter(TinyRetargeter):
    """Like tiny, with a 1 rad shoulder-roll jump every 10 frames."""

    def retarget(self, human):
        r = super().retarget(human)
        jp = r.joint_pos.copy()
        jp[::10, spec.joint_index("right_shoulder_roll_joint")] -= 1.0
        return r.replace(joint_pos=jp)


def tiny_suite() -> tuple[suites.SuiteMotion, ...]:
    spec_ = [
        ("walk", 40, 0.8, 0.0, "WBPM"),
        ("bob", 30, 0.0, 0.05, "ULOM"),
        ("long_walk", 60, 1.2, 0.02, None),
        ("broken", 20, 0.0, 0.0, "WBCM"),
    ]
    return tuple(
        suites.SuiteMotion(
            name,
            f"test:{name}",
            (lambda n=n, v=v, w=w, name=name: make_human(n, v, w, name)),
            complexity=c,
            length="short",
        )
        for name, n, v, w, c in spec_
    )


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setattr(runner, "_suite", lambda spec_: tiny_suite())
    CALLS.clear()
    return ["tiny", "tiny_jumpy"]


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=list(res.NONDETERMINISTIC_COLUMNS)).reset_index(drop=True)


def test_run_writes_one_row_per_motion_and_retargeter(tiny, tmp_path):
    df, errors = runner.run("tiny", tiny, tmp_path, progress=False)
    assert len(df) == 8 and list(df.columns) == list(res.COLUMNS)
    assert set(zip(df.motion, df.retargeter, strict=True)) == {
        (m.name, r) for m in tiny_suite() for r in tiny
    }
    broken = df[df.motion == "broken"]
    assert broken["error"].str.contains("cannot retarget").all()
    assert broken["joint_jump_pct"].isna().all() and len(errors) == 2
    ok = df[df.error == ""]
    assert ok[list(metrics.METRIC_COLUMNS)].notna().all().all()
    assert ok[list(res.TRACKING_COLUMNS)].isna().all().all()  # left for tracking evaluation
    jumpy = ok[ok.retargeter == "tiny_jumpy"].set_index("motion")
    assert jumpy.loc["walk", "joint_jump_pct"] == pytest.approx(100 * 7 / 40)  # 3 dips: 7 jumps
    assert (ok[ok.retargeter == "tiny"]["joint_jump_pct"] == 0).all()
    row = ok.set_index(["motion", "retargeter"]).loc[("walk", "tiny")]
    assert row.complexity == "WBPM" and row.n_frames == 40 and row.fps == FPS
    assert json.loads(row.options) == {"noise": 0.01} and row.seed == 0
    for f in ok.robot_file:  # the retargeted motions are kept for tracking evaluation
        from nmr_gym.io import load_robot_motion

        assert load_robot_motion(tmp_path / f).n_frames > 0
    saved = res.read_results(tmp_path / runner.RESULTS_FILE)
    pd.testing.assert_frame_equal(comparable(saved), comparable(df), check_dtype=False)
    text = leaderboard.render_text(df)
    assert "By complexity" in text and "tiny_jumpy" in text
    assert (ok.scoring_fps == metrics.SCORING_FPS).all()
    assert res.run_commands(tmp_path) == []  # started from Python: no command line


def test_run_started_by_python_m_records_its_command(tiny, tmp_path, monkeypatch):
    argv = ["run", "--suite", "tiny", "--out", str(tmp_path), "--no-progress"]
    monkeypatch.setattr(sys, "argv", ["/repo/benchmark/cli.py", *argv])
    runner.run("tiny", tiny[:1], tmp_path, progress=False)
    assert res.run_commands(tmp_path) == [shlex.join(["nmr-bench", *argv])]
    # A rerun that adds a method extends the record and lists its command as a follow-up.
    more = [*argv, "--retargeters", "tiny,tiny_jumpy"]
    monkeypatch.setattr(sys, "argv", ["/repo/benchmark/cli.py", *more])
    runner.run("tiny", tiny, tmp_path, progress=False)
    info = json.loads((tmp_path / "run.json").read_text())
    assert info["retargeters"] == tiny
    assert res.run_commands(tmp_path) == [shlex.join(["nmr-bench", *a]) for a in (argv, more)]


def test_run_is_deterministic_and_jobs_do_not_change_results(tiny, tmp_path):
    a, _ = runner.run("tiny", tiny, tmp_path / "a", seed=3, progress=False)
    b, _ = runner.run("tiny", tiny, tmp_path / "b", seed=3, jobs=2, progress=False)
    pd.testing.assert_frame_equal(comparable(a), comparable(b))
    c, _ = runner.run("tiny", tiny, tmp_path / "c", seed=4, progress=False)
    assert not comparable(a).equals(comparable(c))  # the seed reaches the retargeter


def test_rerun_skips_finished_work(tiny, tmp_path):
    runner.run("tiny", tiny, tmp_path, progress=False)
    CALLS.clear()
    runner.run("tiny", tiny, tmp_path, progress=False)
    assert CALLS == []
    with pytest.raises(runner.RunConfigError, match="seed 0"):
        runner.run("tiny", tiny, tmp_path, seed=1, progress=False)


@pytest.mark.parametrize("stage", ["retarget", "score"])
def test_interrupted_run_resumes_to_identical_tables(tiny, tmp_path, monkeypatch, stage):
    full, _ = runner.run("tiny", tiny, tmp_path / "full", progress=False)

    calls = {"n": 0}

    def interrupt_on_third(fn):
        def wrapped(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt  # like Ctrl-C or a kill between two writes
            return fn(*args, **kwargs)

        return wrapped

    if stage == "retarget":
        monkeypatch.setattr(TinyRetargeter, "retarget", interrupt_on_third(TinyRetargeter.retarget))
    else:
        monkeypatch.setattr(runner, "score", interrupt_on_third(runner.score))
    with pytest.raises(KeyboardInterrupt):
        runner.run("tiny", tiny, tmp_path / "resumed", progress=False)
    monkeypatch.undo()
    monkeypatch.setattr(runner, "_suite", lambda spec_: tiny_suite())
    done = list((tmp_path / "resumed").rglob("*.json")) + list(
        (tmp_path / "resumed").rglob("*.nmr.npz")
    )
    assert 0 < len(done) < 8 + 6  # some but not all of the rows and motion files
    assert not list((tmp_path / "resumed").rglob(".*"))  # no half-written temporary files
    resumed, _ = runner.run("tiny", tiny, tmp_path / "resumed", progress=False)
    pd.testing.assert_frame_equal(comparable(full), comparable(resumed))
    assert leaderboard.render_text(full) == leaderboard.render_text(resumed)


def test_unknown_retargeter_is_a_clear_error(tiny, tmp_path):
    assert main(["run", "--retargeters", "nope", "--out", str(tmp_path)]) == 2


def test_cli_run_prints_the_leaderboard(tiny, tmp_path, capsys):
    code = main(
        ["run", "--retargeters", "tiny,tiny_jumpy", "--out", str(tmp_path), "--no-progress"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "== Overall" in out and "*" in out and "results.csv" in out


# ----------------------------------------------------------------------------- suites
def test_manifest_overrides_and_errors(tmp_path):
    (tmp_path / "a.bvh").write_text("HIERARCHY\n")
    (tmp_path / "m.csv").write_text("path,complexity,length\na.bvh,wbcm,\n")
    (m,) = suites.load_suite(tmp_path / "m.csv")
    assert (m.name, m.complexity, m.length) == ("a", "WBCM", None)
    (tmp_path / "m.json").write_text(json.dumps([{"path": "a.bvh", "name": "x", "length": "long"}]))
    (j,) = suites.load_suite(tmp_path / "m.json")
    assert (j.name, j.length) == ("x", "long")
    (tmp_path / "bad.csv").write_text("path,complexity\na.bvh,acrobatic\n")
    with pytest.raises(suites.SuiteError, match="unknown complexity 'acrobatic'"):
        suites.load_suite(tmp_path / "bad.csv")
    (tmp_path / "missing.csv").write_text("path\nnope.bvh\n")
    with pytest.raises(suites.SuiteError, match="not found"):
        suites.load_suite(tmp_path / "missing.csv")
    with pytest.raises(suites.SuiteError, match="suite not found"):
        suites.load_suite(tmp_path / "nowhere")


def test_folder_suite_keeps_human_files_only(tmp_path):
    from nmr_gym.io import save_robot_motion

    (tmp_path / "sub").mkdir()
    np.savez(tmp_path / "sub" / "h.npz", poses=np.zeros((3, 72)), trans=np.zeros((3, 3)))
    r = RobotMotion(FPS, np.zeros((3, 3)), np.tile([1.0, 0, 0, 0], (3, 1)), np.zeros((3, 29)))
    save_robot_motion(r, tmp_path / "r.nmr.npz")
    (m,) = suites.load_suite(tmp_path)
    assert m.name == "sub/h"


def test_builtin_suite_loads_when_available():
    pytest.importorskip("nmr_gym.suite")
    from nmr_gym.suite import builtin_suite  # noqa: F401  (skip only if the module is absent)

    motions = suites.load_suite("builtin")
    assert len(motions) > 0
    assert all(m.complexity in suites.COMPLEXITY_CLASSES for m in motions)


# ------------------------------------------------------------------------------ score
def test_score_command_json(tmp_path, capsys):
    from nmr_gym.io import save_robot_motion

    n = 12
    jp = np.tile(spec.STAND_JOINT_POS, (n, 1))
    jp[6:, 0] += 0.7
    r = RobotMotion(FPS, np.tile([0, 0, 0.79], (n, 1)), np.tile([1.0, 0, 0, 0], (n, 1)), jp)
    path = save_robot_motion(r, tmp_path / "m.nmr.npz")
    assert main(["score", str(path), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["joint_jump_pct"] == pytest.approx(100 / n)
    assert math.isnan(row["mpjpe_m"])  # no human given
    assert main(["score", str(tmp_path / "missing.npz")]) == 2


@pytest.mark.shared_data
def test_score_command_on_gmr_pickles(shared_motions, capsys):
    path = shared_motions / "robot" / "gmr_lafan1" / "walk4_subject1.pkl"
    assert main(["score", str(path)]) == 2  # a pickle needs --trust-pickle
    capsys.readouterr()
    assert main(["score", str(path), "--trust-pickle", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["frames"] == 4918 and 0 <= row["self_collision_pct"] <= 100
