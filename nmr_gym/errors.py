"""Errors raised for bad user input.

Every error that a user can cause with a file or an argument derives from :class:`NmrGymError`,
so the command line can turn it into one line on stderr and exit status 2.
"""

from __future__ import annotations

from pathlib import Path


class NmrGymError(Exception):
    """Base class of the errors that bad input causes (the CLI exits 2 on these)."""


class MotionError(NmrGymError, ValueError):
    """A motion is invalid: wrong shape, non-finite values, bad fps, too few frames, ...

    ``source`` names the file or object the motion came from, so the message names it.
    """

    def __init__(self, message: str, source: str | Path | None = None):
        self.source = None if source is None else str(source)
        super().__init__(f"{self.source}: {message}" if self.source else message)


class MotionFormatError(MotionError):
    """A motion file cannot be read: missing, truncated, wrong keys, unknown format, ..."""


class MotionFileNotFoundError(MotionFormatError, FileNotFoundError):
    """The motion file does not exist (both a MotionFormatError and a FileNotFoundError)."""


class UntrustedPickleError(MotionFormatError):
    """A pickle-based file was not marked trusted; loading it would run code from it."""


class UnknownNameError(NmrGymError, KeyError):
    """An unknown name (joint, body, retargeter, format); the message lists the valid names."""

    def __init__(self, kind: str, name: str, valid: list[str] | tuple[str, ...]):
        self.kind, self.name, self.valid = kind, name, list(valid)
        shown = ", ".join(self.valid[:40]) + (" ..." if len(self.valid) > 40 else "")
        super().__init__(f"unknown {kind} {name!r}; valid {kind}s: {shown}")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class ModelNotFoundError(NmrGymError, FileNotFoundError):
    """The MuJoCo Menagerie G1 files (or SMPL model files) cannot be found."""
