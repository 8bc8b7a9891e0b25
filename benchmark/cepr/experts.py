"""CEPR stage 4: one PPO tracking expert per cluster, deterministic rollouts, physics pairs.

Experts (NMR paper III-B): for each cluster, one policy is trained on all of the cluster's
references at once -- the robot motions of its curated, hard-filtered kinematic pairs -- with
the project's trainer (``benchmark.commands.train_tracker``, imported, not copied): the batched
tracking env over several motions with its adaptive start sampler, stable-baselines3 PPO.
The expert's MDP is train-tracker's ``--obs-mode``, ``--rewards`` and reward-width annealing
``--sigma-start`` -> ``--sigma-end`` (paper Eq. 6, multipliers of the reward set's widths over
the expert's steps); the paper's is :data:`EXPERT_OBS_MODE`, :data:`EXPERT_REWARDS`,
:data:`EXPERT_SIGMA_START` -> :data:`EXPERT_SIGMA_END`.

Rollouts: each expert runs deterministically (the policy's mean action) on the evaluation env
(frame-0 start, no noise, randomisation or pushes; the observation the expert was trained on,
from its run's config.json) over each of its references; the simulated
robot's root pose and joint angles are recorded at every control step and resampled to the
reference's rate. The stretch that tracks -- from frame 0 to the first termination or the first
frame whose mean tracked-body distance exceeds PHC's 0.5 m, less
:data:`TERMINATION_MARGIN_S` before such an end -- is kept when it lasts at least
:data:`MIN_STRETCH_S`, and paired with the human segment on the same frames.

Work items (experts per cluster, rollouts per reference) run in ``jobs`` local processes or on
a Ray cluster (``ray_address``); both give the same results for the same seeds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.cepr._store import (
    load_npz,
    markdown_table,
    parallel_map,
    provenance,
    save_npz,
    write_csv,
    write_json,
)
from benchmark.cepr.sources import CeprError

#: The env's default observation (``G1TrackingEnv``'s): rollouts of a policy that does not say
#: which observation it takes.
DEFAULT_OBS_MODE = "actor"
#: The paper's expert MDP: its 509-entry observation (Table I) and expert rewards (Table II).
EXPERT_OBS_MODE = "nmr"
EXPERT_REWARDS = "nmr_expert"
#: Reward widths at the start and end of an expert's training, multiples of the reward set's
#: widths (annealed linearly, Eq. 6). The paper states no values: 2 starts with twice the
#: widths (an error twice as large earns the same reward: a wider basin while the policy is
#: poor) and 1 ends at BeyondMimic's widths, which are known to track single clips.
EXPERT_SIGMA_START = 2.0
EXPERT_SIGMA_END = 1.0
#: A kept physics stretch lasts at least this long [s] (issue 12).
MIN_STRETCH_S = 2.0
#: Frames this long before a termination (or the PHC failure) are dropped too [s]: the robot is
#: already falling when the termination test fires.
TERMINATION_MARGIN_S = 0.5

EXPERTS_DIR = "experts"
ROLLOUT_DIR = "rollout"
PHYSICS_DIR = "physics"


def expert_name(cluster: int) -> str:
    return f"cluster-{int(cluster):02d}"


# --------------------------------------------------------------------------- execution
def run_tasks(
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    jobs: int = 1,
    ray_address: str | None = None,
    desc: str = "",
    unit: str = "item",
) -> list[Any]:
    """``[fn(x) for x in items]`` locally (``jobs`` processes) or as Ray tasks on the cluster
    at ``ray_address`` ("local" starts a local Ray instance); results keep the input order."""
    if not ray_address:
        return parallel_map(fn, items, jobs=jobs, desc=desc, unit=unit)
    try:
        import ray
    except ImportError:
        raise CeprError("--ray needs the optional dependency: pip install 'nmr-gym[ray]'") from None
    from tqdm import tqdm

    if not ray.is_initialized():
        ray.init(
            address=None if ray_address == "local" else ray_address,
            ignore_reinit_error=True,
            log_to_driver=False,
        )
    remote = ray.remote(num_cpus=1)(fn)
    refs = [remote.remote(x) for x in items]
    pending = list(refs)
    with tqdm(total=len(refs), desc=f"{desc} (ray)", unit=unit, disable=None) as bar:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            bar.update(len(done))
    return ray.get(refs)


# ----------------------------------------------------------------------------- experts
def trainer_argv(
    refs: list[Path], out: Path, settings: dict[str, Any], threads: int
) -> argparse.Namespace:
    """train-tracker's own arguments for one expert (PPO and MDP settings, ``--resume`` when
    the expert's folder has checkpoints), parsed by train-tracker's parser."""
    from benchmark.commands import train_tracker
    from benchmark.training import MDPConfig

    # Bad MDP values fail here with one line, not as a usage message of train-tracker's parser.
    MDPConfig(
        obs_mode=settings["obs_mode"],
        rewards=settings["rewards"],
        sigma_start=settings["sigma_start"],
        sigma_end=settings["sigma_end"],
        action_offset=settings.get("action_offset", "default"),
    )
    parser = argparse.ArgumentParser()
    train_tracker.add_arguments(parser)
    argv = [str(p) for p in refs] + [
        "--out",
        str(out),
        "--timesteps",
        str(settings["timesteps"]),
        "--n-envs",
        str(settings["n_envs"]),
        "--n-steps",
        str(settings["n_steps"]),
        "--seed",
        str(settings["seed"]),
        "--init-std",
        str(settings["init_std"]),
        "--threads",
        str(threads),
        "--checkpoint-every",
        str(settings["checkpoint_every"]),
        "--no-progress",
        "--net-arch",
        *[str(n) for n in settings["net_arch"]],
        "--obs-mode",
        str(settings["obs_mode"]),
        "--rewards",
        str(settings["rewards"]),
        "--sigma-start",
        repr(float(settings["sigma_start"])),
        "--sigma-end",
        repr(float(settings["sigma_end"])),
        "--action-offset",
        str(settings.get("action_offset", "default")),
    ]
    if (out / "checkpoints").is_dir():
        argv.append("--resume")
    return parser.parse_args(argv)


def _train_one(job: tuple[int, list[str], str, dict[str, Any], int]) -> dict[str, Any]:
    """Train (or resume, or reuse) the expert of one cluster; returns its summary row."""
    import contextlib
    import io

    from benchmark.commands import train_tracker

    cluster, refs, out_s, settings, threads = job
    out = Path(out_s)
    done = out / "done.json"
    stamp = out / "cepr_settings.json"
    if stamp.is_file() and json.loads(stamp.read_text()) != {"settings": settings, "refs": refs}:
        raise CeprError(f"{out} was trained with other settings or references; use a new --out")
    if done.is_file():
        return json.loads(done.read_text())
    write_json(stamp, {"settings": settings, "refs": refs})
    if settings.get("backend", "cpu") != "cpu":
        from benchmark.backends.cepr_experts import train_expert

        row = train_expert(cluster, expert_name(cluster), refs, out, settings)
        write_json(done, row)
        return row
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        train_tracker.run(trainer_argv([Path(r) for r in refs], out, settings, threads))
    curve = pd.read_csv(out / "curve.csv")
    last = curve.iloc[-1].to_dict() if len(curve) else {}
    row = {
        "cluster": int(cluster),
        "expert": expert_name(cluster),
        "references": len(refs),
        "timesteps": int(settings["timesteps"]),
        "train_wall_s": float(last.get("wall_s", math.nan)),
        "train_eval_success": float(last.get("eval_success", math.nan)),
        "train_error_body_pos_m": float(last.get("error_body_pos_m", math.nan)),
    }
    write_json(done, row)
    return row


def expert_settings(
    *,
    timesteps: int,
    n_envs: int,
    n_steps: int,
    seed: int,
    net_arch: Sequence[int],
    init_std: float,
    obs_mode: str,
    rewards: str,
    sigma_start: float,
    sigma_end: float,
    checkpoint_every: int,
    max_refs: int | None = None,
    action_offset: str = "default",
    backend: str = "cpu",
) -> dict[str, Any]:
    extra = {} if backend == "cpu" else {"backend": backend}  # cpu: the settings as before
    return extra | {
        "action_offset": str(action_offset),
        "max_refs": None if max_refs is None else int(max_refs),
        "timesteps": int(timesteps),
        "n_envs": int(n_envs),
        "n_steps": int(n_steps),
        "seed": int(seed),
        "net_arch": [int(n) for n in net_arch],
        "init_std": float(init_std),
        "obs_mode": obs_mode,
        "rewards": rewards,
        "sigma_start": float(sigma_start),
        "sigma_end": float(sigma_end),
        "checkpoint_every": int(checkpoint_every),
    }


def selected_references(clusters: pd.DataFrame, max_refs: int | None) -> pd.DataFrame:
    """The references each expert uses: every segment of its cluster, or with ``max_refs`` the
    ``max_refs`` nearest to the cluster centre (a compute budget, not the paper's method)."""
    if max_refs is None or max_refs <= 0:
        return clusters.sort_values("pair_id").reset_index(drop=True)
    top = (
        clusters.sort_values(["cluster", "cos_to_centre", "pair_id"], ascending=[True, False, True])
        .groupby("cluster", sort=True)
        .head(int(max_refs))
    )
    return top.sort_values("pair_id").reset_index(drop=True)


def _export_reference(ds: Any, pair_id: str, path: Path, fps: float) -> None:
    """Kinematic pair ``pair_id``'s robot motion as an nmr npz file (what train-tracker and the
    rollouts load), unless ``path`` already exists."""
    from nmr_gym.io import save_robot_motion
    from nmr_gym.motion import RobotMotion

    if path.is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    qpos = ds.arrays(pair_id)["robot_qpos"]
    meta = {"name": pair_id, "retargeter": "cepr-kinematic"}
    motion = RobotMotion.from_qpos(qpos, fps, source=str(path), metadata=meta)
    save_robot_motion(motion, path, "nmr")


def _write_references(out: Path, clusters: pd.DataFrame, fps: float) -> dict[int, list[str]]:
    """Each cluster's reference robot motions as nmr npz files (what train-tracker loads)."""
    from benchmark.cepr.cluster import kinematic_dataset_path
    from nmr_gym.datasets import PairDataset

    ds = PairDataset(kinematic_dataset_path(out))
    refs: dict[int, list[str]] = {}
    for row in clusters.sort_values("pair_id").to_dict("records"):
        c = int(row["cluster"])
        path = out / EXPERTS_DIR / expert_name(c) / "refs" / f"{row['pair_id']}.nmr.npz"
        _export_reference(ds, str(row["pair_id"]), path, fps)
        refs.setdefault(c, []).append(str(path))
    return refs


def run_experts(
    out_dir: str | os.PathLike,
    *,
    settings: dict[str, Any],
    fps: float,
    jobs: int = 1,
    ray_address: str | None = None,
) -> pd.DataFrame:
    """Train one expert per cluster of ``OUT/cluster/clusters.csv``; writes
    ``OUT/experts/<expert>/`` (train-tracker's output) and ``OUT/experts/summary.csv``."""
    from benchmark.cepr.cluster import STAGE_DIR as CLUSTER_DIR

    out = Path(out_dir)
    table = out / CLUSTER_DIR / "clusters.csv"
    if not table.is_file():
        raise CeprError(f"{out}: stage 3 (cluster) has not finished; run it first")
    clusters = selected_references(pd.read_csv(table, keep_default_na=False), settings["max_refs"])
    refs = _write_references(out, clusters, fps)
    threads = 1 if (jobs > 1 or ray_address) else max(1, os.cpu_count() or 1)
    items = [
        (c, refs[c], str(out / EXPERTS_DIR / expert_name(c)), settings, threads)
        for c in sorted(refs)
    ]
    write_json(
        out / EXPERTS_DIR / "settings.json", provenance("cepr experts", settings, settings["seed"])
    )
    rows = run_tasks(
        _train_one, items, jobs=jobs, ray_address=ray_address, desc="cepr experts", unit="expert"
    )
    frame = pd.DataFrame(rows)
    write_csv(out / EXPERTS_DIR / "summary.csv", frame)
    return frame


# ----------------------------------------------------------------------------- rollouts
def rollout_reference(
    policy: Callable[[Any, Any], np.ndarray],
    reference: Any,
    *,
    obs_mode: str | None = None,
    min_stretch_s: float = MIN_STRETCH_S,
    margin_s: float = TERMINATION_MARGIN_S,
) -> dict[str, Any]:
    """Roll ``policy`` out over ``reference`` (a RobotMotion) from frame 0, deterministically.

    Returns the simulated robot over the kept stretch at the reference's rate (``qpos``,
    (n, 36), n = 0 when nothing is kept) and the episode's facts: ``success`` (the whole
    reference tracked: no termination and PHC's rule), ``terminated``, ``termination``,
    ``tracked_s`` (until the end of tracking, before the margin), ``kept_frames``, and the
    tracking errors over the kept stretch (``track_mpjpe_m`` root-relative, ``track_w_mpjpe_m``
    world, 14 bodies). ``obs_mode``: the env's observation; None = the policy's own
    (``policy.obs_mode``, as a loaded expert has), else :data:`DEFAULT_OBS_MODE`.
    """
    from benchmark.tracking import PHC_FAIL_DISTANCE, run_episode, score_episode
    from nmr_gym.envs import G1TrackingEnv
    from nmr_gym.g1 import spec
    from nmr_gym.motion import RobotMotion

    if obs_mode is None:
        obs_mode = getattr(policy, "obs_mode", DEFAULT_OBS_MODE)
    env = G1TrackingEnv(
        reference,
        evaluation=True,
        obs_mode=obs_mode,
        action_offset=getattr(policy, "action_offset", "default"),
    )
    ep = run_episode(env, policy, 0, 0, record_qpos=True)
    env.close()
    qpos, terminated, reason = ep["qpos"], ep["terminated"], ep["termination"]
    score = score_episode(ep)
    dist = np.linalg.norm(ep["robot_body_pos_w"] - ep["reference_body_pos_w"], axis=-1).mean(1)
    bad = np.flatnonzero(dist > PHC_FAIL_DISTANCE)
    ctrl_fps = 1.0 / env.dt
    end = len(qpos)  # frames [0, end) at the control rate
    failed = bool(terminated) or bad.size > 0
    if bad.size:
        end = min(end, int(bad[0]))
    tracked_s = (end - 1) / ctrl_fps  # until the end of tracking, before the margin
    if failed:
        end = max(0, end - int(round(margin_s * ctrl_fps)))
    fps = float(reference.fps)
    n_ref = int(math.floor((end - 1) / ctrl_fps * fps + 1e-9)) + 1 if end >= 2 else 0
    n_ref = min(n_ref, reference.n_frames)
    kept = n_ref >= 2 and (n_ref - 1) / fps >= min_stretch_s - 1e-9
    out: dict[str, Any] = {
        "success": bool(score["success"]),
        "terminated": bool(terminated),
        "termination": reason,
        "tracked_s": max(tracked_s, 0.0),
        "kept_frames": n_ref if kept else 0,
        "track_mpjpe_m": math.nan,
        "track_w_mpjpe_m": math.nan,
        "qpos": np.zeros((0, 7 + spec.NUM_JOINTS), np.float32),
    }
    if kept:
        sim = RobotMotion.from_qpos(np.array(qpos[:end]), ctrl_fps).resample(fps)
        out["qpos"] = sim.qpos[:n_ref].astype(np.float32)
        r, f = ep["robot_body_pos_w"][:end], ep["reference_body_pos_w"][:end]
        root = spec.TRACKED_BODIES.index(spec.ROOT_BODY)
        out["track_w_mpjpe_m"] = float(np.linalg.norm(r - f, axis=-1).mean())
        rel = (r - r[:, root : root + 1]) - (f - f[:, root : root + 1])
        out["track_mpjpe_m"] = float(np.linalg.norm(rel, axis=-1).mean())
    return out


def _rollout_one(job: tuple[str, str, str, str, float, str]) -> dict[str, Any]:
    """Roll one expert out over one reference, in the observation the expert was trained on
    (which must be the settings' ``obs_mode``); cached per reference."""
    from nmr_gym.io import load_robot_motion

    pair_id, expert_dir, ref_path, cache_s, fps, obs_mode = job
    cache = Path(cache_s)
    hit = load_npz(cache)
    if hit is not None:
        return {**hit[0], "qpos": hit[1]["qpos"]}
    from benchmark.backends.cepr_experts import load_expert

    policy = load_expert(expert_dir)
    if policy.obs_mode != obs_mode:
        raise CeprError(
            f"{expert_dir} was trained on obs_mode {policy.obs_mode!r}, the experts' settings "
            f"say {obs_mode!r}; retrain it (use a new --out)"
        )
    reference = load_robot_motion(ref_path)
    res = rollout_reference(policy, reference)
    meta = {k: v for k, v in res.items() if k != "qpos"}
    meta["pair_id"] = pair_id
    save_npz(cache, meta, qpos=res["qpos"])
    return {**meta, "qpos": res["qpos"]}


def run_rollouts(
    out_dir: str | os.PathLike,
    *,
    fps: float,
    jobs: int = 1,
    ray_address: str | None = None,
    seed: int = 0,
    all_references: bool = False,
) -> pd.DataFrame:
    """Roll every expert out over each of its references (in the experts' ``obs_mode``, from
    ``OUT/experts/settings.json``); writes the physics pair dataset ``OUT/physics`` (kept
    stretches only, manifest last) and ``OUT/rollout/rollouts.csv`` (every reference, kept or
    not; ``trained_on`` says whether the expert trained on it). Per-reference results are
    cached (resume).

    ``all_references``: when the experts trained on a subset of their clusters (``max_refs``, a
    compute budget), also roll each expert out over the other segments of its cluster. The
    paper's experts train on every segment of their cluster; an expert that tracks a segment
    it never saw still yields a simulated, physically consistent motion (the same success rule
    keeps or drops it), so this recovers pairs the budget left out at the cost of rollouts only.
    """
    from benchmark.cepr.cluster import STAGE_DIR as CLUSTER_DIR
    from benchmark.cepr.cluster import kinematic_dataset_path
    from nmr_gym.datasets import PairDataset, PairDatasetWriter
    from nmr_gym.motion import RobotMotion

    out = Path(out_dir)
    summary = out / EXPERTS_DIR / "summary.csv"
    if not summary.is_file():
        raise CeprError(f"{out}: stage 4 experts have not finished; run `cepr experts` first")
    import json as _json

    settings = _json.loads((out / EXPERTS_DIR / "settings.json").read_text())["settings"]
    obs_mode = str(settings["obs_mode"])
    every = pd.read_csv(out / CLUSTER_DIR / "clusters.csv", keep_default_na=False)
    trained = selected_references(every, settings["max_refs"])
    clusters = selected_references(every, None) if all_references else trained
    clusters = clusters.assign(trained_on=clusters["pair_id"].isin(set(trained["pair_id"])))
    cache = out / ROLLOUT_DIR / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    kin = PairDataset(kinematic_dataset_path(out))
    items = []
    for row in clusters.to_dict("records"):
        name = expert_name(int(row["cluster"]))
        edir = out / EXPERTS_DIR / name
        ref = edir / "refs" / f"{row['pair_id']}.nmr.npz"
        if not row["trained_on"]:  # a segment its expert never saw: export it once
            ref = out / ROLLOUT_DIR / "refs" / f"{row['pair_id']}.nmr.npz"
            _export_reference(kin, str(row["pair_id"]), ref, fps)
        items.append(
            (
                str(row["pair_id"]),
                str(edir),
                str(ref),
                str(cache / f"{row['pair_id']}.npz"),
                float(fps),
                obs_mode,
            )
        )
    results = run_tasks(
        _rollout_one,
        items,
        jobs=jobs,
        ray_address=ray_address,
        desc="cepr rollout",
        unit="reference",
    )
    rows = []
    prov = provenance(
        "cepr rollout", {"fps": fps, "obs_mode": obs_mode, "all_references": all_references}, seed
    )
    with PairDatasetWriter(out / PHYSICS_DIR, kind="physics", provenance=prov, overwrite=True) as w:
        for row, res in zip(clusters.to_dict("records"), results, strict=True):
            info = {k: v for k, v in res.items() if k != "qpos"}
            rec = {**row, **info, "expert": expert_name(int(row["cluster"]))}
            rec.pop("qpos", None)
            n = int(res["kept_frames"])
            if n >= 2:
                pair = kin[str(row["pair_id"])]
                human = pair.human[:n]
                robot = RobotMotion.from_qpos(res["qpos"][:n], fps, source=str(out / PHYSICS_DIR))
                start = float(pair.row["source_start_s"])
                rec["physics_pair_id"] = w.add(
                    human,
                    robot,
                    human_source=pair.row["human_source"],
                    source_start_s=start,
                    source_stop_s=start + n / fps,
                    retargeter=pair.row["retargeter"],
                    cluster=int(row["cluster"]),
                    expert=rec["expert"],
                    success=bool(res["success"]),
                    track_mpjpe_m=res["track_mpjpe_m"],
                    track_w_mpjpe_m=res["track_w_mpjpe_m"],
                    kinematic_pair_id=str(row["pair_id"]),
                    clip=pair.row["clip"],
                    chunk=pair.row["chunk"],
                    complexity=pair.row["complexity"],
                    terminated=bool(res["terminated"]),
                    tracked_s=float(res["tracked_s"]),
                )
            else:
                rec["physics_pair_id"] = ""
            rows.append(rec)
    frame = pd.DataFrame(rows)
    write_csv(out / ROLLOUT_DIR / "rollouts.csv", frame)
    return frame


def _n_true(col: pd.Series) -> int:
    return int(col.astype(str).str.lower().eq("true").sum())


def experts_summary_markdown(out_dir: str | os.PathLike) -> str:
    out = Path(out_dir)
    ex = pd.read_csv(out / EXPERTS_DIR / "summary.csv")
    settings = json.loads((out / EXPERTS_DIR / "settings.json").read_text())["settings"]
    lines = [
        "## Stage 4: experts and rollouts\n",
        "Expert settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()) + ".\n",
    ]
    ro_path = out / ROLLOUT_DIR / "rollouts.csv"
    if ro_path.is_file():
        ro = pd.read_csv(ro_path, keep_default_na=False)
        agg = []
        if "trained_on" not in ro:  # rollouts written before the column: trained refs only
            ro["trained_on"] = "True"
        seen = ro["trained_on"].astype(str).str.lower().eq("true")
        for c, g in ro.groupby("cluster"):
            for label, part in (("trained on", g[seen[g.index]]), ("other", g[~seen[g.index]])):
                if part.empty:
                    continue
                agg.append(
                    {
                        "expert": expert_name(int(c)),
                        "references": f"{len(part)} ({label})",
                        "success (whole reference)": f"{_n_true(part['success'])}/{len(part)}",
                        "kept stretches >= 2 s": int((part["kept_frames"].astype(int) > 0).sum()),
                        "mean tracked s": float(part["tracked_s"].astype(float).mean()),
                        "train wall s": float(ex.loc[ex["cluster"] == c, "train_wall_s"].iloc[0]),
                    }
                )
        lines.append(markdown_table(agg))
        if (~seen).any():
            lines.append(
                "\n'other': segments of the expert's cluster it did not train on (`cepr rollout "
                "--all-references`, after experts trained on the `max_refs` nearest the centre).\n"
            )
    return "\n".join(lines)
