"""Two-stage NMR training (NMR paper III-D): AdamW, cosine schedule, L1 on normalised features.

Stage 1 trains on kinematic pairs (lr 2e-4 in the paper), stage 2 fine-tunes the stage-1 network
on physics pairs from CEPR rollouts at a lower rate (1e-5). Sizes, epochs and window length are
arguments (:class:`TrainConfig`). The run folder ``out`` holds:

    state.pt     full training state (weights, optimiser, schedule, step), written every
                 ``save_every`` steps and at the end; ``resume=True`` continues from it
    model.pt     the inference checkpoint (:mod:`retargeters.nmr.checkpoint`), same moments
    tb/          TensorBoard scalars (losses, learning rate, held-out losses)
    log.jsonl    one JSON row per evaluation

Pose balancing (``balance_poses``, beyond the paper): each epoch draws as many windows as there
are pairs, with probability proportional to the inverse frequency of the target's pose bin
(:func:`retargeters.nmr.data.pose_bins`: left/right shoulder elevation, side-symmetric) raised to
``balance_poses``. 0 (default) is the paper's uniform sampling, one permutation per epoch, with
the same draws as before the option existed.

Determinism: every batch (pair order, crops, mirroring, noise choice) and the dropout generator
are derived from (seed, stage, step), so on the CPU two runs with the same arguments give
identical weights, and a run resumed after a kill gives the same weights as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nmr_gym.errors import NmrGymError
from nmr_gym.io.atomic import atomic_path
from retargeters.nmr import torch_fk
from retargeters.nmr.checkpoint import load_checkpoint, save_checkpoint
from retargeters.nmr.data import (
    Normalizer,
    PairArrays,
    compute_normalizer,
    epoch_order,
    load_pairs,
    make_batch,
    pose_balance_probs,
    pose_bin_labels,
    pose_bins,
    replay_probs,
    window_starts,
)
from retargeters.nmr.features import LAYOUT, OUT_SLICES
from retargeters.nmr.model import NMRNet, count_parameters, preset

#: Peak learning rate per stage (NMR paper: 2e-4 for stage 1, 1e-5 for stage 2).
STAGE_LR = {1: 2e-4, 2: 1e-5}
#: Pairs of the training set re-scored (clean) at each evaluation, for the train-loss report.
TRAIN_EVAL_PAIRS = 256


class TrainConfigError(NmrGymError, ValueError):
    """Training arguments that cannot work together (or a run folder that does not fit them)."""


@dataclass(frozen=True)
class TrainConfig:
    """Arguments of one training stage (see ``nmr-bench train-retargeter --help``)."""

    data: tuple[str, ...]
    out: str
    stage: int = 1
    preset: str = "small"
    epochs: int = 10
    batch_size: int = 32
    lr: float | None = None  # None: STAGE_LR[stage]
    weight_decay: float = 0.01
    warmup_steps: int = 100
    window: int = 120  # frames at 30 fps (the release's window)
    mirror_prob: float = 0.5
    noise_prob: float = 0.3
    noise_variants: int = 1
    #: pose-balanced sampling exponent: draw pairs with probability ~ count(pose bin) ** -this;
    #: 0 = uniform (the paper), 1 = every pose bin equally often
    balance_poses: float = 0.0
    #: join overlapping chunks of one clip and crop windows anywhere in them
    #: (:func:`retargeters.nmr.data.load_pairs`); False: each chunk is its own pair (the paper)
    stitch: bool = False
    #: weight [1/m] of the forward-kinematics loss (:func:`fk_loss`, beyond the paper): the mean
    #: distance between the bodies placed by the predicted root rotation and joint angles and the
    #: target's bodies, pelvis-relative (what MPJPE measures); 0 = the paper's L1 alone
    fk_weight: float = 0.0
    #: stage 2 only (beyond the paper): kinematic pair folders mixed into the fine-tuning, for
    #: the clips CEPR did not refine. The paper's stage-2 set is the refined corpus; where the
    #: physics pairs cover a small part of it, fine-tuning on them alone pulls the network
    #: towards those few clips and away from the rest (measured in the model card). () = the
    #: paper: the physics pairs alone
    replay: tuple[str, ...] = ()
    #: share of each epoch's draws taken from the ``replay`` pairs, in (0, 1); the physics pairs
    #: get the rest (so a few physics pairs are drawn far more often than each replay pair)
    replay_share: float = 0.75
    seed: int = 0
    save_every: int = 500
    eval_every: int = 500
    heldout: tuple[str, ...] = ()
    init: str | None = None  # checkpoint to start from (required for stage 2)
    device: str = "cpu"
    limit_pairs: int | None = None
    max_steps: int | None = None  # stop after this step (the schedule still spans all epochs)
    progress: bool = True
    tensorboard: bool = True

    def __post_init__(self) -> None:
        if self.stage not in STAGE_LR:
            raise TrainConfigError(f"stage must be 1 or 2, got {self.stage}")
        if self.stage == 2 and not self.init:
            raise TrainConfigError("stage 2 fine-tunes a stage-1 checkpoint: pass init (--init)")
        for name, lo in (("epochs", 1), ("batch_size", 1), ("save_every", 1), ("eval_every", 1)):
            if int(getattr(self, name)) < lo:
                raise TrainConfigError(f"{name} must be >= {lo}, got {getattr(self, name)}")
        if self.window < 8 or self.window % 4:
            raise TrainConfigError(f"window must be a multiple of 4 and >= 8, got {self.window}")
        for name in ("mirror_prob", "noise_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise TrainConfigError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not (math.isfinite(self.balance_poses) and self.balance_poses >= 0.0):
            raise TrainConfigError(
                "balance_poses must be a finite number >= 0 (0: uniform, 1: every pose bin "
                f"equally often), got {self.balance_poses}"
            )
        if not (math.isfinite(self.fk_weight) and self.fk_weight >= 0.0):
            raise TrainConfigError(
                f"fk_weight must be a finite number >= 0 [1/m] (0: the paper's loss), "
                f"got {self.fk_weight}"
            )
        if self.replay and self.stage != 2:
            raise TrainConfigError(
                "replay mixes kinematic pairs into stage 2's physics pairs: it needs stage 2, "
                f"got stage {self.stage}"
            )
        if not (math.isfinite(self.replay_share) and 0.0 < self.replay_share < 1.0):
            raise TrainConfigError(
                f"replay_share must be in (0, 1) (the replay pairs' share of the draws), "
                f"got {self.replay_share}"
            )
        if not self.data:
            raise TrainConfigError("no training data (data folders)")
        preset(self.preset)  # an unknown name fails here, listing the presets

    @property
    def peak_lr(self) -> float:
        return float(self.lr if self.lr is not None else STAGE_LR[self.stage])

    def to_dict(self) -> dict[str, Any]:
        """The arguments as JSON-friendly values (the folder tuples as lists)."""
        return {k: _listed(v) for k, v in dataclasses.asdict(self).items()}


# The arguments that must match when a run is resumed (the others may change, e.g. max_steps).
_RESUME_KEYS = ("data", "stage", "preset", "epochs", "batch_size", "lr", "weight_decay",
                "warmup_steps", "window", "mirror_prob", "noise_prob", "noise_variants", "seed",
                "init", "limit_pairs", "balance_poses", "stitch", "fk_weight", "replay",
                "replay_share")  # fmt: skip
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig)}


def _listed(value: Any) -> Any:
    """A tuple default as the list ``TrainConfig.to_dict`` writes (other values as they are)."""
    return list(value) if isinstance(value, tuple) else value


def cosine_lr(step: int, total: int, warmup: int) -> float:
    """Learning-rate factor: linear warm-up, then cosine decay to 0 at ``total`` steps."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def masked_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean |pred - target| over valid frames and all features (NMR paper Eq. 9)."""
    m = mask[..., None].to(pred.dtype)
    return ((pred - target).abs() * m).sum() / (m.sum() * pred.shape[-1]).clamp_min(1.0)


class _Denorm:
    """The normaliser's output statistics as tensors, to decode network outputs in training."""

    def __init__(self, norm: Normalizer, device) -> None:
        self.mean = torch.as_tensor(norm.out_mean, device=device)
        self.std = torch.as_tensor(norm.out_std, device=device)

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        return y * self.std + self.mean


def fk_body_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Distances (B, T, 30) [m] between the bodies of decoded outputs ``pred`` (B, T, 217)
    placed by forward kinematics of its root rotation and joint angles, and the target's body
    positions (decoded ``target``), both relative to the pelvis in the canonical axes."""
    rel = torch_fk.body_pos_rel(
        pred[..., OUT_SLICES["root_rot_6d"]], pred[..., OUT_SLICES["joint_pos"]]
    )
    tb = target[..., OUT_SLICES["body_pos"]].reshape(*target.shape[:-1], -1, 3)
    tb = tb - tb[..., :1, :]  # x, y are pelvis-relative already; z was above the floor
    return (rel - tb).norm(dim=-1)


def fk_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean :func:`fk_body_error` [m] over valid frames and the 30 bodies."""
    m = mask.to(pred.dtype)
    return (fk_body_error(pred, target).mean(-1) * m).sum() / m.sum().clamp_min(1.0)


def _to_torch(a: np.ndarray, device) -> torch.Tensor:
    return torch.as_tensor(a, device=device)


def _normed(batch, norm: Normalizer, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    x = (batch.x - norm.in_mean) / norm.in_std
    y = (batch.y - norm.out_mean) / norm.out_std
    return _to_torch(x, device), _to_torch(y, device), _to_torch(batch.mask, device)


@torch.no_grad()
def evaluate(
    model: NMRNet,
    norm: Normalizer,
    data: PairArrays,
    window: int,
    batch_size: int = 64,
    indices: np.ndarray | None = None,
) -> dict[str, float]:
    """Clean-input losses of pairs' first windows (no mirroring, no noise).

    Returns the L1 on normalised features (``loss``, the training objective), per output group,
    and three numbers in physical units from the decoded output: ``joint_mae_deg`` (mean absolute
    joint-angle error [deg]), ``body_pos_mae_m`` (mean error of the predicted body positions,
    root-relative xy and height, canonical frame [m]) and ``fk_body_mae_m`` (mean error of the
    bodies placed by the predicted root rotation and joint angles, pelvis-relative [m]: the
    positions inference outputs, :func:`fk_body_error`).
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    idx = np.arange(len(data)) if indices is None else np.asarray(indices)
    denorm = _Denorm(norm, device)
    sums: dict[str, float] = {}
    n_valid = 0.0
    for chunk in np.array_split(idx, max(1, math.ceil(len(idx) / batch_size))):
        if not len(chunk):
            continue
        bt = make_batch(data, chunk, np.zeros(len(chunk), int), window)
        x, y, mask = _normed(bt, norm, device)
        pred = model(x, mask)
        m = mask[..., None].float()
        nv = float(m.sum())
        err = (pred - y).abs() * m
        sums["loss"] = sums.get("loss", 0.0) + float(err.sum()) / pred.shape[-1]
        for name, sl in OUT_SLICES.items():
            sums[f"loss_{name}"] = sums.get(f"loss_{name}", 0.0) + float(err[..., sl].sum()) / (
                sl.stop - sl.start
            )
        decoded = denorm(pred)  # (B, T, 217), decoded once for both physical errors
        phys = decoded.cpu().numpy() - bt.y
        valid = bt.mask
        jm = np.abs(phys[..., OUT_SLICES["joint_pos"]])[valid]
        bpe = phys[..., OUT_SLICES["body_pos"]].reshape(*phys.shape[:2], -1, 3)[valid]
        sums["joint_mae_deg"] = sums.get("joint_mae_deg", 0.0) + float(np.rad2deg(jm).mean(1).sum())
        sums["body_pos_mae_m"] = sums.get("body_pos_mae_m", 0.0) + float(
            np.linalg.norm(bpe, axis=-1).mean(1).sum()
        )
        fke = fk_body_error(decoded.double(), torch.as_tensor(bt.y, device=device).double())
        fke = fke.mean(-1)
        sums["fk_body_mae_m"] = sums.get("fk_body_mae_m", 0.0) + float((fke * mask).sum())
        n_valid += nv
    model.train(was_training)
    return {k: v / max(n_valid, 1.0) for k, v in sums.items()}


def _save_state(path: Path, state: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def train(cfg: TrainConfig, resume: bool = False) -> dict[str, Any]:
    """Run (or resume) one training stage; returns the final record (also in ``model.pt``)."""
    out = Path(cfg.out)
    state_path = out / "state.pt"
    if state_path.exists() and not resume:
        raise TrainConfigError(
            f"{out} already holds a training run (state.pt): pass resume (--resume) to continue "
            "it or choose another folder"
        )
    device = torch.device(cfg.device)
    state = None
    if resume and state_path.exists():
        state = torch.load(state_path, map_location="cpu", weights_only=False)
        old = state["config"]
        # a key missing from an older run's state has its default (e.g. balance_poses 0)
        new = cfg.to_dict()
        changed = [k for k in _RESUME_KEYS if _listed(old.get(k, _DEFAULTS.get(k))) != new.get(k)]
        if changed:
            raise TrainConfigError(f"{out}: cannot resume with changed arguments {changed}")

    data = load_pairs(
        [*cfg.data, *cfg.replay], noise_variants=cfg.noise_variants, seed=cfg.seed,
        limit=cfg.limit_pairs, progress=cfg.progress, stitch=cfg.stitch,
    )  # fmt: skip
    slots = data.slot_counts()  # (N,) pairs each entry holds (all 1 without stitching)
    heldout = load_pairs(list(cfg.heldout), noise_variants=0) if cfg.heldout else None
    bins = pose_bins(data)
    probs = pose_balance_probs(bins, cfg.balance_poses)  # None: uniform
    is_replay = data.source_index() >= len(cfg.data)  # (N,) bool: entry from a replay folder
    if cfg.replay:
        probs = replay_probs(is_replay, cfg.replay_share, probs, slots)
    labels = pose_bin_labels()
    counts = np.bincount(bins, minlength=len(labels))  # (n_bins,) pairs per pose bin
    share = counts / len(bins) if probs is None else np.bincount(bins, probs, len(labels))
    pose_balance = {
        "exponent": cfg.balance_poses,
        "pairs_per_bin": dict(zip(labels, counts.tolist(), strict=True)),
        "draw_share_per_bin": dict(zip(labels, np.round(share, 4).tolist(), strict=True)),
    }

    history: list[dict[str, Any]] = []
    if cfg.init:
        init_model, norm, init_info = load_checkpoint(cfg.init)
        model_cfg = init_model.cfg
        history = list(init_info.get("stages", []))
    else:
        model_cfg = preset(cfg.preset)
        norm = compute_normalizer(data, cfg.window, seed=cfg.seed)
    torch.manual_seed(cfg.seed)
    model = NMRNet(model_cfg)
    if cfg.init:
        model.load_state_dict(init_model.state_dict())
    model.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.peak_lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(int(slots.sum()) / cfg.batch_size)
    total = cfg.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: cosine_lr(s, total, min(cfg.warmup_steps, total // 10))
    )
    step, wall_prev = 0, 0.0
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        norm = Normalizer.from_dict(state["normalizer"])
        step, wall_prev = int(state["step"]), float(state["wall_s"])
        history = state["history"]

    writer = None
    if cfg.tensorboard:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(out / "tb"), purge_step=step if step else None)
    rng0 = np.random.default_rng([cfg.seed, cfg.stage])
    train_eval_idx = np.sort(
        rng0.choice(len(data), min(len(data), TRAIN_EVAL_PAIRS), replace=False)
    )
    stop = total if cfg.max_steps is None else min(total, cfg.max_steps)
    t0 = time.monotonic()
    last: dict[str, float] = {}
    record: dict[str, Any] = {}

    def stage_record(done: int) -> dict[str, Any]:
        return {
            "stage": cfg.stage,
            "kind": "kinematic" if cfg.stage == 1 else "physics",
            "data": [str(Path(d).resolve()) for d in cfg.data],
            "pairs": int(slots[~is_replay].sum()),
            "replay": [str(Path(d).resolve()) for d in cfg.replay],
            "replay_pairs": int(slots[is_replay].sum()),
            "stitched_entries": len(data) if cfg.stitch else None,
            "frames": data.n_frames,
            "epochs_planned": cfg.epochs,
            "steps": done,
            "steps_planned": total,
            "epochs_done": round(done / steps_per_epoch, 3),
            "wall_s": round(wall_prev + time.monotonic() - t0, 1),
            # with init the network is the init's: record its preset, not the unused argument
            "config": {**cfg.to_dict(), "preset": history[0]["config"]["preset"]}
            if history
            else cfg.to_dict(),
            "pose_balance": pose_balance,
            "eval": dict(last),
        }

    def save(done: int) -> None:
        nonlocal record
        rec = stage_record(done)
        first = history[0]["config"]["preset"] if history else cfg.preset
        record = {"stages": [*history, rec], "parameters": count_parameters(model),
                  "preset": first, "layout_version": LAYOUT["version"]}  # fmt: skip
        out.mkdir(parents=True, exist_ok=True)
        _save_state(state_path, {
            "config": cfg.to_dict(), "model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(), "normalizer": norm.to_dict(), "step": done,
            "wall_s": rec["wall_s"], "history": history,
        })  # fmt: skip
        save_checkpoint(out / "model.pt", model, norm, record)

    def run_eval(done: int) -> None:
        last.clear()
        tr = evaluate(model, norm, data, cfg.window, indices=train_eval_idx)
        last.update({f"train_{k}": v for k, v in tr.items()})
        if heldout is not None:
            ho = evaluate(model, norm, heldout, cfg.window)
            last.update({f"heldout_{k}": v for k, v in ho.items()})
        if writer is not None:
            for k, v in last.items():
                writer.add_scalar(f"eval/{k}", v, done)
        with open(out / "log.jsonl", "a") as f:
            f.write(json.dumps({"step": done, "stage": cfg.stage, **last}) + "\n")

    bar = None
    if cfg.progress:
        from tqdm import tqdm

        bar = tqdm(total=stop, initial=step, desc=f"nmr stage {cfg.stage}", unit="step")
    perm_epoch, perm = -1, None
    denorm = _Denorm(norm, device)
    out.mkdir(parents=True, exist_ok=True)
    while step < stop:
        epoch, k = divmod(step, steps_per_epoch)
        if epoch != perm_epoch:
            perm = epoch_order(len(data), cfg.seed, cfg.stage, epoch, probs, slots)
            perm_epoch = epoch
        idx = np.resize(perm[k * cfg.batch_size : (k + 1) * cfg.batch_size], cfg.batch_size)
        rng = np.random.default_rng([cfg.seed, cfg.stage, step])
        starts = window_starts(data, idx, cfg.window, rng)
        mirrored = rng.random(cfg.batch_size) < cfg.mirror_prob
        noisy = rng.random(cfg.batch_size) < cfg.noise_prob
        variant = rng.integers(0, max(1, cfg.noise_variants), cfg.batch_size)
        variant = np.where(noisy & (cfg.noise_variants > 0), variant, -1)
        x, y, mask = _normed(
            make_batch(data, idx, starts, cfg.window, mirrored, variant), norm, device
        )
        torch.manual_seed(
            int(np.random.SeedSequence([cfg.seed, cfg.stage, step]).generate_state(1)[0])
        )
        pred = model(x, mask)
        loss = masked_l1(pred, y, mask)
        if cfg.fk_weight > 0.0:
            loss_fk = fk_loss(denorm(pred), denorm(y), mask)
            loss = loss + cfg.fk_weight * loss_fk
            if writer is not None:
                writer.add_scalar("train/fk_loss_m", loss_fk.item(), step + 1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        lv = loss.item()
        if not math.isfinite(lv):
            raise FloatingPointError(f"training loss is {lv} at step {step}")
        if writer is not None:
            writer.add_scalar("train/loss", lv, step)
            writer.add_scalar("train/lr", sched.get_last_lr()[0], step)
        if step % cfg.eval_every == 0 or step == stop:
            run_eval(step)
        if step % cfg.save_every == 0 or step == stop:
            save(step)
        if bar is not None:
            post = {"loss": f"{lv:.4f}", "ep": f"{step / steps_per_epoch:.2f}"}
            if "heldout_loss" in last:
                post["heldout"] = f"{last['heldout_loss']:.4f}"
            bar.set_postfix(post)
            bar.update(1)
    if bar is not None:
        bar.close()
    if writer is not None:
        writer.close()
    if not record:  # nothing left to do (resumed a finished run)
        run_eval(step)
        save(step)
    return record
