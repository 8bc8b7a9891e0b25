"""``nmr-bench render MOTION... [--human HUMAN] --out FILE.mp4|.gif|.png``: see motions.

Robot motions (any format ``nmr_gym.io`` reads) side by side or overlaid on the reference G1,
optionally beside the source human drawn as a skeleton scaled as the MPJPE metrics scale it
(``benchmark.filmstrips.human_track``). ``.mp4`` / ``.gif``: a video with a progress bar (ETA);
``.png``: a filmstrip of N evenly spaced (``--strip N``) or chosen (``--strip-frames``) frames,
one row per track in the ``side`` layout (the NMR paper's Fig. 5), one row in ``overlay``.
``--mark-artifacts`` colours a robot red (and borders the frame) in frames that the joint-jump,
self-collision or penetration metrics count. ``--interactive`` opens MuJoCo's viewer instead
(space: play/pause, arrows: step), where a display exists.

Frames (``--frames A:B``) count in the first motion's frames; other motions show their frame
nearest in time. Everything is checked before rendering, and the output is written to a
temporary file renamed at the end: bad input exits 2 with one line and writes nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchmark.commands._common import (
    add_csv_options,
    add_trust_pickle,
    load_motion_arg,
    load_with_clear_errors,
)
from nmr_gym.errors import MotionFormatError, NmrGymError

NAME = "render"
HELP = "render robot motions (and the human) to MP4, GIF or a PNG filmstrip, or view them"
ORDER = 75

DEFAULT_SIZE = "640x480"
DEFAULT_STRIP = 6
#: ``--strip-frames`` value that picks frames around the worst artifacts.
ARTIFACTS = "artifacts"
#: Largest image side accepted [px] (MuJoCo's offscreen buffer is allocated at this size).
MAX_SIDE_PX = 4096


class RenderArgumentError(NmrGymError):
    """A render option that cannot be used (size, frame range, extension, ...)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from nmr_gym.viz.scene import CAMERAS, LAYOUTS

    parser.add_argument("motions", nargs="+", metavar="MOTION", help="robot motion files")
    parser.add_argument(
        "--human",
        metavar="HUMAN",
        help="source human motion: a file (AMASS npz, BVH, ...) or builtin:NAME",
    )
    parser.add_argument(
        "--out", type=Path, help="output .mp4, .gif or .png (required unless --interactive)"
    )
    parser.add_argument("--fps", type=float, help="video frame rate (default: the first motion's)")
    parser.add_argument(
        "--frames", metavar="A:B", help="frame range of the first motion, Python slice style"
    )
    parser.add_argument(
        "--camera",
        choices=CAMERAS,
        default="follow",
        help="follow: look at the tracks' mean pelvis every frame; fixed: one view of the "
        "whole path (default follow)",
    )
    parser.add_argument(
        "--size",
        default=DEFAULT_SIZE,
        metavar="WxH",
        help=f"image size [px] (default {DEFAULT_SIZE})",
    )
    parser.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="side",
        help="side: each track in its own place (PNG: one row each); overlay: all in one "
        "place, translucent (default side)",
    )
    parser.add_argument(
        "--mark-artifacts",
        action="store_true",
        help="mark frames the joint-jump, self-collision and penetration metrics count",
    )
    strip = parser.add_mutually_exclusive_group()
    strip.add_argument(
        "--strip",
        type=int,
        default=None,
        metavar="N",
        help=f".png: N evenly spaced frames (default {DEFAULT_STRIP})",
    )
    strip.add_argument(
        "--strip-frames",
        metavar="I,J,K|artifacts",
        help=".png: these frames of the first motion, or 'artifacts': frames around each "
        "motion's worst artifact (as leaderboard filmstrips choose them)",
    )
    parser.add_argument(
        "--labels", metavar="A,B,...", help="one label per motion (default: file names)"
    )
    parser.add_argument("--shadows", action="store_true", help="shadows and reflections (slow)")
    parser.add_argument("--no-labels", action="store_true", help="no legend or time on videos")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--interactive", action="store_true", help="MuJoCo's viewer (needs a display)"
    )
    add_trust_pickle(parser)
    add_csv_options(parser)


# ----------------------------------------------------------------------------- parsing
def parse_size(text: str) -> tuple[int, int]:
    """``"640x480"`` -> (640, 480); each side 1..:data:`MAX_SIDE_PX`."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise RenderArgumentError(f"--size {text!r}: expected WxH, e.g. 640x480") from None
    if not (1 <= w <= MAX_SIDE_PX and 1 <= h <= MAX_SIDE_PX):
        raise RenderArgumentError(
            f"--size {text!r}: width and height must be in 1..{MAX_SIDE_PX} pixels"
        )
    return w, h


def parse_frames(text: str | None, n_frames: int) -> range:
    """``"A:B"`` (either end optional, negative from the end) -> a non-empty range."""
    if text is None:
        return range(n_frames)
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        a, b = (int(p) if p.strip() else None for p in parts)
    except ValueError:
        raise RenderArgumentError(f"--frames {text!r}: expected A:B, e.g. 0:120") from None
    for v in (a, b):
        if v is not None and not -n_frames <= v <= n_frames:
            raise RenderArgumentError(
                f"--frames {text!r}: out of range for a motion of {n_frames} frames"
            )
    r = range(n_frames)[slice(a, b)]
    if len(r) == 0:
        raise RenderArgumentError(f"--frames {text!r}: no frames (the motion has {n_frames})")
    return r


def parse_strip_frames(text: str, frames: range) -> list[int]:
    try:
        chosen = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise RenderArgumentError(f"--strip-frames {text!r}: expected I,J,K") from None
    bad = [f for f in chosen if f not in frames]
    if not chosen or bad:
        raise RenderArgumentError(
            f"--strip-frames {text!r}: frames must be in {frames.start}..{frames.stop - 1}"
        )
    return chosen


def artifact_strip_frames(robots: list, flags: list[dict], frames: range) -> list[int]:
    """:data:`DEFAULT_STRIP` frames of ``frames`` around each motion's worst artifact
    (``benchmark.filmstrips.choose_frames``), in the first motion's frames."""
    import numpy as np

    from benchmark.filmstrips import ARTIFACT_FLAGS, choose_frames, worst_artifact

    fps = robots[0].fps
    t0, t1 = frames[0] / fps, frames[-1] / fps  # the window, in seconds
    worst = []
    for m, f in zip(robots, flags, strict=True):
        t = np.arange(m.n_frames) / m.fps
        inside = (t >= t0 - 0.5 / m.fps) & (t <= t1 + 0.5 / m.fps)
        w = worst_artifact(m, {k: v & inside for k, v in f.items()})
        if w is not None:
            rank = list(ARTIFACT_FLAGS).index(w[1])
            worst.append((rank, w[0] / m.fps - t0))
    times = [t for _, t in sorted(worst)]
    chosen = choose_frames(len(frames), fps, times, DEFAULT_STRIP)
    return [frames[i] for i in chosen]


def video_timeline(frames: range, motion_fps: float, out_fps: float) -> list[int]:
    """Renderer frames of a video at ``out_fps``: nearest in time to each output frame."""
    n_out = int((len(frames) - 1) / motion_fps * out_fps + 1e-9) + 1
    idx = [min(len(frames) - 1, round(k / out_fps * motion_fps)) for k in range(n_out)]
    return [frames[i] for i in idx]


def _labels(paths: list[str], text: str | None) -> list[str]:
    if text is not None:
        labels = [v.strip() for v in text.split(",")]
        if len(labels) != len(paths) or not all(labels):
            raise RenderArgumentError(
                f"--labels {text!r}: need {len(paths)} non-empty labels, one per motion"
            )
        return labels
    stems = [Path(p).name.split(".")[0] for p in paths]
    if len(set(stems)) < len(stems):  # same file names: add the folder
        stems = [f"{Path(p).parent.name}/{s}" for p, s in zip(paths, stems, strict=True)]
    return stems


def _load_robot(path: str, args: argparse.Namespace) -> Any:
    from nmr_gym.motion import RobotMotion

    motion = load_motion_arg(path, args)
    if not isinstance(motion, RobotMotion):
        raise MotionFormatError("holds a human motion; pass it with --human", path)
    return motion


def _load_human(spec: str) -> Any:
    if spec.startswith("builtin:"):
        from nmr_gym.suite import get_clip

        return get_clip(spec.removeprefix("builtin:")).motion()
    from nmr_gym.io import load_motion
    from nmr_gym.motion import HumanMotion

    motion = load_with_clear_errors(spec, lambda: load_motion(spec))
    if not isinstance(motion, HumanMotion):
        raise MotionFormatError("--human: holds a robot motion, not a human one", spec)
    return motion


# --------------------------------------------------------------------------------- run
def run(args: argparse.Namespace) -> int:
    from benchmark.filmstrips import artifact_frames, human_track
    from nmr_gym.viz import (
        MotionRenderer,
        RenderError,
        RobotTrack,
        evenly_spaced,
        filmstrip,
        has_display,
        video_frames,
        write_png,
        write_video,
    )
    from nmr_gym.viz.output import check_extension, check_video_size

    # Options first: nothing is loaded or rendered for a command that cannot succeed.
    width, height = parse_size(args.size)
    if args.interactive:
        if not has_display():
            raise RenderError("--interactive needs a display (DISPLAY/WAYLAND_DISPLAY unset)")
    elif args.out is None:
        raise RenderArgumentError("--out FILE.mp4|.gif|.png is required (or --interactive)")
    ext = None if args.out is None else check_extension(args.out)
    if ext is not None:
        check_video_size(args.out, width, height)
        if args.out.is_dir():
            raise RenderArgumentError(f"--out {args.out}: is a folder")
    if ext != ".png" and (args.strip is not None or args.strip_frames is not None):
        raise RenderArgumentError("--strip and --strip-frames apply to .png output only")
    if args.strip is not None and args.strip < 1:
        raise RenderArgumentError(f"--strip {args.strip}: must be >= 1")
    if args.fps is not None and not args.fps > 0:
        raise RenderArgumentError(f"--fps {args.fps}: must be > 0")
    labels = _labels(args.motions, args.labels)

    robots = [_load_robot(p, args) for p in args.motions]
    human = _load_human(args.human) if args.human else None
    frames = parse_frames(args.frames, robots[0].n_frames)
    around = args.strip_frames is not None and args.strip_frames.strip() == ARTIFACTS
    flags = [artifact_frames(m) if args.mark_artifacts or around else {} for m in robots]
    tracks = [
        RobotTrack(m, label, f if args.mark_artifacts else {})
        for m, label, f in zip(robots, labels, flags, strict=True)
    ]
    h = human_track(human) if human is not None else None

    if args.interactive:
        from nmr_gym.viz.interactive import view

        view(tracks, h, layout=args.layout, frames=list(frames))
        return 0

    strip_frames = None
    if ext == ".png":
        if around:
            strip_frames = artifact_strip_frames(robots, flags, frames)
        elif args.strip_frames:
            strip_frames = parse_strip_frames(args.strip_frames, frames)
        else:
            strip_frames = evenly_spaced(frames, args.strip or DEFAULT_STRIP)
    with MotionRenderer(
        tracks,
        h,
        width=width,
        height=height,
        layout=args.layout,
        camera=args.camera,
        shadows=args.shadows,
        view_frames=frames,
    ) as r:
        if ext == ".png":
            rows = "tracks" if args.layout == "side" else "scene"
            image = filmstrip(r, strip_frames, rows=rows, mark=args.mark_artifacts)
            write_png(args.out, image)
            shown = ",".join(str(f) for f in strip_frames)
            print(f"{args.out}: filmstrip of frames {shown}, {rows} rows")
            return 0
        out_fps = args.fps or r.fps
        timeline = video_timeline(frames, r.fps, out_fps)
        n = write_video(
            args.out,
            video_frames(r, timeline, mark=args.mark_artifacts, labels=not args.no_labels),
            out_fps,
            total=len(timeline),
            progress=not args.no_progress,
        )
    print(f"{args.out}: {n} frames at {out_fps:g} fps, {width}x{height}")
    return 0
