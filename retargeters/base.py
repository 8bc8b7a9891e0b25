"""The retargeter protocol and the registry that finds retargeters by name.

A retargeter turns a :class:`~nmr_gym.motion.HumanMotion` into a
:class:`~nmr_gym.motion.RobotMotion` on the reference G1. Registering one takes a few lines::

    from retargeters import Retargeter, register

    @register("mine")
    class MyRetargeter(Retargeter):
        def retarget(self, human):
            ...
            return RobotMotion(...)

Options are constructor keyword arguments; ``make("mine", **options)`` builds one by name.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any, TypeVar

from nmr_gym.errors import UnknownNameError
from nmr_gym.motion import HumanMotion, RobotMotion


class Retargeter(abc.ABC):
    """Human motion in, G1 motion out. Subclasses take their options as keyword arguments."""

    #: Registry name, set by :func:`register`.
    name: str = "unnamed"

    @abc.abstractmethod
    def retarget(self, human: HumanMotion) -> RobotMotion:
        """Retarget a whole human motion; output at the input's frame rate unless documented."""

    def __call__(self, human: HumanMotion) -> RobotMotion:
        return self.retarget(human)

    def options(self) -> dict[str, Any]:
        """The options this instance runs with (recorded in results for reproducibility)."""
        return {}


_REGISTRY: dict[str, Callable[..., Retargeter]] = {}
T = TypeVar("T", bound=type[Retargeter])

#: Built-in retargeters and the module that registers each one. They are imported only when
#: first made, so ``make("gmr")`` never pays for ``phuma``'s PyTorch import.
BUILTIN: dict[str, str] = {
    "direct": "retargeters.direct",
    "gmr": "retargeters.gmr",
    "gmr-safe": "retargeters.gmr_safe",
    "nmr": "retargeters.nmr",
    "nmr-release": "retargeters.nmr",
    "phuma": "retargeters.phuma",
}


def register(name: str) -> Callable[[T], T]:
    """Class decorator that registers a retargeter under ``name``."""

    def deco(cls: T) -> T:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"a retargeter named {name!r} is already registered")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def registered() -> list[str]:
    """Names of every registered retargeter: the built-in ones first, then the user's."""
    return list(BUILTIN) + [n for n in _REGISTRY if n not in BUILTIN]


def get(name: str) -> Callable[..., Retargeter]:
    """The class registered under ``name`` (importing a built-in one on first use)."""
    if name not in _REGISTRY and name in BUILTIN:
        import importlib

        importlib.import_module(BUILTIN[name])
    if name not in _REGISTRY:
        raise UnknownNameError("retargeter", name, registered())
    return _REGISTRY[name]


def make(name: str, **options: Any) -> Retargeter:
    """Build a registered retargeter by name with its options."""
    return get(name)(**options)
