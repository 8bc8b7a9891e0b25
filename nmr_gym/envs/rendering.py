"""Offscreen rendering of the tracking scene, optionally with the reference as a ghost robot.

On a headless Linux without ``MUJOCO_GL``, MuJoCo would default to GLFW (which needs a display):
:func:`make_renderer` points MuJoCo's context class at its EGL context instead (MuJoCo picks its
backend when ``mujoco`` is imported, before this module could set ``MUJOCO_GL``; the user's
``MUJOCO_GL`` always wins).
"""

from __future__ import annotations

import os
import sys

import mujoco
import numpy as np

HAS_DISPLAY = bool(
    os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform != "linux"
)
_USER_GL = bool(os.environ.get("MUJOCO_GL"))
#: Frame size (height, width) [px].
RENDER_SIZE = (480, 640)
#: Colour (RGBA) of the reference ghost robot: translucent green.
GHOST_RGBA = (0.2, 0.9, 0.3, 0.35)


def make_renderer(model: mujoco.MjModel, height: int, width: int) -> mujoco.Renderer:
    """``mujoco.Renderer``; on a headless Linux without ``MUJOCO_GL`` it renders through EGL."""
    if not HAS_DISPLAY and not _USER_GL:
        from mujoco.egl import GLContext
        from mujoco.rendering.classic import gl_context

        gl_context.GLContext = GLContext
    return mujoco.Renderer(model, height, width)


class SceneRenderer:
    """Renders a robot's ``MjData`` from a camera following the pelvis; with ``ghost`` the
    reference pose (a qpos) is drawn over it as a translucent robot of colour ``GHOST_RGBA``."""

    def __init__(
        self, model: mujoco.MjModel, size: tuple[int, int] = RENDER_SIZE, ghost: bool = False
    ):
        self.model = model
        self.renderer = make_renderer(model, *size)
        self.camera = mujoco.MjvCamera()
        self.camera.distance, self.camera.elevation, self.camera.azimuth = 3.0, -15, 90
        self.ghost = bool(ghost)
        self._ghost_data = mujoco.MjData(model) if ghost else None
        self._option = mujoco.MjvOption()
        self._pert = mujoco.MjvPerturb()

    def render(self, data: mujoco.MjData, reference_qpos: np.ndarray | None = None) -> np.ndarray:
        """An RGB frame (H, W, 3) uint8."""
        self.camera.lookat[:] = data.xpos[1]
        self.renderer.update_scene(data, self.camera)
        if self.ghost and reference_qpos is not None:
            gd = self._ghost_data
            gd.qpos[:] = reference_qpos
            mujoco.mj_kinematics(self.model, gd)
            scene = self.renderer.scene
            first = scene.ngeom
            mujoco.mjv_addGeoms(
                self.model, gd, self._option, self._pert, mujoco.mjtCatBit.mjCAT_DYNAMIC, scene
            )
            for k in range(first, scene.ngeom):
                scene.geoms[k].rgba[:] = GHOST_RGBA
        return self.renderer.render()

    def close(self) -> None:
        self.renderer.close()
