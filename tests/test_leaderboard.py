"""Leaderboard tables (means, best marks, failures, tracking columns), figures, publishing."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from benchmark import leaderboard
from benchmark import results as res
from benchmark.cli import main
from nmr_gym.g1 import spec
from nmr_gym.io import save_robot_motion
from nmr_gym.motion import RobotMotion

FPS = 30.0


def robot(n: int, jumps: int = 0) -> RobotMotion:
    jp = np.tile(spec.STAND_JOINT_POS, (n, 1))
    e = spec.joint_index("right_shoulder_roll_joint")
    jp[:, e] += 0.3 * np.sin(np.arange(n) / 5)
    for k in range(jumps):
        jp[(k + 1) * n // (jumps + 1) :, e] += 0.8 * (-1) ** k
    return RobotMotion(FPS, np.tile([0, 0, 0.79], (n, 1)), np.tile([1.0, 0, 0, 0], (n, 1)), jp)


@pytest.fixture
def results(tmp_path) -> tuple[pd.DataFrame, object]:
    """Four motions x two methods with known metric values, motions saved beside them."""
    rows = []
    specs = [
        ("m1", "ULOM", "short"),
        ("m2", "WBPM", "short"),
        ("m3", "WBPM", "long"),
        ("m4", "WBCM", "medium"),
    ]
    for i, (motion, cx, ln) in enumerate(specs):
        for method, base in (("alpha", 1.0), ("beta", 2.0)):
            file = f"motions/{method}/{motion}.nmr.npz"
            save_robot_motion(robot(60, jumps=2 if method == "beta" else 0), tmp_path / file)
            metrics = {c: base * (i + 1) for c in leaderboard.METRIC_COLUMNS}
            rows.append(
                res.make_row(
                    motion=motion,
                    source=f"x/{motion}",
                    retargeter=method,
                    complexity=cx,
                    length=ln,
                    n_frames=60,
                    fps=FPS,
                    seed=0,
                    options="{}",
                    robot_file=file,
                    scoring_fps=50.0,
                    retarget_s=0.1,
                    **metrics,
                )
            )
    rows.append(
        res.make_row(
            motion="m5",
            source="x/m5",
            retargeter="beta",
            complexity="WBCM",
            length="short",
            error="ValueError: boom",
        )
    )
    df = res.to_frame(rows)
    path = res.write_results(df, tmp_path / "results.csv")
    return df, path


def test_overall_means_best_and_failures(results):
    df, _ = results
    t = leaderboard.tables(df)
    overall = t["overall"]
    assert overall.loc["alpha", "joint_jump_pct"] == pytest.approx(np.mean([1, 2, 3, 4]))
    assert overall.loc["beta", "joint_jump_pct"] == pytest.approx(2 * np.mean([1, 2, 3, 4]))
    assert overall.loc["beta", "failed"] == 1 and overall.loc["beta", "motions"] == 4
    best = leaderboard.best_mask(overall)
    assert best.loc["alpha", "mpjpe_m"] and not best.loc["beta", "mpjpe_m"]
    assert "success" not in overall.columns  # no tracking values yet


def test_split_tables_follow_the_class_order(results):
    df, _ = results
    t = leaderboard.tables(df)
    assert list(t["complexity"].index.get_level_values(0).unique()) == ["ULOM", "WBPM", "WBCM"]
    assert t["complexity"].loc[("WBPM", "alpha"), "float_pct"] == pytest.approx(2.5)
    assert list(t["length"].index.get_level_values(0).unique()) == ["short", "medium", "long"]
    best = leaderboard.best_mask(t["length"])
    assert best.loc[("long", "alpha"), "float_pct"] and best.loc[("short", "alpha"), "float_pct"]
    text = leaderboard.render_text(df)
    assert "1.000*" in text and "By length" in text
    md = leaderboard.render_markdown(df)
    assert "**1.000**" in md and "| retargeter |" in md


def test_tracking_columns_slot_in(results):
    df, _ = results
    tracking = pd.DataFrame(
        {
            "motion": ["m1", "m1"],
            "retargeter": ["alpha", "beta"],
            "success": [1.0, 0.0],
            "track_mpjpe_m": [0.05, 0.02],
        }
    )
    merged = res.merge_tracking(df, tracking)
    assert list(merged.columns) == list(df.columns)
    t = leaderboard.tables(merged)["overall"]
    assert t.loc["alpha", "success"] == 1.0 and t.loc["beta", "success"] == 0.0
    best = leaderboard.best_mask(t)
    assert best.loc["alpha", "success"]  # higher is better
    assert best.loc["beta", "track_mpjpe_m"]  # lower is better
    assert math.isnan(merged.set_index(["motion", "retargeter"]).loc[("m2", "alpha"), "success"])


def test_joint_angle_figure_marks_jumps():
    fig = leaderboard.joint_angle_figure({"smooth": robot(60), "jumpy": robot(60, jumps=2)})
    ax = fig.axes[0]
    assert "right_shoulder_roll_joint" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "jumpy: 2 jump frame(s), any joint" in labels and not any("smooth:" in s for s in labels)


def test_publish_writes_tables_figures_and_command(results, tmp_path):
    _, path = results
    dest = tmp_path / "board"
    code = main(["leaderboard", str(path), "--publish", str(dest)])
    assert code == 0
    for name in ("overall", "complexity", "length"):
        table = pd.read_csv(dest / f"{name}.csv")
        assert {"retargeter", "joint_jump_pct", "motions"} <= set(table.columns)
    readme = (dest / "README.md").read_text()
    assert f"leaderboard {path} --publish {dest}" in readme
    assert "### By complexity" in readme
    assert "resampled to 50 fps before scoring" in readme  # the rate is recorded
    figures = sorted(p.name for p in (dest / "figures").glob("*.png"))
    assert {"bars_overall.png", "bars_complexity.png", "bars_length.png"} <= set(figures)
    assert any(f.startswith("joint_") for f in figures)
    strips = [f for f in figures if f.startswith("filmstrip_")]  # Fig. 5-style comparison
    assert strips and f"figures/{strips[0]}" in readme
    for f in figures:
        assert (dest / "figures" / f).read_bytes()[:4] == b"\x89PNG"
    assert "retarget_s" not in pd.read_csv(dest / "results.csv").columns  # deterministic copy


def test_bad_results_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["leaderboard", str(bad)]) == 2
    assert main(["leaderboard", str(tmp_path / "missing.csv")]) == 2
