"""The ``gmr-safe`` retargeter: GMR's two-stage IK with its limits enforced and safety additions.

Not the published GMR (that is ``gmr``, :mod:`retargeters.gmr`): the same scaling, tables and IK
loop, plus what makes the output safe to track on the reference G1: the velocity limit GMR builds
but never applies is applied, joints stay ``limit_margin`` inside the ranges, limbs keep apart
(mink's collision avoidance with a push-apart pass), the clip is put on the floor by its lowest
collision point, and the first frame starts at the human root. "safe" names exactly these
additions; everything else is GMR's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nmr_gym.g1 import kinematic_model
from nmr_gym.motion import HumanMotion, RobotMotion
from retargeters.base import Retargeter, register
from retargeters.common import (
    canonical_human,
    carried_metadata,
    check_backend_option,
    check_fps_option,
    ground_offset,
)
from retargeters.gmr import ik
from retargeters.gmr.scaling import body_targets, human_height
from retargeters.gmr.tables import load_table, table_for_skeleton


@register("gmr-safe")
class GMRSafeRetargeter(Retargeter):
    """GMR's per-frame two-stage mink IK with enforced limits and self-collision avoidance.

    Options (IK defaults are GMR's values, the safety ones are this method's):
        table: mapping table name (``retargeters/gmr/tables/*.json``); None picks it from
            ``human.metadata["skeleton"]`` (LAFAN1, CMU, Bandai Namco BVH) or ``smpl``.
        human_height: actor height [m]; None: the table's fixed height, else GMR's
            1.66 + 0.1 beta0 from ``metadata["betas"]``, else ``human.height``.
        fps: resample the human motion to this rate [frames/s] before IK; None keeps the
            input rate (the output is always at the IK rate).
        damping: Levenberg-Marquardt damping of the QP (GMR: 0.5).
        solver: QP solver (GMR: ``daqp``; other qpsolvers names need ``backend="mink"``).
        convergence_tol: a stage iterates while its error norm drops by more than this.
        max_extra_iters: at most this many iterations per stage after the first solve.
        max_joint_vel: joint velocity limit [rad/s] between output frames (GMR: 3π); None
            disables it (GMR's behaviour in practice, see ``retargeters.gmr.ik``).
        limit_margin: joints stay this far [rad] inside the G1's ranges (not a GMR option; 0
            is GMR's behaviour; see ``retargeters.gmr.ik.LIMIT_MARGIN``).
        avoid_self_collision: keep the limbs' collision geoms apart (mink
            CollisionAvoidanceLimit; not a GMR feature; see ``retargeters.gmr.ik``).
        ground_align: shift the clip so its lowest collision point touches z = 0.
        backend: ``fast`` (hand-assembled QP, DAQP) or ``mink`` (``mink.solve_ik``); same math.
    """

    def __init__(
        self,
        *,
        table: str | None = None,
        human_height: float | None = None,
        fps: float | None = None,
        damping: float = ik.DAMPING,
        solver: str = ik.SOLVER,
        convergence_tol: float = ik.CONVERGENCE_TOL,
        max_extra_iters: int = ik.MAX_EXTRA_ITERS,
        max_joint_vel: float | None = ik.MAX_JOINT_VEL,
        limit_margin: float = ik.LIMIT_MARGIN,
        avoid_self_collision: bool = True,
        ground_align: bool = True,
        backend: str = "fast",
    ):
        if table is not None:
            load_table(table)  # unknown names fail here, not mid-run
        self.table = table
        self.human_height = human_height
        self.fps = check_fps_option(fps)
        self.damping = float(damping)
        self.solver = solver
        self.convergence_tol = float(convergence_tol)
        self.max_extra_iters = int(max_extra_iters)
        self.max_joint_vel = None if max_joint_vel is None else float(max_joint_vel)
        self.limit_margin = float(limit_margin)
        self.avoid_self_collision = bool(avoid_self_collision)
        self.ground_align = bool(ground_align)
        self.backend = check_backend_option(backend)
        self.last_stats: dict[str, Any] = {}

    def options(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "human_height": self.human_height,
            "fps": self.fps,
            "damping": self.damping,
            "solver": self.solver,
            "convergence_tol": self.convergence_tol,
            "max_extra_iters": self.max_extra_iters,
            "max_joint_vel": self.max_joint_vel,
            "limit_margin": self.limit_margin,
            "avoid_self_collision": self.avoid_self_collision,
            "ground_align": self.ground_align,
            "backend": self.backend,
        }

    def table_name(self, human: HumanMotion) -> str:
        """The table used for ``human``: the option, else by ``metadata["skeleton"]``."""
        if self.table is not None:
            return self.table
        fmt = str(human.metadata.get("format", "")).lower()
        if fmt and "bvh" not in fmt:  # AMASS / npz inputs are SMPL bodies whatever the dataset
            return "smpl"
        return table_for_skeleton(human.metadata.get("skeleton"))

    def retarget(self, human: HumanMotion) -> RobotMotion:
        table = load_table(self.table_name(human))
        human = canonical_human(human, table.human_joints, self.fps, "gmr")
        height = human_height(human, table, self.human_height)
        pos, quat = body_targets(human, table, height)  # (T, B, 3), (T, B, 4)
        model = kinematic_model()
        solver = ik.GMRSolver(
            model,
            table,
            human.fps,
            damping=self.damping,
            solver=self.solver,
            convergence_tol=self.convergence_tol,
            max_extra_iters=self.max_extra_iters,
            max_joint_vel=self.max_joint_vel,
            limit_margin=self.limit_margin,
            avoid_self_collision=self.avoid_self_collision,
            backend=self.backend,
        )
        root = table.root_index()
        qpos0 = np.concatenate([pos[0, root], quat[0, root], ik.initial_joint_pos()])
        qpos = solver.solve_clip(pos, quat, qpos0)  # (T, 36)
        shift = ground_offset(qpos) if self.ground_align else 0.0
        qpos[:, 2] += shift
        self.last_stats = {"ik_solves": solver.n_solves, "frames": len(qpos)}
        metadata = carried_metadata(
            human,
            retargeter=self.name,
            options=self.options(),
            table=table.name,
            human_height=height,
            ground_shift_m=shift,
            ik_solves=solver.n_solves,
        )
        return RobotMotion.from_qpos(qpos, human.fps, source=human.source, metadata=metadata)
