"""What a motion file holds, decided from its content (the extension is only a hint).

:func:`detect` returns ``(kind, format)`` with kind ``"robot"`` or ``"human"``
(:func:`nmr_gym.io.load_motion` loads either kind with it). Detection never unpickles: a
pickle is recognised by the key names stored in it as plain bytes, so even an untrusted file
can be named (and refused with a clear reason).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from nmr_gym.errors import MotionFormatError
from nmr_gym.io.files import check_input_file
from nmr_gym.io.nmr_npz import NMR_FORMAT_TAG
from nmr_gym.io.unitree_csv import CSV_COLUMNS

#: Bytes read from the start of a text file to recognise it.
TEXT_SNIFF_BYTES = 65536
#: Keys whose presence in an npz marks AMASS-style SMPL parameters.
AMASS_KEYS = frozenset({"poses", "root_orient", "pose_body", "trans"})

_ZIP_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"
_PICKLE_PROTO = b"\x80"
_KNOWN = (
    "robot: BeyondMimic npz, nmr npz, Unitree CSV, GMR pickle, PHC joblib pickle; "
    "human: AMASS npz, BVH, joint-position npz"
)


def _npz_kind(path: Path) -> tuple[str, str]:
    try:
        with zipfile.ZipFile(path) as zf:
            keys = {n[:-4] for n in zf.namelist() if n.endswith(".npy")}
            tag = ""
            if "format" in keys:  # nmr files carry a format tag: a tiny string array
                with zf.open("format.npy") as f:
                    tag = str(np.lib.format.read_array(f, allow_pickle=False))
    except Exception as exc:  # zipfile / numpy header parsing: assorted errors on corrupt bytes
        raise MotionFormatError(
            f"is not a valid npz archive (truncated or corrupt: {exc})", path
        ) from None
    if tag == NMR_FORMAT_TAG:
        return "robot", "nmr"
    if {"body_pos_w", "body_quat_w"} & keys:
        return "robot", "beyondmimic"
    if {"root_pos", "root_quat"} & keys:
        return "robot", "nmr"
    if AMASS_KEYS & keys:
        return "human", "amass"
    if "joint_pos" in keys or "positions" in keys or "joints" in keys:
        return "human", "positions"
    raise MotionFormatError(
        f"is an npz archive with keys {', '.join(sorted(keys)) or 'none'}: not a known motion "
        f"format ({_KNOWN})",
        path,
    )


def _pickle_kind(path: Path) -> tuple[str, str]:
    # Pickles store dict keys as raw UTF-8 bytes; looking for them never runs the pickle.
    blob = path.read_bytes()
    if b"root_trans_offset" in blob or (b"pose_aa" in blob and b"dof" in blob):
        return "robot", "phc"
    if b"dof_pos" in blob and b"root_rot" in blob:
        return "robot", "gmr"
    raise MotionFormatError(
        f"is a pickle without the keys of a GMR (dof_pos, root_rot) or PHC (root_trans_offset, "
        f"dof) motion: not a known motion format ({_KNOWN})",
        path,
    )


def _text_kind(path: Path, head: bytes) -> tuple[str, str]:
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MotionFormatError(f"is not a known motion format ({_KNOWN})", path) from None
    stripped = text.lstrip()
    if stripped.upper().startswith("HIERARCHY"):
        return "human", "bvh"
    if path.suffix.lower() == ".amc" or ":FULLY-SPECIFIED" in stripped[:4096]:
        return "human", "asf_amc"
    if path.suffix.lower() == ".asf":
        raise MotionFormatError(
            "is an Acclaim ASF skeleton without motion; load the clip's .amc file (its "
            "skeleton is found beside it)",
            path,
        )
    first = stripped.splitlines()[0] if stripped else ""
    fields = first.split(",")
    try:
        [float(x) for x in fields]
    except ValueError:
        numeric = False
    else:
        numeric = len(fields) > 1
    if numeric:
        if len(fields) == CSV_COLUMNS:
            return "robot", "csv"
        raise MotionFormatError(
            f"is a CSV with {len(fields)} columns; the G1 robot CSV has {CSV_COLUMNS} (root "
            f"xyz, root quaternion, 29 joints) and no header",
            path,
        )
    raise MotionFormatError(f"is not a known motion format ({_KNOWN})", path)


def detect(path: str | os.PathLike) -> tuple[str, str]:
    """``(kind, format)`` of a motion file from its content: kind ``"robot"`` or ``"human"``.

    Robot formats are ``nmr_gym.io.robot_formats`` names (beyondmimic, nmr, csv, gmr, phc);
    human ones are ``nmr_gym.io.human_formats`` names (amass, bvh, asf_amc, positions). Raises
    MotionFormatError naming the file when it is missing, corrupt or of no known format.
    """
    p = check_input_file(path)
    with open(p, "rb") as f:
        head = f.read(TEXT_SNIFF_BYTES)
    if head.startswith(_ZIP_MAGIC):
        return _npz_kind(p)
    if head.startswith(_NPY_MAGIC):
        raise MotionFormatError(
            "is a single .npy array: no motion format nmr-gym reads (joint positions go in an "
            "npz with joint_pos, joint_names and fps)",
            p,
        )
    if head.startswith(_PICKLE_PROTO):
        return _pickle_kind(p)
    return _text_kind(p, head)


__all__ = ["detect"]
