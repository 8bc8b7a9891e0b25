"""Training data for NMR: pair datasets in memory, windows, augmentation, normalisation.

Pairs come from :class:`nmr_gym.datasets.PairDataset` folders (kinematic pairs for stage 1,
physics pairs for stage 2). Each pair is kept in memory as world-frame arrays; a batch is cut
from them and turned into features on the fly (:func:`retargeters.nmr.features.window_features`),
so augmentation costs no memory:

- left-right mirroring (:mod:`retargeters.nmr.mirror`) of the human and the robot together;
- input noise like the built-in noisy suite (:func:`nmr_gym.suite.noise.add_noise`: jitter,
  single-frame spikes, sinking windows) on the human only, with the clean robot target, so the
  network learns to ignore upstream estimation errors (NMR paper Fig. 6). ``noise_variants``
  seeded noisy copies of each human are made once when the data is loaded.

Pose-balanced sampling (beyond the paper; :func:`pose_bins`, :func:`pose_balance_probs`,
:func:`epoch_order`): raised arms are a few percent of human motion data, and a network trained
on uniformly drawn windows keeps a raised arm near the average pose. Each pair gets a pose bin
from its robot target's shoulder elevations, and pairs are drawn with probability proportional
to ``count(bin) ** -exponent``: 0 is uniform (the paper), 1 gives every bin the same share.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nmr_gym.datasets import PairDataset
from nmr_gym.errors import MotionError, NmrGymError
from nmr_gym.g1 import kinematic_model, spec
from nmr_gym.motion import HumanMotion, forward_kinematics
from nmr_gym.skeleton import SMPL_JOINT_NAMES
from retargeters.nmr import mirror
from retargeters.nmr.features import (
    IN_GROUPS,
    NMR_FPS,
    NUM_HUMAN_JOINTS,
    OUT_GROUPS,
    group_slices,
    window_features,
)

_HUMAN_PERM = mirror.SMPL_PERM[:NUM_HUMAN_JOINTS]  # the 22 body joints mirror among themselves


class NmrDataError(NmrGymError, ValueError):
    """Training data cannot be used (empty, wrong rate, missing folder)."""


@dataclass
class PairArrays:
    """Pairs in memory (world frame, float32), one list entry per pair."""

    human_pos: list[np.ndarray] = field(default_factory=list)  # (T, 22, 3) [m]
    pelvis_quat: list[np.ndarray] = field(default_factory=list)  # (T, 4)
    floor_z: list[float] = field(default_factory=list)  # lowest joint height [m]
    height: list[float] = field(default_factory=list)  # human height [m]
    qpos: list[np.ndarray] = field(default_factory=list)  # (T, 36)
    body_pos: list[np.ndarray] = field(default_factory=list)  # (T, 30, 3) [m]
    #: noisy[k] holds the k-th noisy copy of each human as (pos (T, 22, 3), pelvis (T, 4), floor)
    noisy: list[list[tuple[np.ndarray, np.ndarray, float]]] = field(default_factory=list)
    pair_ids: list[str] = field(default_factory=list)
    #: slots[i]: how many dataset pairs entry i holds (1; more where :func:`load_pairs` stitched
    #: overlapping chunks of one clip); an epoch draws entry i that many times
    slots: list[int] = field(default_factory=list)
    #: sources[i]: index (in the ``paths`` given to :func:`load_pairs`) of entry i's folder
    sources: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.human_pos)

    def slot_counts(self) -> np.ndarray:
        """(N,) int: the pairs each entry holds (``slots``; all 1 where it was not filled)."""
        return np.asarray(self.slots, dtype=int) if self.slots else np.ones(len(self), int)

    def source_index(self) -> np.ndarray:
        """(N,) int: the folder each entry came from (``sources``; all 0 where not filled)."""
        return np.asarray(self.sources, dtype=int) if self.sources else np.zeros(len(self), int)

    @property
    def n_frames(self) -> int:
        return int(sum(p.shape[0] for p in self.human_pos))


def _noise_seed(seed: int, index: int, variant: int) -> int:
    return int(np.random.SeedSequence([seed, index, variant]).generate_state(1)[0])


#: Largest difference [m, rad] between two chunks' shared frames for :func:`load_pairs` to stitch
#: them: the chunks of one CEPR clip are slices of one retargeted motion, so their overlap is
#: bit-identical; physics rollouts of neighbouring chunks are not and stay apart.
STITCH_TOL = 1e-5


def _frames(row) -> tuple[int, int] | None:
    """(start, stop) source frames of a manifest row, None without the columns."""
    try:
        start, stop = int(row["start_frame"]), int(row["stop_frame"])
    except (KeyError, TypeError, ValueError):
        return None
    return start, stop


@dataclass
class _Stretch:
    """Consecutive chunks of one clip joined so far (see :func:`_stitched`)."""

    human: HumanMotion
    robot: Any  # RobotMotion
    pair_id: str  # the first chunk's
    source: str  # the manifest's human_source
    span: tuple[int, int] | None  # (start, stop) source frames; None: unknown (never joined)
    slots: int = 1

    def shared_frames(self, source: str, span, human: HumanMotion, robot) -> int:
        """Frames the next chunk shares with this stretch (0: it does not continue it): the
        same source, starting inside the stretch and ending after it, at the same rate, the
        shared frames equal to :data:`STITCH_TOL` in the human joints and the robot qpos."""
        if span is None or self.span is None or source != self.source:
            return 0
        (s0, e0), (s, e) = self.span, span
        k = e0 - s
        if not (
            s0 < s <= e0 < e and k <= human.n_frames and math.isclose(self.human.fps, human.fps)
        ):
            return 0
        tail_h, tail_r = self.human.joint_pos[-k:], self.robot.qpos[-k:]
        same = np.allclose(tail_h, human.joint_pos[:k], atol=STITCH_TOL, rtol=0) and np.allclose(
            tail_r, robot.qpos[:k], atol=STITCH_TOL, rtol=0
        )
        return k if same else 0


def _stitched(entries: list[tuple[Any, HumanMotion, Any, str]]) -> list[_Stretch]:
    """Join consecutive (row, human, robot, id) entries that are overlapping slices of one clip
    (:meth:`_Stretch.shared_frames`); each result's ``slots`` is the number of chunks joined."""
    out: list[_Stretch] = []
    for row, human, robot, pid in entries:
        source, span = str(row.get("human_source", "")), _frames(row)
        k = out[-1].shared_frames(source, span, human, robot) if out else 0
        if k:
            last = out[-1]
            last.human, last.robot = last.human.concat(human[k:]), last.robot.concat(robot[k:])
            last.span, last.slots = (last.span[0], span[1]), last.slots + 1
        else:
            out.append(_Stretch(human, robot, pid, source, span))
    return out


def load_pairs(
    paths: list[str | os.PathLike],
    *,
    noise_variants: int = 1,
    seed: int = 0,
    only_success: bool = True,
    limit: int | None = None,
    progress: bool = False,
    stitch: bool = False,
) -> PairArrays:
    """Read pair datasets into memory at the network's rate (``NMR_FPS``).

    Args:
        paths: PairDataset folders.
        noise_variants: seeded noisy copies of each human to make (0: none).
        seed: seeds the noise (copy k of entry i uses a seed derived from (seed, i, k)).
        only_success: skip pairs whose manifest says ``success`` is False.
        limit: read at most this many pairs (tests, quick runs).
        stitch: join overlapping chunks of one clip into one longer entry (:func:`_stitched`),
            so that training crops windows at any offset of the joined stretch rather than only
            at the chunk grid (CEPR cuts 4-s chunks every 3.5 s: without stitching each chunk is
            exactly one 120-frame window, the same frames every epoch). The entry keeps the
            number of pairs it joined as its ``slots`` (its share of each epoch); the noise is
            drawn on the joined human, so a sinking window can span a former chunk edge.
    """
    from nmr_gym.suite.noise import add_noise

    out = PairArrays(noisy=[[] for _ in range(noise_variants)])
    model = kinematic_model()
    datasets = [PairDataset(p) for p in paths]
    total = sum(len(d) for d in datasets)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total if limit is None else min(total, limit), desc="load pairs")
    read = 0
    for source, ds in enumerate(datasets):
        entries = []
        for i in range(len(ds)):
            if limit is not None and read >= limit:
                break
            row = ds.manifest.iloc[i]
            if only_success and str(row["success"]).lower() in ("false", "0"):
                continue
            pair = ds[i]
            entries.append((row, pair.human, pair.robot, f"{ds.path.name}:{row['pair_id']}"))
            read += 1
            if bar is not None:
                bar.update(1)
        joined = (
            [(j.human, j.robot, j.pair_id, j.slots) for j in _stitched(entries)]
            if stitch
            else [(h, r, p, 1) for _, h, r, p in entries]
        )
        for human, robot, pid, slots in joined:
            if not math.isclose(human.fps, NMR_FPS):
                human, robot = human.resample(NMR_FPS), robot.resample(NMR_FPS)
            _append(out, human, robot.qpos, model)
            for k in range(noise_variants):
                noisy = add_noise(human, seed=_noise_seed(seed, len(out) - 1, k))
                pos = noisy.joint_pos[:, :NUM_HUMAN_JOINTS].astype(np.float32)
                out.noisy[k].append(
                    (pos, noisy.joint_quat[:, 0].astype(np.float32), float(pos[..., 2].min()))
                )
            out.pair_ids.append(pid)
            out.slots.append(slots)
            out.sources.append(source)
    if bar is not None:
        bar.close()
    if not len(out):
        raise NmrDataError(f"no usable pairs in {[str(p) for p in paths]}")
    return out


def _append(out: PairArrays, human: HumanMotion, qpos: np.ndarray, model) -> None:
    if human.joint_names != SMPL_JOINT_NAMES:
        raise MotionError("NMR needs humans on SMPL's 24 canonical joints", human.source)
    pos = human.joint_pos[:, :NUM_HUMAN_JOINTS].astype(np.float32)
    out.human_pos.append(pos)
    out.pelvis_quat.append(human.joint_quat[:, 0].astype(np.float32))
    out.floor_z.append(float(pos[..., 2].min()))
    out.height.append(float(human.height))
    out.qpos.append(np.asarray(qpos, dtype=np.float32))
    out.body_pos.append(forward_kinematics(model, np.asarray(qpos, float))[0].astype(np.float32))


def pairs_from_motions(pairs: list[tuple[HumanMotion, np.ndarray]]) -> PairArrays:
    """PairArrays from (human, robot qpos) tuples at ``NMR_FPS`` (no noise copies)."""
    out = PairArrays()
    model = kinematic_model()
    for k, (human, qpos) in enumerate(pairs):
        _append(out, human, qpos, model)
        out.pair_ids.append(str(k))
        out.slots.append(1)
    return out


def _crop(a: np.ndarray, start: int, window: int) -> np.ndarray:
    """Frames start..start+window of ``a``, the last frame repeated past its end."""
    idx = np.minimum(np.arange(start, start + window), a.shape[0] - 1)
    return a[idx]


@dataclass
class Batch:
    x: np.ndarray  # (B, W, 140) features
    y: np.ndarray  # (B, W, 217)
    mask: np.ndarray  # (B, W) bool, valid frames


def make_batch(
    data: PairArrays,
    indices: np.ndarray,
    starts: np.ndarray,
    window: int,
    mirrored: np.ndarray | None = None,
    noise_variant: np.ndarray | None = None,
) -> Batch:
    """Features of windows ``[start, start + window)`` of pairs ``indices``.

    Args:
        mirrored: (B,) bool, mirror that window (human and robot).
        noise_variant: (B,) int, -1 for the clean human, k for noisy copy k.
    """
    b = len(indices)
    mirrored = np.zeros(b, bool) if mirrored is None else mirrored
    noise_variant = np.full(b, -1) if noise_variant is None else noise_variant
    hp, pq, fz, hh, qp, bp, mask = [], [], [], [], [], [], np.zeros((b, window), bool)
    for j, (i, s) in enumerate(zip(indices, starts, strict=True)):
        k = int(noise_variant[j])
        if k >= 0:
            pos, pel, floor = data.noisy[k][i]
        else:
            pos, pel, floor = data.human_pos[i], data.pelvis_quat[i], data.floor_z[i]
        hp.append(_crop(pos, s, window))
        pq.append(_crop(pel, s, window))
        fz.append(floor)
        hh.append(data.height[i])
        qp.append(_crop(data.qpos[i], s, window))
        bp.append(_crop(data.body_pos[i], s, window))
        mask[j, : max(0, min(window, data.human_pos[i].shape[0] - s))] = True
    hp, pq, qp, bp = (np.stack(a).astype(float) for a in (hp, pq, qp, bp))
    if mirrored.any():
        m = mirrored
        hp[m] = mirror.mirror_pos(hp[m], _HUMAN_PERM)
        pq[m] = mirror.mirror_quat_smpl(pq[m])
        qp[m] = mirror.mirror_qpos(qp[m])
        bp[m] = mirror.mirror_body_pos(bp[m])
    x, y, _, _ = window_features(hp, pq, np.array(hh), np.array(fz), qp, bp)
    return Batch(x, y, mask)


def window_starts(data: PairArrays, indices: np.ndarray, window: int, rng) -> np.ndarray:
    """Random crop start per pair (0 when the pair is not longer than the window)."""
    lengths = np.array([data.human_pos[i].shape[0] for i in indices])
    return rng.integers(0, np.maximum(lengths - window, 0) + 1)


#: Shoulder-elevation bin edges [rad]: arm down (< 0.8), half raised (0.8-1.5), raised (> 1.5,
#: above about 86 deg from the torso axis). Elevation is the angle between the upper arm and the
#: torso's downward axis, 0 hanging, pi/2 horizontal, pi straight up.
POSE_ELEVATION_EDGES_RAD: tuple[float, ...] = (0.8, 1.5)

_PELVIS = spec.BODY_NAMES.index("pelvis")
_SHOULDER = {s: spec.BODY_NAMES.index(f"{s}_shoulder_roll_link") for s in ("left", "right")}
_ELBOW = {s: spec.BODY_NAMES.index(f"{s}_elbow_link") for s in ("left", "right")}


def shoulder_elevation(body_pos: np.ndarray) -> np.ndarray:
    """(..., T, 2) left and right shoulder elevation [rad] from G1 body origins (..., T, 30, 3).

    The angle between the upper arm (shoulder roll link to elbow link) and the torso's downward
    axis (shoulder midpoint to pelvis), so it does not change when the whole body tilts or turns.
    """
    bp = np.asarray(body_pos, dtype=float)
    mid = 0.5 * (bp[..., _SHOULDER["left"], :] + bp[..., _SHOULDER["right"], :])
    down = bp[..., _PELVIS, :] - mid
    down /= np.linalg.norm(down, axis=-1, keepdims=True).clip(1e-9)
    out = []
    for side in ("left", "right"):
        arm = bp[..., _ELBOW[side], :] - bp[..., _SHOULDER[side], :]
        arm /= np.linalg.norm(arm, axis=-1, keepdims=True).clip(1e-9)
        out.append(np.arccos(np.clip((arm * down).sum(-1), -1.0, 1.0)))
    return np.stack(out, axis=-1)


def pose_bin_labels(edges: tuple[float, ...] = POSE_ELEVATION_EDGES_RAD) -> list[str]:
    """Names of the bins of :func:`pose_bins`, by bin id: ``"hi<level>-lo<level>"``."""
    n = len(edges) + 1
    return [f"hi{hi}-lo{lo}" for hi in range(n) for lo in range(hi + 1)]


def pose_bins(data: PairArrays, edges: tuple[float, ...] = POSE_ELEVATION_EDGES_RAD) -> np.ndarray:
    """(N,) pose bin id of each pair's robot target (ids index :func:`pose_bin_labels`).

    Each side's level is the bin (``edges``) of its largest shoulder elevation over the pair;
    the bin is the (higher, lower) level pair, so a one-armed raise has its own bin apart from
    two raised arms and from arms down. The bin ignores which side is raised: a mirrored window
    (:mod:`retargeters.nmr.mirror` swaps the sides) keeps its bin, and mirroring at p 0.5 then
    splits a bin's draws evenly between left and right. The stage-1 pairs are 4-s chunks, no
    longer than the 120-frame window, so a pair's bin is its windows' bin; a longer pair's bin
    describes all of its windows.
    """
    if not len(data):
        raise NmrDataError("pose_bins: no pairs")
    ids = np.empty(len(data), dtype=int)
    for i, bp in enumerate(data.body_pos):
        level = np.digitize(shoulder_elevation(bp).max(axis=0), edges)  # (2,) left, right
        hi, lo = int(level.max()), int(level.min())
        ids[i] = hi * (hi + 1) // 2 + lo
    return ids


def pose_balance_probs(bins: np.ndarray, exponent: float) -> np.ndarray | None:
    """(N,) draw probability per pair, proportional to ``count(bin) ** -exponent``.

    ``exponent`` 0 returns None (uniform: :func:`epoch_order` then permutes as without
    balancing); 1 gives every occupied bin the same share of the draws.
    """
    if not (math.isfinite(exponent) and exponent >= 0.0):
        raise NmrDataError(f"pose balance exponent must be a finite number >= 0, got {exponent}")
    if exponent == 0.0:
        return None
    bins = np.asarray(bins)
    _, inverse, counts = np.unique(bins, return_inverse=True, return_counts=True)
    w = counts[inverse].astype(float) ** -float(exponent)
    return w / w.sum()


def replay_probs(
    is_replay: np.ndarray,
    share: float,
    probs: np.ndarray | None = None,
    slots: np.ndarray | None = None,
) -> np.ndarray:
    """(N,) draw probabilities giving the replay entries ``share`` of an epoch's draws.

    Within each group (replay, the rest) the draws keep the proportions they would have had
    without mixing: ``probs`` (pose balance; None: uniform) times ``slots`` (stitched entries
    stand for several pairs). For :func:`epoch_order` with the same ``slots``.
    """
    is_replay = np.asarray(is_replay, dtype=bool)
    n = len(is_replay)
    if not (math.isfinite(share) and 0.0 < share < 1.0):
        raise NmrDataError(f"replay share must be in (0, 1), got {share}")
    if is_replay.all() or not is_replay.any():
        raise NmrDataError(
            f"replay mixing needs entries of both kinds, got {int(is_replay.sum())} replay "
            f"and {int((~is_replay).sum())} other entries"
        )
    base = np.full(n, 1.0 / n) if probs is None else np.asarray(probs, dtype=float)
    slots = np.ones(n) if slots is None else np.asarray(slots, dtype=float)
    draws = base * slots  # (N,) each entry's draw weight before mixing
    group_share = np.where(is_replay, share, 1.0 - share)
    group_total = np.where(is_replay, draws[is_replay].sum(), draws[~is_replay].sum())
    p = group_share * draws / group_total / slots  # epoch_order multiplies the slots back
    return p / p.sum()


#: Offset of the epoch in the seed of the epoch's draws (kept from the first trainer: the
#: uniform order of a seed is the same as before pose balancing existed).
EPOCH_SEED_OFFSET = 1_000_000


def epoch_order(
    n: int,
    seed: int,
    stage: int,
    epoch: int,
    probs: np.ndarray | None = None,
    slots: np.ndarray | None = None,
) -> np.ndarray:
    """Pair indices drawn for one epoch, seeded by (seed, stage, epoch).

    ``probs`` None: a permutation (every pair once, the uniform sampling of the NMR paper).
    Otherwise draws with replacement with these probabilities (:func:`pose_balance_probs`).
    ``slots`` (n,) ints: entry i stands for slots[i] pairs (stitched chunks) and is drawn that
    many times per epoch (with ``probs``: with probability ~ probs[i] * slots[i]); the epoch then
    has sum(slots) draws. None (or all ones): n draws, exactly as without stitching.
    """
    rng = np.random.default_rng([seed, stage, EPOCH_SEED_OFFSET + epoch])
    if slots is not None:
        slots = np.asarray(slots, dtype=int)
        if slots.shape != (n,) or (slots < 1).any():
            raise NmrDataError(f"epoch_order: slots must be {n} ints >= 1, got {slots!r}")
        if (slots == 1).all():
            slots = None
    if probs is None:
        return rng.permutation(n if slots is None else np.repeat(np.arange(n), slots))
    if len(probs) != n:
        raise NmrDataError(f"epoch_order: {len(probs)} probabilities for {n} pairs")
    if slots is None:
        return rng.choice(n, size=n, replace=True, p=probs)
    weighted = np.asarray(probs) * slots
    return rng.choice(n, size=int(slots.sum()), replace=True, p=weighted / weighted.sum())


@dataclass
class Normalizer:
    """Feature normalisation as the NMR release: a mean per feature, one std per group."""

    in_mean: np.ndarray  # (140,)
    in_std: np.ndarray  # (140,)
    out_mean: np.ndarray  # (217,)
    out_std: np.ndarray  # (217,)

    def to_dict(self) -> dict:
        return {k: np.asarray(v, np.float32).tolist() for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, d: dict) -> Normalizer:
        return cls(
            **{
                k: np.asarray(d[k], np.float32)
                for k in ("in_mean", "in_std", "out_mean", "out_std")
            }
        )


#: Smallest per-group std [feature units]; a constant group is not blown up by normalisation.
MIN_GROUP_STD = 1e-4


def _stats(feats: np.ndarray, groups) -> tuple[np.ndarray, np.ndarray]:
    mean = feats.mean(axis=0)
    std = np.empty_like(mean)
    for sl in group_slices(groups).values():
        std[sl] = max(float(np.sqrt(((feats[:, sl] - mean[sl]) ** 2).mean())), MIN_GROUP_STD)
    return mean.astype(np.float32), std.astype(np.float32)


def compute_normalizer(
    data: PairArrays, window: int, max_pairs: int = 2000, seed: int = 0
) -> Normalizer:
    """Statistics over up to ``max_pairs`` entries (a seeded subset), each clean and mirrored.

    An entry of ``slots`` k (stitched chunks) gives k windows spread evenly over it, so its
    frames count as much as the k chunks it joined; a plain pair gives its first window.
    """
    rng = np.random.default_rng(seed)
    n = len(data)
    idx = np.sort(rng.choice(n, size=min(n, max_pairs), replace=False))
    slots = data.slot_counts()
    entry, start = [], []
    for i in idx:
        span = max(data.human_pos[i].shape[0] - window, 0)
        entry.extend([i] * int(slots[i]))
        start.extend(np.round(np.linspace(0, span, int(slots[i]))).astype(int).tolist())
    entry, start = np.array(entry), np.array(start)
    xs, ys = [], []
    for chunk in np.array_split(np.arange(len(entry)), max(1, len(entry) // 64)):
        for mir in (False, True):
            bt = make_batch(data, entry[chunk], start[chunk], window, np.full(len(chunk), mir))
            xs.append(bt.x[bt.mask])
            ys.append(bt.y[bt.mask])
    in_mean, in_std = _stats(np.concatenate(xs), IN_GROUPS)
    out_mean, out_std = _stats(np.concatenate(ys), OUT_GROUPS)
    return Normalizer(in_mean, in_std, out_mean, out_std)


#: Shortest tail chunk kept when a clip is cut into pairs [frames].
MIN_CHUNK_FRAMES = 8


def write_pairs(
    humans,
    retargeter,
    out_dir: str | os.PathLike,
    *,
    chunk_frames: int = 120,
    kind: str = "kinematic",
    provenance: dict | None = None,
    progress: bool = False,
) -> int:
    """Retarget each human (at ``NMR_FPS``) and write ``chunk_frames``-frame pairs to a dataset.

    ``humans`` yields (name, HumanMotion) tuples; ``retargeter`` is a Retargeter instance (e.g.
    ``retargeters.make("gmr-safe")``). Returns the number of pairs. Used for held-out pair sets made
    with the same kinematic retargeter as the training data, and for tests.
    """
    from nmr_gym.datasets import PairDatasetWriter

    n = 0
    items = list(humans)
    if progress:
        from tqdm import tqdm

        items = tqdm(items, desc="pairs")
    with PairDatasetWriter(out_dir, kind=kind, provenance=provenance or {}, overwrite=True) as w:
        for name, human in items:
            h = human.resample(NMR_FPS)
            robot = retargeter.retarget(h)
            if robot.n_frames != h.n_frames:
                robot = robot.resample(h.fps)
            for s in range(0, h.n_frames, chunk_frames):
                e = min(s + chunk_frames, h.n_frames)
                if e - s < MIN_CHUNK_FRAMES:
                    continue
                w.add(
                    h[s:e], robot[s:e], human_source=name, source_start_s=s / h.fps,
                    source_stop_s=(e - 1) / h.fps, retargeter=getattr(retargeter, "name", ""),
                )  # fmt: skip
                n += 1
    return n
