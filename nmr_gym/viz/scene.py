"""Offscreen images of G1 motions on the reference model, with an optional human skeleton.

One MuJoCo scene (Menagerie's ``scene.xml``: floor and light) holds any number of robots: the
floor is drawn once (``mjv_updateScene`` with the static category only), then each robot's
geoms are added from its own ``MjData`` with ``mjv_addGeoms`` and recoloured in the scene, so
N robots cost N forward-kinematics passes and one render. A human skeleton is drawn with scene
geoms (``mjv_initGeom`` / ``mjv_connector``: a capsule per bone, a sphere per joint) in the same
world frame, from joint positions the caller has already scaled (the benchmark scales them as
its MPJPE metric does).

Layouts (:data:`LAYOUTS`): ``side`` puts each shown track (the human first) in its own slot,
:data:`SIDE_SPACING_M` apart along the camera's right axis; ``overlay`` draws them all in place,
translucent (:data:`OVERLAY_ALPHA`). Cameras (:data:`CAMERAS`): ``follow`` looks at the mean
pelvis position of the shown tracks in every frame; ``fixed`` looks at the centre of their
pelvis paths over the view frames, from far enough to see the whole path.

Time: frame ``i`` of the renderer is time ``i / fps`` with ``fps`` the first track's rate (the
first robot, else the human); every other track shows its frame nearest to that time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import mujoco
import numpy as np

from nmr_gym.errors import MotionError, UnknownNameError
from nmr_gym.motion import RobotMotion
from nmr_gym.viz.backend import make_renderer

LAYOUTS: tuple[str, ...] = ("side", "overlay")
CAMERAS: tuple[str, ...] = ("follow", "fixed")

#: Robot colours in track order (RGB 0-1); the human skeleton has its own (:data:`HUMAN_RGBA`).
ROBOT_COLORS: tuple[tuple[float, float, float], ...] = (
    (0.90, 0.50, 0.15),  # orange
    (0.20, 0.50, 0.90),  # blue
    (0.25, 0.70, 0.30),  # green
    (0.60, 0.35, 0.80),  # purple
    (0.20, 0.75, 0.75),  # teal
    (0.85, 0.35, 0.55),  # pink
    (0.55, 0.45, 0.30),  # brown
    (0.60, 0.60, 0.60),  # grey
)
#: Colour of a robot in a frame flagged by the metrics (when marking is on).
ARTIFACT_RGB: tuple[float, float, float] = (0.95, 0.08, 0.08)
#: Weight of a robot's colour against its material colour (0: Menagerie's look, 1: flat colour).
TINT_WEIGHT = 0.65
#: Opacity of every track in the ``overlay`` layout (1 = opaque).
OVERLAY_ALPHA = 0.55
#: Human skeleton colour (RGBA) and sizes [m].
HUMAN_RGBA: tuple[float, float, float, float] = (0.95, 0.85, 0.20, 1.0)
HUMAN_BONE_RADIUS_M = 0.022
HUMAN_JOINT_RADIUS_M = 0.035
#: Distance between neighbouring slots of the ``side`` layout [m] (the G1 is ~0.45 m wide).
SIDE_SPACING_M = 1.0
#: Camera: azimuth/elevation [deg] (MuJoCo's free camera; azimuth 180 looks along -x, i.e. at
#: the front of a robot facing +x, as every built-in clip starts), distance for one slot [m],
#: extra distance per further slot [m], height of the point looked at [m].
CAMERA_AZIMUTH_DEG = 160.0
CAMERA_ELEVATION_DEG = -12.0
CAMERA_DISTANCE_M = 3.0
CAMERA_DISTANCE_PER_SLOT_M = 0.9
CAMERA_LOOKAT_Z_M = 0.7
#: ``fixed`` camera: extra distance per metre of the pelvis paths' horizontal extent.
FIXED_DISTANCE_PER_EXTENT = 1.1


@dataclass
class RobotTrack:
    """A robot motion to draw, its label, and optional per-frame flags (name -> (T,) bool)."""

    motion: RobotMotion
    label: str
    flags: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.motion.n_frames
        for name, f in self.flags.items():
            f = np.asarray(f, dtype=bool)
            if f.shape != (n,):
                raise MotionError(
                    f"flags {name!r} of {self.label!r} have shape {f.shape}, expected ({n},)",
                    self.motion.source,
                )
            self.flags[name] = f

    def flagged(self, frame: int) -> list[str]:
        """Names of the flags set at ``frame``."""
        return [name for name, f in self.flags.items() if f[frame]]


@dataclass
class HumanTrack:
    """A human skeleton to draw: joint positions (T, J, 3) [m], world frame, at ``fps``.

    ``parents[j]`` is joint j's parent index (-1: root, no bone); ``root`` is the joint the
    cameras follow (the pelvis).
    """

    joint_pos_w: np.ndarray
    fps: float
    parents: tuple[int, ...] | None = None
    label: str = "human"
    root: int = 0

    def __post_init__(self) -> None:
        self.joint_pos_w = np.asarray(self.joint_pos_w, dtype=float)
        p = self.joint_pos_w
        if p.ndim != 3 or p.shape[2] != 3 or p.shape[0] < 1:
            raise MotionError(f"human joint positions have shape {p.shape}, expected (T, J, 3)")
        if not np.isfinite(p).all():
            raise MotionError("human joint positions contain NaN or inf")
        if self.parents is not None and len(self.parents) != p.shape[1]:
            raise MotionError(f"{len(self.parents)} parent indices for {p.shape[1]} human joints")

    @property
    def n_frames(self) -> int:
        return self.joint_pos_w.shape[0]


def add_robot_geoms(
    scn: mujoco.MjvScene,
    model: mujoco.MjModel,
    data: mujoco.MjData,
    rgb: tuple[float, float, float],
    alpha: float = 1.0,
) -> None:
    """Add the robot's geoms (``data``'s pose, kinematics done) to ``scn``, tinted with ``rgb``
    (:data:`TINT_WEIGHT`) at opacity ``alpha``."""
    start = scn.ngeom
    opt, pert = mujoco.MjvOption(), mujoco.MjvPerturb()
    mujoco.mjv_addGeoms(model, data, opt, pert, mujoco.mjtCatBit.mjCAT_DYNAMIC, scn)
    c = np.asarray(rgb)
    for i in range(start, scn.ngeom):
        g = scn.geoms[i]
        g.rgba[:3] = (1 - TINT_WEIGHT) * g.rgba[:3] + TINT_WEIGHT * c
        g.rgba[3] = alpha


def add_skeleton(
    scn: mujoco.MjvScene,
    joint_pos_w: np.ndarray,
    parents: Sequence[int] | None,
    rgba: Sequence[float] = HUMAN_RGBA,
) -> None:
    """Add a skeleton to ``scn``: a sphere per joint of ``joint_pos_w`` (J, 3) [m] and a
    capsule from each joint to its parent (``parents[j]`` < 0: none). Stops when full."""
    colour = np.asarray(rgba, dtype=np.float32)
    eye = np.eye(3).ravel()
    sphere = np.array([HUMAN_JOINT_RADIUS_M, 0.0, 0.0])
    for j, p in enumerate(joint_pos_w):
        parent = -1 if parents is None else parents[j]
        if scn.ngeom + 1 + (parent >= 0) > scn.maxgeom:
            return
        mujoco.mjv_initGeom(
            scn.geoms[scn.ngeom], mujoco.mjtGeom.mjGEOM_SPHERE, sphere, p, eye, colour
        )
        scn.ngeom += 1
        if parent >= 0:
            g = scn.geoms[scn.ngeom]
            mujoco.mjv_initGeom(g, mujoco.mjtGeom.mjGEOM_CAPSULE, np.zeros(3), p, eye, colour)
            cap = mujoco.mjtGeom.mjGEOM_CAPSULE
            mujoco.mjv_connector(g, cap, HUMAN_BONE_RADIUS_M, joint_pos_w[parent], p)
            scn.ngeom += 1


def _check_choice(kind: str, value: str, valid: tuple[str, ...]) -> str:
    if value not in valid:
        raise UnknownNameError(kind, value, valid)
    return value


class MotionRenderer:
    """Renders frames of robot tracks and an optional human track (see the module docstring).

    Use as a context manager, or call :meth:`close`, to free the GL context. ``view_frames``
    (default: all) is the frame range the ``fixed`` camera must see. ``offscreen=False``
    makes no GL context (timeline and layout only, for the interactive viewer).
    """

    def __init__(
        self,
        robots: Sequence[RobotTrack],
        human: HumanTrack | None = None,
        *,
        width: int = 640,
        height: int = 480,
        layout: str = "side",
        camera: str = "follow",
        shadows: bool = False,
        view_frames: Sequence[int] | None = None,
        model: mujoco.MjModel | None = None,
        offscreen: bool = True,
    ) -> None:
        from nmr_gym.g1 import scene_model

        if not robots and human is None:
            raise MotionError("nothing to render: no robot motion and no human motion")
        self.robots = list(robots)
        self.human = human
        self.layout = _check_choice("layout", layout, LAYOUTS)
        self.camera_mode = _check_choice("camera", camera, CAMERAS)
        self.width, self.height = int(width), int(height)
        self.model = model if model is not None else scene_model()
        self._renderer = None
        if offscreen:
            self._renderer = make_renderer(self.model, self.height, self.width)
            flags = self._renderer.scene.flags
            # Shadows and reflections cost ~3x the render time in software GL (llvmpipe).
            flags[mujoco.mjtRndFlag.mjRND_SHADOW] = bool(shadows)
            flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = bool(shadows)
        self._datas = [mujoco.MjData(self.model) for _ in self.robots]
        self._scratch = mujoco.MjData(self.model)
        self._opt = mujoco.MjvOption()
        self._pert = mujoco.MjvPerturb()  # mjv_updateScene wants one; nothing is perturbed
        self._camera = mujoco.MjvCamera()
        self._camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        first = self.robots[0].motion if self.robots else human
        self.fps = float(first.fps)
        self.n_frames = int(first.n_frames)
        self.view_frames = (
            np.arange(self.n_frames) if view_frames is None else np.asarray(view_frames, int)
        )
        self._fixed_views: dict[tuple, tuple[np.ndarray, float]] = {}

    # ------------------------------------------------------------------------- timeline
    def robot_frame(self, k: int, frame: int) -> int:
        """Frame of robot ``k`` shown at renderer frame ``frame`` (nearest in time)."""
        m = self.robots[k].motion
        return int(np.clip(round(frame / self.fps * m.fps), 0, m.n_frames - 1))

    def human_frame(self, frame: int) -> int:
        assert self.human is not None
        return int(np.clip(round(frame / self.fps * self.human.fps), 0, self.human.n_frames - 1))

    def flagged(self, frame: int) -> list[list[str]]:
        """For each robot, the names of its flags set at renderer frame ``frame``."""
        return [r.flagged(self.robot_frame(k, frame)) for k, r in enumerate(self.robots)]

    # --------------------------------------------------------------------------- layout
    def _shown(self, robots: Sequence[int] | None, human: bool) -> tuple[list[int], bool]:
        ks = list(range(len(self.robots))) if robots is None else list(robots)
        for k in ks:
            if not 0 <= k < len(self.robots):
                raise IndexError(f"robot track {k} out of range 0..{len(self.robots) - 1}")
        return ks, bool(human and self.human is not None)

    def _right(self) -> np.ndarray:
        a = math.radians(CAMERA_AZIMUTH_DEG)
        return np.array([math.sin(a), -math.cos(a), 0.0])

    def _offsets(self, n_slots: int) -> np.ndarray:
        """(n_slots, 3) world offsets of the slots [m]."""
        if self.layout == "overlay" or n_slots <= 1:
            return np.zeros((n_slots, 3))
        idx = np.arange(n_slots) - (n_slots - 1) / 2
        return idx[:, None] * SIDE_SPACING_M * self._right()[None, :]

    def _roots_xy(self, frames: np.ndarray, ks: list[int], human: bool) -> np.ndarray:
        """(F, S, 2) pelvis xy of the shown tracks (before slot offsets)."""
        cols = []
        if human:
            hf = [self.human_frame(int(f)) for f in frames]
            cols.append(self.human.joint_pos_w[hf, self.human.root, :2])
        for k in ks:
            rf = [self.robot_frame(k, int(f)) for f in frames]
            cols.append(self.robots[k].motion.root_pos[rf, :2])
        return np.stack(cols, axis=1)

    def _set_camera(self, frame: int, ks: list[int], human: bool) -> None:
        n_slots = len(ks) + int(human)
        if n_slots == 0:  # an empty scene: the view the first track alone would get
            ks, human = ([0], False) if self.robots else ([], True)
        cam = self._camera
        cam.azimuth, cam.elevation = CAMERA_AZIMUTH_DEG, CAMERA_ELEVATION_DEG
        dist = CAMERA_DISTANCE_M + CAMERA_DISTANCE_PER_SLOT_M * max(
            0, (n_slots - 1) if self.layout == "side" else 0
        )
        if self.camera_mode == "follow":
            centre = self._roots_xy(np.array([frame]), ks, human)[0].mean(axis=0)
        else:
            key = (tuple(ks), human)
            if key not in self._fixed_views:  # once per set of shown tracks
                path = self._roots_xy(self.view_frames, ks, human).reshape(-1, 2)
                lo, hi = path.min(axis=0), path.max(axis=0)
                self._fixed_views[key] = ((lo + hi) / 2, float(np.max(hi - lo)))
            centre, extent = self._fixed_views[key]
            dist += FIXED_DISTANCE_PER_EXTENT * extent
        cam.lookat[:] = (centre[0], centre[1], CAMERA_LOOKAT_Z_M)
        cam.distance = dist

    # ---------------------------------------------------------------------------- drawing
    def _add_robot(self, k: int, frame: int, offset: np.ndarray, mark: bool, alpha: float):
        data = self._datas[k]
        track = self.robots[k]
        j = self.robot_frame(k, frame)
        data.qpos[:] = track.motion.qpos[j]
        data.qpos[:3] += offset
        mujoco.mj_kinematics(self.model, data)
        bad = mark and bool(track.flagged(j))
        colour = ARTIFACT_RGB if bad else ROBOT_COLORS[k % len(ROBOT_COLORS)]
        add_robot_geoms(self._renderer.scene, self.model, data, colour, alpha)

    def _add_human(self, frame: int, offset: np.ndarray, alpha: float) -> None:
        h = self.human
        p = h.joint_pos_w[self.human_frame(frame)] + offset  # (J, 3)
        add_skeleton(self._renderer.scene, p, h.parents, (*HUMAN_RGBA[:3], alpha))

    def render(
        self,
        frame: int,
        robots: Sequence[int] | None = None,
        human: bool = True,
        mark: bool = False,
    ) -> np.ndarray:
        """(H, W, 3) uint8 image of renderer frame ``frame``.

        ``robots``: indices of the robot tracks to show (default all); ``human``: show the
        human track if there is one; ``mark``: colour robots whose frame is flagged with
        :data:`ARTIFACT_RGB`.
        """
        if self._renderer is None:
            raise RuntimeError("this MotionRenderer was made with offscreen=False")
        if not 0 <= frame < self.n_frames:
            raise IndexError(f"frame {frame} out of range 0..{self.n_frames - 1}")
        ks, show_h = self._shown(robots, human)
        n_slots = len(ks) + int(show_h)
        offsets = self._offsets(n_slots)
        alpha = OVERLAY_ALPHA if self.layout == "overlay" and n_slots > 1 else 1.0
        self._set_camera(frame, ks, show_h)
        scn = self._renderer.scene
        # The floor and the light only (static geoms), then each track.
        mujoco.mj_kinematics(self.model, self._scratch)
        mujoco.mjv_updateScene(
            self.model,
            self._scratch,
            self._opt,
            self._pert,
            self._camera,
            mujoco.mjtCatBit.mjCAT_STATIC,
            scn,
        )
        slot = 0
        if show_h:
            self._add_human(frame, offsets[0], alpha)
            slot = 1
        for i, k in enumerate(ks):
            self._add_robot(k, frame, offsets[slot + i], mark, alpha)
        return self._renderer.render()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def __enter__(self) -> MotionRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
