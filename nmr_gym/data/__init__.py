"""Data files shipped with nmr-gym (BVH joint maps, ...)."""
