"""Noise robustness of retargeters: how much a method's output moves when its input is noisy.

The NMR paper (Fig. 5 and Fig. 6) feeds each method a motion with estimation noise and compares
the result with the result for the clean motion: an optimisation retargeter follows every
jitter, spike and sinking window of its input, a learned one should not. Here the noise is the
project's built-in model (:func:`nmr_gym.suite.noise.add_noise`: per-frame jitter of every
joint rotation and of the root, single-frame spikes on a few joints, smooth windows where the
body sinks into the floor; all from one seed).

- :func:`deviation`: the pure comparison of two robot motions of the same clip (clean-input
  output vs noisy-input output), both resampled to the scoring rate
  (:data:`benchmark.metrics.SCORING_FPS`): mean / 95th-percentile / largest absolute
  joint-angle deviation [rad], mean root-position deviation [m], and the joint-jump frames
  (:func:`benchmark.metrics.jump_frames`) of both outputs.
- :func:`evaluate`: one retargeter on one human motion: retarget clean (unless given) and
  noisy, then :func:`deviation`.
- :func:`run`: a suite x retargeters, resumable (outputs saved under ``OUT/motions/``), with the
  clean outputs optionally taken from an ``nmr-bench run`` folder of the same seed.
- :func:`summary`, :func:`figure`, :func:`publish`: per-method table, a Fig. 5-style figure
  (one joint over time for clean vs noisy input, one panel per method) and a README.

Layout of an output folder ``OUT``::

    OUT/robustness.json                       seed, noise seed and scale, the commands run
    OUT/motions/clean/RETARGETER/MOTION.nmr.npz
    OUT/motions/noisy/RETARGETER/MOTION.nmr.npz
    OUT/rows.csv                              one row per motion and retargeter
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark import results as res
from benchmark.metrics import JUMP_THRESHOLD_RAD, SCORING_FPS, jump_frames
from benchmark.variants import Variant
from nmr_gym.errors import MotionError, NmrGymError
from nmr_gym.io.atomic import atomic_path, write_text_atomic
from nmr_gym.motion import HumanMotion, RobotMotion

#: Seed of :func:`nmr_gym.suite.noise.add_noise` for every clip's noisy variant.
NOISE_SEED = 1
#: Amplitude factor of every noise term (1: the built-in noise model as documented there).
NOISE_SCALE = 1.0
#: Percentile of the per-frame mean joint deviation reported as ``joint_dev_p95_rad``.
DEV_PERCENTILE = 95.0
#: Joint drawn by :func:`figure` (the paper's Fig. 5 shows a leg joint).
FIGURE_JOINT = "left_knee_joint"
#: Per-row result columns of :func:`deviation`.
COLUMNS: tuple[str, ...] = (
    "scored_frames",
    "joint_dev_mean_rad",
    "joint_dev_p95_rad",
    "joint_dev_max_rad",
    "root_pos_dev_m",
    "clean_jump_frames",
    "noisy_jump_frames",
)
INFO_FILE = "robustness.json"
ROWS_FILE = "rows.csv"
ROBOT_SUFFIX = ".nmr.npz"


class RobustnessConfigError(NmrGymError):
    """Unusable robustness arguments, or an output folder that holds another configuration."""


# ------------------------------------------------------------------------------ pure part
def deviation(
    clean: RobotMotion,
    noisy: RobotMotion,
    fps: float = SCORING_FPS,
    threshold: float = JUMP_THRESHOLD_RAD,
) -> dict[str, float]:
    """How far ``noisy`` (output for the noisy input) is from ``clean`` (output for the clean
    input), both resampled to ``fps`` first so every method is compared at one rate.

    Returns the :data:`COLUMNS`: ``joint_dev_mean_rad`` (mean over frames and joints of the
    absolute joint-angle difference), ``joint_dev_p95_rad`` (95th percentile over frames of the
    per-frame mean), ``joint_dev_max_rad`` (largest single difference), ``root_pos_dev_m``
    (mean root-position distance), ``clean_jump_frames`` / ``noisy_jump_frames`` (frames whose
    largest single-step joint change exceeds ``threshold`` [rad]) and ``scored_frames``.
    """
    if not (math.isfinite(fps) and fps > 0):
        raise MotionError(f"deviation: fps must be a finite number > 0, got {fps!r}")
    a, b = clean.resample(fps), noisy.resample(fps)
    if a.n_frames != b.n_frames:
        raise MotionError(
            f"clean and noisy outputs differ in length ({a.n_frames} vs {b.n_frames} frames at "
            f"{fps:g} fps): they must be the same clip",
            noisy.source,
        )
    if a.n_frames == 0:
        raise MotionError("empty motion: nothing to compare", clean.source)
    d = np.abs(b.joint_pos - a.joint_pos)  # (T, 29) [rad]
    frame_dev = d.mean(axis=1)  # (T,)
    return {
        "scored_frames": int(a.n_frames),
        "joint_dev_mean_rad": float(d.mean()),
        "joint_dev_p95_rad": float(np.percentile(frame_dev, DEV_PERCENTILE)),
        "joint_dev_max_rad": float(d.max()),
        "root_pos_dev_m": float(np.linalg.norm(b.root_pos - a.root_pos, axis=1).mean()),
        "clean_jump_frames": int(jump_frames(a.joint_pos, threshold).sum()),
        "noisy_jump_frames": int(jump_frames(b.joint_pos, threshold).sum()),
    }


def noisy_variant(
    human: HumanMotion, seed: int = NOISE_SEED, scale: float = NOISE_SCALE
) -> HumanMotion:
    """``human`` with the built-in estimation noise (:func:`nmr_gym.suite.noise.add_noise`)."""
    from nmr_gym.suite.noise import add_noise

    return add_noise(human, seed=seed, scale=scale)


def _retarget(
    name: str, human: HumanMotion, seed: int, variants: Mapping[str, Variant] | None = None
) -> RobotMotion:
    """``name`` (a registered retargeter or a variant's label, :mod:`benchmark.variants`) on
    ``human`` seeded as ``nmr-bench run`` seeds every call (numpy's and, when loaded, torch's
    global generators, and a ``seed`` option when the retargeter takes one; see
    :mod:`benchmark.runner`), so a clean output taken from a run folder is the one this would
    compute."""
    from benchmark import variants as variants_

    np.random.seed(seed)  # noqa: NPY002 - the global generator a seedless retargeter draws from
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
    robot = variants_.make(name, seed, variants).retarget(human)
    if not isinstance(robot, RobotMotion):
        raise TypeError(f"{name} returned {type(robot).__name__}, not a RobotMotion")
    return robot


def evaluate(
    retargeter: str,
    human: HumanMotion,
    *,
    seed: int = 0,
    noise_seed: int = NOISE_SEED,
    scale: float = NOISE_SCALE,
    clean: RobotMotion | None = None,
    variants: Mapping[str, Variant] | None = None,
) -> tuple[dict[str, float], RobotMotion, RobotMotion]:
    """(``deviation`` row, clean-input output, noisy-input output) of the named retargeter
    (or variant label: ``variants``) on ``human`` and its noisy variant; ``clean`` skips
    retargeting the clean motion."""
    if clean is None:
        clean = _retarget(retargeter, human, seed, variants)
    noisy = _retarget(retargeter, noisy_variant(human, noise_seed, scale), seed, variants)
    return deviation(clean, noisy), clean, noisy


# ------------------------------------------------------------------------ suite runner
def robot_file(out: Path, kind: str, retargeter: str, motion: str) -> Path:
    """Where :func:`run` keeps the ``kind`` ("clean" or "noisy") output of a motion."""
    return out / "motions" / kind / res.slug(retargeter) / f"{res.slug(motion)}{ROBOT_SUFFIX}"


def _check_info(
    out: Path, config: dict[str, Any], command: str = "", variants: Iterable[Variant] = ()
) -> None:
    """Create ``OUT/robustness.json`` or check that it holds the same configuration and
    defines the ``variants``' labels the same way; record ``command`` (the command line that
    made the run; "" records nothing) and the variants."""
    from benchmark import variants as variants_

    path = out / INFO_FILE
    info: dict[str, Any] = {}
    if path.is_file():
        try:
            info = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise RobustnessConfigError(f"{path}: not a robustness record ({exc})") from None
        old = {k: info.get(k) for k in config}
        if old != config:
            raise RobustnessConfigError(
                f"{out} holds a robustness run with {old}; use the same settings to add to it "
                f"or another --out for {config}"
            )
    info.update(config)
    recorded = variants_.merge_records(info.get("variants"), variants, str(out))
    if recorded:
        info["variants"] = recorded
    cmd = command
    if cmd:
        info["commands"] = [c for c in info.get("commands", []) if c != cmd] + [cmd]
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(info, indent=1) + "\n")


def _clean_from_run(run_dir: Path | None, retargeter: str, motion: str) -> RobotMotion | None:
    """The clean output saved by ``nmr-bench run`` in ``run_dir`` (None when absent); the
    layout is ``benchmark.runner.RunPlan.robot_file``'s."""
    if run_dir is None:
        return None
    from nmr_gym.io import load_robot_motion

    f = run_dir / "motions" / res.slug(retargeter) / f"{res.slug(motion)}{ROBOT_SUFFIX}"
    return load_robot_motion(f, "nmr") if f.is_file() else None


def _check_run_dir(run_dir: Path, seed: int, variants: tuple[Variant, ...] = ()) -> None:
    info = run_dir / "run.json"
    try:
        old = json.loads(info.read_text())
    except (OSError, json.JSONDecodeError):
        raise RobustnessConfigError(
            f"--clean-run {run_dir}: not an 'nmr-bench run' folder"
        ) from None
    if old.get("seed") != seed:
        raise RobustnessConfigError(
            f"--clean-run {run_dir} was run with seed {old.get('seed')}, not {seed}"
        )
    from benchmark import variants as variants_

    used = [v for v in variants if v.label in old.get("retargeters", [])]
    variants_.merge_records(old.get("variants"), used, f"--clean-run {run_dir}")


def run(
    suite: str,
    retargeters: Iterable[str],
    out: str | os.PathLike,
    *,
    seed: int = 0,
    noise_seed: int = NOISE_SEED,
    scale: float = NOISE_SCALE,
    motions: Iterable[str] | None = None,
    max_frames: int | None = None,
    clean_run: str | os.PathLike | None = None,
    progress: bool = True,
    command: str = "",
    variants: Iterable[Variant] = (),
) -> pd.DataFrame:
    """Noise robustness of every retargeter on the suite's motions (``motions``: only these
    names; ``max_frames``: only motions of at most this many input frames). Outputs are saved
    atomically, so a rerun with the same ``out`` resumes; returns the rows of this call's
    motions and retargeters (``OUT/rows.csv`` holds every row of the folder). ``command`` is
    recorded in ``OUT/robustness.json`` for the published README. ``variants``: retargeters
    with options under labels of their own (:mod:`benchmark.variants`), run after
    ``retargeters``; the folder records their definitions."""
    import retargeters as registry
    from benchmark import variants as variants_
    from benchmark.suites import load_suite
    from nmr_gym.io import load_robot_motion, save_robot_motion

    variants = tuple(variants)
    variants_.check(variants)
    by_label = {v.label: v for v in variants}
    names = list(retargeters)
    names += [lb for lb in by_label if lb not in names]
    if not names:
        raise RobustnessConfigError("no retargeter given")
    for n in names:
        if n not in by_label:
            registry.get(n)  # unknown: UnknownNameError listing the valid names
    if not (math.isfinite(scale) and scale >= 0):
        raise RobustnessConfigError(f"--noise-scale must be a finite number >= 0, got {scale}")
    if max_frames is not None and max_frames < 1:
        raise RobustnessConfigError(f"--max-frames must be >= 1, got {max_frames}")
    suite_motions = load_suite(str(suite))
    if motions is not None:
        wanted = list(motions)
        known = [m.name for m in suite_motions]
        for w in wanted:
            if w not in known:
                from nmr_gym.errors import UnknownNameError

                raise UnknownNameError("suite motion", w, known)
        suite_motions = [m for m in suite_motions if m.name in wanted]
    out = Path(out)
    run_dir = Path(clean_run) if clean_run else None
    if run_dir is not None:
        _check_run_dir(run_dir, seed, variants)
    _check_info(
        out, {"seed": seed, "noise_seed": noise_seed, "noise_scale": scale}, command, variants
    )
    rows_path = out / ROWS_FILE
    old = pd.read_csv(rows_path) if rows_path.is_file() else pd.DataFrame()
    rows: dict[tuple[str, str], dict[str, Any]] = {
        (r["motion"], r["retargeter"]): r for r in old.to_dict("records")
    }
    done_now = []
    for i, m in enumerate(suite_motions):
        human = None
        for name in names:
            key = (m.name, name)
            cf, nf = (robot_file(out, k, name, m.name) for k in ("clean", "noisy"))
            if key in rows and cf.is_file() and nf.is_file():
                done_now.append(key)
                continue
            if human is None:
                human = m.load()
                if max_frames is not None and human.n_frames > max_frames:
                    break
            t0 = time.perf_counter()
            clean = load_robot_motion(cf, "nmr") if cf.is_file() else None
            if clean is None:
                clean = _clean_from_run(run_dir, name, m.name)
            row, clean, noisy = evaluate(
                name,
                human,
                seed=seed,
                noise_seed=noise_seed,
                scale=scale,
                clean=clean,
                variants=by_label,
            )
            for f, robot in ((cf, clean), (nf, noisy)):
                if not f.is_file():
                    save_robot_motion(robot, f)
            rows[key] = {
                "motion": m.name,
                "retargeter": name,
                "input_frames": human.n_frames,
                "input_fps": human.fps,
                **row,
            }
            done_now.append(key)
            _write_rows(rows_path, rows)
            if progress:
                print(
                    f"[{i + 1}/{len(suite_motions)}] {name} on {m.name}: "
                    f"{math.degrees(row['joint_dev_mean_rad']):.2f} deg mean deviation, "
                    f"{row['noisy_jump_frames']} noisy jump frame(s) "
                    f"({time.perf_counter() - t0:.1f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    df = pd.DataFrame([rows[k] for k in done_now])
    return df


def _write_rows(path: Path, rows: dict[tuple[str, str], dict[str, Any]]) -> None:
    df = pd.DataFrame(list(rows.values())).sort_values(["motion", "retargeter"], kind="stable")
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per retargeter: clips, scored frames, frame-weighted mean deviation [rad] and
    [deg], the median over clips of each clip's mean deviation (long clips weigh no more than
    short ones), mean per-clip 95th percentile, largest deviation, mean root deviation [m], jump
    frames of the clean and noisy outputs (summed) and the clips with a noisy jump."""
    if rows.empty:
        return pd.DataFrame()
    out = []
    for name, g in rows.groupby("retargeter", sort=True):
        w = g["scored_frames"].to_numpy(float)
        dev = float(np.average(g["joint_dev_mean_rad"], weights=w))
        out.append(
            {
                "retargeter": name,
                "motions": len(g),
                "scored_frames": int(w.sum()),
                "joint_dev_mean_rad": dev,
                "joint_dev_mean_deg": math.degrees(dev),
                "joint_dev_clip_median_rad": float(g["joint_dev_mean_rad"].median()),
                "joint_dev_p95_rad": float(g["joint_dev_p95_rad"].mean()),
                "joint_dev_max_rad": float(g["joint_dev_max_rad"].max()),
                "root_pos_dev_m": float(np.average(g["root_pos_dev_m"], weights=w)),
                "clean_jump_frames": int(g["clean_jump_frames"].sum()),
                "noisy_jump_frames": int(g["noisy_jump_frames"].sum()),
                "motions_with_noisy_jump": int((g["noisy_jump_frames"] > 0).sum()),
            }
        )
    return pd.DataFrame(out)


# ------------------------------------------------------------------------------ figure
def figure(
    clean: dict[str, RobotMotion],
    noisy: dict[str, RobotMotion],
    joint: str = FIGURE_JOINT,
    title: str = "",
    fps: float = SCORING_FPS,
    threshold: float = JUMP_THRESHOLD_RAD,
):
    """The paper's Fig. 5 layout: ``joint``'s angle over time for the clean-input and the
    noisy-input output, one panel per retargeter (shared axes), noisy jump frames marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nmr_gym.g1 import spec

    j = spec.joint_index(joint)  # unknown: error listing the joint names
    names = sorted(clean)
    fig, axes = plt.subplots(
        len(names), 1, figsize=(7, 1.4 + 1.3 * len(names)), sharex=True, sharey=True,
        squeeze=False,
    )  # fmt: skip
    for ax, name in zip(axes[:, 0], names, strict=True):
        a, b = clean[name].resample(fps), noisy[name].resample(fps)
        t = np.arange(a.n_frames) / fps
        ax.plot(t, a.joint_pos[:, j], lw=1.2, color="0.2", label="clean input")
        ax.plot(t[: b.n_frames], b.joint_pos[:, j], lw=1.0, color="tab:red", label="noisy input")
        jumps = jump_frames(b.joint_pos, threshold)
        if jumps.any():
            ax.plot(
                t[: b.n_frames][jumps], b.joint_pos[jumps, j], "x", color="tab:red", ms=6,
                label=f"{int(jumps.sum())} jump frame(s), any joint",
            )  # fmt: skip
        ax.set_ylabel("[rad]", fontsize=8)
        ax.set_title(name, fontsize=9, loc="left")
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, loc="upper right")
    axes[-1, 0].set_xlabel("time [s]", fontsize=8)
    fig.suptitle(title or joint, fontsize=10)
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.08, top=0.9, hspace=0.45)
    return fig


def publish(
    out: str | os.PathLike,
    dest: str | os.PathLike,
    *,
    figure_motion: str | None = None,
    joint: str = FIGURE_JOINT,
    command: str = "",
    note: str = "",
) -> list[Path]:
    """Write ``rows.csv``, ``summary.csv``, a README.md (commands, table) and the Fig. 5-style
    figure of ``figure_motion`` (default: the motion whose noisy outputs have the most jump
    frames, then the largest deviation) from the robustness folder ``out`` into ``dest``."""
    import matplotlib.pyplot as plt

    from nmr_gym.io import load_robot_motion

    out, dest = Path(out), Path(dest)
    rows_path = out / ROWS_FILE
    if not rows_path.is_file():
        raise RobustnessConfigError(f"{out}: no {ROWS_FILE}; run 'nmr-bench robustness' first")
    rows = pd.read_csv(rows_path)
    info = json.loads((out / INFO_FILE).read_text())
    table = summary(rows)
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in (("rows.csv", rows), ("summary.csv", table)):
        with atomic_path(dest / name) as tmp:
            df.to_csv(tmp, index=False, float_format="%.6g")
        written.append(dest / name)
    if figure_motion is None:
        by = rows.groupby("motion")[["noisy_jump_frames", "joint_dev_mean_rad"]].sum()
        figure_motion = str(by.sort_values(list(by.columns), ascending=False).index[0])
    clean, noisy = {}, {}
    for name in sorted(rows.loc[rows["motion"] == figure_motion, "retargeter"]):
        cf, nf = (robot_file(out, k, name, figure_motion) for k in ("clean", "noisy"))
        if cf.is_file() and nf.is_file():
            clean[name], noisy[name] = load_robot_motion(cf, "nmr"), load_robot_motion(nf, "nmr")
    fig_lines = []
    if clean:
        p = dest / "figures" / f"noise_{res.slug(figure_motion)}_{joint}.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        fig = figure(clean, noisy, joint, title=f"{figure_motion}: {joint}")
        with atomic_path(p) as tmp:
            fig.savefig(tmp, dpi=100, format="png")
        plt.close(fig)
        written.append(p)
        fig_lines = [
            "",
            f"`{joint}` on `{figure_motion}` for the clean and the noisy input "
            "(like the NMR paper's Fig. 5; x = jump frames of the noisy output, any joint):",
            "",
            f"![{figure_motion}](figures/{p.name})",
        ]
    shown = table.set_index("retargeter").copy()
    for c in shown.columns:
        if shown[c].dtype.kind == "f":
            shown[c] = shown[c].map(lambda v: f"{v:.4f}")
    readme = [
        f"# Noise robustness: {dest.parent.name}/{dest.name}",
        "",
        "Made by the command(s) (do not edit by hand; rerun them):",
        "",
        "```bash",
        *info.get("commands", []),
        *([command] if command else []),
        "```",
        "",
        f"Each clip's noisy variant is `nmr_gym.suite.noise.add_noise(human, seed="
        f"{info['noise_seed']}, scale={info['noise_scale']:g})` (jitter on every joint rotation "
        "and the root, single-frame spikes, sinking windows). Each method retargets the clean and "
        "the noisy clip (retargeter seed "
        f"{info['seed']}); both outputs are resampled to {SCORING_FPS:g} fps and compared "
        "(`benchmark/noise_robustness.py`): `joint_dev_mean_rad` is the mean absolute "
        "joint-angle difference over frames and joints (frame-weighted over clips, so long clips "
        "weigh more; `joint_dev_clip_median_rad` is the median over clips of each clip's mean), "
        "`joint_dev_p95_rad` the per-clip 95th percentile of the per-frame mean (averaged over "
        "clips), `joint_dev_max_rad` the largest single difference, `root_pos_dev_m` the mean "
        "root-position distance; `*_jump_frames` count frames whose largest one-step joint "
        f"change exceeds {JUMP_THRESHOLD_RAD} rad (summed over clips). Lower is better.",
        *(["", note] if note else []),
        "",
        _markdown_table(shown.reset_index()),
        *fig_lines,
    ]
    write_text_atomic(dest / "README.md", "\n".join(readme) + "\n")
    written.append(dest / "README.md")
    return written


def _markdown_table(df: pd.DataFrame) -> str:
    # Hand-written: pandas' to_markdown needs the optional 'tabulate' package.
    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    sep = "|---|" + "---:|" * (len(df.columns) - 1)
    rows = ["| " + " | ".join(str(v) for v in r) + " |" for r in df.itertuples(index=False)]
    return "\n".join([head, sep, *rows])


__all__ = [
    "COLUMNS",
    "FIGURE_JOINT",
    "NOISE_SCALE",
    "NOISE_SEED",
    "RobustnessConfigError",
    "deviation",
    "evaluate",
    "figure",
    "noisy_variant",
    "publish",
    "robot_file",
    "run",
    "summary",
]
