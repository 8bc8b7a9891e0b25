"""Learning-rate schedules for stable-baselines3's PPO."""

from __future__ import annotations

#: BeyondMimic's (rsl_rl's) KL-adaptive learning rate: after an update whose mean KL exceeds
#: ``2 * desired_kl`` the rate is divided by ``factor``, below ``desired_kl / 2`` multiplied,
#: within [min_lr, max_lr]. rsl_rl adapts after every minibatch; here after every update.
KL_ADAPTIVE = {"desired_kl": 0.01, "factor": 1.5, "min_lr": 1e-5, "max_lr": 1e-2}


class KLAdaptiveLR:
    """A stable-baselines3 learning-rate schedule that the training curve callback steers by
    the KL of each update (:meth:`update`)."""

    def __init__(self, lr: float, desired_kl: float = KL_ADAPTIVE["desired_kl"]):
        if not desired_kl > 0:
            raise ValueError(f"desired_kl must be > 0, got {desired_kl}")
        self.lr = float(lr)
        self.desired_kl = float(desired_kl)

    def __call__(self, progress_remaining: float) -> float:
        return self.lr

    def update(self, kl: float) -> float:
        """The new rate after an update whose mean approximate KL was ``kl``."""
        k = KL_ADAPTIVE
        if kl > 2.0 * self.desired_kl:
            self.lr = max(self.lr / k["factor"], k["min_lr"])
        elif 0.0 < kl < 0.5 * self.desired_kl:
            self.lr = min(self.lr * k["factor"], k["max_lr"])
        return self.lr
