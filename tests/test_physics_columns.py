"""Physics columns (inverse-dynamics feasibility, pd-ff trackability): schema, merging, old
tables, ``eval-tracker --run`` on a run folder, leaderboard."""

from __future__ import annotations

import json
import math
import shlex
import shutil

import numpy as np
import pandas as pd
import pytest

from benchmark import leaderboard, runner, suites
from benchmark import results as res
from benchmark.cli import main
from benchmark.metrics import METRIC_COLUMNS
from nmr_gym import suite

#: Frames (30 fps) of each built-in clip in the tiny run: one that pd-ff loses early, one
#: mostly tracked.
TINY_CLIPS = {"jumps_short": 60, "turn_in_place_short": 45}


def _row(motion: str, retargeter: str) -> dict:
    metrics = {c: 1.0 for c in METRIC_COLUMNS}
    return res.make_row(motion=motion, retargeter=retargeter, source=f"x/{motion}", **metrics)


def test_schema_order_and_direction():
    cols = list(res.COLUMNS)
    start = cols.index(res.PHYSICS_COLUMNS[0])
    assert cols[start : start + len(res.PHYSICS_COLUMNS)] == list(res.PHYSICS_COLUMNS)
    assert cols.index(res.TRACKING_COLUMNS[-1]) < start < cols.index(res.INFO_COLUMNS[0])
    assert set(res.PHYSICS_HIGHER_IS_BETTER) == set(res.PHYSICS_COLUMNS)
    assert res.HIGHER_IS_BETTER == {"success", "pdff_tracked_pct"}
    assert set(res.MERGED_COLUMNS) == set(res.TRACKING_COLUMNS) | set(res.PHYSICS_COLUMNS)
    row = res.make_row(motion="m", retargeter="r")
    assert all(math.isnan(row[c]) for c in res.PHYSICS_COLUMNS)  # NaN until filled


def test_baseline_rows_fill_physics_columns_only():
    rows = pd.DataFrame(
        {
            "motion": ["a", "b", "c"],
            "retargeter": ["r", "r", "r"],
            "success": [0.0, 0.0, 1.0],
            "track_mpjpe_m": [0.1, 0.2, 0.03],
            "track_w_mpjpe_m": [0.1, 0.2, 0.04],
            "track_w_mpjpe_clip_m": [0.3, 0.2, 0.04],
            "episode_length": [25, 100, 120],
            "clip_length": [100, 100, 100],  # an episode may run a step past the clip
            "id_root_force_n": [5.0, 50.0, 1.0],
        }
    )
    pdff = res.tracking_result_columns(rows, "pd-ff")
    assert set(pdff.columns) == {
        "motion",
        "retargeter",
        "id_root_force_n",
        "pdff_tracked_pct",
        "pdff_w_mpjpe_clip_m",
    }
    assert list(pdff.pdff_tracked_pct) == [25.0, 100.0, 100.0]
    assert list(pdff.pdff_w_mpjpe_clip_m) == [0.3, 0.2, 0.04]
    assert set(res.tracking_result_columns(rows, "pd").columns) == {
        "motion",
        "retargeter",
        "id_root_force_n",
    }
    policy = res.tracking_result_columns(rows.drop(columns="id_root_force_n"), "runs/ppo")
    assert set(policy.columns) == {"motion", "retargeter", *res.TRACKING_COLUMNS}


def test_merge_fills_only_matching_rows_and_nan_does_not_clear():
    df = res.to_frame([_row("m1", "a"), _row("m1", "b"), _row("m2", "a")])
    df.loc[(df.motion == "m2") & (df.retargeter == "a"), "id_root_force_n"] = 7.0
    update = pd.DataFrame(
        {
            "motion": ["m1", "m2", "nowhere"],
            "retargeter": ["a", "a", "a"],
            "id_root_force_n": [3.0, math.nan, 9.0],
            "pdff_tracked_pct": [40.0, 80.0, 10.0],
            "episode_length": [1, 2, 3],  # not a result column: ignored
        }
    )
    merged = res.merge_tracking(df, update)
    assert list(merged.columns) == list(df.columns) and len(merged) == 3
    m = merged.set_index(["motion", "retargeter"])
    assert m.loc[("m1", "a"), "id_root_force_n"] == 3.0
    assert m.loc[("m2", "a"), "id_root_force_n"] == 7.0  # NaN in the update keeps the value
    assert m.loc[("m2", "a"), "pdff_tracked_pct"] == 80.0
    assert m.loc[("m1", "b"), list(res.PHYSICS_COLUMNS)].isna().all()
    pd.testing.assert_frame_equal(
        merged.drop(columns=list(res.PHYSICS_COLUMNS)), df.drop(columns=list(res.PHYSICS_COLUMNS))
    )


def test_results_file_without_the_new_columns_still_loads(tmp_path):
    df = res.to_frame([_row("m1", "a"), _row("m2", "a")])
    old = tmp_path / "old.csv"
    df.drop(columns=list(res.PHYSICS_COLUMNS)).to_csv(old, index=False)
    back = res.read_results(old)
    assert set(res.COLUMNS) <= set(back.columns)
    assert back[list(res.PHYSICS_COLUMNS)].isna().all().all()
    merged = res.merge_tracking(
        back, pd.DataFrame({"motion": ["m2"], "retargeter": ["a"], "id_torque_limit_pct": [2.5]})
    )
    res.write_results(merged, old)
    again = res.read_results(old)
    assert list(again.columns) == list(res.COLUMNS)
    assert again.set_index("motion").loc["m2", "id_torque_limit_pct"] == 2.5


def test_leaderboard_shows_physics_columns_with_their_direction():
    rows = []
    for retargeter, force, tracked in (("a", 10.0, 90.0), ("b", 20.0, 50.0)):
        for motion in ("m1", "m2"):
            rows.append(
                {
                    **_row(motion, retargeter),
                    "complexity": "WBPM",
                    "length": "short",
                    "id_root_force_n": force,
                    "pdff_tracked_pct": tracked,
                }
            )
    df = res.to_frame(rows)
    unset = df.assign(**{c: math.nan for c in res.PHYSICS_COLUMNS})
    assert not set(res.PHYSICS_COLUMNS) & set(leaderboard.value_columns(unset))
    t = leaderboard.tables(df)["overall"]
    assert {"id_root_force_n", "pdff_tracked_pct"} <= set(t.columns)
    assert "id_torque_limit_pct" not in t.columns  # none set: not shown
    best = leaderboard.best_mask(t)
    assert best.loc["a", "id_root_force_n"] and not best.loc["b", "id_root_force_n"]
    assert best.loc["a", "pdff_tracked_pct"] and not best.loc["b", "pdff_tracked_pct"]
    md = leaderboard.render_markdown(df)
    assert "**10.000**" in md and "**90.000**" in md and "| 50.000 |" in md


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A real ``nmr-bench run`` folder: two short built-in clips, the direct retargeter, plus a
    failed row (no motion) appended to its results."""
    clips = {c.name: c for c in suite.builtin_suite() if c.name in TINY_CLIPS}
    motions = tuple(
        suites.SuiteMotion(n, f"builtin:{n}", (lambda n=n, k=k: clips[n].motion()[:k]))
        for n, k in TINY_CLIPS.items()
    )
    out = tmp_path_factory.mktemp("run")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "_suite", lambda spec: motions)
        df, errors = runner.run("tiny", ["direct"], out, progress=False)
    assert not errors and len(df) == len(TINY_CLIPS)
    failed = res.make_row(motion="broken", retargeter="direct", error="ValueError: boom")
    res.write_results(pd.concat([df, res.to_frame([failed])]), out / runner.RESULTS_FILE)
    return out


def test_eval_tracker_run_fills_the_run_and_its_rows(tiny_run, tmp_path, capsys):
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run, run_dir)
    before = res.read_results(run_dir / "results.csv")
    out = tmp_path / "rows.csv"
    args = ["eval-tracker", "--baseline", "pd-ff", "--inverse-dynamics", "--run", str(run_dir)]
    assert main([*args, "--out", str(out)]) == 0
    rows = pd.read_csv(out)
    assert sorted(zip(rows.motion, rows.retargeter, strict=True)) == [
        (m, "direct") for m in sorted(TINY_CLIPS)
    ]
    after = res.read_results(run_dir / "results.csv")
    ok = after[after.error == ""].set_index("motion")
    assert ok[list(res.PHYSICS_COLUMNS)].notna().all().all()
    assert ok[list(res.TRACKING_COLUMNS)].isna().all().all()  # a baseline: never tracking
    assert after[after.motion == "broken"][list(res.PHYSICS_COLUMNS)].isna().all().all()
    for r in rows.itertuples():
        pct = min(100.0, 100.0 * r.episode_length / r.clip_length)
        assert ok.loc[r.motion, "pdff_tracked_pct"] == pytest.approx(pct)
        assert ok.loc[r.motion, "pdff_w_mpjpe_clip_m"] == pytest.approx(r.track_w_mpjpe_clip_m)
        assert ok.loc[r.motion, "id_root_force_n"] == pytest.approx(r.id_root_force_n)
    assert (ok.pdff_tracked_pct > 0).all() and (ok.pdff_tracked_pct <= 100).all()
    assert (ok.id_root_force_n >= 0).all() and (ok.id_torque_limit_pct.between(0, 100)).all()
    keep = [c for c in before.columns if c not in res.PHYSICS_COLUMNS]
    pd.testing.assert_frame_equal(after[keep], before[keep])  # nothing else changed
    # The row files hold the values too, so a resumed 'nmr-bench run' keeps them.
    row = json.loads((run_dir / "rows" / "jumps_short--direct.json").read_text())
    assert row["pdff_tracked_pct"] == pytest.approx(ok.loc["jumps_short", "pdff_tracked_pct"])
    rebuilt = res.collect_rows(run_dir / "rows").set_index("motion")
    np.testing.assert_allclose(
        rebuilt.loc[ok.index, list(res.PHYSICS_COLUMNS)], ok[list(res.PHYSICS_COLUMNS)]
    )
    # Each command is recorded once, in the order they last ran; the leaderboard lists them.
    with_out = shlex.join(["nmr-bench", *args[:-2], "--out", str(out), *args[-2:]])
    assert main(args) == 0
    assert main([*args, "--out", str(out)]) == 0
    info = json.loads((run_dir / "run.json").read_text())
    assert info["followup_commands"] == [shlex.join(["nmr-bench", *args]), with_out]
    dest = tmp_path / "board"
    assert main(["leaderboard", str(run_dir / "results.csv"), "--publish", str(dest)]) == 0
    readme = (dest / "README.md").read_text()
    block = readme.split("```bash\n")[1].split("```")[0].splitlines()
    assert block[:-1] == info["followup_commands"]
    assert block[-1].startswith("nmr-bench leaderboard")
    overall = pd.read_csv(dest / "overall.csv")
    assert set(res.PHYSICS_COLUMNS) <= set(overall.columns)
    assert "`pdff_tracked_pct`:" in readme


def test_eval_tracker_run_errors_are_one_line(tiny_run, tmp_path, capsys):
    assert main(["eval-tracker", "--baseline", "pd", "--run", str(tiny_run)]) == 2
    assert "fills no results column" in capsys.readouterr().err
    assert main(["eval-tracker", "pd-ff", "builtin:wave_short", "--run", str(tiny_run)]) == 2
    assert main(["eval-tracker", "pd-ff", "--run", str(tmp_path)]) == 2  # not a run folder
    run_dir = tmp_path / "gone"
    shutil.copytree(tiny_run, run_dir)
    shutil.rmtree(run_dir / "motions")
    assert main(["eval-tracker", "pd-ff", "--run", str(run_dir)]) == 2
    assert "is missing" in capsys.readouterr().err
