"""Windowed NMR inference as the release: 30 fps, 120-frame windows, 32-frame crossfade, filter.

Steps for each clip (any length from 2 frames to hours, batched over clips):

1. Resample the human to the network's rate (``NMR_FPS``), covering the whole clip (the last
   sample sits at the clip's last instant).
2. Cut 120-frame windows with stride 88 (32 frames of overlap); the last window ends at the
   clip's last frame; a clip shorter than a window is padded by repeating its last frame, and
   the padding is masked out of every attention.
3. Yaw-canonicalise each window to its first frame, run the network on all windows of all clips
   in batches, undo the canonicalisation.
4. Crossfade overlapping windows linearly (weights ramp over the 32 overlap frames), integrate
   the root xy velocity from the human's start position, take the root height from body 0
   (the pelvis) of the output, the root rotation from its 6D output, the 29 joint angles.
5. Zero-phase Butterworth low-pass (order 4, 5 Hz, ``scipy.signal.sosfiltfilt``) on root
   position, root quaternion (renormalised after) and joint angles. A clip shorter than the
   filter's default padding (``FILTER_PADLEN`` frames at 30 fps) is filtered with the padding
   shortened to its length - 1 (documented fallback rather than an error).
6. Clip joints to the tracking MDP's soft range (``joint_range_factor``, default 0.9 of each
   range; 1.0 is the model's range, the release's behaviour) and put the feet on the floor by a
   smoothed root-height offset (``ground``, default on), take the root's slow drift out by a
   root xy offset that holds stance feet (``lock_feet``, default on, low-passed at 0.25 Hz),
   pin them by leg IK (``pin_feet``, default on), lift swing feet and resolve
   self-collisions: :mod:`retargeters.nmr.post`.
7. Resample to the output rate (the input's by default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import signal

from nmr_gym import rotations as rot
from nmr_gym.errors import MotionError
from nmr_gym.g1 import joint_ranges, kinematic_model
from nmr_gym.motion import HumanMotion, RobotMotion
from nmr_gym.skeleton import SMPL_JOINT_NAMES
from retargeters.nmr.collide import ARM_JOINTS
from retargeters.nmr.data import Normalizer
from retargeters.nmr.features import (
    NMR_FPS,
    NUM_HUMAN_JOINTS,
    OUT_SLICES,
    quat_from_6d,
    rotate_6d_yaw,
    rotate_xy,
    scale_of,
    window_features,
)
from retargeters.nmr.mirror import mirror_input_features, mirror_output_features
from retargeters.nmr.model import NMRNet
from retargeters.nmr.post import (
    HUMAN_FOOT_INDEX,
    SHIPPED_CLEAN_UP,
    CleanUp,
    clean_up,
    robust_floor_z,
)

#: Window length and overlap [frames at NMR_FPS] (NMR release: 120 and 32, stride 88).
WINDOW = 120
OVERLAP = 32
#: Zero-phase Butterworth low-pass on the output (NMR release): order and cutoff [Hz].
FILTER_ORDER = 4
FILTER_CUTOFF_HZ = 5.0
#: Windows per network call (bounds memory: ~0.1 MB of activations per window for ``small``).
BATCH_WINDOWS = 256
#: Default of the ``mirror_average`` option of ``nmr`` (:func:`run_network`): on the 29
#: held-out clips (pinning off, session 8's first measurement) it lowered foot skating 0.347 ->
#: 0.321 m/s, float 0.33 -> 0.28 % of frames, W-MPJPE 0.196 -> 0.190 m and MPJPE 0.1098 ->
#: 0.1088 m (no metric worse); with every final default 0.189 -> 0.169 m/s, 0.44 -> 0.30 %,
#: root force of inverse dynamics 23.5 -> 18.1 N (``leaderboards/nmr_cleanup_ablation``,
#: ``nmr-one-pass``). The cost is a second network pass (about 0.75 s of the held-out job on
#: one thread). ``nmr-release`` runs one pass.
MIRROR_AVERAGE = True
#: Default of the ``robust_floor`` option of ``nmr``: the features' heights are measured
#: above :func:`retargeters.nmr.post.robust_floor_z` of the human (the 25th percentile over
#: frames of the lowest joint, ``post.FLOOR_PERCENTILE``) instead of the clip's lowest joint
#: (the release's definition, and the training features'). An estimated clip that sinks
#: into the floor for a moment (the noisy suite's sinking windows, a spike that swings a
#: joint down) lowered the lowest joint, and with it every input height of the whole clip:
#: the network then moved the whole clip. On the noisy variants (seed 1, scale 1) the mean
#: joint deviation fell 0.0208 -> 0.0197 rad on the 29 held-out clips and 0.0263 -> 0.0227
#: rad on the 84 training clips of the real-clip suite (where it was above ``direct``'s
#: 0.0217: lying, crawling and getting-up clips), the root deviation 0.090 -> 0.047 m and
#: 0.152 -> 0.089 m. On clean clips the floor moves a median 5 mm (``post.robust_floor_z``);
#: held-out W-MPJPE 0.189 -> 0.193 m, foot skating 0.1516 -> 0.1520 m/s, MPJPE unchanged.
#: The clean-up's grounding keeps the lowest joint (the robust floor there raised skating to
#: 0.156 m/s). ``nmr-release`` uses the lowest joint.
ROBUST_FLOOR = True
#: Output columns the mirror average leaves to the plain pass: the 14 arm joints. Two passes
#: can put an arm on two different paths (a sword slash across the body), and their mean then
#: goes through the torso: averaging them too left 8.2 % of a real clip's frames
#: (bandai_namco/dataset-1_slash_normal_001) in self-collision after the clean-up (one pass:
#: 0), and the real-clip suite's mean 0.045 -> 0.117 %; without the arms 0.041 %, with the
#: same held-out gains.
_PLAIN_PASS_COLUMNS = OUT_SLICES["joint_pos"].start + ARM_JOINTS

_SOS = signal.butter(FILTER_ORDER, FILTER_CUTOFF_HZ, fs=NMR_FPS, output="sos")
#: scipy's default padding of sosfiltfilt for this filter [frames].
FILTER_PADLEN = 3 * (
    2 * len(_SOS) + 1 - min(int((_SOS[:, 2] == 0).sum()), int((_SOS[:, 5] == 0).sum()))
)
_BODY0_Z = OUT_SLICES["body_pos"].start + 2


#: The filter's steady-state initial conditions per unit input (n_sections, 2), solved once.
_ZI = signal.sosfilt_zi(_SOS)


def lowpass(x: np.ndarray) -> np.ndarray:
    """Zero-phase Butterworth low-pass along axis 0 of a (T, ...) array at ``NMR_FPS``.

    ``scipy.signal.sosfiltfilt(_SOS, x, axis=0, padlen=min(FILTER_PADLEN, T - 1))`` (odd
    extension, steady-state initial conditions) written out around ``scipy.signal.sosfilt``
    with the same operations in the same order, so equal to it bit for bit (tested), but with
    the initial conditions (``sosfilt_zi``, two linear solves) computed once instead of on
    every call: that was half of a call's time on a clip of a few hundred frames, and the
    clean-up calls this filter about five times per clip. Each column is filtered on its own,
    and a zero column gives zero.
    """
    x = np.asarray(x)
    n = x.shape[0]
    if n < 2:
        return x.copy()
    edge = min(FILTER_PADLEN, n - 1)
    ext = np.concatenate(
        (2 * x[:1] - x[edge:0:-1], x, 2 * x[-1:] - x[-2 : -(edge + 2) : -1]), axis=0
    )
    zi = _ZI.reshape(_ZI.shape + (1,) * (x.ndim - 1))
    y, _ = signal.sosfilt(_SOS, ext, axis=0, zi=zi * ext[:1])
    y, _ = signal.sosfilt(_SOS, y[::-1], axis=0, zi=zi * y[-1:])
    return y[::-1][edge:-edge]


def _sample_times(
    n: int, fps: float, times: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source frame pair and weight for each time [s] of a series of ``n`` frames at ``fps``."""
    u = np.clip(times * fps, 0.0, n - 1)
    i0 = np.minimum(np.floor(u).astype(int), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    return i0, i1, u - i0


def _interp_series(times_src: np.ndarray, times_new: np.ndarray):
    """Index pair and weight into a non-uniform, increasing time grid ``times_src``."""
    i1 = np.clip(np.searchsorted(times_src, times_new, side="right"), 1, len(times_src) - 1)
    i0 = i1 - 1
    span = np.maximum(times_src[i1] - times_src[i0], 1e-12)
    w = np.clip((times_new - times_src[i0]) / span, 0.0, 1.0)
    if len(times_src) == 1:
        i0 = i1 = np.zeros_like(i0)
    return i0, i1, w


@dataclass
class _Clip:
    pos: np.ndarray  # (T, 22, 3) human joints at NMR_FPS
    pelvis: np.ndarray  # (T, 4)
    height: float
    floor: float
    times: np.ndarray  # (T,) [s] of each sample
    human: HumanMotion


def _prepare(human: HumanMotion) -> _Clip:
    src = human.source
    if human.joint_names[:NUM_HUMAN_JOINTS] != SMPL_JOINT_NAMES[:NUM_HUMAN_JOINTS]:
        raise MotionError(
            "NMR needs a human on SMPL's canonical joints "
            f"({', '.join(SMPL_JOINT_NAMES[:NUM_HUMAN_JOINTS])}); "
            f"got {list(human.joint_names)[:6]}...",
            src,
        )
    pos_all = np.asarray(human.joint_pos[:, :NUM_HUMAN_JOINTS], float)
    quat_all = np.asarray(human.joint_quat[:, 0], float)
    for name, a in (("joint_pos", pos_all), ("joint_quat", quat_all)):
        bad = ~np.isfinite(a)
        if bad.any():
            raise MotionError(
                f"{name} has {int(bad.sum())} non-finite values, first at frame "
                f"{int(np.argwhere(bad)[0][0])}",
                src,
            )
    if human.n_frames < 2:
        raise MotionError(f"NMR needs at least 2 frames, got {human.n_frames}", src)
    n30 = math.ceil(human.duration * NMR_FPS - 1e-6) + 1
    times = np.minimum(np.arange(n30) / NMR_FPS, human.duration)
    i0, i1, w = _sample_times(human.n_frames, human.fps, times)
    pos = pos_all[i0] + (pos_all[i1] - pos_all[i0]) * w[:, None, None]
    pelvis = rot.slerp(quat_all[i0], quat_all[i1], w)
    return _Clip(pos, pelvis, float(human.height), float(pos[..., 2].min()), times, human)


def _window_starts(n: int) -> list[int]:
    stride = WINDOW - OVERLAP
    starts = list(range(0, max(n - WINDOW, 0) + 1, stride))
    if starts[-1] + WINDOW < n:
        starts.append(n - WINDOW)
    return starts


def _ramp(first: bool, last: bool) -> np.ndarray:
    w = np.ones(WINDOW)
    r = np.arange(1, OVERLAP + 1) / (OVERLAP + 1)
    if not first:
        w[:OVERLAP] *= r
    if not last:
        w[-OVERLAP:] *= r[::-1]
    return w


def run_network(
    model: NMRNet,
    norm: Normalizer,
    x: np.ndarray,
    mask: np.ndarray,
    device,
    batch: int,
    mirror_average: bool = False,
) -> np.ndarray:
    """Denormalised network output (N, W, 217) of input features (N, W, 140), ``batch``
    windows per forward. ``mirror_average``: the mean of the output and the mirrored output of
    the mirrored input (:func:`retargeters.nmr.mirror.mirror_input_features`), which makes the
    prediction left-right equivariant, except the arm joints, which stay the plain pass's
    (:data:`_PLAIN_PASS_COLUMNS`)."""
    y = _forward(model, norm, x, mask, device, batch)
    if mirror_average:
        y_m = _forward(model, norm, mirror_input_features(x), mask, device, batch)
        avg = 0.5 * (y + mirror_output_features(y_m))
        avg[..., _PLAIN_PASS_COLUMNS] = y[..., _PLAIN_PASS_COLUMNS]
        y = avg
    return y


@torch.inference_mode()
def _forward(
    model: NMRNet, norm: Normalizer, x: np.ndarray, mask: np.ndarray, device, batch: int
) -> np.ndarray:
    """One network pass (inference mode: no autograd bookkeeping); see :func:`run_network`."""
    out = np.empty((x.shape[0], x.shape[1], norm.out_mean.shape[0]), np.float32)
    xn = ((x - norm.in_mean) / norm.in_std).astype(np.float32)
    for s in range(0, x.shape[0], batch):
        xb = torch.as_tensor(xn[s : s + batch], device=device)
        mb = torch.as_tensor(mask[s : s + batch], device=device)
        out[s : s + batch] = model(xb, mb).float().cpu().numpy()
    return out * norm.out_std + norm.out_mean


def retarget_batch(
    humans: list[HumanMotion],
    model: NMRNet,
    norm: Normalizer,
    *,
    fps: float | None = None,
    device: str | torch.device = "cpu",
    batch_windows: int = BATCH_WINDOWS,
    filter: bool = True,  # noqa: A002
    clean: CleanUp = SHIPPED_CLEAN_UP,
    metadata: dict | None = None,
    mirror_average: bool = MIRROR_AVERAGE,
    robust_floor: bool = ROBUST_FLOOR,
) -> list[RobotMotion]:
    """Retarget clips with one network pass over all their windows; one RobotMotion per clip.

    ``clean``: the inference clean-up's steps (:class:`retargeters.nmr.post.CleanUp`; the
    default is the shipped pipeline, ``CleanUp.release()`` the NMR release's output).
    ``mirror_average``: a second pass on the left-right mirrored windows, whose output,
    mirrored back, is averaged with the first, the arm joints excepted (:func:`run_network`;
    test-time augmentation, not in the paper: the network was trained on mirrored windows, so
    both passes are its predictions of the same motion; twice the network's cost; default
    :data:`MIRROR_AVERAGE`, False for the release's one pass). ``robust_floor``: the input
    heights above the human's robust floor, not its lowest joint (:data:`ROBUST_FLOOR`).
    """
    clips = [_prepare(h) for h in humans]
    floors = [robust_floor_z(c.pos) for c in clips]  # (the lift's floor too)
    win_clip, win_start, hp, pq, hh, fz, mask = [], [], [], [], [], [], []
    for c, clip in enumerate(clips):
        n = clip.pos.shape[0]
        for s in _window_starts(n):
            idx = np.minimum(np.arange(s, s + WINDOW), n - 1)
            win_clip.append(c)
            win_start.append(s)
            hp.append(clip.pos[idx])
            pq.append(clip.pelvis[idx])
            hh.append(clip.height)
            fz.append(floors[c] if robust_floor else clip.floor)
            mask.append(np.arange(s, s + WINDOW) < n)
    x, _, yaw, origin = window_features(np.stack(hp), np.stack(pq), np.array(hh), np.array(fz))
    mask = np.stack(mask)
    y = run_network(model, norm, x, mask, device, batch_windows, mirror_average)
    vel = rotate_xy(y[..., OUT_SLICES["root_vel_xy"]].astype(float), yaw)
    r6d = rotate_6d_yaw(y[..., OUT_SLICES["root_rot_6d"]].astype(float), yaw)
    height = y[..., _BODY0_Z].astype(float)
    joints = y[..., OUT_SLICES["joint_pos"]].astype(float)

    ranges = joint_ranges(kinematic_model())
    results = []
    win_clip = np.array(win_clip)
    for c, clip in enumerate(clips):
        n = clip.pos.shape[0]
        ws = np.flatnonzero(win_clip == c)
        acc = {k: np.zeros((n, d)) for k, d in (("vel", 2), ("r6d", 6), ("h", 1), ("q", 29))}
        wsum = np.zeros(n)
        for j, wi in enumerate(ws):
            s = win_start[wi]
            m = min(WINDOW, n - s)
            w = _ramp(j == 0, j == len(ws) - 1)[:m]
            for k, src in (("vel", vel), ("r6d", r6d), ("h", height[..., None]), ("q", joints)):
                acc[k][s : s + m] += w[:, None] * src[wi, :m]
            wsum[s : s + m] += w
        for k in acc:
            acc[k] /= wsum[:, None]
        vel_c = acc["vel"]
        vel_c[0] = 0.0
        root_pos = np.empty((n, 3))
        root_pos[:, :2] = origin[ws[0]] + np.cumsum(vel_c, axis=0)
        root_pos[:, 2] = acc["h"][:, 0]
        root_quat = rot.make_continuous(quat_from_6d(acc["r6d"]))
        joint_pos = acc["q"]
        if filter:
            # one call for all 36 columns: the filter runs on each column independently, so
            # this equals three separate calls bit for bit (tested), with a third of the set-up
            smooth_all = lowpass(np.concatenate([root_pos, root_quat, joint_pos], axis=1))
            root_pos = smooth_all[:, :3]
            root_quat = rot.normalize(smooth_all[:, 3:7])
            joint_pos = smooth_all[:, 7:]
        k = float(scale_of(clip.height))
        root_pos, joint_pos = clean_up(
            root_pos,
            root_quat,
            joint_pos,
            clip.pos[:, HUMAN_FOOT_INDEX] * k,
            clip.floor * k,
            NMR_FPS,
            ranges,
            clean,
            smooth=lowpass if filter else None,
            lift_floor_z=floors[c] * k,
        )
        results.append(_output(clip, root_pos, root_quat, joint_pos, fps, metadata))
    return results


def _output(clip: _Clip, root_pos, root_quat, joint_pos, fps, metadata) -> RobotMotion:
    human = clip.human
    out_fps = human.fps if fps is None else float(fps)
    n_out = human.n_frames if fps is None else int(np.floor(human.duration * out_fps + 1e-9)) + 1
    t_new = np.minimum(np.arange(n_out) / out_fps, human.duration)
    i0, i1, w = _interp_series(clip.times, t_new)
    wp = w[:, None]
    meta = {
        k: human.metadata[k]
        for k in ("name", "complexity", "length", "skeleton", "format")
        if k in human.metadata
    }
    meta.update(metadata or {})
    return RobotMotion(
        out_fps,
        root_pos[i0] + (root_pos[i1] - root_pos[i0]) * wp,
        rot.slerp(root_quat[i0], root_quat[i1], w),
        joint_pos[i0] + (joint_pos[i1] - joint_pos[i0]) * wp,
        source=human.source,
        metadata=meta,
    )
