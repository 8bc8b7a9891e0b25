"""NMR, the neural motion retargeter (NMR paper section III-C/D), registered as ``nmr``.

Modules: :mod:`.features` (140/217 per-frame features), :mod:`.mirror` (left-right
augmentation), :mod:`.model` (network and presets), :mod:`.data` (pairs, batches,
normalisation), :mod:`.train` (two-stage training), :mod:`.checkpoint`, :mod:`.inference`
(windowed, filtered, batched) and :mod:`.retargeter` (the registered class).
"""

from retargeters.nmr.retargeter import NMRRetargeter

__all__ = ["NMRRetargeter"]
