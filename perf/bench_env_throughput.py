"""Throughput of NMRTrack-G1-v0 against raw MuJoCo on one core, and of the vector envs.

Prints env steps/s, raw ``mj_step``/s of the same model in the same kind of state, and the ratio

    env steps/s / (raw mj_step/s / decimation)     (1.0 = the env costs no more than physics)

for the single env (``gym.make``) and for ``G1TrackingVecEnv`` (N robots in one thread, terms
batched over robots), then wall-clock steps/s of a 2-process ``AsyncVectorEnv`` and of the
batched env with one physics thread per core.

Raw physics is timed by replaying, with ``mj_step`` alone, the states and controls the env saw
(same model, motion, contacts and warm starts), interleaved with the env blocks and best-of-rounds,
so the ratio isolates the env's Python work from machine noise. Timings on a shared machine are
still noisy: rerun it when the machine is quiet (``python benchmarks/bench_env_throughput.py``).
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import mujoco
import numpy as np

import nmr_gym  # noqa: F401  (registers the environments)

ACTION_NOISE = 0.1  # std of the noise added to the stand-in policy's actions
#: CPU time of this thread: unlike wall time it does not count the time other processes hold the
#: core, which makes single-core ratios usable on a shared machine (the vector env uses wall time).
_clock = time.thread_time


def _pd_action(u, rng: np.random.Generator) -> np.ndarray:
    """A stand-in policy: PD targets at the next reference frame plus a little noise."""
    a = u.action_for_joint_targets(u.reference_joint_pos(1))
    return a + (ACTION_NOISE * rng.standard_normal(a.shape)).astype(np.float32)


def env_block(env, steps: int, rng: np.random.Generator, record: list | None = None) -> float:
    """Seconds for ``steps`` env steps (wrappers included, as gym.make gives; resets included)."""
    u = env.unwrapped
    actions = []
    t = 0.0
    for _ in range(steps):
        a = _pd_action(u, rng)  # computed outside the timed region
        if record is not None:
            record.append(
                (
                    u.data.qpos.copy(),
                    u.data.qvel.copy(),
                    u.data.qacc_warmstart.copy(),
                    u._q_default + u.action_scale * a,
                )
            )
        t0 = _clock()
        _, _, term, trunc, _ = env.step(a)
        if term or trunc:
            env.reset()
        t += _clock() - t0
        actions.append(a)
    return t


def raw_block(m, d, states: list, decimation: int) -> float:
    """Seconds for the same control steps with mj_step alone, replaying the env's states."""
    t = 0.0
    for qpos, qvel, warm, ctrl in states:
        d.qpos[:] = qpos
        d.qvel[:] = qvel
        d.qacc_warmstart[:] = warm
        d.ctrl[:] = ctrl
        t0 = _clock()
        for _ in range(decimation):
            mujoco.mj_step(m, d)
        t += _clock() - t0
    return t


def single_core(steps: int, rounds: int, seed: int, env_id: str) -> tuple[float, float]:
    """Best-of-rounds env steps/s and raw control steps/s, measured interleaved (less noise)."""
    from nmr_gym.g1 import tracking_model

    env = gym.make(env_id)
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    m = tracking_model()
    d = mujoco.MjData(m)
    dec = env.unwrapped.decimation
    env_best = raw_best = np.inf
    for _ in range(rounds):
        states: list = []
        env_block(env, steps, rng, record=states)  # warm-up + the states to replay
        env_best = min(env_best, env_block(env, steps, rng))
        raw_best = min(raw_best, raw_block(m, d, states, dec))
    env.close()
    return steps / env_best, steps / raw_best


def vector_rate(steps: int, n_envs: int, seed: int, env_id: str) -> float:
    """Total env steps/s of a gymnasium AsyncVectorEnv with ``n_envs`` processes (autoreset)."""
    venv = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="async")
    venv.reset(seed=seed)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    for _ in range(steps // n_envs):
        actions = (0.3 * rng.standard_normal((n_envs, 29))).astype(np.float32)
        venv.step(actions)
    dt = time.perf_counter() - t0
    venv.close()
    return (steps // n_envs) * n_envs / dt


def _batched_actions(venv, rng: np.random.Generator) -> np.ndarray:
    return np.stack([_pd_action(e, rng) for e in venv.envs])


def batched_single_core(n_envs: int, steps: int, rounds: int, seed: int) -> tuple[float, float]:
    """Best-of-rounds robot steps/s of ``G1TrackingVecEnv`` (1 thread) and raw control steps/s
    replaying the same robots' states."""
    from nmr_gym.envs import G1TrackingVecEnv
    from nmr_gym.g1 import tracking_model

    venv = G1TrackingVecEnv(n_envs, num_threads=1)
    venv.reset(seed=seed)
    rng = np.random.default_rng(seed)
    m = tracking_model()
    d = mujoco.MjData(m)
    dec = venv.envs[0].decimation
    n_batches = max(steps // n_envs, 1)

    def block(record: list | None) -> float:
        t = 0.0
        for _ in range(n_batches):
            a = _batched_actions(venv, rng)
            if record is not None:
                ctrl = venv._q_default + venv._scale * np.clip(a, -venv._bound, venv._bound)
                for e, c in zip(venv.envs, ctrl, strict=True):
                    rec = (e.data.qpos.copy(), e.data.qvel.copy(), e.data.qacc_warmstart.copy())
                    record.append((*rec, c))
            t0 = _clock()
            venv.step(a)
            t += _clock() - t0
        return t

    env_best = raw_best = np.inf
    for _ in range(rounds):
        states: list = []
        block(states)
        env_best = min(env_best, block(None))
        raw_best = min(raw_best, raw_block(m, d, states, dec))
    venv.close()
    total = n_batches * n_envs
    return total / env_best, total / raw_best


def batched_threads_rate(steps: int, n_envs: int, n_threads: int, seed: int) -> float:
    """Wall-clock robot steps/s of ``G1TrackingVecEnv`` with ``n_threads`` physics threads."""
    from nmr_gym.envs import G1TrackingVecEnv

    venv = G1TrackingVecEnv(n_envs, num_threads=n_threads)
    venv.reset(seed=seed)
    rng = np.random.default_rng(seed)
    n_batches = max(steps // n_envs, 1)
    for _ in range(5):
        venv.step((0.3 * rng.standard_normal((n_envs, 29))).astype(np.float32))
    t0 = time.perf_counter()
    for _ in range(n_batches):
        venv.step((0.3 * rng.standard_normal((n_envs, 29))).astype(np.float32))
    dt = time.perf_counter() - t0
    venv.close()
    return n_batches * n_envs / dt


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1000, help="control steps per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--env-id", default="NMRTrack-G1-v0")
    p.add_argument("--vector-envs", type=int, default=2, help="0 skips the process vector env")
    p.add_argument("--batched-envs", type=int, default=32, help="robots in G1TrackingVecEnv")
    p.add_argument("--threads", type=int, default=2, help="physics threads, batched wall clock")
    args = p.parse_args(argv)
    env_sps, raw_cps = single_core(args.steps, args.rounds, args.seed, args.env_id)
    print(f"env steps/s (1 core):                {env_sps:9.0f}")
    print(f"raw mj_step control steps/s (same):  {raw_cps:9.0f}")
    print(f"ratio env / (raw mj_step/s / decimation): {env_sps / raw_cps:6.2f}")
    print(f"env overhead per step:               {1e6 / env_sps - 1e6 / raw_cps:9.1f} us")
    n = args.batched_envs
    if n > 0:
        b_sps, b_raw = batched_single_core(n, args.steps * 4, args.rounds, args.seed)
        print(f"batched env ({n} robots, 1 thread) robot steps/s: {b_sps:9.0f}")
        print(f"raw mj_step control steps/s (same robots):   {b_raw:9.0f}")
        print(f"ratio batched / (raw mj_step/s / decimation): {b_sps / b_raw:6.2f}")
        print(f"batched overhead per robot step:      {1e6 / b_sps - 1e6 / b_raw:9.1f} us")
    if args.vector_envs > 0:
        vsps = vector_rate(args.steps * 2, args.vector_envs, args.seed, args.env_id)
        print(f"vector env, {args.vector_envs} processes, steps/s:  {vsps:9.0f}")
    if n > 0 and args.threads > 0:
        tsps = batched_threads_rate(args.steps * 4, n, args.threads, args.seed)
        print(f"batched env, {n} robots, {args.threads} threads, steps/s: {tsps:9.0f}")


if __name__ == "__main__":
    main()
