"""GMR-style retargeter (registered as ``"gmr"``): see :mod:`retargeters.gmr.retargeter`.

Modules: :mod:`.tables` (mapping tables, JSON data in ``tables/``), :mod:`.scaling` (height,
per-body scaling and offsets), :mod:`.ik` (the two-stage mink IK), :mod:`.ground` (floor
alignment).
"""

from retargeters.gmr.retargeter import GMRRetargeter
from retargeters.gmr.tables import MappingTable, available_tables, load_table

__all__ = ["GMRRetargeter", "MappingTable", "available_tables", "load_table"]
