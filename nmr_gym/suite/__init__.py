"""The built-in motion suite: deterministic, procedurally generated human motions (no download).

``builtin_suite()`` lists the clips; ``clip.motion()`` builds (once, then cached) a
:class:`~nmr_gym.motion.HumanMotion` on the canonical SMPL skeleton at 30 fps. Clips cover the
three complexity classes of the NMR paper -- upper-body only (ULOM: waves, reaches, arm circles,
gestures), whole-body primitives (WBPM: walk, run, turn, squat, side step) and whole-body
complex (WBCM: jumps, kicks, spins, dance) -- in short (< 250 frames), medium (250-1000) and
long (> 1000) lengths. Class labels are in the clip and in ``HumanMotion.metadata``
("complexity", "length", "name", "format": "builtin", "skeleton": "smpl24-builtin").

Plausibility (tested in tests/test_suite.py): joint angles within :data:`JOINT_LIMITS_DEG`,
planted feet do not slide or sink (analytic leg IK on footprints, see
:mod:`nmr_gym.suite.body`), smooth joint trajectories, airborne phases only in jumps and runs.
``builtin_suite(noisy=True, seed=s)`` adds seeded estimation noise (:mod:`nmr_gym.suite.noise`).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nmr_gym.errors import UnknownNameError
from nmr_gym.motion import HumanMotion
from nmr_gym.suite import body, gait, noise, upper
from nmr_gym.suite import complex as cplx
from nmr_gym.suite.body import FPS

D = np.deg2rad
#: The tracking environment's default reference: a short straight walk.
DEFAULT_CLIP = "walk_short"

#: Human range-of-motion limits [deg] the suite respects (tested). Total rotation of the
#: joint's local rotation away from the T-pose (rotation-vector norm) unless noted; sources:
#: AAOS "Joint Motion: Method of Measuring and Recording" (1965) / Kapandji, rounded up a little
#: because a composed 3-D rotation is larger than any single anatomical angle.
JOINT_LIMITS_DEG: dict[str, float] = {
    "hip": 125.0,  # flexion 120, abduction 45, extension 30 (hip-direction checks below)
    "knee": 150.0,  # flexion only, about the hinge (x) axis, >= 0 (no hyperextension)
    "ankle": 50.0,  # dorsiflexion 20 + plantar flexion 50 + inversion, as one rotation
    "spine1": 40.0,
    "spine2": 40.0,
    "spine3": 40.0,
    "neck": 45.0,
    "head": 45.0,
    "collar": 30.0,
    "shoulder": 175.0,  # from the T-pose: arm down is 90, overhead is 90
    "elbow": 150.0,  # flexion only, >= 0
    "wrist": 80.0,
}
#: Thigh direction limits in the pelvis frame [deg] (tested): flexion, extension, abduction,
#: adduction of the hip.
HIP_FLEXION_MAX_DEG = 125.0
HIP_EXTENSION_MAX_DEG = 35.0
HIP_ABDUCTION_MAX_DEG = 45.0
HIP_ADDUCTION_MAX_DEG = 30.0

START = (np.zeros(2), 0.0)  # every clip starts at the origin facing +x
DANCE_MOVES = 14  # moves in the long dance routine


@dataclass(frozen=True)
class SuiteClip:
    """One built-in clip; ``motion()`` builds it deterministically (cached)."""

    name: str
    complexity: str  # "ULOM" | "WBPM" | "WBCM"
    length: str  # "short" | "medium" | "long" (frames at the clip's own fps)
    n_frames: int
    description: str
    fps: float = FPS
    noisy: bool = False
    seed: int = 0

    def motion(self) -> HumanMotion:
        """The clip's motion; generated once per process, then handed out as fresh copies (so a
        caller that edits arrays or metadata in place cannot corrupt the cache)."""
        return copy.deepcopy(_motion(self.name, self.noisy, self.seed))

    def contact(self) -> np.ndarray:
        """(n_frames, 2) bool: whether the ball of the left/right foot is planted (clean clip)."""
        return _rig(self.name).contact.copy()


def _seq(*parts: tuple[Callable, int, dict]) -> Callable[[], list[body.Rig]]:
    """Segments built one after another, each starting where the previous one ended."""

    def make() -> list[body.Rig]:
        pos, rigs = START, []
        for fn, n, kw in parts:
            rig = fn(n, pos, **kw)
            rigs.append(rig)
            pos = rig.end
        return rigs

    return make


W, R, T, S = gait.WALK, gait.RUN, gait.TURN, gait.SIDE
L = gait.locomotion
_SPECS: list[tuple[str, str, str, int, str, Callable[[], list[body.Rig]]]] = [
    # name, complexity, length, frames, description, segments
    ("wave_short", "ULOM", "short", 180, "raise the right hand and wave",
     _seq((upper.wave, 180, {}))),
    ("reach_short", "ULOM", "short", 210, "reach forward, overhead, sideways, across",
     _seq((upper.reach, 210, {}))),
    ("arm_circles_medium", "ULOM", "medium", 330, "arm circles forward then backward",
     _seq((upper.arm_circles, 330, {}))),
    ("upper_body_long", "ULOM", "long", 1110,
     "standing: left wave, conversation gestures, reaches, arm circles, right wave",
     _seq((upper.wave, 150, {"side": 0}), (upper.gestures, 330, {"seed": 1}),
          (upper.reach, 210, {}), (upper.arm_circles, 270, {}), (upper.wave, 150, {}))),
    ("walk_short", "WBPM", "short", 210, "straight walk at 1.1 m/s from standing to standing",
     _seq((L, 210, {"gait": W, "speed": 1.1}))),
    ("run_short", "WBPM", "short", 180, "jog at 2.4 m/s with flight phases",
     _seq((L, 180, {"gait": R, "speed": 2.4}))),
    ("turn_in_place_short", "WBPM", "short", 150, "stepping turn on the spot, ~240 deg left",
     _seq((L, 150, {"gait": T, "speed": 0.0, "yaw_rate": D(60)}))),
    ("squat_medium", "WBPM", "medium", 300, "three bodyweight squats",
     _seq((upper.squat, 300, {"reps": 3}))),
    ("walk_medium", "WBPM", "medium", 450, "straight walk at 1.1 m/s",
     _seq((L, 450, {"gait": W, "speed": 1.1}))),
    ("walk_turn_medium", "WBPM", "medium", 420, "walk along a left curve then a right curve",
     _seq((L, 210, {"gait": W, "speed": 1.0, "yaw_rate": 0.45}),
          (L, 210, {"gait": W, "speed": 1.0, "yaw_rate": -0.45}))),
    ("side_step_medium", "WBPM", "medium", 300, "side steps to the left then back right",
     _seq((L, 150, {"gait": S, "speed": 0.0, "lateral": 0.3}),
          (L, 150, {"gait": S, "speed": 0.0, "lateral": -0.3}))),
    ("locomotion_long", "WBPM", "long", 1170, "walk, turn around, run, side step, curved walk",
     _seq((L, 300, {"gait": W, "speed": 1.1}),
          (L, 150, {"gait": T, "speed": 0.0, "yaw_rate": D(75)}),
          (L, 270, {"gait": R, "speed": 2.4}),
          (L, 150, {"gait": S, "speed": 0.0, "lateral": 0.3}),
          (L, 300, {"gait": W, "speed": 1.0, "yaw_rate": -0.35}))),
    ("jumps_short", "WBCM", "short", 160, "two vertical countermovement jumps",
     _seq((cplx.jump, 80, {}), (cplx.jump, 80, {"rise": 0.18}))),
    ("kicks_short", "WBCM", "short", 220, "front kick right, then left",
     _seq((cplx.kick, 110, {"side": 1}), (cplx.kick, 110, {"side": 0}))),
    ("spins_medium", "WBCM", "medium", 290, "pirouette left, jump half-turn, pirouette right",
     _seq((cplx.spin, 100, {"pivot": 0}), (cplx.jump, 90, {"turn": np.pi, "rise": 0.2}),
          (cplx.spin, 100, {"pivot": 1}))),
    ("broad_jumps_medium", "WBCM", "medium", 360,
     "three standing broad jumps and a quarter-turn hop",
     _seq((cplx.jump, 90, {"distance": 0.8, "rise": 0.2}),
          (cplx.jump, 90, {"distance": 0.8, "rise": 0.2}),
          (cplx.jump, 90, {"distance": 0.6, "rise": 0.18}),
          (cplx.jump, 90, {"turn": np.pi / 2, "rise": 0.15}))),
    ("dance_long", "WBCM", "long", cplx.dance_frames(DANCE_MOVES),
     "dance-like routine: side steps with arm waves, spins, hops, kicks",
     lambda: cplx.dance(DANCE_MOVES, START, seed=3)),
]  # fmt: skip


@functools.cache
def _rig(name: str) -> body.Rig:
    return body.concat(_spec(name)[5]())


def _spec(name: str):
    for spec in _SPECS:
        if spec[0] == name:
            return spec
    raise UnknownNameError("built-in clip", name, clip_names())


@functools.lru_cache(maxsize=64)
def _motion(name: str, noisy: bool, seed: int) -> HumanMotion:
    if noisy:
        return noise.add_noise(_motion(name, False, 0), seed=seed)
    spec = _spec(name)
    meta = {"complexity": spec[1], "length": spec[2], "description": spec[4]}
    return body.build(_rig(name), name=name, metadata=meta)


def clip_names() -> list[str]:
    return [s[0] for s in _SPECS]


def _clip(spec, noisy: bool, seed: int) -> SuiteClip:
    name, cx, length, n, desc, _ = spec
    return SuiteClip(name, cx, length, n, desc, noisy=noisy, seed=seed)


def builtin_suite(noisy: bool = False, seed: int = 0) -> list[SuiteClip]:
    """Every built-in clip; ``noisy=True`` adds estimation noise seeded by ``seed``."""
    return [_clip(s, noisy, seed) for s in _SPECS]


def get_clip(name: str, noisy: bool = False, seed: int = 0) -> SuiteClip:
    """One clip by name (:func:`clip_names` lists them); unknown names list the valid ones."""
    return _clip(_spec(name), noisy, seed)


__all__ = [
    "DEFAULT_CLIP",
    "JOINT_LIMITS_DEG",
    "SuiteClip",
    "builtin_suite",
    "clip_names",
    "get_clip",
]
