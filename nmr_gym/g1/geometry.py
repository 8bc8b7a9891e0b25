"""The lowest point of the G1's collision geometry: the one definition every module uses.

Both the floor alignment of retargeters (:func:`retargeters.common.ground_offset`) and the
benchmark's penetration metric (:mod:`benchmark.metrics`) call :func:`lowest_point_z`, so "on
the floor" means the same thing when a motion is made and when it is scored.

The collision geometry is the model's class ``collision`` (group 3): foot spheres, shoulder
cylinders and meshes. Spheres and cylinders are exact in closed form; a mesh's lowest point is a
vertex of its convex hull (what MuJoCo collides with), found exactly by a bounded search over
grid cells of hull vertices (:class:`_Hull`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import mujoco
import numpy as np

from nmr_gym.g1.model import collision_geom_mask, kinematic_model, kinematics_per_frame

#: Grid cells per axis that split a mesh's hull vertices for the exact lowest-point search.
HULL_GRID_CELLS = 4

_SPHERE, _CAPSULE, _CYLINDER, _MESH = (
    int(mujoco.mjtGeom.mjGEOM_SPHERE),
    int(mujoco.mjtGeom.mjGEOM_CAPSULE),
    int(mujoco.mjtGeom.mjGEOM_CYLINDER),
    int(mujoco.mjtGeom.mjGEOM_MESH),
)


@dataclass(frozen=True)
class _Hull:
    """A collision mesh's convex-hull vertices (geom frame), split into grid cells so that the
    lowest point in a direction can be found exactly without touching most vertices."""

    box_center: np.ndarray  # (3,) of the vertices' bounding box
    box_half: np.ndarray  # (3,)
    cell_center: np.ndarray  # (C, 3)
    cell_radius: np.ndarray  # (C,)
    cell_verts: tuple[np.ndarray, ...]  # C arrays (n_c, 3)
    rep: np.ndarray  # (C, 3): one vertex of each cell

    @classmethod
    def build(cls, verts: np.ndarray, cells: int = HULL_GRID_CELLS) -> _Hull:
        lo, hi = verts.min(axis=0), verts.max(axis=0)
        ijk = np.minimum(((verts - lo) / np.maximum(hi - lo, 1e-12) * cells).astype(int), cells - 1)
        key = (ijk[:, 0] * cells + ijk[:, 1]) * cells + ijk[:, 2]
        groups = [verts[key == k] for k in np.unique(key)]
        centers = np.array([g.mean(axis=0) for g in groups])
        radii = np.array(
            [np.linalg.norm(g - c, axis=1).max() for g, c in zip(groups, centers, strict=True)]
        )
        return cls(
            (lo + hi) / 2,
            (hi - lo) / 2,
            centers,
            radii,
            tuple(groups),
            np.array([g[0] for g in groups]),
        )

    def lowest(self, d: np.ndarray) -> np.ndarray:
        """Exact ``min_v d . v`` over the hull vertices for each row of ``d`` (n, 3).

        A cell whose bound ``d . centre - radius`` is not below the best value found so far
        cannot hold a lower vertex and is skipped.
        """
        if len(d) == 0:
            return np.zeros(0)
        bound = d @ self.cell_center.T - self.cell_radius  # (n, C)
        best = (d @ self.rep.T).min(axis=1)  # an upper bound: actual vertices
        for c in np.argsort(bound.mean(axis=0)):
            need = bound[:, c] < best
            if need.any():
                best[need] = np.minimum(best[need], (d[need] @ self.cell_verts[c].T).min(axis=1))
        return best


def _hull_vertices(model: mujoco.MjModel, mesh: int) -> np.ndarray:
    """Convex-hull vertices of a mesh in its geom frame: MuJoCo's own hull (what its collision
    functions use) when it computed one, else scipy's."""
    adr, num = model.mesh_vertadr[mesh], model.mesh_vertnum[mesh]
    verts = np.array(model.mesh_vert[adr : adr + num], dtype=float)
    g = model.mesh_graphadr[mesh]
    if g >= 0:
        nv = int(model.mesh_graph[g])
        return verts[np.asarray(model.mesh_graph[g + 2 + nv : g + 2 + 2 * nv])]
    from scipy.spatial import ConvexHull

    return verts[ConvexHull(verts).vertices]


@dataclass(frozen=True)
class CollisionGeometry:
    """The reference G1's collision geoms and the shapes :func:`lowest_point_z` needs."""

    coll: np.ndarray  # (G,) collision geom ids
    kind: np.ndarray  # (G,) mjtGeom
    size: np.ndarray  # (G, 3)
    rbound: np.ndarray  # (G,)
    hulls: tuple[_Hull | None, ...]  # per collision geom: its mesh hull, or None


@functools.lru_cache(maxsize=1)
def collision_geometry() -> CollisionGeometry:
    """The collision geoms of :func:`nmr_gym.g1.kinematic_model` (cached)."""
    model = kinematic_model()
    coll = np.flatnonzero(collision_geom_mask(model))
    hulls = tuple(
        _Hull.build(_hull_vertices(model, model.geom_dataid[g]))
        if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_MESH
        else None
        for g in coll
    )
    return CollisionGeometry(
        coll=coll,
        kind=np.array(model.geom_type[coll]),
        size=np.array(model.geom_size[coll]),
        rbound=np.array(model.geom_rbound[coll]),
        hulls=hulls,
    )


#: Frames per pass of :func:`collision_geom_poses` (bounds its scratch memory on long clips).
POSE_CHUNK_FRAMES = 4096


def collision_geom_poses(qpos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres (T, G, 3) [m] and third rotation-matrix rows (T, G, 3) of the collision geoms
    of the reference G1 for each frame of ``qpos`` (T, 36) (one ``mj_kinematics`` per frame).

    The loop copies every geom's pose into preallocated arrays through views bound once and
    selects the collision geoms afterwards in one ``np.take`` (per-frame fancy indexing cost
    more than MuJoCo's kinematics itself).
    """
    model = kinematic_model()
    geo = collision_geometry()
    n, ng, nc = np.shape(qpos)[0], model.ngeom, len(geo.coll)
    pos_cols, zrow_cols = _collision_columns(ng)
    pos, zrow = np.empty((n, nc, 3)), np.empty((n, nc, 3))
    # in chunks of frames: every geom's pose is 12 floats a frame (6.8 kB for the G1's 71
    # geoms), which for an hour-long clip would be a gigabyte held at once
    for s in range(0, n, POSE_CHUNK_FRAMES):
        all_pos, all_mat = kinematics_per_frame(
            model, qpos[s : s + POSE_CHUNK_FRAMES], "geom_xpos", "geom_xmat"
        )
        k = len(all_pos)
        pos[s : s + k] = np.take(all_pos.reshape(k, ng * 3), pos_cols, axis=1).reshape(k, nc, 3)
        zrow[s : s + k] = np.take(all_mat.reshape(k, ng * 9), zrow_cols, axis=1).reshape(k, nc, 3)
    return pos, zrow


@functools.lru_cache(maxsize=1)
def _collision_columns(ngeom: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat column indices of the collision geoms' centres in a (T, ngeom * 3) array and of
    their rotation matrices' third rows in a (T, ngeom * 9) array."""
    coll = collision_geometry().coll[:, None]
    return (coll * 3 + np.arange(3)).ravel(), (coll * 9 + 6 + np.arange(3)).ravel()


def lowest_point_z(
    geom_pos_w: np.ndarray, geom_zrow: np.ndarray, below: float = math.inf
) -> np.ndarray:
    """(T,) height [m] of the lowest point of the collision geometry.

    Args:
        geom_pos_w: (T, G, 3) collision geom centres (:func:`collision_geom_poses`).
        geom_zrow: (T, G, 3) world z of each geom's x, y, z axes.
        below: exact where the answer is below this; elsewhere a lower bound that is itself
            >= ``below`` (a penetration test only needs the frames under the floor).

    Spheres and cylinders are exact in closed form; a mesh's hull is searched (exactly,
    :meth:`_Hull.lowest`) only in frames where its bounding box reaches below both ``below``
    and an actual point of some geom in that frame.
    """
    geo = collision_geometry()
    # (G, T) layout: every step below works on one geom's frames, contiguous
    zc = np.ascontiguousarray(geom_pos_w[..., 2].T)
    low = zc - geo.rbound[:, None]  # lower bounds: bounding spheres, then boxes, then exact
    high = np.full_like(low, np.inf)  # upper bounds: actual points
    near = low < below  # (G, T) frames where a geom may reach below ``below``
    # Spheres, cylinders and capsules in closed form, all geoms of a kind at once (the same
    # arithmetic per geom and frame as one at a time; frames not ``near`` keep their bound).
    sph, cyl, cap = (_kind_index(k) for k in (_SPHERE, _CYLINDER, _CAPSULE))
    if sph.size:
        exact = zc[sph] - geo.size[sph, 0][:, None]
        low[sph] = np.where(near[sph], exact, low[sph])
        high[sph] = np.where(near[sph], exact, np.inf)
    for idx, is_cylinder in ((cyl, True), (cap, False)):
        if idx.size:
            az = np.abs(geom_zrow[:, idx, 2].T)  # (n, T) |world z of the geom's axis|
            rad = geo.size[idx, 0][:, None] * (
                np.sqrt(np.clip(1 - az**2, 0, 1)) if is_cylinder else 1.0
            )
            exact = zc[idx] - geo.size[idx, 1][:, None] * az - rad
            low[idx] = np.where(near[idx], exact, low[idx])
            high[idx] = np.where(near[idx], exact, np.inf)
    meshes = []
    for gi in _kind_index(_MESH):
        rows = np.flatnonzero(near[gi])
        if rows.size == 0:
            continue
        zr = geom_zrow[rows, gi]  # (n, 3): world z of the geom's x, y, z axes
        z = zc[gi, rows]
        hull = geo.hulls[gi]
        low[gi, rows] = z + zr @ hull.box_center - np.abs(zr) @ hull.box_half
        high[gi, rows] = z + (zr @ hull.rep.T).min(axis=1)
        meshes.append(gi)
    cut = np.minimum(high.min(axis=0), below)  # (T,) the answer is at most this
    for gi in meshes:
        rows = np.flatnonzero(low[gi] < cut)
        if rows.size:
            low[gi, rows] = zc[gi, rows] + geo.hulls[gi].lowest(geom_zrow[rows, gi])
    return low.min(axis=0)


@functools.lru_cache(maxsize=8)
def _kind_index(kind: int) -> np.ndarray:
    """Positions, among the collision geoms, of those of one mjtGeom kind."""
    geo = collision_geometry()
    known = (_SPHERE, _CAPSULE, _CYLINDER, _MESH)
    other = sorted({int(k) for k in geo.kind} - set(known))
    if other:  # pragma: no cover - the G1 has no other collision shapes
        raise NotImplementedError(f"collision geom types {other}")
    return np.flatnonzero(geo.kind == kind)


def lowest_point_z_of_qpos(qpos: np.ndarray) -> np.ndarray:
    """(T,) exact height [m] of the lowest collision point of each frame of ``qpos`` (T, 36)."""
    return lowest_point_z(*collision_geom_poses(np.asarray(qpos, dtype=float)))
