"""``gmr-safe``: GMR's IK with its limits enforced (see :mod:`retargeters.gmr_safe.retargeter`).

It shares GMR's tables, scaling and solver (:mod:`retargeters.gmr`) and differs only in the
safety options it turns on.
"""

from retargeters.gmr_safe.retargeter import GMRSafeRetargeter

__all__ = ["GMRSafeRetargeter"]
