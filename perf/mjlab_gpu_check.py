"""The mjlab backend's device check: env steps/s at N parallel robots, then a short learning curve.

Run in the mjlab environment (see the README's "Scaling") on a GPU machine::

    python perf/mjlab_gpu_check.py --num-envs 4096 --iterations 300 --out perf/results/mjlab_gpu

and on a CPU (Warp's CPU backend, a smoke run)::

    python perf/mjlab_gpu_check.py --num-envs 4 --steps 20 --iterations 2 --device cpu \\
        --out /tmp/mjlab_cpu_check

1. Throughput: mjlab's G1 tracking env with the project's MDP terms on the default clip
   (``nmr_gym.envs.motion_source.default_motion``), ``--steps`` env steps of all robots with
   random actions after ``--warmup`` steps; env steps/s = robots * steps / seconds (physics,
   observations, rewards, resets; no policy, no learning).
2. Learning: ``benchmark.backends.mjlab_backend.train`` for ``--iterations`` PPO iterations;
   the curve (``curve.csv``), checkpoint and exported policy land in ``OUT/train``.

``OUT/summary.json`` holds both numbers, the device and the package versions.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def throughput(num_envs: int, steps: int, warmup: int, device: str, seed: int) -> dict:
    import torch
    from mjlab.envs import ManagerBasedRlEnv

    from benchmark.backends import mjlab_backend as mb
    from benchmark.backends import mjlab_task
    from nmr_gym.envs.motion_source import default_motion

    out = Path(f"/tmp/mjlab_check_motion_{num_envs}.npz")
    mb.export_reference(default_motion(), out)
    cfg = mjlab_task.make_env_cfg(out, num_envs, seed=seed)
    t0 = time.perf_counter()
    env = ManagerBasedRlEnv(cfg=cfg, device=device)
    build_s = time.perf_counter() - t0
    env.reset()
    gen = torch.Generator(device=device).manual_seed(seed)
    n_act = env.action_manager.total_action_dim

    def run(n: int) -> None:
        for _ in range(n):
            a = torch.randn(num_envs, n_act, generator=gen, device=device)
            env.step(a)

    run(warmup)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    run(steps)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - t0
    mem = torch.cuda.max_memory_allocated() if device.startswith("cuda") else None
    env.close()
    return {
        "num_envs": num_envs,
        "steps": steps,
        "seconds": elapsed,
        "env_steps_per_s": num_envs * steps / elapsed,
        "build_s": build_s,
        "cuda_max_memory_allocated_bytes": mem,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--num-envs", type=int, default=4096)
    p.add_argument("--steps", type=int, default=200, help="timed env steps (all robots)")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--iterations", type=int, default=300, help="PPO iterations (0: none)")
    p.add_argument("--device", default=None, help="default cuda:0 when there is one, else cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args(argv)
    import torch

    from benchmark.backends import mjlab_backend as mb
    from benchmark.backends.mjlab_task import _versions
    from nmr_gym.envs.motion_source import default_motion

    device = args.device or ("cuda:0" if torch.cuda.is_available() else "cpu")
    args.out.mkdir(parents=True, exist_ok=True)
    summary: dict = {
        "device": device,
        "gpu": torch.cuda.get_device_name(0) if device.startswith("cuda") else None,
        "versions": _versions(),
    }
    summary["throughput"] = throughput(args.num_envs, args.steps, args.warmup, device, args.seed)
    print(json.dumps(summary["throughput"]), flush=True)
    if args.iterations > 0:
        result = mb.train(
            default_motion(),
            args.out / "train",
            num_envs=args.num_envs,
            iterations=args.iterations,
            seed=args.seed,
            device=device,
            python=sys.executable,
            save_interval=max(1, args.iterations // 2),
            quiet=True,
        )
        summary["training"] = {
            k: result.info[k] for k in ("iterations", "env_steps", "train_s", "env_steps_per_s")
        }
        summary["training"]["curve"] = str(result.curve)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
