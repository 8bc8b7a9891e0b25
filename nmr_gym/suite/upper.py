"""Standing motions: upper-body gestures (waves, reaches, arm circles) and the squat.

The feet stay planted at the neutral stance and, except in the squat, the pelvis holds still:
only the trunk, head and arms move. Every segment starts and ends in the neutral pose at rest.
"""

from __future__ import annotations

import numpy as np

from nmr_gym.suite import body as b

D = np.deg2rad
LEFT, RIGHT = 0, 1


def _standing(n: int, start: tuple[np.ndarray, float]) -> tuple[b.Rig, np.ndarray]:
    rig = b.neutral_rig(n, start[0], start[1])
    return rig, np.arange(n) / b.FPS


def _neutral_arm() -> list[float]:
    return [b.NEUTRAL_ABD, 0.0, 0.0, b.NEUTRAL_ELBOW]


def _envelope(t: np.ndarray, t0: float, t1: float, ramp: float) -> np.ndarray:
    """0 before t0, 1 between t0 + ramp and t1 - ramp, 0 after t1 (minimum-jerk ramps)."""
    return b.smoothstep((t - t0) / ramp) * b.smoothstep((t1 - t) / ramp)


def wave(n: int, start: tuple[np.ndarray, float], side: int = RIGHT, hz: float = 1.6) -> b.Rig:
    """Raise one hand beside the head and wave (forearm swinging about the upper arm)."""
    rig, t = _standing(n, start)
    dur = t[-1]
    up = np.array([D(135), D(15), 0.0, D(70)])
    arm = b.keyframes(t, [_neutral_arm(), up, up, _neutral_arm()], [0.0, 0.9, dur - 0.9, dur])
    env = _envelope(t, 0.9, dur - 0.9, 0.4)
    osc = np.sin(2.0 * np.pi * hz * (t - 0.9))
    arm[:, 2] += D(30) * env * osc  # twist: the forearm sweeps side to side
    arm[:, 3] += D(12) * env * osc
    rig.arm[:, side] = arm
    sign = 1.0 if side == RIGHT else -1.0
    rig.spine[:, 1] = sign * D(-5) * b.keyframes(t, [0, 1, 1, 0], [0.0, 0.9, dur - 0.9, dur])
    rig.neck[:, 2] = -sign * D(10) * env
    return rig


def reach(n: int, start: tuple[np.ndarray, float]) -> b.Rig:
    """Both arms reach forward, overhead, out to the sides, and down across the body."""
    rig, t = _standing(n, start)
    na = _neutral_arm()
    poses = [  # (left arm, right arm, spine)
        (na, na, (0, 0, 0)),
        ([D(10), D(90), 0, D(5)], [D(10), D(90), 0, D(5)], (D(12), 0, 0)),
        ([D(20), D(165), 0, D(5)], [D(20), D(165), 0, D(5)], (D(-8), 0, 0)),
        ([D(95), D(5), 0, D(5)], [D(95), D(5), 0, D(5)], (0, 0, 0)),
        ([D(25), D(70), D(-20), D(40)], [D(60), D(120), D(20), D(10)], (D(10), 0, D(25))),
        ([D(60), D(120), D(20), D(10)], [D(25), D(70), D(-20), D(40)], (D(10), 0, D(-25))),
        (na, na, (0, 0, 0)),
    ]
    key_t = np.linspace(0.0, t[-1], len(poses))
    rig.arm[:, LEFT] = b.keyframes(t, [p[0] for p in poses], key_t)
    rig.arm[:, RIGHT] = b.keyframes(t, [p[1] for p in poses], key_t)
    rig.spine[:] = b.keyframes(t, [p[2] for p in poses], key_t)
    rig.neck[:, 0] = -0.4 * rig.spine[:, 0]
    return rig


def arm_circles(n: int, start: tuple[np.ndarray, float], hz: float = 0.8) -> b.Rig:
    """Arms out to the sides drawing circles, forward then backward."""
    rig, t = _standing(n, start)
    dur = t[-1]
    out = np.array([D(85), 0.0, 0.0, D(5)])
    arm = b.keyframes(t, [_neutral_arm(), out, out, _neutral_arm()], [0.0, 1.0, dur - 1.0, dur])
    env = _envelope(t, 1.0, dur - 1.0, 0.8)
    direction = np.cos(np.pi * b.smoothstep((t - 0.5 * dur + 0.6) / 1.2))  # +1 -> -1, smooth
    ang = 2.0 * np.pi * hz * np.concatenate([[0.0], np.cumsum(direction[1:]) / b.FPS])
    amp = D(28) * env
    for s in (LEFT, RIGHT):
        rig.arm[:, s] = arm
        rig.arm[:, s, 0] += amp * np.cos(ang) - amp
        rig.arm[:, s, 1] += amp * np.sin(ang)
    return rig


def gestures(n: int, start: tuple[np.ndarray, float], seed: int = 0) -> b.Rig:
    """Conversation-like gestures: random arm poses held briefly, head turns, trunk twists."""
    rng = np.random.default_rng(seed)
    rig, t = _standing(n, start)
    n_keys = max(3, int(t[-1] / 1.1))
    key_t = np.linspace(0.0, t[-1], n_keys)
    arms = []
    for k in range(n_keys):
        if k in (0, n_keys - 1):
            arms.append([_neutral_arm(), _neutral_arm()])
            continue
        arms.append(
            [
                [rng.uniform(D(5), D(60)), rng.uniform(D(0), D(80)), rng.uniform(D(-30), D(30)),
                 rng.uniform(D(20), D(100))]
                for _ in range(2)
            ]
        )  # fmt: skip
    arms = np.array(arms)  # (K, 2, 4)
    rig.arm[:] = b.keyframes(t, arms, key_t)
    spine = rng.uniform(-1, 1, (n_keys, 3)) * np.array([D(8), D(5), D(15)])
    neck = rng.uniform(-1, 1, (n_keys, 3)) * np.array([D(15), D(8), D(35)])
    spine[[0, -1]] = 0.0
    neck[[0, -1]] = 0.0
    rig.spine[:] = b.keyframes(t, spine, key_t)
    rig.neck[:] = b.keyframes(t, neck, key_t)
    return rig


def squat(n: int, start: tuple[np.ndarray, float], reps: int = 2, depth: float = 0.34) -> b.Rig:
    """Bodyweight squats: hips back and down ~``depth`` [m], trunk forward, arms forward."""
    rig, t = _standing(n, start)
    dur = t[-1]
    key_t = np.linspace(0.3, dur - 0.3, 2 * reps + 1)
    down = (np.arange(2 * reps + 1) % 2).astype(float)  # 0 up, 1 down, 0 up, ...
    keys_t = np.concatenate([[0.0], key_t, [dur]])
    w = b.keyframes(t, np.concatenate([[0.0], down, [0.0]]), keys_t)  # (n,) 0 standing, 1 bottom
    fwd = np.array([np.cos(start[1]), np.sin(start[1])])
    rig.pelvis_xy = rig.pelvis_xy - 0.13 * w[:, None] * fwd
    rig.pelvis_z = rig.pelvis_z - depth * w
    rig.pelvis_rot[:, 0] = D(20) * w
    rig.spine[:, 0] = D(18) * w
    rig.neck[:, 0] = -D(25) * w
    for s in (LEFT, RIGHT):
        rig.arm[:, s, 1] = D(85) * w
        rig.arm[:, s, 0] = b.NEUTRAL_ABD + D(5) * w
    return rig
