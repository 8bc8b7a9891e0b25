"""Self-collision of the reference G1: the one definition the metric and the retargeters share.

The benchmark's ``self_collision_pct`` (:mod:`benchmark.metrics`) and any retargeter that
removes self-collisions (e.g. NMR's clean-up, :mod:`retargeters.nmr.collide`) use the functions
here, so "in collision" means the same thing when a motion is made and when it is scored:

- :func:`self_collision_model`: a private copy of :func:`nmr_gym.g1.kinematic_model` whose only
  contacting geoms are the collision class (group 3), with every geom margin and gap 0, so
  ``mj_kinematics`` + ``mj_collision`` report only touching or overlapping geoms. MuJoCo's
  default parent-child filter is kept: a link and its parent link meet at their shared joint
  by construction and are never a contact; grandparents and anything further apart are.
- :func:`contact_counts_as_self_collision`: which contacts count. Every contact counts for the
  "hands included" column; for the main column, contacts involving a hand (a
  ``spec.HAND_BODIES`` body, the ``*_wrist_yaw_link``) are excluded (NMR paper IV-C).
- :func:`self_collision_pairs`: the geom pairs that MuJoCo's pipeline can report at all on
  that model (different bodies, compatible ``contype``/``conaffinity``, not parent and child,
  not excluded), for code that checks pairs itself (e.g. with ``mj_geomDistance``).
"""

from __future__ import annotations

import copy
import functools

import mujoco
import numpy as np

from nmr_gym.g1 import spec
from nmr_gym.g1.model import collision_geom_mask, kinematic_model


@functools.lru_cache(maxsize=1)
def self_collision_model() -> mujoco.MjModel:
    """A private copy of the reference G1 whose only contacting geoms are the collision class,
    with geom margins and gaps 0 (shared; do not modify)."""
    model = kinematic_model()
    m = copy.copy(model)
    mask = collision_geom_mask(model)
    m.geom_contype[~mask] = 0
    m.geom_conaffinity[~mask] = 0
    m.geom_margin[:] = 0.0
    m.geom_gap[:] = 0.0
    return m


@functools.lru_cache(maxsize=1)
def hand_body_mask() -> np.ndarray:
    """(nbody,) bool: the bodies of ``spec.HAND_BODIES`` (MuJoCo body numbering)."""
    model = self_collision_model()
    hand = np.zeros(model.nbody, dtype=bool)
    for name in spec.HAND_BODIES:
        hand[model.body(name).id] = True
    hand.flags.writeable = False
    return hand


def contact_counts_as_self_collision(
    contact_geoms: np.ndarray, *, hands: bool = False
) -> np.ndarray:
    """(ncon,) bool: whether each contact counts as a self-collision.

    Args:
        contact_geoms: (ncon, 2) geom ids of contacts of :func:`self_collision_model` (e.g.
            ``data.contact.geom[:data.ncon]`` after ``mj_collision``).
        hands: count contacts involving a hand too (``self_collision_hands_pct``); False: a
            contact with a ``spec.HAND_BODIES`` body does not count (``self_collision_pct``).
    """
    geoms = np.asarray(contact_geoms, dtype=int).reshape(-1, 2)
    if hands:
        return np.ones(len(geoms), dtype=bool)
    bodies = self_collision_model().geom_bodyid[geoms]  # (ncon, 2)
    return ~hand_body_mask()[bodies].any(axis=1)


def frame_self_collision(data: mujoco.MjData) -> tuple[bool, bool]:
    """(hands excluded, hands included): whether the contacts in ``data`` (after
    ``mj_collision`` on :func:`self_collision_model`) make the frame a self-collision frame."""
    if not data.ncon:
        return False, False
    return bool(contact_counts_as_self_collision(data.contact.geom[: data.ncon]).any()), True


@functools.lru_cache(maxsize=1)
def self_collision_pairs() -> np.ndarray:
    """(P, 2) geom ids (ascending in each row) of every pair of collision geoms that
    ``mj_collision`` on :func:`self_collision_model` can report: on different bodies (welded
    bodies count as one), ``contype``/``conaffinity`` compatible, not a body and its parent
    (MuJoCo's parent filter, unless the model disables it; the world is never filtered) and
    not in the model's ``<exclude>`` list."""
    m = self_collision_model()
    geoms = np.flatnonzero((m.geom_contype != 0) | (m.geom_conaffinity != 0))
    weld = m.body_weldid
    weld_parent = weld[m.body_parentid[weld]]
    filter_parent = not (m.opt.disableflags & mujoco.mjtDisableBit.mjDSBL_FILTERPARENT)
    excluded = {
        tuple(sorted((int(a), int(b)))) for a, b in zip(m.exclude_signature >> 16,
                                                         m.exclude_signature & 0xFFFF,
                                                         strict=True)
    }  # fmt: skip
    out = []
    for i, a in enumerate(geoms):
        for b in geoms[i + 1 :]:
            wa, wb = weld[m.geom_bodyid[a]], weld[m.geom_bodyid[b]]
            if wa == wb:
                continue
            if not ((m.geom_contype[a] & m.geom_conaffinity[b]) or
                    (m.geom_contype[b] & m.geom_conaffinity[a])):  # fmt: skip
                continue
            if filter_parent and wa != 0 and wb != 0 and (wa == weld_parent[wb] or
                                                            wb == weld_parent[wa]):  # fmt: skip
                continue
            if tuple(sorted((int(m.geom_bodyid[a]), int(m.geom_bodyid[b])))) in excluded:
                continue
            out.append((int(a), int(b)))
    pairs = np.array(out, dtype=int).reshape(-1, 2)
    pairs.flags.writeable = False
    return pairs
