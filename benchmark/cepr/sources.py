"""Where CEPR's human clips come from: suites, folders and manifests, minus exclusions.

A source spec is what ``benchmark.suites.load_suite`` takes (``"builtin"``, a folder, a
``.csv``/``.json`` manifest); folders additionally contribute Acclaim ``.amc`` clips (the suite
loader looks at ``.npz`` and ``.bvh`` only). Several specs may be combined. Exclusions are
manifests (a held-out split: every clip whose file resolves to the same path is dropped) or
``fnmatch`` patterns on clip names.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nmr_gym.errors import NmrGymError
from nmr_gym.motion import HumanMotion


class CeprError(NmrGymError):
    """Bad input to a CEPR stage (the CLI prints it as one line and exits 2)."""


@dataclass(frozen=True)
class SourceClip:
    """One human clip: a unique name and where it comes from (picklable: workers load it)."""

    name: str
    source: str  # file path, or "builtin:<clip name>"
    complexity: str | None = None  # the suite's label, when it has one

    def load(self) -> HumanMotion:
        if self.source.startswith(BUILTIN_PREFIX):
            from nmr_gym.suite import get_clip

            return get_clip(self.source[len(BUILTIN_PREFIX) :]).motion()
        from nmr_gym.io import load_human_motion

        return load_human_motion(self.source)

    @property
    def key(self) -> str:
        """A file-name-safe, unique identifier (name plus a hash of name and source)."""
        digest = hashlib.sha1(f"{self.name}\0{self.source}".encode()).hexdigest()[:10]
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.name)[-80:]
        return f"{stem}-{digest}"


BUILTIN_PREFIX = "builtin:"


def _amc_clips(root: Path) -> list[SourceClip]:
    return [
        # named with the extension: a take often exists as .bvh beside its .amc
        SourceClip(p.relative_to(root).as_posix(), str(p))
        for p in sorted(root.rglob("*.amc"))
    ]


def _one_spec(spec: str) -> list[SourceClip]:
    from benchmark.suites import load_suite

    path = Path(spec)
    clips: list[SourceClip] = []
    try:
        suite = load_suite(spec)
    except NmrGymError as exc:
        if not (path.is_dir() and "holds no human motion" in str(exc)):
            raise
        suite = []
    for m in suite:
        clips.append(SourceClip(m.name, m.source, m.complexity))
    if path.is_dir():
        clips += _amc_clips(path)
    return clips


def _excluded_paths(manifest: Path) -> set[str]:
    from benchmark.suites import load_suite

    return {str(Path(m.source).resolve()) for m in load_suite(manifest)}


def gather_sources(
    specs: Sequence[str], exclude: Sequence[str] = ()
) -> tuple[list[SourceClip], list[SourceClip]]:
    """(kept clips, excluded clips) of every spec, in a stable order (by name).

    Raises :class:`CeprError` when nothing is left: a folder with no usable clip is bad input.
    """
    if not specs:
        raise CeprError("no motion source given (--motions builtin|FOLDER|MANIFEST ...)")
    clips: list[SourceClip] = []
    for spec in specs:
        clips += _one_spec(str(spec))
    excluded_paths: set[str] = set()
    patterns: list[str] = []
    for item in exclude:
        p = Path(item)
        if p.suffix.lower() in (".csv", ".json"):
            if not p.is_file():
                raise CeprError(f"{p}: exclusion manifest not found")
            excluded_paths |= _excluded_paths(p)
        else:
            patterns.append(str(item))
    kept, dropped, seen = [], [], set()
    for c in clips:
        resolved = (
            c.source if c.source.startswith(BUILTIN_PREFIX) else str(Path(c.source).resolve())
        )
        if resolved in excluded_paths or any(fnmatch.fnmatch(c.name, pt) for pt in patterns):
            dropped.append(c)
        elif resolved not in seen:  # the same file named by two specs is one clip
            seen.add(resolved)
            kept.append(c)
    names = [c.name for c in kept]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})[:3]
        raise CeprError(f"two sources give clips with the same name {dup}; use one spec per folder")
    if not kept:
        raise CeprError(
            f"no usable human clip in {', '.join(map(str, specs))}"
            + (f" after excluding {len(dropped)}" if dropped else "")
        )
    kept.sort(key=lambda c: c.name)
    return kept, dropped
