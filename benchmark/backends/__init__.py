"""Training backends for tracking policies beyond the project's CPU environment.

- :mod:`benchmark.backends.mjlab_backend` (driver side, no mjlab import): exports a reference in
  mjlab's motion npz format, writes a job description, launches the mjlab trainer in the Python
  environment that has mjlab (its own venv: mjlab pins ``mujoco~=3.11``), brings back the
  learning curve, the checkpoint and an exported policy, and wraps that policy
  (:class:`~benchmark.backends.mjlab_backend.MjlabPolicy`) so that ``nmr-bench eval-tracker``
  evaluates it in the project's CPU environment (sim-to-sim).
- :mod:`benchmark.backends.mjlab_task` (runs inside the mjlab environment): mjlab's G1
  tracking task (its port of BeyondMimic on MuJoCo Warp) with this project's MDP numbers where
  they differ, the trainer, the exports.
- :mod:`benchmark.backends.mjlab_multiclip` (inside the mjlab environment): mjlab's motion
  command over several clips, so one policy trains on many references (a CEPR expert).
- :mod:`benchmark.backends.cepr_experts`: CEPR experts on the mjlab backend (training,
  settings it refuses, loading an expert for rollouts in the CPU env).

mjlab is an optional extra (``pip install 'nmr-gym[mjlab]'``, in a separate environment).
"""

BACKENDS: tuple[str, ...] = ("cpu", "mjlab")
