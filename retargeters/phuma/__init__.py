"""PHUMA-style retargeter (``retargeters.make("phuma")``): whole-sequence optimisation.

Re-implements PHUMA's motion adaptation (PhySINK, PHUMA paper and project) on nmr-gym's reference
G1: shape/scale adaptation of the human keypoints (:mod:`.adaptation`), one differentiable
optimisation over all frames of joint positions, root translation and link scales with the
root orientation from the human (:mod:`.optimize`, :mod:`.losses`, FK in :mod:`.torch_fk`),
foot contacts from the human (:mod:`.contacts`), then PHUMA's low-pass filter and clip to 98%
of the joint range (:mod:`.filters`). Not in PHUMA: a step projection (``max_step``, on by
default, :func:`.filters.limit_steps`) bounds every joint's change per frame at the output rate
by ``min(0.45 rad, G1 velocity limit / fps)``, applied to the warm start and to the result
before the final clip. Without it the fast schedule left joint jumps on fast real clips
(issue 6): shoulder pitch/yaw flips of 1.3-3 rad where the analytic warm start's Euler
decomposition passes the shoulder's gimbal lock (roll near +-90 deg, arms raised sideways; 100
Adam steps of lr 0.005 cannot travel that far, the velocity hinge starts only above the motor
limits, 0.7-1.2 rad/frame at 30 fps, and the low-pass cannot remove a step), and 0.5-0.8 rad
steps that are the human's own fast knees/elbows (dashes, punches) at 30 fps.

Deviations from PHUMA's loss, each switchable: ``LossWeights.ground`` (foot points below the
floor in every frame) and ``LossWeights.foot_orientation`` (each G1 sole's lateral axis follows
the human foot's). The latter removed most ankle-roll saturation: PHUMA's single ankle -> ball
keypoint fixes foot pitch but not roll, and the G1 ankle (pitch and roll, no yaw) could only
reach a toed-out ball point by rolling to its limit (joint-limit frames on the AMASS examples
02_01 / C13: 34.9% / 64.2% without it, 6.2% / 39.3% with it; the human's own ankle angles are
within 0.05 rad of or beyond the G1's ranges in 14% / 52% of frames). The ankle-pitch limit
frames left on the suite's kicks and spins are the human's: its swing foot dorsiflexes past the
G1's 30 deg. ``limit_margin=0.06`` (GMR's margin) keeps every joint out of the metric's
0.05 rad band (0% limit frames on those clips at no fidelity cost); the default keeps PHUMA's
98% range (``perf/compare_phuma_gmr.py`` prints both).

Schedules (``schedule=``):

- ``"fast"`` (default): warm start from the analytic solution (:mod:`.init`), Adam at
  :data:`FAST_LR` for at most :data:`FAST_ITERATIONS` iterations with convergence-based stopping,
  on the clip resampled to :data:`OPT_FPS`. Practical for the benchmark on 2 CPU cores.
- ``"full"``: PHUMA's schedule, Adam lr 0.005 for 3000 iterations, no early stopping (same
  warm start). 15-110x slower on the clips measured (``perf/test_phuma_speed.py`` times
  both; ``perf/compare_phuma_gmr.py`` prints the metric difference).

Any of ``iterations``, ``lr``, ``tol`` given explicitly overrides the schedule.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from nmr_gym import rotations as rot
from nmr_gym.errors import MotionError
from nmr_gym.g1 import spec
from nmr_gym.motion import HumanMotion, RobotMotion
from retargeters.base import Retargeter, register
from retargeters.phuma import filters
from retargeters.phuma.adaptation import RANGE_FRACTION, VELOCITY_LIMIT, adapt, range_98
from retargeters.phuma.contacts import CONTACT_HEIGHT_MARGIN, CONTACT_SPEED, detect_foot_contacts
from retargeters.phuma.init import initial_joint_pos
from retargeters.phuma.losses import LossWeights
from retargeters.phuma.optimize import (
    OptimConfig,
    ground_contacts,
    initial_root,
    optimize_windows,
)

#: PHUMA's schedule: Adam, lr 0.005, 3000 iterations over the whole sequence (PHUMA paper).
PHUMA_ITERATIONS = 3000
PHUMA_LR = 0.005
#: The default fast schedule: at most this many Adam iterations, stopping once the loss improves
#: by less than FAST_TOL (relative) over 25 iterations.
FAST_ITERATIONS = 100
FAST_LR = 0.005
FAST_TOL = 1e-3
#: Frame rate the optimisation runs at [Hz]; the result is resampled back to the input's rate.
OPT_FPS = 30.0
SCHEDULES = {
    "fast": dict(iterations=FAST_ITERATIONS, lr=FAST_LR, tol=FAST_TOL),
    "full": dict(iterations=PHUMA_ITERATIONS, lr=PHUMA_LR, tol=0.0),
}


@register("phuma")
class PhumaRetargeter(Retargeter):
    """PHUMA-style whole-sequence retargeter.

    Args:
        schedule: "fast" (default) or "full" (PHUMA's 3000 Adam iterations at lr 0.005).
        iterations, lr, tol: override the schedule's Adam iterations, learning rate and
            relative early-stopping tolerance (0 = never stop early).
        weights: loss weights, a :class:`LossWeights` or a dict of its fields (PHUMA's values
            by default).
        window, overlap: window length and overlap [frames at ``opt_fps``].
        max_batch_frames: frames optimised at once (bounds memory).
        opt_fps: frame rate of the optimisation (None: the input's).
        init: "analytic" (warm start from the human's joint rotations) or "zero" (zero pose).
        filter: apply PHUMA's Butterworth low-pass before the final clip.
        reground: after the optimisation, shift the root height by one constant so the clip's
            lowest foot point touches the floor (as GMR grounds its clips; a per-frame shift
            made walking clips skate and penetrate). Not in PHUMA:
            with a short schedule Adam leaves the root a few cm high (the keypoint L1 pulls
            up at a constant rate, the squared height term only weakly near z = 0; 3 cm on the
            standing suite clips after 100 iterations).
        contact_height_margin, contact_speed: foot-contact thresholds (:mod:`.contacts`).
        flat_feet: pitch each human foot bone so the human's flat stance foot (measured on the
            clip) maps to a flat G1 sole (:func:`.adaptation.flat_foot_pitch`; not in PHUMA).
            Off by default: SMPL's rest ankle -> ball slope already equals the G1's (21.8 deg
            on the suite and both AMASS examples), the contact height term keeps stance soles
            flat without it (02_01: median stance pitch -0.1 deg off, -0.9 deg on), and on
            the AMASS examples it doubled foot skating (0.45 -> 0.93 m/s on 02_01).
        rest_alignment: turn each human bone so the human's rest pose matches the G1's
            (:func:`.adaptation.rest_align`; not in PHUMA, whose SMPL shape fit does this).
        range_fraction: fraction of each joint's range kept by the limit hinge and the final
            clip (PHUMA: 0.98).
        limit_margin: extra margin [rad] inside that range, at each end (default 0, PHUMA's;
            GMR-style 0.06 keeps joints out of benchmark.metrics' 0.05 rad near-limit band).
        device: torch device ("cpu", "cuda"); dtype: "float32" or "float64".
        seed: seeds torch (the optimisation itself is deterministic on CPU).
        num_threads: torch intra-op threads (default 1, see optimize.DEFAULT_THREADS).
        max_step: largest joint change per frame [rad] (None: off). Not in PHUMA: the warm start
            and the final output (at the output frame rate, before the final range clip) are
            rate-limited to ``min(max_step, G1 velocity limit / fps)`` per joint
            (:func:`.filters.limit_steps`). The analytic warm start flips between Euler
            branches near the shoulders' gimbal lock (roll near +-90 deg, arms raised
            sideways) and the fast schedule's Adam (at most 100 steps of ~lr) cannot travel
            the 1-2 rad such a flip leaves; PHUMA's velocity hinge only starts above the
            motor limit (20-37 rad/s, 0.7-1.2 rad per frame at 30 fps), above the 0.5 rad
            joint-jump threshold, and the low-pass cannot remove a step.
    """

    def __init__(
        self,
        schedule: str = "fast",
        iterations: int | None = None,
        lr: float | None = None,
        tol: float | None = None,
        weights: LossWeights | dict[str, float] | None = None,
        window: int = 240,
        overlap: int = 30,
        max_batch_frames: int = 8192,
        opt_fps: float | None = OPT_FPS,
        init: str = "analytic",
        filter: bool = True,
        reground: bool = True,
        contact_height_margin: float = CONTACT_HEIGHT_MARGIN,
        contact_speed: float = CONTACT_SPEED,
        flat_feet: bool = False,
        rest_alignment: bool = False,
        range_fraction: float = RANGE_FRACTION,
        limit_margin: float = 0.0,
        device: str = "cpu",
        dtype: str = "float32",
        seed: int = 0,
        num_threads: int | None = None,
        max_step: float | None = filters.MAX_STEP_RAD,
    ) -> None:
        if schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {schedule!r}; valid: {', '.join(SCHEDULES)}")
        if init not in ("analytic", "zero"):
            raise ValueError(f"init must be 'analytic' or 'zero', got {init!r}")
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        range_98(fraction=range_fraction, margin=limit_margin)  # validates
        sched = dict(SCHEDULES[schedule])
        for key, val in (("iterations", iterations), ("lr", lr), ("tol", tol)):
            if val is not None:
                sched[key] = val
        if isinstance(weights, dict):
            weights = LossWeights(**weights)
        if window < 3 or not 0 <= overlap < window:
            raise ValueError(f"need window >= 3 and 0 <= overlap < window, got {window}, {overlap}")
        self.schedule, self.init, self.filter, self.reground = schedule, init, filter, reground
        self.opt_fps = opt_fps
        self.contact_height_margin, self.contact_speed = contact_height_margin, contact_speed
        self.config = OptimConfig(
            iterations=int(sched["iterations"]),
            lr=float(sched["lr"]),
            tol=float(sched["tol"]),
            weights=weights or LossWeights(),
            window=window,
            overlap=overlap,
            max_batch_frames=max_batch_frames,
            device=device,
            dtype=getattr(torch, dtype),
            seed=seed,
            num_threads=num_threads,
            range_fraction=range_fraction,
            limit_margin=limit_margin,
        )
        self.flat_feet, self.rest_alignment = flat_feet, rest_alignment
        if max_step is not None and not max_step > 0:
            raise ValueError(f"max_step must be > 0 or None, got {max_step!r}")
        self.max_step = max_step
        self.last_info: dict[str, Any] = {}

    def options(self) -> dict[str, Any]:
        c = self.config
        return {
            "schedule": self.schedule, "iterations": c.iterations, "lr": c.lr, "tol": c.tol,
            "weights": c.weights.as_dict(), "window": c.window, "overlap": c.overlap,
            "opt_fps": self.opt_fps, "init": self.init, "filter": self.filter,
            "reground": self.reground,
            "contact_height_margin": self.contact_height_margin,
            "contact_speed": self.contact_speed, "flat_feet": self.flat_feet,
            "rest_alignment": self.rest_alignment,
            "range_fraction": c.range_fraction, "limit_margin": c.limit_margin, "device": c.device,
            "dtype": str(c.dtype).removeprefix("torch."), "seed": c.seed,
            "max_step": self.max_step,
        }  # fmt: skip

    def retarget(self, human: HumanMotion) -> RobotMotion:
        if not human.is_canonical:
            raise MotionError(
                f"phuma needs SMPL's 24 canonical joints, got {len(human.joint_names)}",
                human.source,
            )
        work = human.resample(self.opt_fps) if self.opt_fps else human
        fps = work.fps
        contacts = detect_foot_contacts(work, self.contact_height_margin, self.contact_speed)
        adaptation = adapt(
            work, contacts, flat_feet=self.flat_feet, rest_alignment=self.rest_alignment
        )
        if self.init == "analytic":
            q0 = initial_joint_pos(work)
        else:
            q0 = np.zeros((work.n_frames, spec.NUM_JOINTS))
        q0 = self._limit_steps(q0, fps)
        root0 = ground_contacts(initial_root(adaptation), adaptation.root_quat, q0, contacts)
        res = optimize_windows(adaptation, contacts, q0, root0, fps, self.config)
        root_pos, root_quat, joint_pos = res.root_pos, adaptation.root_quat, res.joint_pos
        if self.reground:
            root_pos = ground_contacts(root_pos, root_quat, joint_pos, contacts, per_frame=False)
        if self.filter:
            root_pos, root_quat, joint_pos = filters.filter_motion(
                root_pos, root_quat, joint_pos, fps
            )
        limits = range_98(fraction=self.config.range_fraction, margin=self.config.limit_margin)
        joint_pos = filters.clip_to_range(joint_pos, limits)
        self.last_info = {
            "iterations": res.iterations,
            "final_loss": res.final_loss,
            "scale": (adaptation.group_scale * res.scale_multipliers).tolist(),
            "contact_fraction": float(contacts.mean()),
            "foot_pitch_correction": adaptation.foot_pitch_correction.tolist(),
        }
        robot = RobotMotion(
            fps,
            root_pos,
            rot.normalize(root_quat),
            joint_pos,
            source=human.source,
            metadata={"retargeter": "phuma", "options": self.options(), **self.last_info},
        )
        if robot.fps != human.fps:
            robot = robot.resample(human.fps)
        if self.max_step is not None:  # at the output rate; the range clip keeps steps bounded
            robot = robot.replace(
                joint_pos=filters.clip_to_range(
                    self._limit_steps(robot.joint_pos, robot.fps), limits
                )
            )
        return robot

    def _limit_steps(self, joint_pos: np.ndarray, fps: float) -> np.ndarray:
        """``joint_pos`` (T, 29) rate-limited per :attr:`max_step` at ``fps`` (see class doc)."""
        if self.max_step is None:
            return joint_pos
        return filters.limit_steps(joint_pos, np.minimum(self.max_step, VELOCITY_LIMIT / fps))


__all__ = ["LossWeights", "PhumaRetargeter"]
