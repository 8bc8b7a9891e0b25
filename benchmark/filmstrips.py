"""Filmstrips of retargeted motions for leaderboards and the ``render`` command.

The benchmark's side of drawing: what the metrics see, handed to :mod:`nmr_gym.viz`.

- :func:`artifact_frames`: per-frame flags of the artifact metrics, from the public functions the
  metrics use (``metrics.jump_frames``; ``metrics.scan(...).collision``;
  ``nmr_gym.g1.geometry.lowest_point_z`` against ``metrics.PENETRATION_TOLERANCE_M``): the frames
  that ``joint_jump_pct``, ``self_collision_pct`` and ``penetration_pct`` count on the motion's own
  frames (the metrics score after resampling to ``metrics.SCORING_FPS``).
- :func:`human_track`: the human skeleton scaled to the G1 exactly as MPJPE / W-MPJPE scale it
  (:func:`benchmark.metrics.scaled_joint_pos`), so the skeleton stands where the metric compares
  the robot with it.
- :func:`choose_frames`: filmstrip frames around each method's worst artifact.
- :func:`publish_filmstrips`: the NMR paper's Fig. 5 layout (human on top, one row per method,
  the same frames) for a few motions of a run, as small PNGs; the leaderboard's ``--publish``
  calls it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark import metrics
from benchmark import results as res
from nmr_gym.g1.geometry import lowest_point_z
from nmr_gym.motion import HumanMotion, RobotMotion
from nmr_gym.viz.scene import HumanTrack

#: Flag names in drawing order, each with the metric column whose frames it marks.
ARTIFACT_FLAGS: dict[str, str] = {
    "joint_jump": "joint_jump_pct",
    "self_collision": "self_collision_pct",
    "penetration": "penetration_pct",
}
#: Leaderboard filmstrips: motions per run, columns per strip, cell size (width, height) [px].
N_FILMSTRIP_MOTIONS = 2
N_COLUMNS = 6
CELL_SIZE: tuple[int, int] = (160, 200)
#: Seconds before an artifact frame that its filmstrip also shows (the pose it jumped from).
CONTEXT_S = 0.1
#: Columns of a filmstrip kept for evenly spaced frames (the motion around the artifacts).
MIN_CONTEXT_COLUMNS = 2


def artifact_frames(robot: RobotMotion, self_collision: bool = True) -> dict[str, np.ndarray]:
    """(T,) bool per flag of :data:`ARTIFACT_FLAGS`: the frames each metric counts."""
    s = metrics.scan(robot.qpos, self_collision=self_collision)
    flags = {"joint_jump": metrics.jump_frames(robot.joint_pos)}
    if self_collision:
        flags["self_collision"] = np.asarray(s.collision, dtype=bool)
    depth = -lowest_point_z(s.geom_pos_w, s.geom_zrow, below=0.0)  # (T,) [m] below the floor
    flags["penetration"] = depth > metrics.PENETRATION_TOLERANCE_M
    return flags


def human_track(human: HumanMotion, label: str = "human") -> HumanTrack:
    """The human skeleton, scaled to the G1 as the MPJPE metrics scale it."""
    from nmr_gym.skeleton import SMPL_JOINT_NAMES, SMPL_PARENTS

    parents = SMPL_PARENTS if human.joint_names == SMPL_JOINT_NAMES else None
    root = human.index(metrics.KEYPOINT_MAP[0][0])
    return HumanTrack(metrics.scaled_joint_pos(human), human.fps, parents, label, root)


def worst_artifact(robot: RobotMotion, flags: dict[str, np.ndarray]) -> tuple[int, str] | None:
    """The frame of ``robot``'s worst artifact and its flag, or None when it has none.

    Worst: the largest joint jump (largest single-step change among jump frames); else the
    deepest penetration frame; else the middle frame of the longest self-collision run.
    """
    jumps = flags.get("joint_jump")
    if jumps is not None and jumps.any():
        step = np.concatenate([[0.0], np.abs(np.diff(robot.joint_pos, axis=0)).max(axis=1)])
        return int(np.argmax(np.where(jumps, step, -np.inf))), "joint_jump"
    pen = flags.get("penetration")
    if pen is not None and pen.any():
        s = metrics.scan(robot.qpos, self_collision=False)
        z = lowest_point_z(s.geom_pos_w, s.geom_zrow, below=0.0)
        return int(np.argmin(np.where(pen, z, np.inf))), "penetration"
    col = flags.get("self_collision")
    if col is not None and col.any():
        edges = np.diff(np.concatenate([[0], col.astype(int), [0]]))
        starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        i = int(np.argmax(stops - starts))
        return int((starts[i] + stops[i] - 1) // 2), "self_collision"
    return None


def choose_frames(
    n_frames: int, fps: float, artifact_times: Sequence[float], n_columns: int = N_COLUMNS
) -> list[int]:
    """``n_columns`` frames (of a timeline of ``n_frames`` at ``fps``) around the artifacts.

    Each artifact time (most severe first) brings its frame and the frame :data:`CONTEXT_S`
    before it (only its frame when the room is short) while :data:`MIN_CONTEXT_COLUMNS` columns
    stay free; evenly spaced frames at least that far from them fill the rest (any unused
    frames when the clip is too short for that).
    """
    picked: list[int] = []
    back = max(1, round(CONTEXT_S * fps))
    budget = max(1, n_columns - MIN_CONTEXT_COLUMNS)
    for t in artifact_times:
        f = int(np.clip(round(t * fps), 0, n_frames - 1))
        new = [x for x in (max(0, f - back), f) if x not in picked]
        if len(picked) + len(new) > budget:  # no room for the frame before: the frame alone
            new = [f] if f not in picked else []
        if len(picked) + len(new) <= budget:
            picked += new
    picked = sorted(set(picked))
    target = min(n_columns, n_frames)
    even = [int(f) for f in np.round(np.linspace(0, n_frames - 1, n_columns))]
    free = list(even)
    while len(picked) < target and free:  # the even frame farthest from those shown first
        gap = [min((abs(f - p) for p in picked), default=n_frames) for f in free]
        best = int(np.argmax(gap))
        if gap[best] <= back:
            break
        picked.append(free.pop(best))
    for f in even + list(range(n_frames)):  # short clips: any frame not shown yet
        if len(picked) < target and f not in picked:
            picked.append(f)
    return sorted(set(picked))[:n_columns]


def load_source_human(source: str, run_dir: str | os.PathLike) -> HumanMotion | None:
    """The human motion of a results row's ``source``: ``builtin:NAME`` or a file path
    (as given, or relative to the run folder); None when the file is gone."""
    if source.startswith("builtin:"):
        from nmr_gym.suite import get_clip

        return get_clip(source.removeprefix("builtin:")).motion()
    from nmr_gym.io import load_human_motion

    for p in (Path(source), Path(run_dir) / source):
        if p.is_file():
            return load_human_motion(p)
    return None


def artifact_motions(df: pd.DataFrame, n: int) -> list[str]:
    """The ``n`` motions with the most artifact frames (largest sum over the artifact columns
    of any one retargeter), ties in results order."""
    ok = df[df["error"].fillna("").astype(str) == ""]
    if ok.empty:
        return []
    total = ok[list(ARTIFACT_FLAGS.values())].fillna(0.0).sum(axis=1)
    s = total.groupby(ok["motion"]).max().sort_values(ascending=False, kind="stable")
    return list(s.index[:n])


@dataclass(frozen=True)
class Filmstrip:
    """A written filmstrip: the motion, the PNG, its frames (of the first method's timeline)
    and the methods in row order."""

    motion: str
    path: Path
    frames: tuple[int, ...]
    methods: tuple[str, ...]

    def markdown(self, relative_to: str | os.PathLike | None = None) -> list[str]:
        """README lines: a caption and the image (path relative to ``relative_to``)."""
        p = self.path if relative_to is None else os.path.relpath(self.path, relative_to)
        return [
            f"Filmstrip of `{self.motion}` (human on top, one row per method, red border = "
            "a frame the metrics flag):",
            "",
            f"![filmstrip {self.motion}]({Path(p).as_posix()})",
        ]


def render_comparison(
    robots: dict[str, RobotMotion],
    human: HumanMotion | None,
    out: str | os.PathLike,
    n_columns: int = N_COLUMNS,
    cell_size: tuple[int, int] = CELL_SIZE,
    frames: Sequence[int] | None = None,
) -> Filmstrip:
    """One Fig. 5-style filmstrip PNG of ``robots`` (label -> motion) beside ``human``.

    ``frames`` None: :func:`choose_frames` around each method's worst artifact. Flagged cells
    get a red border.
    """
    from nmr_gym.viz import MotionRenderer, RobotTrack, filmstrip, write_png

    tracks = []
    worst: list[tuple[float, float]] = []  # (severity rank, time)
    for label, robot in robots.items():
        flags = artifact_frames(robot)
        tracks.append(RobotTrack(robot, label, flags))
        w = worst_artifact(robot, flags)
        if w is not None:
            rank = list(ARTIFACT_FLAGS).index(w[1])
            worst.append((rank, w[0] / robot.fps))
    h = human_track(human) if human is not None else None
    width, height = cell_size
    with MotionRenderer(tracks, h, width=width, height=height) as r:
        if frames is None:
            frames = choose_frames(r.n_frames, r.fps, [t for _, t in sorted(worst)], n_columns)
        image = filmstrip(r, frames, rows="tracks", mark=True)
    path = write_png(out, image)
    return Filmstrip(Path(out).stem, path, tuple(int(f) for f in frames), tuple(robots))


def publish_filmstrips(
    results: pd.DataFrame,
    run_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    motions: Sequence[str] | None = None,
    n_motions: int = N_FILMSTRIP_MOTIONS,
    n_columns: int = N_COLUMNS,
    cell_size: tuple[int, int] = CELL_SIZE,
) -> list[Filmstrip]:
    """Fig. 5-style filmstrips ``out_dir/filmstrip_<motion>.png`` for a run's motions.

    ``results``: the run's results table (``benchmark.results.read_results``); ``run_dir``: the
    folder its ``robot_file`` paths are relative to; ``motions`` None: the ``n_motions`` with
    the most artifact frames (:func:`artifact_motions`). Rows with an error or a missing robot
    file are left out; a motion with no robot file left gets no filmstrip.
    """
    from nmr_gym.io import load_robot_motion

    run_dir, out_dir = Path(run_dir), Path(out_dir)
    chosen = list(motions) if motions is not None else artifact_motions(results, n_motions)
    made: list[Filmstrip] = []
    for motion in chosen:
        rows = results[
            (results["motion"] == motion)
            & (results["error"].fillna("").astype(str) == "")
            & (results["robot_file"].fillna("").astype(str) != "")
        ].sort_values("retargeter", kind="stable")
        robots: dict[str, RobotMotion] = {}
        for r in rows.itertuples():
            f = run_dir / str(r.robot_file)
            if f.is_file():
                robots[str(r.retargeter)] = load_robot_motion(f)
        if not robots:
            continue
        source = str(rows["source"].iloc[0]) if "source" in rows else ""
        human = load_source_human(source, run_dir) if source and source != "nan" else None
        out = out_dir / f"filmstrip_{res.slug(motion)}.png"
        strip = render_comparison(robots, human, out, n_columns, cell_size)
        made.append(Filmstrip(motion, strip.path, strip.frames, strip.methods))
    return made


__all__ = [
    "ARTIFACT_FLAGS",
    "Filmstrip",
    "artifact_frames",
    "artifact_motions",
    "choose_frames",
    "human_track",
    "load_source_human",
    "publish_filmstrips",
    "render_comparison",
    "worst_artifact",
]
