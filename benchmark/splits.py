"""The NMR paper's splits: motion complexity (ULOM / WBPM / WBCM) and sequence length.

Complexity (paper, Sec. IV-A): upper-limb-only motion (ULOM, the lower body stationary),
whole-body primitive motion (WBPM: walking, running and similar locomotion, squats) and
whole-body complex motion (WBCM: acrobatics, martial arts, dance, jumps, floor work).

Length: short < 250 frames, medium 250-1000 frames, long > 1000 frames, **counted at the
motion's own frame rate**, as the paper counts its AMASS clips (120 Hz: short < 2.1 s). The
built-in suite is 30 fps, so its short clips are < 8.3 s.

The complexity class is computed from the human motion's joint positions only (any frame rate,
any source that loads onto SMPL's joints) by the ordered rules of :func:`classify`; every
threshold is a named constant below, in units of seconds, metres or body heights, so the rules
do not depend on the frame rate. A suite manifest can override any clip's labels
(``classify(human, override=...)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.ndimage import percentile_filter, uniform_filter1d

from nmr_gym.errors import MotionError
from nmr_gym.motion import HumanMotion

COMPLEXITY_CLASSES = ("ULOM", "WBPM", "WBCM")
LENGTH_CLASSES = ("short", "medium", "long")
#: Length thresholds [frames at the motion's own fps] (paper: < 250, 250-1000, > 1000).
SHORT_MAX_FRAMES = 250  # short: n < 250
LONG_MIN_FRAMES = 1000  # long: n > 1000

# --- thresholds of the complexity rules (see classify) --------------------------------------
#: Positions are averaged over this window [s] before measuring travel, to ignore jitter.
SMOOTH_S = 0.2
#: Heights are averaged over this shorter window [s] (keeps short flights, drops jitter).
HEIGHT_SMOOTH_S = 0.05
#: The floor under the performer: a low percentile (FLOOR_PERCENTILE) of the lowest foot joint
#: within +-FLOOR_WINDOW_S, so sloped or drifting capture floors do not look like jumps, and a
#: short dip (estimation noise sinking the body) does not move it much.
FLOOR_PERCENTILE = 25.0
FLOOR_WINDOW_S = 1.5
#: A frame is airborne when the lowest foot joint is this far [body heights] above the floor.
AIRBORNE_CLEARANCE = 0.05  # ~8.5 cm for a 1.7 m person: jumps, not running flights or tiptoes
#: Rule "jump": an airborne phase longer than this [s]. Running flights last ~0.1 s.
JUMP_AIRBORNE_S = 0.2
#: Rule "inverted": the head more than INVERTED_MARGIN (body heights) below the pelvis in more
#: than INVERTED_PCT % of frames (cartwheels, handstands, rolls; lying flat is not inverted).
INVERTED_MARGIN = 0.10
INVERTED_PCT = 2.0
#: Rule "floor work": a knee, the pelvis or the head within FLOOR_BODY_CLEARANCE (body heights)
#: of the floor in more than FLOOR_WORK_PCT % of frames: kneeling, crawling, sitting or lying on
#: the floor, getting up (a deep squat keeps the knees ~0.3 heights up).
FLOOR_BODY_CLEARANCE = 0.08
FLOOR_WORK_PCT = 5.0
#: Rule "spin": the heading turns more than SPIN_DEG within any SPIN_WINDOW_S seconds
#: (walking turns and stepping on the spot turn < 120 deg/s).
SPIN_DEG = 250.0
SPIN_WINDOW_S = 1.0
#: Rule "kick": an ankle higher than KICK_ANKLE_HEIGHT (body heights) above the floor while
#: the other foot is on the ground (walking swings the ankle < ~0.2 heights up, running heel
#: recovery reaches ~0.35).
KICK_ANKLE_HEIGHT = 0.40
#: Rule "stationary lower body" (ULOM): all of these hold.
ULOM_PELVIS_RANGE = 0.15  # [body heights] pelvis farthest from its median position (horizontal)
ULOM_FOOT_RANGE = 0.08  # [body heights] each ankle farthest from its median position
ULOM_KNEE_RANGE_DEG = 35.0  # [deg] 5th-95th percentile range of each knee's flexion
ULOM_PELVIS_HEIGHT_RANGE = 0.06  # [body heights] 5th-95th percentile range of pelvis height

_NEEDED = ("pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
           "right_ankle", "left_foot", "right_foot", "head")  # fmt: skip


@dataclass
class Classification:
    """Split labels of one motion, the features the rules used, and why."""

    complexity: str
    length: str
    features: dict[str, float] = field(default_factory=dict)
    reason: str = ""  # the rule that decided the complexity (or "override")
    source: str = "rules"  # "rules" or "override"


def length_class(n_frames: int) -> str:
    """'short' (< 250 frames), 'medium' (250-1000) or 'long' (> 1000), at the clip's own fps."""
    n = int(n_frames)
    if n < SHORT_MAX_FRAMES:
        return "short"
    return "long" if n > LONG_MIN_FRAMES else "medium"


def _longest_run(mask: np.ndarray) -> int:
    best = cur = 0
    for m in mask:
        cur = cur + 1 if m else 0
        best = max(best, cur)
    return best


def _knee_flexion_deg(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray) -> np.ndarray:
    a, c = hip - knee, ankle - knee
    cos = np.sum(a * c, -1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(c, axis=-1) + 1e-9)
    return 180.0 - np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def features(human: HumanMotion) -> dict[str, float]:
    """The motion-content features the complexity rules use (lengths in metres, [deg], [%])."""
    try:
        p = {n: human.joint_pos[:, human.index(n)] for n in _NEEDED}
    except KeyError as exc:
        raise MotionError(f"cannot classify: {exc}", human.source) from None
    fps, h = float(human.fps), float(human.height)
    win = max(1, int(round(SMOOTH_S * fps)))
    hwin = max(1, int(round(HEIGHT_SMOOTH_S * fps)))
    z = {k: uniform_filter1d(v[:, 2], hwin, mode="nearest") for k, v in p.items()}
    p = {k: uniform_filter1d(v, win, axis=0, mode="nearest") for k, v in p.items()}
    side_low = np.stack([np.minimum(z["left_ankle"], z["left_foot"]),
                         np.minimum(z["right_ankle"], z["right_foot"])], 1)  # fmt: skip
    low = side_low.min(axis=1)  # (T,) lowest foot joint
    fwin = max(1, int(round(2.0 * FLOOR_WINDOW_S * fps)) + 1)
    floor = percentile_filter(low, FLOOR_PERCENTILE, size=fwin, mode="nearest")
    floor = uniform_filter1d(floor, fwin, mode="nearest")  # (T,)
    airborne = low - floor > AIRBORNE_CLEARANCE * h
    grounded = side_low - floor[:, None] <= AIRBORNE_CLEARANCE * h  # (T, 2)
    ankle_h = np.stack([z["left_ankle"], z["right_ankle"]], 1) - floor[:, None]
    kick = max(
        float(np.max(ankle_h[grounded[:, 1], 0], initial=0.0)),
        float(np.max(ankle_h[grounded[:, 0], 1], initial=0.0)),
    )

    body_low = np.min([z[k] for k in ("left_knee", "right_knee", "pelvis", "head")], axis=0)
    pel = p["pelvis"]
    pelvis_range = float(np.max(np.linalg.norm(pel[:, :2] - np.median(pel[:, :2], 0), axis=1)))
    step = max(1, int(round(0.2 * fps)))
    travel = float(np.sum(np.linalg.norm(np.diff(pel[::step, :2], axis=0), axis=1)))
    foot_range = max(
        float(np.max(np.linalg.norm(p[k][:, :2] - np.median(p[k][:, :2], 0), axis=1)))
        for k in ("left_ankle", "right_ankle")
    )
    knee = [_knee_flexion_deg(p[f"{s}_hip"], p[f"{s}_knee"], p[f"{s}_ankle"])
            for s in ("left", "right")]  # fmt: skip
    knee_range = max(float(np.percentile(k, 95) - np.percentile(k, 5)) for k in knee)
    pz = pel[:, 2]
    across = p["left_hip"] - p["right_hip"]  # body left; facing = left rotated -90 deg
    yaw = np.unwrap(np.arctan2(across[:, 1], across[:, 0]))
    w = max(1, int(round(SPIN_WINDOW_S * fps)))
    spin = (
        float(np.degrees(np.max(np.abs(yaw[w:] - yaw[:-w]), initial=0.0)))
        if len(yaw) > w
        else float(np.degrees(np.abs(yaw[-1] - yaw[0])))
    )

    return {
        "height_m": h,
        "fps": fps,
        "n_frames": float(human.n_frames),
        "pelvis_travel_m": travel,
        "pelvis_range_m": pelvis_range,
        "foot_range_m": foot_range,
        "knee_range_deg": knee_range,
        "pelvis_height_range_m": float(np.percentile(pz, 95) - np.percentile(pz, 5)),
        "airborne_pct": 100.0 * float(airborne.mean()),
        "longest_airborne_s": _longest_run(airborne) / fps,
        "inverted_pct": 100.0 * float(np.mean(z["head"] < z["pelvis"] - INVERTED_MARGIN * h)),
        "floor_work_pct": 100.0 * float(np.mean(body_low - floor < FLOOR_BODY_CLEARANCE * h)),
        "max_turn_deg_per_window": spin,
        "max_kick_ankle_m": kick,
        "total_turn_deg": float(np.degrees(np.sum(np.abs(np.diff(yaw[::step]))))),
    }


def _complexity(f: dict[str, float]) -> tuple[str, str]:
    h = f["height_m"]
    if f["inverted_pct"] > INVERTED_PCT:
        return "WBCM", "inverted"
    if f["floor_work_pct"] > FLOOR_WORK_PCT:
        return "WBCM", "floor work"
    if f["longest_airborne_s"] > JUMP_AIRBORNE_S:
        return "WBCM", "jump"
    if f["max_turn_deg_per_window"] > SPIN_DEG:
        return "WBCM", "spin"
    if f["max_kick_ankle_m"] > KICK_ANKLE_HEIGHT * h:
        return "WBCM", "kick"
    if (
        f["pelvis_range_m"] < ULOM_PELVIS_RANGE * h
        and f["foot_range_m"] < ULOM_FOOT_RANGE * h
        and f["knee_range_deg"] < ULOM_KNEE_RANGE_DEG
        and f["pelvis_height_range_m"] < ULOM_PELVIS_HEIGHT_RANGE * h
    ):
        return "ULOM", "stationary lower body"
    return "WBPM", "whole-body primitive (moving legs, nothing complex)"


def classify(human: HumanMotion, override: str | dict[str, Any] | None = None) -> Classification:
    """Complexity and length labels of a human motion, with the features behind them.

    Rules, first match wins (thresholds are the module constants):
    inverted, floor work, jump (long airborne phase), spin, kick -> WBCM; otherwise a
    stationary lower body (pelvis and feet in place, knees and pelvis height steady) -> ULOM;
    otherwise WBPM. Length: :func:`length_class` of the frame count at the motion's own fps.

    ``override``: a complexity label ("ULOM"/"WBPM"/"WBCM") or a manifest entry
    ``{"complexity": ..., "length": ...}`` (either key optional); overridden labels are
    validated and reported with ``source="override"``.
    """
    f = features(human)
    cx, reason = _complexity(f)
    length = length_class(human.n_frames)
    source = "rules"
    if override is not None:
        ov = {"complexity": override} if isinstance(override, str) else dict(override)
        unknown = set(ov) - {"complexity", "length"}
        if unknown:
            raise MotionError(f"split override has unknown keys {sorted(unknown)}", human.source)
        if ov.get("complexity") is not None:
            if ov["complexity"] not in COMPLEXITY_CLASSES:
                raise MotionError(f"complexity override {ov['complexity']!r} is not one of "
                                  f"{COMPLEXITY_CLASSES}", human.source)  # fmt: skip
            cx, reason, source = ov["complexity"], "override", "override"
        if ov.get("length") is not None:
            if ov["length"] not in LENGTH_CLASSES:
                raise MotionError(f"length override {ov['length']!r} is not one of "
                                  f"{LENGTH_CLASSES}", human.source)  # fmt: skip
            length, source = ov["length"], "override"
    return Classification(cx, length, f, reason, source)


def complexity_class(human: HumanMotion) -> str:
    """'ULOM', 'WBPM' or 'WBCM' by the rules of :func:`classify`."""
    return classify(human).complexity
