"""``nmr-bench render`` and ``nmr_gym.viz``: videos, filmstrips, artifact flags, bad input.

Clips are a few frames at small sizes so the file stays fast on a 2-core CPU with software GL.
"""

from __future__ import annotations

import os

import imageio.v3 as iio
import numpy as np
import pytest

from benchmark import filmstrips, metrics
from benchmark import results as res
from benchmark.cli import main
from benchmark.commands.render import parse_frames, video_timeline
from nmr_gym import skeleton
from nmr_gym.g1 import spec
from nmr_gym.io import save_robot_motion
from nmr_gym.motion import HumanMotion, RobotMotion
from nmr_gym.viz import MotionRenderer, RobotTrack, compose_grid, filmstrip
from nmr_gym.viz.interactive import KEY_LEFT, KEY_RIGHT, KEY_SPACE, Playback
from nmr_gym.viz.output import MARK_BORDER_PX, MARK_RGB

FPS = 30.0
W, H = 96, 72  # small, even (MP4 needs even sides)
#: A pixel differs from the empty scene when a channel differs by more than this (0-255);
#: well above H.264's error on a flat floor.
DIFF_LEVEL = 40
#: The robot covers at least this fraction of a 96x72 image from the default camera.
MIN_ROBOT_FRACTION = 0.02


def robot(n: int = 8, jump_at: int | None = None, z: float = spec.STAND_ROOT_HEIGHT):
    jp = np.tile(spec.STAND_JOINT_POS, (n, 1))
    e = spec.joint_index("right_shoulder_roll_joint")
    jp[:, e] -= 0.2 * np.abs(np.sin(np.arange(n) / 3))  # outwards: no self-collision
    if jump_at is not None:
        jp[jump_at:, e] -= 1.0  # one step of 1 rad > JUMP_THRESHOLD_RAD
    return RobotMotion(FPS, np.tile([0, 0, z], (n, 1)), np.tile([1.0, 0, 0, 0], (n, 1)), jp)


def human(n: int = 8) -> HumanMotion:
    """A T-pose standing at the origin, facing +x."""
    h = skeleton.DEFAULT_HEIGHT
    root = np.tile([0.0, 0.0, skeleton.rest_pelvis_height(h)], (n, 1))
    rq = np.tile(skeleton.REST_QUAT_FACING_X, (n, 1))
    local = np.tile([1.0, 0, 0, 0], (n, skeleton.NUM_JOINTS, 1))
    pos, quat = skeleton.forward_kinematics(root, rq, local, skeleton.rest_offsets(h))
    return HumanMotion(FPS, skeleton.SMPL_JOINT_NAMES, pos, quat, h, source="t-pose")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("motions")
    a, b = d / "alpha.nmr.npz", d / "beta.nmr.npz"
    save_robot_motion(robot(), a)
    save_robot_motion(robot(jump_at=4), b)
    return a, b


@pytest.fixture(scope="module")
def background():
    """The empty scene (floor only) from the camera a single robot at the origin gets."""
    with MotionRenderer([RobotTrack(robot(), "r")], width=W, height=H) as r:
        return r.render(0, robots=[], human=False)


def visible_fraction(image: np.ndarray, background: np.ndarray) -> float:
    diff = np.abs(image.astype(int) - background.astype(int)).max(axis=-1)
    return float((diff > DIFF_LEVEL).mean())


def run_cli(argv, capsys):
    code = main(["render", *map(str, argv)])
    return code, capsys.readouterr()


# ------------------------------------------------------------------------------ outputs
def test_mp4_has_every_frame_the_size_and_a_visible_robot(files, tmp_path, capsys, background):
    out = tmp_path / "clip.mp4"
    code, io = run_cli(
        [files[0], "--out", out, "--size", f"{W}x{H}", "--no-labels", "--no-progress"], capsys
    )
    assert code == 0, io.err
    frames = np.stack(list(iio.imiter(out)))
    assert frames.shape == (8, H, W, 3)
    assert visible_fraction(frames[0], background) > MIN_ROBOT_FRACTION
    assert oct(out.stat().st_mode & 0o777) != oct(0o600)  # readable, not mkstemp's 0600


def test_gif_frame_count_follows_fps_and_frames(files, tmp_path, capsys, background):
    out = tmp_path / "clip.gif"
    code, io = run_cli(
        [files[0], "--out", out, "--size", f"{W}x{H}", "--frames", "2:8", "--fps", "15",
         "--no-labels", "--no-progress"],
        capsys,
    )  # fmt: skip
    assert code == 0, io.err
    frames = iio.imread(out, index=None)
    assert frames.shape[0] == 3  # frames 2, 4, 6 of 2..7 at half the rate
    assert frames.shape[1:3] == (H, W)
    assert visible_fraction(frames[0][..., :3], background) > MIN_ROBOT_FRACTION


def test_png_filmstrip_one_row_per_track(files, tmp_path, capsys, background):
    out = tmp_path / "strip.png"
    code, io = run_cli(
        [*files, "--human", _human_file(tmp_path), "--out", out, "--size", f"{W}x{H}",
         "--strip", "3"],
        capsys,
    )  # fmt: skip
    assert code == 0, io.err
    img = iio.imread(out)
    with MotionRenderer([RobotTrack(robot(), "r")], width=W, height=H) as r:
        cell = r.render(0)
    expected = compose_grid([[cell] * 3] * 3, ["h", "a", "b"], ["t"] * 3)
    assert img.shape == expected.shape  # 3 rows (human, alpha, beta) x 3 columns
    left, top = expected.shape[1] - 3 * (W + 2), expected.shape[0] - 3 * (H + 2)
    for row in range(3):
        y = top + row * (H + 2)
        assert visible_fraction(img[y : y + H, left : left + W], background) > 0.01


def test_png_strip_around_the_worst_artifact(files, tmp_path, capsys):
    out = tmp_path / "worst.png"
    argv = [*files, "--out", out, "--size", f"{W}x{H}", "--strip-frames", "artifacts"]
    code, io = run_cli(argv, capsys)
    assert code == 0, io.err
    shown = strip_frames(io.out)
    assert 4 in shown and 1 in shown  # beta's jump frame and CONTEXT_S (3 frames) before it
    code, io = run_cli([*argv, "--frames", "5:8"], capsys)
    assert code == 0, io.err
    assert strip_frames(io.out) == [5, 6, 7]  # no artifact inside the window: every frame


def strip_frames(stdout: str) -> list[int]:
    """The frames that ``render`` says its filmstrip shows ("...: filmstrip of frames 0,4, ...")."""
    return [int(f) for f in stdout.rsplit("frames ", 1)[1].split(", ")[0].split(",")]


def _human_file(tmp_path):
    p = tmp_path / "human.npz"  # joint positions: a human format the project reads
    if not p.exists():
        h = human()
        np.savez(p, joint_pos=h.joint_pos, joint_names=np.array(h.joint_names), fps=h.fps)
    return p


def test_marked_frames_get_a_red_border_only_when_flagged(files):
    b = robot(jump_at=4)
    flags = filmstrips.artifact_frames(b)
    assert flags["joint_jump"].tolist() == [i == 4 for i in range(8)]
    with MotionRenderer([RobotTrack(b, "beta", flags)], width=W, height=H) as r:
        strip = filmstrip(r, [3, 4], rows="scene", mark=True)
    top = strip.shape[0] - H - 2
    edge = strip[top + 1 : top + MARK_BORDER_PX - 1]  # inside each cell's top border
    assert (edge[:, 2 : W - 2] == MARK_RGB).all(axis=-1).mean() < 0.5  # frame 3: no border
    assert (edge[:, W + 4 : 2 * W] == MARK_RGB).all()  # frame 4: the jump frame


# ------------------------------------------------------------------------ bad input
def _bad(argv, tmp_path, capsys):
    before = set(os.listdir(tmp_path))
    code, io = run_cli(argv, capsys)
    assert code == 2
    assert len(io.err.strip().splitlines()) == 1, io.err
    assert set(os.listdir(tmp_path)) == before  # nothing written, no temporary file left
    return io.err


def test_bad_input_exits_2_with_one_line_and_writes_nothing(files, tmp_path, capsys):
    out = tmp_path / "x.mp4"
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip")
    assert "missing.npz" in _bad([tmp_path / "missing.npz", "--out", out], tmp_path, capsys)
    assert "garbage.npz" in _bad([garbage, "--out", out], tmp_path, capsys)
    assert "--frames" in _bad([files[0], "--out", out, "--frames", "6:2"], tmp_path, capsys)
    assert "--frames" in _bad([files[0], "--out", out, "--frames", "0:99"], tmp_path, capsys)
    assert ".avi" in _bad([files[0], "--out", tmp_path / "x.avi"], tmp_path, capsys)
    assert "--size" in _bad([files[0], "--out", out, "--size", "0x48"], tmp_path, capsys)
    assert "even" in _bad([files[0], "--out", out, "--size", "95x72"], tmp_path, capsys)
    assert "human" in _bad([_human_file(tmp_path), "--out", out], tmp_path, capsys)


def test_interrupted_render_leaves_no_file(files, tmp_path, monkeypatch, capsys):
    from nmr_gym.viz import compose

    def broken(*a, **k):
        yield np.zeros((H, W, 3), np.uint8)
        raise KeyboardInterrupt

    monkeypatch.setattr(compose, "video_frames", broken)
    monkeypatch.setattr("nmr_gym.viz.video_frames", broken)
    out = tmp_path / "cut.mp4"
    code, _ = run_cli([files[0], "--out", out, "--size", f"{W}x{H}", "--no-progress"], capsys)
    assert code == 130
    assert os.listdir(tmp_path) == []


def test_interactive_without_display_exits_2(files, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    assert "display" in _bad([files[0], "--interactive"], tmp_path, capsys)


# -------------------------------------------------------------- what the pictures mean
def test_flags_are_the_frames_the_metrics_count():
    m = robot(12, jump_at=5, z=spec.STAND_ROOT_HEIGHT - 0.05)  # 5 cm into the floor
    flags = filmstrips.artifact_frames(m)  # on the motion's own frames
    s = metrics.score(m, fps=m.fps)
    assert 100 * flags["joint_jump"].mean() == pytest.approx(s["joint_jump_pct"])
    assert 100 * flags["self_collision"].mean() == pytest.approx(s["self_collision_pct"])
    assert 100 * flags["penetration"].mean() == pytest.approx(s["penetration_pct"])
    assert flags["penetration"].all()
    assert filmstrips.worst_artifact(m, flags) == (5, "joint_jump")


def test_human_skeleton_is_scaled_as_mpjpe_scales_it():
    h = human()
    track = filmstrips.human_track(h)
    idx = [h.index(j) for j, _ in metrics.KEYPOINT_MAP]
    np.testing.assert_allclose(track.joint_pos_w[:, idx], metrics.scaled_keypoints(h))
    assert track.parents == skeleton.SMPL_PARENTS


def test_choose_frames_shows_each_artifact_and_the_frame_before():
    frames = filmstrips.choose_frames(90, 30.0, [2.0], n_columns=6)
    assert 60 in frames and 57 in frames  # the artifact and CONTEXT_S (0.1 s) before it
    assert len(frames) == 6 and frames == sorted(set(frames))
    assert filmstrips.choose_frames(90, 30.0, [], 4) == [0, 30, 59, 89]


def test_video_timeline_and_frame_ranges():
    assert video_timeline(range(0, 8), 30.0, 30.0) == list(range(8))
    assert video_timeline(range(2, 8), 30.0, 15.0) == [2, 4, 6]
    assert list(parse_frames("-3:", 10)) == [7, 8, 9]
    assert list(parse_frames(None, 4)) == [0, 1, 2, 3]


def test_playback_keys():
    p = Playback(3)
    p.key(KEY_RIGHT)
    assert (p.frame, p.playing) == (1, False)
    p.key(KEY_LEFT)
    p.key(KEY_LEFT)
    assert p.frame == 0
    p.key(KEY_SPACE)
    p.advance(), p.advance(), p.advance()
    assert p.frame == 0  # wrapped after the last frame


def test_publish_filmstrips_writes_a_small_png(tmp_path):
    rows = []
    for method, jump in (("alpha", None), ("beta", 4)):
        file = f"motions/{method}/m.nmr.npz"
        save_robot_motion(robot(jump_at=jump), tmp_path / file)
        rows.append(
            res.make_row(
                motion="m", source="builtin:wave_short", retargeter=method, complexity="ULOM",
                length="short", n_frames=8, fps=FPS, seed=0, options="{}", robot_file=file,
                joint_jump_pct=12.5 if jump else 0.0,
            )
        )  # fmt: skip
    df = res.to_frame(rows)
    made = filmstrips.publish_filmstrips(df, tmp_path, tmp_path / "fig", n_columns=3)
    assert [s.motion for s in made] == ["m"]
    strip = made[0]
    assert strip.methods == ("alpha", "beta") and 4 in strip.frames
    img = iio.imread(strip.path)
    w, h = filmstrips.CELL_SIZE
    assert img.shape[0] > 3 * h and img.shape[1] > 3 * w  # human + 2 rows, 3 columns
    assert strip.path.stat().st_size < 300_000
    assert strip.markdown(tmp_path)[-1] == "![filmstrip m](fig/filmstrip_m.png)"


def test_overlay_tracks_share_one_slot():
    tracks = [RobotTrack(robot(), "a"), RobotTrack(robot(), "b")]
    with MotionRenderer(tracks, width=W, height=H, layout="overlay") as r:
        assert np.allclose(r._offsets(2), 0)
    with MotionRenderer(tracks, width=W, height=H, layout="side") as r:
        off = r._offsets(2)
        assert np.linalg.norm(off[1] - off[0]) == pytest.approx(1.0)


def test_viewer_loop_draws_the_other_robots_and_the_human(monkeypatch):
    """The passive-viewer loop, with a stand-in viewer (no display here)."""
    import contextlib

    import mujoco

    from nmr_gym.viz import interactive

    class FakeViewer:
        def __init__(self, model, data, key_callback):
            self.user_scn = mujoco.MjvScene(model, 2000)
            self.key, self.data, self.drawn = key_callback, data, []

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def is_running(self):
            return len(self.drawn) < 3

        def lock(self):
            return contextlib.nullcontext()

        def sync(self):
            self.drawn.append((self.user_scn.ngeom, self.data.qpos[1]))
            self.key(KEY_RIGHT)

    made = []
    monkeypatch.setattr(interactive, "has_display", lambda: True)
    monkeypatch.setattr(
        "mujoco.viewer.launch_passive", lambda *a, **k: made.append(FakeViewer(*a, **k)) or made[0]
    )
    tracks = [RobotTrack(robot(), "a"), RobotTrack(robot(), "b")]
    interactive.view(tracks, filmstrips.human_track(human()), frames=[0, 1, 2])
    from nmr_gym.g1 import scene_model
    from nmr_gym.viz.scene import add_robot_geoms

    model = scene_model()
    scn, data = mujoco.MjvScene(model, 2000), mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    add_robot_geoms(scn, model, data, (1.0, 0.0, 0.0))
    n_human = 24 + 23  # a sphere per joint, a capsule per bone
    assert [n for n, _ in made[0].drawn] == [scn.ngeom + n_human] * 3  # robot b + the human
    # side layout, slots human | a | b: the viewer's own robot (a) stays in the middle
    assert made[0].drawn[0][1] == pytest.approx(0.0, abs=1e-9)


def test_cameras_follow_the_pelvis_or_frame_the_whole_path():
    m = robot(8)
    walk = m.replace(root_pos=m.root_pos + np.linspace([0, 0, 0], [2.0, 0, 0], 8))
    looks = {}
    for cam in ("follow", "fixed"):
        with MotionRenderer([RobotTrack(walk, "w")], width=8, height=8, camera=cam) as r:
            looks[cam] = []
            for f in (0, 7):
                r.render(f)
                looks[cam].append((r._camera.lookat[0], r._camera.distance))
    assert [x for x, _ in looks["follow"]] == pytest.approx([0.0, 2.0])
    assert [x for x, _ in looks["fixed"]] == pytest.approx([1.0, 1.0])  # the path's middle
    assert looks["fixed"][0][1] > looks["follow"][0][1]  # farther, to see the whole path
