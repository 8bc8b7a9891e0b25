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
import numpy as np

from nmr_gym.viz.backend import RenderError, has_display
from nmr_gym.viz.scene import (
    HUMAN_BONE_RADIUS_M,
    HUMAN_JOINT_RADIUS_M,
    HUMAN_RGBA,
    ROBOT_COLORS,
    TINT_WEIGHT,
    HumanTrack,
    MotionRenderer,
    RobotTrack,
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
    import mujoco.viewer

    # Timeline and layout of the offscreen renderer, without a GL context of its own.
    layout_of = MotionRenderer(robots, human, layout=layout, offscreen=False)
    model = layout_of.model
    frames = list(range(layout_of.n_frames)) if frames is None else list(frames)
    play = Playback(len(frames))
    datas = [mujoco.MjData(model) for _ in robots]
    main = datas[0] if datas else mujoco.MjData(model)
    opt, pert = mujoco.MjvOption(), mujoco.MjvPerturb()
    n_slots = len(robots) + int(human is not None)
    offsets = layout_of._offsets(n_slots)
    first = int(human is not None)
    with mujoco.viewer.launch_passive(model, main, key_callback=play.key) as v:
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
                    if k == 0:
                        continue  # the viewer draws its own data
                    start = scn.ngeom
                    mujoco.mjv_addGeoms(model, d, opt, pert, mujoco.mjtCatBit.mjCAT_DYNAMIC, scn)
                    c = np.asarray(ROBOT_COLORS[k % len(ROBOT_COLORS)])
                    for i in range(start, scn.ngeom):
                        g = scn.geoms[i]
                        g.rgba[:3] = (1 - TINT_WEIGHT) * g.rgba[:3] + TINT_WEIGHT * c
                if human is not None:
                    p = human.joint_pos_w[layout_of.human_frame(f)] + offsets[0]
                    rgba = np.array(HUMAN_RGBA, np.float32)
                    for j in range(p.shape[0]):
                        if scn.ngeom + 2 > scn.maxgeom:
                            break
                        g = scn.geoms[scn.ngeom]
                        mujoco.mjv_initGeom(
                            g,
                            mujoco.mjtGeom.mjGEOM_SPHERE,
                            np.array([HUMAN_JOINT_RADIUS_M, 0, 0]),
                            p[j],
                            np.eye(3).ravel(),
                            rgba,
                        )
                        scn.ngeom += 1
                        parent = -1 if human.parents is None else human.parents[j]
                        if parent >= 0:
                            g = scn.geoms[scn.ngeom]
                            mujoco.mjv_initGeom(
                                g, mujoco.mjtGeom.mjGEOM_CAPSULE, np.zeros(3), p[j],
                                np.eye(3).ravel(), rgba,
                            )  # fmt: skip
                            mujoco.mjv_connector(
                                g, mujoco.mjtGeom.mjGEOM_CAPSULE, HUMAN_BONE_RADIUS_M, p[parent], p[j]
                            )
                            scn.ngeom += 1
            v.sync()
            play.advance()
            time.sleep(max(0.0, 1.0 / layout_of.fps - (time.perf_counter() - t0)))
    layout_of.close()
