"""The ``gmr`` retargeter: the published GMR (General Motion Retargeting) as its code behaves.

Every behaviour below is a fact of GMR's public code (MIT), re-implemented on the reference G1:

- Input. LAFAN1 BVH: GMR's own loader, raw bone frames plus FootMod (:mod:`.bvh`), the LAFAN1
  table ``bvh_lafan1``, actor height fixed at 1.75 m. Other inputs (AMASS / SMPL, the built-in
  suite, other BVH skeletons) use GMR's SMPL-X table on nmr-gym's canonical SMPL joints
  (``smpl``; GMR itself has no config for Bandai Namco or CMU BVH). Motions are resampled to
  GMR's 30 fps first (its SMPL-X loader's rate; LAFAN1 is recorded at 30 fps).
- Scaling and offsets: per-body scale factors times height / 1.8 about the root, then the
  table's rotation and position offsets (:mod:`.scaling`).
- IK (:class:`.ik.GMRSolver`): one mink frame task per mapped body with
  ``lm_damping = 1``, ``solve_ik(..., "daqp", damping=0.5)``; stage 1 then stage 2, each
  stepping while the unweighted error norm drops by more than 0.001, at most 10 extra steps;
  each frame warm-started from the previous solution.
- Limits: only mink's default ``ConfigurationLimit`` (gain 0.95, no margin). GMR builds a
  3π rad/s ``VelocityLimit`` but passes its limit list in the position of ``solve_ik``'s
  ``safety_break`` argument, so the velocity limit is never applied; it is not applied here.
- Joint ranges: GMR's own G1 file tightens 15 ranges; ``joint_ranges="gmr"`` (default) applies
  them to the reference G1 (:mod:`.model`), ``"reference"`` keeps the reference ranges.
- First frame: from the model's default pose (pelvis at its model height, identity
  orientation) with the table's ``initial_joint_pos`` (GMR's ``robot_initial_qpos``: none for
  LAFAN1, arms-out/knees-bent for SMPL-X).
- Ground: GMR's BVH scripts write the IK output as is (``ground="none"``); its SMPL-X batch
  script shifts the clip so the lowest body origin over the clip is at z = 0
  (``"lowest_body"``). ``"auto"`` picks the one GMR uses for the input.

Validated against GMR's own outputs on nine LAFAN1 clips (``perf/gmr_vs_original.py``,
``tests/test_gmr_original.py``). Improvements (velocity limit applied, margins, collision
avoidance, floor by the collision geometry) are a different method: ``gmr-safe``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mujoco
import numpy as np

from nmr_gym import rotations as rot
from nmr_gym.errors import MotionError, UnknownNameError
from nmr_gym.motion import HumanMotion, RobotMotion, resample_times
from retargeters.base import Retargeter, register
from retargeters.common import (
    canonical_human,
    carried_metadata,
    check_backend_option,
    check_fps_option,
    ground_offset,
)
from retargeters.gmr import ik
from retargeters.gmr.bvh import lafan1_bone_poses
from retargeters.gmr.model import JOINT_RANGE_SETS, ik_model
from retargeters.gmr.scaling import body_targets, human_height, pose_targets
from retargeters.gmr.tables import MappingTable, load_table, table_for_skeleton

#: GMR's motion rate [frames/s] (its SMPL-X loader resamples to it; LAFAN1 is recorded at it).
GMR_FPS = 30.0
#: GMR's per-task Levenberg-Marquardt damping (``mink.FrameTask(..., lm_damping=1)``).
LM_DAMPING = 1.0
#: Table GMR uses for LAFAN1 BVH files (raw bones).
LAFAN1_BVH_TABLE = "bvh_lafan1"
#: ``ground`` option values: ``auto`` (GMR's choice for the input), ``none`` (as solved),
#: ``lowest_body`` (lowest body origin over the clip at z = 0, GMR's SMPL-X batch script),
#: ``lowest_point`` (lowest collision point at z = 0, not a GMR option).
GROUND_MODES: tuple[str, ...] = ("auto", "none", "lowest_body", "lowest_point")


def _resample_poses(
    pos: np.ndarray, quat: np.ndarray, fps: float, new_fps: float
) -> tuple[np.ndarray, np.ndarray]:
    """(T, N, 3) positions (linear) and (T, N, 4) orientations (slerp) at ``new_fps``."""
    if new_fps == fps:
        return pos, quat
    i0, w = resample_times(pos.shape[0], fps, new_fps)
    i1 = np.minimum(i0 + 1, pos.shape[0] - 1)
    wp = w[:, None, None]
    return pos[i0] + (pos[i1] - pos[i0]) * wp, rot.slerp(quat[i0], quat[i1], wp)


#: Bodies of GMR's G1 file that the reference G1 lacks and that can be the lowest body origin:
#: parent body -> origin in the parent's frame [m] (``*_toe_link``, ``*_rubber_hand``).
GMR_EXTRA_BODY_ORIGINS: dict[str, tuple[float, float, float]] = {
    "left_ankle_roll_link": (0.1, 0.0, -0.02),
    "right_ankle_roll_link": (0.1, 0.0, -0.02),
    "left_wrist_yaw_link": (0.0415, 0.003, 0.0),
    "right_wrist_yaw_link": (0.0415, -0.003, 0.0),
}


def lowest_body_offset(model: mujoco.MjModel, qpos: np.ndarray) -> float:
    """The vertical shift [m] that puts the lowest body origin over the clip at z = 0.

    Body origins of the reference G1 plus those of :data:`GMR_EXTRA_BODY_ORIGINS`, so that the
    lowest point is the one GMR's batch script finds on its own G1 file (usually a toe).
    """
    data = mujoco.MjData(model)
    parents = np.array([model.body(b).id for b in GMR_EXTRA_BODY_ORIGINS])
    local = np.array(list(GMR_EXTRA_BODY_ORIGINS.values()))  # (E, 3)
    low = np.inf
    for q in qpos:
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        extra_z = data.xpos[parents, 2] + np.einsum(
            "ej,ej->e", data.xmat[parents].reshape(-1, 3, 3)[:, 2, :], local
        )
        low = min(low, float(data.xpos[1:, 2].min()), float(extra_z.min()))
    return -low


@register("gmr")
class GMRRetargeter(Retargeter):
    """The published GMR: per-frame two-stage mink IK, limits as GMR's code applies them.

    Options (defaults are GMR's behaviour):
        table: mapping table (``retargeters/gmr/tables/*.json``); None picks ``bvh_lafan1``
            for LAFAN1 BVH files (re-read raw, as GMR does), else by skeleton or ``smpl``.
        human_height: actor height [m]; None: the table's fixed height, else GMR's
            1.66 + 0.1 beta0 from ``metadata["betas"]``, else ``human.height``.
        fps: resample to this rate [frames/s] before IK (GMR: 30); None keeps the input's.
        damping: global Levenberg-Marquardt damping of the QP (GMR: 0.5).
        lm_damping: per-task LM damping scale of the frame tasks (GMR: 1).
        solver: QP solver (GMR: ``daqp``; others need ``backend="mink"``).
        convergence_tol: a stage steps while its error norm drops by more than this (0.001).
        max_extra_iters: at most this many steps per stage after the first (10).
        joint_ranges: ``gmr`` (GMR's tightened ranges on the reference G1) or ``reference``.
        ground: one of :data:`GROUND_MODES`.
        backend: ``fast`` (hand-assembled QP, DAQP) or ``mink`` (``mink.solve_ik``); same QPs.
    """

    def __init__(
        self,
        *,
        table: str | None = None,
        human_height: float | None = None,
        fps: float | None = GMR_FPS,
        damping: float = ik.DAMPING,
        lm_damping: float = LM_DAMPING,
        solver: str = ik.SOLVER,
        convergence_tol: float = ik.CONVERGENCE_TOL,
        max_extra_iters: int = ik.MAX_EXTRA_ITERS,
        joint_ranges: str = "gmr",
        ground: str = "auto",
        backend: str = "fast",
    ):
        if table is not None:
            load_table(table)  # unknown names fail here, not mid-run
        if joint_ranges not in JOINT_RANGE_SETS:
            raise UnknownNameError("gmr joint_ranges", joint_ranges, JOINT_RANGE_SETS)
        if ground not in GROUND_MODES:
            raise UnknownNameError("gmr ground mode", ground, GROUND_MODES)
        self.table = table
        self.human_height = human_height
        self.fps = check_fps_option(fps)
        self.damping = float(damping)
        self.lm_damping = float(lm_damping)
        self.solver = solver
        self.convergence_tol = float(convergence_tol)
        self.max_extra_iters = int(max_extra_iters)
        self.joint_ranges = joint_ranges
        self.ground = ground
        self.backend = check_backend_option(backend)
        self.last_stats: dict[str, Any] = {}

    def options(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "human_height": self.human_height,
            "fps": self.fps,
            "damping": self.damping,
            "lm_damping": self.lm_damping,
            "solver": self.solver,
            "convergence_tol": self.convergence_tol,
            "max_extra_iters": self.max_extra_iters,
            "joint_ranges": self.joint_ranges,
            "ground": self.ground,
            "backend": self.backend,
        }

    def table_name(self, human: HumanMotion) -> str:
        """The table used for ``human``: the option; ``bvh_lafan1`` for a LAFAN1 BVH file that
        can be re-read; else by ``metadata["skeleton"]`` (non-BVH inputs: ``smpl``)."""
        if self.table is not None:
            return self.table
        fmt = str(human.metadata.get("format", "")).lower()
        if fmt and "bvh" not in fmt:  # AMASS / npz inputs are SMPL bodies whatever the dataset
            return "smpl"
        skeleton = table_for_skeleton(human.metadata.get("skeleton"))
        if skeleton == "lafan1" and fmt == "bvh" and human.source and Path(human.source).is_file():
            return LAFAN1_BVH_TABLE
        return skeleton

    def _targets(self, human: HumanMotion, table: MappingTable) -> tuple:
        """(pos (T, B, 3), quat (T, B, 4), fps, height) of the IK targets."""
        height = human_height(human, table, self.human_height)
        if table.human_skeleton == "lafan1_bvh":
            if not human.source or not Path(human.source).is_file():
                raise MotionError(
                    f"gmr's table {table.name!r} re-reads the LAFAN1 BVH file, which is not "
                    "available; pass table='lafan1' to use the canonical joints",
                    human.source,
                )
            names, pos, quat, fps = lafan1_bone_poses(human.source)
            if pos.shape[0] != human.n_frames or fps != human.fps:
                raise MotionError(
                    f"the BVH file holds {pos.shape[0]} frames at {fps} fps, the motion "
                    f"{human.n_frames} at {human.fps} (trimmed or resampled?); gmr's "
                    f"{table.name!r} table needs the whole file",
                    human.source,
                )
            idx = [names.index(j) for j in table.human_joints]
            pos, quat = pos[:, idx], quat[:, idx]
            if self.fps is not None:
                pos, quat = _resample_poses(pos, quat, fps, self.fps)
                fps = self.fps
            return (*pose_targets(pos, quat, table, height), fps, height)
        human = canonical_human(human, table.human_joints, self.fps, "gmr")
        return (*body_targets(human, table, height), human.fps, height)

    def retarget(self, human: HumanMotion) -> RobotMotion:
        table = load_table(self.table_name(human))
        pos, quat, fps, height = self._targets(human, table)
        model = ik_model(self.joint_ranges)
        solver = ik.GMRSolver(
            model,
            table,
            fps,
            damping=self.damping,
            solver=self.solver,
            convergence_tol=self.convergence_tol,
            max_extra_iters=self.max_extra_iters,
            max_joint_vel=None,  # GMR's velocity limit never reaches the solver
            limit_margin=0.0,
            avoid_self_collision=False,
            backend=self.backend,
            lm_damping=self.lm_damping,
        )
        qpos0 = model.qpos0.copy()  # (36,): the model's default pose
        for name, value in table.initial_joint_pos:
            qpos0[7 + ik.spec.joint_index(name)] = value
        qpos = solver.solve_clip(pos, quat, qpos0)  # (T, 36)
        ground = self.ground
        if ground == "auto":
            ground = "none" if table.human_skeleton == "lafan1_bvh" else "lowest_body"
        shift = 0.0
        if ground == "lowest_body":
            shift = lowest_body_offset(model, qpos)
        elif ground == "lowest_point":
            shift = ground_offset(qpos)
        qpos[:, 2] += shift
        self.last_stats = {"ik_solves": solver.n_solves, "frames": len(qpos)}
        metadata = carried_metadata(
            human,
            retargeter=self.name,
            options=self.options(),
            table=table.name,
            human_height=height,
            ground=ground,
            ground_shift_m=shift,
            ik_solves=solver.n_solves,
        )
        return RobotMotion.from_qpos(qpos, fps, source=human.source, metadata=metadata)
