"""Seeing motions: offscreen images, videos and filmstrips of G1 motions and human skeletons.

- :class:`MotionRenderer` (:mod:`.scene`): robots side by side or overlaid on the reference G1
  scene, a human skeleton from scene geoms in the same world frame, follow/fixed cameras;
- :mod:`.compose`: labelled video frames and filmstrips (the NMR paper's Fig. 5 layout);
- :mod:`.output`: MP4/GIF/PNG writers (imageio, imageio-ffmpeg, Pillow), atomic;
- :mod:`.interactive`: MuJoCo's passive viewer with play/pause and frame stepping;
- :mod:`.backend`: EGL on a headless Linux unless ``MUJOCO_GL`` says otherwise.

Scaling the human and computing artifact flags are the benchmark's business
(``benchmark.filmstrips``); this package draws what it is given.
"""

from nmr_gym.viz.backend import RenderError, has_display, make_renderer
from nmr_gym.viz.compose import evenly_spaced, filmstrip, video_frames
from nmr_gym.viz.output import EXTENSIONS, compose_grid, write_png, write_video
from nmr_gym.viz.scene import CAMERAS, LAYOUTS, HumanTrack, MotionRenderer, RobotTrack

__all__ = [
    "CAMERAS",
    "EXTENSIONS",
    "LAYOUTS",
    "HumanTrack",
    "MotionRenderer",
    "RenderError",
    "RobotTrack",
    "compose_grid",
    "evenly_spaced",
    "filmstrip",
    "has_display",
    "make_renderer",
    "video_frames",
    "write_png",
    "write_video",
]
