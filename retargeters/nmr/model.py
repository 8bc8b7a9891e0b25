"""The NMR network: a Conv1d/ResNet encoder, a LLaMA-style transformer, an upsampling decoder.

Written from the facts of the NMR paper (section III-C) and its public inference release (as
summarised in the project's reference notes); every size is an argument of :class:`NMRConfig`:

- encoder: Conv1d(in -> width, k3) + ReLU; ``n_down`` x [Conv1d(k4, stride 2) -> 1D ResNet
  (``enc_depth`` blocks with dilations ``enc_dilations``; each block ReLU -> conv k3 -> ReLU ->
  conv 1x1, residual) -> multi-head self-attention (pre-LayerNorm, dropout, residual)];
  then Conv1d k3. Time is downsampled by 2 ** n_down.
- bridge: Linear -> SiLU -> Linear.
- transformer (LLaMA style): ``layers`` x [RMSNorm -> attention with rotary position embedding
  (RoPE) -> residual; RMSNorm -> SwiGLU -> residual], no biases, full (non-causal) attention over
  the valid tokens; final RMSNorm and Linear.
- decoder: ``n_down`` x [nearest x2 upsampling -> Conv1d k3], Linear(width -> out).

Inputs and outputs are (B, T, features) with T a multiple of 2 ** n_down; ``mask`` (B, T) marks
valid frames (padding is excluded from every attention).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from retargeters.nmr.features import IN_DIM, OUT_DIM


@dataclass(frozen=True)
class NMRConfig:
    """Sizes of the NMR network (defaults: the ``small`` preset)."""

    in_dim: int = IN_DIM
    out_dim: int = OUT_DIM
    width: int = 128  # channels of encoder, transformer and decoder
    n_down: int = 2  # strided encoder levels (time / 2 ** n_down tokens)
    enc_depth: int = 3  # ResNet blocks per encoder level
    enc_dilations: tuple[int, ...] = (9, 3, 1)
    enc_heads: int = 4
    layers: int = 3  # transformer layers
    heads: int = 4
    ffn_hidden: int = 384  # SwiGLU hidden size
    dropout: float = 0.1
    rope_base: float = 1e4

    def to_dict(self) -> dict:
        d = asdict(self)
        d["enc_dilations"] = list(self.enc_dilations)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> NMRConfig:
        d = dict(d)
        d["enc_dilations"] = tuple(d["enc_dilations"])
        return cls(**d)


#: Named presets: ``small`` (1.58M parameters, 6.3 MB) is the training default, 11-41 min of
#: stage 1 on a 2-core CPU (2 or 1 threads), the fastest at inference; ``medium`` (width 192, 4
#: layers; 3.96M parameters, 15.9 MB, under the 20 MB ceiling) is the shipped checkpoint's size,
#: about 20 min on 2 threads, more accurate (the model card's "Capacity and stitched windows");
#: ``paper`` is the released network's size (width 512, 8 layers, 8 heads, SwiGLU 1536; 41.25M
#: parameters, as the release's inference network), for GPUs; ``tiny`` is for tests and smoke
#: runs.
PRESETS: dict[str, NMRConfig] = {
    "tiny": NMRConfig(width=32, enc_depth=1, enc_heads=2, layers=1, heads=2, ffn_hidden=64),
    "small": NMRConfig(),
    "medium": NMRConfig(width=192, layers=4, heads=6, ffn_hidden=576),
    "paper": NMRConfig(width=512, layers=8, heads=8, ffn_hidden=1536, enc_heads=4),
}


def preset(name: str) -> NMRConfig:
    from nmr_gym.errors import UnknownNameError

    if name not in PRESETS:
        raise UnknownNameError("NMR preset", name, list(PRESETS))
    return PRESETS[name]


class _ResBlock(nn.Module):
    def __init__(self, width: int, dilation: int):
        super().__init__()
        self.conv = nn.Conv1d(width, width, 3, padding=dilation, dilation=dilation)
        self.proj = nn.Conv1d(width, width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T)
        return x + self.proj(F.relu(self.conv(F.relu(x))))


class _EncoderAttention(nn.Module):
    """Pre-LayerNorm multi-head self-attention with dropout and a residual connection."""

    def __init__(self, width: int, heads: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, dropout=dropout, batch_first=True)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:  # (B, C, T)
        h = self.norm(x.transpose(1, 2))
        h, _ = self.attn(h, h, h, key_padding_mask=~valid, need_weights=False)
        return x + self.drop(h).transpose(1, 2)


class _EncoderLevel(nn.Module):
    def __init__(self, cfg: NMRConfig):
        super().__init__()
        w = cfg.width
        self.down = nn.Conv1d(w, w, 4, stride=2, padding=1)
        dil = [cfg.enc_dilations[i % len(cfg.enc_dilations)] for i in range(cfg.enc_depth)]
        self.res = nn.Sequential(*[_ResBlock(w, d) for d in dil])
        self.attn = _EncoderAttention(w, cfg.enc_heads, cfg.dropout)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        return self.attn(self.res(self.down(x)), valid)


def _rope(x: torch.Tensor, base: float) -> torch.Tensor:
    """Rotary position embedding of (B, H, S, D) queries or keys (half-split pairs)."""
    d = x.shape[-1]
    half = d // 2
    freqs = base ** (-torch.arange(half, dtype=x.dtype, device=x.device) / half)
    ang = torch.arange(x.shape[-2], dtype=x.dtype, device=x.device)[:, None] * freqs
    cos, sin = ang.cos(), ang.sin()
    x1, x2 = x[..., :half], x[..., half : 2 * half]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos, x[..., 2 * half :]], dim=-1)


class _TransformerLayer(nn.Module):
    def __init__(self, cfg: NMRConfig):
        super().__init__()
        w = cfg.width
        if w % cfg.heads:
            raise ValueError(f"width {w} must be a multiple of heads {cfg.heads}")
        self.heads, self.base, self.dropout = cfg.heads, cfg.rope_base, cfg.dropout
        self.norm1 = nn.RMSNorm(w)
        self.qkv = nn.Linear(w, 3 * w, bias=False)
        self.out = nn.Linear(w, w, bias=False)
        self.norm2 = nn.RMSNorm(w)
        self.gate_up = nn.Linear(w, 2 * cfg.ffn_hidden, bias=False)
        self.down = nn.Linear(cfg.ffn_hidden, w, bias=False)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:  # (B, S, C)
        b, s, c = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, s, 3, self.heads, c // self.heads).unbind(2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        q, k = _rope(q, self.base), _rope(k, self.base)
        mask = valid[:, None, None, :]  # full attention over valid tokens
        h = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0
        )
        x = x + self.out(h.transpose(1, 2).reshape(b, s, c))
        gate, up = self.gate_up(self.norm2(x)).chunk(2, dim=-1)
        return x + self.down(F.silu(gate) * up)


class NMRNet(nn.Module):
    """The NMR network; ``forward(x (B, T, in), mask (B, T) bool) -> (B, T, out)``."""

    def __init__(self, cfg: NMRConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or NMRConfig()
        w = cfg.width
        self.stem = nn.Conv1d(cfg.in_dim, w, 3, padding=1)
        self.levels = nn.ModuleList([_EncoderLevel(cfg) for _ in range(cfg.n_down)])
        self.enc_out = nn.Conv1d(w, w, 3, padding=1)
        self.bridge = nn.Sequential(nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w))
        self.layers = nn.ModuleList([_TransformerLayer(cfg) for _ in range(cfg.layers)])
        self.final_norm = nn.RMSNorm(w)
        self.final = nn.Linear(w, w)
        self.up = nn.ModuleList([nn.Conv1d(w, w, 3, padding=1) for _ in range(cfg.n_down)])
        self.head = nn.Linear(w, cfg.out_dim)

    @property
    def stride(self) -> int:
        return 2**self.cfg.n_down

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        b, t, _ = x.shape
        if t % self.stride:
            raise ValueError(f"sequence length {t} must be a multiple of {self.stride}")
        valid = torch.ones(b, t, dtype=torch.bool, device=x.device) if mask is None else mask
        h = F.relu(self.stem(x.transpose(1, 2)))  # (B, C, T)
        for level in self.levels:
            # a token is valid when any of the frames it covers is
            valid = valid.view(b, -1, 2).any(-1)
            h = level(h, valid)
        h = self.bridge(self.enc_out(h).transpose(1, 2))  # (B, S, C)
        for layer in self.layers:
            h = layer(h, valid)
        h = self.final(self.final_norm(h)).transpose(1, 2)
        for conv in self.up:
            h = conv(F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.head(h.transpose(1, 2))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
