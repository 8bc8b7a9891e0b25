"""NMR's inference-time clean-up: soft joint range, human stance, grounded root height."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _helpers import write_tiny_nmr_checkpoint

import retargeters
from nmr_gym.g1 import joint_ranges, kinematic_model, spec
from nmr_gym.g1.geometry import lowest_point_z_of_qpos
from nmr_gym.suite import get_clip
from retargeters.nmr import inference, post
from retargeters.nmr.features import NMR_FPS

RANGES = joint_ranges(kinematic_model())  # (29, 2)


def _stand(n: int, z_shift: np.ndarray | float = 0.0) -> np.ndarray:
    """(n, 36) the stand keyframe, feet on the floor, root z shifted by ``z_shift`` [m]."""
    q = np.zeros((n, 36))
    q[:, 2] = spec.STAND_ROOT_HEIGHT
    q[:, 3] = 1.0
    q[:, 7:] = spec.STAND_JOINT_POS
    q[:, 2] -= lowest_point_z_of_qpos(q[:1])[0]  # lowest point exactly on z = 0
    q[:, 2] += z_shift
    return q


# ---------------------------------------------------------------- joint range
def test_soft_range_keeps_every_joint_five_percent_of_its_range_inside():
    hi_out = np.tile(RANGES[:, 1] + 0.3, (3, 1))
    lo_out = np.tile(RANGES[:, 0] - 0.3, (3, 1))
    margin = 0.5 * (1 - post.JOINT_RANGE_FACTOR) * (RANGES[:, 1] - RANGES[:, 0])
    np.testing.assert_allclose(post.clip_to_soft_range(hi_out, RANGES)[0], RANGES[:, 1] - margin)
    np.testing.assert_allclose(post.clip_to_soft_range(lo_out, RANGES)[0], RANGES[:, 0] + margin)
    # a joint already inside is untouched; factor 1 is the model's range
    mid = RANGES.mean(axis=1)[None]
    np.testing.assert_array_equal(post.clip_to_soft_range(mid, RANGES), mid)
    np.testing.assert_allclose(post.clip_to_soft_range(hi_out, RANGES, 1.0)[0], RANGES[:, 1])
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        post.soft_range(RANGES, 0.0)


def test_soft_margin_clears_the_benchmark_near_limit_margin_on_wide_joints():
    from benchmark.metrics import LIMIT_MARGIN_RAD

    margin = 0.5 * (1 - post.JOINT_RANGE_FACTOR) * (RANGES[:, 1] - RANGES[:, 0])
    wide = RANGES[:, 1] - RANGES[:, 0] > 1.0 + 1e-9
    assert np.all(margin[wide] > LIMIT_MARGIN_RAD)
    assert not np.all(margin > LIMIT_MARGIN_RAD)  # the narrow joints need the limit margin


def test_limit_margin_keeps_every_joint_clear_of_the_benchmark_margin():
    from benchmark.metrics import LIMIT_MARGIN_RAD

    m = post.JOINT_LIMIT_MARGIN_RAD
    r = post.soft_range(RANGES, post.JOINT_RANGE_FACTOR, m)
    assert np.all(r[:, 0] >= RANGES[:, 0] + m - 1e-12) and np.all(
        r[:, 1] <= RANGES[:, 1] - m + 1e-12
    )
    assert np.all(r[:, 0] - RANGES[:, 0] > LIMIT_MARGIN_RAD)
    # the wide joints keep the soft range (their 5 % is more than the margin)
    wide = 0.5 * (1 - post.JOINT_RANGE_FACTOR) * (RANGES[:, 1] - RANGES[:, 0]) >= m
    np.testing.assert_array_equal(r[wide], post.soft_range(RANGES)[wide])
    ankle = spec.JOINT_NAMES.index("left_ankle_roll_joint")
    assert not wide[ankle]
    out = post.clip_to_soft_range(np.tile(RANGES[:, 1] + 1.0, (2, 1)), RANGES, margin=m)
    np.testing.assert_allclose(out[0, ankle], RANGES[ankle, 1] - m)
    with pytest.raises(ValueError, match="ankle_roll"):
        post.soft_range(RANGES, 1.0, 0.3)
    with pytest.raises(ValueError, match="joint_limit_margin"):
        post.CleanUp(joint_limit_margin=-0.01)


# ---------------------------------------------------------------- stance
def test_robust_floor_ignores_a_short_sinking_window():
    n = 200
    joints = np.zeros((n, 3, 3))
    joints[:, :, 2] = [0.05, 0.5, 1.0]  # lowest joint 5 cm up all clip long
    assert post.robust_floor_z(joints) == pytest.approx(0.05)
    joints[20:40, :, 2] -= 0.07  # 10 % of the frames sink 7 cm into the floor
    assert post.robust_floor_z(joints) == pytest.approx(0.05)
    assert post.robust_floor_z(joints, percentile=0.0) == pytest.approx(-0.02)  # the minimum
    with pytest.raises(ValueError, match="percentile"):
        post.robust_floor_z(joints, percentile=120.0)


def test_human_stance_needs_low_and_slow():
    n = 30
    foot = np.zeros((n, 2, 3))
    foot[:, 0, 2] = 0.03  # left: planted
    foot[:, 1, 0] = np.arange(n) * 1.0 / NMR_FPS  # right: low but sliding at 1 m/s
    st = post.human_stance(foot, 0.0, NMR_FPS)
    assert st[:, 0].all() and not st[:, 1].any()
    foot[:, 0, 2] = 0.03 + post.STANCE_HEIGHT_M  # lifted above the stance band
    assert not post.human_stance(foot, 0.0, NMR_FPS)[:, 0].any()


def test_stance_speed_from_the_low_passed_feet_ignores_jitter_but_not_a_slide(monkeypatch):
    rng = np.random.default_rng(0)
    n = 90
    foot = np.zeros((n, 2, 3))
    foot[:, :, 2] = 0.03
    foot[:, 1, 0] = np.arange(n) * 0.5 / NMR_FPS  # right: sliding at 0.5 m/s
    noisy = foot + rng.normal(0.0, 0.01, foot.shape)  # 1 cm of per-frame jitter
    robust = post.human_stance(noisy, 0.0, NMR_FPS, post.stance_speed_lowpass(noisy, NMR_FPS))
    assert robust[:, 0].all() and not robust[:, 1].any()
    hysteresis = post.human_stance(noisy, 0.0, NMR_FPS)
    monkeypatch.setattr(post, "STANCE_EXIT_SPEED_MPS", post.STANCE_SPEED_MPS)
    raw = post.human_stance(noisy, 0.0, NMR_FPS)
    assert raw[:, 0].mean() < 0.5  # central differences of the jitter: "moving" most frames
    assert raw[:, 0].mean() < hysteresis[:, 0].mean() < 1.0  # hysteresis alone: part of it
    # scipy's zero-phase filter as designed (STANCE_SPEED_CUTOFF_HZ, STANCE_FILTER_ORDER)
    from scipy import signal

    sos = signal.butter(post.STANCE_FILTER_ORDER, post.STANCE_SPEED_CUTOFF_HZ, fs=NMR_FPS,
                        output="sos")  # fmt: skip
    np.testing.assert_array_equal(post.stance_speed_lowpass(noisy, NMR_FPS),
                                  signal.sosfiltfilt(sos, noisy, axis=0))  # fmt: skip
    # short clips pass through (no filter padding to fit) and a planted foot stays planted
    short = post.stance_speed_lowpass(foot[:3], NMR_FPS)
    assert short.shape == (3, 2, 3) and np.isfinite(short).all()
    np.testing.assert_allclose(
        post.stance_speed_lowpass(foot, NMR_FPS)[:, 0], foot[:, 0], atol=1e-9
    )


# ---------------------------------------------------------------- ground
@pytest.mark.parametrize("shift", [-0.03, 0.05])
def test_stance_feet_are_put_on_the_floor(shift):
    q = _stand(40, shift)
    stance = np.ones((40, 2), bool)
    offset, low = post.ground_root_height(q, stance, NMR_FPS, inference.lowpass)
    np.testing.assert_allclose(offset, -shift, atol=1e-6)
    np.testing.assert_allclose(low, 0.0, atol=1e-6)
    q[:, 2] += offset
    np.testing.assert_allclose(lowest_point_z_of_qpos(q), 0.0, atol=1e-6)


def test_nothing_below_the_floor_without_stance_and_short_flight_is_kept():
    n = int(post.MAX_FLIGHT_S * NMR_FPS)  # no stance, but no longer than a flight
    shift = np.where(np.arange(n) < n // 2, -0.04, 0.08)  # penetrating, then flying
    q = _stand(n, shift)
    offset, low = post.ground_root_height(q, np.zeros((n, 2), bool), NMR_FPS, inference.lowpass)
    np.testing.assert_allclose(offset[: n // 2], 0.04, atol=1e-9)  # lifted exactly to the floor
    np.testing.assert_allclose(offset[n // 2 :], 0.0, atol=1e-12)  # flight is not pulled down
    assert low.min() >= -1e-9


def test_a_long_gap_without_stance_puts_the_lowest_point_on_the_floor():
    n = 4 * int(post.MAX_FLIGHT_S * NMR_FPS)
    # on the floor in stance, then 8 cm up for 3 s without stance: kneeling or lying, not a
    # flight (interpolating from the stance frames would leave it hovering)
    q = _stand(n, np.where(np.arange(n) < 5, 0.0, 0.08))
    stance = np.zeros((n, 2), bool)
    stance[:5] = True
    offset, low = post.ground_root_height(q, stance, NMR_FPS, inference.lowpass)
    np.testing.assert_allclose(low[n // 4 :], 0.0, atol=1e-3)
    assert low.min() >= -1e-9


def test_offset_between_stance_phases_is_smooth():
    n = 90
    shift = np.linspace(-0.03, 0.03, n)  # the root height error drifts by 6 cm
    q = _stand(n, shift)
    stance = np.zeros((n, 2), bool)
    stance[:30] = stance[60:] = True  # a flight phase in between
    offset, low = post.ground_root_height(q, stance, NMR_FPS, inference.lowpass)
    assert np.abs(np.diff(offset)).max() < 0.005  # no steps in the correction
    assert low.min() >= -1e-9
    np.testing.assert_allclose(low[5:25], 0.0, atol=2e-3)
    np.testing.assert_allclose(low[-25:-5], 0.0, atol=2e-3)


def test_flight_height_is_the_lower_foot_above_its_stance_level():
    n = 10
    foot = np.zeros((n, 2, 3))
    foot[:, :, 2] = 0.04  # both foot joints 4 cm up in stance (the joint sits above the sole)
    stance = np.ones((n, 2), bool)
    stance[5:] = False
    foot[5:, 0, 2] = 0.04 + 0.20  # left 20 cm above its stance level
    foot[5:, 1, 2] = 0.04 + 0.07  # right 7 cm: the lower foot sets the flight height
    h = post.human_flight_height(foot, 0.0, stance)
    np.testing.assert_allclose(h, [0.0] * 5 + [0.07] * 5)
    # a foot never in stance is measured against the other foot's stance level
    stance[:, 1] = False
    np.testing.assert_allclose(post.human_flight_height(foot, 0.0, stance), h)
    # no stance at all: heights above the floor
    np.testing.assert_allclose(
        post.human_flight_height(foot, 0.0, np.zeros((n, 2), bool)), foot[..., 2].min(axis=1)
    )


def test_a_short_gap_keeps_the_robot_no_higher_than_the_human_flight():
    n = 60
    # the network's root 8 cm too high between two stance runs (the human's stance missed:
    # a fast foot on the floor), and the human's lower foot at most 2 cm up meanwhile
    gap = (np.arange(n) >= 20) & (np.arange(n) < 40)
    q = _stand(n, np.where(gap, 0.08, 0.0))
    stance = np.ones((n, 2), bool)
    stance[gap] = False
    flight = np.where(gap, 0.02, 0.0)
    kept, _ = post.ground_root_height(q, stance, NMR_FPS)  # no ceiling: the gap is kept
    np.testing.assert_allclose(kept[gap], 0.0, atol=1e-12)
    offset, low = post.ground_root_height(q, stance, NMR_FPS, flight_height=flight)
    np.testing.assert_allclose(offset[gap], -0.06, atol=1e-9)  # sole lowered to 2 cm
    np.testing.assert_allclose(low[gap], 0.02, atol=1e-6)
    # a real flight (human higher than the robot) is not pulled down
    offset, _ = post.ground_root_height(q, stance, NMR_FPS, flight_height=np.full(n, 0.3))
    np.testing.assert_allclose(offset, 0.0, atol=1e-12)
    assert post.FLIGHT_SCALE == pytest.approx(spec.STANDING_HEIGHT_M / 1.70)


def test_raise_above_floor_lifts_only_where_a_point_is_below_the_floor():
    n = 60
    sink = np.where((np.arange(n) >= 25) & (np.arange(n) < 30), -0.03, 0.0)  # 3 cm, 5 frames
    q = _stand(n, sink)
    lift = post.raise_above_floor(q, inference.lowpass)
    assert lift.min() >= 0.0
    q[:, 2] += lift
    assert lowest_point_z_of_qpos(q).min() >= -1e-9  # nothing below the floor
    assert np.abs(lift[:15]).max() < 1e-3 and np.abs(lift[-15:]).max() < 1e-3  # local
    np.testing.assert_array_equal(post.raise_above_floor(_stand(5, 0.02)), np.zeros(5))
    # only the frames asked for are measured (the clean-up passes those the arms moved)
    q = _stand(n, sink)
    np.testing.assert_allclose(post.raise_above_floor(q, None, np.arange(10)), 0.0, atol=1e-12)
    part = post.raise_above_floor(q, None, np.array([26, 27]))
    assert np.flatnonzero(part > 1e-9).tolist() == [26, 27]
    np.testing.assert_allclose(part[26:28], 0.03, atol=1e-9)


def test_lock_feet_holds_a_sliding_stance_foot_still():
    n = 60
    q = _stand(n)
    q[:, 0] = 0.5 * np.arange(n) / NMR_FPS  # the whole robot slides at 0.5 m/s
    stance = np.zeros((n, 2), bool)
    stance[10:40, 0] = True  # the left foot is planted for one second
    offset = post.lock_stance_feet_xy(q, stance)
    x = q[:, 0] + offset[:, 0]
    np.testing.assert_allclose(x[10:40], x[10:40].mean(), atol=1e-9)  # held still
    np.testing.assert_allclose(offset[10:40].mean(axis=0), 0.0, atol=1e-9)  # zero on average
    np.testing.assert_allclose(offset[:, 1], 0.0, atol=1e-12)
    smooth = post.lock_stance_feet_xy(q, stance, inference.lowpass)
    assert np.abs(np.diff(q[15:35, 0] + smooth[15:35, 0])).max() < 0.25 * 0.5 / NMR_FPS
    assert not post.lock_stance_feet_xy(q, np.zeros((n, 2), bool)).any()


def test_clean_up_lock_takes_out_root_drift_but_keeps_step_rate_sway():
    """The default lock (low-passed at LOCK_CUTOFF_HZ) removes a standing robot's slow root
    drift, which the pinning would otherwise put into the legs, and leaves a 2 Hz sway (a
    step's rate) almost as the network gave it."""
    n = int(8 * NMR_FPS)
    t = np.arange(n) / NMR_FPS
    q = _stand(n)
    drift = 0.03 * t  # (T,) 3 cm/s of root drift [m]
    sway = 0.01 * np.sin(2 * np.pi * 2.0 * t)  # (T,) 2 Hz, 1 cm [m]
    q[:, 0] += drift + sway
    feet = np.zeros((n, 2, 3))  # the human stands still: both feet in stance all clip
    feet[:, 0, 1], feet[:, 1, 1] = 0.1, -0.1
    kw = dict(ground=False, pin_feet=False, lift_swing=False, resolve_collisions=False)
    on = post.CleanUp(**kw)
    assert on.lock_feet is post.LOCK_FEET is True
    args = (q[:, :3], q[:, 3:7], q[:, 7:], feet, 0.0, NMR_FPS, RANGES)
    root, joints = post.clean_up(*args, on)
    np.testing.assert_array_equal(joints, post.clip_to_soft_range(q[:, 7:], RANGES))
    mid = slice(int(NMR_FPS), n - int(NMR_FPS))  # away from the filter's ends
    left = root[mid, 0] - sway[mid]  # what is left of the drift
    assert np.ptp(left) < 0.05 * np.ptp(drift[mid])
    kept = root[mid, 0] - root[mid, 0].mean()
    # the sway passes: its correlation with the output and its amplitude stay
    assert np.corrcoef(kept, sway[mid])[0, 1] > 0.95
    assert 0.9 < np.std(kept) / np.std(sway[mid]) < 1.1
    off = post.clean_up(*args, post.CleanUp(**kw, lock_feet=False))[0]
    np.testing.assert_array_equal(off, q[:, :3])


# ---------------------------------------------------------------- the retargeter
@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """An untrained tiny network (its root height and joints are wrong, as the test needs)."""
    return write_tiny_nmr_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt", out_std=0.8)


def test_options_ground_and_clip_the_output(ckpt):
    torch.set_num_threads(1)
    h = get_clip("walk_medium").motion()
    raw = retargeters.make(
        "nmr",
        checkpoint=ckpt,
        ground=False,
        joint_range_factor=1.0,
        lock_feet=False,
        pin_feet=False,
        lift_swing=False,
    )
    clean = retargeters.make("nmr", checkpoint=ckpt, pin_feet=False, lift_swing=False)
    a, b = raw.retarget(h), clean.retarget(h)
    assert clean.options()["ground"] is True
    assert clean.options()["joint_range_factor"] == post.JOINT_RANGE_FACTOR
    soft = post.soft_range(RANGES, post.JOINT_RANGE_FACTOR, post.JOINT_LIMIT_MARGIN_RAD)
    assert np.all(b.joint_pos >= soft[:, 0] - 1e-9) and np.all(b.joint_pos <= soft[:, 1] + 1e-9)
    assert np.any(a.joint_pos < soft[:, 0]) or np.any(a.joint_pos > soft[:, 1])
    assert lowest_point_z_of_qpos(b.qpos).min() >= -1e-6
    # only the root translates: no joint jump can come from grounding or foot locking
    c = retargeters.make(
        "nmr", checkpoint=ckpt, ground=False, lock_feet=False, pin_feet=False, lift_swing=False
    ).retarget(h)
    np.testing.assert_allclose(b.joint_pos, c.joint_pos)
    np.testing.assert_allclose(b.root_quat, c.root_quat)
    d = retargeters.make(
        "nmr", checkpoint=ckpt, lock_feet=False, pin_feet=False, lift_swing=False
    ).retarget(h)
    np.testing.assert_allclose(d.root_pos[:, :2], a.root_pos[:, :2])
    assert clean.options()["lock_feet"] is post.LOCK_FEET
    # the default clean-up (leg steps included) keeps every collision point above the floor
    default = retargeters.make("nmr", checkpoint=ckpt).retarget(h)
    assert lowest_point_z_of_qpos(default.qpos).min() >= -1e-6
    with pytest.raises(ValueError, match="joint_range_factor"):
        retargeters.make("nmr", checkpoint=ckpt, joint_range_factor=1.5)


def test_clean_up_options_are_validated_and_release_switches_every_step_off():
    import dataclasses

    assert dataclasses.asdict(post.CleanUp.release()) == {
        "joint_range_factor": 1.0, "ground": False, "lock_feet": False, "pin_feet": False,
        "lift_swing": False, "resolve_collisions": False, "joint_limit_margin": 0.0,
        "short_stance": False,
    }  # fmt: skip
    assert post.SHIPPED_CLEAN_UP == post.CleanUp()
    with pytest.raises(ValueError, match="joint_range_factor"):
        post.CleanUp(joint_range_factor=0.0)
    with pytest.raises(ValueError, match="lift_swing must be True or False"):
        post.CleanUp(lift_swing=1)


def test_stance_hysteresis_holds_a_run_and_needs_an_entry():
    """A low foot enters stance below STANCE_SPEED_MPS and stays while slower than
    STANCE_EXIT_SPEED_MPS; a run that never drops below the entry speed is not stance."""
    lo, hi = post.STANCE_SPEED_MPS, post.STANCE_EXIT_SPEED_MPS
    mid, fast = 0.5 * (lo + hi), hi + 0.2
    # per frame speeds of the left foot: enter, hold, leave, a mid-speed run without entry
    speeds = np.array([0.1] * 10 + [mid] * 10 + [fast] * 10 + [mid] * 10)
    foot = np.zeros((len(speeds), 2, 3))
    foot[:, :, 2] = 0.02
    foot[:, 0, 0] = np.cumsum(speeds) / NMR_FPS
    st = post.human_stance(foot, 0.0, NMR_FPS)[:, 0]
    assert st[1:19].all()  # the entry run and the mid-speed frames that follow it
    assert not st[21:29].any()  # too fast
    assert not st[31:].any()  # mid speed, but no entry in this run
    foot[:, 0, 2] = post.STANCE_HEIGHT_M + 0.01  # too high: never stance
    assert not post.human_stance(foot, 0.0, NMR_FPS)[:, 0].any()


def _running_foot(stance_frames: int, n_steps: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A foot that swings 1.2 m at ~6 m/s, 8 cm up, then plants for ``stance_frames`` at the
    floor (a run at 30 fps), ``n_steps`` times, then swings once more; (T, 2, 3) with the
    other foot out of the way, and the (T,) planted mask."""
    swing = 8
    x, z, planted = [], [], []
    for k in range(n_steps):
        s = (np.arange(swing) + 0.5) / swing  # swing phase, strictly inside (0, 1)
        x += list(1.2 * k + 1.2 * (s - np.sin(2 * np.pi * s) / (2 * np.pi)))
        z += list(0.08 * np.sin(np.pi * s) ** 2)
        planted += [False] * swing
        x += [1.2 * (k + 1)] * stance_frames
        z += [0.0] * stance_frames
        planted += [True] * stance_frames
    s = (np.arange(swing) + 0.5) / swing  # and a last swing (no stance at the clip end)
    x += list(1.2 * n_steps + 1.2 * (s - np.sin(2 * np.pi * s) / (2 * np.pi)))
    z += list(0.08 * np.sin(np.pi * s) ** 2)
    planted += [False] * swing
    foot = np.zeros((len(x), 2, 3))
    foot[:, 0, 0], foot[:, 0, 2] = x, z
    foot[:, 1, 2] = 0.5  # the other foot: out of the way
    return foot, np.array(planted)


def test_short_stance_enters_the_planted_frames_of_a_run():
    """In a run the 2 Hz speed of a planted foot never drops to the entry speed, so only the
    short-stance entry (5 Hz speed, :data:`post.SHORT_STANCE_HEIGHT_M`) finds the stance; the
    swing stays swing."""
    foot, planted = _running_foot(stance_frames=7)
    slow = post.stance_speed_lowpass(foot, NMR_FPS)
    plain = post.human_stance(foot, 0.0, NMR_FPS, slow)[:, 0]
    short = post.human_stance(foot, 0.0, NMR_FPS, slow, short_pos=foot)[:, 0]
    assert not plain.any()
    inner = planted & np.roll(planted, 1) & np.roll(planted, -1)  # planted, not at the edges
    assert short[inner].all()
    assert not short[~planted].any() and not post.human_stance(foot, 0.0, NMR_FPS, slow)[:, 1].any()
    # a foot hovering above the short-stance height is not entered that way
    lifted = foot.copy()
    lifted[..., 2] += post.SHORT_STANCE_HEIGHT_M + 0.005
    assert not post.human_stance(lifted, 0.0, NMR_FPS, slow, short_pos=lifted)[:, 0].any()


def test_clean_up_passes_short_stance_to_the_leg_steps(monkeypatch):
    seen = []
    real = post.human_stance

    def spy(*a, **kw):
        seen.append((a[4] if len(a) > 4 else kw.get("short_pos")) is not None)
        return real(*a, **kw)

    monkeypatch.setattr(post, "human_stance", spy)
    n = 40
    q = np.zeros((n, 29))
    root = np.tile([0.0, 0.0, 0.79], (n, 1))
    quat = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
    feet = np.zeros((n, 2, 3))
    ranges = np.tile([-3.0, 3.0], (29, 1))
    for flag in (True, False):
        seen.clear()
        post.clean_up(root, quat, q, feet, 0.0, NMR_FPS, ranges, post.CleanUp(short_stance=flag))
        assert seen == [flag, False]  # the leg steps' stance, then grounding's (never short)


def test_speed_clearance_rises_with_the_swing_foot_speed_and_leaves_stance_alone():
    from retargeters.nmr import legik

    n = 60
    feet = np.zeros((n, 2, 3))
    speed = np.linspace(0.0, 2.0, n)  # the left foot speeds up
    feet[:, 0, 0] = np.cumsum(speed) / NMR_FPS
    stance = np.zeros((n, 2), bool)
    stance[:10, 0] = True
    stance[:, 1] = True
    clearance = np.full((n, 2), 0.005)
    out = legik.speed_clearance(clearance, feet, NMR_FPS, stance)
    np.testing.assert_array_equal(out[stance], clearance[stance])
    v = np.linalg.norm(np.gradient(feet[:, 0, :2], 1.0 / NMR_FPS, axis=0), axis=-1)
    want = np.maximum(0.005, np.minimum(legik.LIFT_PER_SPEED_S * v, legik.LIFT_SPEED_CLEARANCE_M))
    np.testing.assert_allclose(out[10:, 0], want[10:])
    assert out[-1, 0] == legik.LIFT_SPEED_CLEARANCE_M and out[10, 0] < out[30, 0]
