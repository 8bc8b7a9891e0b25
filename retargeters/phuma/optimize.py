"""Whole-sequence optimisation (PHUMA's motion adaptation), in overlapping windows.

Variables per window: joint positions (L, 29), root translation (L, 3) and one multiplier per
scale group (G,) on the adapted human's bone scales; the root orientation is the human's. The
loss is PHUMA's weighted sum (:mod:`.losses`); Adam minimises it. Windows of ``window`` frames
overlapping by ``overlap`` frames are optimised together as one batch (at most
``max_batch_frames`` frames per batch, so memory stays bounded for any clip length) and blended
with linear cross-fades over the overlaps.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from nmr_gym import rotations as rot
from retargeters.phuma import losses as L
from retargeters.phuma.adaptation import (
    RANGE_FRACTION,
    VELOCITY_LIMIT,
    Adaptation,
    foot_contact_spheres,
    layout,
    range_98,
)
from retargeters.phuma.torch_fk import G1TorchFK, quat_to_matrix


@dataclass(frozen=True)
class OptimConfig:
    """Optimisation schedule and batching.

    ``range_fraction`` / ``limit_margin`` [rad] set the joint-range hinge's bounds
    (:func:`.adaptation.range_98`). ``tol`` stops a batch early when its loss improved by less
    than ``tol`` (relative) over the last ``check_every`` iterations; 0 runs all
    ``iterations`` (PHUMA's fixed schedule).
    """

    iterations: int = 3000
    lr: float = 0.005
    tol: float = 0.0
    check_every: int = 25
    weights: L.LossWeights = field(default_factory=L.LossWeights)
    window: int = 240
    overlap: int = 30
    max_batch_frames: int = 8192
    device: str = "cpu"
    dtype: torch.dtype = torch.float32
    seed: int = 0
    num_threads: int | None = None
    range_fraction: float = RANGE_FRACTION
    limit_margin: float = 0.0


#: Default torch intra-op threads. One: the tensors here are small (a few thousand frames x 30
#: bodies), so a second thread saves little, and on a busy 2-core machine OpenMP's waiting
#: threads made an iteration up to 5x slower in measurements.
DEFAULT_THREADS = 1


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run with ``n`` intra-op threads (default :data:`DEFAULT_THREADS`), then restore."""
    before = torch.get_num_threads()
    torch.set_num_threads(n or DEFAULT_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def window_starts(n_frames: int, window: int, overlap: int) -> tuple[list[int], int]:
    """Start frames of equal-length windows covering ``n_frames``, and their length."""
    length = min(window, n_frames)
    if length == n_frames:
        return [0], length
    stride = max(1, length - min(overlap, length - 1))
    starts = list(range(0, n_frames - length + 1, stride))
    if starts[-1] + length < n_frames:
        starts.append(n_frames - length)
    return starts, length


def blend_weights(starts: list[int], length: int, n_frames: int, overlap: int) -> np.ndarray:
    """Per-window frame weights (N, L): linear ramps over overlaps, flat at the clip ends."""
    ramp = np.minimum(1.0, np.arange(1, length + 1) / (overlap + 1))
    w = np.ones((len(starts), length))
    for i, s in enumerate(starts):
        if s > 0:
            w[i] *= ramp
        if s + length < n_frames:
            w[i] *= ramp[::-1]
    return w


@dataclass
class OptimResult:
    joint_pos: np.ndarray  # (T, 29) [rad]
    root_pos: np.ndarray  # (T, 3) [m]
    scale_multipliers: np.ndarray  # (N, G) per window
    iterations: list[int]  # iterations run per batch
    final_loss: list[float]  # final loss per batch


class _Objective:
    """PHUMA's loss for a batch of windows; tensors (N, L, ...)."""

    def __init__(self, fk: G1TorchFK, adaptation: Adaptation, contacts: np.ndarray,
                 sl: np.ndarray, dt: float, cfg: OptimConfig) -> None:  # fmt: skip
        t = lambda a: torch.as_tensor(np.asarray(a), dtype=cfg.dtype, device=fk.device)  # noqa: E731
        lay = layout()
        self.fk, self.dt, self.w = fk, dt, cfg.weights
        hk = adaptation.human_keypoints[sl]  # (N, L, K, 3)
        self.human_bones = t(hk[..., lay.bone_child, :] - hk[..., lay.bone_parent, :])
        self.root_target = t(adaptation.root_scale * hk[..., 0, :])  # (N, L, 3)
        self.root_rot = quat_to_matrix(t(adaptation.root_quat[sl]))  # (N, L, 3, 3)
        self.s0 = t(adaptation.group_scale)
        self.bone_group = torch.as_tensor(lay.bone_group, device=fk.device)
        self.ancestry = t(lay.ancestry)
        self.kp_body = torch.as_tensor(lay.body_index, device=fk.device)
        self.kp_offset = t(lay.offset)
        self.bone_parent = torch.as_tensor(lay.bone_parent, device=fk.device)
        self.bone_child = torch.as_tensor(lay.bone_child, device=fk.device)
        body, centre, radius, kind = foot_contact_spheres()
        self.sph_body = torch.as_tensor(body, device=fk.device)
        self.sph_centre, self.sph_radius = t(centre), t(radius)
        foot = np.array([0 if b == body[0] else 1 for b in body])
        self.contact = t(contacts[sl][..., foot, kind])  # (N, L, 8)
        self.foot_body = torch.as_tensor(np.unique(body), device=fk.device)  # left, right
        lateral = adaptation.foot_lateral
        self.foot_lateral = None if lateral is None else t(lateral[sl])  # (N, L, 2, 3)
        lim = range_98(fraction=cfg.range_fraction, margin=cfg.limit_margin)
        self.lower, self.upper = t(lim[:, 0]), t(lim[:, 1])
        self.vel_limit = t(VELOCITY_LIMIT)

    def target_keypoints(self, mult: torch.Tensor) -> torch.Tensor:
        scale = (self.s0 * mult)[:, None, self.bone_group, None]  # (N, 1, NB, 1)
        bones = self.human_bones * scale
        return self.root_target[..., None, :] + torch.einsum("kb,nlbd->nlkd", self.ancestry, bones)

    def terms(self, q: torch.Tensor, root: torch.Tensor, mult: torch.Tensor) -> dict:
        pos, R = self.fk(root, self.root_rot, q)
        kp = (
            pos[..., self.kp_body, :]
            + (R[..., self.kp_body, :, :] @ self.kp_offset[..., None])[..., 0]
        )
        target = self.target_keypoints(mult)
        tb = target[..., self.bone_child, :] - target[..., self.bone_parent, :]
        rb = kp[..., self.bone_child, :] - kp[..., self.bone_parent, :]
        sph = (
            pos[..., self.sph_body, :]
            + (R[..., self.sph_body, :, :] @ self.sph_centre[..., None])[..., 0]
        )
        if self.foot_lateral is None or self.w.foot_orientation == 0.0:
            foot_orientation = q.sum() * 0.0
        else:  # G1 body frame y = left
            foot_orientation = L.axis_alignment(R[..., self.foot_body, :, 1], self.foot_lateral)
        return {
            "keypoint": L.keypoint_l1(kp, target),
            "foot_orientation": foot_orientation,
            "bone": L.bone_direction_length(rb, tb),
            "smooth": L.second_difference(q) + L.second_difference(root),
            "scale": L.scale_regularisation(mult),
            "joint_limit": L.joint_range_hinge(q, self.lower, self.upper),
            "velocity_limit": self.dt * L.velocity_hinge(q, self.vel_limit, self.dt),
            "foot_height": L.contact_height(sph[..., 2] - self.sph_radius, self.contact),
            "ground": L.ground_penetration(sph[..., 2] - self.sph_radius),
            "foot_skate": L.contact_skating(sph[..., :2], self.contact, self.dt),
        }

    def loss(self, q: torch.Tensor, root: torch.Tensor, mult: torch.Tensor) -> torch.Tensor:
        terms = self.terms(q, root, mult)
        return sum(getattr(self.w, k) * v for k, v in terms.items())


def optimize_windows(
    adaptation: Adaptation,
    contacts: np.ndarray,
    q_init: np.ndarray,
    root_init: np.ndarray,
    fps: float,
    cfg: OptimConfig,
) -> OptimResult:
    """Optimise a whole clip in windows and blend; arrays (T, ...) at ``fps``."""
    n = q_init.shape[0]
    starts, length = window_starts(n, cfg.window, cfg.overlap)
    per_batch = max(1, cfg.max_batch_frames // length)
    q_out = np.zeros((len(starts), length, q_init.shape[1]))
    root_out = np.zeros((len(starts), length, 3))
    mults, iters, finals = [], [], []
    torch.manual_seed(cfg.seed)
    with torch_threads(cfg.num_threads):
        fk = G1TorchFK(dtype=cfg.dtype, device=cfg.device)
        for b0 in range(0, len(starts), per_batch):
            idx = np.array(starts[b0 : b0 + per_batch])[:, None] + np.arange(length)  # (N, L)
            obj = _Objective(fk, adaptation, contacts, idx, 1.0 / fps, cfg)
            tt = lambda a: torch.as_tensor(a, dtype=cfg.dtype, device=fk.device)  # noqa: E731
            q = tt(q_init[idx]).requires_grad_(True)
            root = tt(root_init[idx]).requires_grad_(True)
            mult = torch.ones(len(idx), len(adaptation.group_scale), dtype=cfg.dtype,
                              device=fk.device, requires_grad=True)  # fmt: skip
            it, last = _adam(obj, (q, root, mult), cfg)
            q_out[b0 : b0 + len(idx)] = q.detach().cpu().numpy()
            root_out[b0 : b0 + len(idx)] = root.detach().cpu().numpy()
            mults.append(mult.detach().cpu().numpy())
            iters.append(it)
            finals.append(last)
    w = blend_weights(starts, length, n, cfg.overlap)
    q_blend, root_blend = np.zeros_like(q_init), np.zeros_like(root_init)
    wsum = np.zeros(n)
    for i, s in enumerate(starts):
        q_blend[s : s + length] += w[i, :, None] * q_out[i]
        root_blend[s : s + length] += w[i, :, None] * root_out[i]
        wsum[s : s + length] += w[i]
    return OptimResult(
        q_blend / wsum[:, None], root_blend / wsum[:, None], np.concatenate(mults), iters, finals
    )


def _adam(obj: _Objective, params: tuple[torch.Tensor, ...], cfg: OptimConfig) -> tuple[int, float]:
    """Adam on ``params`` with convergence-based stopping; returns iterations and final loss."""
    opt = torch.optim.Adam(params, lr=cfg.lr)
    ref = None
    value = float("nan")
    it = 0
    for it in range(1, cfg.iterations + 1):
        opt.zero_grad(set_to_none=True)
        loss = obj.loss(*params)
        loss.backward()
        opt.step()
        if it % cfg.check_every == 0 or it == cfg.iterations:
            value = float(loss.detach())
            if cfg.tol > 0 and ref is not None and ref - value < cfg.tol * abs(ref):
                break
            ref = value
    return it, value


def ground_contacts(
    root_pos: np.ndarray,
    root_quat: np.ndarray,
    joint_pos: np.ndarray,
    contacts: np.ndarray,
    per_frame: bool = True,
) -> np.ndarray:
    """Root positions (T, 3) shifted in z so the feet touch the floor where the human's do.

    ``per_frame``: in frames with a human foot contact the lowest G1 foot sphere of a foot in
    contact is put on z = 0, other frames get the shift interpolated linearly in time (the warm
    start). Otherwise one constant shift that puts the clip's lowest foot point on the floor
    (no added jitter, nothing below the floor; used after the optimisation). Unchanged when the
    clip has no contact. Torch FK, no gradients.
    """
    fk = G1TorchFK(dtype=torch.float64)
    with torch.no_grad():
        pos, R = fk(torch.as_tensor(root_pos), torch.as_tensor(root_quat),
                    torch.as_tensor(joint_pos))  # fmt: skip
    body, centre, radius, kind = foot_contact_spheres()
    sph = pos[:, body] + (R[:, body] @ torch.as_tensor(centre)[..., None])[..., 0]
    bottom = sph[..., 2].numpy() - radius  # (T, 8)
    foot = np.array([0 if b == body[0] else 1 for b in body])
    touching = contacts[:, foot, kind] > 0  # (T, 8)
    frames = np.flatnonzero(touching.any(axis=1))
    if frames.size == 0:
        return root_pos
    lowest = np.where(touching, bottom, np.inf).min(axis=1)[frames]
    if per_frame:
        shift = np.interp(np.arange(len(root_pos)), frames, -lowest)
    else:
        shift = -float(bottom.min())
    out = root_pos.copy()
    out[:, 2] += shift
    return out


def initial_root(adaptation: Adaptation) -> np.ndarray:
    """Root positions (T, 3) putting the G1 pelvis keypoint on the adapted human pelvis."""
    target = adaptation.root_scale * adaptation.human_keypoints[:, 0]
    offset = layout().offset[0]
    return target - rot.rotate(adaptation.root_quat, np.broadcast_to(offset, target.shape))
