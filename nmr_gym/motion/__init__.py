"""Motion types: :class:`RobotMotion` (G1) and :class:`HumanMotion` (canonical human)."""

from nmr_gym.motion.human import HumanMotion
from nmr_gym.motion.robot import RobotMotion, forward_kinematics

__all__ = ["HumanMotion", "RobotMotion", "forward_kinematics"]
