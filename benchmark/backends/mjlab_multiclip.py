"""mjlab's motion command over several clips: one policy trained on many references at once.

Runs inside mjlab's Python (imports mjlab). mjlab 1.6's ``MotionCommand`` tracks one motion
file: its ``MotionLoader`` reads one clip, time steps run to the clip's end and then wrap to a
new start, and its adaptive sampler has ``T // (1 / step_dt) + 1`` bins over that one clip. A
CEPR expert trains on every reference of its cluster (NMR paper III-B), as the project's CPU env
does with a motion library. :class:`MultiClipMotionCommand` gives mjlab that, with the least
change to mjlab's own behaviour:

- the references are one motion file, concatenated in time (``mjlab_backend.export_references``
  writes it, with ``clip_lengths``); mjlab's loader reads it unchanged and every per-frame
  lookup of mjlab's command stays an index into it;
- a robot never runs from one clip into the next: when its next frame would leave its clip, it
  is resampled, as mjlab resamples at the end of its one clip;
- adaptive sampling pools the bins of every clip in one distribution, as the project's
  ``nmr_gym.envs.sampling.AdaptiveSampler`` does over a motion library: clip ``c`` of ``T_c``
  frames has ``T_c // (1 / step_dt) + 1`` bins (mjlab's count for one clip); a failure counts
  in the bin where the episode ended (mjlab's and BeyondMimic's rule; the project's CPU sampler
  counts the bin the episode started in); a bin is drawn with probability proportional to its
  failure EMA plus ``adaptive_uniform_ratio / n_bins`` (after mjlab's kernel smoothing, which
  is off at its G1 default ``adaptive_kernel_size=1``), and the start frame inside it as mjlab
  does in its clip. With one clip every rule is mjlab's own;
- ``uniform`` sampling draws a frame uniformly over all clips' frames; ``start`` (mjlab's play
  mode) is refused: multi-clip runs are for training, evaluation runs in the project's CPU env.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import torch
from mjlab.tasks.tracking.mdp.commands import MotionCommand, MotionCommandCfg
from mjlab.utils.lab_api.math import sample_uniform

#: Key of the motion npz holding the clips' lengths [frames] (absent: one clip).
CLIP_LENGTHS_KEY = "clip_lengths"


class MultiClipMotionCommand(MotionCommand):
    """mjlab's motion command over the clips of a concatenated motion file (module docstring)."""

    cfg: MultiClipMotionCommandCfg

    def __init__(self, cfg: MultiClipMotionCommandCfg, env):
        if cfg.sampling_mode == "start":
            raise ValueError(
                "a multi-clip motion command trains (adaptive or uniform sampling); evaluate "
                "each clip in the project's CPU env instead of mjlab's play mode"
            )
        super().__init__(cfg, env)
        with np.load(cfg.motion_file) as data:
            lengths = np.asarray(data[CLIP_LENGTHS_KEY], dtype=np.int64).reshape(-1)
        if lengths.sum() != self.motion.time_step_total or np.any(lengths < 2):
            raise ValueError(
                f"{cfg.motion_file}: clip lengths {lengths.tolist()} must be >= 2 frames each "
                f"and add up to its {self.motion.time_step_total} frames"
            )
        dev = self.device
        self.clip_lengths = torch.as_tensor(lengths, device=dev)  # (C,)
        self.clip_starts = torch.as_tensor(np.cumsum(lengths) - lengths, device=dev)  # (C,)
        frames_per_bin = 1.0 / env.step_dt  # mjlab's bin width: one second of frames
        bins = (lengths // frames_per_bin).astype(np.int64) + 1  # (C,) mjlab's count per clip
        self.clip_bins = torch.as_tensor(bins, device=dev)
        self.clip_bin_offset = torch.as_tensor(np.cumsum(bins) - bins, device=dev)
        self.bin_clip = torch.as_tensor(np.repeat(np.arange(len(bins)), bins), device=dev)
        self.bin_local = torch.as_tensor(np.concatenate([np.arange(b) for b in bins]), device=dev)
        self.bin_count = int(bins.sum())
        self.bin_failed_count = torch.zeros(self.bin_count, dtype=torch.float, device=dev)
        self._current_bin_failed = torch.zeros(self.bin_count, dtype=torch.float, device=dev)

    # ------------------------------------------------------------------------ clips
    def clip_of(self, time_steps: torch.Tensor) -> torch.Tensor:
        """Clip index of global frames ``time_steps``."""
        return torch.searchsorted(self.clip_starts, time_steps, right=True) - 1

    def _global_bin(self, time_steps: torch.Tensor) -> torch.Tensor:
        clip = self.clip_of(time_steps)
        local = time_steps - self.clip_starts[clip]
        n_bins = self.clip_bins[clip]
        b = torch.clamp((local * n_bins) // self.clip_lengths[clip], max=n_bins - 1)
        return self.clip_bin_offset[clip] + torch.clamp(b, min=0)

    # ------------------------------------------------------------------------ sampling
    def _adaptive_sampling(self, env_ids: torch.Tensor):
        failed = self._env.termination_manager.terminated[env_ids]
        if torch.any(failed):
            where = self._global_bin(self.time_steps[env_ids][failed])
            self._current_bin_failed[:] = torch.bincount(where, minlength=self.bin_count)
        p = self.bin_failed_count + self.cfg.adaptive_uniform_ratio / float(self.bin_count)
        k = self.cfg.adaptive_kernel_size
        p = torch.nn.functional.pad(p.view(1, 1, -1), (0, k - 1), mode="replicate")
        p = torch.nn.functional.conv1d(p, self.kernel.view(1, 1, -1)).view(-1)
        p = p / p.sum()
        bins = torch.multinomial(p, len(env_ids), replacement=True)
        clip = self.bin_clip[bins]
        u = sample_uniform(0.0, 1.0, (len(env_ids),), device=self.device)
        frac = (self.bin_local[bins] + u) / self.clip_bins[clip]
        local = (frac * (self.clip_lengths[clip] - 1)).long()
        self.time_steps[env_ids] = self.clip_starts[clip] + local
        entropy = -(p * (p + 1e-12).log()).sum()
        self.metrics["sampling_entropy"][:] = (
            entropy / math.log(self.bin_count) if self.bin_count > 1 else 1.0
        )
        pmax, imax = p.max(dim=0)
        self.metrics["sampling_top1_prob"][:] = pmax
        self.metrics["sampling_top1_bin"][:] = imax.float() / self.bin_count

    def _uniform_sampling(self, env_ids: torch.Tensor):
        # Frames whose clip has a next frame (a clip's last frame would end at once).
        total = self.motion.time_step_total
        frame = torch.randint(0, total, (len(env_ids),), device=self.device)
        clip = self.clip_of(frame)
        last = self.clip_starts[clip] + self.clip_lengths[clip] - 1
        self.time_steps[env_ids] = torch.minimum(frame, last - 1)
        self.metrics["sampling_entropy"][:] = 1.0
        self.metrics["sampling_top1_prob"][:] = 1.0 / self.bin_count
        self.metrics["sampling_top1_bin"][:] = 0.5

    def _update_command(self, env_ids: torch.Tensor | None = None):
        # A robot whose next frame leaves its clip is put on the file's last frame, so that
        # mjlab's own update (which advances one frame and resamples past the file's end)
        # resamples it; the rest of the update (forward, relative poses, EMA) stays mjlab's.
        ids = torch.arange(self.num_envs, device=self.device) if env_ids is None else env_ids
        t = self.time_steps[ids]
        clip = self.clip_of(t)
        ends = t + 1 >= self.clip_starts[clip] + self.clip_lengths[clip]
        if torch.any(ends):
            self.time_steps[ids[ends]] = self.motion.time_step_total - 1
        super()._update_command(env_ids)


@dataclass(kw_only=True)
class MultiClipMotionCommandCfg(MotionCommandCfg):
    """:class:`MotionCommandCfg` whose ``motion_file`` holds several clips (``clip_lengths``)."""

    def build(self, env) -> MultiClipMotionCommand:
        return MultiClipMotionCommand(self, env)

    @classmethod
    def from_cfg(cls, cfg: MotionCommandCfg) -> MultiClipMotionCommandCfg:
        """The same settings as mjlab's ``cfg``."""
        return cls(**{f.name: getattr(cfg, f.name) for f in fields(cfg) if f.init})
