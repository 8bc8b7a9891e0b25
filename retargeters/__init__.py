"""Retargeters: one protocol (human motion in, G1 motion out) and a registry by name."""

from retargeters.base import Retargeter, make, register, registered

__all__ = ["Retargeter", "make", "register", "registered"]
