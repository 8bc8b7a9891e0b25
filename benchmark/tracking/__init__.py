"""Tracking evaluation: run a tracker (a PPO policy or a training-free baseline) on the
evaluation environment ``NMRTrack-G1-Eval-v0`` and score it per clip, plus MuJoCo inverse
dynamics of the reference itself.

One module per concept: :mod:`.policies` (trackers), :mod:`.episodes` (running and scoring),
:mod:`.dynamics` (inverse dynamics); motion specs of the command line are resolved by
:func:`benchmark.motions.resolve_motion_specs`.
"""

from benchmark.motions import resolve_motion_specs
from benchmark.tracking.dynamics import (
    CONTACT_HEIGHT,
    ID_FORCE_REGULARISATION,
    ID_FRICTION,
    ID_ROOT_WEIGHT,
    TORQUE_LIMIT_TOLERANCE,
    ReferenceDynamics,
    inverse_dynamics,
    reference_dynamics,
)
from benchmark.tracking.episodes import PHC_FAIL_DISTANCE, evaluate, run_episode, score_episode
from benchmark.tracking.policies import (
    BASELINES,
    PDFeedForwardPolicy,
    Policy,
    SB3Policy,
    feed_forward_offsets,
    pd_baseline_policy,
    pd_ff_baseline_policy,
    pd_gains,
)

__all__ = [
    "BASELINES",
    "CONTACT_HEIGHT",
    "ID_FORCE_REGULARISATION",
    "ID_FRICTION",
    "ID_ROOT_WEIGHT",
    "PHC_FAIL_DISTANCE",
    "TORQUE_LIMIT_TOLERANCE",
    "PDFeedForwardPolicy",
    "Policy",
    "ReferenceDynamics",
    "SB3Policy",
    "evaluate",
    "feed_forward_offsets",
    "inverse_dynamics",
    "pd_baseline_policy",
    "pd_ff_baseline_policy",
    "pd_gains",
    "reference_dynamics",
    "resolve_motion_specs",
    "run_episode",
    "score_episode",
]
