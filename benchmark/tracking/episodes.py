"""Episode running and scoring on the evaluation environment ``NMRTrack-G1-Eval-v0``.

Per clip (one episode from frame 0, no noise, pushes or randomisation):

- ``success``: 1 when both rules hold, else 0: (a) no early termination through the clip
  (BeyondMimic/mjlab) and (b) PHC's rule: the mean distance of the 14 tracked bodies to the
  reference never exceeds :data:`PHC_FAIL_DISTANCE` (0.5 m). Each rule is also reported
  (``success_no_termination``, ``success_phc``).
- ``track_mpjpe_m``: root-relative MPJPE over the 14 bodies [m] (pelvis subtracted from robot
  and reference); ``track_w_mpjpe_m``: world-frame MPJPE [m]; both averaged over the frames the
  episode lasted.
- ``track_w_mpjpe_clip_m``: W-MPJPE over the whole clip, the frames after an early
  termination counted at PHC's failure distance (0.5 m), so failing early scores worse.
- ``track_joint_error_rad``: mean absolute joint position error [rad]; ``episode_length`` and
  ``clip_length`` [control steps].

Rows are keyed by ``motion`` and ``retargeter`` like the benchmark's rows, so
``benchmark.results.merge_tracking`` joins them to a results table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmark.tracking.policies import Policy
from nmr_gym.g1 import spec
from nmr_gym.motion import RobotMotion

#: PHC's failure distance: mean body distance to the reference above this fails a clip [m].
PHC_FAIL_DISTANCE = 0.5


def run_episode(
    env: Any, policy: Policy, clip: int = 0, start: int = 0, *, record_qpos: bool = False
) -> dict[str, Any]:
    """One evaluation episode of clip ``clip`` from frame ``start`` to the clip's end;
    per-frame arrays and how it ended. ``record_qpos`` adds the simulated ``qpos``
    (steps + 1, 36) at the control rate."""
    u = env.unwrapped
    obs, _ = env.reset(options={"clip": clip, "frame": start})
    start = u.clip_frame  # as the env clamps it
    rob, ref, qerr = [u.robot_body_pos_w()], [u.reference_body_pos_w()], []
    qpos = [u.data.qpos.copy()] if record_qpos else None
    terminated = False
    reason = ""
    steps = 0
    while True:
        obs, _, terminated, truncated, info = env.step(policy(obs, u))
        steps += 1
        if qpos is not None:
            qpos.append(u.data.qpos.copy())
        rob.append(u.robot_body_pos_w())
        ref.append(u.reference_body_pos_w())
        qerr.append(info["error_joint_pos"])
        if terminated or truncated:
            reason = info["termination"]
            break
    ep = {
        "robot_body_pos_w": np.array(rob),  # (steps + 1, 14, 3)
        "reference_body_pos_w": np.array(ref),
        "joint_error": np.array(qerr),  # (steps,)
        "terminated": bool(terminated),
        "termination": reason,
        "steps": steps,
        "clip_steps": int(u.library.clip_length[clip]) - 1 - start,
    }
    if qpos is not None:
        ep["qpos"] = np.array(qpos)  # (steps + 1, 36)
    return ep


def score_episode(ep: dict[str, Any]) -> dict[str, Any]:
    """Success (both rules), MPJPE, W-MPJPE, joint error and length of one episode."""
    rob, ref = ep["robot_body_pos_w"], ep["reference_body_pos_w"]
    dist = np.linalg.norm(rob - ref, axis=-1)  # (F, 14)
    root = spec.TRACKED_BODIES.index(spec.ROOT_BODY)
    rel = np.linalg.norm((rob - rob[:, root : root + 1]) - (ref - ref[:, root : root + 1]), axis=-1)
    phc_ok = bool(dist.mean(axis=1).max() <= PHC_FAIL_DISTANCE)
    no_term = not ep["terminated"] and ep["steps"] >= ep["clip_steps"]
    # Over the whole clip, frames after an early end counted at PHC's failure distance.
    missing = max(ep["clip_steps"] + 1 - dist.shape[0], 0)
    full = (dist.mean(axis=1).sum() + missing * PHC_FAIL_DISTANCE) / (dist.shape[0] + missing)
    return {
        "success": float(no_term and phc_ok),
        "success_no_termination": float(no_term),
        "success_phc": float(phc_ok),
        "track_mpjpe_m": float(rel.mean()),
        "track_w_mpjpe_m": float(dist.mean()),
        "track_w_mpjpe_clip_m": float(full),
        "track_joint_error_rad": float(ep["joint_error"].mean()) if ep["steps"] else 0.0,
        "episode_length": int(ep["steps"]),
        "clip_length": int(ep["clip_steps"]),
        "termination": ep["termination"],
    }


def evaluate(
    motions: Sequence[RobotMotion],
    policy: Policy,
    names: Sequence[str] | None = None,
    retargeters: Sequence[str] | None = None,
    obs_mode: str | None = None,
    tracker: str = "policy",
) -> list[dict[str, Any]]:
    """Rows (one per motion) of tracking results with ``motion`` and ``retargeter`` keys.

    ``obs_mode``: the env's observation; None = the policy's own (``policy.obs_mode``, as a
    loaded :class:`SB3Policy` has), else "actor". The env's action offset is the policy's
    (``policy.action_offset``, default "default")."""
    from nmr_gym.envs import G1TrackingEnv

    if obs_mode is None:
        obs_mode = getattr(policy, "obs_mode", "actor")
    rows = []
    for i, motion in enumerate(motions):
        env = G1TrackingEnv(
            motion,
            evaluation=True,
            obs_mode=obs_mode,
            action_offset=getattr(policy, "action_offset", "default"),
        )
        row = {
            "motion": names[i] if names else str(motion.metadata.get("name") or motion.source),
            "retargeter": retargeters[i]
            if retargeters
            else str(motion.metadata.get("retargeter", "")),
            "tracker": tracker,
        }
        row.update(score_episode(run_episode(env, policy)))
        env.close()
        rows.append(row)
    return rows
