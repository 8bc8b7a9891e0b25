"""NMR checkpoints: the network's sizes, weights, normalisation and feature layout in one file.

An inference checkpoint is a ``torch.save`` dict (read with ``weights_only=True``, so loading a
file never runs code) with keys ``format``, ``layout`` (:data:`features.LAYOUT`), ``config``
(:class:`NMRConfig`), ``normalizer``, ``state_dict`` and ``info`` (training record). A file that
is missing, unreadable, of another format or for another feature layout raises
:class:`NmrCheckpointError` naming the file and the problem.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from nmr_gym.errors import NmrGymError
from nmr_gym.io.atomic import atomic_path
from retargeters.nmr.data import Normalizer
from retargeters.nmr.features import LAYOUT
from retargeters.nmr.model import NMRConfig, NMRNet

FORMAT = "nmr-gym/nmr-checkpoint-1"
#: The checkpoint shipped as package data (``retargeters.make("nmr")`` loads it).
SHIPPED = Path(__file__).parent / "checkpoints" / "nmr_medium.pt"


class NmrCheckpointError(NmrGymError, ValueError):
    """An NMR checkpoint is missing, unreadable, or made for another feature layout."""

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        self.path = None if path is None else str(path)
        super().__init__(f"{self.path}: {message}" if self.path else message)


def save_checkpoint(
    path: str | os.PathLike, model: NMRNet, normalizer: Normalizer, info: dict[str, Any]
) -> Path:
    """Write an inference checkpoint atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "layout": LAYOUT,
        "config": model.cfg.to_dict(),
        "normalizer": normalizer.to_dict(),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "info": info,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def read_payload(path: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint dict, checked for format and feature layout."""
    path = Path(path)
    if not path.is_file():
        raise NmrCheckpointError("NMR checkpoint not found", path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a corrupt file
        raise NmrCheckpointError(
            f"not a readable NMR checkpoint ({type(exc).__name__}: {str(exc)[:120]})", path
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        got = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise NmrCheckpointError(f"checkpoint format is {got!r}, expected {FORMAT!r}", path)
    missing = [k for k in ("layout", "config", "normalizer", "state_dict") if k not in payload]
    if missing:
        raise NmrCheckpointError(f"checkpoint lacks {missing}", path)
    layout = payload["layout"]
    diff = sorted(k for k in set(LAYOUT) | set(layout) if layout.get(k) != LAYOUT.get(k))
    if diff:
        raise NmrCheckpointError(
            f"checkpoint was made for another feature layout (differs in {diff}; "
            f"this code uses {LAYOUT['version']}, the file {layout.get('version')!r})",
            path,
        )
    return payload


def load_checkpoint(
    path: str | os.PathLike = SHIPPED, device: str | torch.device = "cpu"
) -> tuple[NMRNet, Normalizer, dict[str, Any]]:
    """Network (eval mode, on ``device``), normaliser and the training record of a checkpoint."""
    payload = read_payload(path)
    try:
        model = NMRNet(NMRConfig.from_dict(payload["config"]))
        model.load_state_dict(payload["state_dict"])
        normalizer = Normalizer.from_dict(payload["normalizer"])
    except (TypeError, KeyError, ValueError, RuntimeError) as exc:
        raise NmrCheckpointError(
            f"checkpoint weights do not fit its network ({type(exc).__name__}: {str(exc)[:160]})",
            path,
        ) from None
    model.eval().to(device)
    return model, normalizer, dict(payload.get("info", {}))
