"""Speed benchmarks (pytest-benchmark): ``pytest perf --benchmark-enable``.

Each benchmark times one call with the ``benchmark`` fixture through :func:`rate`, which turns
the median time into a rate (frames/s) and records it, with the rate in this process's CPU
time. At the end of the run, each benchmark module's ``summary(rates, cpu_rates)`` turns them
into the ratios it reports; they are printed in the
terminal summary and written to ``perf/results/<module>.md``. Plain ``pytest`` does not collect
this folder (``testpaths = ["tests"]``), and without ``--benchmark-enable`` (the project's
default adds ``--benchmark-disable``) every benchmark here skips instead of running untimed.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

RESULTS_DIR = Path(__file__).resolve().parent / "results"
_RATES: pytest.StashKey[dict] = pytest.StashKey()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RATES] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A benchmark skipped because timing is off never calls the fixture; that is intended.
    unused = pytest.mark.filterwarnings("ignore:Benchmark fixture was not used")
    for item in items:
        if "rate" in getattr(item, "fixturenames", ()):
            item.add_marker(unused)


@pytest.fixture
def rate(benchmark, request) -> Callable[..., float]:
    """``rate(fn, n, label, rounds=1)``: time ``fn()`` and return ``n`` / median seconds.

    The rate is recorded under ``label`` for the module's ``summary``, with the rate in this
    process's CPU time (steadier than wall-clock time on a loaded machine; it misses child
    processes). ``n`` is what one call processes (frames). Skips when benchmarks are disabled.
    """
    if benchmark.disabled:
        pytest.skip("timing run only: pytest perf --benchmark-enable")

    def measure(fn: Callable[[], object], n: int, label: str, rounds: int = 1) -> float:
        cpu = time.process_time()
        benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=0)
        cpu = (time.process_time() - cpu) / rounds
        value = n / benchmark.stats.stats.median
        benchmark.extra_info.update({"n": n, "rate_per_s": value, "rate_per_cpu_s": n / cpu})
        rates = request.config.stash[_RATES].setdefault(request.module.__name__, ({}, {}))
        rates[0][label], rates[1][label] = value, n / cpu
        return value

    return measure


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    rates = config.stash.get(_RATES, {})
    if not rates:
        return
    RESULTS_DIR.mkdir(exist_ok=True)
    for name, (wall, cpu) in rates.items():
        module = sys.modules.get(name)
        lines = module.summary(wall, cpu) if hasattr(module, "summary") else []
        terminalreporter.write_sep("-", f"{name}: rates [1/s] (wall clock, CPU time) and ratios")
        for label, value in wall.items():
            terminalreporter.write_line(f"{label:40s} {value:12.1f} {cpu[label]:12.1f}")
        for line in lines:
            terminalreporter.write_line(line)
        _write_results(name, wall, cpu, lines, config)


def _write_results(name: str, wall: dict, cpu: dict, lines: list[str], config) -> None:
    stem = name.rsplit(".", 1)[-1].removeprefix("test_")
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cmd = shlex.join(["pytest", *config.invocation_params.args])
    text = [
        f"# {stem}: `{cmd}`",
        "",
        f"{when}, {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        f" (rates from the median of the timed rounds; machine load shifts wall-clock rates).",
        "",
        "| benchmark | rate [1/s], wall clock | rate [1/s], process CPU time |",
        "|---|---:|---:|",
        *(f"| {label} | {value:.1f} | {cpu[label]:.1f} |" for label, value in wall.items()),
        "",
        *(f"- {line}" for line in lines),
        "",
    ]
    tmp = RESULTS_DIR / f".{stem}.md.tmp"
    tmp.write_text("\n".join(text))
    tmp.replace(RESULTS_DIR / f"{stem}.md")
