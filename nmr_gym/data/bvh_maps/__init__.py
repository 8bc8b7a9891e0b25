"""Joint maps of known BVH skeletons onto SMPL's 24 canonical joints (JSON)."""
