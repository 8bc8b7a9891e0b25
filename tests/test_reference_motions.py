"""benchmark.motions: retargeted references, their cache, motion specs; the shipped reference."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark import motions as bm
from nmr_gym.envs import motion_source as ms


def test_default_clip_cache_is_keyed_by_content_options_and_code(tmp_path, monkeypatch):
    import retargeters
    from nmr_gym import suite

    human = suite.get_clip("wave_short").motion()
    rt = retargeters.make("direct")
    key = bm.reference_cache_key(human, rt, "direct")
    assert key == bm.reference_cache_key(human, retargeters.make("direct"), "direct")
    moved = human.replace(joint_pos=human.joint_pos + 1e-6)
    assert bm.reference_cache_key(moved, rt, "direct") != key  # the clip's content
    monkeypatch.setattr(rt, "options", lambda: {"changed": True})
    assert bm.reference_cache_key(human, rt, "direct") != key  # the retargeter's options
    # Round trip through the disk cache: the second call loads the file the first wrote.
    monkeypatch.setenv(bm.CACHE_ENV_VAR, str(tmp_path))
    bm.builtin_reference.cache_clear()
    first = bm.builtin_reference("wave_short", "direct")
    bm.builtin_reference.cache_clear()
    second = bm.builtin_reference("wave_short", "direct")
    bm.builtin_reference.cache_clear()
    assert [p.name.split("--")[2] for p in tmp_path.iterdir()] == [f"{key}.npz"]
    assert second.metadata["cached"] and not first.metadata.get("cached")
    np.testing.assert_allclose(second.joint_pos, first.joint_pos)


def test_resolve_motion_specs_takes_objects_names_and_files(tmp_path, monkeypatch):
    from nmr_gym import suite
    from nmr_gym.errors import MotionError, UnknownNameError

    monkeypatch.setenv(bm.CACHE_ENV_VAR, str(tmp_path))
    bm.builtin_reference.cache_clear()
    robot = ms.procedural_motion(seconds=1.0)
    human = suite.get_clip("wave_short").motion()
    out = bm.resolve_motion_specs([robot, human, "builtin:wave_short"], retargeter="direct")
    assert out[0] is robot
    assert out[1].metadata["retargeter"] == "direct"
    assert out[2].metadata["name"] == "wave_short"
    np.testing.assert_allclose(out[1].joint_pos, out[2].joint_pos)  # the same clip
    with pytest.raises(UnknownNameError):
        bm.resolve_motion_specs(["builtin:nope"], retargeter="direct")
    with pytest.raises(MotionError):
        bm.resolve_motion_specs([42])
    bm.builtin_reference.cache_clear()


def test_the_shipped_reference_is_the_default_clip_and_loads_without_retargeting():
    from nmr_gym import suite

    assert suite.DEFAULT_CLIP in ms.shipped_clip_names()
    m = ms.default_motion()
    assert m.metadata["name"] == suite.DEFAULT_CLIP and m.metadata["retargeter"] == "gmr"
    assert m.n_frames > 10 and np.isfinite(m.joint_pos).all()
    # The shipped clip name is a valid env motion argument.
    assert ms.resolve_motions(suite.DEFAULT_CLIP)[0].n_frames == m.n_frames
