"""The vectorised loading, kinematics and writing paths equal the straightforward ones.

Issue 13 (speed) replaced per-joint / per-call code by batched numpy; each fast path here is
checked against a plain reference: scipy, MuJoCo called directly, or the joint-by-joint walk
it replaced (kept below as the reference), on synthetic data and on real clips (these skip
without ``../shared/motions``). Results are required to be equal to 1e-9 or bit for bit where
the fast path performs the same floating-point operations.
"""

from __future__ import annotations

import itertools
import zipfile

import mujoco
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from nmr_gym import rotations as rot
from nmr_gym import skeleton as sk
from nmr_gym.errors import MotionFormatError
from nmr_gym.g1 import geometry
from nmr_gym.g1.model import kinematic_model
from nmr_gym.io import bvh as bvh_io
from nmr_gym.io import positions as jp
from nmr_gym.io import save_robot_motion
from nmr_gym.motion import RobotMotion
from nmr_gym.motion.robot import forward_kinematics as robot_fk

SEED = 13
#: Largest difference allowed between a fast path and its reference (the brief's 1e-9).
TOL = 1e-9


def _rng(k: int = 0) -> np.random.Generator:
    return np.random.default_rng(SEED + k)


def _random_quats(shape, rng) -> np.ndarray:
    return rot.normalize(rng.normal(size=(*shape, 4)))


# ----------------------------------------------------------------------------- rotations


def _euler_orders():
    for n in (1, 2, 3):
        for axes in itertools.product("XYZ", repeat=n):
            if all(a != b for a, b in itertools.pairwise(axes)):
                yield "".join(axes)
                yield "".join(axes).lower()


@pytest.mark.parametrize("order", list(_euler_orders()))
def test_from_euler_equals_scipy_bit_for_bit(order):
    angles = _rng().uniform(-7.0, 7.0, (4, 5, len(order)))
    ref = rot.xyzw_to_wxyz(
        Rotation.from_euler(order, angles.reshape(-1, len(order))).as_quat()
    ).reshape(4, 5, 4)
    np.testing.assert_array_equal(rot.from_euler(angles, order), ref)


@pytest.mark.parametrize("order", ["xYz", "XXY", "XYZW", "", "abc"])
def test_from_euler_refuses_bad_orders(order):
    with pytest.raises(ValueError, match="Euler order"):
        rot.from_euler(np.zeros(max(len(order), 1)), order)


def test_from_euler_refuses_wrong_angle_count():
    with pytest.raises(ValueError, match="last axis must hold 3"):
        rot.from_euler(np.zeros((5, 2)), "XYZ")


def test_cross_rotate_and_component_major_forms_equal_numpy_and_scipy():
    rng = _rng(1)
    a, b = rng.normal(size=(50, 7, 3)), rng.normal(size=(7, 3))
    np.testing.assert_array_equal(rot.cross(a, b), np.cross(a, b))
    q, v = _random_quats((50, 7), rng), rng.normal(size=(50, 7, 3))
    u, w = q[..., 1:], q[..., :1]
    t = 2.0 * np.cross(u, v)
    np.testing.assert_array_equal(rot.rotate(q, v), v + w * t + np.cross(u, t))
    ref = Rotation.from_quat(rot.wxyz_to_xyzw(q.reshape(-1, 4))).apply(v.reshape(-1, 3))
    np.testing.assert_allclose(rot.rotate(q, v).reshape(-1, 3), ref, atol=1e-12, rtol=0)
    qm = np.moveaxis(q, -1, 0)
    np.testing.assert_array_equal(
        rot.rotate_cm(qm, np.moveaxis(v, -1, 0)), np.moveaxis(rot.rotate(q, v), -1, 0)
    )
    p = _random_quats((50, 7), rng)
    np.testing.assert_array_equal(
        rot.multiply_cm(qm, np.moveaxis(p, -1, 0)), np.moveaxis(rot.multiply(q, p), -1, 0)
    )


def _make_continuous_ref(q: np.ndarray) -> np.ndarray:
    q = np.array(q, dtype=float)
    dots = np.sum(q[1:] * q[:-1], axis=-1)
    q[1:] *= np.cumprod(np.where(dots < 0, -1.0, 1.0), axis=0)[..., None]
    return q


def _angular_velocity_ref(q: np.ndarray, dt: float) -> np.ndarray:
    q = _make_continuous_ref(q)
    return 2.0 * rot.multiply(np.gradient(q, dt, axis=0), rot.conjugate(q))[..., 1:]


def test_make_continuous_and_angular_velocity_equal_their_references():
    rng = _rng(2)
    q = rot.normalize(np.cumsum(rng.normal(scale=0.1, size=(200, 6, 4)), axis=0) + [1, 0, 0, 0])
    flipped = q * np.where(rng.random((200, 6, 1)) < 0.3, -1.0, 1.0)
    np.testing.assert_array_equal(rot.make_continuous(flipped), _make_continuous_ref(flipped))
    dt = 1 / 120
    np.testing.assert_array_equal(
        rot.angular_velocity(flipped, dt), _angular_velocity_ref(flipped, dt)
    )
    smooth = rot.make_continuous(flipped)
    np.testing.assert_array_equal(
        rot.angular_velocity(smooth, dt, continuous=True), rot.angular_velocity(flipped, dt)
    )


# ----------------------------------------------------------------------------- skeleton FK


def _fk_joint_by_joint(root_pos, root_quat, local_quat, offsets, parents):
    """The per-joint walk that ``skeleton.forward_kinematics`` replaced (the reference)."""
    t, n = local_quat.shape[:2]
    offsets = np.broadcast_to(offsets, (t, n, 3))
    pos, quat = np.empty((t, n, 3)), np.empty((t, n, 4))
    pos[:, 0], quat[:, 0] = root_pos, root_quat
    for j in range(1, n):
        p = parents[j]
        pos[:, j] = pos[:, p] + rot.rotate(quat[:, p], offsets[:, j])
        quat[:, j] = rot.multiply(quat[:, p], local_quat[:, j])
    return pos, quat


def _random_tree(n: int, rng) -> tuple[int, ...]:
    return (-1, *(int(rng.integers(0, j)) for j in range(1, n)))


@pytest.mark.parametrize("per_frame_offsets", [False, True])
def test_skeleton_fk_equals_the_joint_by_joint_walk(per_frame_offsets):
    rng = _rng(3)
    for parents in (sk.SMPL_PARENTS, _random_tree(17, rng)):
        t, n = 40, len(parents)
        offsets = rng.normal(size=(t, n, 3) if per_frame_offsets else (n, 3))
        args = (rng.normal(size=(t, 3)), _random_quats((t,), rng), _random_quats((t, n), rng))
        got = sk.forward_kinematics(*args, offsets, parents)
        ref = _fk_joint_by_joint(*args, offsets, parents)
        for g, r in zip(got, ref, strict=True):
            np.testing.assert_array_equal(g, r)


def test_depth_levels_cover_each_joint_once_below_its_parent():
    parents = _random_tree(30, _rng(4))
    levels = sk.depth_levels(parents)
    seen = {0}
    for joints, pars in levels:
        assert set(pars.tolist()) <= seen  # parents placed at an earlier level
        assert not set(joints.tolist()) & seen
        seen |= set(joints.tolist())
        np.testing.assert_array_equal(pars, [parents[j] for j in joints])
    assert seen == set(range(30))


# ----------------------------------------------------------------------------- BVH


def _bvh_fk_reference(b: bvh_io.Bvh) -> tuple[np.ndarray, np.ndarray]:
    """Joint-by-joint BVH forward kinematics with one scipy Euler conversion per joint."""
    t, n = b.motion.shape[0], len(b.names)
    pos, quat = np.empty((t, n, 3)), np.empty((t, n, 4))
    col = 0
    for j, chans in enumerate(b.channels):
        trans = np.broadcast_to(b.offsets[j], (t, 3)).copy()
        order, cols = "", []
        for k, c in enumerate(chans):
            if c[1:].lower() == "position":
                trans[:, "XYZ".index(c[0].upper())] = b.motion[:, col + k]
            else:
                order += c[0].upper()
                cols.append(col + k)
        col += len(chans)
        local = np.tile(rot.IDENTITY_WXYZ, (t, 1))
        if order:
            xyzw = Rotation.from_euler(order, np.radians(b.motion[:, cols])).as_quat()
            local = rot.xyzw_to_wxyz(xyzw)
        par = b.parents[j]
        if par < 0:
            pos[:, j], quat[:, j] = trans, local
        else:
            pos[:, j] = pos[:, par] + rot.rotate(quat[:, par], trans)
            quat[:, j] = rot.multiply(quat[:, par], local)
    return pos, quat


def _synthetic_bvh(rng, frames: int = 30, joints: int = 9, wrap: bool = False) -> str:
    """A BVH with mixed channel layouts: 6-channel joints, 1-3 rotation channels in any
    order, joints without channels, End Sites; numbers printed at several precisions."""
    parents = _random_tree(joints, rng)
    kids = {j: [c for c in range(joints) if parents[c] == j] for j in range(joints)}
    layouts, lines = [], ["HIERARCHY"]

    def block(j: int, depth: int) -> None:
        pad = "  " * depth
        lines.append(f"{pad}{'ROOT' if j == 0 else 'JOINT'} j{j}")
        lines.append(pad + "{")
        off = rng.normal(scale=10.0, size=3)
        lines.append(f"{pad}  OFFSET {off[0]:.6f} {off[1]:.4f} {off[2]:.5f}")
        kind = 0 if j == 0 else int(rng.integers(0, 4))
        rot_axes = "".join(rng.permutation(list("XYZ"))[: int(rng.integers(1, 4))])
        if kind == 3:  # a joint without channels
            chans = []
        else:
            chans = [f"{a}position" for a in "XYZ"] if kind in (0, 1) else []
            chans += [f"{a}rotation" for a in rot_axes]
            lines.append(f"{pad}  CHANNELS {len(chans)} {' '.join(chans)}")
        layouts.append(len(chans))
        for c in kids[j]:
            block(c, depth + 1)
        if not kids[j]:
            lines.extend([f"{pad}  End Site", pad + "  {", f"{pad}    OFFSET 0 3.5 0", pad + "  }"])
        lines.append(pad + "}")

    block(0, 0)
    n_chan = sum(layouts)
    values = rng.uniform(-180.0, 180.0, size=(frames, n_chan))
    lines += ["MOTION", f"Frames: {frames}", "Frame Time: 0.0333333"]
    for row in values:
        text = [f"{v:.6f}" if i % 3 else repr(float(v)) for i, v in enumerate(row)]
        if wrap:  # one frame over two lines: legal whitespace, not one row per frame
            half = len(text) // 2
            lines += [" ".join(text[:half]), " ".join(text[half:])]
        else:
            lines.append(" ".join(text))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("wrap", [False, True])
def test_bvh_parse_and_fk_equal_the_token_and_per_joint_paths(tmp_path, wrap):
    rng = _rng(5)
    for i in range(4):
        path = tmp_path / f"s{i}.bvh"
        path.write_text(_synthetic_bvh(rng, wrap=wrap))
        b = bvh_io.parse_bvh(path)
        tokens = path.read_text().partition("MOTION")[2].split("Frame Time:")[1].split()[1:]
        np.testing.assert_array_equal(b.motion.ravel(), np.array(tokens, dtype=float))
        got, ref = bvh_io.forward_kinematics(b), _bvh_fk_reference(b)
        for g, r in zip(got, ref, strict=True):
            np.testing.assert_allclose(g, r, atol=TOL, rtol=0)
        world = _random_quats((), rng)
        pos, quat = bvh_io.forward_kinematics(b, world=world)
        np.testing.assert_allclose(pos, rot.rotate(world, ref[0]), atol=TOL, rtol=0)
        np.testing.assert_allclose(quat, rot.multiply(world, ref[1]), atol=TOL, rtol=0)


def test_motion_values_reads_every_number_exactly():
    rng = _rng(6)
    x = rng.standard_normal(6000) * 10.0 ** rng.integers(-8, 6, 6000)
    for fmt in ("{:.17g}", "{:.6f}", "{:.9e}"):
        text = "\n".join(" ".join(fmt.format(v) for v in row) for row in x.reshape(-1, 60))
        expected = np.array(text.split(), dtype=float)  # Python's correctly rounded parse
        np.testing.assert_array_equal(bvh_io._motion_values(text, 60), expected)
    exact = "\n".join(" ".join(repr(float(v)) for v in row) for row in x.reshape(-1, 60))
    np.testing.assert_array_equal(bvh_io._motion_values(exact, 60), x)


def test_motion_values_falls_back_for_odd_blocks():
    ok = "1 2 3\n4 5 6\n"
    np.testing.assert_array_equal(bvh_io._motion_values(ok, 3), np.arange(1.0, 7.0))
    # a short last frame, NaN and one value per line keep the token path's result
    np.testing.assert_array_equal(bvh_io._motion_values("1 2 3\n4 5\n", 3), [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(
        bvh_io._motion_values("1 nan 3\n", 3), np.array([1.0, np.nan, 3.0])
    )
    np.testing.assert_array_equal(bvh_io._motion_values("1\n2\n3\n", 3), [1.0, 2.0, 3.0])
    assert bvh_io._motion_values("1 2 x\n", 3) is None
    assert bvh_io._motion_values("1 2 NA\n", 3) is None  # not read as a missing value


def test_bvh_with_non_numeric_motion_is_refused(tmp_path):
    path = tmp_path / "bad.bvh"
    text = _synthetic_bvh(_rng(7))
    path.write_text(text[: text.rindex("\n", 0, -1)] + "\n1 2 abc\n")
    with pytest.raises(MotionFormatError, match="non-numeric"):
        bvh_io.parse_bvh(path)


def _canonical_corrections_ref(pos, bvh_quat, has, leaf_dirs):
    """The joint-by-joint version that ``bvh.canonical_corrections`` replaced."""
    sec = jp.secondary_axes(pos, jp.HINGE_FALLBACK_WEIGHT_AVERAGED, unit_hinge=False)
    corr = np.tile(rot.IDENTITY_WXYZ, (sk.NUM_JOINTS, 1))
    canon = np.empty_like(bvh_quat)
    for name, j in jp.J.items():
        if not has[j]:
            continue
        qb = bvh_quat[:, j]
        child = jp.PRIMARY_CHILD[name]
        if child is not None and has[jp.J[child]]:
            d_mean = jp._unit(rot.rotate_inverse(qb, pos[:, jp.J[child]] - pos[:, j])).mean(0)
        elif j in leaf_dirs:
            d_mean = leaf_dirs[j]
        else:
            rel = rot.multiply(rot.conjugate(qb), canon[:, sk.SMPL_PARENTS[j]])
            corr[j] = bvh_io._quat_mean(rel)
            canon[:, j] = rot.multiply(qb, corr[j])
            continue
        u, s, w = jp.canonical_direction(name), *sec[name]
        if name == "pelvis":
            u, d_mean = s, rot.rotate_inverse(qb, w).mean(axis=0)
            s, w = np.array([0.0, 1.0, 0.0]), jp._unit(pos[:, jp.J["spine3"]] - pos[:, j])
        w_mean = rot.rotate_inverse(qb, w).mean(axis=0)
        m = jp.frame_from_vectors(u, s, d_mean[None], w_mean[None])
        corr[j] = rot.from_matrix(m[0])
        canon[:, j] = rot.multiply(qb, corr[j])
    return corr


def _check_corrections(pos, quat, has, leaf_dirs):
    got = bvh_io.canonical_corrections(pos, quat, has, leaf_dirs)
    np.testing.assert_allclose(
        got, _canonical_corrections_ref(pos, quat, has, leaf_dirs), atol=TOL, rtol=0
    )


def test_canonical_corrections_equal_the_joint_by_joint_version():
    rng = _rng(8)
    t = 50
    pos, _ = sk.forward_kinematics(
        rng.normal(size=(t, 3)), _random_quats((t,), rng),
        rot.from_axis_angle(rng.normal(scale=0.3, size=(t, 24, 3))), sk.rest_offsets(),
    )  # fmt: skip
    quat = _random_quats((t, 24), rng)
    has = np.ones(24, bool)
    leaves = {j: rot.normalize(rng.normal(size=3)) for j in (15, 10, 11)}
    _check_corrections(pos, quat, has, leaves)  # bones and leaf directions
    has[[22, 23]] = False  # no hands: the wrists become leaves without a direction
    _check_corrections(pos, quat, has, {15: leaves[15]})  # fallback joints (feet, wrists)


def _spy_corrections(monkeypatch) -> list[tuple]:
    calls = []
    real = bvh_io.canonical_corrections

    def spy(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(bvh_io, "canonical_corrections", spy)
    return calls


REAL_BVH = (
    "bvh/lafan1/push1_subject2.bvh",
    "bvh/bandai_namco/dataset-1_bow_normal_001.bvh",
    "bvh/cmu/bvh11__131_01.bvh",
)


@pytest.mark.parametrize("rel", REAL_BVH)
def test_real_bvh_paths_equal_the_references(shared_motions, monkeypatch, rel):
    path = shared_motions / rel
    if not path.is_file():
        pytest.skip(f"{rel} is not in {shared_motions}")
    b = bvh_io.parse_bvh(path)
    tokens = path.read_text().partition("MOTION")[2].split("Frame Time:")[1].split()[1:]
    np.testing.assert_array_equal(b.motion.ravel(), np.array(tokens, dtype=float))
    for g, r in zip(bvh_io.forward_kinematics(b), _bvh_fk_reference(b), strict=True):
        np.testing.assert_allclose(g, r, atol=TOL, rtol=0)
    calls = _spy_corrections(monkeypatch)
    bvh_io.load_bvh(path)
    (args,) = calls
    _check_corrections(*args)


# ----------------------------------------------------------------------------- G1 kinematics


def _g1_qpos(t: int, rng) -> np.ndarray:
    qpos = np.zeros((t, 36))
    qpos[:, :3] = rng.normal(scale=0.5, size=(t, 3))
    qpos[:, 3:7] = _random_quats((t,), rng)
    qpos[:, 7:] = rng.uniform(-1.0, 1.0, size=(t, 29))
    return qpos


@pytest.mark.parametrize("chunk", [4096, 7])
def test_robot_fk_and_collision_poses_equal_mujoco_called_directly(monkeypatch, chunk):
    # chunk 7: the 25 frames in four passes of collision_geom_poses (the last one short)
    monkeypatch.setattr(geometry, "POSE_CHUNK_FRAMES", chunk)
    model = kinematic_model()
    qpos = _g1_qpos(25, _rng(9))
    coll = geometry.collision_geometry().coll
    pos, quat = robot_fk(model, qpos)
    gpos, gz = geometry.collision_geom_poses(qpos)
    for t in range(len(qpos)):
        data = mujoco.MjData(model)  # a fresh one per frame: nothing carried over
        data.qpos[:] = qpos[t]
        mujoco.mj_kinematics(model, data)
        np.testing.assert_array_equal(pos[t], data.xpos[1:])
        sign = np.where(np.sum(quat[t] * data.xquat[1:], axis=-1) < 0, -1.0, 1.0)[:, None]
        np.testing.assert_array_equal(quat[t], sign * data.xquat[1:])  # up to sign continuity
        np.testing.assert_array_equal(gpos[t], data.geom_xpos[coll])
        np.testing.assert_array_equal(gz[t], data.geom_xmat[coll, 6:9])
    assert geometry.collision_geom_poses(qpos[:0])[0].shape == (0, len(coll), 3)


def _lowest_point_z_ref(geom_pos_w, geom_zrow, below=np.inf):
    """The geom-by-geom version that ``geometry.lowest_point_z`` replaced."""
    geo = geometry.collision_geometry()
    zc = np.ascontiguousarray(geom_pos_w[..., 2].T)
    low = zc - geo.rbound[:, None]
    high = np.full_like(low, np.inf)
    meshes = []
    for gi, kind in enumerate(int(k) for k in geo.kind):
        rows = np.flatnonzero(low[gi] < below)
        if rows.size == 0:
            continue
        zr, z, size = geom_zrow[rows, gi], zc[gi, rows], geo.size[gi]
        if kind == mujoco.mjtGeom.mjGEOM_SPHERE:
            low[gi, rows] = high[gi, rows] = z - size[0]
        elif kind in (mujoco.mjtGeom.mjGEOM_CYLINDER, mujoco.mjtGeom.mjGEOM_CAPSULE):
            az = np.abs(zr[:, 2])
            cyl = kind == mujoco.mjtGeom.mjGEOM_CYLINDER
            rad = size[0] * (np.sqrt(np.clip(1 - az**2, 0, 1)) if cyl else 1.0)
            low[gi, rows] = high[gi, rows] = z - size[1] * az - rad
        else:
            hull = geo.hulls[gi]
            low[gi, rows] = z + zr @ hull.box_center - np.abs(zr) @ hull.box_half
            high[gi, rows] = z + (zr @ hull.rep.T).min(axis=1)
            meshes.append(gi)
    cut = np.minimum(high.min(axis=0), below)
    for gi in meshes:
        rows = np.flatnonzero(low[gi] < cut)
        if rows.size:
            low[gi, rows] = zc[gi, rows] + geo.hulls[gi].lowest(geom_zrow[rows, gi])
    return low.min(axis=0)


def test_lowest_point_z_equals_the_geom_by_geom_version():
    qpos = _g1_qpos(60, _rng(10))
    qpos[:, 2] = np.linspace(-0.2, 1.0, 60)
    pos, zrow = geometry.collision_geom_poses(qpos)
    for below in (np.inf, 0.0, 0.05, -0.3):
        np.testing.assert_array_equal(
            geometry.lowest_point_z(pos, zrow, below), _lowest_point_z_ref(pos, zrow, below)
        )
    pos[7, 3] = np.nan  # a NaN geom keeps its NaN bound in both
    np.testing.assert_array_equal(
        geometry.lowest_point_z(pos, zrow), _lowest_point_z_ref(pos, zrow)
    )


def test_beyondmimic_npz_holds_mujoco_fk_and_reference_velocities(tmp_path):
    qpos = _g1_qpos(30, _rng(11))
    qpos[:, 3:7] = rot.make_continuous(qpos[:, 3:7])
    motion = RobotMotion.from_qpos(qpos, fps=50.0)
    path = save_robot_motion(motion, tmp_path / "m.npz", format="beyondmimic")
    model = kinematic_model()
    pos, quat = np.empty((30, 30, 3)), np.empty((30, 30, 4))
    for t in range(30):
        data = mujoco.MjData(model)
        data.qpos[:] = motion.qpos[t]
        mujoco.mj_kinematics(model, data)
        pos[t], quat[t] = data.xpos[1:], data.xquat[1:]
    quat = _make_continuous_ref(quat)
    with np.load(path) as npz:
        np.testing.assert_array_equal(npz["body_pos_w"], pos.astype(np.float32))
        np.testing.assert_array_equal(npz["body_quat_w"], quat.astype(np.float32))
        np.testing.assert_array_equal(
            npz["body_ang_vel_w"], _angular_velocity_ref(quat, 1 / 50).astype(np.float32)
        )
        np.testing.assert_array_equal(
            npz["body_lin_vel_w"], np.gradient(pos, 1 / 50, axis=0).astype(np.float32)
        )
    # uncompressed zip members, as numpy's savez writes them
    with zipfile.ZipFile(path) as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_STORED}
    again = save_robot_motion(motion, tmp_path / "again.npz", format="beyondmimic")
    assert path.read_bytes() == again.read_bytes()  # deterministic bytes


# ----------------------------------------------------------------------------- NMR filter


def test_one_lowpass_call_equals_one_per_group():
    from retargeters.nmr.inference import lowpass

    rng = _rng(12)
    for n in (5, 40, 300):
        x = np.cumsum(rng.normal(size=(n, 36)), axis=0)
        joint = lowpass(x)
        for sl in (slice(0, 3), slice(3, 7), slice(7, 36)):
            np.testing.assert_array_equal(joint[:, sl], lowpass(x[:, sl]))


def _human_features_ref(joint_pos, pelvis_quat, floor_z):
    """The concatenating version that ``features.human_features`` replaced."""
    from retargeters.nmr import features as F

    b, t = joint_pos.shape[:2]
    root = joint_pos[:, :, 0]
    rel = joint_pos.copy()
    rel[..., :2] -= root[:, :, None, :2]
    rel[..., 2] -= floor_z[:, None, None]
    parts = [F._frame_diff(root[..., :2]), rot.to_6d(F.facing_quat(pelvis_quat))]
    parts += [rel.reshape(b, t, -1), F._frame_diff(joint_pos).reshape(b, t, -1)]
    return np.concatenate(parts, axis=-1).astype(np.float32)


def _to_canonical_pos_ref(pos, yaw, origin):
    from retargeters.nmr import features as F

    shifted = pos.copy()
    shifted[..., :2] -= origin.reshape((origin.shape[0],) + (1,) * (pos.ndim - 2) + (2,))
    return F.rotate_xy(shifted, -yaw)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nmr_window_features_equal_the_copying_versions(dtype):
    from retargeters.nmr import features as F

    rng = _rng(14)
    pos = rng.normal(size=(6, 16, 22, 3)).astype(dtype)
    quat, floor = _random_quats((6, 16), rng), rng.normal(size=6)
    yaw, origin = rng.normal(size=6), rng.normal(size=(6, 2))
    got = F.human_features(pos, quat, floor)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, _human_features_ref(pos, quat, floor))
    for p in (pos, pos[:, :, 0]):  # joints (B, T, J, 3) and one point per frame (B, T, 3)
        got = F.to_canonical_pos(p, yaw, origin)
        assert got.dtype == p.dtype
        np.testing.assert_array_equal(got, _to_canonical_pos_ref(p, yaw, origin))
