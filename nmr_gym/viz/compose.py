"""From a :class:`~nmr_gym.viz.scene.MotionRenderer` to labelled video frames and filmstrips."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from nmr_gym.errors import NmrGymError
from nmr_gym.viz.output import compose_grid
from nmr_gym.viz.scene import ARTIFACT_RGB, HUMAN_RGBA, ROBOT_COLORS, MotionRenderer


def evenly_spaced(frames: Sequence[int], n: int) -> list[int]:
    """``n`` frames of ``frames`` spread evenly from the first to the last (fewer when short)."""
    if n < 1:
        raise NmrGymError(f"a filmstrip needs at least 1 frame, got {n}")
    frames = list(frames)
    if not frames:
        raise NmrGymError("no frames to choose from")
    idx = np.unique(np.round(np.linspace(0, len(frames) - 1, min(n, len(frames)))).astype(int))
    return [frames[i] for i in idx]


def legend(r: MotionRenderer, frame: int, mark: bool) -> list[tuple[str, tuple]]:
    """Legend lines of frame ``frame``: one per track, flagged robots naming their flags."""
    lines: list[tuple[str, tuple]] = []
    if r.human is not None:
        lines.append((r.human.label, HUMAN_RGBA[:3]))
    for k, (track, flags) in enumerate(zip(r.robots, r.flagged(frame), strict=True)):
        colour = ROBOT_COLORS[k % len(ROBOT_COLORS)]
        text = track.label
        if mark and flags:
            text, colour = f"{text}: {', '.join(flags)}", ARTIFACT_RGB
        lines.append((text, colour))
    return lines


def video_frames(
    r: MotionRenderer, frames: Sequence[int], mark: bool = False, labels: bool = True
) -> Iterator[np.ndarray]:
    """Labelled images of ``frames``: legend, time and frame number, a border on flagged
    frames when ``mark``."""
    from nmr_gym.viz.output import annotate

    for f in frames:
        image = r.render(int(f), mark=mark)
        if not labels and not mark:
            yield image
            continue
        marked = mark and any(r.flagged(int(f)))
        yield annotate(
            image,
            legend(r, int(f), mark) if labels else (),
            footer=f"frame {f}  t={f / r.fps:.2f} s" if labels else "",
            marked=marked,
        )


def filmstrip(
    r: MotionRenderer,
    frames: Sequence[int],
    rows: str = "tracks",
    mark: bool = False,
) -> np.ndarray:
    """A grid image: one column per frame in ``frames``.

    ``rows="tracks"`` (the NMR paper's Fig. 5): the human on top, then one row per robot,
    each rendered alone with the camera on it; ``rows="scene"``: one row, the renderer's
    whole scene. With ``mark``, cells whose robot frame is flagged get a red border, the robot
    the artifact colour and (``tracks`` rows) the flag names.
    """
    if rows not in ("tracks", "scene"):
        raise NmrGymError(f"filmstrip rows must be 'tracks' or 'scene', got {rows!r}")
    frames = [int(f) for f in frames]
    col_labels = [f"t={f / r.fps:.2f} s" for f in frames]
    cells: list[list[np.ndarray]] = []
    marked: list[list[bool]] = []
    labels: list[str] = []
    notes: list[list[str]] = []
    if rows == "scene":
        cells.append([r.render(f, mark=mark) for f in frames])
        marked.append([mark and any(r.flagged(f)) for f in frames])
        return compose_grid(cells, [], col_labels, marked)
    if r.human is not None:
        cells.append([r.render(f, robots=[], human=True) for f in frames])
        marked.append([False] * len(frames))
        notes.append([""] * len(frames))
        labels.append(r.human.label)
    for k, track in enumerate(r.robots):
        cells.append([r.render(f, robots=[k], human=False, mark=mark) for f in frames])
        flags = [r.flagged(f)[k] if mark else [] for f in frames]
        marked.append([bool(fl) for fl in flags])
        notes.append([", ".join(fl) for fl in flags])
        labels.append(track.label)
    return compose_grid(cells, labels, col_labels, marked, notes)
