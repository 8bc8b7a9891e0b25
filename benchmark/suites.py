"""Benchmark suites: which human motions a run retargets.

``load_suite(spec)`` accepts:

- ``"builtin"``: ``nmr_gym.suite.builtin_suite()``, the procedural clips (their complexity and
  length classes are known and used as overrides);
- a folder: every human motion file below it (``.npz`` and ``.bvh`` whose content
  ``nmr_gym.io.detect`` recognises as human motion; robot files and other npz archives are
  skipped), named by their path relative to the folder without the extension;
- a manifest (``.csv`` or ``.json``): rows with ``path`` (relative to the manifest's folder or
  absolute) and optional ``name``, ``complexity`` (ULOM/WBPM/WBCM) and ``length``
  (short/medium/long) overriding the automatic classification; a ``path`` of ``builtin:NAME``
  is that built-in clip (with its known classes). JSON: a list of such objects,
  or ``{"motions": [...]}``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nmr_gym.errors import MotionFormatError, NmrGymError
from nmr_gym.motion import HumanMotion

#: File extensions a folder suite looks at.
HUMAN_EXTENSIONS: tuple[str, ...] = (".npz", ".bvh")
COMPLEXITY_CLASSES: tuple[str, ...] = ("ULOM", "WBPM", "WBCM")
LENGTH_CLASSES: tuple[str, ...] = ("short", "medium", "long")
BUILTIN = "builtin"


@dataclass(frozen=True)
class SuiteMotion:
    """One motion of a suite: a name, where it comes from, and how to load it."""

    name: str
    source: str
    loader: Callable[[], HumanMotion] = field(repr=False, compare=False)
    complexity: str | None = None  # override of the automatic class
    length: str | None = None  # override of the automatic class

    def load(self) -> HumanMotion:
        return self.loader()


class SuiteError(NmrGymError):
    """A suite specification that cannot be used (missing folder, bad manifest, ...)."""


def _builtin() -> list[SuiteMotion]:
    from nmr_gym.suite import builtin_suite

    return [
        SuiteMotion(
            name=clip.name,
            source=f"builtin:{clip.name}",
            loader=clip.motion,
            complexity=getattr(clip, "complexity", None),
            length=getattr(clip, "length", None),
        )
        for clip in builtin_suite()
    ]


def _file_loader(path: Path, **kwargs: Any) -> Callable[[], HumanMotion]:
    def load() -> HumanMotion:
        from nmr_gym.io import load_human_motion

        return load_human_motion(path, **kwargs)

    return load


def _is_human_file(path: Path) -> bool:
    from nmr_gym.io.detect import detect

    try:
        kind, _ = detect(path)
    except NmrGymError:
        return False
    return kind == "human"


def _folder(root: Path) -> list[SuiteMotion]:
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in HUMAN_EXTENSIONS
    )
    out, skipped = [], []
    for p in files:
        if _is_human_file(p):
            name = p.relative_to(root).with_suffix("").as_posix()
            out.append(SuiteMotion(name, str(p), _file_loader(p)))
        else:
            skipped.append(p)
    if skipped:
        print(
            f"suite {root}: skipped {len(skipped)} file(s) that hold no human motion",
            file=sys.stderr,
        )
    return out


def _check_class(value: Any, valid: tuple[str, ...], what: str, where: str) -> str | None:
    if value is None or (isinstance(value, float) and value != value) or str(value).strip() == "":
        return None
    v = str(value).strip()
    match = {c.lower(): c for c in valid}.get(v.lower())
    if match is None:
        raise SuiteError(f"{where}: unknown {what} {v!r}; valid: {', '.join(valid)}")
    return match


def _manifest(path: Path) -> list[SuiteMotion]:
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{path}: manifest is not valid JSON ({exc})") from None
        entries = data.get("motions") if isinstance(data, dict) else data
        if not isinstance(entries, list):
            raise SuiteError(f"{path}: a JSON manifest is a list of objects or {{'motions': [..]}}")
    else:
        import pandas as pd

        try:
            entries = pd.read_csv(path, dtype=str, keep_default_na=False).to_dict("records")
        except Exception as exc:  # pandas raises several types for a malformed CSV
            raise SuiteError(f"{path}: manifest cannot be read as CSV ({exc})") from None
    out: list[SuiteMotion] = []
    names: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"{path} entry {i + 1}"
        if not isinstance(entry, dict) or not str(entry.get("path", "")).strip():
            raise SuiteError(f"{where}: needs a 'path'")
        spec = str(entry["path"]).strip()
        builtin = _builtin_entry(spec, where) if spec.startswith(f"{BUILTIN}:") else None
        file = Path(spec)
        file = file if file.is_absolute() else path.parent / file
        if builtin is None and not file.is_file():
            raise SuiteError(f"{where}: motion file {file} not found")
        name = str(entry.get("name") or "").strip() or (
            builtin.name if builtin else Path(spec).with_suffix("").as_posix()
        )
        if name in names:
            raise SuiteError(f"{where}: duplicate motion name {name!r}")
        names.add(name)
        out.append(
            SuiteMotion(
                name=name,
                source=builtin.source if builtin else str(file),
                loader=builtin.loader if builtin else _file_loader(file),
                complexity=_check_class(
                    entry.get("complexity"), COMPLEXITY_CLASSES, "complexity", where
                )
                or (builtin.complexity if builtin else None),
                length=_check_class(entry.get("length"), LENGTH_CLASSES, "length", where)
                or (builtin.length if builtin else None),
            )
        )
    return out


def _builtin_entry(spec: str, where: str) -> SuiteMotion:
    """The built-in clip a manifest's ``builtin:NAME`` path names (its known classes kept)."""
    clips = {m.name: m for m in _builtin()}
    name = spec.split(":", 1)[1]
    if name not in clips:
        raise SuiteError(f"{where}: unknown built-in clip {name!r}; valid: {', '.join(clips)}")
    return clips[name]


def load_suite(spec: str | os.PathLike = BUILTIN) -> list[SuiteMotion]:
    """The motions of a suite: ``"builtin"``, a folder, or a ``.csv``/``.json`` manifest."""
    if str(spec) == BUILTIN:
        motions = _builtin()
    else:
        path = Path(spec)
        if path.is_dir():
            motions = _folder(path)
        elif path.is_file() and path.suffix.lower() in (".csv", ".json"):
            motions = _manifest(path)
        elif path.is_file():
            raise SuiteError(f"{path}: a suite is 'builtin', a folder, or a .csv/.json manifest")
        else:
            raise SuiteError(f"{path}: suite not found (use 'builtin', a folder or a manifest)")
    if not motions:
        raise SuiteError(f"suite {spec} holds no human motion")
    names = [m.name for m in motions]
    if len(set(names)) != len(names):
        raise MotionFormatError(f"suite {spec} has duplicate motion names")
    return motions
