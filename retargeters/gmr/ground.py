"""Ground alignment: shift a G1 clip vertically so its lowest collision point touches z = 0.

GMR's batch script shifts the root so that the lowest *body origin* over the clip sits at z = 0,
which leaves the foot soles (3.3 cm under the ankle_roll_link origin on the Menagerie G1) below
the floor. Here the lowest point of the G1's collision geometry (class ``collision``: the foot
spheres, meshes and shoulder cylinders) is used instead, so no frame penetrates the floor and at
least one frame touches it.
"""

from __future__ import annotations

import functools

import mujoco
import numpy as np
from scipy.spatial import ConvexHull

from nmr_gym.g1 import collision_geom_mask


@functools.lru_cache(maxsize=4)
def _hull_vertices(model: mujoco.MjModel) -> dict[int, np.ndarray]:
    """Convex-hull vertices (V, 3) of each collision mesh geom, in the geom frame.

    The lowest point of a mesh is a hull vertex, and hulls have far fewer vertices.
    """
    out = {}
    for g in np.flatnonzero(collision_geom_mask(model)):
        if model.geom_type[g] != mujoco.mjtGeom.mjGEOM_MESH:
            continue
        mesh = model.geom_dataid[g]
        start, n = model.mesh_vertadr[mesh], model.mesh_vertnum[mesh]
        verts = np.array(model.mesh_vert[start : start + n], dtype=float)
        out[int(g)] = verts[ConvexHull(verts).vertices]
    return out


def _geom_poses(model: mujoco.MjModel, qpos: np.ndarray, geoms: np.ndarray):
    """Centre heights (T, G) and world-z rows of the rotation (T, G, 3) of ``geoms``."""
    data = mujoco.MjData(model)
    centre = np.empty((qpos.shape[0], geoms.size))
    row = np.empty((qpos.shape[0], geoms.size, 3))
    for t in range(qpos.shape[0]):
        data.qpos[:] = qpos[t]
        mujoco.mj_kinematics(model, data)
        centre[t] = data.geom_xpos[geoms, 2]
        row[t] = data.geom_xmat[geoms, 6:9]
    return centre, row


def _primitive_low(model: mujoco.MjModel, g: int, centre: np.ndarray, row: np.ndarray):
    """Exact lowest z of a sphere / cylinder / capsule geom; a bound for anything else."""
    kind = model.geom_type[g]
    if kind == mujoco.mjtGeom.mjGEOM_SPHERE:
        return centre - model.geom_size[g, 0]
    if kind in (mujoco.mjtGeom.mjGEOM_CYLINDER, mujoco.mjtGeom.mjGEOM_CAPSULE):
        r, half = model.geom_size[g, 0], model.geom_size[g, 1]
        axis_z = np.abs(row[..., 2])
        side = (
            r
            if kind == mujoco.mjtGeom.mjGEOM_CAPSULE
            else r * np.sqrt(np.clip(1.0 - axis_z**2, 0.0, None))
        )
        return centre - half * axis_z - side
    return centre - model.geom_rbound[g]  # bounding sphere (a lower bound)


def lowest_point_z(
    model: mujoco.MjModel, qpos: np.ndarray, *, clip_min_only: bool = False
) -> np.ndarray:
    """Height [m] of the lowest collision-geometry point in each frame of ``qpos`` (T, nq).

    Mesh geoms are first bounded by their bounding sphere; their hull vertices are only
    evaluated in frames where that bound is below the lowest point found so far, since
    elsewhere the mesh cannot be the lowest point. With ``clip_min_only`` only the clip's
    minimum is exact (frames that cannot hold it are skipped), which is all alignment needs.
    """
    hulls = _hull_vertices(model)
    geoms = np.flatnonzero(collision_geom_mask(model))
    centre, row = _geom_poses(model, qpos, geoms)
    low = np.full(qpos.shape[0], np.inf)
    for k, g in enumerate(geoms):
        if int(g) not in hulls:
            low = np.minimum(low, _primitive_low(model, g, centre[:, k], row[:, k]))
    for k, g in enumerate(geoms):
        verts = hulls.get(int(g))
        if verts is None:
            continue
        bound = centre[:, k] - model.geom_rbound[g]
        below = bound < low
        if clip_min_only:
            below &= bound < low.min()
        frames = np.flatnonzero(below)
        if frames.size:
            exact = centre[frames, k] + np.min(row[frames, k] @ verts.T, axis=1)
            low[frames] = np.minimum(low[frames], exact)
    return low


def ground_offset(model: mujoco.MjModel, qpos: np.ndarray) -> float:
    """The vertical shift [m] that puts the clip's lowest collision point at z = 0."""
    return -float(np.min(lowest_point_z(model, qpos, clip_min_only=True)))
