"""NMR, the neural motion retargeter (NMR paper section III-C/D), registered as ``nmr`` (with
this project's inference clean-up) and ``nmr-release`` (the release's inference only).

Modules: :mod:`.features` (140/217 per-frame features), :mod:`.mirror` (left-right
augmentation), :mod:`.model` (network and presets), :mod:`.data` (pairs, batches,
normalisation), :mod:`.train` (two-stage training), :mod:`.checkpoint`, :mod:`.inference`
(windowed, filtered, batched) and :mod:`.retargeter` (the registered class).
"""

from retargeters.nmr.retargeter import NMRReleaseRetargeter, NMRRetargeter

__all__ = ["NMRReleaseRetargeter", "NMRRetargeter"]
