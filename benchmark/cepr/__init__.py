"""CEPR: Clustered-Expert Physics Refinement, the NMR paper's physics-refined data pipeline.

Stages (each a function and an ``nmr-bench cepr`` subcommand, each resumable):

1. :mod:`benchmark.cepr.curate`: human clips -> 4 s chunks -> PHUMA's curation filters.
2. :mod:`benchmark.cepr.retarget`: one kinematic retarget per clip, cut into the same chunks,
   hard filters; the kinematic pair dataset (NMR's stage-1 training data).
3. :mod:`benchmark.cepr.cluster`: a small motion encoder, cosine K-means over the segments.
4. :mod:`benchmark.cepr.experts`: one PPO tracking expert per cluster, deterministic rollouts,
   the physics pair dataset (NMR's stage-2 training data).

:mod:`benchmark.cepr.pipeline` runs them all with a preset and writes ``report.md``.
"""
