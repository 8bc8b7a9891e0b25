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
    """Names of every registered retargeter, in registration order."""
    _load_builtin()
    return list(_REGISTRY)


def make(name: str, **options: Any) -> Retargeter:
    """Build a registered retargeter by name with its options."""
    _load_builtin()
    if name not in _REGISTRY:
        raise UnknownNameError("retargeter", name, list(_REGISTRY))
    return _REGISTRY[name](**options)


#: Modules that register the built-in retargeters on import (missing ones are skipped so a
#: partial install still works).
BUILTIN_MODULES = ("retargeters.direct", "retargeters.gmr", "retargeters.phuma", "retargeters.nmr")


def _load_builtin() -> None:
    import importlib

    for mod in BUILTIN_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
