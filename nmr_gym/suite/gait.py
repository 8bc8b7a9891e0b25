"""Locomotion: walking, running, turning and side stepping with a real gait cycle.

A gait phase phi (cycles) advances at the cadence; the left foot is planted while
frac(phi) < stance fraction, the right foot half a cycle later. Each planted interval gets one
footprint, placed beside the pelvis path at mid-stance and held fixed (the heel rises about the
ball of the foot late in stance); between footprints the foot swings on a minimum-jerk path with
a sin^2 lift. Segments start and end in a neutral double-support stance (phase frozen), so they
chain with any other segment. Running blends in from a walking stance fraction while speeding up,
so flight phases (both feet off the ground) appear only at running speed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from nmr_gym.suite import body as b


@dataclass(frozen=True)
class Gait:
    """Parameters of a gait; distances [m], angles [rad], rates per second."""

    stance: float  # fraction of the cycle each foot is planted (> 0.5: double support)
    cadence: float  # [cycles/s] (one cycle = two steps)
    swing_height: float  # [m] peak lift of the ball of the foot in swing
    bob: float  # [m] pelvis height oscillation, + highest / - lowest at mid-stance
    drop: float  # [m] pelvis lowered below the standing height while moving
    heel_rise: float  # [rad] heel-up pitch at toe-off
    arm_swing: float  # [rad] amplitude of the arms' forward/backward swing
    elbow: float  # [rad] elbow flexion while moving
    lean: float  # [rad] trunk forward lean
    sway: float  # [m] lateral pelvis sway toward the stance foot
    twist: float  # [rad] pelvis rotation amplitude (counter-rotated by the trunk)
    half_width: float = b.STANCE_HALF_WIDTH  # [m per m of height] footprint offset from the path


#: A walk at ~1.1 m/s: 60 % stance (Perry & Burnfield, Gait Analysis, 2nd ed.), 54 strides/min.
WALK = Gait(0.60, 0.92, 0.09, 0.012, 0.02, np.deg2rad(25), np.deg2rad(18), np.deg2rad(25),
            np.deg2rad(3), 0.02, np.deg2rad(5))  # fmt: skip
#: A jog at ~2.5 m/s: 38 % stance, so both feet are off the ground ~12 % of each cycle.
RUN = Gait(0.38, 1.35, 0.16, -0.025, 0.07, np.deg2rad(30), np.deg2rad(35), np.deg2rad(80),
           np.deg2rad(9), 0.01, np.deg2rad(7))  # fmt: skip
#: Side stepping: slow, wide steps so the feet never cross.
SIDE = replace(WALK, cadence=0.8, half_width=0.085, arm_swing=np.deg2rad(4), twist=0.0, sway=0.0)
#: Turning on the spot: short quick steps.
TURN = replace(WALK, cadence=1.0, half_width=0.06, arm_swing=np.deg2rad(6), twist=0.0)

#: Fraction of the stance at which the ankle passes under the hip. Below 0.5: the foot lands
#: closer under the body and the heel rise lengthens the leg at push-off (the ankle rolls
#: forward over the foot in real gait, Perry & Burnfield's "rockers").
FOOT_UNDER_HIP = 0.35
SWING_PLANTAR = np.deg2rad(10.0)  # [rad] ankle plantar flexion mid-swing
RAMP_S = 0.9  # [s] speed-up from standing and slow-down to standing
PHASE_RAMP_S = 0.5  # [s] the stepping rhythm starts a little faster than the speed


def _ramp(n: int, fps: float, ramp_s: float) -> np.ndarray:
    t = np.arange(n) / fps
    dur = (n - 1) / fps
    ramp_s = min(ramp_s, 0.45 * dur)
    return b.smoothstep(t / ramp_s) * b.smoothstep((dur - t) / ramp_s)


def locomotion(
    n: int,
    start: tuple[np.ndarray, float],
    gait: Gait = WALK,
    *,
    speed: float = 1.1,
    lateral: float = 0.0,
    yaw_rate: float = 0.0,
    fps: float = b.FPS,
    height: float = b.HEIGHT,
) -> b.Rig:
    """A gait segment of n frames: speed [m/s] forward, lateral [m/s] to the left, yaw_rate
    [rad/s] to the left, all reached after :data:`RAMP_S` and back to a standstill at the end."""
    xy0, yaw0 = np.asarray(start[0], dtype=float), float(start[1])
    t = np.arange(n) / fps
    act = _ramp(n, fps, RAMP_S)  # (n,) 0 standing ... 1 full speed
    act_phase = _ramp(n, fps, PHASE_RAMP_S)
    walk = WALK
    beta = walk.stance + (gait.stance - walk.stance) * act  # (n,) stance fraction

    # phase: starts and ends in the middle of a double support, a whole number of steps later
    phi0 = 0.5 * (walk.stance - 0.5)
    steps = max(1, round(2.0 * gait.cadence * np.sum(act_phase) / fps))
    rate = act_phase / np.sum(act_phase) * (0.5 * steps) * fps
    phi = phi0 + np.concatenate([[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) / fps)])

    # pelvis path
    heading = yaw0 + np.concatenate([[0.0], np.cumsum(yaw_rate * 0.5 * (act[1:] + act[:-1]) / fps)])
    fwd = np.column_stack([np.cos(heading), np.sin(heading)])
    left = np.column_stack([-np.sin(heading), np.cos(heading)])
    vel = (speed * fwd + lateral * left) * act[:, None]
    path = xy0 + np.concatenate([[[0.0, 0.0]], np.cumsum(0.5 * (vel[1:] + vel[:-1]) / fps, axis=0)])
    gait_cos = np.cos(2.0 * np.pi * (phi - 0.5 * beta))
    pelvis_xy = path + left * (gait.sway * act * gait_cos)[:, None]
    pelvis_z = (
        b.standing_pelvis_height(height)
        - gait.drop * act
        + gait.bob * act * np.cos(4.0 * np.pi * (phi - 0.5 * beta))
    )

    rig = b.neutral_rig(n, xy0, yaw0, height)
    rig.pelvis_xy, rig.pelvis_z, rig.heading = pelvis_xy, pelvis_z, heading
    swing = np.cos(2.0 * np.pi * phi) * act
    rig.pelvis_rot[:, 2] = -gait.twist * swing
    rig.spine[:, 0] = gait.lean * act
    rig.spine[:, 2] = 0.8 * gait.twist * swing
    rig.neck[:, 0] = -0.5 * gait.lean * act
    for s, sign in enumerate((-1.0, 1.0)):  # left arm back when the left foot is forward
        rig.arm[:, s, 1] = sign * gait.arm_swing * swing
        rig.arm[:, s, 3] = b.NEUTRAL_ELBOW + (gait.elbow - b.NEUTRAL_ELBOW) * act
        rig.arm[:, s, 3] += 0.125 * gait.arm_swing * (act + sign * swing)  # more when forward

    half_width = gait.half_width * height
    for s, side in enumerate(b.SIDES):
        _feet(rig, s, side, phi + 0.5 * s, beta, t, path, heading, gait, act, half_width, height)
    return rig


def _interp_rows(tq: np.ndarray, t: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.column_stack([np.interp(tq, t, values[:, i]) for i in range(values.shape[1])])


def early_bump(u: np.ndarray) -> np.ndarray:
    """u^2 (1-u)^3 scaled to peak 1 at u = 0.4: the foot clears the floor early in swing, as the
    knee flexes, with zero vertical velocity at lift-off and touch-down."""
    u = np.clip(u, 0.0, 1.0)
    return u**2 * (1.0 - u) ** 3 / 0.03456


def _feet(rig, s, side, ph, beta, t, path, heading, gait, act, half_width, height) -> None:
    """Footprints and swing trajectories of one foot (fills the rig in place)."""
    n = len(t)
    cyc = np.floor(ph).astype(int)
    frac = ph - cyc
    stance = frac < beta
    ks = np.arange(cyc[0], cyc[-1] + 2)
    # the ankle passes under the hip at FOOT_UNDER_HIP of the stance (refined once for beta(t))
    t_mid = np.interp(ks + FOOT_UNDER_HIP * beta[0], ph, t)
    t_mid = np.interp(ks + FOOT_UNDER_HIP * np.interp(t_mid, t, beta), ph, t)
    idx = np.clip(np.searchsorted(t, t_mid), 0, n - 1)
    sign = b.SIDE_SIGN[side]
    fx, fy = np.cos(heading[idx]), np.sin(heading[idx])
    offset_fwd, offset_left = b.ball_forward(height), sign * half_width
    prints = np.column_stack(
        [
            path[idx, 0] + offset_fwd * fx - offset_left * fy,
            path[idx, 1] + offset_fwd * fy + offset_left * fx,
            heading[idx],
        ]
    )
    # the stance that holds the first (last) frame keeps the neutral start (end) footprint
    for frame, k in ((0, cyc[0]), (n - 1, cyc[-1])):
        if stance[frame]:
            nb = b.neutral_ball(path[frame], heading[frame], side, height)
            prints[k - ks[0]] = (nb[0], nb[1], heading[frame])
    k0 = cyc - ks[0]
    su = np.where(stance, 0.0, (frac - beta) / np.maximum(1.0 - beta, 1e-9))
    w = b.smoothstep(su)
    a, c = prints[k0], prints[np.minimum(k0 + 1, len(prints) - 1)]
    xy_world = a[:, :2] + (c[:, :2] - a[:, :2]) * w[:, None]
    # mid-swing the foot travels with the body (no overshoot ahead of the hip); blended so the
    # foot still leaves and lands with zero velocity
    t_off = np.interp(cyc + beta, ph, t)
    t_on = np.interp(cyc + 1.0, ph, t)
    rel0 = a[:, :2] - _interp_rows(t_off, t, path)
    rel1 = c[:, :2] - _interp_rows(t_on, t, path)
    xy_body = path + rel0 + (rel1 - rel0) * w[:, None]
    lam = np.where(stance, 0.0, b.bump(su))[:, None]
    xy = (1.0 - lam) * xy_world + lam * xy_body
    yaw = a[:, 2] + (c[:, 2] - a[:, 2]) * w
    lift = np.where(stance, 0.0, gait.swing_height * early_bump(su))
    stance_u = np.where(stance, frac / beta, 1.0)
    pitch = np.where(
        stance,
        b.smoothstep((stance_u - 0.55) / 0.45),
        1.0 - b.smoothstep(su / 0.5),
    ) * (gait.heel_rise * act)
    rig.ball[:, s] = np.column_stack([xy, b.ball_height(height) + lift])
    rig.foot_yaw[:, s] = yaw
    rig.foot_pitch[:, s] = pitch
    rig.contact[:, s] = stance
    # in swing the foot hangs from the shank (ankle near neutral) instead of staying level
    rig.foot_free[:, s] = np.where(stance, 0.0, b.bump(su))
    rig.ankle_plantar[:, s] = SWING_PLANTAR
