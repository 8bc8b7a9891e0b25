import mujoco
import numpy as np
import pytest

from nmr_gym import g1
from nmr_gym.errors import ModelNotFoundError, UnknownNameError
from nmr_gym.g1 import spec


def test_tracking_model_layout_and_timestep():
    m = g1.tracking_model()
    assert (m.nq, m.nv, m.nu) == (36, 35, 29)
    assert m.opt.timestep == pytest.approx(0.005)
    assert m.nbody == 31


def test_scene_matches_menagerie_facts():
    m = g1.scene_model()
    assert (m.nq, m.nv, m.nu, m.nbody, m.ngeom) == (36, 35, 29, 31, 72)
    assert m.opt.timestep == pytest.approx(0.002)
    assert sum(m.body_mass) == pytest.approx(33.3, abs=0.1)


def test_names_are_menagerie_order():
    m = g1.kinematic_model()
    assert tuple(m.joint(i).name for i in range(1, m.njnt)) == spec.JOINT_NAMES
    assert tuple(m.body(i).name for i in range(1, m.nbody)) == spec.BODY_NAMES
    assert m.joint(0).name == spec.FREE_JOINT


def test_joint_ranges_match_anchor_table():
    np.testing.assert_allclose(g1.joint_ranges(g1.kinematic_model()), spec.JOINT_RANGES, atol=1e-4)


# BeyondMimic's G1 table: Kp = I w^2, Kd = 2 zeta I w (w = 2 pi 10 Hz, zeta = 2, I the
# reflected armature), action scale 0.25 tau_max / Kp; Kp/Kd/tau_max/scale per joint group.
_TABLE = {
    "hip_pitch": (40.18, 2.558, 88, 0.548),
    "hip_yaw": (40.18, 2.558, 88, 0.548),
    "waist_yaw": (40.18, 2.558, 88, 0.548),
    "hip_roll": (99.10, 6.309, 139, 0.351),
    "knee": (99.10, 6.309, 139, 0.351),
    "ankle_pitch": (28.50, 1.814, 50, 0.439),
    "ankle_roll": (28.50, 1.814, 50, 0.439),
    "waist_roll": (28.50, 1.814, 50, 0.439),
    "waist_pitch": (28.50, 1.814, 50, 0.439),
    "shoulder_pitch": (14.25, 0.907, 25, 0.439),
    "shoulder_roll": (14.25, 0.907, 25, 0.439),
    "shoulder_yaw": (14.25, 0.907, 25, 0.439),
    "elbow": (14.25, 0.907, 25, 0.439),
    "wrist_roll": (14.25, 0.907, 25, 0.439),
    "wrist_pitch": (16.78, 1.068, 5, 0.0745),
    "wrist_yaw": (16.78, 1.068, 5, 0.0745),
}


@pytest.mark.parametrize("i,name", list(enumerate(spec.JOINT_NAMES)))
def test_pd_gains_match_beyondmimic_table(i, name):
    key = name.removeprefix("left_").removeprefix("right_").removesuffix("_joint")
    kp, kd, tau, scale = _TABLE[key]
    m = g1.tracking_model()
    act = m.actuator(name)
    assert act.gainprm[0] == pytest.approx(kp, abs=0.01)
    assert -act.biasprm[1] == pytest.approx(kp, abs=0.01)
    assert -act.biasprm[2] == pytest.approx(kd, abs=0.001)
    assert act.forcerange[1] == pytest.approx(tau)
    assert spec.ACTION_SCALE[i] == pytest.approx(scale, abs=5e-4)
    assert m.dof_armature[6 + i] == pytest.approx(spec.ARMATURE[i])


def test_tracking_model_is_a_fresh_copy():
    a, b = g1.tracking_model(), g1.tracking_model()
    a.geom_friction[0, 0] = 9.0
    assert b.geom_friction[0, 0] != 9.0


def test_no_self_contact_at_zero_and_stand():
    m = g1.kinematic_model()
    d = mujoco.MjData(m)
    for joints in (np.zeros(29), spec.STAND_JOINT_POS):
        d.qpos[:] = np.concatenate([[0, 0, 0.79, 1, 0, 0, 0], joints])
        mujoco.mj_kinematics(m, d)
        mujoco.mj_collision(m, d)
        assert d.ncon == 0


def test_bad_menagerie_dir_names_it(tmp_path, monkeypatch):
    with pytest.raises(ModelNotFoundError, match=str(tmp_path)):
        g1.kinematic_model(tmp_path)
    monkeypatch.setenv(g1.MENAGERIE_ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(ModelNotFoundError, match="NMR_GYM_MENAGERIE_G1"):
        g1.kinematic_model()


def test_unknown_joint_lists_valid_names():
    with pytest.raises(UnknownNameError, match="left_knee_joint"):
        spec.joint_index("left_knee")
