"""The ``nmr`` retargeter: the neural motion retargeter of the NMR paper, trained in nmr-gym.

``retargeters.make("nmr")`` loads the checkpoint shipped as package data
(``retargeters/nmr/checkpoints/nmr_medium.pt``, see the model card beside it);
``make("nmr", checkpoint=PATH)`` loads another. Inference is
:func:`retargeters.nmr.inference.retarget_batch` (windows, crossfade, filter as the
release), then the physical clean-up of :mod:`retargeters.nmr.post` (soft joint range,
grounding, foot locking, arm and leg self-collision removal).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from nmr_gym.motion import HumanMotion, RobotMotion
from retargeters.base import Retargeter, register
from retargeters.nmr.checkpoint import SHIPPED, NmrCheckpointError, load_checkpoint
from retargeters.nmr.inference import BATCH_WINDOWS, MIRROR_AVERAGE, ROBUST_FLOOR, retarget_batch
from retargeters.nmr.post import (
    JOINT_LIMIT_MARGIN_RAD,
    JOINT_RANGE_FACTOR,
    LIFT_SWING,
    LOCK_FEET,
    PIN_FEET,
    RESOLVE_COLLISIONS,
    SHORT_STANCE,
    CleanUp,
)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@register("nmr")
class NMRRetargeter(Retargeter):
    """Neural motion retargeting: a sequence network maps human features to G1 motion.

    Options:
        checkpoint: an NMR checkpoint file; None: the shipped one.
        device: torch device ("cpu" default; "cuda" when asked).
        fps: output rate [Hz]; None: the input's rate (and frame count).
        filter: apply the release's zero-phase 5 Hz Butterworth filter (default True).
        batch_windows: windows per network call.
        mirror_average: also run the network on the left-right mirrored clip and average its
            output, mirrored back, with the plain one, the arm joints excepted (default
            ``inference.MIRROR_AVERAGE``, True; test-time augmentation, not in the paper;
            twice the network's cost; False: one pass, as the release). The model card has its
            effect on the held-out clips.
        joint_range_factor: joints are clipped to this middle fraction of each joint range
            (default 0.9: the tracking MDP's soft range, ``spec.SOFT_JOINT_LIMIT_FACTOR``;
            1.0: the model's range, the NMR release's behaviour).
        ground: correct the root height at inference so the human's stance feet touch the
            floor and no collision point is below it (default True; False: the network's
            root height as the release). See :mod:`retargeters.nmr.post`.
        lock_feet: shift the root xy so that each human-stance foot holds still, low-passed
            at ``post.LOCK_CUTOFF_HZ`` (0.25 Hz) so only the root's slow drift is taken out
            (default ``post.LOCK_FEET``, True; False: the network's root path as the
            release).
        pin_feet: hold each human-stance foot at one flat pose on the floor by changing that
            leg's six joints (blended in and out; default ``post.PIN_FEET``). See
            :mod:`retargeters.nmr.legik`.
        lift_swing: raise each swing foot (outside the human's stance) to at least the
            human's clearance by changing that leg's six joints (default ``post.LIFT_SWING``;
            False: the network's swing feet, which drag near the floor). See
            :func:`retargeters.nmr.legik.lift_swing_feet`.
        resolve_collisions: move the forearms, hands and upper arms out of self-collision
            (every checked pair at least its margin, ``collide.pair_margins``, apart) by
            changing the arm joints only, and the two legs apart by the hip roll joints
            (default ``collide.RESOLVE_COLLISIONS``). See :mod:`retargeters.nmr.collide`.
        joint_limit_margin: every joint is also kept at least this far inside the model's
            range [rad] (default ``post.JOINT_LIMIT_MARGIN_RAD``, 0.06; 0: the soft range
            alone). It matters on the narrow joints (ankle roll), where the soft range's 5 %
            is less than the benchmark's near-limit margin.
        robust_floor: the input features' heights are measured above the human's robust floor
            (the 25th percentile of its lowest joint over frames) instead of its lowest
            joint (default ``inference.ROBUST_FLOOR``, True; False: the release's floor), so a
            moment of sinking into the floor does not move the whole clip.
        short_stance: the leg steps (swing lift, legs' collision step, pinning) also detect
            the human's short stances, as in a run, from the feet low-passed at 3 Hz (default
            ``post.SHORT_STANCE``; False: only the 2 Hz speed's stances). See
            :data:`retargeters.nmr.post.SHORT_STANCE_HEIGHT_M`.
    """

    def __init__(
        self,
        *,
        checkpoint: str | os.PathLike | None = None,
        device: str = "cpu",
        fps: float | None = None,
        filter: bool = True,  # noqa: A002
        batch_windows: int = BATCH_WINDOWS,
        joint_range_factor: float = JOINT_RANGE_FACTOR,
        ground: bool = True,
        lock_feet: bool = LOCK_FEET,
        pin_feet: bool = PIN_FEET,
        lift_swing: bool = LIFT_SWING,
        resolve_collisions: bool = RESOLVE_COLLISIONS,
        joint_limit_margin: float = JOINT_LIMIT_MARGIN_RAD,
        mirror_average: bool = MIRROR_AVERAGE,
        short_stance: bool = SHORT_STANCE,
        robust_floor: bool = ROBUST_FLOOR,
    ):
        import torch

        if fps is not None and not (np.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a finite number > 0 or None, got {fps!r}")
        if int(batch_windows) < 1:
            raise ValueError(f"batch_windows must be >= 1, got {batch_windows}")
        for name, flag in (("mirror_average", mirror_average), ("robust_floor", robust_floor)):
            if not isinstance(flag, (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {flag!r}")
        self.clean = CleanUp(
            joint_range_factor,
            ground,
            lock_feet,
            pin_feet,
            lift_swing,
            resolve_collisions,
            joint_limit_margin,
            short_stance,
        )  # validated here, before the checkpoint loads
        path = Path(checkpoint) if checkpoint is not None else SHIPPED
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"unknown torch device {device!r} ({exc})") from None
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise NmrCheckpointError(f"device {device!r} asked for, but CUDA is not available")
        self.checkpoint = path
        self.model, self.normalizer, self.info = load_checkpoint(path, self.device)
        self.checkpoint_sha256 = _sha256(path)
        self.fps = None if fps is None else float(fps)
        self.filter = bool(filter)
        self.batch_windows = int(batch_windows)
        self.mirror_average = bool(mirror_average)
        self.robust_floor = bool(robust_floor)

    def options(self) -> dict[str, Any]:
        return {
            "checkpoint": "shipped" if self.checkpoint == SHIPPED else str(self.checkpoint),
            "checkpoint_sha256": self.checkpoint_sha256[:16],
            "device": str(self.device),
            "fps": self.fps,
            "filter": self.filter,
            "mirror_average": self.mirror_average,
            "robust_floor": self.robust_floor,
            **dataclasses.asdict(self.clean),
        }

    def retarget(self, human: HumanMotion) -> RobotMotion:
        return self.retarget_batch([human])[0]

    def retarget_batch(self, humans: list[HumanMotion]) -> list[RobotMotion]:
        """Retarget several clips with one batched network pass."""
        return retarget_batch(
            list(humans),
            self.model,
            self.normalizer,
            fps=self.fps,
            device=self.device,
            batch_windows=self.batch_windows,
            filter=self.filter,
            clean=self.clean,
            metadata={"retargeter": self.name, "options": self.options()},
            mirror_average=self.mirror_average,
            robust_floor=self.robust_floor,
        )


@register("nmr-release")
class NMRReleaseRetargeter(NMRRetargeter):
    """NMR with the NMR release's inference only: the same network, windows, crossfade and
    5 Hz zero-phase filter as ``nmr``, with one network pass (no ``mirror_average``), the
    clip's lowest joint as the features' floor (no ``robust_floor``) and
    without this project's clean-up (:meth:`retargeters.nmr.post.CleanUp.release`: the model's
    full joint range, the network's root height and path, its legs and arms as predicted).

    The published method's inference, so its row on a leaderboard shows what the mirror
    average and the clean-up of ``nmr`` change. Options: ``checkpoint``, ``device``, ``fps``,
    ``filter``, ``batch_windows`` as :class:`NMRRetargeter`.
    """

    def __init__(self, **options: Any):
        for name in ("mirror_average", "robust_floor"):
            if options.get(name):
                raise ValueError(
                    f"{name} is not part of the NMR release's inference; use 'nmr' "
                    f"(make('nmr', {name}=True))"
                )
        # a clean-up option given here is a TypeError (a keyword given twice)
        super().__init__(
            **{**options, "mirror_average": False, "robust_floor": False},
            **dataclasses.asdict(CleanUp.release()),
        )
