"""Vectorised quaternion and rotation helpers; quaternions are (..., 4) arrays in wxyz order.

Hand-written rather than ``scipy.spatial.transform.Rotation`` because the tracking environment
calls these on small batches every step, where numpy broadcasting on raw arrays is several times
faster than building ``Rotation`` objects, and because every function here works on arbitrary
leading batch dimensions. Conversions to/from scipy's xyzw order are explicit.
"""

from __future__ import annotations

import re

import numpy as np

IDENTITY_WXYZ = np.array([1.0, 0.0, 0.0, 0.0])


def normalize(q: np.ndarray) -> np.ndarray:
    """Unit quaternions; q / |q| along the last axis."""
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def wxyz_to_xyzw(q: np.ndarray) -> np.ndarray:
    return np.concatenate([q[..., 1:], q[..., :1]], axis=-1)


def xyzw_to_wxyz(q: np.ndarray) -> np.ndarray:
    return np.concatenate([q[..., 3:], q[..., :3]], axis=-1)


def conjugate(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a ⊗ b (apply b first, then a), broadcast over leading axes."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    aw, ax, ay, az = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bw, bx, by, bz = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    out[..., 0] = aw * bw - ax * bx - ay * by - az * bz
    out[..., 1] = aw * bx + ax * bw + ay * bz - az * by
    out[..., 2] = aw * by - ax * bz + ay * bw + az * bx
    out[..., 3] = aw * bz + ax * by - ay * bx + az * bw
    return out


def left_multiplication_matrix(q, out: np.ndarray | None = None) -> np.ndarray:
    """The 4x4 matrix L(q) with L(q) @ p = q ⊗ p for a wxyz quaternion ``q`` (4,); written
    into ``out`` when given (element writes, no allocation: it is called every env step)."""
    w, x, y, z = q
    m = np.empty((4, 4)) if out is None else out
    m.flat[:] = (w, -x, -y, -z, x, w, -z, y, y, z, w, -x, z, -y, x, w)
    return m


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of (..., 3) vectors, broadcast over leading axes.

    The same products and differences as ``np.cross`` (bit-identical results) without its
    axis-moving overhead, which dominated :func:`rotate` on the per-joint arrays of motion
    loaders and forward kinematics.
    """
    a, b = np.asarray(a), np.asarray(b)
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    out = np.empty(np.broadcast_shapes(a.shape, b.shape), np.result_type(a, b))
    out[..., 0] = a1 * b2 - a2 * b1
    out[..., 1] = a2 * b0 - a0 * b2
    out[..., 2] = a0 * b1 - a1 * b0
    return out


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4)."""
    w = q[..., :1]
    u = q[..., 1:]
    t = 2.0 * cross(u, v)
    return v + w * t + cross(u, t)


def rotate_inverse(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v by the inverse of unit quaternions q."""
    return rotate(conjugate(q), v)


def multiply_cm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`multiply` of component-major quaternions: ``a``, ``b`` (4, ...) -> (4, ...).

    The same products and sums in the same order (bit-identical to :func:`multiply`); with
    each component a contiguous array, numpy runs several times faster than on the strided
    components of (..., 4) arrays, which matters in forward kinematics over long clips.
    """
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    out = np.empty((4, *np.broadcast_shapes(np.shape(aw), np.shape(bw))))
    out[0] = aw * bw - ax * bx - ay * by - az * bz
    out[1] = aw * bx + ax * bw + ay * bz - az * by
    out[2] = aw * by - ax * bz + ay * bw + az * bx
    out[3] = aw * bz + ax * by - ay * bx + az * bw
    return out


def rotate_cm(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """:func:`rotate` of component-major arrays: ``q`` (4, ...), ``v`` (3, ...) -> (3, ...),
    with the same arithmetic in the same order (bit-identical to :func:`rotate`)."""
    w, ux, uy, uz = q
    vx, vy, vz = v
    tx = 2.0 * (uy * vz - uz * vy)
    ty = 2.0 * (uz * vx - ux * vz)
    tz = 2.0 * (ux * vy - uy * vx)
    out = np.empty((3, *np.broadcast_shapes(np.shape(w), np.shape(vx))))
    out[0] = vx + w * tx + (uy * tz - uz * ty)
    out[1] = vy + w * ty + (uz * tx - ux * tz)
    out[2] = vz + w * tz + (ux * ty - uy * tx)
    return out


def to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of unit quaternions (..., 4)."""
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=-2,
    )


def to_6d(q: np.ndarray) -> np.ndarray:
    """The 6D rotation representation (Zhou et al. 2019) of unit quaternions (..., 4): the first
    two columns of the rotation matrix, flattened row-major (..., 6)."""
    return to_matrix(q)[..., :, :2].reshape(*q.shape[:-1], 6)


def from_matrix(m: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4), w >= 0, of rotation matrices (..., 3, 3)."""
    from scipy.spatial.transform import Rotation

    shape = m.shape[:-2]
    q = xyzw_to_wxyz(Rotation.from_matrix(m.reshape(-1, 3, 3)).as_quat())
    q = np.where(q[:, :1] < 0, -q, q)
    return q.reshape(*shape, 4)


def from_axis_angle(rotvec: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4) of rotation vectors (..., 3) (axis * angle [rad])."""
    angle = np.linalg.norm(rotvec, axis=-1, keepdims=True)
    half = 0.5 * angle
    # sin(x/2)/x, with its limit 1/2 at x = 0
    k = np.where(angle > 1e-8, np.sin(half) / np.maximum(angle, 1e-12), 0.5 - angle**2 / 48.0)
    return np.concatenate([np.cos(half), rotvec * k], axis=-1)


def to_axis_angle(q: np.ndarray) -> np.ndarray:
    """Rotation vectors (..., 3) with angle in [0, pi] of unit quaternions (..., 4)."""
    q = np.where(q[..., :1] < 0, -q, q)
    s = np.linalg.norm(q[..., 1:], axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(s, q[..., :1])
    k = np.where(s > 1e-8, angle / np.maximum(s, 1e-12), 2.0)
    return q[..., 1:] * k


def angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation angle [rad] of a^-1 ⊗ b, in [0, pi]."""
    d = np.abs(np.sum(a * b, axis=-1))
    return 2.0 * np.arccos(np.clip(d, 0.0, 1.0))


_EULER_ORDER = re.compile(r"^(?:[XYZ]{1,3}|[xyz]{1,3})$")


def _check_euler_order(order: str) -> None:
    if (
        not isinstance(order, str)
        or not _EULER_ORDER.match(order)
        or any(a == b for a, b in zip(order.lower(), order.lower()[1:], strict=False))
    ):
        raise ValueError(
            "Euler order must be 1-3 axes, all upper case (intrinsic) or all lower case "
            f"(extrinsic) from X, Y, Z, consecutive axes different; got {order!r}"
        )


def from_euler(angles: np.ndarray, order: str) -> np.ndarray:
    """Unit quaternions from Euler angles [rad] (..., n) about the n = 1-3 axes of ``order``.

    ``order`` as scipy's ``Rotation.from_euler``: upper case intrinsic ("XYZ": R = Rx Ry Rz),
    lower case extrinsic ("xyz": R = Rz Ry Rx); consecutive axes differ. Hand-written because a
    BVH file needs one conversion per joint, where scipy's per-call overhead (~1 ms) dominated
    loading; this composes the per-axis quaternions exactly as scipy does (the same products,
    results equal to scipy's bit for bit, tested), over any leading axes in one pass.
    """
    _check_euler_order(order)
    angles = np.asarray(angles, dtype=float)
    if angles.shape[-1:] != (len(order),):
        raise ValueError(
            f"angles have shape {angles.shape}; the last axis must hold {len(order)} angles "
            f"for order {order!r}"
        )
    q = from_euler_cm(np.moveaxis(angles, -1, 0), order)
    return np.ascontiguousarray(np.moveaxis(q, 0, -1))


def from_euler_cm(angles: np.ndarray, order: str) -> np.ndarray:
    """:func:`from_euler` of component-major angles (n, ...) -> quaternions (4, ...).

    The per-axis quaternions are (cos, sin) at their places and exact zeros elsewhere (as
    scalars here), composed with :func:`multiply_cm`: the same products as :func:`multiply`
    of full quaternions, so the results equal scipy's bit for bit.
    """
    _check_euler_order(order)
    angles = np.asarray(angles, dtype=float)
    if angles.shape[:1] != (len(order),):
        raise ValueError(
            f"angles have shape {angles.shape}; the first axis must hold {len(order)} angles "
            f"for order {order!r}"
        )
    half = 0.5 * angles
    cos, sin = np.cos(half), np.sin(half)
    q = None
    for i, axis in enumerate(order.upper()):
        e = [cos[i], 0.0, 0.0, 0.0]
        e[1 + "XYZ".index(axis)] = sin[i]
        q = e if q is None else (multiply_cm(q, e) if order.isupper() else multiply_cm(e, q))
    if isinstance(q, list):  # a single axis: no product to form the array
        return np.stack(np.broadcast_arrays(*q))
    return q


def make_continuous(q: np.ndarray, axis: int = 0) -> np.ndarray:
    """Flip signs along ``axis`` so consecutive quaternions have a positive dot product."""
    q = np.moveaxis(np.array(q, dtype=float, copy=True), axis, 0)
    a, b = q[1:], q[:-1]
    # the dot products written out: twice as fast as np.sum(a * b, axis=-1), same values
    dots = a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1]
    dots = dots + a[..., 2] * b[..., 2]
    dots = dots + a[..., 3] * b[..., 3]
    if (dots < 0).any():  # else every factor is 1: nothing to multiply
        flips = np.cumprod(np.where(dots < 0, -1.0, 1.0), axis=0)
        q[1:] *= flips[..., None]
    return np.moveaxis(q, 0, axis)


def slerp(q0: np.ndarray, q1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation between unit quaternions, t in [0, 1] broadcast as (..., 1)."""
    t = np.asarray(t, dtype=float)[..., None] if np.ndim(t) == q0.ndim - 1 else t
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin = np.sin(theta)
    small = sin < 1e-6
    safe = np.where(small, 1.0, sin)
    w0 = np.where(small, 1.0 - t, np.sin((1.0 - t) * theta) / safe)
    w1 = np.where(small, t, np.sin(t * theta) / safe)
    return normalize(w0 * q0 + w1 * q1)


def angular_velocity(q: np.ndarray, dt: float, *, continuous: bool = False) -> np.ndarray:
    """World-frame angular velocity [rad/s] of a (T, ..., 4) quaternion sequence (central diff).

    omega = 2 * (dq/dt ⊗ q^*) vector part; one-sided differences at the ends. The sequence is
    made sign-continuous first unless ``continuous`` says it already is (as
    :func:`make_continuous` returns it; the result is then the same, one pass cheaper).
    """
    if not continuous:
        q = make_continuous(q, axis=0)
    dq = np.gradient(q, dt, axis=0)
    # The vector part of dq ⊗ q^* written out on contiguous component arrays: the same
    # products and sums as multiply(dq, conjugate(q)) (bit-identical), twice as fast on the
    # (T, 30, 4) body orientations of a long motion.
    aw, ax, ay, az = np.moveaxis(dq, -1, 0).copy()
    bw, bx, by, bz = np.moveaxis(np.asarray(q, dtype=float), -1, 0).copy()
    bx, by, bz = -bx, -by, -bz
    out = np.empty(dq.shape[:-1] + (3,))
    out[..., 0] = aw * bx + ax * bw + ay * bz - az * by
    out[..., 1] = aw * by - ax * bz + ay * bw + az * bx
    out[..., 2] = aw * bz + ax * by - ay * bx + az * bw
    return 2.0 * out
