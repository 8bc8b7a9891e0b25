"""Benchmark: metrics over robot motions, splits, the runner, leaderboards and ``nmr-bench``."""
