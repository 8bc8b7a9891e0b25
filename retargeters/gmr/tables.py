"""GMR mapping tables: which human joint drives which G1 body, with what weights and offsets.

Tables are JSON data files in ``retargeters/gmr/tables/`` (one per source skeleton). Every loader
in nmr-gym maps its skeleton onto SMPL's 24 canonical joints and joint frames, so the per-skeleton
tables differ only in scale factors and in how the human height is chosen; a table may name a
``base`` table and override ``description``, ``human_height_m`` and ``group_scale``.

Fields (see ``tables/smpl.json``):

- ``bodies``: G1 body name -> ``human`` (canonical joint), ``group`` (key of ``group_scale``),
  ``stage1_weights`` / ``stage2_weights`` ([position, rotation] costs of the mink frame task in
  each IK stage; a body whose two weights are 0 has no task in that stage), ``rot_offset_wxyz``
  (q_target = q_human ⊗ q_off) and ``pos_offset_m`` (added in the rotated target frame).
- ``group_scale``: GMR's per-body scale table (multiplied by ``height / reference_height_m``).
- ``human_height_m``: a fixed actor height (GMR fixes LAFAN1's at 1.75 m) or null.
- ``human_skeleton`` (optional): ``"smpl"`` (default: canonical joints of a ``HumanMotion``) or
  ``"lafan1_bvh"``: the ``human`` names are raw LAFAN1 BVH bones (listed in ``human_bones``)
  read by GMR's own BVH loader (:mod:`retargeters.gmr.bvh`), as GMR's LAFAN1 config does.
- ``initial_joint_pos`` (optional): joint name -> angle [rad] of the first frame's warm start
  (GMR's ``robot_initial_qpos``); joints not named start at 0.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nmr_gym.errors import UnknownNameError
from nmr_gym.g1 import spec
from nmr_gym.skeleton import SMPL_JOINT_NAMES

TABLES_DIR = Path(__file__).parent / "tables"
DEFAULT_TABLE = "smpl"
#: What a table's ``human`` names refer to (module docstring).
HUMAN_SKELETONS: tuple[str, ...] = ("smpl", "lafan1_bvh")

#: Source skeleton (``HumanMotion.metadata["skeleton"]``, lower case) -> table, by substring.
#: Anything else (SMPL / SMPL+H / SMPL-X, AMASS, the built-in suite) uses ``smpl``.
SKELETON_TABLES: tuple[tuple[str, str], ...] = (
    ("lafan", "lafan1"),
    ("bandai", "bandai_namco"),
    ("namco", "bandai_namco"),
    ("cmu", "cmu"),
)


@dataclass(frozen=True)
class BodyMapping:
    robot_body: str
    human_joint: str
    group: str
    scale: float  # table scale of the group (before the height ratio)
    stage1_weights: tuple[float, float]  # (position, rotation) cost
    stage2_weights: tuple[float, float]
    rot_offset_wxyz: np.ndarray  # (4,)
    pos_offset_m: np.ndarray  # (3,), in the target frame


@dataclass(frozen=True)
class MappingTable:
    name: str
    description: str
    bodies: tuple[BodyMapping, ...]
    human_height_m: float | None
    reference_height_m: float
    root_body: str = spec.ROOT_BODY
    human_skeleton: str = "smpl"
    initial_joint_pos: tuple[tuple[str, float], ...] = ()

    @property
    def robot_bodies(self) -> tuple[str, ...]:
        return tuple(b.robot_body for b in self.bodies)

    @property
    def human_joints(self) -> tuple[str, ...]:
        return tuple(b.human_joint for b in self.bodies)

    def root_index(self) -> int:
        return self.robot_bodies.index(self.root_body)


def available_tables() -> list[str]:
    """Names of the tables shipped in ``retargeters/gmr/tables``."""
    return sorted(p.stem for p in TABLES_DIR.glob("*.json"))


def _raw(name: str) -> dict[str, Any]:
    path = TABLES_DIR / f"{name}.json"
    if not path.is_file():
        raise UnknownNameError("GMR mapping table", name, available_tables())
    data = json.loads(path.read_text())
    if "base" in data:
        base = _raw(data["base"])
        base.update({k: v for k, v in data.items() if k != "base"})
        data = base
    return data


@functools.lru_cache(maxsize=16)
def load_table(name: str = DEFAULT_TABLE) -> MappingTable:
    """Load and validate a mapping table by name (``smpl``, ``lafan1``, ``cmu``, ...)."""
    data = _raw(name)
    group_scale = data["group_scale"]
    skeleton = data.get("human_skeleton", "smpl")
    if skeleton not in HUMAN_SKELETONS:
        raise UnknownNameError("GMR table human_skeleton", skeleton, HUMAN_SKELETONS)
    valid = SMPL_JOINT_NAMES if skeleton == "smpl" else tuple(data["human_bones"])
    bodies = []
    for body, e in data["bodies"].items():
        spec.body_index(body)  # raises UnknownNameError for a body the G1 lacks
        if e["human"] not in valid:
            raise UnknownNameError(f"{skeleton} human joint", e["human"], valid)
        if e["group"] not in group_scale:
            raise UnknownNameError("scale group", e["group"], list(group_scale))
        q = np.asarray(e["rot_offset_wxyz"], dtype=float)
        bodies.append(
            BodyMapping(
                robot_body=body,
                human_joint=e["human"],
                group=e["group"],
                scale=float(group_scale[e["group"]]),
                stage1_weights=tuple(float(w) for w in e["stage1_weights"]),
                stage2_weights=tuple(float(w) for w in e["stage2_weights"]),
                rot_offset_wxyz=q / np.linalg.norm(q),
                pos_offset_m=np.asarray(e["pos_offset_m"], dtype=float),
            )
        )
    height = data.get("human_height_m")
    table = MappingTable(
        name=data["name"],
        description=data["description"],
        bodies=tuple(bodies),
        human_height_m=None if height is None else float(height),
        reference_height_m=float(data["reference_height_m"]),
        human_skeleton=skeleton,
        initial_joint_pos=tuple(
            (spec.JOINT_NAMES[spec.joint_index(j)], float(v))
            for j, v in data.get("initial_joint_pos", {}).items()
        ),
    )
    if spec.ROOT_BODY not in table.robot_bodies:
        raise ValueError(f"GMR table {name!r} must map the root body {spec.ROOT_BODY!r}")
    return table


def table_for_skeleton(skeleton: str | None) -> str:
    """The table name for a source skeleton name (``metadata["skeleton"]``)."""
    key = (skeleton or "").lower()
    for needle, table in SKELETON_TABLES:
        if needle in key:
            return table
    return DEFAULT_TABLE
