"""Inference-time physical clean-up of NMR's output: joint margins and ground contact.

NMR's network predicts the root height and the joint angles; nothing in it knows the floor or
the joint ranges. Cheap, deterministic steps after the release's filter:

1. :func:`clip_to_soft_range`: joints are clipped to the tracking MDP's *soft* range, the middle
   ``spec.SOFT_JOINT_LIMIT_FACTOR`` (0.9) of each joint's range, i.e. 5% of the range inside
   each end. BeyondMimic's MDP penalises a reference motion's joints outside this soft range
   (anchors: soft joint-limit factor 0.9), so a motion meant to be tracked should stay inside it;
   PHUMA likewise clips to 98% of range and gmr-safe keeps 0.06 rad inside. For joints whose
   range is wider than 1 rad the 5% margin is at least 0.05 rad, the benchmark's near-limit
   margin; ankle roll (range 0.52 rad) keeps only 0.026 rad and can still count as near-limit.

2. :func:`ground_root_height`: a vertical root offset per frame, from the one definition of the
   lowest collision point (:func:`nmr_gym.g1.geometry.lowest_point_z`):
   - stance is detected on the *human* (the source of the contacts): a foot joint (SMPL
     ``left_foot`` / ``right_foot``) is in stance when, height-scaled to
     ``REFERENCE_HEIGHT_M`` as the features scale it, it is within :data:`STANCE_HEIGHT_M` of
     the clip's floor (its lowest joint) and slower than :data:`STANCE_SPEED_MPS`;
   - during stance the offset puts the lower stance foot's lowest sole point on z = 0; between
     stance frames it is interpolated linearly (swing, flight), but the robot's lower sole may
     not be higher above the floor than the human's lower foot is above its stance level,
     scaled to the robot (:func:`human_flight_height`, :data:`FLIGHT_SCALE`): where the
     human's stance is missed (a fast foot on the floor, a hop) the robot stays down; a gap
     without stance longer than :data:`MAX_FLIGHT_S` (kneeling, lying, a clip without stance)
     puts the lowest collision point on z = 0 instead;
   - the offset is smoothed with the release's zero-phase 5 Hz Butterworth (no jumps, no lag),
     then raised where needed so that no collision point is below the floor
     (``offset >= -lowest_z``).
   Only root z changes; joints and root xy are untouched, so no joint jump can appear.

3. :func:`lock_stance_feet_xy` (option ``lock_feet``, default on, :data:`LOCK_FEET`): a root
   xy offset that holds each human-stance foot at its mean position over the stance run,
   interpolated between runs and low-passed at :data:`LOCK_CUTOFF_HZ`, so it takes out the
   network's slow root drift, which the pinning would otherwise put into the legs.

4. (option ``pin_feet``) stance feet pinned by leg IK, :mod:`retargeters.nmr.legik`.

5. (option ``resolve_collisions``) self-collisions removed, :mod:`retargeters.nmr.collide`:
   the two legs' (a shin or foot against the other leg) by the hip roll joints, after the
   swing lift and before grounding and locking, which then see the final legs; the arms'
   (forearm, hand, upper arm) by the arm joints only, last, so it sees the final legs, and legs,
   waist and root (so the feet and the ground contact) are left as they are.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np
from scipy import ndimage

from nmr_gym.g1 import spec
from nmr_gym.g1.geometry import collision_geom_poses, collision_geometry, lowest_point_z
from nmr_gym.g1.model import kinematic_model
from nmr_gym.skeleton import SMPL_JOINT_NAMES
from retargeters.nmr import collide, legik
from retargeters.nmr.collide import RESOLVE_COLLISIONS
from retargeters.nmr.features import REFERENCE_HEIGHT_M
from retargeters.nmr.legik import LIFT_SWING, PIN_FEET

#: Joints are clipped to this fraction of their range about its middle: the tracking MDP's soft
#: joint-limit factor (joints outside it are penalised when tracked).
JOINT_RANGE_FACTOR = spec.SOFT_JOINT_LIMIT_FACTOR
#: Every joint is also kept at least this far inside the model's range [rad]: the soft range's
#: 5 % is less than the benchmark's near-limit margin (0.05 rad) on the narrow joints (ankle
#: roll: 0.026 rad of its 0.52 rad range), where a saturated network output then sits at the
#: limit for the metric (on the real-clip suite, up to 22 % of a running clip's frames). 0.06
#: rad is what gmr-safe and the leg IK (``legik.IK_LIMIT_MARGIN_RAD``) keep.
JOINT_LIMIT_MARGIN_RAD = 0.06
#: ``joint_limit_margin`` must be below this [rad] (the G1's narrowest range, ankle roll, spans
#: 0.52 rad).
MAX_MARGIN = 0.2
#: A human foot joint (height-scaled as the features) at most this high above the clip's floor
#: can be in stance [m]. SMPL's foot joint sits a few cm above the sole (medians 0.1-6.6 cm on
#: eight held-out clips), so 0.06 m admits flat-foot and toe stance and rejects a lifted foot.
STANCE_HEIGHT_M = 0.06
#: A human foot joint (height-scaled as the features) slower than this can be in stance
#: [m/s] (3D speed, central differences; the clean-up reads it from the 2 Hz feet below).
STANCE_SPEED_MPS = 0.25
#: A foot in stance stays in stance while slower than this [m/s] (and within STANCE_HEIGHT_M):
#: hysteresis, so a planted foot whose speed wavers about STANCE_SPEED_MPS (input noise, a
#: rolling heel) is one stance run, not several. Chosen on the 84 NMR training clips of the
#: real-clip suite (pinning on, a (0.08 s, 0.06 m) speed-based swing lift,
#: ``legik.LIFT_PER_SPEED_S``): foot skating 0.348 m/s without hysteresis, 0.333 / 0.323 /
#: 0.314 at 0.35 / 0.45 / 0.6 m/s; 0.6 holds a visibly moving foot (toe-off) as stance, which
#: grounding, locking and pinning then hold to the floor. On the held-out clips' noisy
#: variants it lowered the pinned joint deviation 0.0222 -> 0.0206 rad (seed 1): the clean
#: and noisy stance agree more.
STANCE_EXIT_SPEED_MPS = 0.45
#: Short stances (runs): a foot can also enter stance where it is within this height of the
#: floor [m] and its speed, read from the feet low-passed at :data:`SHORT_STANCE_CUTOFF_HZ`,
#: is below :data:`SHORT_STANCE_SPEED_MPS`; the hold then reads the lower of the two speeds.
#: In a run a stance lasts 0.2-0.3 s and the 2 Hz low-pass blends the swing's 5-8 m/s into
#: it, so the 2 Hz speed of a planted foot stays at 0.3-0.6 m/s and the stance was never
#: entered (the held-out run `C13`: 21 % / 17 % of its frames in stance). Used for the leg
#: steps' stance (swing lift, legs' collision step, pinning), not for grounding: there it
#: also raised the float frames of a held-out jump (level 4: 0 -> 2.6 %). The height (0.02 /
#: 0.03 / 0.06 m) and speed (0.35 / 0.45 / 0.6 m/s) moved the skating of the 84 NMR training
#: clips of the real-clip suite by under 0.004 m/s (5 Hz feet).
SHORT_STANCE_HEIGHT_M = 0.03
#: The speed below which a foot that low enters a short stance [m/s] (above).
SHORT_STANCE_SPEED_MPS = 0.45
#: Cutoff [Hz] of the zero-phase low-pass on the (5 Hz) feet whose speed the short-stance
#: entry reads. The trade is noise: on the 84 training clips, foot skating 0.325 m/s without
#: short stances, 0.299 / 0.292 / 0.289 at 3 / 4 Hz / the 5 Hz feet as they are, and the
#: noise deviation (seed 1, scale 1) 0.0257 -> 0.0263 / 0.0268 / 0.0277 rad. 3 Hz keeps most
#: of the skating gain at a quarter of the noise cost.
SHORT_STANCE_CUTOFF_HZ = 3.0
#: Default of the ``short_stance`` option (the short-stance entry above for the leg steps).
SHORT_STANCE = True
#: Cutoff [Hz] of the zero-phase Butterworth low-pass (order :data:`STANCE_FILTER_ORDER`, run
#: forward and backward) on the human's feet before their speed is read for the clean-up's
#: stance (grounding, foot locking, ``lift_swing``, ``pin_feet``). Central differences of
#: per-frame joint jitter are fast even after the output's 5 Hz filter: on the noisy variants of
#: the 29 held-out clips (noise scale 1) the median foot speed was 0.32-0.73 m/s where the clean
#: clip's was 0.03-0.40, so 72 % of the clean stance frames were lost and the leg steps acted on
#: the noise (clean and noisy stance disagreed on 52 % of foot-frames; 6 % at 2 Hz, which keeps
#: 94 % of the clean stance labels; 1.5 Hz: 3.5 % and 90 %, 3 Hz: 20 % and 97 %, so 2 Hz is
#: where the noise stops mattering before the clean labels do).
STANCE_SPEED_CUTOFF_HZ = 2.0
#: Order of that low-pass (each pass).
STANCE_FILTER_ORDER = 2
#: Longest gap between stance frames treated as a flight phase [s] (interpolated across);
#: a longer gap means the human is not on its feet and the lowest point is put on the floor.
#: 1 s is longer than the flight of any human jump (a 1 m rise of the centre of mass: 0.9 s).
MAX_FLIGHT_S = 1.0
#: A human's flight height (at ``REFERENCE_HEIGHT_M``, as the clean-up reads the human) times
#: this is the highest the robot's lower sole may be between stance frames: the G1's standing
#: height over the reference human's (the features' ``REFERENCE_HEIGHT_M``, 1.70 m).
FLIGHT_SCALE = spec.STANDING_HEIGHT_M / REFERENCE_HEIGHT_M
#: The clean-up's floor is this percentile over frames of the human's lowest joint (see
#: :func:`robust_floor_z`).
FLOOR_PERCENTILE = 25.0
#: Default of the ``lock_feet`` option (stance-foot xy locking by the root): on since session 13,
#: with the offset low-passed at :data:`LOCK_CUTOFF_HZ`, so it removes the network's slow root
#: drift (a standing human's feet stay put while the network's integrated root wanders) and
#: leaves its step-by-step root motion alone. The pinning (``pin_feet``) otherwise puts that
#: drift into the legs: on a standing conversation clip pinning alone cost 6.9 mm of MPJPE.
#: Locked at the release's 5 Hz instead, the root followed every step's foot slide: on the
#: 29 held-out clips inverse dynamics then needed 29.9 N / 27.2 N m of residual root force /
#: torque (19.1 N / 15.6 N m without) and joint torques exceeded the G1's limits in 6.1 % of
#: frames (2.6 % without), so it was off from session 6 to 12.
LOCK_FEET = True
#: Cutoff [Hz] of the zero-phase low-pass (order :data:`STANCE_FILTER_ORDER`) of the foot
#: lock's root xy offset: below a step's rate (1-2 Hz), so only drift is corrected. Chosen on
#: 21 training clips of the real-clip suite (every 4th, held-out clips excluded), every other
#: default on. A prototype (3 s filter padding) against no lock: 0.25 Hz MPJPE 0.1016 ->
#: 0.1015 m, root force 40.95 -> 40.88 N, torque-limit frames 8.21 -> 7.96 %, skating 0.3267
#: -> 0.3265 m/s; 0.5 Hz equal within 0.001 on each; 1 Hz W-MPJPE 0.2489 -> 0.2492 m; 5 Hz
#: root force 49.0 N, torque-limit frames 9.80 %, skating 0.3326 m/s. As built: MPJPE 0.1016
#: -> 0.1015 m, root force 40.95 -> 40.89 N, torque-limit frames 8.21 -> 8.18 %, skating
#: 0.3267 -> 0.3268 m/s. The held-out numbers are in the model card ("Session 13").
LOCK_CUTOFF_HZ = 0.25
#: The human foot joints whose contact labels drive the robot's feet (left, right).
HUMAN_FOOT_JOINTS: tuple[str, str] = ("left_foot", "right_foot")
#: Their indices among SMPL's joints.
HUMAN_FOOT_INDEX = np.array([SMPL_JOINT_NAMES.index(n) for n in HUMAN_FOOT_JOINTS])


def soft_range(
    ranges: np.ndarray, factor: float = JOINT_RANGE_FACTOR, margin: float = 0.0
) -> np.ndarray:
    """(29, 2) the middle ``factor`` of each joint range (29, 2) [rad], and at least ``margin``
    [rad] inside each end of the range."""
    if not 0.0 < factor <= 1.0:
        raise ValueError(f"joint range factor must be in (0, 1], got {factor!r}")
    mid = 0.5 * (ranges[:, 0] + ranges[:, 1])
    half = 0.5 * (ranges[:, 1] - ranges[:, 0]) * factor
    out = np.stack([mid - half, mid + half], axis=1)
    if margin > 0.0:
        out = np.stack(
            [
                np.maximum(out[:, 0], ranges[:, 0] + margin),
                np.minimum(out[:, 1], ranges[:, 1] - margin),
            ],
            axis=1,
        )
        if np.any(out[:, 0] > out[:, 1]):
            j = int(np.argmax(out[:, 0] - out[:, 1]))
            raise ValueError(
                f"joint limit margin {margin!r} rad leaves no range for joint {j} "
                f"({spec.JOINT_NAMES[j]}, range {ranges[j, 1] - ranges[j, 0]:.3f} rad)"
            )
    return out


def clip_to_soft_range(
    joint_pos: np.ndarray,
    ranges: np.ndarray,
    factor: float = JOINT_RANGE_FACTOR,
    margin: float = 0.0,
) -> np.ndarray:
    """``joint_pos`` (T, 29) clipped to :func:`soft_range` of ``ranges`` (29, 2)."""
    r = soft_range(ranges, factor, margin)
    return np.clip(joint_pos, r[:, 0], r[:, 1])


@functools.lru_cache(maxsize=1)
def _foot_spheres() -> np.ndarray:
    """(2, S) positions in the collision-geometry order of each foot's sole spheres."""
    model = kinematic_model()
    geo = collision_geometry()
    out = []
    for name in spec.FOOT_BODIES:
        bid = model.body(name).id
        out.append(
            np.flatnonzero(
                (model.geom_bodyid[geo.coll] == bid) & (geo.kind == mujoco.mjtGeom.mjGEOM_SPHERE)
            )
        )
    return np.array(out)


def robust_floor_z(joint_pos: np.ndarray, percentile: float = FLOOR_PERCENTILE) -> float:
    """The floor height [m] the clean-up reads the human's stance against: the ``percentile``-th
    percentile over frames of the lowest of the human's joints ``joint_pos`` (T, J, 3).

    The network's features use the clip's lowest joint (the release's definition). For the
    clean-up a few frames below the floor must not lower it for the whole clip: an estimated
    clip sinks into the floor now and then (the built-in noisy suite's sinking windows: 3-7 cm
    for 0.4-1.2 s, about 6 a minute, i.e. under 15 % of frames), and with the lowest joint as
    the floor every foot then sits too high for stance in the rest of the clip. On the clean
    held-out and built-in clips the 25th percentile is a median 5 mm (at most 6.3 cm,
    a kneeling clip) above the lowest joint; on their noisy variants it cut NMR's
    noise-robustness joint deviation from 0.029 to 0.022 rad.
    """
    if not 0.0 <= percentile <= 100.0:
        raise ValueError(f"floor percentile must be in [0, 100], got {percentile!r}")
    return float(np.percentile(joint_pos[..., 2].min(axis=-1), percentile))


@functools.lru_cache(maxsize=8)
def _stance_sos(fps: float, cutoff_hz: float) -> np.ndarray:
    """Second-order sections of a stance-speed low-pass at ``fps`` (designed once per rate)."""
    from scipy import signal

    return signal.butter(STANCE_FILTER_ORDER, cutoff_hz, fs=fps, output="sos")


def stance_speed_lowpass(
    foot_pos: np.ndarray, fps: float, cutoff_hz: float | None = None
) -> np.ndarray:
    """``foot_pos`` (T, ...) low-passed along axis 0 at ``cutoff_hz`` (None:
    :data:`STANCE_SPEED_CUTOFF_HZ`; zero phase: scipy's ``sosfiltfilt`` with its default
    padding, shortened to fit short clips)."""
    from scipy import signal

    cutoff = STANCE_SPEED_CUTOFF_HZ if cutoff_hz is None else float(cutoff_hz)
    foot_pos = np.asarray(foot_pos, dtype=float)
    n = foot_pos.shape[0]
    if n < 2 or cutoff >= fps / 2:
        return foot_pos.copy()
    sos = _stance_sos(float(fps), cutoff)
    padlen = 3 * (2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum())))
    return signal.sosfiltfilt(sos, foot_pos, axis=0, padlen=min(padlen, n - 1))


def human_stance(
    foot_pos: np.ndarray,
    floor_z: float,
    fps: float,
    speed_pos: np.ndarray | None = None,
    short_pos: np.ndarray | None = None,
) -> np.ndarray:
    """(T, 2) bool stance of the human's two foot joints ``foot_pos`` (T, 2, 3) [m, height-scaled].

    Stance: within :data:`STANCE_HEIGHT_M` of ``floor_z`` and slower than
    :data:`STANCE_SPEED_MPS` (central differences at ``fps``), and then every frame of that run
    while the foot stays that low and slower than :data:`STANCE_EXIT_SPEED_MPS` (hysteresis;
    a run that never drops below STANCE_SPEED_MPS is not stance). ``speed_pos`` (T, 2, 3): the
    positions whose speed is read (None: ``foot_pos``; the clean-up passes
    :func:`stance_speed_lowpass` of the feet). ``short_pos`` (T, 2, 3), short stances: a foot
    within :data:`SHORT_STANCE_HEIGHT_M` of the floor whose ``short_pos`` speed is below
    :data:`SHORT_STANCE_SPEED_MPS` also enters, and the hold reads the lower of the two speeds
    (None: no short stances).
    """
    if foot_pos.shape[0] < 2:
        return np.zeros(foot_pos.shape[:2], bool)
    moving = foot_pos if speed_pos is None else speed_pos
    speed = np.linalg.norm(np.gradient(moving, 1.0 / fps, axis=0), axis=-1)  # (T, 2)
    height = foot_pos[..., 2] - floor_z  # (T, 2)
    low = height < STANCE_HEIGHT_M
    enter = low & (speed < STANCE_SPEED_MPS)  # (T, 2)
    if short_pos is not None:
        fast = np.linalg.norm(np.gradient(short_pos, 1.0 / fps, axis=0), axis=-1)  # (T, 2)
        enter |= (height < SHORT_STANCE_HEIGHT_M) & (fast < SHORT_STANCE_SPEED_MPS)
        speed = np.minimum(speed, fast)
    elif STANCE_EXIT_SPEED_MPS <= STANCE_SPEED_MPS:
        return enter
    hold = enter | (low & (speed < STANCE_EXIT_SPEED_MPS))  # (T, 2), a superset of enter
    out = np.zeros_like(enter)
    for f in range(2):
        # the runs of `hold` that contain an `enter` frame (label 0: outside every run)
        runs, n = ndimage.label(hold[:, f])
        keep = np.zeros(n + 1, bool)
        keep[runs[enter[:, f]]] = True
        keep[0] = False
        out[:, f] = keep[runs]
    return out


def human_flight_height(foot_pos: np.ndarray, floor_z: float, stance: np.ndarray) -> np.ndarray:
    """(T,) how high [m] the human's lower foot is above its stance level (about 0 in stance).

    ``foot_pos`` (T, 2, 3): the human's foot joints, height-scaled as the features [m];
    ``floor_z`` the clip's floor [m]; ``stance`` (T, 2) bool (:func:`human_stance`). A foot
    joint sits a few cm above the sole, so each foot's stance level is its median height over
    its stance frames (a foot never in stance takes the other's; with no stance at all, the
    floor).
    """
    height = foot_pos[..., 2] - floor_z  # (T, 2)
    level = np.zeros(2)
    for f in range(2):
        src = f if stance[:, f].any() else 1 - f
        if stance[:, src].any():
            level[f] = np.median(height[stance[:, src], src])
    return np.maximum(height - level, 0.0).min(axis=1)


def ground_root_height(
    qpos: np.ndarray,
    stance: np.ndarray,
    fps: float,
    smooth=None,
    poses=None,
    flight_height: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Root z offset (T,) [m] and the corrected lowest collision point (T,) [m].

    Args:
        qpos: (T, 36) robot poses (root position, wxyz quaternion, 29 joints).
        stance: (T, 2) bool, left/right foot in stance (e.g. :func:`human_stance`).
        fps: frame rate of ``qpos`` [Hz] (for :data:`MAX_FLIGHT_S`).
        smooth: a zero-phase smoother of a (T, ...) series (None: no smoothing).
        poses: :func:`nmr_gym.g1.geometry.collision_geom_poses` of ``qpos`` when already
            computed (one kinematic pass shared with :func:`lock_stance_feet_xy`).
        flight_height: (T,) the highest [m] the robot's lower sole may be above the floor
            between stance frames (None: no ceiling); the clean-up passes the human's
            :func:`human_flight_height` times :data:`FLIGHT_SCALE`. The interpolated offset
            is lowered to it (before smoothing) in gaps up to :data:`MAX_FLIGHT_S`.
    """
    pos, zrow = collision_geom_poses(qpos) if poses is None else poses  # (T, G, 3) each
    low = lowest_point_z(pos, zrow)  # (T,)
    spheres = _foot_spheres()  # (2, S)
    radius = collision_geometry().size[spheres, 0]  # (2, S)
    foot_low = (pos[:, spheres, 2] - radius).min(axis=-1)  # (T, 2)
    stance_low = np.where(stance, foot_low, np.inf).min(axis=1)  # (T,)
    on = np.isfinite(stance_low)
    n = qpos.shape[0]
    t = np.arange(n)
    offset = np.interp(t, t[on], -stance_low[on]) if on.any() else np.zeros(n)
    if flight_height is not None and on.any():
        # the robot's lower sole no higher than the human's (scaled) flight
        ceiling = flight_height - foot_low.min(axis=1)  # (T,)
        offset[~on] = np.minimum(offset[~on], ceiling[~on])
    # a gap without foot stance longer than any flight: the human is not on its feet
    # (kneeling, lying); the lowest collision point goes on the floor instead
    max_gap = int(round(MAX_FLIGHT_S * fps))
    edges = np.flatnonzero(np.diff(np.concatenate([[0], (~on).astype(int), [0]])))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a > max_gap:
            offset[a:b] = -low[a:b]
    if smooth is not None:
        offset = smooth(offset)
    offset = np.maximum(offset, -low)
    return offset, low + offset


def raise_above_floor(
    qpos: np.ndarray, smooth=None, frames: np.ndarray | None = None
) -> np.ndarray:
    """Root z offset (T,) >= 0 [m] that lifts every collision point of ``qpos`` (T, 36) to the
    floor or above: the depth of the lowest point below z = 0, smoothed by ``smooth`` (None:
    none) and then raised again where the smoothing lowered it below the depth. ``frames``:
    only these frames are measured (the others are known to be clear of the floor).

    The grounding step guarantees this for its own pose; the steps after it move limbs: the
    stance-foot pinning (``pin_feet``) can put a blended-in foot or its toe below the floor,
    the collision step (``resolve_collisions``) a hand (a clip of a fall).
    """
    depth = np.zeros(len(qpos))
    at = np.arange(len(qpos)) if frames is None else np.asarray(frames, dtype=int)
    if len(at):
        depth[at] = np.maximum(-lowest_point_z(*collision_geom_poses(qpos[at])), 0.0)
    if not depth.any():
        return depth
    lift = np.maximum(smooth(depth), 0.0) if smooth is not None else depth
    return np.maximum(lift, depth)


def lock_stance_feet_xy(
    qpos: np.ndarray, stance: np.ndarray, smooth=None, poses=None
) -> np.ndarray:
    """Root xy offset (T, 2) [m] that holds each stance foot still on the floor.

    For each run of consecutive stance frames of a foot, the foot (centre of its sole spheres)
    is held at its mean xy over the run: the offset in the run is ``mean - foot_xy(t)``, so the
    correction is zero on average and never accumulates. Where both feet are in stance the two
    offsets are averaged; between runs the offset is interpolated linearly, then smoothed
    (``smooth``). Only the root translates: joints, and so joint jumps, are unchanged.
    """
    pos, _ = collision_geom_poses(qpos) if poses is None else poses
    foot_xy = pos[:, _foot_spheres(), :2].mean(axis=2)  # (T, 2, 2)
    n = qpos.shape[0]
    total = np.zeros((n, 2))
    count = np.zeros(n)
    for f in range(2):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], stance[:, f].astype(int), [0]])))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            total[a:b] += foot_xy[a:b, f].mean(axis=0) - foot_xy[a:b, f]
            count[a:b] += 1
    on = count > 0
    if not on.any():
        return np.zeros((n, 2))
    t = np.arange(n)
    mean = total[on] / count[on, None]
    offset = np.stack([np.interp(t, t[on], mean[:, k]) for k in range(2)], axis=1)
    return smooth(offset) if smooth is not None else offset


def _check_flag(name: str, value: Any) -> bool:
    """A boolean option; anything but True/False (numpy bools included) raises ValueError."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


@dataclass(frozen=True)
class CleanUp:
    """The options of :func:`clean_up`, validated once; the defaults are the shipped pipeline.

    ``joint_range_factor``: joints clipped to this middle fraction of each range (1.0: the
    model's range); ``ground``: root height on the human's stance, nothing below the floor;
    ``lock_feet``: root xy holding stance feet; ``pin_feet``: stance feet held by leg IK;
    ``lift_swing``: swing feet lifted to the human's clearance by leg IK;
    ``resolve_collisions``: arms moved out of self-collision by the arm joints, the two legs
    apart by the hip roll joints;
    ``joint_limit_margin`` [rad]: every joint at least this far inside the model's range;
    ``short_stance``: the leg steps' stance also enters short (running) stances
    (:data:`SHORT_STANCE_HEIGHT_M`). :meth:`release` is NMR as released (every step off).
    """

    joint_range_factor: float = JOINT_RANGE_FACTOR
    ground: bool = True
    lock_feet: bool = LOCK_FEET
    pin_feet: bool = PIN_FEET
    lift_swing: bool = LIFT_SWING
    resolve_collisions: bool = RESOLVE_COLLISIONS
    joint_limit_margin: float = JOINT_LIMIT_MARGIN_RAD
    short_stance: bool = SHORT_STANCE

    def __post_init__(self) -> None:
        f = self.joint_range_factor
        if not (isinstance(f, int | float | np.floating) and np.isfinite(f) and 0.0 < f <= 1.0):
            raise ValueError(f"joint_range_factor must be in (0, 1], got {f!r}")
        object.__setattr__(self, "joint_range_factor", float(f))
        for name in (
            "ground",
            "lock_feet",
            "pin_feet",
            "lift_swing",
            "resolve_collisions",
            "short_stance",
        ):
            object.__setattr__(self, name, _check_flag(name, getattr(self, name)))
        m = self.joint_limit_margin
        if not (
            isinstance(m, int | float | np.floating) and np.isfinite(m) and 0.0 <= m < MAX_MARGIN
        ):
            raise ValueError(f"joint_limit_margin must be in [0, {MAX_MARGIN}) rad, got {m!r}")
        object.__setattr__(self, "joint_limit_margin", float(m))

    @classmethod
    def release(cls) -> CleanUp:
        """No clean-up: the NMR release's output (the model's full joint range)."""
        return cls(1.0, False, False, False, False, False, 0.0, False)


#: The shipped pipeline's clean-up (every default).
SHIPPED_CLEAN_UP = CleanUp()


def clean_up(
    root_pos: np.ndarray,
    root_quat: np.ndarray,
    joint_pos: np.ndarray,
    human_foot_pos: np.ndarray,
    human_floor_z: float,
    fps: float,
    ranges: np.ndarray,
    options: CleanUp = SHIPPED_CLEAN_UP,
    *,
    smooth=None,
    lift_floor_z: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Every clean-up step in order; returns the new root position (T, 3) and joints (T, 29).

    Args:
        root_pos: (T, 3) [m]; root_quat: (T, 4) wxyz; joint_pos: (T, 29) [rad] at ``fps``.
        human_foot_pos: (T, 2, 3) the human's foot joints, height-scaled as the features [m].
        human_floor_z: the human clip's floor (its lowest joint), height-scaled [m].
        lift_floor_z: the floor the swing lift reads the human's feet against (None:
            ``human_floor_z``); the NMR pipeline passes :func:`robust_floor_z`.
        fps: frame rate of every series [Hz].
        ranges: (29, 2) the model's joint ranges [rad].
        options: which steps run (:class:`CleanUp`).
        smooth: the zero-phase smoother of the root offsets (None: none).

    Order: joints clipped to the soft range; swing feet lifted to the human's clearance by leg
    IK (``lift_swing``, :func:`retargeters.nmr.legik.lift_swing_feet`; measured between the
    feet, so before grounding); the legs' self-collisions removed by the hip roll joints
    (``resolve_collisions``, :func:`retargeters.nmr.collide.resolve_leg_collisions`, with the
    human's stance); one ``mj_kinematics`` pass; root z grounded (``ground``) and
    root xy shifted (``lock_feet``); stance feet pinned by leg IK (``pin_feet``,
    :mod:`retargeters.nmr.legik`), the root then raised where a pinned leg went below the floor
    (:func:`raise_above_floor`, with ``ground``); arm self-collisions removed by
    the arm joints (``resolve_collisions``, :mod:`retargeters.nmr.collide`), last, so it sees
    the final legs, the root then raised where a moved arm went below the floor (with
    ``ground``).
    Root rotation is never changed.
    """
    o = options
    joint_pos = clip_to_soft_range(joint_pos, ranges, o.joint_range_factor, o.joint_limit_margin)
    root_pos = np.array(root_pos, dtype=float, copy=True)
    bounds = soft_range(ranges, o.joint_range_factor, o.joint_limit_margin)
    if o.lift_swing or o.pin_feet or o.resolve_collisions or o.lock_feet:
        # the lift and the pinning change joints, so they read the human's stance from the
        # low-passed feet over the robust floor: the jitter of an estimated clip flips raw
        # stance flags frame by frame (noise-robustness joint deviation on the held-out clips:
        # lift 0.022 -> 0.020 rad). The lock reads it too: it holds the feet the pinning
        # holds, and with the raw stance the noisy suite's jitter moved its root (21 training
        # real clips, noise seed 1: joint deviation 0.0240 rad with the raw stance, 0.0235
        # with this one and without the lock). Grounding, which moves the root height only,
        # reads the raw feet's height. Every stance reads speed from the 2 Hz feet
        # (stance_speed_lowpass): with central differences of the 5 Hz feet a noisy clip
        # lost 72 % of its stance frames (STANCE_SPEED_CUTOFF_HZ)
        feet = smooth(human_foot_pos) if smooth is not None else human_foot_pos
        floor = human_floor_z if lift_floor_z is None else lift_floor_z
        feet_2hz = stance_speed_lowpass(feet, fps)
        short = stance_speed_lowpass(feet, fps, SHORT_STANCE_CUTOFF_HZ) if o.short_stance else None
        smooth_stance = human_stance(feet, floor, fps, feet_2hz, short)
    if o.lift_swing:
        clearance = legik.human_swing_clearance(feet, floor, smooth_stance)
        clearance = legik.speed_clearance(clearance, feet_2hz, fps, smooth_stance)
        joint_pos = legik.lift_swing_feet(
            root_pos, root_quat, joint_pos, smooth_stance, clearance, bounds, smooth
        )
    if o.resolve_collisions:
        # the legs apart (hip roll) before grounding and locking, which then see the
        # final legs: locking holds a stance foot the spread moved
        joint_pos = collide.resolve_leg_collisions(
            joint_pos, fps, bounds, smooth, stance=smooth_stance
        )
    if o.ground or o.lock_feet:
        qpos = np.concatenate([root_pos, root_quat, joint_pos], axis=1)
        poses = collision_geom_poses(qpos)
        if o.ground:
            stance = human_stance(
                human_foot_pos, human_floor_z, fps, stance_speed_lowpass(human_foot_pos, fps)
            )
            flight = FLIGHT_SCALE * human_flight_height(human_foot_pos, human_floor_z, stance)
            root_pos[:, 2] += ground_root_height(qpos, stance, fps, smooth, poses, flight)[0]
        if o.lock_feet:
            # the lock's own drift low-pass (part of the step's definition, so also without
            # the output filter), not the 5 Hz smoother
            drift = functools.partial(stance_speed_lowpass, fps=fps, cutoff_hz=LOCK_CUTOFF_HZ)
            root_pos[:, :2] += lock_stance_feet_xy(qpos, smooth_stance, drift, poses)
    if o.pin_feet:
        pinned = legik.pin_stance_feet(
            root_pos, root_quat, joint_pos, smooth_stance, fps, bounds, smooth
        )
        if o.ground:
            # only the frames the pinning changed: grounding left the others above the floor
            moved = np.flatnonzero(np.any(pinned != joint_pos, axis=1))
            qpos = np.concatenate([root_pos, root_quat, pinned], axis=1)
            root_pos[:, 2] += raise_above_floor(qpos, smooth, moved)
        joint_pos = pinned
    if o.resolve_collisions:
        moved_all = joint_pos
        if o.pin_feet:
            # pinning moved the stance legs: their contacts again (a no-op where none is left;
            # real-clip suite with pinning: legs in contact on 3 more clips without this)
            moved_all = collide.resolve_leg_collisions(
                joint_pos, fps, bounds, smooth, stance=smooth_stance
            )
        moved_all = collide.resolve_arm_collisions(moved_all, fps, bounds, smooth)
        if o.ground:
            moved = np.flatnonzero(np.any(moved_all != joint_pos, axis=1))
            qpos = np.concatenate([root_pos, root_quat, moved_all], axis=1)
            root_pos[:, 2] += raise_above_floor(qpos, smooth, moved)
        joint_pos = moved_all
    return root_pos, joint_pos
