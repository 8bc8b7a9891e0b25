"""Interactive viewing in MuJoCo's passive viewer (``mujoco.viewer.launch_passive``).

The first robot is the viewer's own model and data; further robots and the human skeleton are
drawn into the viewer's ``user_scn`` each frame, placed and coloured as the offscreen renderer
places them (:class:`~nmr_gym.viz.scene.MotionRenderer`'s layout). Keys: space plays/pauses,
right/left arrows step one frame (and pause), Home goes to the first frame. Needs a display;
without one :func:`view` raises :class:`~nmr_gym.viz.backend.RenderError` at once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import mujoco

from nmr_gym.viz.backend import RenderError, has_display
from nmr_gym.viz.scene import (
    ROBOT_COLORS,
    HumanTrack,
    MotionRenderer,
    RobotTrack,
    add_robot_geoms,
    add_skeleton,
)

#: GLFW key codes the viewer passes to ``key_callback``.
KEY_SPACE, KEY_RIGHT, KEY_LEFT, KEY_HOME = 32, 262, 263, 268


@dataclass
class Playback:
    """Play/pause and frame stepping over ``n_frames`` frames (the viewer's key handling)."""

    n_frames: int
    frame: int = 0
    playing: bool = True
    loop: bool = True

    def key(self, keycode: int) -> None:
        if keycode == KEY_SPACE:
            self.playing = not self.playing
        elif keycode == KEY_RIGHT:
            self.playing, self.frame = False, min(self.frame + 1, self.n_frames - 1)
        elif keycode == KEY_LEFT:
            self.playing, self.frame = False, max(self.frame - 1, 0)
        elif keycode == KEY_HOME:
            self.frame = 0

    def advance(self) -> None:
        """One frame forward while playing (wrapping to the start when ``loop``)."""
        if not self.playing:
            return
        if self.frame + 1 < self.n_frames:
            self.frame += 1
        elif self.loop:
            self.frame = 0
        else:
            self.playing = False


def view(
    robots: Sequence[RobotTrack],
    human: HumanTrack | None = None,
    *,
    layout: str = "side",
    frames: Sequence[int] | None = None,
) -> None:
    """Show the tracks in MuJoCo's passive viewer until its window is closed."""
    if not has_display():
        raise RenderError("interactive viewing needs a display (DISPLAY/WAYLAND_DISPLAY unset)")
    from mujoco import viewer as mj_viewer

    # Timeline and layout of the offscreen renderer, without a GL context of its own.
    layout_of = MotionRenderer(robots, human, layout=layout, offscreen=False)
    model = layout_of.model
    frames = list(range(layout_of.n_frames)) if frames is None else list(frames)
    play = Playback(len(frames))
    datas = [mujoco.MjData(model) for _ in robots]
    main = datas[0] if datas else mujoco.MjData(model)
    n_slots = len(robots) + int(human is not None)
    offsets = layout_of._offsets(n_slots)
    first = int(human is not None)
    with mj_viewer.launch_passive(model, main, key_callback=play.key) as v:
        while v.is_running():
            t0 = time.perf_counter()
            f = frames[play.frame]
            with v.lock():  # the viewer thread reads data and user_scn
                scn = v.user_scn
                scn.ngeom = 0
                for k, track in enumerate(robots):
                    d = datas[k]
                    d.qpos[:] = track.motion.qpos[layout_of.robot_frame(k, f)]
                    d.qpos[:3] += offsets[first + k]
                    mujoco.mj_kinematics(model, d)
                    if k > 0:  # the viewer draws its own data (robot 0)
                        add_robot_geoms(scn, model, d, ROBOT_COLORS[k % len(ROBOT_COLORS)])
                if human is not None:
                    p = human.joint_pos_w[layout_of.human_frame(f)] + offsets[0]
                    add_skeleton(scn, p, human.parents)
            v.sync()
            play.advance()
            time.sleep(max(0.0, 1.0 / layout_of.fps - (time.perf_counter() - t0)))
    layout_of.close()
