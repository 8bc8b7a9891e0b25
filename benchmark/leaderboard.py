"""Leaderboard tables and figures from a results table (one row per motion and retargeter).

- :func:`tables`: the mean of every metric per retargeter, overall and per split family
  (complexity, length); motions whose retargeting failed (``error`` set) are counted in
  ``failed`` and left out of the means.
- :func:`render_text` / :func:`render_markdown`: the tables with the best value of each column
  marked (``*`` in text, bold in Markdown; lower is better except the columns of
  :data:`benchmark.results.HIGHER_IS_BETTER`: ``success``, ``pdff_tracked_pct``). Tracking and
  physics columns appear once any row has a value.
- :func:`bar_figure` / :func:`joint_angle_figure`: matplotlib figures (Agg backend).
- :func:`tracking_table` / :func:`tracking_curves_figure`: the NMR paper's Table IV layout
  (per length split at the scoring rate: successes/total, MPJPE, W-MPJPE per method, plus the
  learning-curve summaries) and a Fig. 4-style figure (episode length and reward against env
  steps, mean and spread over clips per method), from ``nmr-bench track``'s ``tracking.csv`` /
  ``tracking_curves.csv`` beside the results file (:mod:`benchmark.tracktable`);
- :func:`publish`: all of it into a folder, with the command lines that made it in README.md
  (the run's, its follow-ups that filled columns -- ``benchmark.results.run_commands`` -- and
  the publishing one).
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark import results as res
from benchmark.metrics import (
    JUMP_THRESHOLD_RAD,
    METRIC_COLUMNS,
    jump_frames,
    resample_for_scoring,
)
from nmr_gym.io.atomic import atomic_path, write_text_atomic

#: Split families: the results column and the order of its classes.
SPLITS: dict[str, tuple[str, ...]] = {
    "complexity": ("ULOM", "WBPM", "WBCM"),
    "length": ("short", "medium", "long"),
}
#: The paper's three quality metrics, shown first in the figures.
HEADLINE_METRICS: tuple[str, ...] = ("joint_jump_pct", "self_collision_pct", "joint_limit_pct")
#: How many motions get a joint-angle figure when publishing.
N_JOINT_FIGURES = 3
#: Joint drawn when no retargeter has a jump on a motion (the paper's Fig. 5 joint).
DEFAULT_PLOT_JOINT = "right_shoulder_roll_joint"
#: Decimal places of each column in printed tables.
DIGITS = 3


def value_columns(df: pd.DataFrame) -> list[str]:
    """Metric columns, plus the tracking and the physics columns that have a value."""
    cols = list(METRIC_COLUMNS)
    for group in (res.TRACKING_COLUMNS, res.PHYSICS_COLUMNS):
        cols += [c for c in group if c in df.columns and df[c].notna().any()]
    return cols


def _higher_is_better(col: str) -> bool:
    return col in res.HIGHER_IS_BETTER


def _summary(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    cols = value_columns(df)
    failed = df["error"].fillna("").astype(str) != ""
    ok = df[~failed]
    g = ok.groupby(by, sort=True)
    out = g[cols].mean()
    out.insert(0, "motions", g.size())
    fails = df[failed].groupby(by).size() if failed.any() else None
    out.insert(1, "failed", 0 if fails is None else fails.reindex(out.index).fillna(0))
    if fails is not None:  # retargeters that failed on every motion still get a line
        missing = fails.index.difference(out.index)
        if len(missing):
            extra = pd.DataFrame(index=missing, columns=out.columns, dtype=float)
            extra["motions"], extra["failed"] = 0, fails.reindex(missing)
            out = pd.concat([out, extra])
    out["motions"] = out["motions"].astype(int)
    out["failed"] = out["failed"].astype(int)
    return out


def tables(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """{"overall": by retargeter, "complexity": by (class, retargeter), "length": ...}."""
    out = {"overall": _summary(df, ["retargeter"])}
    for family, order in SPLITS.items():
        sub = df[df[family].fillna("").astype(str) != ""]
        if sub.empty:
            continue
        t = _summary(sub, [family, "retargeter"])
        rank = {c: i for i, c in enumerate(order)}
        keys = sorted(t.index, key=lambda k: (rank.get(k[0], len(order)), str(k[0]), k[1]))
        out[family] = t.loc[keys]
    return out


def best_mask(table: pd.DataFrame) -> pd.DataFrame:
    """Boolean frame: the best value of each value column (within each split class)."""
    mask = pd.DataFrame(False, index=table.index, columns=table.columns)
    cols = [c for c in table.columns if c not in ("motions", "failed")]
    groups = (
        [table.index]
        if table.index.nlevels == 1
        else [
            table.index[table.index.get_level_values(0) == k]
            for k in table.index.get_level_values(0).unique()
        ]
    )
    for idx in groups:
        block = table.loc[idx, cols].astype(float)
        for c in cols:
            col = block[c].round(DIGITS)  # values that print the same tie
            if col.notna().sum() < 1:
                continue
            best = col.max() if _higher_is_better(c) else col.min()
            mask.loc[idx, c] = (col == best).to_numpy()
    return mask


def _formatted(table: pd.DataFrame, mark: str) -> pd.DataFrame:
    mask = best_mask(table)
    shown = table.copy().astype(object)
    for c in table.columns:
        for i in range(len(table)):
            v = table[c].iloc[i]
            if c in ("motions", "failed"):
                shown.iloc[i, shown.columns.get_loc(c)] = str(int(v))
                continue
            text = (
                "nan"
                if v is None or (isinstance(v, float) and math.isnan(v))
                else (f"{float(v):.{DIGITS}f}")
            )
            if mask[c].iloc[i]:
                text = mark.format(text)
            shown.iloc[i, shown.columns.get_loc(c)] = text
    return shown.reset_index()


_TITLES = {"overall": "Overall", "complexity": "By complexity", "length": "By length"}


def render_text(df: pd.DataFrame) -> str:
    """Every leaderboard table as plain text, best values marked with ``*``."""
    parts = []
    for name, t in tables(df).items():
        shown = _formatted(t, "{}*")
        with pd.option_context("display.width", 250, "display.max_columns", 50):
            parts.append(
                f"== {_TITLES[name]} (mean per motion; * = best) ==\n"
                + shown.to_string(index=False)
            )
    return "\n\n".join(parts)


def _markdown_table(shown: pd.DataFrame, n_index: int = 1) -> str:
    # Hand-written: pandas' to_markdown needs the optional 'tabulate' package.
    head = "| " + " | ".join(str(c) for c in shown.columns) + " |"
    sep = "|" + "|".join("---" if i < n_index else "---:" for i in range(len(shown.columns))) + "|"
    rows = ["| " + " | ".join(str(v) for v in r) + " |" for r in shown.itertuples(index=False)]
    return "\n".join([head, sep, *rows])


def render_markdown(df: pd.DataFrame) -> str:
    """Every leaderboard table as Markdown, best values in bold."""
    parts = []
    for name, t in tables(df).items():
        parts.append(
            f"### {_TITLES[name]}\n\n" + _markdown_table(_formatted(t, "**{}**"), t.index.nlevels)
        )
    return "\n\n".join(parts)


# ---------------------------------------------------------------------------- figures
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bar_figure(df: pd.DataFrame, family: str | None = None):
    """Grouped bars: one panel per metric, one bar per retargeter, groups = split classes
    (``family`` "complexity"/"length") or a single group (None = overall)."""
    plt = _plt()
    ok = df[df["error"].fillna("").astype(str) == ""]
    cols = [c for c in value_columns(ok) if ok[c].notna().any()]
    cols = sorted(
        cols,
        key=lambda c: (
            c not in HEADLINE_METRICS,
            list(METRIC_COLUMNS).index(c) if c in METRIC_COLUMNS else 99,
        ),
    )
    methods = sorted(ok["retargeter"].unique())
    if family is None:
        groups = ["all"]
        sel = {"all": ok}
    else:
        present = set(ok[family].astype(str))
        groups = [c for c in SPLITS[family] if c in present] + sorted(
            present - set(SPLITS[family]) - {""}
        )
        sel = {g: ok[ok[family].astype(str) == g] for g in groups}
    ncol = 4
    nrow = max(1, math.ceil(len(cols) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.0 * ncol, 3.0 * nrow), squeeze=False)
    width = 0.8 / max(1, len(methods))
    x = np.arange(len(groups))
    for ax, c in zip(axes.flat, cols, strict=False):
        for k, m in enumerate(methods):
            vals = [sel[g].loc[sel[g]["retargeter"] == m, c].mean() for g in groups]
            ax.bar(x + (k - (len(methods) - 1) / 2) * width, vals, width, label=m)
        ax.set_title(c, fontsize=9)
        ax.set_xticks(x, groups, fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
    for ax in list(axes.flat)[len(cols) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"Mean per motion, by {family}" if family else "Mean per motion, overall")
    # fixed spacing: tight_layout takes seconds on a figure this size
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.06, top=0.9, hspace=0.45, wspace=0.3)
    return fig


def joint_angle_figure(
    motions: dict[str, object],
    joint: str | None = None,
    title: str = "",
    threshold: float = JUMP_THRESHOLD_RAD,
):
    """One joint's angle over time for each retargeter's ``RobotMotion``, jump frames marked.

    ``joint`` None: the joint with the largest single-step change over all the motions.
    """
    from nmr_gym.g1 import spec

    plt = _plt()
    if joint is None:
        joint = pick_joint(list(motions.values()), threshold)
    j = spec.joint_index(joint)
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for name, motion in sorted(motions.items()):
        q = motion.joint_pos  # (T, 29)
        t = np.arange(motion.n_frames) / motion.fps
        (line,) = ax.plot(t, q[:, j], label=name, lw=1.2)
        jumps = jump_frames(q, threshold)
        if jumps.any():
            ax.plot(
                t[jumps],
                q[jumps, j],
                "x",
                color=line.get_color(),
                ms=7,
                label=f"{name}: {int(jumps.sum())} jump frame(s), any joint",
            )
    ax.set_xlabel("time [s]")
    ax.set_ylabel(f"{joint} [rad]")
    ax.set_title(title or joint, fontsize=10)
    ax.legend(fontsize=7, loc="upper right")
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.14, top=0.9)
    return fig


def pick_joint(motions: list, threshold: float = JUMP_THRESHOLD_RAD) -> str:
    """The joint with the largest single-step change in any of ``motions`` when that change
    is a jump (> ``threshold``); otherwise :data:`DEFAULT_PLOT_JOINT`."""
    from nmr_gym.g1 import spec

    best, joint = threshold, DEFAULT_PLOT_JOINT
    for m in motions:
        step = np.abs(np.diff(m.joint_pos, axis=0)).max(axis=0)  # (29,)
        if step.max() > best:
            best, joint = float(step.max()), spec.JOINT_NAMES[int(step.argmax())]
    return joint


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    _plt().close(fig)


def _jump_motions(df: pd.DataFrame, n: int) -> list[str]:
    """Motions to plot: most jump frames summed over retargeters first."""
    ok = df[df["error"].fillna("").astype(str) == ""]
    if ok.empty:
        return []
    s = ok.groupby("motion")["joint_jump_pct"].max().sort_values(ascending=False, kind="stable")
    return list(s.index[:n])


def publish(
    results_path: str | os.PathLike,
    dest: str | os.PathLike,
    command: str,
    n_joint_figures: int = N_JOINT_FIGURES,
    filmstrips: bool = True,
) -> list[Path]:
    """Write tables (Markdown + CSV), figures and README.md (with ``command``) to ``dest``.

    Joint-angle figures read the retargeted motions named in the ``robot_file`` column
    (relative to the results file's folder); motions whose files are gone are skipped.
    ``filmstrips`` adds the paper's Fig. 5 comparison (human on top, one row per method, frames
    around each method's worst artifact) for a few motions (:mod:`benchmark.filmstrips`; offscreen
    MuJoCo rendering).
    """
    from nmr_gym.io import load_robot_motion

    results_path = Path(results_path)
    dest = Path(dest)
    df = res.read_results(results_path)
    written: list[Path] = []
    dest.mkdir(parents=True, exist_ok=True)
    figs = dest / "figures"
    if figs.exists():
        shutil.rmtree(figs)  # only what this command makes lives there
    for name, t in tables(df).items():
        p = dest / f"{name}.csv"
        with atomic_path(p) as tmp:
            t.reset_index().to_csv(tmp, index=False, float_format="%.6g")
        written.append(p)
    p = dest / "results.csv"
    res.write_results(df, p, exclude=res.NONDETERMINISTIC_COLUMNS)
    written.append(p)
    written.append(_savefig(bar_figure(df), figs / "bars_overall.png"))
    for family in SPLITS:
        if (df[family].astype(str) != "").any():
            written.append(_savefig(bar_figure(df, family), figs / f"bars_{family}.png"))
    joint_figs = []
    for motion in _jump_motions(df, n_joint_figures):
        rows = df[(df["motion"] == motion) & (df["robot_file"].astype(str) != "")]
        robots = {}
        for r in rows.itertuples():
            f = results_path.parent / str(r.robot_file)
            if f.is_file():
                # drawn at the rate it was scored at, so the marked jumps are the counted ones
                robots[r.retargeter] = resample_for_scoring(load_robot_motion(f, "nmr"))
        if not robots:
            continue
        fig = joint_angle_figure(robots, title=f"{motion}")
        p = figs / f"joint_{res.slug(motion)}.png"
        written.append(_savefig(fig, p))
        joint_figs.append((motion, p))
    tracking = _publish_tracking(df, results_path.parent, dest, figs)
    written += tracking
    made_by = res.run_commands(results_path.parent)
    readme = [
        f"# Leaderboard: {dest.name}",
        "",
        "Made by the command(s) (do not edit by hand; rerun them):",
        "",
        "```bash",
        *made_by,
        command,
        "```",
        "",
        f"{df['motion'].nunique()} motions x {df['retargeter'].nunique()} retargeters "
        f"({', '.join(sorted(df['retargeter'].unique()))}); metrics are defined in "
        "`benchmark/metrics.py` and measured on the one reference G1 (MuJoCo Menagerie). "
        f"Values are means over motions; lower is better{_higher_note(df)}; the best value of "
        "each column (per split class) is in bold. Percentages are 0-100, distances in m, "
        "speeds in m/s, joint velocity in rad/s.",
        "",
        _rate_note(df),
        *_physics_note(df),
        "",
        render_markdown(df),
        "",
        "## Figures",
        "",
        "![overall](figures/bars_overall.png)",
    ]
    for family in SPLITS:
        if (figs / f"bars_{family}.png").exists():
            readme += ["", f"![by {family}](figures/bars_{family}.png)"]
    for motion, p in joint_figs:
        readme += [
            "",
            f"Joint angle on `{motion}` (x = jump frames):",
            "",
            f"![{motion}](figures/{p.name})",
        ]
    if tracking:
        readme += ["", *tracking_readme(df, results_path.parent)]
    if filmstrips:
        from benchmark.filmstrips import publish_filmstrips

        for strip in publish_filmstrips(df, results_path.parent, figs):
            written.append(strip.path)
            readme += ["", *strip.markdown(dest)]
    write_text_atomic(dest / "README.md", "\n".join(readme) + "\n")
    written.append(dest / "README.md")
    return written


#: README.md's description of each physics column (``benchmark.results`` defines them).
PHYSICS_NOTES: dict[str, str] = {
    "id_root_force_n": "mean residual root force [N] that MuJoCo inverse dynamics of the "
    "reference needs beyond the ground forces the feet can give (non-physical; lower = more "
    "feasible)",
    "id_root_torque_nm": "the same for the residual root torque [N m]",
    "id_torque_limit_pct": "percent of frames where a joint torque exceeds the G1 effort limit",
    "pdff_tracked_pct": "percent of the clip that the training-free pd-ff baseline (PD plus "
    "inverse-dynamics feed-forward, no root help) tracks in simulation before an early "
    "termination (higher is better)",
    "pdff_w_mpjpe_clip_m": "its whole-clip world MPJPE over the 14 tracked bodies [m], frames "
    "after an early termination counted at 0.5 m",
}


def _higher_note(df: pd.DataFrame) -> str:
    """The note " (except COLUMN, ...: higher)" on the shown higher-is-better columns, or ""."""
    up = [c for c in value_columns(df) if _higher_is_better(c)]
    return f" (except {', '.join(up)}: higher)" if up else ""


def _rate_note(df: pd.DataFrame) -> str:
    """README.md's line on the rate the motions were scored at (``scoring_fps``)."""
    rates = sorted({float(v) for v in df["scoring_fps"].dropna()})
    if not rates:
        return "Scoring rate: not recorded (results from before one canonical rate)."
    shown = ", ".join(f"{r:g}" for r in rates)
    return (
        f"Scoring rate: every robot motion was resampled to {shown} fps before scoring "
        "(`benchmark.metrics.SCORING_FPS`), so a method's output rate does not change its "
        "score; frame percentages are of frames at that rate and `max_joint_vel` / "
        "`joint_vel_p99` (99th percentile of the per-step largest joint speed) are rad/s."
    )


def _physics_note(df: pd.DataFrame) -> list[str]:
    """README.md lines describing the physics columns shown (none when none is set)."""
    shown = [c for c in res.PHYSICS_COLUMNS if c in value_columns(df)]
    if not shown:
        return []
    return [
        "",
        "Physical feasibility and trackability of each retargeted reference (from "
        "`nmr-bench eval-tracker --baseline pd-ff --inverse-dynamics`; see "
        "`benchmark/results.py`):",
        "",
        *[f"- `{c}`: {PHYSICS_NOTES[c]}." for c in shown],
    ]


def _savefig(fig, path: Path) -> Path:
    _save(fig, path)
    return path


# ----------------------------------------------------------------------- tracking table
#: Columns of the Table IV layout (NMR paper, Table IV) plus the learning-curve summaries.
TRACKING_TABLE_COLUMNS: tuple[str, ...] = (
    "length",
    "retargeter",
    "successes",
    "success_rate",
    "track_mpjpe_m",
    "track_w_mpjpe_m",
    "steps_to_full_clip",
    "ep_len_auc",
    "eval_tracked_auc",
    "final_ep_len",
    "final_reward",
)


def scoring_rate_length(results: pd.DataFrame) -> pd.Series:
    """Length class of each row counted in frames at the scoring rate (the rate of the tracking
    references; NMR paper Table IV: short < 250, medium 250-1000, long > 1000 frames), from the
    retargeted motion's frame count and rate (``benchmark.splits.length_class``)."""
    from benchmark import splits
    from benchmark.metrics import SCORING_FPS

    rate = pd.to_numeric(results["scoring_fps"], errors="coerce").fillna(SCORING_FPS)
    frames = pd.to_numeric(results["robot_frames"], errors="coerce")
    fps = pd.to_numeric(results["robot_fps"], errors="coerce")
    # (T - 1) intervals of 1/fps resampled to the scoring rate, plus the first frame.
    n = ((frames - 1) * rate / fps).round() + 1
    return pd.Series(
        [splits.length_class(int(v)) if np.isfinite(v) else "" for v in n], index=results.index
    )


def tracking_table(results: pd.DataFrame, tracking: pd.DataFrame) -> pd.DataFrame:
    """Table IV: per length split (and "all") and retargeter, successes/total, mean MPJPE and
    W-MPJPE [m] over the clips, and the mean curve summaries; ``tracking``: ``tracking.csv``."""
    from benchmark.tracktable import CURVE_SUMMARY_COLUMNS

    lengths = scoring_rate_length(results)
    key = dict(
        zip(zip(results["motion"], results["retargeter"], strict=True), lengths, strict=True)
    )
    t = tracking.copy()
    t["length"] = [key.get((m, r), "") for m, r in zip(t["motion"], t["retargeter"], strict=True)]
    rows = []
    for split in ("short", "medium", "long", "all"):
        sel = t if split == "all" else t[t["length"] == split]
        for method in sorted(sel["retargeter"].unique()):
            g = sel[sel["retargeter"] == method]
            n_ok = int((g["success"] >= 1.0).sum())
            row = {
                "length": split,
                "retargeter": method,
                "successes": f"{n_ok}/{len(g)}",
                "success_rate": n_ok / len(g),
                "track_mpjpe_m": float(g["track_mpjpe_m"].mean()),
                "track_w_mpjpe_m": float(g["track_w_mpjpe_m"].mean()),
            }
            for c in CURVE_SUMMARY_COLUMNS:
                # steps_to_full_clip: mean over the clips that succeeded (NaN when none did)
                row[c] = float(g[c].mean()) if g[c].notna().any() else math.nan
            rows.append(row)
    return pd.DataFrame(rows, columns=list(TRACKING_TABLE_COLUMNS))


def tracking_curves_figure(curves: pd.DataFrame):
    """Fig. 4 style: normalised training episode length, mean episode reward and the clip
    fraction tracked from frame 0 against env steps; one line per retargeter (mean over
    clips), the band one standard deviation over clips."""
    plt = _plt()
    panels = (
        ("ep_len_norm", "training episode length / longest possible"),
        ("reward_mean", "training episode reward (mean)"),
        ("eval_tracked_fraction", "eval from frame 0: clip fraction tracked"),
    )
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.8))
    for ax, (col, label) in zip(axes, panels, strict=True):
        for method in sorted(curves["retargeter"].unique()):
            c = curves[curves["retargeter"] == method].dropna(subset=[col])
            if c.empty:
                continue
            g = c.groupby("timesteps")[col]
            mean, std = g.mean(), g.std().fillna(0.0)
            x = mean.index.to_numpy(float)
            (line,) = ax.plot(x, mean.to_numpy(), label=method, marker="." if len(x) < 15 else "")
            ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.2)
        ax.set_xlabel("env steps")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("Tracking policy training per method (mean +- std over clips)")
    fig.tight_layout()
    return fig


def _publish_tracking(df: pd.DataFrame, run_dir: Path, dest: Path, figs: Path) -> list[Path]:
    """Table IV (CSV) and the learning-curve figure when ``run_dir`` holds tracking results."""
    from benchmark.tracktable import read_tracking

    found = read_tracking(run_dir)
    if found is None:
        return []
    tracking, curves = found
    written = []
    p = dest / "tracking_table.csv"
    with atomic_path(p) as tmp:
        tracking_table(df, tracking).to_csv(tmp, index=False, float_format="%.6g")
    written.append(p)
    p = dest / "tracking.csv"
    with atomic_path(p) as tmp:
        tracking.drop(columns=["train_s"], errors="ignore").to_csv(
            tmp, index=False, float_format="%.6g"
        )
    written.append(p)
    if not curves.empty:
        written.append(_savefig(tracking_curves_figure(curves), figs / "tracking_curves.png"))
    return written


def tracking_readme(df: pd.DataFrame, run_dir: Path) -> list[str]:
    """README.md's tracking section: settings, Table IV in Markdown, the figure."""
    import json

    from benchmark.tracktable import SETTINGS_FILE, TRACKING_DIR, invocations, read_tracking

    tracking, _ = read_tracking(run_dir)
    table = tracking_table(df, tracking)
    settings_path = run_dir / TRACKING_DIR / SETTINGS_FILE
    settings = json.loads(settings_path.read_text()) if settings_path.is_file() else {}
    shown = table.copy()
    for c in shown.columns:
        if shown[c].dtype.kind == "f":
            shown[c] = shown[c].map(lambda v: "-" if not np.isfinite(v) else f"{v:.{DIGITS}g}")
    summed = float(tracking["train_s"].sum()) if "train_s" in tracking else math.nan
    calls = invocations(run_dir)
    wall_s = sum(c["wall_s"] for c in calls)
    steps = float(tracking["trained_steps"].sum()) if "trained_steps" in tracking else math.nan
    wall = (
        f"wall time {wall_s / 60:.1f} min over {len(calls)} invocation(s) of `nmr-bench "
        f"track` (first started {calls[0]['started_utc']}; {steps / wall_s:.0f} env steps/s "
        "in all, evaluations included)"
        if calls and wall_s > 0
        else "wall time not recorded"
    )
    n_ok = int((tracking["success"] >= 1.0).sum())
    verdict = (
        [
            f"No policy tracked its whole clip from frame 0 within the budget ({n_ok}/"
            f"{len(tracking)} successes): at this budget the curve summaries (`ep_len_auc`, "
            "`eval_tracked_auc`, `final_ep_len`, `final_reward`: how fast the policies learn "
            "to stay up) are what separate the methods, and MPJPE/W-MPJPE are over the few "
            "frames each evaluation lasted.",
        ]
        if n_ok == 0
        else []
    )
    lines = [
        "## Tracking (NMR paper Table IV layout)",
        "",
        "One PPO tracking policy per (method, clip), trained on that reference alone with "
        "`nmr-bench track` (BeyondMimic MDP on the batched env, the same settings and seed for "
        "every method) and evaluated once from frame 0 without noise. A success needs both "
        "rules: no early termination through the clip, and PHC's mean body distance never "
        "above 0.5 m. MPJPE (root-relative) and W-MPJPE (world) over the 14 tracked bodies "
        "[m], averaged over the frames the evaluation lasted. Length split counted in frames "
        "at the scoring rate. Curve summaries (means over clips; `benchmark/tracktable.py`): "
        "`steps_to_full_clip` = env steps to the first successful periodic evaluation (over "
        "the clips that succeeded; - when none did); `ep_len_auc` = time-average of the "
        "training episode length / the longest possible (min(time limit, clip)); "
        "`eval_tracked_auc` = time-average of the clip fraction tracked from frame 0; "
        "`final_ep_len` [control steps] and `final_reward` of the last PPO update.",
        "",
        f"Settings: {json.dumps(settings)}; {len(tracking)} trainings + evaluations, {wall}; "
        f"the per-row times sum to {summed / 60:.1f} min (rows ran in parallel).",
        "",
        *verdict,
        *([""] if verdict else []),
        _markdown_table(shown, 2),
        "",
        "![tracking curves](figures/tracking_curves.png)",
    ]
    return lines
