"""PPO training of tracking policies (stable-baselines3), used by ``nmr-bench train-tracker``.

One module per concept: :mod:`.config` (the PPO configuration, one typed dataclass from which
the command-line options and the ``config.json`` record are generated), :mod:`.schedules`
(BeyondMimic's KL-adaptive learning rate), :mod:`.callbacks` (training curve, evaluation,
progress), :mod:`.plotting` (the curve figure).
"""

from benchmark.training.config import PPOConfig
from benchmark.training.schedules import KL_ADAPTIVE, KLAdaptiveLR

__all__ = ["KL_ADAPTIVE", "KLAdaptiveLR", "PPOConfig"]
