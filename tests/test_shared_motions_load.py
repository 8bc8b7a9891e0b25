"""Every human motion file in ../shared/motions loads onto the canonical skeleton, sanely.

Per file: finite canonical joints (HumanMotion validates), the fps of index.csv, feet on the
floor on some frames, a plausible height, limb joint frames pointing at their child joints,
an upright pelvis frame whenever the trunk is upright, and the head above the pelvis on most
frames of clips that index.csv does not mark as lying down. Skipped with a reason when the
folder is absent.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from nmr_gym import rotations as rot
from nmr_gym import skeleton as sk
from nmr_gym.io import positions as jp
from nmr_gym.io.human_formats import load_human_motion

#: Groups of files (glob patterns relative to the shared folder) and their expected counts.
GROUPS = {
    "amass": ("amass/*/*.npz", 61),
    "asap_smpl": ("smpl_video/asap/smpl_npz/*.npz", 51),
    "lafan1": ("bvh/lafan1/*.bvh", 11),
    "bandai_namco": ("bvh/bandai_namco/*.bvh", 30),
    "cmu_bvh": ("bvh/cmu/*.bvh", 4),
    "cmu_asf_amc": ("bvh/cmu/*.amc", 2),
}
#: SMPL's foot joints (ankle, ball of the foot) sit 2-8 cm above the floor in contact; the lowest
#: foot height over a clip (1st percentile) must be within these bounds [m].
FOOT_FLOOR_RANGE = (-0.05, 0.10)
HEIGHT_RANGE = (1.3, 2.1)  # [m]
#: Limb joint frames must point their canonical bone direction at the child within [deg].
BONE_DIRECTION_TOL_DEG = 3.0
#: When the trunk (pelvis -> neck) and both thighs are within 20 deg of vertical (standing),
#: the y axis of the pelvis and spine frames must be within this many degrees of world up on
#: the median such frame (measured worst cases: 12 deg pelvis, 25 deg spine3 on Bandai Namco).
UPRIGHT_TOL_DEG = 30.0
HEAD_ABOVE_PELVIS_MIN_FRACTION = 0.9
LYING_PCT_MAX = 5.0  # index.csv "lying_pct" below which a clip counts as not lying down


def _index(root: Path) -> dict[str, dict[str, str]]:
    with open(root / "index.csv", newline="") as f:
        return {row["path"]: row for row in csv.DictReader(f)}


def _upright_clip(row: dict[str, str]) -> bool:
    """A clip index.csv describes without lying, falling or inverted (head-down) frames."""
    desc = row.get("description", "").lower()
    lying = float(row.get("lying_pct") or 0.0)
    return lying < LYING_PCT_MAX and not any(w in desc for w in ("inverted", "fall", "lie"))


def _problems(m, row: dict[str, str] | None) -> list[str]:
    out = []
    if m.joint_names != sk.SMPL_JOINT_NAMES:
        out.append("joints are not canonical")
    if row is not None and abs(m.fps - float(row["fps"])) > 0.01:
        out.append(f"fps {m.fps} != index {row['fps']}")
    p, q = m.joint_pos, m.joint_quat
    feet = np.percentile(p[:, [7, 8, 10, 11], 2].min(axis=1), 1.0)
    if not FOOT_FLOOR_RANGE[0] <= feet <= FOOT_FLOOR_RANGE[1]:
        out.append(f"lowest foot height {feet:.3f} m")
    if not HEIGHT_RANGE[0] <= m.height <= HEIGHT_RANGE[1]:
        out.append(f"height {m.height:.2f} m")
    for name in ("left_hip", "right_knee", "left_shoulder", "right_elbow"):
        j, c = jp.J[name], jp.J[jp.PRIMARY_CHILD[name]]
        d = jp._unit(p[:, c] - p[:, j])
        e = rot.rotate(q[:, j], jp.canonical_direction(name))
        worst = np.degrees(np.arccos(np.clip(np.sum(d * e, -1), -1, 1))).max()
        if worst > BONE_DIRECTION_TOL_DEG:
            out.append(f"{name} frame off its bone by {worst:.1f} deg")
    trunk = jp._unit(p[:, 12] - p[:, 0])
    thighs = jp._unit(p[:, [4, 5]] - p[:, [1, 2]])  # hip -> knee, both sides
    upright = (trunk[:, 2] > np.cos(np.radians(20))) & np.all(
        thighs[..., 2] < -np.cos(np.radians(20)), axis=1
    )  # standing: trunk and thighs near vertical (in a crouch the pelvis tilts by itself)
    if upright.sum() > 10:
        for name in ("pelvis", "spine1", "spine2", "spine3"):
            y_axis = rot.rotate(q[upright, jp.J[name]], np.array([0.0, 1.0, 0.0]))
            tilt = np.degrees(np.arccos(np.clip(np.median(y_axis[:, 2]), -1, 1)))
            if tilt > UPRIGHT_TOL_DEG:
                out.append(f"{name} frame tilted {tilt:.0f} deg while standing upright")
    if row is not None and _upright_clip(row):
        above = np.mean(p[:, 15, 2] > p[:, 0, 2])
        if above < HEAD_ABOVE_PELVIS_MIN_FRACTION:
            out.append(f"head above pelvis on only {above:.0%} of frames")
    return out


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_shared_human_motions_load(shared_motions, group):
    pattern, expected = GROUPS[group]
    files = sorted(shared_motions.glob(pattern))
    if not files:
        pytest.skip(f"no {group} files ({pattern}) in {shared_motions}")
    index = _index(shared_motions)
    failures = []
    for f in files:
        rel = f.relative_to(shared_motions).as_posix()
        try:
            m = load_human_motion(f)
        except Exception as exc:  # collect every failure, report them all
            failures.append(f"{rel}: {type(exc).__name__}: {exc}")
            continue
        failures += [f"{rel}: {msg}" for msg in _problems(m, index.get(rel))]
    assert not failures, "\n".join(failures)
    assert len(files) >= expected, f"expected >= {expected} {group} files, found {len(files)}"


def test_cmu_asf_amc_matches_its_bvh_conversion(shared_motions):
    """fairmotion's 01_01.bvh is a conversion of 01_01.amc (with one extra first frame): the
    lower body and every joint frame must agree; its BVH drops the thorax bone, so the upper
    body sits one bone (~12 cm) lower there and is not compared."""
    amc = shared_motions / "bvh/cmu/fairmotion__01_01.amc"
    bvh = shared_motions / "bvh/cmu/fairmotion__01_01.bvh"
    if not (amc.exists() and bvh.exists()):
        pytest.skip("CMU 01_01 ASF/AMC or BVH not in the shared folder")
    a = load_human_motion(amc, ground="source")
    b = load_human_motion(bvh, ground="source")
    assert len(b) == len(a) + 1
    legs = [sk.SMPL_JOINT_NAMES.index(n) for n in sk.SMPL_JOINT_NAMES[:12] if "spine" not in n]
    np.testing.assert_allclose(a.joint_pos[:, legs], b.joint_pos[1:, legs], atol=1e-4)
    ang = np.degrees(rot.angle_between(a.joint_quat, b.joint_quat[1:]))
    assert np.median(ang) < 3.0 and np.median(ang, axis=0).max() < 6.0
