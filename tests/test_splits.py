"""Split labels: length classes and the complexity classifier (built-in suite, hand-made
motions, real clips)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark import splits
from nmr_gym import rotations as rot
from nmr_gym import suite
from nmr_gym.errors import MotionError
from nmr_gym.io import load_human_motion
from nmr_gym.motion import HumanMotion
from nmr_gym.suite import body, upper
from nmr_gym.suite import complex as cplx

START = (np.zeros(2), 0.0)


def _built(rig: body.Rig, name: str = "test") -> HumanMotion:
    return body.build(rig, name=name)


def _rotated(m: HumanMotion, q: np.ndarray, lift: float) -> HumanMotion:
    """The whole motion rotated by q about the origin, then raised so its lowest point is at
    ``lift`` [m]."""
    q = np.broadcast_to(q, m.joint_quat.shape)
    pos = rot.rotate(q, m.joint_pos)
    pos[..., 2] += lift - pos[..., 2].min()
    return m.replace(joint_pos=pos, joint_quat=rot.multiply(q, m.joint_quat))


@pytest.mark.parametrize(
    ("n", "expected"),
    [(2, "short"), (249, "short"), (250, "medium"), (1000, "medium"), (1001, "long")],
)
def test_length_class_boundaries(n, expected):
    assert splits.length_class(n) == expected


@pytest.mark.parametrize("noisy", [False, True])
def test_classifier_recovers_the_builtin_suite_classes(noisy):
    clips = suite.builtin_suite(noisy=noisy, seed=7)
    results = [splits.classify(c.motion()) for c in clips]
    wrong = [(c.name, r.complexity, r.reason) for c, r in zip(clips, results, strict=True)
             if r.complexity != c.complexity]  # fmt: skip
    assert not wrong
    assert [r.length for r in results] == [c.length for c in clips]
    assert all(r.source == "rules" for r in results)


@pytest.mark.parametrize(
    ("make", "complexity", "reason"),
    [
        (lambda: upper.wave(150, START), "ULOM", "stationary lower body"),
        (lambda: upper.squat(240, START), "WBPM", None),
        (lambda: cplx.spin(100, START), "WBCM", "spin"),
        (lambda: cplx.kick(110, START), "WBCM", "kick"),
        (lambda: cplx.jump(80, START), "WBCM", "jump"),
    ],
)
def test_rules_on_single_movements(make, complexity, reason):
    result = splits.classify(_built(make()))
    assert result.complexity == complexity
    if reason:
        assert result.reason == reason


def test_inverted_and_floor_work():
    stand = _built(upper.wave(90, START))
    handstand = _rotated(stand, rot.from_axis_angle(np.array([np.pi, 0.0, 0.0])), lift=0.0)
    assert splits.classify(handstand).reason == "inverted"
    lying = _rotated(stand, rot.from_axis_angle(np.array([0.0, -np.pi / 2, 0.0])), lift=0.02)
    result = splits.classify(lying)
    assert (result.complexity, result.reason) == ("WBCM", "floor work")
    assert result.features["floor_work_pct"] == 100.0


def test_rules_do_not_depend_on_the_frame_rate():
    for name in ("walk_short", "jumps_short", "wave_short", "kicks_short"):
        m = suite.get_clip(name).motion()
        fast = m.resample(120.0)
        assert splits.classify(fast).complexity == splits.classify(m).complexity, name
        # length is counted at the clip's own rate: 4x the frames
        assert fast.n_frames > 4 * m.n_frames - 4


def test_features_are_documented_quantities():
    walk = splits.classify(suite.get_clip("walk_short").motion()).features
    wave = splits.classify(suite.get_clip("wave_short").motion()).features
    assert walk["pelvis_travel_m"] > 5.0 > 0.01 > wave["pelvis_travel_m"]
    assert walk["airborne_pct"] == 0.0 == wave["airborne_pct"]
    jump = splits.classify(suite.get_clip("jumps_short").motion()).features
    assert 0.25 < jump["longest_airborne_s"] < 0.6  # flight of a 0.2 m jump: 0.4 s
    turn = splits.classify(suite.get_clip("turn_in_place_short").motion()).features
    assert 45.0 < turn["max_turn_deg_per_window"] < 90.0  # 60 deg/s stepping turn


def test_override_from_a_manifest():
    m = suite.get_clip("walk_short").motion()
    r = splits.classify(m, override="WBCM")
    assert (r.complexity, r.length, r.source, r.reason) == ("WBCM", "short", "override", "override")
    r = splits.classify(m, override={"length": "long"})
    assert (r.complexity, r.length, r.source) == ("WBPM", "long", "override")
    assert r.features["pelvis_travel_m"] > 0  # the features are still reported
    for bad in ("easy", {"complexity": "ULOM", "speed": "fast"}, {"length": "huge"}):
        with pytest.raises(MotionError, match="builtin:walk_short"):
            splits.classify(m, override=bad)


def test_complexity_class_shortcut():
    assert splits.complexity_class(suite.get_clip("reach_short").motion()) == "ULOM"


def test_classify_needs_the_leg_joints():
    m = suite.get_clip("wave_short").motion()
    upper_only = HumanMotion(m.fps, ("pelvis", "head"), m.joint_pos[:, [0, 15]],
                             m.joint_quat[:, [0, 15]], m.height, source="partial.npz")  # fmt: skip
    with pytest.raises(MotionError, match="partial.npz"):
        splits.classify(upper_only)


# clips of ../shared/motions whose class is unambiguous (index.csv's categories are rough, so
# only clear cases are asserted here; the full comparison is in the report)
REAL_CLIPS = {
    "bvh/bandai_namco/dataset-2_wave-right-hand_normal_001.bvh": "ULOM",
    "amass/accad/ACCAD_Female1Gestures_c3d_Female1_Subj_Calibration_poses.npz": "ULOM",
    "amass/accad/ACCAD_Female1Walking_c3d_B9_walk_turn_left_90_poses.npz": "WBPM",
    "amass/accad/ACCAD_s008_Run1_poses.npz": "WBPM",
    "bvh/bandai_namco/dataset-2_walk_normal_001.bvh": "WBPM",
    "amass/accad/ACCAD_Female1Gestures_c3d_D6-CartWheel_poses.npz": "WBCM",
    "amass/accad/ACCAD_Female1General_c3d_A11_-crawl_forward_poses.npz": "WBCM",
    "amass/accad/ACCAD_Male2MartialArtsKicks_c3d_G3_-front_kick_poses.npz": "WBCM",
    "smpl_video/asap/smpl_npz/video_jump_degree_level3_filter_amass.npz": "WBCM",
}


@pytest.mark.shared_data
def test_classifier_on_real_clips(shared_motions):
    got = {}
    for rel, expected in REAL_CLIPS.items():
        path = shared_motions / rel
        if not path.is_file():
            pytest.skip(f"{rel} is not in {shared_motions}")
        m = load_human_motion(path)
        got[rel] = (expected, splits.classify(m).complexity)
    wrong = {k: v for k, v in got.items() if v[0] != v[1]}
    assert not wrong
