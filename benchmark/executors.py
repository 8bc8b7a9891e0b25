"""Executors: map one picklable function over a list of jobs, on one machine or a Ray cluster.

Every ``nmr-bench`` command that fans work out (``run``: retarget and score stages;
``retarget``: one clip per job; ``track``: one tracking policy per clip) goes through one
interface, so the same command scales from one core to a cluster without the project writing
its own scheduler:

===============  ==============================================================================
executor         what runs the jobs
===============  ==============================================================================
``local``        ``jobs=1``: in this process, in order. ``jobs=N``: N worker processes
                 (:class:`concurrent.futures.ProcessPoolExecutor`, one BLAS/torch thread each).
``ray``          Ray tasks (optional extra ``ray``): ``address=None`` starts a local Ray
                 instance with ``jobs`` CPUs; ``address="auto"`` or ``"ray://HOST:10001"``
                 joins a running cluster, where every task asks for ``cpus_per_job`` CPUs and
                 ``gpus_per_job`` GPUs.
===============  ==============================================================================

Contract (what the tests check): ``executor.map(fn, items)`` returns ``[fn(item) for item in
items]``, in input order, whatever the executor and the number of workers; an exception in a
job is raised by ``map`` (the first failing job in input order). Randomness belongs to the job,
never to the worker: :func:`job_seeds` gives every job its own seed derived from one base seed
(``numpy.random.SeedSequence.spawn``), so a job's result depends on its item and seed only.

Ray workers must import this project: on a local instance they inherit this interpreter and its
``PYTHONPATH``; on a cluster install the project (``pip install -e '.[ray]'``) on every node and
keep input and output folders on a file system every node sees (the runner's workers write their
results into the run folder).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import numpy as np

from nmr_gym.errors import NmrGymError, UnknownNameError

#: Executor names accepted by :func:`make_executor` and ``--executor``.
EXECUTORS: tuple[str, ...] = ("local", "ray")
DEFAULT_EXECUTOR = "local"
#: Environment variables that cap BLAS/OpenMP threads in a worker (one thread per job).
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


class ExecutorError(NmrGymError):
    """Unusable executor settings (bad ``jobs``, Ray missing or unreachable)."""


class Executor(Protocol):
    """Maps a picklable function over jobs; results in input order."""

    name: str

    def map(
        self,
        fn: Callable[[Any], Any],
        items: Iterable[Any],
        *,
        desc: str | None = None,
        progress: bool | None = False,
    ) -> list[Any]: ...

    def close(self) -> None: ...


def job_seeds(seed: int, n: int) -> list[int]:
    """``n`` independent 32-bit seeds derived from ``seed`` (``SeedSequence(seed).spawn(n)``).

    The same ``(seed, n)`` always gives the same list, and job ``i``'s seed does not depend on
    which worker runs it, so seeded jobs give identical results on every executor.
    """
    if n < 0:
        raise ExecutorError(f"number of jobs must be >= 0, got {n}")
    children = np.random.SeedSequence(int(seed)).spawn(n)
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]


def one_thread_per_worker() -> None:
    """Worker start-up: one BLAS/torch thread per process, so N jobs use N cores."""
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _check_jobs(jobs: int) -> int:
    if int(jobs) != jobs or jobs < 1:
        raise ExecutorError(f"--jobs must be an integer >= 1, got {jobs!r}")
    return int(jobs)


class _Progress:
    """A tqdm bar (``enabled`` None: only on a terminal), or nothing."""

    def __init__(self, total: int, desc: str | None, enabled: bool | None):
        self.bar = None
        if enabled or enabled is None:
            from tqdm import tqdm

            disable = None if enabled is None else False
            self.bar = tqdm(total=total, desc=desc, unit="job", leave=True, disable=disable)

    def update(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class LocalExecutor:
    """This machine: in-process for ``jobs=1``, else ``jobs`` worker processes.

    Args:
        jobs: number of worker processes (1: run in this process, in order, no pickling).
    """

    name = "local"

    def __init__(self, jobs: int = 1):
        self.jobs = _check_jobs(jobs)

    def map(self, fn, items, *, desc=None, progress=False) -> list[Any]:
        items = list(items)
        bar = _Progress(len(items), desc, progress)
        try:
            if self.jobs == 1 or len(items) <= 1:
                out = []
                for item in items:
                    out.append(fn(item))
                    bar.update()
                return out
            workers = min(self.jobs, len(items))
            with concurrent.futures.ProcessPoolExecutor(
                workers, initializer=one_thread_per_worker
            ) as pool:
                futures = [pool.submit(fn, item) for item in items]
                for _ in concurrent.futures.as_completed(futures):
                    bar.update()
                # In input order; the first failing job (in input order) raises here.
                return [f.result() for f in futures]
        finally:
            bar.close()

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"LocalExecutor(jobs={self.jobs})"


def _ray_call(fn: Callable[[Any], Any], item: Any) -> Any:
    """The body of every Ray task: one thread per worker, then the job."""
    one_thread_per_worker()
    return fn(item)


class RayExecutor:
    """Ray tasks on a local instance or a cluster (optional extra ``ray``).

    Args:
        address: None: start a local Ray instance with ``jobs`` CPUs (stopped by
            :meth:`close`); ``"auto"``: the cluster this machine belongs to;
            ``"ray://HOST:10001"``: a remote cluster through Ray Client.
        jobs: CPUs of a local instance (ignored when joining a cluster, whose size decides).
        cpus_per_job, gpus_per_job: resources each task asks for (a tracking job on a GPU
            node: ``gpus_per_job=1``).
        runtime_env: Ray's ``runtime_env`` (e.g. ``{"pip": [...]}`` or ``{"working_dir": "."}``)
            when the cluster's nodes do not have the project installed.

    Ray is started on first use, not on construction, so building one costs nothing.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        jobs: int = 1,
        *,
        cpus_per_job: float = 1.0,
        gpus_per_job: float = 0.0,
        runtime_env: dict[str, Any] | None = None,
    ):
        self.address = address
        self.jobs = _check_jobs(jobs)
        if cpus_per_job < 0 or gpus_per_job < 0:
            raise ExecutorError(
                f"cpus_per_job and gpus_per_job must be >= 0, got {cpus_per_job}, {gpus_per_job}"
            )
        self.cpus_per_job = float(cpus_per_job)
        self.gpus_per_job = float(gpus_per_job)
        self.runtime_env = runtime_env
        self._started_here = False
        self._ray = None

    def _init(self):
        if self._ray is not None:
            return self._ray
        try:
            import ray
        except ModuleNotFoundError as exc:
            raise ExecutorError(
                "--executor ray needs Ray: pip install 'nmr-gym[ray]' (or 'ray[default]')"
            ) from exc
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True}
            if self.runtime_env:
                kwargs["runtime_env"] = self.runtime_env
            if self.address is None:
                # A local instance: workers inherit this interpreter's import path.
                env_vars = {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
                kwargs["runtime_env"] = {
                    **(kwargs.get("runtime_env") or {}),
                    "env_vars": {**env_vars, **(self.runtime_env or {}).get("env_vars", {})},
                }
                kwargs["num_cpus"] = self.jobs
            else:
                kwargs["address"] = self.address
            try:
                ray.init(**kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ExecutorError(
                    f"cannot start or reach Ray at {self.address or 'a local instance'}: {exc}"
                ) from exc
            self._started_here = True
        self._ray = ray
        return ray

    def map(self, fn, items, *, desc=None, progress=False) -> list[Any]:
        items = list(items)
        if not items:
            return []
        ray = self._init()
        task = ray.remote(num_cpus=self.cpus_per_job, num_gpus=self.gpus_per_job, max_retries=0)(
            _ray_call
        )
        fn_ref = ray.put(fn)  # shipped once, not once per job
        refs = [task.remote(fn_ref, item) for item in items]
        bar = _Progress(len(items), desc, progress)
        try:
            pending = list(refs)
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                bar.update(len(done))
            out = []
            for ref in refs:  # input order; the first failing job (in input order) raises
                try:
                    out.append(ray.get(ref))
                except ray.exceptions.RayTaskError as exc:
                    cause = exc.as_instanceof_cause()
                    raise cause from None
            return out
        finally:
            bar.close()

    def close(self) -> None:
        if self._ray is not None and self._started_here:
            self._ray.shutdown()
        self._ray = None
        self._started_here = False

    def __repr__(self) -> str:
        return f"RayExecutor(address={self.address!r}, jobs={self.jobs})"


def make_executor(name: str = DEFAULT_EXECUTOR, *, jobs: int = 1, **kwargs: Any) -> Executor:
    """An executor by name (:data:`EXECUTORS`); ``kwargs`` go to :class:`RayExecutor`."""
    if name == "local":
        if kwargs.get("address"):
            raise ExecutorError("--ray-address needs --executor ray")
        return LocalExecutor(jobs)
    if name == "ray":
        return RayExecutor(jobs=jobs, **kwargs)
    raise UnknownNameError("executor", name, EXECUTORS)


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """``--executor {local,ray}`` and ``--ray-address ADDR`` (``--jobs`` is the command's own)."""
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default=DEFAULT_EXECUTOR,
        help="where jobs run: 'local' (--jobs processes on this machine) or 'ray' (a Ray "
        "cluster, optional extra 'ray'); results are identical (default local)",
    )
    parser.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="Ray cluster to join ('auto' or ray://HOST:10001); default: start a local Ray "
        "instance with --jobs CPUs",
    )


def executor_from_args(args: argparse.Namespace, jobs: int | None = None) -> Executor:
    """The executor that ``--executor``, ``--ray-address`` and ``--jobs`` (or ``jobs``)
    describe."""
    name = getattr(args, "executor", DEFAULT_EXECUTOR) or DEFAULT_EXECUTOR
    jobs = jobs if jobs is not None else (getattr(args, "jobs", 1) or 1)
    address = getattr(args, "ray_address", None)
    if name == "ray":
        return make_executor("ray", jobs=jobs, address=address)
    return make_executor(name, jobs=jobs, address=address)


def map_jobs(
    executor: Executor | None, fn: Callable[[Any], Any], items: Sequence[Any], **kwargs: Any
) -> list[Any]:
    """``executor.map(fn, items)``; ``None``: in this process, in order."""
    return (executor or LocalExecutor(1)).map(fn, items, **kwargs)


__all__ = [
    "DEFAULT_EXECUTOR",
    "EXECUTORS",
    "Executor",
    "ExecutorError",
    "LocalExecutor",
    "RayExecutor",
    "add_executor_arguments",
    "executor_from_args",
    "job_seeds",
    "make_executor",
    "map_jobs",
    "one_thread_per_worker",
]
