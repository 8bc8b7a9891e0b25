"""Retargeters: one protocol (human motion in, G1 motion out) and a registry by name."""

from retargeters.base import Retargeter, get, make, register, registered

__all__ = ["Retargeter", "get", "make", "register", "registered"]
