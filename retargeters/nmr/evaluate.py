"""Held-out numbers for an NMR checkpoint: full-pipeline errors against paired targets.

:func:`pair_errors` runs the whole inference (windows, filter, clipping) on the human of every
pair of a pair dataset (e.g. the held-out clips retargeted by the same kinematic retargeter as
the training data) and compares with the pair's robot motion. :func:`height_effect` measures
what the body-size normalisation does on one motion performed by a shorter and a taller person.
"""

from __future__ import annotations

import os

import numpy as np

from nmr_gym.datasets import PairDataset
from nmr_gym.motion import HumanMotion


def pair_errors(retargeter, paths: list[str | os.PathLike]) -> dict[str, float]:
    """Frame-weighted mean errors of ``retargeter`` against the pairs' robot motions.

    Returns ``joint_mae_deg`` (joint angles), ``body_pos_err_m`` (body positions relative to
    the root, mean Euclidean), ``root_height_err_m``, ``root_rot_err_deg`` and ``frames``.
    """
    pairs = [p for path in paths for p in PairDataset(path)]
    outs = retargeter.retarget_batch([p.human for p in pairs])
    sums = {
        "joint_mae_deg": 0.0,
        "body_pos_err_m": 0.0,
        "root_height_err_m": 0.0,
        "root_rot_err_deg": 0.0,
    }
    n = 0
    from nmr_gym import rotations as rot

    for p, out in zip(pairs, outs, strict=True):
        tgt = p.robot
        sums["joint_mae_deg"] += float(
            np.rad2deg(np.abs(out.joint_pos - tgt.joint_pos)).mean(1).sum()
        )
        rel_o = out.body_pos_w - out.root_pos[:, None]
        rel_t = tgt.body_pos_w - tgt.root_pos[:, None]
        sums["body_pos_err_m"] += float(np.linalg.norm(rel_o - rel_t, axis=-1).mean(1).sum())
        sums["root_height_err_m"] += float(np.abs(out.root_pos[:, 2] - tgt.root_pos[:, 2]).sum())
        sums["root_rot_err_deg"] += float(
            np.rad2deg(rot.angle_between(out.root_quat, tgt.root_quat)).sum()
        )
        n += out.n_frames
    return {**{k: v / n for k, v in sums.items()}, "frames": n, "pairs": len(pairs)}


def height_effect(retargeter, human: HumanMotion, scales=(0.88, 1.12)) -> dict[str, float]:
    """Joint-angle difference [deg] between a shorter and a taller performer of ``human``.

    The two performers are ``human`` scaled uniformly by ``scales`` (positions and height).
    ``normalised`` is NMR as shipped (height known); ``unnormalised`` gives both the original
    height, which is what the input would be without the normalisation.
    """
    a, b = (human.replace(joint_pos=human.joint_pos * s, height=human.height * s) for s in scales)
    na, nb = retargeter.retarget_batch([a, b])
    ua, ub = retargeter.retarget_batch(
        [a.replace(height=human.height), b.replace(height=human.height)]
    )
    d = lambda x, y: float(np.rad2deg(np.abs(x.joint_pos - y.joint_pos)).mean())  # noqa: E731
    return {
        "heights_m": [round(human.height * s, 3) for s in scales],
        "normalised_joint_diff_deg": d(na, nb),
        "unnormalised_joint_diff_deg": d(ua, ub),
    }
