"""Subcommands of ``nmr-bench``; each module is discovered by ``benchmark.cli``."""
