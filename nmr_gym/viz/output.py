"""Images to files: labelled frames, MP4/GIF videos and PNG filmstrips, written atomically.

Videos are written with imageio: MP4 through ``imageio-ffmpeg`` (H.264, yuv420p; the ffmpeg
binary ships inside its wheel, so nothing is downloaded at run time), GIF through Pillow. Every
file is written to a temporary file beside the target and renamed at the end
(``nmr_gym.io.atomic``), so an error or an interrupt never leaves a partial file. Text is drawn
with Pillow (MuJoCo's own overlays need a window context).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from nmr_gym.io.atomic import atomic_path
from nmr_gym.viz.backend import RenderError

#: Output kinds by file extension.
VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".gif")
IMAGE_EXTENSIONS: tuple[str, ...] = (".png",)
EXTENSIONS: tuple[str, ...] = VIDEO_EXTENSIONS + IMAGE_EXTENSIONS
#: H.264 quality (imageio-ffmpeg's 0-10 scale, 10 best).
MP4_QUALITY = 7
#: Width of the border that marks a flagged frame [px], and its colour.
MARK_BORDER_PX = 6
MARK_RGB: tuple[int, int, int] = (230, 20, 20)
#: Label text size [px] and colours.
FONT_PX = 14
TEXT_RGB: tuple[int, int, int] = (255, 255, 255)
LABEL_BG_RGB: tuple[int, int, int] = (25, 25, 25)
#: Gap between filmstrip cells [px], and the width of the row-label column [px].
STRIP_GAP_PX = 2
STRIP_LABEL_PX = 90


def _readable(path: Path) -> None:
    """Give a finished temporary file the permissions a plain ``open`` would (mkstemp: 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def check_extension(path: str | os.PathLike) -> str:
    """The lower-case extension of ``path`` if it is one of :data:`EXTENSIONS`."""
    ext = Path(path).suffix.lower()
    if ext not in EXTENSIONS:
        raise RenderError(
            f"{path}: unknown output extension {ext or '(none)'!r}; valid: {', '.join(EXTENSIONS)}"
        )
    return ext


def check_video_size(path: str | os.PathLike, width: int, height: int) -> None:
    """MP4 (H.264 yuv420p) needs even width and height; fail before rendering, not after."""
    if width < 1 or height < 1:
        raise RenderError(f"image size must be at least 1x1 pixels, got {width}x{height}")
    if Path(path).suffix.lower() == ".mp4" and (width % 2 or height % 2):
        raise RenderError(
            f"{path}: MP4 (H.264, yuv420p) needs an even width and height, got {width}x{height}"
        )


def _font(size: int = FONT_PX):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def annotate(
    image: np.ndarray,
    lines: Sequence[tuple[str, tuple[float, float, float]]] = (),
    footer: str = "",
    marked: bool = False,
) -> np.ndarray:
    """``image`` (H, W, 3) with a legend (text, RGB 0-1 swatch) top left, ``footer`` bottom
    left, and a :data:`MARK_RGB` border when ``marked``."""
    from PIL import Image, ImageDraw

    img = Image.fromarray(np.ascontiguousarray(image))
    draw = ImageDraw.Draw(img)
    font = _font()
    y = 6
    for text, rgb in lines:
        sw = tuple(int(255 * c) for c in rgb)
        draw.rectangle([6, y + 2, 6 + FONT_PX - 4, y + FONT_PX - 2], fill=sw)
        draw.text((8 + FONT_PX, y), text, fill=TEXT_RGB, font=font)
        y += FONT_PX + 4
    if footer:
        draw.text((6, image.shape[0] - FONT_PX - 6), footer, fill=TEXT_RGB, font=font)
    out = np.asarray(img).copy()
    if marked:
        b = MARK_BORDER_PX
        out[:b], out[-b:], out[:, :b], out[:, -b:] = MARK_RGB, MARK_RGB, MARK_RGB, MARK_RGB
    return out


def write_video(
    path: str | os.PathLike,
    frames: Iterable[np.ndarray],
    fps: float,
    total: int | None = None,
    progress: bool = True,
    desc: str = "render",
) -> int:
    """Write (H, W, 3) uint8 ``frames`` to an MP4 or GIF at ``fps``; returns the frame count.

    MP4 frames stream to ffmpeg; GIF frames are held in memory as palette images until the end
    (about W x H bytes each), so long clips belong in MP4.

    A tqdm bar (with ETA) shows progress when ``progress``. Atomic: the file appears complete
    or not at all.
    """
    import imageio.v2 as imageio
    from tqdm import tqdm

    ext = check_extension(path)
    if ext not in VIDEO_EXTENSIONS:
        raise RenderError(f"{path}: not a video extension; valid: {', '.join(VIDEO_EXTENSIONS)}")
    if not fps > 0:
        raise RenderError(f"{path}: video fps must be > 0, got {fps}")
    bar = tqdm(frames, total=total, desc=desc, unit="frame", disable=not progress)
    n = 0
    with atomic_path(path) as tmp:
        if ext == ".mp4":
            # macro_block_size 1: keep the exact size (even sizes are checked beforehand).
            writer = imageio.get_writer(
                tmp,
                format="FFMPEG",
                fps=float(fps),
                codec="libx264",
                quality=MP4_QUALITY,
                pixelformat="yuv420p",
                macro_block_size=1,
                ffmpeg_log_level="error",
            )
            try:
                for frame in bar:
                    writer.append_data(frame)
                    n += 1
            finally:
                writer.close()
        else:
            from PIL import Image

            # Pillow writes a GIF from all its frames at once: keep them as 8-bit palette
            # images (a third of RGB's memory). Durations are whole milliseconds.
            pil = [Image.fromarray(f).convert("P", palette=Image.Palette.ADAPTIVE) for f in bar]
            n = len(pil)
            if n:
                pil[0].save(
                    tmp,
                    format="GIF",
                    save_all=True,
                    append_images=pil[1:],
                    duration=max(1, round(1000.0 / fps)),
                    loop=0,
                    optimize=False,
                )
        if n == 0:
            raise RenderError(f"{path}: no frames to write")
        _readable(tmp)
    return n


def compose_grid(
    cells: Sequence[Sequence[np.ndarray]],
    row_labels: Sequence[str] = (),
    col_labels: Sequence[str] = (),
    marked: Sequence[Sequence[bool]] | None = None,
    notes: Sequence[Sequence[str]] | None = None,
) -> np.ndarray:
    """One image from rows of equally sized (H, W, 3) cells: row labels on the left, column
    labels on top, :data:`MARK_RGB` borders around the ``marked`` cells, ``notes`` written at
    the bottom of each cell."""
    from PIL import Image, ImageDraw

    if not cells or not cells[0]:
        raise RenderError("a filmstrip needs at least one row and one column")
    h, w = cells[0][0].shape[:2]
    n_rows, n_cols = len(cells), max(len(r) for r in cells)
    left = STRIP_LABEL_PX if row_labels else 0
    top = FONT_PX + 6 if col_labels else 0
    g = STRIP_GAP_PX
    out = np.empty((top + n_rows * (h + g), left + n_cols * (w + g), 3), np.uint8)
    out[:] = LABEL_BG_RGB
    b = MARK_BORDER_PX
    for r, row in enumerate(cells):
        for c, cell in enumerate(row):
            y, x = top + r * (h + g), left + c * (w + g)
            out[y : y + h, x : x + w] = cell
            if marked is not None and marked[r][c]:
                sub = out[y : y + h, x : x + w]
                sub[:b], sub[-b:], sub[:, :b], sub[:, -b:] = (MARK_RGB,) * 4
    img = Image.fromarray(out)
    draw = ImageDraw.Draw(img)
    font = _font()
    for r, label in enumerate(row_labels):
        draw.text((4, top + r * (h + g) + h // 2 - FONT_PX // 2), label, fill=TEXT_RGB, font=font)
    for c, label in enumerate(col_labels):
        draw.text((left + c * (w + g) + 4, 3), label, fill=TEXT_RGB, font=font)
    for r, row_notes in enumerate(notes or ()):
        for c, note in enumerate(row_notes):
            if note:
                y, x = top + r * (h + g) + h - FONT_PX - MARK_BORDER_PX - 2, left + c * (w + g)
                draw.text((x + MARK_BORDER_PX + 2, y), note, fill=TEXT_RGB, font=font)
    return np.asarray(img)


def write_png(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write an (H, W, 3) uint8 image as an optimised PNG, atomically."""
    from PIL import Image

    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG", optimize=True)
        _readable(tmp)
    return Path(path)
