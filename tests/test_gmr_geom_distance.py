"""gmr-safe's guarded-pair distance: the hull QP equals MuJoCo's distance where MuJoCo is right,
and replaces the spurious zeros MuJoCo 3.11 returns for separated mesh pairs (simulated here by
a MuJoCo that answers 0, so the test also runs on the default install's MuJoCo)."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
from test_gmr import FOREARM_IN_HIP  # the right forearm 8 mm inside the right hip_roll_link

from nmr_gym.g1 import kinematic_model, spec
from retargeters.gmr import ik
from retargeters.gmr.tables import load_table


def _pose(shoulder_roll_delta: float = 0.0) -> np.ndarray:
    q = np.concatenate([[0.0, 0.0, 0.75, 1.0, 0.0, 0.0, 0.0], np.zeros(spec.NUM_JOINTS)])
    for name, value in FOREARM_IN_HIP.items():
        q[7 + spec.joint_index(name)] = value
    q[7 + spec.joint_index("right_shoulder_roll_joint")] += shoulder_roll_delta
    return q


def _mesh_geom(model: mujoco.MjModel, body: str) -> int:
    ids = np.flatnonzero(model.geom_bodyid == model.body(body).id)
    return int(next(g for g in ids if model.geom_contype[g]))


@pytest.fixture(scope="module")
def model():
    return kinematic_model()


def test_hull_distance_equals_mujocos_when_separated_and_zero_when_overlapping(model):
    data = mujoco.MjData(model)
    hulls = ik._MeshHulls(model)
    hip, forearm = (
        _mesh_geom(model, "right_hip_roll_link"),
        _mesh_geom(model, "right_wrist_pitch_link"),
    )
    assert model.geom_type[hip] == model.geom_type[forearm] == mujoco.mjtGeom.mjGEOM_MESH
    seen_separated = seen_overlap = 0
    for delta in np.linspace(0.0, -0.12, 13):  # from 8 mm inside to ~3 cm apart
        data.qpos[:] = _pose(delta)
        mujoco.mj_kinematics(model, data)
        ft_mj, ft_qp = np.zeros(6), np.zeros(6)
        d_mj = mujoco.mj_geomDistance(model, data, hip, forearm, 0.1, ft_mj)
        d_qp = ik.hull_distance(model, data, hip, forearm, hulls, ft_qp)
        if d_mj > 0:
            seen_separated += 1
            assert d_qp == pytest.approx(d_mj, abs=1e-5)
            assert np.linalg.norm(ft_qp[3:] - ft_qp[:3]) == pytest.approx(d_qp)
            np.testing.assert_allclose(ft_qp, ft_mj, atol=2e-3)  # the same witness points
        else:
            seen_overlap += 1
            assert d_qp == pytest.approx(0.0, abs=1e-6)
    assert seen_separated >= 8 and seen_overlap >= 3


def test_a_spurious_zero_is_corrected_and_others_are_kept(model, monkeypatch):
    data = mujoco.MjData(model)
    data.qpos[:] = _pose(-0.08)  # separated by ~1.4 cm
    mujoco.mj_kinematics(model, data)
    hulls = ik._MeshHulls(model)
    hip, forearm = (
        _mesh_geom(model, "right_hip_roll_link"),
        _mesh_geom(model, "right_wrist_pitch_link"),
    )
    true = mujoco.mj_geomDistance(model, data, hip, forearm, 0.05, np.zeros(6))
    assert 0.005 < true < 0.05
    ft = np.zeros(6)
    assert ik.geom_distance(model, data, hip, forearm, 0.05, ft, hulls) == (true, False)

    real = mujoco.mj_geomDistance

    def mujoco_3_11(m, d, g1, g2, distmax, fromto):  # its defect: 0 for a separated pair
        real(m, d, g1, g2, distmax, fromto)
        fromto[:] = 0.0
        return 0.0

    monkeypatch.setattr(ik.mujoco, "mj_geomDistance", mujoco_3_11)
    dist, corrected = ik.geom_distance(model, data, hip, forearm, 0.05, ft, hulls)
    assert corrected and dist == pytest.approx(true, abs=1e-5)
    assert np.linalg.norm(ft[3:] - ft[:3]) == pytest.approx(true, abs=1e-5)
    # a 0 on a pair with a primitive geom is left alone (the defect is mesh-mesh)
    sphere = next(
        g for g in range(model.ngeom) if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_SPHERE
    )
    assert ik.geom_distance(model, data, sphere, forearm, 0.05, ft, hulls) == (0.0, False)


def test_the_collision_rows_are_the_same_with_and_without_spurious_zeros(model, monkeypatch):
    """The limit's rows and the recovered closest distance at a pose where the forearm is
    ~3.5 mm from the hip do not change when MuJoCo reports that pair at 0 (as 3.11 does)."""
    solver = ik.GMRSolver(model, load_table("smpl"), 30.0)
    solver.reset(_pose(-0.04))
    limit = solver.collision_limit
    closest = limit.linearize(solver.config, recover=True)
    g_ok, h_ok = limit.rows(solver.config)
    assert 0.0 < closest < ik.COLLISION_MIN_DISTANCE_M  # the pair is inside the guarded band
    hip, forearm = (
        _mesh_geom(model, "right_hip_roll_link"),
        _mesh_geom(model, "right_wrist_pitch_link"),
    )
    real = mujoco.mj_geomDistance

    def mujoco_3_11(m, d, g1, g2, distmax, fromto):
        dist = real(m, d, g1, g2, distmax, fromto)
        if {g1, g2} == {hip, forearm}:
            fromto[:] = 0.0
            return 0.0
        return dist

    monkeypatch.setattr(ik.mujoco, "mj_geomDistance", mujoco_3_11)
    monkeypatch.setattr(mujoco, "mj_geomDistance", mujoco_3_11)  # mink's calls too
    bad = limit.linearize(solver.config, recover=True)
    g_bad, h_bad = limit.rows(solver.config)
    assert bad == pytest.approx(closest, abs=1e-5)
    np.testing.assert_allclose(h_bad, h_ok, atol=1e-5)
    np.testing.assert_allclose(g_bad, g_ok, atol=2e-2)
