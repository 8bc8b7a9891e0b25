"""Reference motions for tracking: retargeting, its on-disk cache, and motion specs.

The environment (``nmr_gym.envs``) takes robot motions only; this module turns what a user or the
command line names (built-in suite clips, human or robot motion files, human motions) into robot
motions, retargeting with a named retargeter and caching the results.

Ship the default reference with the package (after a retargeter or suite change)::

    python -m benchmark.motions --write-shipped
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nmr_gym.envs.motion_source import SHIPPED_PACKAGE, load_npz, save_npz
from nmr_gym.errors import MotionError, UnknownNameError
from nmr_gym.motion import HumanMotion, RobotMotion

#: Retargeter used for built-in references by default.
DEFAULT_RETARGETER = "gmr"
#: Where retargeted references are cached (override with $NMR_GYM_CACHE).
CACHE_ENV_VAR = "NMR_GYM_CACHE"
#: Bump when the cached file layout changes meaning (content changes are in the key).
CACHE_VERSION = 2


def cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV_VAR)
    return Path(env) if env else Path.home() / ".cache" / "nmr_gym"


def retarget(retargeter: str, human: HumanMotion, **options: Any) -> RobotMotion:
    """Retarget ``human`` with the named retargeter (``retargeters.make``)."""
    import retargeters

    robot = retargeters.make(retargeter, **options).retarget(human)
    meta = dict(robot.metadata)
    meta.setdefault("retargeter", retargeter)
    meta.setdefault("name", human.metadata.get("name") or human.source)
    return robot.replace(metadata=meta)


def _code_digest(obj: Any) -> str:
    """sha1 of the source files implementing ``obj``'s class: its subpackage of ``retargeters``
    (every ``.py`` under it) or its module file, plus ``retargeters/base.py``."""
    module = importlib.import_module(type(obj).__module__)
    path = Path(module.__file__)
    parts = type(obj).__module__.split(".")
    files = sorted(path.parent.rglob("*.py")) if len(parts) > 2 else [path]
    base = path.parents[len(parts) - 2] / "base.py"
    h = hashlib.sha1()
    for f in [*files, base]:
        if f.is_file():
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def reference_cache_key(human: HumanMotion, retargeter_obj: Any, name: str) -> str:
    """Cache key of ``human`` retargeted by ``retargeter_obj``: a hash of the human motion's
    content, the retargeter's name, options and source code, and :data:`CACHE_VERSION`, so a
    changed suite clip, option or retargeter never reuses a stale file."""
    h = hashlib.sha1(f"{CACHE_VERSION}:{name}:".encode())
    h.update(repr(sorted(retargeter_obj.options().items())).encode())
    h.update(_code_digest(retargeter_obj).encode())
    h.update(np.float64(human.fps).tobytes())
    h.update(repr(list(human.joint_names)).encode())
    for a in (human.joint_pos, human.joint_quat):
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    h.update(repr(human.height).encode())
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=32)
def builtin_reference(clip: str, retargeter: str = DEFAULT_RETARGETER) -> RobotMotion:
    """Built-in suite clip ``clip`` retargeted with ``retargeter``, cached on disk.

    The cache (``$NMR_GYM_CACHE`` or ``~/.cache/nmr_gym``) is keyed by
    :func:`reference_cache_key`; a broken cache file is recomputed.
    """
    import retargeters
    from nmr_gym import suite

    if clip not in suite.clip_names():
        raise UnknownNameError("built-in clip", clip, suite.clip_names())
    human = suite.get_clip(clip).motion()
    rt = retargeters.make(retargeter)
    key = reference_cache_key(human, rt, retargeter)
    path = cache_dir() / f"{clip}--{retargeter}--{key}.npz"
    if path.is_file():
        try:
            m = load_npz(path)
            return m.replace(metadata={**m.metadata, "cached": True})
        except MotionError:
            pass  # a broken cache file is recomputed
    robot = rt.retarget(human)
    robot = robot.replace(metadata={**robot.metadata, "name": clip, "retargeter": retargeter})
    try:
        save_npz(robot, path)
    except OSError:
        pass  # a read-only home still gets a working (uncached) reference
    return robot


def resolve_motion_specs(
    specs: Sequence[Any],
    retargeter: str = DEFAULT_RETARGETER,
    load: Callable[[str], Any] | None = None,
) -> list[RobotMotion]:
    """Robot reference motions for the environment from what a user names.

    Each spec is ``builtin:NAME`` or a built-in suite clip name (retargeted with
    ``retargeter``, cached), ``builtin`` (the whole suite), a robot motion file (used as is), a
    human motion file (retargeted), a ``RobotMotion`` (used as is) or a ``HumanMotion``
    (retargeted). ``load(path)`` reads a file (default ``nmr_gym.io.load_motion``). Every
    motion's metadata has ``name`` and ``retargeter``.
    """
    from nmr_gym import suite

    if load is None:
        from nmr_gym.io import load_motion as load
    names = suite.clip_names()
    out: list[RobotMotion] = []
    for s in specs:
        if isinstance(s, RobotMotion):
            out.append(s)
            continue
        if isinstance(s, HumanMotion):
            out.append(retarget(retargeter, s))
            continue
        if not isinstance(s, (str, os.PathLike)):
            raise MotionError(
                f"cannot use {type(s).__name__} as a motion spec: pass a clip name, a file, a "
                "RobotMotion or a HumanMotion"
            )
        s = str(s)
        if s == "builtin":
            out.extend(builtin_reference(n, retargeter) for n in names)
            continue
        clip = s.removeprefix("builtin:")
        if s.startswith("builtin:") or (clip in names and not Path(s).exists()):
            if clip not in names:
                raise UnknownNameError("built-in clip", clip, names)
            out.append(builtin_reference(clip, retargeter))
            continue
        motion = load(s)
        if isinstance(motion, HumanMotion):
            motion = retarget(retargeter, motion)
            motion = motion.replace(
                metadata={**motion.metadata, "name": Path(s).stem, "retargeter": retargeter}
            )
        else:
            meta = dict(motion.metadata)
            meta.setdefault("name", Path(s).stem)
            meta.setdefault("retargeter", meta.get("format", "file"))
            motion = motion.replace(metadata=meta)
        out.append(motion)
    return out


def write_shipped(clips: Sequence[str] | None = None, folder: str | os.PathLike | None = None):
    """Write the shipped references (default: the suite's ``DEFAULT_CLIP`` with GMR) into the
    package folder ``nmr_gym/data/references`` (or ``folder``); returns the paths."""
    from importlib import resources

    from nmr_gym import suite

    clips = list(clips or [suite.DEFAULT_CLIP])
    target = Path(folder) if folder else Path(str(resources.files(SHIPPED_PACKAGE)))
    paths = []
    for clip in clips:
        robot = builtin_reference(clip, DEFAULT_RETARGETER)
        path = target / f"{clip}.npz"
        save_npz(robot, path)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Write the reference motions shipped with nmr_gym.")
    p.add_argument("--write-shipped", action="store_true", help="write nmr_gym/data/references")
    p.add_argument("--clips", nargs="*", help="built-in clips (default: suite.DEFAULT_CLIP)")
    args = p.parse_args(argv)
    if args.write_shipped:
        for path in write_shipped(args.clips):
            print(path)
    else:
        p.print_help()


if __name__ == "__main__":
    main()
