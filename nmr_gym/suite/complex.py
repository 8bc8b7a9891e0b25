"""Whole-body complex motions: jumps (with turns), kicks, spins and a dance.

Jumps follow a ballistic pelvis arc (g = 9.81 m/s^2) between a countermovement push-off and a
landing absorption, joined by cubic Hermite pieces so the pelvis velocity is continuous. Kicks
and spins stand on one planted foot; a spin pivots about the ball of that foot (the ball stays
put while the foot turns). Every segment starts and ends in the neutral stance at rest.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicHermiteSpline

from nmr_gym.suite import body as b
from nmr_gym.suite import gait, upper

D = np.deg2rad
G = 9.81  # [m/s^2]
LEFT, RIGHT = 0, 1
PUSH_HEEL_RISE = D(30)  # [rad] heel-up pitch at take-off
LAND_TOE_PITCH = D(15)  # [rad] the ball touches down first


def _yaw_rot(xy: np.ndarray, yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([c * xy[0] - s * xy[1], s * xy[0] + c * xy[1]])


def _swing(
    rig: b.Rig,
    s: int,
    t: np.ndarray,
    t_off: float,
    t_on: float,
    p1: np.ndarray,
    yaw1: float,
    lift: float,
) -> None:
    """The foot leaves its ball position at t_off and lands on p1 (xy) facing yaw1 at t_on.

    Horizontal: minimum jerk; vertical: an early sin-like hump of height ``lift`` [m]
    (:func:`gait.early_bump`); zero velocity at both ends.
    """
    i_off = int(np.searchsorted(t, t_off))
    p0, y0 = rig.ball[i_off, s, :2].copy(), float(rig.foot_yaw[i_off, s])
    u = np.clip((t - t_off) / (t_on - t_off), 0.0, 1.0)
    w = b.smoothstep(u)[:, None]
    after = t >= t_off
    rig.ball[after, s, :2] = (p0 + (np.asarray(p1) - p0) * w)[after]
    rig.ball[after, s, 2] = b.ball_height() + lift * gait.early_bump(u[after])
    rig.foot_yaw[after, s] = (y0 + (yaw1 - y0) * w[:, 0])[after]
    rig.contact[(t > t_off) & (t < t_on), s] = False


def jump(
    n: int,
    start: tuple[np.ndarray, float],
    *,
    rise: float = 0.22,
    distance: float = 0.0,
    turn: float = 0.0,
    tuck: float = 0.12,
) -> b.Rig:
    """A two-footed jump: countermovement, push-off, flight (pelvis up ``rise`` [m], forward
    ``distance`` [m], turning ``turn`` [rad]), landing and recovery."""
    xy0, yaw0 = np.asarray(start[0], float), float(start[1])
    rig = b.neutral_rig(n, xy0, yaw0)
    t = np.arange(n) / b.FPS
    dur = t[-1]
    zs = b.standing_pelvis_height()
    v0 = np.sqrt(2.0 * G * rise)
    t_flight = 2.0 * v0 / G
    t_cm, t_bottom = 0.25, 0.75  # countermovement from, lowest at
    t_to = t_bottom + 0.28
    t_land = t_to + t_flight
    t_absorb, t_rec = t_land + 0.25, t_land + 0.85
    if t_rec > dur - 0.1:
        raise ValueError(f"jump needs at least {int((t_rec + 0.1) * b.FPS) + 1} frames, got {n}")
    z_to = zs + 0.015
    fwd = np.array([np.cos(yaw0), np.sin(yaw0)])
    vx = distance / t_flight

    def hermite(knots):
        kt, kz, kv = (np.array(k, dtype=float) for k in zip(*knots, strict=True))
        return CubicHermiteSpline(kt, kz, kv)

    z_pre = hermite([(0, zs, 0), (t_cm, zs, 0), (t_bottom, zs - 0.24, 0), (t_to, z_to, v0)])
    z_post = hermite([(t_land, z_to, -v0), (t_absorb, zs - 0.2, 0), (t_rec, zs, 0), (dur, zs, 0)])
    tau = t - t_to
    z = np.where(t < t_to, z_pre(np.minimum(t, t_to)),
                 np.where(t <= t_land, z_to + v0 * tau - 0.5 * G * tau**2,
                          z_post(np.maximum(t, t_land))))  # fmt: skip
    # horizontal: hips back in the crouch, forward at vx through the flight
    s_pre = hermite([(0, 0, 0), (t_cm, 0, 0), (t_bottom, -0.08, 0), (t_to, 0.0, vx)])
    s_post = hermite([(t_land, distance, vx), (t_absorb, distance + 0.02, 0),
                      (t_rec, distance, 0), (dur, distance, 0)])  # fmt: skip
    sx = np.where(t < t_to, s_pre(np.minimum(t, t_to)),
                  np.where(t <= t_land, vx * tau, s_post(np.maximum(t, t_land))))  # fmt: skip
    rig.pelvis_xy = xy0 + sx[:, None] * fwd
    rig.pelvis_z = z
    yaw_u = b.smoothstep((t - t_to + 0.05) / (t_flight + 0.1))
    rig.heading = yaw0 + turn * yaw_u

    # feet: heel rise at push-off, tucked flight, ball-first landing
    yaw1 = yaw0 + turn
    xy1 = xy0 + distance * fwd
    for s, side in enumerate(b.SIDES):
        p1 = b.neutral_ball(xy1, yaw1, side)
        _swing(rig, s, t, t_to, t_land, p1[:2], yaw1, rise + tuck)
        rig.foot_pitch[:, s] = b.keyframes(
            t, [0.0, 0.0, PUSH_HEEL_RISE, LAND_TOE_PITCH, 0.0],
            [0.0, t_bottom, t_to, t_land, t_land + 0.15],
        )  # fmt: skip
    # trunk and arms: swing back in the crouch, up at take-off, forward on landing
    kt = [0.0, t_cm, t_bottom, t_to, t_to + 0.5 * t_flight, t_land, t_absorb, t_rec, dur]
    rig.spine[:, 0] = b.keyframes(t, [0, 0, D(35), D(5), D(8), D(15), D(30), 0, 0], kt, rest=False)
    rig.pelvis_rot[:, 0] = b.keyframes(t, [0, 0, D(15), 0, 0, D(5), D(12), 0, 0], kt)
    rig.neck[:, 0] = -0.6 * rig.spine[:, 0]
    arm_keys = [[b.NEUTRAL_ABD, 0, 0, b.NEUTRAL_ELBOW]] * 2 + [
        [D(15), D(-45), 0, D(15)],
        [D(20), D(100), 0, D(15)],
        [D(30), D(140), 0, D(20)],
        [D(25), D(70), 0, D(25)],
        [D(20), D(40), 0, D(30)],
        [b.NEUTRAL_ABD, 0, 0, b.NEUTRAL_ELBOW],
        [b.NEUTRAL_ABD, 0, 0, b.NEUTRAL_ELBOW],
    ]
    arm = b.keyframes(t, arm_keys, kt, rest=False)
    rig.arm[:, LEFT] = arm
    rig.arm[:, RIGHT] = arm
    return rig


def _weight_shift(t: np.ndarray, t0: float, t1: float, ramp: float) -> np.ndarray:
    return b.smoothstep((t - t0) / ramp) * b.smoothstep((t1 - t) / ramp)


def kick(n: int, start: tuple[np.ndarray, float], side: int = RIGHT, height: float = 0.75) -> b.Rig:
    """A front kick: weight onto the other foot, chamber, extend the foot to ``height`` [m]
    (ankle above the floor), retract and step back down."""
    xy0, yaw0 = np.asarray(start[0], float), float(start[1])
    rig = b.neutral_rig(n, xy0, yaw0)
    t = np.arange(n) / b.FPS
    dur = t[-1]
    support = 1 - side
    fwd = np.array([np.cos(yaw0), np.sin(yaw0)])
    sup_ball = rig.ball[0, support, :2]
    shift = _weight_shift(t, 0.2, dur - 0.2, 0.6)  # pelvis over the support foot
    over = sup_ball - b.ball_forward() * fwd
    rig.pelvis_xy = xy0 + (over - xy0) * 0.85 * shift[:, None]
    t_off, t_on = 0.9, dur - 0.9
    kt = np.linspace(t_off, t_on, 5)  # lift, chamber, extended, chamber, down
    home = rig.ball[0, side].copy()
    # kick-foot ball targets: (forward from its home [m], height above the floor [m])
    keys = np.array([[0.0, 0.0], [0.25, 0.45], [0.85, height], [0.25, 0.45], [0.0, 0.0]])
    path = b.keyframes(t, keys, kt)
    rig.ball[:, side, :2] = home[:2] + path[:, :1] * fwd
    rig.ball[:, side, 2] = home[2] + path[:, 1]
    free = b.smoothstep((t - t_off) / 0.3) * b.smoothstep((t_on - t) / 0.3)
    rig.foot_free[:, side] = free
    rig.ankle_plantar[:, side] = D(35) * free
    rig.contact[(t > t_off) & (t < t_on), side] = False
    ext = _weight_shift(t, kt[1], kt[3], kt[2] - kt[1])
    rig.spine[:, 0] = -D(12) * ext  # lean back to balance the leg
    rig.pelvis_rot[:, 0] = -D(10) * ext
    rig.neck[:, 0] = D(10) * ext
    guard = np.array([D(20), D(45), 0.0, D(105)])
    rest = [b.NEUTRAL_ABD, 0, 0, b.NEUTRAL_ELBOW]
    arms = b.keyframes(t, [rest, guard, guard, rest], [0.0, t_off, t_on, dur])
    rig.arm[:, LEFT] = arms
    rig.arm[:, RIGHT] = arms
    return rig


def spin(n: int, start: tuple[np.ndarray, float], turns: float = 1.0, pivot: int = LEFT) -> b.Rig:
    """A pirouette: rise onto the ball of the pivot foot, the other foot drawn up beside the knee,
    turn ``turns`` full turns toward the pivot side, and step back down."""
    xy0, yaw0 = np.asarray(start[0], float), float(start[1])
    rig = b.neutral_rig(n, xy0, yaw0)
    t = np.arange(n) / b.FPS
    dur = t[-1]
    free = 1 - pivot
    direction = 1.0 if pivot == LEFT else -1.0
    total = direction * 2.0 * np.pi * turns
    t_off, t_on = 0.8, dur - 0.7
    t_s0, t_s1 = t_off + 0.35, t_on - 0.3
    spin_u = b.smoothstep((t - t_s0) / (t_s1 - t_s0))
    heading = yaw0 + total * spin_u
    rig.heading = heading
    rig.foot_yaw[:, pivot] = heading
    pivot_ball = rig.ball[0, pivot, :2].copy()
    # pelvis: over the pivot ball (in the body frame), blended in before and out after
    shift = _weight_shift(t, 0.15, dur - 0.15, 0.6)
    off_body = np.array([-b.ball_forward(), -b.SIDE_SIGN[b.SIDES[pivot]] * 0.01])
    over = np.array([pivot_ball + _yaw_rot(off_body, h) for h in heading])
    rel0 = xy0 - pivot_ball  # neutral pelvis relative to the pivot, rotated with the body
    home = np.array([pivot_ball + _yaw_rot(rel0, h - yaw0) for h in heading])
    rig.pelvis_xy = home + (over - home) * shift[:, None]
    rise = _weight_shift(t, t_off - 0.2, t_on + 0.1, 0.4)
    rig.foot_pitch[:, pivot] = D(28) * rise
    rig.pelvis_z = rig.pelvis_z + 0.03 * rise
    # free foot: up beside the pivot knee (passé), turning with the body, then down beside it
    end_xy = b.neutral_ball(rig.pelvis_xy[-1], heading[-1], b.SIDES[free])[:2]
    passe = _weight_shift(t, t_off, t_on, 0.35)
    sw_u = np.clip((t - t_off) / (t_on - t_off), 0, 1)
    start_ball = rig.ball[0, free].copy()
    body_pos = np.array([pivot_ball + _yaw_rot(np.array([0.0, -b.SIDE_SIGN[b.SIDES[pivot]] *
                                                         0.06]), h) for h in heading])  # fmt: skip
    ground = start_ball[:2] + (end_xy - start_ball[:2]) * b.smoothstep(sw_u)[:, None]
    rig.ball[:, free, :2] = ground + (body_pos - ground) * passe[:, None]
    rig.ball[:, free, 2] = b.ball_height() + 0.38 * passe
    rig.foot_yaw[:, free] = heading
    rig.foot_free[:, free] = passe
    rig.ankle_plantar[:, free] = D(40) * passe
    rig.contact[(t > t_off) & (t < t_on), free] = False
    # arms open for the preparation, closed in front during the turn
    na = [b.NEUTRAL_ABD, 0.0, 0.0, b.NEUTRAL_ELBOW]
    open_ = [D(75), D(20), 0.0, D(20)]
    closed = [D(55), D(70), D(-20), D(80)]
    arms = b.keyframes(t, [na, open_, closed, closed, open_, na],
                       [0.0, t_off, t_s0 + 0.1, t_s1 - 0.1, t_on, dur])  # fmt: skip
    rig.arm[:, LEFT] = arms
    rig.arm[:, RIGHT] = arms
    rig.spine[:, 0] = D(-4) * rise
    return rig


#: Frames of each dance move (the routine's length depends only on how many moves it has).
DANCE_MOVES = {"side_left": 120, "spin_left": 90, "hop": 72, "side_right": 120, "kick": 96,
               "spin_right": 90, "wave": 75, "hop_turn": 78}  # fmt: skip


def _dance_moves(n_segments: int) -> list[str]:
    moves = list(DANCE_MOVES)
    return [moves[i % len(moves)] for i in range(n_segments)]


def dance_frames(n_segments: int) -> int:
    """Total frames of :func:`dance` with n_segments moves."""
    return sum(DANCE_MOVES[m] for m in _dance_moves(n_segments))


def dance(n_segments: int, start: tuple[np.ndarray, float], seed: int = 0) -> list[b.Rig]:
    """A dance-like routine: side steps with arm waves and body sways, spins, hops and kicks,
    in a seeded order; returns the segments (to be concatenated)."""
    rng = np.random.default_rng(seed)
    segs: list[b.Rig] = []
    pos = (np.asarray(start[0], float), float(start[1]))
    order = _dance_moves(n_segments)
    rng.shuffle(order)
    for move in order:
        if move in ("side_left", "side_right"):
            lat = 0.3 if move == "side_left" else -0.3
            seg = gait.locomotion(DANCE_MOVES[move], pos, gait.SIDE, speed=0.0, lateral=lat)
            tt = np.arange(seg.n) / b.FPS
            env = b.smoothstep(tt / 0.6) * b.smoothstep((tt[-1] - tt) / 0.6)
            ph = 2.0 * np.pi * 0.8 * tt
            seg.arm[:, LEFT, 0] += D(70) * env * (1 + np.sin(ph)) / 2
            seg.arm[:, RIGHT, 0] += D(70) * env * (1 - np.sin(ph)) / 2
            seg.arm[:, :, 3] += D(40) * env[:, None]
            seg.spine[:, 1] = D(8) * env * np.sin(ph)
        elif move in ("spin_left", "spin_right"):
            seg = spin(
                DANCE_MOVES[move], pos, turns=1.0, pivot=LEFT if move == "spin_left" else RIGHT
            )
        elif move == "hop":
            seg = jump(DANCE_MOVES[move], pos, rise=0.12, tuck=0.08)
        elif move == "hop_turn":
            seg = jump(DANCE_MOVES[move], pos, rise=0.18, turn=np.pi / 2, tuck=0.1)
        elif move == "kick":
            seg = kick(DANCE_MOVES[move], pos, side=int(rng.integers(2)), height=0.72)
        else:
            seg = upper.wave(DANCE_MOVES[move], pos, side=int(rng.integers(2)), hz=2.0)
        segs.append(seg)
        pos = seg.end
    return segs
