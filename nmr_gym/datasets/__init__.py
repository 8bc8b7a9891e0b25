"""Datasets of motions: paired human/robot motion (CEPR output, NMR training input)."""

from nmr_gym.datasets.pairs import (
    MANIFEST_COLUMNS,
    Pair,
    PairDataset,
    PairDatasetWriter,
    is_dataset,
)

__all__ = ["MANIFEST_COLUMNS", "Pair", "PairDataset", "PairDatasetWriter", "is_dataset"]
