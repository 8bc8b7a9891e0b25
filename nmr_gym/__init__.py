"""nmr-gym: human-to-humanoid motion retargeting environments and benchmark for the Unitree G1.

Importing ``nmr_gym`` registers the Gymnasium tracking environments (``NMRTrack-G1-v0``, ...).
"""

from importlib.metadata import PackageNotFoundError, version

from nmr_gym import envs as _envs  # noqa: F401  (registers the environments with Gymnasium)
from nmr_gym import g1
from nmr_gym.errors import MotionError, MotionFormatError, NmrGymError, UnknownNameError
from nmr_gym.motion import HumanMotion, RobotMotion

try:
    __version__ = version("nmr-gym")
except PackageNotFoundError:  # a source tree on sys.path without an install
    __version__ = "0+unknown"

__all__ = [
    "HumanMotion",
    "MotionError",
    "MotionFormatError",
    "NmrGymError",
    "RobotMotion",
    "UnknownNameError",
    "g1",
]
