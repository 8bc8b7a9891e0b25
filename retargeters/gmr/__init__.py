"""The published GMR, registered as ``"gmr"``: see :mod:`retargeters.gmr.retargeter`.

Modules: :mod:`.tables` (mapping tables, JSON data in ``tables/``), :mod:`.bvh` (GMR's LAFAN1
BVH loader), :mod:`.scaling` (height, per-body scaling and offsets), :mod:`.model` (GMR's joint
ranges on the reference G1), :mod:`.ik` (the two-stage mink IK, shared with ``gmr-safe``).
"""

from retargeters.gmr.retargeter import GMRRetargeter
from retargeters.gmr.tables import MappingTable, available_tables, load_table

__all__ = ["GMRRetargeter", "MappingTable", "available_tables", "load_table"]
