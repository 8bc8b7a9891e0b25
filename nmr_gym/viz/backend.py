"""Which OpenGL backend offscreen rendering uses, and a ``mujoco.Renderer`` that works headless.

MuJoCo picks its GL context class from ``MUJOCO_GL`` when ``mujoco`` is first imported
(``nmr_gym`` imports it at once), defaulting to GLFW, which needs a display. On a Linux machine
without a display and without a user-chosen ``MUJOCO_GL``, :func:`make_renderer` points MuJoCo's
context class at its own EGL context (software ``llvmpipe`` where no GPU driver exists), as the
tracking environment does. A backend the user chose in ``MUJOCO_GL`` always wins.
"""

from __future__ import annotations

import os
import sys

import mujoco

from nmr_gym.errors import NmrGymError

#: Environment variables that name a display (X11, Wayland).
DISPLAY_VARS: tuple[str, ...] = ("DISPLAY", "WAYLAND_DISPLAY")


class RenderError(NmrGymError):
    """Rendering cannot run here (no GL backend, no display for the viewer, bad size, ...)."""


def has_display() -> bool:
    """True where a window can open: a display variable is set, or not Linux (macOS/Windows)."""
    return sys.platform != "linux" or any(os.environ.get(v) for v in DISPLAY_VARS)


def user_gl_backend() -> str | None:
    """The backend named in ``MUJOCO_GL`` (lower case), or None when it is unset."""
    value = os.environ.get("MUJOCO_GL", "").strip().lower()
    return value or None


def make_renderer(model: mujoco.MjModel, height: int, width: int) -> mujoco.Renderer:
    """A ``mujoco.Renderer`` of ``height`` x ``width`` pixels; EGL on a headless Linux.

    Raises :class:`RenderError` with the reason (and what to try) when no context can be made.
    """
    if width < 1 or height < 1:
        raise RenderError(f"image size must be at least 1x1 pixels, got {width}x{height}")
    if user_gl_backend() is None and not has_display():
        from mujoco.egl import GLContext
        from mujoco.rendering.classic import gl_context

        gl_context.GLContext = GLContext
    vis = model.vis.global_
    if width > vis.offwidth or height > vis.offheight:
        # The offscreen buffer is part of the model; a private copy gets a larger one.
        import copy

        model = copy.copy(model)
        model.vis.global_.offwidth = max(width, vis.offwidth)
        model.vis.global_.offheight = max(height, vis.offheight)
    try:
        return mujoco.Renderer(model, height, width)
    except Exception as exc:  # GL errors have no common base class across backends
        raise RenderError(
            f"cannot create an OpenGL context for offscreen rendering ({type(exc).__name__}: "
            f"{exc}); MUJOCO_GL={user_gl_backend() or '(unset)'}; try MUJOCO_GL=egl or "
            "MUJOCO_GL=osmesa"
        ) from exc
