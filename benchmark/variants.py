"""Retargeter variants: a registered retargeter with options, under a label of its own.

A published method's name means that method as published. A run that also wants a method with
other options (an ablation, an opt-in step) gives that configuration its own label, so the
leaderboard shows both rows and nobody mistakes one for the other::

    nmr-bench run --retargeters nmr,gmr --variant nmr-pinned=nmr:pin_feet=true
    nmr-bench robustness --retargeters nmr --variant nmr-pinned=nmr:pin_feet=true ...

Syntax ``LABEL=NAME[:KEY=VALUE[,KEY=VALUE...]]``: ``NAME`` a registered retargeter, each
``VALUE`` parsed as JSON where it can be (``true``, ``0.9``, ``null``), else kept as a string
(so values cannot hold commas). A label is letters, digits and ``_ . + -``, and is not a
registered retargeter's name. The options are checked against the retargeter's constructor
before anything runs; ``seed`` is not an option (the run's ``--seed`` sets it).

A run folder records each label's retargeter and options (``run.json``, ``robustness.json``:
:func:`merge_records`), and a resumed run must define a label the same way. Result rows keep
the label in their ``retargeter`` column and the retargeter's own ``options()`` in ``options``.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nmr_gym.errors import NmrGymError

#: What a variant's label may look like (it names files and leaderboard rows).
LABEL_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*\Z")
#: The syntax, for error messages.
SYNTAX = "LABEL=NAME[:KEY=VALUE[,KEY=VALUE...]]"


class VariantError(NmrGymError):
    """A malformed, unknown or conflicting retargeter variant."""


@dataclass(frozen=True)
class Variant:
    """``label``: the rows' name; ``retargeter``: the registered name; ``options``: (key,
    value) pairs passed to its constructor, sorted by key."""

    label: str
    retargeter: str
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.options)

    def record(self) -> dict[str, Any]:
        """What a run folder records of this variant (JSON)."""
        return {"retargeter": self.retargeter, "options": self.kwargs}


def parse(text: str) -> Variant:
    """The :class:`Variant` of ``LABEL=NAME[:KEY=VALUE,...]`` (see the module docstring)."""
    label, sep, rest = text.partition("=")
    label, rest = label.strip(), rest.strip()
    if not sep or not label or not rest:
        raise VariantError(f"a variant is {SYNTAX}, got {text!r}")
    if not LABEL_PATTERN.match(label):
        raise VariantError(
            f"variant label {label!r} must be letters, digits and '_.+-' (starting with a "
            f"letter or digit)"
        )
    name, _, opts = rest.partition(":")
    name = name.strip()
    if not name:
        raise VariantError(f"variant {label!r} names no retargeter: {SYNTAX}, got {text!r}")
    options: dict[str, Any] = {}
    for item in filter(None, (o.strip() for o in opts.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise VariantError(f"variant {label!r}: an option is KEY=VALUE, got {item!r}")
        if key in options:
            raise VariantError(f"variant {label!r} sets option {key!r} twice")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value.strip()
    return Variant(label, name, tuple(sorted(options.items())))


def parse_all(texts: Iterable[str]) -> tuple[Variant, ...]:
    """Every ``--variant`` argument parsed and checked (:func:`check`)."""
    variants = tuple(parse(t) for t in texts)
    check(variants)
    return variants


def _accepted_options(cls: Any) -> set[str] | None:
    """Keyword names ``cls`` takes (None: any, it has ``**kwargs`` or no signature)."""
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return {
        n
        for n, p in params.items()
        if n != "self"
        and p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    }


def check(variants: Iterable[Variant]) -> None:
    """Raise :class:`VariantError` for a repeated label, a label that is a registered
    retargeter, an unknown retargeter (``UnknownNameError``) or an option its constructor does
    not take (the valid names listed)."""
    import retargeters as registry

    seen: set[str] = set()
    names = set(registry.registered())
    for v in variants:
        if v.label in seen:
            raise VariantError(f"variant label {v.label!r} is given twice")
        seen.add(v.label)
        if v.label in names:
            raise VariantError(
                f"variant label {v.label!r} is a registered retargeter's name; a variant needs "
                f"a label of its own (e.g. {v.label}-{'-'.join(k for k, _ in v.options) or 'v'})"
            )
        cls = registry.get(v.retargeter)  # unknown: UnknownNameError listing the valid names
        accepted = _accepted_options(cls)
        if "seed" in v.kwargs:
            raise VariantError(f"variant {v.label!r}: 'seed' is set by the run's --seed")
        if accepted is not None:
            bad = sorted(set(v.kwargs) - accepted)
            if bad:
                raise VariantError(
                    f"variant {v.label!r}: {v.retargeter} has no option {bad}; its options: "
                    f"{sorted(accepted - {'seed'})}"
                )


def make(name: str, seed: int, variants: Mapping[str, Variant] | None = None) -> Any:
    """The retargeter a run calls ``name``: a variant's retargeter with its options, or the
    registered one with its defaults; ``seed=seed`` when the constructor takes a seed."""
    import retargeters as registry

    v = (variants or {}).get(name)
    cls = registry.get(v.retargeter if v else name)
    kwargs = v.kwargs if v else {}
    accepted = _accepted_options(cls)
    if accepted is not None and "seed" in accepted:
        kwargs = {**kwargs, "seed": seed}
    return cls(**kwargs)


def merge_records(
    old: Mapping[str, Any] | None, variants: Iterable[Variant], where: str
) -> dict[str, Any]:
    """``old`` (a folder's recorded variants: label -> :meth:`Variant.record`) with
    ``variants`` added; a label recorded with another definition raises :class:`VariantError`
    (``where`` names the folder)."""
    out = dict(old or {})
    for v in variants:
        rec = json.loads(json.dumps(v.record()))
        if v.label in out and out[v.label] != rec:
            raise VariantError(
                f"{where} defines variant {v.label!r} as {out[v.label]}, not {rec}; use the "
                f"same definition or another label"
            )
        out[v.label] = rec
    return out


__all__ = [
    "LABEL_PATTERN",
    "Variant",
    "VariantError",
    "check",
    "make",
    "merge_records",
    "parse",
    "parse_all",
]
