"""Motion types: :class:`RobotMotion` (G1) and :class:`HumanMotion` (canonical human)."""

from nmr_gym.motion._validate import check_fps, resample_times
from nmr_gym.motion.human import HumanMotion
from nmr_gym.motion.robot import RobotMotion, forward_kinematics

__all__ = ["HumanMotion", "RobotMotion", "check_fps", "forward_kinematics", "resample_times"]
