"""``benchmark.executors``: one interface for local processes and Ray; results in input order and
identical on every executor for the same inputs and seeds."""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import pytest

from benchmark import executors, runner
from benchmark import results as res
from benchmark.cli import main
from nmr_gym.errors import UnknownNameError


def seeded_job(job: tuple[int, int]) -> tuple[int, float, int]:
    """A job whose result depends on its item and seed only (and which finishes out of order:
    early items sleep longest)."""
    index, seed = job
    time.sleep(0.02 * (4 - index % 4))
    draw = float(np.random.default_rng(seed).normal())
    return index, draw, os.getpid()


def failing_job(x: int) -> int:
    if x in (2, 3):
        raise ValueError(f"job {x} failed")
    return x


def test_job_seeds_are_reproducible_and_distinct():
    a, b = executors.job_seeds(7, 50), executors.job_seeds(7, 50)
    assert a == b and len(set(a)) == 50
    assert executors.job_seeds(8, 50) != a
    assert executors.job_seeds(7, 60)[:50] == a  # a job's seed does not depend on the count
    with pytest.raises(executors.ExecutorError, match="-1"):
        executors.job_seeds(7, -1)


@pytest.mark.parametrize("jobs", [1, 2])
def test_local_executor_keeps_input_order(jobs):
    jobs_in = list(zip(range(8), executors.job_seeds(3, 8), strict=True))
    out = executors.LocalExecutor(jobs).map(seeded_job, jobs_in)
    assert [o[0] for o in out] == list(range(8))
    expected = [float(np.random.default_rng(s).normal()) for _, s in jobs_in]
    assert [o[1] for o in out] == expected
    pids = {o[2] for o in out}
    assert (pids == {os.getpid()}) if jobs == 1 else (os.getpid() not in pids)


@pytest.mark.parametrize("jobs", [1, 2])
def test_local_executor_raises_the_first_failure_in_input_order(jobs):
    with pytest.raises(ValueError, match="job 2 failed"):
        executors.LocalExecutor(jobs).map(failing_job, range(6))


def test_bad_settings_are_clear_errors():
    with pytest.raises(executors.ExecutorError, match="0"):
        executors.LocalExecutor(0)
    with pytest.raises(UnknownNameError, match="local, ray"):
        executors.make_executor("slurm")
    with pytest.raises(executors.ExecutorError, match="--executor ray"):
        executors.make_executor("local", address="auto")
    with pytest.raises(executors.ExecutorError, match="gpus_per_job"):
        executors.RayExecutor(gpus_per_job=-1)


def test_cli_rejects_ray_address_without_ray(tmp_path, capsys):
    code = main(["run", "--retargeters", "direct", "--out", str(tmp_path), "--ray-address", "x"])
    assert code == 2
    assert "--executor ray" in capsys.readouterr().err
    assert not (tmp_path / "results.csv").exists()


# ------------------------------------------------------------------------------------ Ray
@pytest.fixture(scope="module")
def ray_executor():
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'nmr-gym[ray]')")
    ex = executors.RayExecutor(jobs=2)
    yield ex
    ex.close()


@pytest.mark.slow  # starting Ray takes ~20 s on 2 cores
def test_ray_executor_matches_local(ray_executor):
    jobs_in = list(zip(range(10), executors.job_seeds(11, 10), strict=True))
    local = executors.LocalExecutor(1).map(seeded_job, jobs_in)
    remote = ray_executor.map(seeded_job, jobs_in)
    assert [o[:2] for o in remote] == [o[:2] for o in local]
    assert os.getpid() not in {o[2] for o in remote}  # it really ran in Ray workers


@pytest.mark.slow
def test_ray_executor_raises_the_job_error(ray_executor):
    with pytest.raises(ValueError, match="job 2 failed"):
        ray_executor.map(failing_job, range(6))
    assert ray_executor.map(failing_job, []) == []


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=list(res.NONDETERMINISTIC_COLUMNS)).reset_index(drop=True)


@pytest.mark.slow
def test_run_on_ray_equals_local_run(ray_executor, tmp_path):
    """``nmr-bench run`` with Ray tasks writes the same results as the local executor."""
    names = ["direct"]
    local, errors_local = runner.run("builtin", names, tmp_path / "local", progress=False)
    remote, errors_remote = runner.run(
        "builtin", names, tmp_path / "ray", progress=False, executor=ray_executor
    )
    assert len(local) == len(runner._suite("builtin")) and errors_remote == errors_local
    pd.testing.assert_frame_equal(comparable(local), comparable(remote))
    for f in remote.robot_file:  # the motion files themselves are identical too
        a = np.load(tmp_path / "local" / f)
        b = np.load(tmp_path / "ray" / f)
        for key in ("root_pos", "root_quat", "joint_pos"):
            np.testing.assert_array_equal(a[key], b[key])


def positions_npz(path, n: int, speed: float):
    """A human motion file (joint positions) of a T-pose walking along +x."""
    from nmr_gym import skeleton as sk

    local = np.tile([1.0, 0, 0, 0], (n, sk.NUM_JOINTS, 1))
    root_q = np.tile(sk.REST_QUAT_FACING_X, (n, 1))
    root_p = np.stack([np.linspace(0, speed, n), np.zeros(n), np.full(n, 0.95)], axis=-1)
    pos, _ = sk.forward_kinematics(root_p, root_q, local, sk.rest_offsets())
    np.savez(path, joint_pos=pos, joint_names=np.array(sk.SMPL_JOINT_NAMES), fps=30.0)
    return str(path)


@pytest.mark.slow
def test_cli_retarget_on_ray_writes_the_local_files(ray_executor, tmp_path):
    """``nmr-bench retarget --executor ray`` (joining the running Ray instance) writes the same
    files as the local run."""
    inputs = [positions_npz(tmp_path / f"c{i}.npz", 8 + 2 * i, 0.1 * i) for i in range(3)]
    for ex in ("local", "ray"):
        args = ["retarget", *inputs, "--method", "direct", "--out", str(tmp_path / ex)]
        assert main([*args, "--executor", ex, "--jobs", "2"]) == 0
    for name in ("c0.nmr.npz", "c1.nmr.npz", "c2.nmr.npz"):
        a, b = np.load(tmp_path / "local" / name), np.load(tmp_path / "ray" / name)
        for key in ("root_pos", "root_quat", "joint_pos"):
            np.testing.assert_array_equal(a[key], b[key])
