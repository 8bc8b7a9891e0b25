"""nmr-gym: human-to-humanoid motion retargeting environments and benchmark for the Unitree G1.

Importing ``nmr_gym`` registers the Gymnasium tracking environments (``NMRTrack-G1-v0``, ...).
"""

from nmr_gym import g1
from nmr_gym.errors import MotionError, MotionFormatError, NmrGymError, UnknownNameError
from nmr_gym.motion import HumanMotion, RobotMotion

__version__ = "0.1.0"

__all__ = [
    "HumanMotion",
    "MotionError",
    "MotionFormatError",
    "NmrGymError",
    "RobotMotion",
    "UnknownNameError",
    "g1",
]

import importlib.util as _ilu

if _ilu.find_spec("nmr_gym.envs") is not None:  # the environments register themselves
    from nmr_gym import envs as _envs  # noqa: F401
