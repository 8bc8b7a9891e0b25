"""Stage-2 replay: kinematic pairs mixed into the physics fine-tuning (issue 13).

With a few physics pairs, fine-tuning on them alone pulls the network towards those clips; the
replay pairs keep a set share of each epoch's draws.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _helpers import tiny_train_config

import retargeters
from benchmark.cli import main
from nmr_gym.suite import get_clip
from retargeters.nmr.checkpoint import load_checkpoint
from retargeters.nmr.data import NmrDataError, epoch_order, load_pairs, replay_probs, write_pairs
from retargeters.nmr.train import TrainConfigError, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_the_replay_entries_get_their_share_and_each_group_keeps_its_proportions():
    is_replay = np.array([False] * 3 + [True] * 7)
    p = replay_probs(is_replay, 0.75)
    assert p.sum() == pytest.approx(1.0)
    assert p[is_replay].sum() == pytest.approx(0.75)
    np.testing.assert_allclose(p[:3], 0.25 / 3)  # uniform within each group
    np.testing.assert_allclose(p[3:], 0.75 / 7)
    # pose-balance probabilities and stitched slots keep their ratios inside a group
    probs = np.array([0.1, 0.1, 0.2, 0.05, 0.05, 0.1, 0.1, 0.1, 0.1, 0.1])
    slots = np.array([1, 2, 1, 1, 1, 1, 1, 1, 1, 3])
    p = replay_probs(is_replay, 0.6, probs, slots)
    draws = p * slots / (p * slots).sum()  # what epoch_order draws with these slots
    assert draws[is_replay].sum() == pytest.approx(0.6)
    np.testing.assert_allclose(draws[:3] / draws[:3].sum(), [0.2, 0.4, 0.4])  # probs * slots
    np.testing.assert_allclose(draws[9] / draws[3], 0.1 * 3 / 0.05)


def test_epoch_draws_follow_the_share():
    is_replay = np.arange(40) >= 4  # 4 physics pairs, 36 replay pairs
    p = replay_probs(is_replay, 0.75)
    draws = np.concatenate([epoch_order(40, 0, 2, e, p) for e in range(500)])  # 20,000 draws
    assert (draws < 4).mean() == pytest.approx(0.25, abs=0.01)  # uniform draws give 0.10
    np.testing.assert_array_equal(epoch_order(40, 1, 2, 3, p), epoch_order(40, 1, 2, 3, p))


@pytest.mark.parametrize("share", [0.0, 1.0, float("nan"), -0.5])
def test_a_share_outside_the_open_interval_is_refused(share, tmp_path):
    with pytest.raises(NmrDataError, match="share must be in"):
        replay_probs(np.array([False, True]), share)
    with pytest.raises(TrainConfigError, match=r"replay_share must be in \(0, 1\)"):
        tiny_train_config(tmp_path, tmp_path / "r", stage=2, init="x.pt",
                          replay=(str(tmp_path),), replay_share=share)  # fmt: skip


def test_replay_needs_both_groups_and_stage_two(tmp_path):
    with pytest.raises(NmrDataError, match="both kinds.*0 replay"):
        replay_probs(np.zeros(5, bool), 0.5)
    with pytest.raises(TrainConfigError, match="needs stage 2, got stage 1"):
        tiny_train_config(tmp_path, tmp_path / "r", replay=(str(tmp_path),))


def test_load_pairs_records_each_entrys_folder(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_pairs([("walk_short", get_clip("walk_short").motion())], retargeters.make("direct"),
                a, chunk_frames=60)  # fmt: skip
    write_pairs([("wave_short", get_clip("wave_short").motion())], retargeters.make("direct"),
                b, chunk_frames=60)  # fmt: skip
    data = load_pairs([a, b], noise_variants=0)
    src = data.source_index()
    assert src.shape == (len(data),) and set(src) == {0, 1}
    assert all(pid.startswith("a:") for pid, s in zip(data.pair_ids, src, strict=True) if s == 0)
    assert all(pid.startswith("b:") for pid, s in zip(data.pair_ids, src, strict=True) if s == 1)


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    """A 'kinematic' set (three built-in clips) and a small 'physics' set (one other clip)."""
    root = tmp_path_factory.mktemp("nmr_replay")
    kin = [(c, get_clip(c).motion()) for c in ("walk_short", "wave_short", "jumps_short")]
    write_pairs(kin, retargeters.make("direct"), root / "kin", chunk_frames=60)
    phys = [("kicks_short", get_clip("kicks_short").motion())]
    write_pairs(phys, retargeters.make("direct"), root / "phys", chunk_frames=60)
    cfg1 = tiny_train_config(root / "kin", root / "s1", eval_every=100)
    train(cfg1)
    return root


def _stage2(root, out, **kw):
    return tiny_train_config(root / "phys", out, stage=2, init=str(root / "s1" / "model.pt"),
                             epochs=1, eval_every=100, **kw)  # fmt: skip


def test_a_stage_two_run_with_replay_records_both_sets_and_resumes_only_with_them(sets, tmp_path):
    n_phys = len(load_pairs([sets / "phys"], noise_variants=0))
    n_kin = len(load_pairs([sets / "kin"], noise_variants=0))
    plain = train(_stage2(sets, tmp_path / "plain"))["stages"][-1]
    assert plain["pairs"] == n_phys and plain["replay_pairs"] == 0 and plain["replay"] == []
    rep_cfg = _stage2(sets, tmp_path / "rep", replay=(str(sets / "kin"),), replay_share=0.5)
    rec = train(rep_cfg)["stages"][-1]
    assert rec["pairs"] == n_phys and rec["replay_pairs"] == n_kin
    assert rec["replay"] == [str((sets / "kin").resolve())]
    assert rec["config"]["replay_share"] == 0.5
    assert rec["steps"] == -(-(n_phys + n_kin) // 4)  # an epoch draws every entry's worth
    a = load_checkpoint(tmp_path / "plain" / "model.pt")[0].state_dict()
    b = load_checkpoint(tmp_path / "rep" / "model.pt")[0].state_dict()
    assert any(not torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(TrainConfigError, match="changed arguments.*replay_share"):
        train(_stage2(sets, tmp_path / "rep", replay=(str(sets / "kin"),)), resume=True)


def test_cli_replay_in_stage_one_exits_2_with_one_line(tmp_path, capsys):
    argv = ["nmr", "train", "--data", str(tmp_path), "--out", str(tmp_path / "r"),
            "--replay", str(tmp_path)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs stage 2" in err[0]
    assert main([*argv, "--stage", "2", "--init", "x.pt", "--replay-share", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "replay_share must be in (0, 1)" in err[0] and "got 1.0" in err[0]
    assert not (tmp_path / "r").exists()


def test_a_run_saved_before_the_option_resumes_without_replay(sets, tmp_path):
    out = tmp_path / "old"
    train(_stage2(sets, out, max_steps=1, save_every=1))
    state = torch.load(out / "state.pt", weights_only=False)
    del state["config"]["replay"], state["config"]["replay_share"]  # written before the option
    torch.save(state, out / "state.pt")
    train(_stage2(sets, out), resume=True)  # finishes without "changed arguments"
    with pytest.raises(TrainConfigError, match="changed arguments.*replay"):
        train(_stage2(sets, out, replay=(str(sets / "kin"),)), resume=True)
