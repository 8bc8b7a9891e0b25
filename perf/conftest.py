"""Speed benchmarks (pytest-benchmark): ``pytest perf --benchmark-enable``.

Each benchmark times one call with the ``benchmark`` fixture through :func:`rate`, which turns
the median time into a rate (frames/s) and records it. At the end of the run, each benchmark
module's ``summary(rates)`` turns its rates into the ratios it reports; they are printed in the
terminal summary and written to ``perf/results/<module>.md``. Plain ``pytest`` does not collect
this folder (``testpaths = ["tests"]``), and without ``--benchmark-enable`` (the project's
default adds ``--benchmark-disable``) every benchmark here skips instead of running untimed.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

RESULTS_DIR = Path(__file__).resolve().parent / "results"
_RATES: pytest.StashKey[dict] = pytest.StashKey()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RATES] = {}


@pytest.fixture
def rate(benchmark, request) -> Callable[..., float]:
    """``rate(fn, n, label, rounds=1)``: time ``fn()`` and return ``n`` / median seconds.

    The rate is recorded under ``label`` for the module's ``summary``; ``n`` is what one call
    processes (frames). Skips when benchmarks are disabled.
    """
    if benchmark.disabled:
        pytest.skip("timing run only: pytest perf --benchmark-enable")

    def measure(fn: Callable[[], object], n: int, label: str, rounds: int = 1) -> float:
        benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=0)
        value = n / benchmark.stats.stats.median
        benchmark.extra_info.update({"n": n, "rate_per_s": value})
        module = request.module.__name__
        request.config.stash[_RATES].setdefault(module, {})[label] = value
        return value

    return measure


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    rates = config.stash.get(_RATES, {})
    if not rates:
        return
    RESULTS_DIR.mkdir(exist_ok=True)
    for name, module_rates in rates.items():
        module = sys.modules.get(name)
        lines = module.summary(module_rates) if hasattr(module, "summary") else []
        terminalreporter.write_sep("-", f"{name}: rates and ratios")
        for label, value in module_rates.items():
            terminalreporter.write_line(f"{label:40s} {value:12.1f} /s")
        for line in lines:
            terminalreporter.write_line(line)
        _write_results(name, module_rates, lines, config)


def _write_results(name: str, rates: dict, lines: list[str], config: pytest.Config) -> None:
    stem = name.rsplit(".", 1)[-1].removeprefix("test_")
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cmd = "pytest " + " ".join(config.invocation_params.args)
    text = [
        f"# {stem}: `{cmd}`",
        "",
        f"{when}, {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        f" (rates from the median of the timed rounds; machine load shifts them).",
        "",
        "| benchmark | rate [1/s] |",
        "|---|---:|",
        *(f"| {label} | {value:.1f} |" for label, value in rates.items()),
        "",
        *(f"- {line}" for line in lines),
        "",
    ]
    tmp = RESULTS_DIR / f".{stem}.md.tmp"
    tmp.write_text("\n".join(text))
    tmp.replace(RESULTS_DIR / f"{stem}.md")
