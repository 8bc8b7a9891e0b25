"""NMR training: determinism for a seed, resume after a kill, stage 2, held-out reporting, CLI."""

from __future__ import annotations

import pytest
import torch
from _helpers import tiny_train_config

import retargeters
from benchmark.cli import main
from nmr_gym.suite import get_clip
from retargeters.nmr.checkpoint import load_checkpoint
from retargeters.nmr.data import load_pairs, write_pairs
from retargeters.nmr.train import TrainConfigError, cosine_lr, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    """A tiny kinematic pair set: the direct retargeter on three built-in clips (4-s chunks)."""
    out = tmp_path_factory.mktemp("nmr") / "pairs"
    clips = [(c, get_clip(c).motion()) for c in ("walk_short", "wave_short", "jumps_short")]
    n = write_pairs(clips, retargeters.make("direct"), out, chunk_frames=60)
    assert n >= 9
    return out


def _cfg(pairs, out, **kw):
    return tiny_train_config(pairs, out, **kw)


def _weights(path):
    model, _, info = load_checkpoint(path)
    return model.state_dict(), info


def test_two_runs_with_one_seed_give_identical_weights_and_another_seed_differs(pairs, tmp_path):
    train(_cfg(pairs, tmp_path / "a"))
    train(_cfg(pairs, tmp_path / "b"))
    train(_cfg(pairs, tmp_path / "c", seed=1))
    a, info = _weights(tmp_path / "a" / "model.pt")
    b, _ = _weights(tmp_path / "b" / "model.pt")
    c, _ = _weights(tmp_path / "c" / "model.pt")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    assert any(not torch.equal(a[k], c[k]) for k in a)
    st = info["stages"][0]
    assert st["steps"] == st["steps_planned"] == 2 * -(-st["pairs"] // 4)
    assert "train_loss" in st["eval"] and st["eval"]["train_joint_mae_deg"] > 0


def test_resume_after_a_kill_gives_the_uninterrupted_weights(pairs, tmp_path):
    train(_cfg(pairs, tmp_path / "full"))
    train(_cfg(pairs, tmp_path / "killed", max_steps=3))  # stops after the step-3 checkpoint
    with pytest.raises(TrainConfigError, match="--resume"):
        train(_cfg(pairs, tmp_path / "killed"))
    with pytest.raises(TrainConfigError, match="changed arguments"):
        train(_cfg(pairs, tmp_path / "killed", seed=5), resume=True)
    train(_cfg(pairs, tmp_path / "killed"), resume=True)
    a, _ = _weights(tmp_path / "full" / "model.pt")
    b, _ = _weights(tmp_path / "killed" / "model.pt")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def test_stage_two_fine_tunes_at_a_lower_rate_and_records_both_stages(pairs, tmp_path):
    train(_cfg(pairs, tmp_path / "s1", heldout=(str(pairs),)))
    with pytest.raises(TrainConfigError, match="init"):
        _cfg(pairs, tmp_path / "s2", stage=2)
    cfg2 = _cfg(pairs, tmp_path / "s2", stage=2, init=str(tmp_path / "s1" / "model.pt"), epochs=1)
    assert cfg2.peak_lr == 1e-5 < _cfg(pairs, tmp_path / "x").peak_lr
    train(cfg2)
    s1, info1 = _weights(tmp_path / "s1" / "model.pt")
    s2, info2 = _weights(tmp_path / "s2" / "model.pt")
    assert [s["stage"] for s in info2["stages"]] == [1, 2]
    assert "heldout_loss" in info1["stages"][0]["eval"]
    assert any(not torch.equal(s1[k], s2[k]) for k in s1)
    diff = max(float((s1[k] - s2[k]).abs().max()) for k in s1)
    assert diff < 1e-2  # lr 1e-5 moves weights only a little


def test_loss_falls_when_overfitting_a_tiny_set(pairs, tmp_path):
    rec = train(_cfg(pairs, tmp_path / "o", epochs=15, lr=3e-3, mirror_prob=0.0, noise_prob=0.0,
                     save_every=1000, eval_every=1000))  # fmt: skip
    first = train(_cfg(pairs, tmp_path / "o0", epochs=1, max_steps=1, save_every=1000,
                       eval_every=1000, mirror_prob=0.0, noise_prob=0.0))  # fmt: skip
    assert rec["stages"][0]["eval"]["train_loss"] < 0.8 * first["stages"][0]["eval"]["train_loss"]


def test_noise_variants_are_seeded_and_differ_from_clean(pairs):
    a = load_pairs([pairs], noise_variants=1, seed=3, limit=2)
    b = load_pairs([pairs], noise_variants=1, seed=3, limit=2)
    assert (a.noisy[0][0][0] == b.noisy[0][0][0]).all()
    assert abs(a.noisy[0][0][0] - a.human_pos[0]).max() > 1e-3


def test_cosine_schedule():
    assert cosine_lr(0, 100, 10) == pytest.approx(0.1)
    assert cosine_lr(10, 100, 10) == pytest.approx(1.0)
    assert cosine_lr(100, 100, 10) == pytest.approx(0.0)


def test_cli_bad_input_exits_2(tmp_path, capsys):
    assert (
        main(["nmr", "train", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "r")])
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a folder" in err[0]
    assert main(["nmr", "train", "--data", str(tmp_path), "--out", str(tmp_path / "r"),
                 "--preset", "huge"]) == 2  # fmt: skip
    assert "valid NMR presets" in capsys.readouterr().err
    assert main(["nmr", "train", "--data", str(tmp_path), "--out", str(tmp_path / "r"),
                 "--fk-weight", "-1"]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fk_weight must be a finite number >= 0" in err[0] and "-1" in err[0]
    assert not (tmp_path / "r").exists()


def test_a_run_with_the_fk_loss_trains_records_it_and_resumes_only_with_it(pairs, tmp_path):
    with pytest.raises(TrainConfigError, match="fk_weight"):
        _cfg(pairs, tmp_path / "bad", fk_weight=-1.0)
    train(_cfg(pairs, tmp_path / "plain"))
    train(_cfg(pairs, tmp_path / "fk", fk_weight=1.0, max_steps=2))
    with pytest.raises(TrainConfigError, match="changed arguments.*fk_weight"):
        train(_cfg(pairs, tmp_path / "fk"), resume=True)
    train(_cfg(pairs, tmp_path / "fk", fk_weight=1.0), resume=True)
    plain, _, _ = load_checkpoint(tmp_path / "plain" / "model.pt")
    fk, _, info = load_checkpoint(tmp_path / "fk" / "model.pt")
    stage = info["stages"][0]
    assert stage["config"]["fk_weight"] == 1.0
    assert stage["eval"]["train_fk_body_mae_m"] > 0
    a, b = plain.state_dict(), fk.state_dict()
    assert any(not torch.equal(a[k], b[k]) for k in a)  # the loss changed the weights
