"""Robot motion readers and writers: round trips, content detection, and every bad input."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nmr_gym import rotations as rot
from nmr_gym.errors import MotionFormatError, NmrGymError, UnknownNameError
from nmr_gym.g1 import spec
from nmr_gym.io import detect, load_motion
from nmr_gym.io import robot_formats as rf
from nmr_gym.io.robot_formats import (
    UntrustedPickleError,
    load_robot_motion,
    save_robot_motion,
)
from nmr_gym.motion import RobotMotion

N_FRAMES = 40
FPS = 30.0
#: BeyondMimic files are float32.
FLOAT32_ATOL = 1e-5


def make_motion(n: int = N_FRAMES, fps: float = FPS, yaw0: float = 0.3) -> RobotMotion:
    """A turning, walking G1 motion with every joint moving."""
    t = np.arange(n) / fps
    root = np.stack([0.5 * t, 0.1 * np.sin(t), 0.78 + 0.02 * np.sin(3 * t)], axis=1)
    yaw = rot.from_axis_angle(np.stack([0 * t, 0 * t, yaw0 + 0.8 * t], axis=1))
    tilt = rot.from_axis_angle(np.stack([0.1 * np.sin(t), 0.05 * np.cos(t), 0 * t], axis=1))
    joints = 0.3 * np.sin(2 * t[:, None] + np.arange(spec.NUM_JOINTS)[None] * 0.2)
    return RobotMotion(
        fps,
        root,
        rot.multiply(yaw, tilt),
        joints,
        source="test",
        metadata={"name": "synthetic", "betas": np.arange(3.0)},
    )


@pytest.fixture(scope="module")
def motion() -> RobotMotion:
    return make_motion()


SUFFIX = {"beyondmimic": ".npz", "csv": ".csv", "gmr": ".pkl", "nmr": ".nmr.npz"}


def _assert_same(a: RobotMotion, b: RobotMotion, atol: float) -> None:
    assert b.n_frames == a.n_frames
    assert b.fps == pytest.approx(a.fps)
    np.testing.assert_allclose(b.root_pos, a.root_pos, atol=atol)
    np.testing.assert_allclose(b.joint_pos, a.joint_pos, atol=atol)
    assert rot.angle_between(a.root_quat, b.root_quat).max() < 10 * atol


# ------------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("fmt", rf.FORMATS)
def test_round_trip_by_extension(tmp_path, motion, fmt):
    path = tmp_path / f"m{SUFFIX[fmt]}"
    assert save_robot_motion(motion, path) == path
    assert detect(path) == ("robot", fmt)
    back = load_robot_motion(path, trusted=True)
    assert back.metadata["format"] == fmt and back.source == str(path)
    _assert_same(motion, back, FLOAT32_ATOL if fmt == "beyondmimic" else 1e-12)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary left


@pytest.mark.parametrize("fmt", rf.FORMATS)
def test_explicit_format_and_odd_name_writes_exactly_that_file(tmp_path, motion, fmt):
    path = tmp_path / "motion.data"
    save_robot_motion(motion, path, fmt)
    assert [p.name for p in tmp_path.iterdir()] == ["motion.data"]  # np.savez adds no .npz
    assert detect(path) == ("robot", fmt)
    _assert_same(motion, load_robot_motion(path, fmt, trusted=True), FLOAT32_ATOL)


def test_nmr_keeps_metadata_and_fps(tmp_path):
    m = make_motion(fps=47.5)
    path = save_robot_motion(m, tmp_path / "m.nmr.npz")
    back = load_robot_motion(path)
    assert back.fps == 47.5
    assert back.metadata["name"] == "synthetic" and back.metadata["betas"] == [0.0, 1.0, 2.0]
    assert back.metadata["source"] == "test"
    with np.load(path, allow_pickle=False) as data:  # nothing in it needs pickle
        assert tuple(data["joint_names"]) == spec.JOINT_NAMES
        assert int(data["format_version"]) == rf.NMR_FORMAT_VERSION


def test_nmr_reorders_joints_by_name(tmp_path, motion):
    perm = np.random.default_rng(0).permutation(spec.NUM_JOINTS)
    path = tmp_path / "m.nmr.npz"
    save_robot_motion(motion, path)
    data = dict(np.load(path, allow_pickle=False))
    data["joint_names"] = data["joint_names"][perm]
    data["joint_pos"] = data["joint_pos"][:, perm]
    np.savez(path, **data)
    np.testing.assert_allclose(load_robot_motion(path).joint_pos, motion.joint_pos)


def test_beyondmimic_content_is_fk_in_depth_first_order(tmp_path, motion):
    path = save_robot_motion(motion, tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as data:
        assert data["body_pos_w"].shape == (N_FRAMES, spec.NUM_BODIES, 3)
        assert data["body_quat_w"].shape == (N_FRAMES, spec.NUM_BODIES, 4)
        for key in ("joint_vel", "body_lin_vel_w", "body_ang_vel_w"):
            assert data[key].dtype == np.float32
        np.testing.assert_allclose(data["body_pos_w"], motion.body_pos_w, atol=FLOAT32_ATOL)
        np.testing.assert_allclose(data["body_pos_w"][:, 0], motion.root_pos, atol=FLOAT32_ATOL)
        np.testing.assert_allclose(data["joint_vel"], motion.joint_vel, atol=1e-4)
        assert float(data["fps"][0]) == FPS
        assert tuple(data["body_names"]) == spec.BODY_NAMES
    # the feet are the two ankle-roll links, well below the pelvis
    feet = [spec.body_index(b) for b in spec.FOOT_BODIES]
    assert (motion.body_pos_w[:, feet, 2] < motion.root_pos[:, None, 2] - 0.4).all()


def _breadth_first_order() -> list[int]:
    from nmr_gym.g1.model import kinematic_model

    model = kinematic_model()
    parent = model.body_parentid[1:] - 1  # body index in spec order; pelvis parent -> -1
    order, frontier = [], [0]
    while frontier:
        order += frontier
        frontier = [b for p in frontier for b in range(len(parent)) if parent[b] == p and b != p]
    return order


def test_beyondmimic_breadth_first_file_is_rejected(tmp_path, motion):
    order = _breadth_first_order()
    assert sorted(order) == list(range(spec.NUM_BODIES)) and order != list(range(30))
    path = save_robot_motion(motion, tmp_path / "m.npz")
    data = dict(np.load(path, allow_pickle=False))
    del data["body_names"]  # an Isaac-Lab-style file does not name its bodies
    for key in ("body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w"):
        data[key] = data[key][:, order]
    np.savez(path, **data)
    with pytest.raises(MotionFormatError, match="depth-first") as err:
        load_robot_motion(path)
    assert str(path) in str(err.value) and "forward kinematics" in str(err.value)


def test_beyondmimic_wrong_body_names_are_rejected(tmp_path, motion):
    path = save_robot_motion(motion, tmp_path / "m.npz")
    data = dict(np.load(path, allow_pickle=False))
    data["body_names"] = data["body_names"][_breadth_first_order()]
    np.savez(path, **data)
    with pytest.raises(MotionFormatError, match="body_names"):
        load_robot_motion(path)


def test_gmr_pickle_layout(tmp_path, motion):
    path = save_robot_motion(motion, tmp_path / "m.pkl")
    with open(path, "rb") as f:
        data = pickle.load(f)
    assert set(data) == {
        "fps",
        "root_pos",
        "root_rot",
        "dof_pos",
        "local_body_pos",
        "link_body_list",
    }
    np.testing.assert_allclose(data["root_rot"], rot.wxyz_to_xyzw(motion.root_quat))
    assert data["fps"] == 30 and isinstance(data["fps"], int)


@pytest.mark.parametrize("order", rf.QUAT_ORDERS)
def test_csv_quat_order(tmp_path, motion, order):
    path = save_robot_motion(motion, tmp_path / "m.csv", quat_order=order)
    rows = np.loadtxt(path, delimiter=",")
    assert rows.shape == (N_FRAMES, rf.CSV_COLUMNS)
    w_col = 3 if order == "wxyz" else 6
    np.testing.assert_allclose(rows[:, w_col], motion.root_quat[:, 0])
    back = load_robot_motion(path, quat_order=order, fps=50)
    assert back.fps == 50
    np.testing.assert_allclose(back.root_quat, motion.root_quat, atol=1e-12)


def test_csv_default_order_refuses_an_implausible_reading(tmp_path):
    m = make_motion(yaw0=1.5)  # facing about +y: read in the wrong order the pelvis lies down
    path = save_robot_motion(m, tmp_path / "m.csv", quat_order="xyzw")
    with pytest.raises(MotionFormatError, match="quat_order='xyzw'"):
        load_robot_motion(path)
    # an explicit order is trusted
    assert load_robot_motion(path, quat_order="wxyz").n_frames == N_FRAMES
    _assert_same(m, load_robot_motion(path, quat_order="xyzw"), 1e-12)


def test_resample_then_save(tmp_path, motion):
    path = save_robot_motion(motion.resample(50), tmp_path / "m.npz")
    back = load_robot_motion(path)
    assert back.fps == 50 and back.duration == pytest.approx(motion.duration, abs=0.02)


def test_load_motion_dispatches_robot(tmp_path, motion):
    path = save_robot_motion(motion, tmp_path / "m.csv")
    m = load_motion(path, fps=30, smpl_models_dir="/nonexistent")  # human options ignored
    assert isinstance(m, RobotMotion)


# --------------------------------------------------------------------------- pickle safety
class _Boom:
    """Unpickling this creates a marker file: proof that a pickle ran code."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_untrusted_pickle_never_runs(tmp_path, motion):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pkl"
    data = {
        "fps": 30,
        "root_pos": motion.root_pos,
        "root_rot": motion.root_quat,
        "dof_pos": motion.joint_pos,
        "payload": _Boom(str(marker)),
    }
    path.write_bytes(pickle.dumps(data))
    assert detect(path) == ("robot", "gmr")  # named without unpickling
    with pytest.raises(UntrustedPickleError, match="trusted=True") as err:
        load_robot_motion(path)
    assert str(path) in str(err.value) and "--trust-pickle" in str(err.value)
    with pytest.raises(UntrustedPickleError):
        load_motion(path)
    assert not marker.exists()


def test_pickle_without_motion_keys_is_not_detected(tmp_path):
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(MotionFormatError, match="GMR"):
        detect(path)


def _phc_file(path: Path, n_dof: int, n: int = N_FRAMES) -> Path:
    joblib = pytest.importorskip("joblib", reason="PHC files are joblib pickles")

    m = make_motion(n)
    dof = m.joint_pos[:, :n_dof].astype(np.float32)
    clip = {
        "root_trans_offset": m.root_pos.astype(np.float32),
        "pose_aa": np.zeros((n, 27, 3)),
        "dof": dof,
        "root_rot": rot.wxyz_to_xyzw(m.root_quat),
        "fps": 30,
    }
    joblib.dump({"clip0": clip}, path)
    return path


def test_phc_23dof_is_refused_clearly(tmp_path):
    path = _phc_file(tmp_path / "asap.pkl", 23)
    assert detect(path) == ("robot", "phc")
    with pytest.raises(UntrustedPickleError):
        load_robot_motion(path)
    with pytest.raises(MotionFormatError, match="23-DoF G1 PHC.*not the 29-DoF G1"):
        load_robot_motion(path, trusted=True)


def test_phc_29dof_loads(tmp_path):
    path = _phc_file(tmp_path / "phc.pkl", 29)
    m = load_robot_motion(path, trusted=True)
    assert m.metadata == {"format": "phc", "name": "clip0"}
    _assert_same(make_motion(), m, 1e-6)


# ------------------------------------------------------------------------------- bad input
def _npz_with(tmp_path, motion, fmt="nmr", **changes):
    """A valid file of ``fmt``, with keys replaced (None deletes a key)."""
    path = save_robot_motion(motion, tmp_path / f"m{SUFFIX[fmt]}")
    data = dict(np.load(path, allow_pickle=False))
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    np.savez(path, **data)
    return path


def _bad_quats(n=N_FRAMES):
    q = np.tile([1.0, 0, 0, 0], (n, 1))
    q[5] = 0.0
    return q


def _nan(a, value=np.nan):
    a = np.array(a, dtype=float)
    a[3, 1] = value
    return a


BAD_NPZ = {
    "missing keys": ("nmr", dict(root_quat=None), "missing keys root_quat"),
    "bm missing keys": ("beyondmimic", dict(body_quat_w=None), "missing keys body_quat_w"),
    "wrong joint shape": ("nmr", dict(joint_pos=np.zeros((N_FRAMES, 23))), "23"),
    "bm wrong joint shape": (
        "beyondmimic",
        dict(joint_pos=np.zeros((N_FRAMES, 30))),
        r"\(40, 30\)",
    ),
    "bm 31 bodies": ("beyondmimic", dict(body_pos_w=np.zeros((N_FRAMES, 31, 3))), "31 bodies"),
    "bm velocity shape": ("beyondmimic", dict(joint_vel=np.zeros((N_FRAMES, 3))), "joint_vel"),
    "root shape": ("nmr", dict(root_pos=np.zeros((N_FRAMES, 2))), "root_pos has shape"),
    "NaN": ("nmr", dict(root_pos=_nan(np.zeros((N_FRAMES, 3)))), "non-finite"),
    "inf": ("nmr", dict(joint_pos=_nan(np.zeros((N_FRAMES, 29)), np.inf)), "non-finite"),
    "bm NaN": (
        "beyondmimic",
        dict(body_lin_vel_w=np.full((N_FRAMES, 30, 3), np.nan)),
        "non-finite",
    ),
    "zero fps": ("nmr", dict(fps=np.array(0.0)), "fps"),
    "negative fps": ("beyondmimic", dict(fps=np.array([-30.0])), "fps"),
    "fps not a number": ("nmr", dict(fps=np.array(["thirty"])), "fps"),
    "single frame": (
        "nmr",
        dict(
            root_pos=np.zeros((1, 3)),
            root_quat=np.array([[1.0, 0, 0, 0]]),
            joint_pos=np.zeros((1, 29)),
        ),
        "at least 2 frames",
    ),
    "zero-norm quaternion": ("nmr", dict(root_quat=_bad_quats()), "unit length"),
    "bm zero-norm quaternion": (
        "beyondmimic",
        dict(body_quat_w=np.zeros((N_FRAMES, 30, 4))),
        "unit length",
    ),
    "object array": ("nmr", dict(metadata=np.array([{"a": 1}], dtype=object)), "pickled"),
    "bad metadata": ("nmr", dict(metadata=np.array("{not json")), "JSON"),
    "bad format version": ("nmr", dict(format_version=np.array("one")), "format_version"),
    "unknown joint names": ("nmr", dict(joint_names=np.array(["a"] * 29)), "joint_names"),
}


@pytest.mark.parametrize("case", list(BAD_NPZ))
def test_bad_npz_content(tmp_path, motion, case):
    fmt, changes, match = BAD_NPZ[case]
    path = _npz_with(tmp_path, motion, fmt, **changes)
    with pytest.raises(MotionFormatError, match=match) as err:
        load_robot_motion(path, fmt)
    assert str(path) in str(err.value)
    # detection + loading through the generic entry point fails the same way
    with pytest.raises(MotionFormatError):
        load_motion(path)


def _write(path: Path, content: bytes | str) -> Path:
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def _truncated(tmp_path, motion):
    path = save_robot_motion(motion, tmp_path / "t.npz")
    blob = path.read_bytes()
    return _write(path, blob[: len(blob) // 2])


def _csv_rows(motion, cols=None, header=False, nan=False):
    rows = np.concatenate([motion.root_pos, motion.root_quat, motion.joint_pos], axis=1)
    if nan:
        rows[3, 2] = np.nan
    text = "\n".join(",".join(f"{v:.6f}" for v in r[:cols]) for r in rows)
    return ("x,y,z,qw,qx,qy,qz," + ",".join(spec.JOINT_NAMES) + "\n" if header else "") + text


BAD_FILES = {
    "missing file": (lambda tp, m: tp / "nope.npz", None, "no such file"),
    "folder": (lambda tp, m: tp, None, "folder"),
    "empty file": (lambda tp, m: _write(tp / "e.npz", b""), None, "empty"),
    "not a zip": (lambda tp, m: _write(tp / "n.npz", "hello world\n" * 3), "nmr", "npz"),
    "truncated npz": (_truncated, "beyondmimic", "truncated or corrupt"),
    "truncated npz detected": (_truncated, None, "truncated or corrupt"),
    "zip without arrays": (None, None, "not a known motion format"),
    "truncated pickle": (
        lambda tp, m: _write(
            tp / "t.pkl", pickle.dumps({"dof_pos": 1, "root_rot": 2, "x": np.zeros(1000)})[:500]
        ),
        "gmr",
        "unpickled",
    ),
    "csv header": (lambda tp, m: _write(tp / "h.csv", _csv_rows(m, header=True)), "csv", "header"),
    "csv columns": (lambda tp, m: _write(tp / "c.csv", _csv_rows(m, cols=30)), "csv", "30 columns"),
    "csv columns detected": (
        lambda tp, m: _write(tp / "c.csv", _csv_rows(m, cols=30)),
        None,
        "30 columns",
    ),
    "csv single row": (
        lambda tp, m: _write(tp / "s.csv", _csv_rows(m[:2]).splitlines()[0]),
        "csv",
        "at least 2 frames",
    ),
    "csv NaN": (
        lambda tp, m: _write(tp / "n.csv", _csv_rows(m, nan=True)),
        "csv",
        "non-finite",
    ),
    "csv blank": (lambda tp, m: _write(tp / "b.csv", "\n\n"), "csv", "no rows"),
    "unknown file": (
        lambda tp, m: _write(tp / "u.txt", "just words\n"),
        None,
        "not a known motion format",
    ),
    "binary junk": (
        lambda tp, m: _write(tp / "j.bin", bytes(range(256)) * 4),
        None,
        "not a known motion format",
    ),
}


def _zip_without_arrays(tmp_path, motion):
    path = tmp_path / "z.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hi")
    return path


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files(tmp_path, motion, case):
    make, fmt, match = BAD_FILES[case]
    path = (make or _zip_without_arrays)(tmp_path, motion)
    with pytest.raises(MotionFormatError, match=match) as err:
        load_robot_motion(path, fmt, trusted=True)
    assert str(path) in str(err.value)


def test_missing_file_is_also_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_robot_motion(tmp_path / "nope.csv")


def test_zero_fps_argument_for_csv(tmp_path, motion):
    path = save_robot_motion(motion, tmp_path / "m.csv")
    for fps in (0, -5, float("nan")):
        with pytest.raises(MotionFormatError, match="fps"):
            load_robot_motion(path, fps=fps)


def test_fps_argument_conflicting_with_stored_fps(tmp_path, motion):
    path = save_robot_motion(motion, tmp_path / "m.npz")
    assert load_robot_motion(path, fps=30).fps == 30
    with pytest.raises(MotionFormatError, match="resample"):
        load_robot_motion(path, fps=50)


def test_unknown_format_names_list_valid_ones(tmp_path, motion):
    path = save_robot_motion(motion, tmp_path / "m.csv")
    with pytest.raises(UnknownNameError, match="beyondmimic, csv, gmr, nmr"):
        load_robot_motion(path, "bvh")
    with pytest.raises(UnknownNameError, match="beyondmimic, csv, gmr, nmr"):
        save_robot_motion(motion, tmp_path / "x.npz", "phc")  # read-only format
    with pytest.raises(UnknownNameError, match="wxyz, xyzw"):
        load_robot_motion(path, quat_order="zyxw")
    with pytest.raises(MotionFormatError, match="extension"):
        save_robot_motion(motion, tmp_path / "x.motion")
    assert not (tmp_path / "x.npz").exists() and not (tmp_path / "x.motion").exists()


def test_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path, motion, monkeypatch):
    target = tmp_path / "m.npz"
    target.write_bytes(b"old")

    def broken(m, path, **_):
        Path(path).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setitem(rf._WRITERS, "beyondmimic", broken)
    with pytest.raises(OSError, match="disk full"):
        save_robot_motion(motion, target)
    assert target.read_bytes() == b"old"
    with pytest.raises(OSError):
        save_robot_motion(motion, tmp_path / "new.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_human_file_is_refused_by_the_robot_loader(tmp_path):
    path = tmp_path / "amass.npz"
    np.savez(path, poses=np.zeros((10, 72)), trans=np.zeros((10, 3)), mocap_framerate=30.0)
    assert detect(path) == ("human", "amass")
    with pytest.raises(MotionFormatError, match="human motion"):
        load_robot_motion(path)


def test_every_error_is_an_nmr_gym_error():
    assert issubclass(UntrustedPickleError, NmrGymError)
    assert issubclass(rf.MotionFileNotFoundError, NmrGymError)


# ----------------------------------------------------------------------------- real files
def test_protomotions_csvs_load_and_look_sane(shared_motions):
    files = sorted((shared_motions / "robot" / "protomotions_g1_csv").glob("*.csv"))
    assert len(files) == 5
    for path in files:
        assert detect(path) == ("robot", "csv")
        m = load_robot_motion(path)  # wxyz (the index says so) passes the plausibility check
        assert m.fps == 30 and m.n_frames >= 100
        assert 0.6 <= np.median(m.root_pos[:, 2]) <= 0.9, path.name
        assert 0.5 <= m.root_pos[:, 2].min() and m.root_pos[:, 2].max() <= 1.0, path.name
        raw = np.loadtxt(path, delimiter=",")[:, 3:7]
        np.testing.assert_allclose(np.linalg.norm(raw, axis=1), 1.0, atol=1e-3)
        up_z = rot.rotate(m.root_quat, np.array([0.0, 0.0, 1.0]))[:, 2]
        assert (up_z > 0.8).all(), path.name  # upright pelvis throughout
        lo, hi = spec.JOINT_RANGES[:, 0] - 0.2, spec.JOINT_RANGES[:, 1] + 0.2
        assert ((m.joint_pos >= lo) & (m.joint_pos <= hi)).all(), path.name


def test_gmr_lafan1_pickles_load(shared_motions):
    files = sorted((shared_motions / "robot" / "gmr_lafan1").glob("*.pkl"))
    assert len(files) == 9
    for path in files:
        assert detect(path) == ("robot", "gmr")
        with pytest.raises(UntrustedPickleError):
            load_robot_motion(path)
        m = load_robot_motion(path, trusted=True)
        assert m.fps == 30 and m.n_frames > 1000, path.name
        # every clip starts standing; some spend long on the floor (ground1, fallAndGetUp1)
        # and obstacles1 climbs onto obstacles (pelvis up to 2.7 m)
        assert 0.6 <= m.root_pos[0, 2] <= 0.95, path.name
        assert 0.0 < m.root_pos[:, 2].min() and m.root_pos[:, 2].max() < 3.0, path.name


def test_gmr_clip_through_beyondmimic(shared_motions, tmp_path):
    path = shared_motions / "robot" / "gmr_lafan1" / "walk4_subject1.pkl"
    clip = load_robot_motion(path, trusted=True)[:90]  # 3 s: FK runs per frame
    out = save_robot_motion(clip.resample(50), tmp_path / "walk.npz")
    back = load_robot_motion(out)  # passes the FK body-order check
    assert back.fps == 50 and back.n_frames == 149
    np.testing.assert_allclose(back.joint_pos[::5], clip.joint_pos[::3][:30], atol=FLOAT32_ATOL)


def test_asap_23dof_pickles_are_refused(shared_motions):
    pytest.importorskip("joblib", reason="PHC files are joblib pickles")
    files = sorted((shared_motions / "smpl_video" / "asap" / "g1_pkl").glob("*.pkl"))
    assert files
    for path in files[:3]:
        assert detect(path) == ("robot", "phc")
        with pytest.raises(MotionFormatError, match="23-DoF G1 PHC"):
            load_robot_motion(path, trusted=True)


def test_human_files_are_detected_as_human(shared_motions):
    bvh = next((shared_motions / "bvh" / "lafan1").glob("*.bvh"))
    assert detect(bvh) == ("human", "bvh")
    for npz in sorted((shared_motions / "amass").rglob("*.npz"))[:4]:
        assert detect(npz) == ("human", "amass"), npz


def test_load_motion_dispatches_human(tmp_path):
    from nmr_gym.motion import HumanMotion

    path = tmp_path / "smpl.data"  # content decides, not the extension
    n = 20
    np.savez_compressed(
        path.with_suffix(".npz"),
        poses=np.zeros((n, 72)),
        trans=np.tile([0.0, 0.0, 0.9], (n, 1)),
        mocap_framerate=np.array(30.0),
    )
    path.with_suffix(".npz").rename(path)
    assert detect(path) == ("human", "amass")
    m = load_motion(path, quat_order="xyzw")  # a robot-only option is ignored
    assert isinstance(m, HumanMotion) and m.n_frames == n


def test_npy_and_asf_are_refused_clearly(tmp_path):
    npy = tmp_path / "a.npy"
    np.save(npy, np.zeros((3, 24, 3)))
    with pytest.raises(MotionFormatError, match="single .npy array"):
        detect(npy)
    amc = _write(tmp_path / "x.amc", "#!OML:ASF x\n:FULLY-SPECIFIED\n:DEGREES\n1\n")
    assert detect(amc) == ("human", "asf_amc")
    with pytest.raises(MotionFormatError, match="x.amc"):  # no skeleton beside it
        load_motion(amc)
    asf = _write(tmp_path / "x.asf", "# skeleton\n")
    with pytest.raises(MotionFormatError, match="ASF skeleton without motion"):
        detect(asf)


def test_every_indexed_shared_file_is_detected(shared_motions):
    import csv

    with open(shared_motions / "index.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) > 100
    kinds = {"robot": 0, "human": 0}
    for row in rows:
        path = shared_motions / row["path"]
        kind, fmt = detect(path)
        expected = "robot" if "robot" in row["category"] or "G1" in row["skeleton"] else "human"
        assert kind == expected, row["path"]
        kinds[kind] += 1
    assert kinds["robot"] >= 50 and kinds["human"] >= 150


def test_output_under_a_file_or_onto_a_folder(tmp_path, motion):
    blocker = _write(tmp_path / "file", "x")
    with pytest.raises(MotionFormatError, match="is a file"):
        save_robot_motion(motion, blocker / "sub" / "m.csv")
    with pytest.raises(MotionFormatError, match="folder"):
        save_robot_motion(motion, tmp_path, "csv")


def test_csv_order_check_on_a_real_clip(shared_motions, tmp_path):
    path = shared_motions / "robot" / "gmr_lafan1" / "fallAndGetUp1_subject1.pkl"
    clip = load_robot_motion(path, trusted=True)
    wxyz = save_robot_motion(clip, tmp_path / "wxyz.csv")
    assert load_robot_motion(wxyz).n_frames == clip.n_frames  # no false alarm (lies down)
    xyzw = save_robot_motion(clip, tmp_path / "xyzw.csv", quat_order="xyzw")
    with pytest.raises(MotionFormatError, match="looks xyzw"):
        load_robot_motion(xyzw)
