"""BeyondMimic's adaptive start-frame sampling, over the bins of every clip of a motion library.

Each clip of T frames (at the control rate) has ``T // frames_per_bin + 1`` bins (the env
derives ``frames_per_bin`` from ``SamplingConfig.bin_duration_s``, BeyondMimic's 1 s). Each bin
keeps a failure score, an exponential moving average (per control step, rate ``alpha``) of the
early terminations of episodes that started in it; a bin is drawn with probability
proportional to ``score + uniform_ratio / n_bins`` and the start frame is uniform inside it.
"""

from __future__ import annotations

import numpy as np

FAILURE_EMA_ALPHA = 0.001
UNIFORM_RATIO = 0.1


class AdaptiveSampler:
    """Start-frame sampler; ``sample`` -> (clip, frame, bin), ``record`` after each episode."""

    def __init__(
        self,
        clip_lengths: np.ndarray,
        frames_per_bin: int,
        alpha: float = FAILURE_EMA_ALPHA,
        uniform_ratio: float = UNIFORM_RATIO,
    ):
        self.clip_lengths = np.asarray(clip_lengths, dtype=np.int64)
        self.frames_per_bin = int(frames_per_bin)
        self.alpha = float(alpha)
        self.uniform_ratio = float(uniform_ratio)
        bins = self.clip_lengths // self.frames_per_bin + 1
        self.bin_clip = np.repeat(np.arange(len(bins)), bins)  # clip of each bin
        self.bin_index = np.concatenate([np.arange(b) for b in bins])  # bin within its clip
        self.score = np.zeros(int(bins.sum()))

    @property
    def n_bins(self) -> int:
        return self.score.size

    def probabilities(self) -> np.ndarray:
        p = self.score + self.uniform_ratio / self.n_bins
        return p / p.sum()

    def sample(self, rng: np.random.Generator) -> tuple[int, int, int]:
        """(clip, start frame, global bin); the start leaves at least one step in the clip."""
        # Inverse-CDF draw: rng.choice(n, p=...) validates p on every call (~50 us per reset).
        cdf = np.cumsum(self.score)
        cdf += np.arange(1, self.n_bins + 1) * (self.uniform_ratio / self.n_bins)
        b = min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), self.n_bins - 1)
        clip = int(self.bin_clip[b])
        length = int(self.clip_lengths[clip])
        lo = int(self.bin_index[b]) * self.frames_per_bin
        hi = min(lo + self.frames_per_bin, length - 1)
        start = lo + rng.random() * max(hi - lo, 0)
        return clip, min(int(start), length - 2), b

    def record(self, start_bin: int, steps: int, failed: bool) -> None:
        """Update the scores for an episode of ``steps`` control steps started in ``start_bin``
        (one env owning the sampler).

        Equivalent to the per-step EMA ``score <- (1 - alpha) score + alpha * failures``, applied
        once per episode (failures only happen at its end).
        """
        self.decay(steps)
        if failed:
            self.fail(start_bin)

    def decay(self, steps: int = 1) -> None:
        """The EMA's decay over ``steps`` control steps (a batch of envs sharing the sampler
        decays it once per batch step, as one GPU env batch does)."""
        self.score *= (1.0 - self.alpha) ** max(int(steps), 0)

    def fail(self, start_bin: int) -> None:
        """One early termination of an episode started in ``start_bin``."""
        self.score[start_bin] += self.alpha
