"""The Unitree G1 29-DoF: names and numbers (:mod:`.spec`) and the MuJoCo model variants."""

from nmr_gym.g1 import spec
from nmr_gym.g1.model import (
    MENAGERIE_ENV_VAR,
    TRACKING_TIMESTEP,
    collision_geom_mask,
    joint_ranges,
    kinematic_model,
    menagerie_dir,
    scene_model,
    tracking_model,
)

__all__ = [
    "MENAGERIE_ENV_VAR",
    "TRACKING_TIMESTEP",
    "collision_geom_mask",
    "joint_ranges",
    "kinematic_model",
    "menagerie_dir",
    "scene_model",
    "spec",
    "tracking_model",
]
