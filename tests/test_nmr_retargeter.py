"""The ``nmr`` retargeter: shipped checkpoint, any length, rates, batching, invariants, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _helpers import write_tiny_nmr_checkpoint

import retargeters
from benchmark.cli import main
from nmr_gym import rotations as rot
from nmr_gym.errors import MotionError, NmrGymError
from nmr_gym.g1 import joint_ranges, kinematic_model, spec
from nmr_gym.suite import get_clip
from retargeters.nmr import inference
from retargeters.nmr.checkpoint import SHIPPED, NmrCheckpointError, read_payload
from retargeters.nmr.features import yaw_to_quat

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """An untrained tiny network with a plausible normaliser (behaviour tests need no training)."""
    return write_tiny_nmr_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt", out_std=0.05)


@pytest.fixture(scope="module")
def nmr(ckpt):
    return retargeters.make("nmr", checkpoint=ckpt)


def test_nmr_release_is_found_without_importing_nmr_first():
    """``nmr-release`` is a built-in name of its own: a fresh process finds it (and lists it)
    without ``make("nmr")`` having imported the module that registers both."""
    import subprocess
    import sys

    code = (
        "import retargeters; assert 'nmr-release' in retargeters.registered(); "
        "print(retargeters.get('nmr-release').name)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "nmr-release"


def test_make_loads_the_shipped_checkpoint():
    assert SHIPPED.is_file(), "the shipped checkpoint is package data"
    assert SHIPPED.stat().st_size < 20e6
    r = retargeters.make("nmr")
    assert r.options()["checkpoint"] == "shipped"
    assert "nmr" in retargeters.registered()
    info = r.info
    assert info["stages"][0]["stage"] == 1 and info["stages"][0]["steps"] > 0
    out = r.retarget(get_clip("walk_short").motion())
    # a trained network walks forward like the human (the suite clip walks ~1 m/s along +x)
    assert out.root_pos[-1, 0] - out.root_pos[0, 0] > 0.5 * 1.1 * out.duration
    assert 0.5 < np.median(out.root_pos[:, 2]) < 1.0


@pytest.mark.parametrize("n", [2, 7, 119, 120, 121, 209, 400])
def test_any_length_keeps_the_input_frames_and_rate(nmr, n):
    h = get_clip("locomotion_long").motion()[:n]
    out = nmr.retarget(h)
    # the root starts at the human's start (without foot locking, which moves the root xy)
    start = retargeters.make("nmr", checkpoint=nmr.checkpoint, lock_feet=False).retarget(h)
    assert out.n_frames == n and out.fps == h.fps
    r = joint_ranges(kinematic_model())
    assert np.all(out.joint_pos >= r[:, 0] - 1e-9) and np.all(out.joint_pos <= r[:, 1] + 1e-9)
    np.testing.assert_allclose(start.root_pos[0, :2], h.joint_pos[0, 0, :2], atol=0.05)


def test_output_rate_option_and_high_rate_input(nmr, ckpt):
    h = get_clip("walk_short").motion()
    h120 = h.resample(120.0)
    out = nmr.retarget(h120)
    assert out.fps == 120.0 and out.n_frames == h120.n_frames
    r50 = retargeters.make("nmr", checkpoint=ckpt, fps=50).retarget(h)
    assert r50.fps == 50 and abs(r50.duration - h.duration) < 1 / 50
    np.testing.assert_allclose(out.joint_pos[::4], nmr.retarget(h).joint_pos, atol=0.02)


def test_windows_cover_every_frame_with_the_release_stride():
    for n in (1, 120, 121, 208, 209, 1000):
        starts = inference._window_starts(n)
        covered = np.zeros(n, bool)
        for s in starts:
            covered[s : s + inference.WINDOW] = True
        assert covered.all()
        assert all(
            b - a == inference.WINDOW - inference.OVERLAP
            for a, b in zip(starts[:-2], starts[1:-1], strict=True)
        )


def test_batch_equals_one_by_one(nmr):
    a = get_clip("wave_short").motion()
    b = get_clip("kicks_short").motion()[:90]
    both = nmr.retarget_batch([a, b])
    for h, out in zip((a, b), both, strict=True):
        np.testing.assert_allclose(out.qpos, nmr.retarget(h).qpos, atol=1e-4)


def test_world_yaw_rotates_the_output_and_leaves_joints_alone(nmr):
    h = get_clip("walk_turn_medium").motion()[:300]
    yaw = 0.9
    qy = yaw_to_quat(np.array(yaw))
    pos = rot.rotate(np.broadcast_to(qy, h.joint_pos.shape[:-1] + (4,)), h.joint_pos)
    hr = h.replace(
        joint_pos=pos,
        joint_quat=rot.multiply(np.broadcast_to(qy, h.joint_quat.shape), h.joint_quat),
    )
    a, b = nmr.retarget(h), nmr.retarget(hr)
    np.testing.assert_allclose(b.joint_pos, a.joint_pos, atol=1e-4)
    expect = rot.rotate(np.broadcast_to(qy, a.root_pos.shape[:-1] + (4,)), a.root_pos)
    np.testing.assert_allclose(b.root_pos, expect, atol=1e-3)


def test_output_is_smooth_after_the_filter(nmr):
    h = get_clip("walk_medium", noisy=True, seed=1).motion()
    out = nmr.retarget(h)
    raw = retargeters.make("nmr", checkpoint=nmr.checkpoint, filter=False).retarget(h)
    jerk = lambda q: np.abs(np.diff(q, 2, axis=0)).mean()  # noqa: E731
    assert jerk(out.joint_pos) < 0.5 * jerk(raw.joint_pos)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_checkpoint_errors_are_clear(tmp_path, ckpt):
    with pytest.raises(NmrCheckpointError, match="not found"):
        retargeters.make("nmr", checkpoint=tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x80garbage" * 10)
    with pytest.raises(NmrCheckpointError, match="not a readable NMR checkpoint"):
        retargeters.make("nmr", checkpoint=bad)
    payload = read_payload(ckpt)
    payload["layout"] = dict(payload["layout"], body_names=payload["layout"]["body_names"][::-1])
    other = tmp_path / "other.pt"
    torch.save(payload, other)
    with pytest.raises(NmrCheckpointError, match="another feature layout.*body_names"):
        retargeters.make("nmr", checkpoint=other)
    payload = read_payload(ckpt)
    payload["state_dict"].pop("head.weight")
    torch.save(payload, other)
    with pytest.raises(NmrCheckpointError, match="do not fit"):
        retargeters.make("nmr", checkpoint=other)
    assert issubclass(NmrCheckpointError, NmrGymError)


def test_nan_input_is_refused(nmr):
    h = get_clip("wave_short").motion()
    h.joint_pos[10, 3, 1] = np.nan  # corrupted after construction
    with pytest.raises(MotionError, match="non-finite"):
        nmr.retarget(h)


def test_cli_runs_nmr_and_a_bad_checkpoint_exits_2_writing_nothing(tmp_path, capsys, ckpt):
    h = get_clip("walk_short").motion()
    human = tmp_path / "walk.npz"
    np.savez(human, joint_pos=h.joint_pos, joint_names=np.array(h.joint_names), fps=h.fps)
    out = tmp_path / "out"
    rc = main(["retarget", str(human), "--method", "nmr", "--out", str(out),
               "--option", f"checkpoint={tmp_path / 'missing.pt'}"])  # fmt: skip
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "NMR checkpoint not found" in err[0]
    assert not out.exists() or not any(out.rglob("*.npz"))
    rc = main(["retarget", str(human), "--method", "nmr", "--out", str(out),
               "--option", f"checkpoint={ckpt}"])  # fmt: skip
    assert rc == 0 and len(list(out.rglob("*.npz"))) == 1


def test_heldout_errors_and_body_size_effect(nmr, tmp_path):
    from retargeters.nmr.data import write_pairs
    from retargeters.nmr.evaluate import height_effect, pair_errors

    direct = retargeters.make("direct")
    write_pairs([("wave", get_clip("wave_short").motion())], direct, tmp_path / "p")

    class Exact:  # returns the pairs' own robot motions: every error must be 0
        def retarget_batch(self, humans):
            return [direct.retarget(h) for h in humans]

    exact = pair_errors(Exact(), [tmp_path / "p"])
    assert exact["frames"] == 180 and exact["joint_mae_deg"] < 1e-4  # float32 storage
    assert exact["body_pos_err_m"] < 1e-5
    err = pair_errors(nmr, [tmp_path / "p"])
    assert err["joint_mae_deg"] > 0.1  # an untrained network is not the kinematic target
    eff = height_effect(nmr, get_clip("walk_short").motion())
    assert eff["normalised_joint_diff_deg"] < 1e-6 < eff["unnormalised_joint_diff_deg"]


def test_shipped_checkpoint_raises_the_waving_arm():
    """The raised-arm underfit of the earlier `small` checkpoint (it kept both arms near the
    average, 23 deg arm error on its own wave_short training windows) is gone at the `medium`
    size: the shipped network follows the teacher's raised right arm."""
    h = get_clip("wave_short").motion()
    q = retargeters.make("nmr").retarget(h).joint_pos  # (T, 29) [rad]
    teacher = retargeters.make("gmr-safe").retarget(h).joint_pos
    ri, li = (
        spec.joint_index("right_shoulder_roll_joint"),
        spec.joint_index("left_shoulder_roll_joint"),
    )
    mid = slice(h.n_frames // 4, 3 * h.n_frames // 4)
    assert np.median(teacher[mid, ri]) < -1.5  # the teacher raises the right arm sideways
    # NMR follows it: the right arm at least halfway up, and clearly more than the left one
    assert np.median(q[mid, ri]) < -1.0
    assert np.median(q[mid, ri]) + 0.5 < -np.median(q[mid, li])


def test_nmr_release_is_the_network_without_the_clean_up(ckpt):
    import dataclasses

    from retargeters.nmr.post import CleanUp

    h = get_clip("walk_short").motion()
    rel = retargeters.make("nmr-release", checkpoint=ckpt)
    assert {k: rel.options()[k] for k in dataclasses.asdict(CleanUp())} == dataclasses.asdict(
        CleanUp.release()
    )
    assert rel.options()["mirror_average"] is False and rel.options()["robust_floor"] is False
    manual = retargeters.make(
        "nmr",
        checkpoint=ckpt,
        mirror_average=False,
        robust_floor=False,
        **dataclasses.asdict(CleanUp.release()),
    )
    a, b = rel.retarget(h), manual.retarget(h)
    np.testing.assert_array_equal(a.qpos, b.qpos)
    assert not np.array_equal(a.qpos, retargeters.make("nmr", checkpoint=ckpt).retarget(h).qpos)
    with pytest.raises(TypeError):
        retargeters.make("nmr-release", ground=True)  # the clean-up is not an option here


def test_robust_floor_keeps_a_moment_of_sinking_from_moving_the_whole_clip(ckpt):
    """The human sinks 6 cm into the floor for 0.6 s near the end of a clip. With the clip's
    lowest joint as the features' floor (the release) every input height of the clip changes
    and so does the network's output far from the sinking; with the robust floor the early
    frames stay as they were (the network's part only: the release's clean-up)."""
    import dataclasses

    from retargeters.nmr.post import CleanUp

    h = get_clip("walk_short").motion()
    t = np.arange(h.n_frames) / h.fps
    sink = (t > h.duration - 1.0) & (t < h.duration - 0.4)
    pos = h.joint_pos.copy()
    pos[sink, :, 2] -= 0.06
    hs = h.replace(joint_pos=pos)
    early = t < 1.5  # only in the first network window, before its crossfade
    release = dataclasses.asdict(CleanUp.release())
    moved = {}
    for robust in (False, True):
        r = retargeters.make(
            "nmr", checkpoint=ckpt, mirror_average=False, robust_floor=robust, **release
        )
        assert r.options()["robust_floor"] is robust
        a, b = r.retarget(h), r.retarget(hs)
        moved[robust] = np.abs(a.qpos[early] - b.qpos[early]).max()
    assert moved[False] > 1e-4 and moved[True] < 0.01 * moved[False], moved
    with pytest.raises(ValueError, match="robust_floor"):
        retargeters.make("nmr", checkpoint=ckpt, robust_floor="yes")
    with pytest.raises(ValueError, match="not part of the NMR release"):
        retargeters.make("nmr-release", checkpoint=ckpt, robust_floor=True)


def test_mirror_average_makes_the_output_left_right_equivariant(ckpt):
    """With ``mirror_average`` the retargeted mirror image of a clip is the mirror image of its
    retargeting (the network's part: windows, crossfade, filter) in root, legs and waist; one
    pass alone is not. The arm joints are the plain pass's, bit for bit."""
    import dataclasses

    from retargeters.nmr import collide, mirror
    from retargeters.nmr.post import CleanUp

    h = get_clip("wave_short").motion()[:150]  # one-armed: its mirror is another motion
    pm, qm = mirror.mirror_human(h.joint_pos, h.joint_quat)
    hm = h.replace(joint_pos=pm, joint_quat=qm)
    release = dataclasses.asdict(CleanUp.release())
    rest = np.setdiff1d(np.arange(36), 7 + collide.ARM_JOINTS)  # root and the 15 other joints
    gap, out = {}, {}
    for avg in (False, True):
        r = retargeters.make("nmr", checkpoint=ckpt, mirror_average=avg, **release)
        assert r.options()["mirror_average"] is avg
        out[avg] = r.retarget(h).qpos
        diff = r.retarget(hm).qpos - mirror.mirror_qpos(out[avg])
        gap[avg] = np.abs(diff[:, rest]).max()
    assert gap[True] < 1e-4 and gap[False] > 100 * gap[True], gap
    arms = 7 + collide.ARM_JOINTS
    assert np.array_equal(out[True][:, arms], out[False][:, arms])
    assert not np.array_equal(out[True][:, rest], out[False][:, rest])
    with pytest.raises(ValueError, match="mirror_average"):
        retargeters.make("nmr", checkpoint=ckpt, mirror_average="yes")
    with pytest.raises(ValueError, match="not part of the NMR release"):
        retargeters.make("nmr-release", checkpoint=ckpt, mirror_average=True)
