"""Human motion input: AMASS variants, body models, BVH, joint positions, bad input.

Every file here is synthetic and built in tmp_path (the real clips are walked by
tests/test_shared_motions_load.py).
"""

from __future__ import annotations

import json
import logging
import pickle

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from nmr_gym import body_model as bm
from nmr_gym import rotations as rot
from nmr_gym import skeleton as sk
from nmr_gym.errors import ModelNotFoundError, MotionError, MotionFormatError
from nmr_gym.io import _human_common as hc
from nmr_gym.io import positions as jp
from nmr_gym.io.bvh import forward_kinematics, parse_bvh
from nmr_gym.io.human_formats import (
    detect_format,
    human_from_local_rotations,
    load_human_motion,
)

RNG_SEED = 7
N_FRAMES = 40
Y_UP_TO_Z_UP_ROTVEC = np.array([np.pi / 2, 0.0, 0.0])


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.degrees(np.arccos(np.clip(np.sum(a * b, axis=-1), -1.0, 1.0)))


def _smpl_pose(n: int = N_FRAMES, seed: int = RNG_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Plausible SMPL axis-angles: root (n, 3) (AMASS z-up, turning) and body (n, 21, 3)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, n)
    yaw = Rotation.from_rotvec(np.outer(1.5 * t, [0.0, 0.0, 1.0]))
    root = (yaw * Rotation.from_rotvec(Y_UP_TO_Z_UP_ROTVEC)).as_rotvec()
    body = rng.normal(0.0, 0.15, (n, 21, 3)) * np.sin(np.pi * t)[:, None, None]
    flex = np.sin(np.pi * t) * 1.2  # knees and elbows bend up to ~70 deg
    for knee in (3, 4):  # body index = joint index - 1
        body[:, knee] = np.outer(flex, [1.0, 0.0, 0.0])
    body[:, 17] = np.outer(flex, [0.0, -1.0, 0.0])  # left elbow
    body[:, 18] = np.outer(flex, [0.0, 1.0, 0.0])  # right elbow
    return root, body


def _write_amass(
    path,
    *,
    width: int = 156,
    split: bool = False,
    fps_key="mocap_framerate",
    betas=None,
    gender=None,
    n: int = N_FRAMES,
    **extra,
):
    root, body = _smpl_pose(n)
    trans = np.column_stack([np.linspace(0, 1, n), np.zeros(n), np.full(n, 0.93)])
    data = {"trans": trans, fps_key: np.array(120.0)}
    if split:
        data.update(root_orient=root, pose_body=body.reshape(n, 63))
    else:
        poses = np.zeros((n, width))
        poses[:, :3], poses[:, 3:66] = root, body.reshape(n, 63)
        data["poses"] = poses
    if betas is not None:
        data["betas"] = np.asarray(betas, float)
    if gender is not None:
        data["gender"] = np.array(gender)
    data.update(extra)
    np.savez(path, **data)
    return path


# ----------------------------------------------------------------------------- AMASS


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(width=72),
        dict(width=156, fps_key="mocap_frame_rate", gender=b"female"),
        dict(width=165, betas=np.zeros(16), gender="male"),
        dict(split=True, fps_key="mocap_frame_rate", betas=np.zeros(16)),
        dict(width=66),
    ],
)
def test_amass_variants_give_the_same_body(tmp_path, kwargs):
    ref = load_human_motion(_write_amass(tmp_path / "ref.npz", width=156), ground="source")
    m = load_human_motion(_write_amass(tmp_path / "v.npz", **kwargs), ground="source", height=1.7)
    assert m.joint_names == sk.SMPL_JOINT_NAMES and m.fps == 120.0
    assert m.metadata["format"] == "amass"
    expected_type = {72: "smpl", 165: "smplx"}.get(kwargs.get("width"), "smplh")
    assert m.metadata["skeleton"] == expected_type
    # same pose on the same (built-in) skeleton: identical up to the template's pelvis offset
    rel = m.joint_pos[:, :22] - m.joint_pos[:, :1]
    rel_ref = ref.joint_pos[:, :22] - ref.joint_pos[:, :1]
    np.testing.assert_allclose(rel, rel_ref, atol=1e-9)
    assert np.all(rot.angle_between(m.joint_quat[:, :22], ref.joint_quat[:, :22]) < 1e-6)


def test_amass_pelvis_is_trans_plus_rest_pelvis(tmp_path):
    m = load_human_motion(_write_amass(tmp_path / "a.npz", width=72), ground="source")
    trans = np.load(tmp_path / "a.npz")["trans"]
    np.testing.assert_allclose(m.joint_pos[:, 0], trans + bm.TEMPLATE_PELVIS["smpl"], atol=1e-12)


def test_amass_hands_follow_the_wrist_for_smplh(tmp_path):
    m = load_human_motion(_write_amass(tmp_path / "a.npz", width=156), ground="source")
    for side in ("left", "right"):
        w, h = m.index(f"{side}_wrist"), m.index(f"{side}_hand")
        np.testing.assert_allclose(m.joint_quat[:, h], m.joint_quat[:, w], atol=1e-12)
        off = sk.rest_offsets(m.height)[h]
        np.testing.assert_allclose(
            m.joint_pos[:, h], m.joint_pos[:, w] + rot.rotate(m.joint_quat[:, w], off), atol=1e-9
        )


def test_amass_tpose_facing_x_has_the_canonical_orientation(tmp_path):
    n = 3
    root = Rotation.from_rotvec([0, 0, np.pi / 2]) * Rotation.from_rotvec(Y_UP_TO_Z_UP_ROTVEC)
    poses = np.zeros((n, 72))
    poses[:, :3] = root.as_rotvec()
    np.savez(tmp_path / "t.npz", poses=poses, trans=np.zeros((n, 3)), mocap_framerate=30)
    m = load_human_motion(tmp_path / "t.npz", ground="source")
    dots = np.abs(np.sum(m.joint_quat * sk.REST_QUAT_FACING_X, axis=-1))
    np.testing.assert_allclose(dots, 1.0, atol=1e-9)
    # facing +x: left hip on +y, head straight above the pelvis
    assert m.joint_pos[0, m.index("left_hip"), 1] > m.joint_pos[0, 0, 1]
    np.testing.assert_allclose(m.joint_pos[0, 15, :2], m.joint_pos[0, 0, :2], atol=1e-9)


def test_amass_y_up_source_is_detected_and_rotated(tmp_path):
    z_up = load_human_motion(_write_amass(tmp_path / "z.npz"), ground="source")
    root, body = _smpl_pose()
    to_y = Rotation.from_rotvec(-Y_UP_TO_Z_UP_ROTVEC)  # z-up world -> y-up world
    trans = np.load(tmp_path / "z.npz")["trans"]
    j0 = bm.TEMPLATE_PELVIS["smplh"]
    trans_y = to_y.apply(trans + j0) - j0  # the same pelvis path in a y-up world
    poses = np.zeros((N_FRAMES, 156))
    poses[:, :3] = (to_y * Rotation.from_rotvec(root)).as_rotvec()
    poses[:, 3:66] = body.reshape(N_FRAMES, 63)
    np.savez(tmp_path / "y.npz", poses=poses, trans=trans_y, mocap_framerate=120.0)
    for up in (None, "y"):
        y_up = load_human_motion(tmp_path / "y.npz", up_axis=up, ground="source")
        assert y_up.metadata["up_axis"] == "y"
        np.testing.assert_allclose(y_up.joint_pos, z_up.joint_pos, atol=1e-9)
    assert z_up.metadata["up_axis"] == "z" and z_up.metadata["up_axis_detected"]


def test_height_rule_and_override(tmp_path):
    with_betas = _write_amass(tmp_path / "b.npz", betas=[1.0] + [0.0] * 15)
    assert load_human_motion(with_betas).height == pytest.approx(1.76)
    assert load_human_motion(_write_amass(tmp_path / "n.npz")).height == sk.DEFAULT_HEIGHT
    m = load_human_motion(with_betas, height=1.5)
    assert m.height == 1.5
    # the built-in skeleton is scaled: thigh length follows the height
    thigh = np.linalg.norm(m.joint_pos[:, 4] - m.joint_pos[:, 1], axis=-1)
    np.testing.assert_allclose(thigh, np.linalg.norm(sk.rest_offsets(1.5)[4]), rtol=1e-9)


def test_ground_policy_moves_a_floating_clip_and_says_so(tmp_path):
    path = _write_amass(tmp_path / "a.npz")
    src = load_human_motion(path, ground="source")
    data = dict(np.load(path))
    data["trans"] = data["trans"] + [0.0, 0.0, 0.3]  # float 30 cm
    np.savez(tmp_path / "f.npz", **data)
    auto = load_human_motion(tmp_path / "f.npz")
    assert auto.metadata["ground_shift_m"] == pytest.approx(-0.3, abs=0.06)
    feet = auto.joint_pos[:, [7, 8, 10, 11], 2].min(axis=1)
    assert abs(np.percentile(feet, hc.GROUND_PERCENTILE)) < 0.05
    kept = load_human_motion(tmp_path / "f.npz", ground="source")
    np.testing.assert_allclose(kept.joint_pos[..., 2], src.joint_pos[..., 2] + 0.3, atol=1e-9)


def test_builtin_fallback_is_logged_once(tmp_path, caplog, monkeypatch):
    monkeypatch.delenv("NMR_GYM_SMPL_MODELS", raising=False)
    monkeypatch.setattr(bm, "_fallback_logged", False)
    path = _write_amass(tmp_path / "a.npz")
    with caplog.at_level(logging.INFO, logger="nmr_gym.body_model"):
        load_human_motion(path)
        load_human_motion(path)
    msgs = [r for r in caplog.records if "built-in" in r.getMessage()]
    assert len(msgs) == 1
    assert load_human_motion(path).metadata["body_model"] == "builtin:smplh"


# ----------------------------------------------------------------------------- smplx path


def _tiny_smpl_model(folder, n_verts: int = 60, seed: int = RNG_SEED) -> dict:
    """A synthetic SMPL model file in smplx's layout (smpl/SMPL_NEUTRAL.pkl)."""
    rng = np.random.default_rng(seed)
    rest = np.cumsum(sk.rest_offsets(1.7), axis=0)  # rough chain placement only
    rest = np.zeros((24, 3))
    for j in range(1, 24):
        rest[j] = rest[sk.SMPL_PARENTS[j]] + sk.rest_offsets(1.7)[j]
    owner = rng.integers(0, 24, n_verts)
    owner[:24] = np.arange(24)
    v_template = rest[owner] + rng.normal(0, 0.02, (n_verts, 3)) + [0.0, -0.3, 0.0]
    jreg = np.zeros((24, n_verts))
    for j in range(24):
        idx = np.flatnonzero(owner == j)
        jreg[j, idx] = rng.random(len(idx)) + 0.1
        jreg[j] /= jreg[j].sum()
    weights = np.zeros((n_verts, 24))
    weights[np.arange(n_verts), owner] = 1.0
    model = {
        "v_template": v_template,
        "shapedirs": rng.normal(0, 0.01, (n_verts, 3, 10)),
        "posedirs": rng.normal(0, 0.001, (n_verts, 3, 207)),
        "J_regressor": jreg,
        "weights": weights,
        "kintree_table": np.array([[4294967295, *sk.SMPL_PARENTS[1:]], list(range(24))]),
        "f": np.array([[0, 1, 2], [2, 3, 4]], dtype=np.int64),
    }
    (folder / "smpl").mkdir(parents=True)
    with open(folder / "smpl" / "SMPL_NEUTRAL.pkl", "wb") as f:
        pickle.dump(model, f)
    return model


def test_smplx_joints_are_exact_with_model_files(tmp_path):
    torch = pytest.importorskip("torch")
    from smplx.lbs import lbs

    model = _tiny_smpl_model(tmp_path / "models")
    betas = np.linspace(-1.0, 1.0, 10)
    path = _write_amass(tmp_path / "a.npz", width=72, betas=betas, gender="neutral")
    m = load_human_motion(path, smpl_models_dir=tmp_path / "models", ground="source")
    assert m.metadata["body_model"] == "smplx:smpl"
    data = np.load(path)
    poses = torch.tensor(data["poses"])
    f64 = torch.float64
    parents = torch.tensor([-1, *sk.SMPL_PARENTS[1:]])
    _, joints = lbs(
        torch.tensor(betas)[None].expand(len(poses), -1), poses,
        torch.tensor(model["v_template"], dtype=f64), torch.tensor(model["shapedirs"], dtype=f64),
        torch.tensor(model["posedirs"].reshape(-1, 207).T, dtype=f64),
        torch.tensor(model["J_regressor"], dtype=f64), parents,
        torch.tensor(model["weights"], dtype=f64),
    )  # fmt: skip
    expected = joints.numpy() + data["trans"][:, None]
    np.testing.assert_allclose(m.joint_pos, expected, atol=1e-5)  # smplx stores float32
    v = model["v_template"] + model["shapedirs"] @ betas
    assert m.height == pytest.approx(np.ptp(v[:, 1]), rel=1e-5)


def _tiny_smplh_model(folder, n_verts: int = 120, seed: int = RNG_SEED) -> dict:
    """A synthetic SMPL+H model (52 joints, 16 shape components) as smplh/SMPLH_MALE.npz."""
    rng = np.random.default_rng(seed)
    n_j = 52
    parents = [*sk.SMPL_PARENTS[:22]] + [20] * 15 + [21] * 15  # fingers on the wrists
    off = sk.rest_offsets(1.7)
    rest = np.zeros((n_j, 3))
    for j in range(1, n_j):
        hand_off = off[22 if j < 37 else 23] + rng.normal(0, 0.01, 3)
        rest[j] = rest[parents[j]] + (off[j] if j < 22 else hand_off)
    owner = np.concatenate([np.arange(n_j), rng.integers(0, n_j, n_verts - n_j)])
    jreg = np.zeros((n_j, n_verts))
    for j in range(n_j):
        idx = np.flatnonzero(owner == j)
        jreg[j, idx] = 1.0 / len(idx)
    weights = np.zeros((n_verts, n_j))
    weights[np.arange(n_verts), owner] = 1.0
    model = dict(
        v_template=rest[owner] + rng.normal(0, 0.02, (n_verts, 3)),
        shapedirs=rng.normal(0, 0.01, (n_verts, 3, 16)),
        posedirs=rng.normal(0, 1e-3, (n_verts, 3, (n_j - 1) * 9)),
        J_regressor=jreg, weights=weights,
        kintree_table=np.array([[4294967295, *parents[1:]], list(range(n_j))]),
        f=np.array([[0, 1, 2]]), hands_componentsl=np.eye(45), hands_componentsr=np.eye(45),
        hands_meanl=np.zeros(45), hands_meanr=np.zeros(45),
    )  # fmt: skip
    (folder / "smplh").mkdir(parents=True)
    np.savez(folder / "smplh" / "SMPLH_MALE.npz", **model)
    return model


def test_smplh_joints_match_smplx_and_use_all_16_betas(tmp_path):
    torch = pytest.importorskip("torch")
    import smplx

    model = _tiny_smplh_model(tmp_path / "models")
    betas = np.linspace(-1.0, 1.0, 16)
    path = _write_amass(tmp_path / "a.npz", width=156, betas=betas, gender="male")
    m = load_human_motion(path, smpl_models_dir=tmp_path / "models", ground="source")
    assert m.metadata["body_model"] == "smplx:smplh"
    data = np.load(path)
    n = len(data["poses"])
    # smplx itself keeps 10 of this file's 16 shape components: compare with betas[10:] = 0
    short = betas.copy()
    short[10:] = 0.0
    np.savez(tmp_path / "b.npz", **{**dict(data), "betas": short})
    m10 = load_human_motion(tmp_path / "b.npz", smpl_models_dir=tmp_path / "models",
                            ground="source")  # fmt: skip
    sm = smplx.create(str(tmp_path / "models" / "smplh" / "SMPLH_MALE.npz"), model_type="smplh",
                      gender="male", use_pca=False, ext="npz")  # fmt: skip
    from smplx.lbs import lbs

    pose = torch.tensor(data["poses"], dtype=torch.float32)  # hands_mean is zero here
    _, joints = lbs(
        torch.tensor(short[:10], dtype=torch.float32)[None].expand(n, -1), pose,
        sm.v_template, sm.shapedirs, sm.posedirs, sm.J_regressor, sm.parents, sm.lbs_weights,
    )  # fmt: skip
    expected = joints.numpy()[:, :22] + data["trans"][:, None]
    np.testing.assert_allclose(m10.joint_pos[:, :22], expected, atol=1e-5)
    # all 16 betas move the rest joints: J = J_regressor (v_template + shapedirs betas)
    rest = model["J_regressor"] @ (model["v_template"] + model["shapedirs"] @ betas)
    np.testing.assert_allclose(m.joint_pos[0, 0], rest[0] + data["trans"][0], atol=1e-6)
    shift = m.joint_pos[:, 1] - m10.joint_pos[:, 1]
    assert np.linalg.norm(shift, axis=-1).min() > 1e-4
    # SMPL's hand joint sits at the finger-base centroid, with the wrist's orientation
    np.testing.assert_allclose(m.joint_quat[:, 22], m.joint_quat[:, 20], atol=1e-12)


def test_missing_model_files_name_the_folder_and_files(tmp_path, monkeypatch):
    path = _write_amass(tmp_path / "a.npz", gender="female")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError) as exc:
        load_human_motion(path, smpl_models_dir=tmp_path / "empty")
    assert str(tmp_path / "empty") in str(exc.value) and "SMPLH_FEMALE" in str(exc.value)
    monkeypatch.setenv("NMR_GYM_SMPL_MODELS", str(tmp_path / "nowhere"))
    with pytest.raises(ModelNotFoundError, match="nowhere"):
        load_human_motion(path)


# ----------------------------------------------------------------------------- canonical motion


def _canonical_motion(n: int = 60, seed: int = RNG_SEED):
    """A plausible canonical motion on the built-in skeleton via human_from_local_rotations."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n)
    local = rot.from_axis_angle(rng.normal(0, 0.12, (n, 24, 3)) * np.sin(np.pi * t)[:, None, None])
    flex = 0.2 + 1.1 * np.sin(2 * np.pi * t) ** 2
    ax = lambda v, a: rot.from_axis_angle(np.outer(a, v))  # noqa: E731
    for knee in (4, 5):
        local[:, knee] = ax([1.0, 0, 0], flex)
    local[:, 18] = ax([0, -1.0, 0], flex)
    local[:, 19] = ax([0, 1.0, 0], flex)
    local[:, 16] = ax([0, 0, -1.0], 1.1 * np.ones(n))  # arms lowered from the T-pose
    local[:, 17] = ax([0, 0, 1.0], 1.1 * np.ones(n))
    yaw = rot.from_axis_angle(np.outer(2.0 * t, [0, 0, 1.0]))
    root_quat = rot.multiply(yaw, sk.REST_QUAT_FACING_X)
    root_pos = np.column_stack([t, 0.2 * t, np.full(n, sk.rest_pelvis_height(1.7))])
    return human_from_local_rotations(root_pos, root_quat, local, 30.0, height=1.7)


def test_human_from_local_rotations_rest_pose():
    n = 2
    local = np.tile(rot.IDENTITY_WXYZ, (n, 24, 1))
    m = human_from_local_rotations(
        np.zeros((n, 3)), np.tile(sk.REST_QUAT_FACING_X, (n, 1)), local, 30.0
    )
    np.testing.assert_allclose(np.abs(m.joint_quat @ sk.REST_QUAT_FACING_X), 1.0, atol=1e-12)
    with pytest.raises(MotionError, match="not unit length"):
        human_from_local_rotations(
            np.zeros((n, 3)), np.tile(sk.REST_QUAT_FACING_X, (n, 1)), np.zeros((n, 24, 4)),
            30.0, source="gen",
        )  # fmt: skip


# ----------------------------------------------------------------------------- joint positions


def test_positions_roundtrip_estimates_orientations(tmp_path):
    ref = _canonical_motion()
    order = np.random.default_rng(RNG_SEED).permutation(22)  # hands omitted, shuffled
    names = [f"j_{sk.SMPL_JOINT_NAMES[i]}" for i in order]
    np.savez(
        tmp_path / "p.npz", joint_pos=ref.joint_pos[:, order] * 100.0, joint_names=names, fps=30
    )
    jmap = {n: f"j_{n}" for n in sk.SMPL_JOINT_NAMES[:22]}
    m = load_human_motion(tmp_path / "p.npz", joint_map=jmap, ground="source")
    assert m.metadata["orientations_estimated"] and m.metadata["units"] == "cm"
    assert m.height == pytest.approx(1.7, rel=1e-6)
    np.testing.assert_allclose(m.joint_pos[:, :22], ref.joint_pos[:, :22], atol=1e-9)
    ang = np.degrees(rot.angle_between(m.joint_quat, ref.joint_quat))
    for name in ("pelvis", "left_hip", "left_knee", "right_knee", "left_elbow", "right_shoulder"):
        assert np.median(ang[:, m.index(name)]) < 15.0, name
    _check_bone_directions(m)


def test_positions_missing_joint_is_named(tmp_path):
    ref = _canonical_motion()
    np.savez(tmp_path / "p.npz", joint_pos=ref.joint_pos[:, 1:], fps=30,
             joint_names=list(sk.SMPL_JOINT_NAMES[1:]))  # fmt: skip
    with pytest.raises(MotionFormatError, match="pelvis") as exc:
        load_human_motion(tmp_path / "p.npz")
    assert "p.npz" in str(exc.value)


def _check_bone_directions(m, max_deg: float = 3.0):
    """Each limb joint's frame points its canonical bone direction at its child."""
    for name in ("left_hip", "right_hip", "left_knee", "right_knee", "left_shoulder",
                 "right_shoulder", "left_elbow", "right_elbow"):  # fmt: skip
        j, c = m.index(name), m.index(jp.PRIMARY_CHILD[name])
        d = m.joint_pos[:, c] - m.joint_pos[:, j]
        e = rot.rotate(m.joint_quat[:, j], jp.canonical_direction(name))
        assert _angle_deg(d, e).max() < max_deg, name


# ----------------------------------------------------------------------------- BVH


def _bvh_text(m, *, scale: float = 100.0, seed: int = RNG_SEED, names=None, drop_end=False):
    """A BVH (y up, cm) of a canonical motion on a rig with arbitrary joint frames and orders.

    Each joint's BVH frame is its canonical frame times a random constant rotation A_j (a rig's
    joint orient), so the loader must recover q = Q_bvh ⊗ A_j.
    """
    rng = np.random.default_rng(seed)
    n = m.n_frames
    idx = list(range(22))
    names = names or {j: f"J_{sk.SMPL_JOINT_NAMES[j]}" for j in idx}
    a = rot.normalize(rng.normal(size=(22, 4)))
    to_y = rot.conjugate(sk.Y_UP_TO_Z_UP)
    gq = rot.multiply(to_y, rot.multiply(m.joint_quat[:, :22], rot.conjugate(a)))
    gp = rot.rotate(to_y, m.joint_pos[:, :22]) * scale
    orders = ["ZYX", "ZXY", "XYZ", "YXZ"]
    lines, cols = ["HIERARCHY"], []
    children = {j: [c for c in idx if sk.SMPL_PARENTS[c] == j] for j in idx}

    def emit(j, depth):
        pad = "  " * depth
        p = sk.SMPL_PARENTS[j]
        if p < 0:
            lines.append(f"{pad}ROOT {names[j]}")
            off = gp[0, j]
        else:
            lines.append(f"{pad}JOINT {names[j]}")
            off = rot.rotate_inverse(gq[0, p], gp[0, j] - gp[0, p])
        order = orders[j % 4]
        lines.append(pad + "{")
        lines.append(f"{pad}  OFFSET {off[0]:.9f} {off[1]:.9f} {off[2]:.9f}")
        chans = [f"{c}rotation" for c in order]
        local = gq[:, j] if p < 0 else rot.multiply(rot.conjugate(gq[:, p]), gq[:, j])
        eul = Rotation.from_quat(rot.wxyz_to_xyzw(local)).as_euler(order, degrees=True)
        if p < 0:
            chans = ["Xposition", "Yposition", "Zposition"] + chans
            cols.append(gp[:, j])
        cols.append(eul)
        lines.append(f"{pad}  CHANNELS {len(chans)} {' '.join(chans)}")
        for c in children[j]:
            emit(c, depth + 1)
        if not children[j] and not drop_end:  # End Site along the canonical leaf direction
            name = sk.SMPL_JOINT_NAMES[j]
            u = jp.canonical_direction(name) if jp.PRIMARY_CHILD[name] else jp.LEAF_DIRECTION[name]
            e = rot.rotate(a[j], u) * 0.1 * scale
            lines.extend([f"{pad}  End Site", pad + "  {", f"{pad}    OFFSET {e[0]} {e[1]} {e[2]}",
                          pad + "  }"])  # fmt: skip
        lines.append(pad + "}")

    emit(0, 0)
    data = np.concatenate(cols, axis=1)
    lines += ["MOTION", f"Frames: {n}", f"Frame Time: {1.0 / m.fps:.8f}"]
    lines += [" ".join(f"{x:.9f}" for x in row) for row in data]
    return "\n".join(lines) + "\n", a


def test_bvh_arbitrary_rig_recovers_the_canonical_motion(tmp_path):
    ref = _canonical_motion()
    text, a = _bvh_text(ref)
    (tmp_path / "rig.bvh").write_text(text)
    jmap = {sk.SMPL_JOINT_NAMES[j]: f"J_{sk.SMPL_JOINT_NAMES[j]}" for j in range(22)}
    for given in (jmap, {"skeleton": "rig", "joints": jmap}):
        m = load_human_motion(tmp_path / "rig.bvh", joint_map=given, ground="source")
        assert m.metadata["units"] == "cm" and m.fps == pytest.approx(30.0)
        assert m.height == pytest.approx(1.7, rel=1e-6)
        np.testing.assert_allclose(m.joint_pos[:, :22], ref.joint_pos[:, :22], atol=1e-6)
        _check_bone_directions(m, max_deg=0.01)
        # every body joint frame recovered to within a few degrees, whatever the rig's frames
        ang = np.degrees(rot.angle_between(m.joint_quat, ref.joint_quat))
        assert ang[:, :22].max() < 3.0
    (tmp_path / "map.json").write_text(json.dumps({"joints": jmap}))
    m2 = load_human_motion(tmp_path / "rig.bvh", joint_map=tmp_path / "map.json")
    assert m2.metadata["skeleton"] == "custom"


def test_bvh_channel_orders_match_a_reference_fk(tmp_path):
    ref = _canonical_motion(n=5)
    text, _ = _bvh_text(ref)
    (tmp_path / "rig.bvh").write_text(text)
    bvh = parse_bvh(tmp_path / "rig.bvh")
    pos, quat = forward_kinematics(bvh)
    # per-frame reference with scipy matrices, one joint at a time
    col = 0
    mats, ps = {}, {}
    for j, chans in enumerate(bvh.channels):
        vals = bvh.motion[2, col : col + len(chans)]
        col += len(chans)
        order = "".join(c[0] for c in chans if c.endswith("rotation"))
        r = Rotation.from_euler(order, vals[-3:], degrees=True).as_matrix()
        t = vals[:3] if len(chans) == 6 else bvh.offsets[j]
        p = bvh.parents[j]
        mats[j] = r if p < 0 else mats[p] @ r
        ps[j] = t if p < 0 else ps[p] + mats[p] @ t
        np.testing.assert_allclose(pos[2, j], ps[j], atol=1e-9)
        np.testing.assert_allclose(rot.to_matrix(quat[2, j]), mats[j], atol=1e-9)


@pytest.mark.parametrize("scale,unit", [(1.0, "m"), (100.0, "cm"), (1 / 0.0254, "inch")])
def test_bvh_units_are_detected(tmp_path, scale, unit):
    ref = _canonical_motion(n=4)
    text, _ = _bvh_text(ref, scale=scale)
    (tmp_path / "u.bvh").write_text(text)
    jmap = {sk.SMPL_JOINT_NAMES[j]: f"J_{sk.SMPL_JOINT_NAMES[j]}" for j in range(22)}
    m = load_human_motion(tmp_path / "u.bvh", joint_map=jmap, ground="source")
    assert m.metadata["units"] == unit
    np.testing.assert_allclose(m.joint_pos[:, :22], ref.joint_pos[:, :22], atol=1e-6)


def test_bvh_shipped_map_is_detected_from_joint_names(tmp_path):
    ref = _canonical_motion(n=30)
    lafan = json.loads(
        (
            __import__("importlib").resources.files("nmr_gym.data.bvh_maps") / "lafan1.json"
        ).read_text()
    )["joints"]
    names = {sk.SMPL_JOINT_NAMES.index(k): v for k, v in lafan.items()}
    text, _ = _bvh_text(ref, names=names, drop_end=True)
    (tmp_path / "l.bvh").write_text(text)
    m = load_human_motion(tmp_path / "l.bvh", ground="source")
    assert m.metadata["skeleton"] == "lafan1"
    np.testing.assert_allclose(m.joint_pos[:, :22], ref.joint_pos[:, :22], atol=1e-6)
    _check_bone_directions(m, max_deg=0.01)


def test_bvh_unknown_joint_names_without_map(tmp_path):
    ref = _canonical_motion(n=4)
    text, _ = _bvh_text(ref)
    (tmp_path / "odd.bvh").write_text(text)
    with pytest.raises(MotionFormatError) as exc:
        load_human_motion(tmp_path / "odd.bvh")
    msg = str(exc.value)
    assert "odd.bvh" in msg and "unknown skeleton" in msg and "J_pelvis" in msg
    assert "lacks" in msg  # lists the names the closest map misses
    bad_map = {n: "Nope" if n == "pelvis" else f"J_{n}" for n in sk.SMPL_JOINT_NAMES[:22]}
    with pytest.raises(MotionFormatError, match="Nope"):
        load_human_motion(tmp_path / "odd.bvh", joint_map=bad_map)


# ----------------------------------------------------------------------------- bad input


def _bvh_variant(tmp_path, name, mutate):
    ref = _canonical_motion(n=4)
    text, _ = _bvh_text(ref)
    p = tmp_path / name
    p.write_text(mutate(text))
    return p


JMAP22 = {n: f"J_{n}" for n in sk.SMPL_JOINT_NAMES[:22]}


@pytest.mark.parametrize(
    "name,mutate,match",
    [
        ("trunc.bvh", lambda t: t[: int(len(t) * 0.8)], "truncated"),
        ("nan.bvh", lambda t: t[: t.rindex("\n", 0, -1)] + "\n" + "nan " * 69 + "\n", "NaN"),
        ("zero_dt.bvh", lambda t: t.replace("Frame Time: 0.03333333", "Frame Time: 0"), "> 0"),
        (
            "one.bvh",
            lambda t: (
                t.split("MOTION")[0]
                + "MOTION\nFrames: 1\nFrame Time: 0.1\n"
                + t.split("\n")[-2]
                + "\n"
            ),
            "at least 2 frames",
        ),
        ("nohier.bvh", lambda t: "hello world\n", "not a BVH"),
        ("brace.bvh", lambda t: t.replace("MOTION", "}\nMOTION", 1), "unbalanced"),
    ],
)
def test_bad_bvh_files(tmp_path, name, mutate, match):
    p = _bvh_variant(tmp_path, name, mutate)
    with pytest.raises(MotionFormatError, match=match) as exc:
        load_human_motion(p, joint_map=JMAP22)
    assert name in str(exc.value)


def _amass_ok(tmp_path):
    return _write_amass(tmp_path / "ok.npz")


def _resave(tmp_path, name, **changes):
    data = dict(np.load(_amass_ok(tmp_path)))
    for k, v in changes.items():
        if v is None:
            data.pop(k)
        else:
            data[k] = v
    np.savez(tmp_path / name, **data)
    return tmp_path / name


def test_bad_npz_missing_file(tmp_path):
    with pytest.raises(MotionFormatError, match="no such file") as exc:
        load_human_motion(tmp_path / "none.npz")
    assert "none.npz" in str(exc.value)


def test_bad_npz_not_a_zip(tmp_path):
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(MotionFormatError, match="not a zip") as exc:
        load_human_motion(tmp_path / "text.npz", format="amass")
    assert "text.npz" in str(exc.value)


def test_bad_npz_truncated(tmp_path):
    blob = _amass_ok(tmp_path).read_bytes()
    (tmp_path / "cut.npz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(MotionFormatError, match="truncated") as exc:
        load_human_motion(tmp_path / "cut.npz", format="amass")
    assert "cut.npz" in str(exc.value)


@pytest.mark.parametrize(
    "changes,match",
    [
        (dict(trans=None), "missing key 'trans'"),
        (dict(poses=None), "needs 'poses' or 'root_orient'"),
        (dict(mocap_framerate=None), "missing key"),
        (dict(poses=np.zeros((N_FRAMES, 70))), "expected \\(T, 72\\)"),
        (dict(trans=np.zeros((N_FRAMES, 2))), "trans has shape"),
        (dict(mocap_framerate=np.array(0.0)), "fps must be"),
        (dict(mocap_framerate=np.array(-30.0)), "fps must be"),
        (dict(gender=np.array("male"), betas=np.array([np.inf])), "non-finite"),
    ],
)
def test_bad_amass_content(tmp_path, changes, match):
    p = _resave(tmp_path, "bad.npz", **changes)
    with pytest.raises(MotionError, match=match) as exc:
        load_human_motion(p)
    assert "bad.npz" in str(exc.value)


def test_bad_amass_nan_and_single_frame(tmp_path):
    poses = np.load(_amass_ok(tmp_path))["poses"].copy()
    poses[5, 10] = np.nan
    p = _resave(tmp_path, "nan.npz", poses=poses)
    with pytest.raises(MotionError, match="non-finite.*frame 5") as exc:
        load_human_motion(p)
    assert "nan.npz" in str(exc.value)
    one = _write_amass(tmp_path / "one.npz", n=1)
    with pytest.raises(MotionError, match="at least 2 frames") as exc:
        load_human_motion(one)
    assert "one.npz" in str(exc.value)


def test_bad_positions_content(tmp_path):
    ref = _canonical_motion(n=4)
    pos = ref.joint_pos.copy()
    pos[2, 3, 1] = np.inf
    np.savez(tmp_path / "inf.npz", joint_pos=pos, joint_names=list(sk.SMPL_JOINT_NAMES), fps=30)
    with pytest.raises(MotionError, match="non-finite") as exc:
        load_human_motion(tmp_path / "inf.npz")
    assert "inf.npz" in str(exc.value)
    np.savez(tmp_path / "fps.npz", joint_pos=ref.joint_pos, joint_names=list(sk.SMPL_JOINT_NAMES),
             fps=0)  # fmt: skip
    with pytest.raises(MotionError, match="fps"):
        load_human_motion(tmp_path / "fps.npz")


def test_format_detection(tmp_path):
    assert detect_format(_amass_ok(tmp_path)) == "amass"
    np.savez(tmp_path / "x.npz", foo=np.zeros(3))
    with pytest.raises(MotionFormatError, match="no known human motion format"):
        load_human_motion(tmp_path / "x.npz")
    (tmp_path / "m.txt").write_text("hello")
    with pytest.raises(MotionFormatError, match="unknown human motion format"):
        load_human_motion(tmp_path / "m.txt")


# ----------------------------------------------------------------------------- ASF/AMC

_ASF = """:version 1.10
:units
  mass 1.0
  length 0.45
  angle deg
:root
   order TX TY TZ RX RY RZ
   axis XYZ
   position 0 0 0
   orientation 0 0 0
:bonedata
  begin
     id 1
     name lfemur
     direction 0 -1 0
     length 7.0
     axis 0 0 20 XYZ
    dof rx ry rz
  end
  begin
     id 2
     name ltibia
     direction 0 -1 0
     length 7.0
     axis 0 0 20 XYZ
    dof rx
  end
:hierarchy
  begin
    root lfemur
    lfemur ltibia
  end
"""


def test_asf_amc_forward_kinematics_and_errors(tmp_path):
    from nmr_gym.io.asf_amc import forward_kinematics, parse_amc, parse_asf

    (tmp_path / "01.asf").write_text(_ASF)
    frames = ["1", "root 1 2 3 0 0 0", "lfemur 0 0 0", "ltibia 90",
              "2", "root 1 2 3 0 90 0", "lfemur 0 0 0", "ltibia 0"]  # fmt: skip
    (tmp_path / "01_01.amc").write_text(":FULLY-SPECIFIED\n:DEGREES\n" + "\n".join(frames))
    asf = parse_asf(tmp_path / "01.asf")
    names, pos, quat = forward_kinematics(asf, parse_amc(tmp_path / "01_01.amc", asf))
    assert names == ["root", "lfemur", "ltibia"]
    np.testing.assert_allclose(pos[:, 0], [[1, 2, 3], [1, 2, 3]])
    np.testing.assert_allclose(pos[0, 2], [1, -5, 3])  # knee: 7 units below the hip
    # frame 1: the knee bends 90 deg about the bone's x axis (rotated 20 deg about z)
    c = Rotation.from_euler("z", 20, degrees=True)
    local = c * Rotation.from_euler("x", 90, degrees=True) * c.inv()
    np.testing.assert_allclose(rot.to_matrix(quat[0, 2]), local.as_matrix(), atol=1e-9)
    (tmp_path / "01_02.amc").write_text("1\nroot 1 2 3 0 0 0\nlfemur 0 0\nltibia 5\n")
    with pytest.raises(MotionFormatError, match="lfemur") as exc:
        parse_amc(tmp_path / "01_02.amc", asf)
    assert "01_02.amc" in str(exc.value)
    with pytest.raises(MotionFormatError, match="unknown skeleton"):
        load_human_motion(tmp_path / "01_01.amc")
