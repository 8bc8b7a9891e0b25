"""Retargeters: one protocol (human motion in, G1 motion out) and a registry by name."""

from retargeters.base import BUILTIN, Retargeter, get, make, register, registered

BUILTIN.setdefault("nmr", "retargeters.nmr")  # NMR, the neural retargeter (issue 13)

__all__ = ["Retargeter", "get", "make", "register", "registered"]
