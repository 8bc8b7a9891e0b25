"""``nmr-bench nmr train|eval|pairs``: train the NMR network and make held-out pair sets.

``nmr-bench nmr train --data DIR... --out RUN`` runs one training stage
(:mod:`retargeters.nmr.train`): ``--stage 1`` on kinematic pairs (default lr 2e-4), then
``--stage 2 --data PHYSICS_DIR --init RUN/model.pt`` on CEPR physics pairs (lr 1e-5). RUN gets
``model.pt`` (inference checkpoint: ``retargeters.make("nmr", checkpoint="RUN/model.pt")``),
``state.pt`` (``--resume`` continues after a kill), ``tb/`` (TensorBoard) and ``log.jsonl``.
Torch runs on ``--threads`` threads (default 1: the machine is shared). ``--balance-poses EXP``
draws training windows with probability ~ count(pose bin) ** -EXP, the bin being the target's
left/right shoulder elevation (side-symmetric), so raised and one-armed poses are seen more often
(0, the default: uniform, as the paper). ``--stitch`` joins the overlapping chunks of a clip so
that windows are cropped at any offset, not only on the 3.5-s chunk grid. ``--fk-weight W`` adds
W times a forward-kinematics loss [m] to the paper's L1: the bodies placed by the predicted root
rotation and joint angles (what inference outputs) against the target's, pelvis-relative.
``--replay DIR...`` (stage 2) mixes kinematic pairs into the fine-tuning for the clips CEPR did
not refine, drawn as ``--replay-share`` (default 0.75) of each epoch; the physics pairs get the
rest (default: the physics pairs alone, as the paper).

``nmr-bench nmr pairs SUITE --out DIR --retargeter gmr`` retargets a suite (a manifest CSV such
as ``benchmark/manifests/nmr_heldout.csv``, a folder, or ``builtin``) at 30 fps and writes
4-second pairs in the pair-dataset format, e.g. a held-out set for ``--heldout``.

``nmr-bench nmr eval --pairs DIR [--checkpoint CKPT]`` prints the full-pipeline errors of a
checkpoint against a pair set (:mod:`retargeters.nmr.evaluate`) and the body-size effect.
"""

from __future__ import annotations

import argparse
import json

NAME = "nmr"
HELP = "NMR, the neural retargeter: train it (two stages) or make pair datasets"
ORDER = 65


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="nmr_command", metavar="SUBCOMMAND", required=True)
    t = sub.add_parser("train", help="train one stage (1: kinematic pairs, 2: physics pairs)")
    t.add_argument("--data", nargs="+", required=True, metavar="DIR", help="pair dataset folders")
    t.add_argument("--out", required=True, metavar="RUN", help="run folder")
    t.add_argument("--stage", type=int, choices=(1, 2), default=1)
    t.add_argument("--init", metavar="CKPT", help="start from this checkpoint (stage 2: required)")
    t.add_argument(
        "--preset",
        default="small",
        help="network size: small (default), medium, paper or tiny (tests)",
    )
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=None, help="peak rate (default 2e-4 / 1e-5)")
    t.add_argument("--weight-decay", type=float, default=0.01)
    t.add_argument("--warmup-steps", type=int, default=100)
    t.add_argument("--window", type=int, default=120, help="frames per training window (30 fps)")
    t.add_argument("--mirror-prob", type=float, default=0.5)
    t.add_argument("--noise-prob", type=float, default=0.3)
    t.add_argument("--noise-variants", type=int, default=1)
    t.add_argument(
        "--balance-poses", type=float, default=0.0, metavar="EXP",
        help="pose-balanced sampling: draw windows ~ count(shoulder-elevation bin) ** -EXP "
        "(0: uniform, the default and the paper; 1: every pose bin equally often)",
    )  # fmt: skip
    t.add_argument(
        "--stitch", action="store_true",
        help="join overlapping chunks of one clip (CEPR's 4-s chunks every 3.5 s) and crop "
        "training windows at any offset of the joined stretch (default: each chunk is one "
        "window, as the paper)",
    )  # fmt: skip
    t.add_argument(
        "--fk-weight", type=float, default=0.0, metavar="W",
        help="weight [1/m] of a forward-kinematics loss beside the paper's L1: the mean distance "
        "between the bodies placed by the predicted joint angles and the target's, "
        "pelvis-relative (default 0: the paper's loss alone)",
    )  # fmt: skip
    t.add_argument(
        "--replay", nargs="+", default=[], metavar="DIR",
        help="stage 2: kinematic pair folders mixed into the physics pairs, for the clips CEPR "
        "did not refine (default: none, the paper's physics pairs alone)",
    )  # fmt: skip
    t.add_argument(
        "--replay-share", type=float, default=0.75, metavar="S",
        help="share of each epoch's draws taken from the --replay pairs, in (0, 1) "
        "(default %(default)s)",
    )  # fmt: skip
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--save-every", type=int, default=500, metavar="STEPS")
    t.add_argument("--eval-every", type=int, default=500, metavar="STEPS")
    t.add_argument("--heldout", nargs="*", default=[], metavar="DIR", help="held-out pair sets")
    t.add_argument("--device", default="cpu")
    t.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    t.add_argument("--limit-pairs", type=int, default=None)
    t.add_argument("--max-steps", type=int, default=None, help="stop early at this step")
    t.add_argument("--resume", action="store_true", help="continue RUN/state.pt")
    t.add_argument("--no-progress", action="store_true")
    e = sub.add_parser("eval", help="full-pipeline errors of a checkpoint against pair sets")
    e.add_argument("--pairs", nargs="+", required=True, metavar="DIR", help="pair datasets")
    e.add_argument("--checkpoint", default=None, help="checkpoint (default: the shipped one)")
    e.add_argument("--device", default="cpu")
    e.add_argument("--threads", type=int, default=1)
    e.add_argument(
        "--suite",
        default=None,
        metavar="SUITE",
        help="also retarget this suite (builtin, a folder or a manifest) with the checkpoint and "
        "report the mean of every benchmark.metrics column over its clips (the leaderboard's "
        "overall row for one checkpoint, e.g. a stage-1 vs stage-2 ablation)",
    )
    p = sub.add_parser("pairs", help="retarget a suite into 4-s pairs (held-out sets, tests)")
    p.add_argument("suite", help="builtin, a folder of human motions or a manifest CSV")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument(
        "--retargeter",
        default="gmr-safe",
        help="kinematic retargeter, the teacher (default %(default)s: the best kinematic method)",
    )
    p.add_argument("--chunk-frames", type=int, default=120)


def _train(args: argparse.Namespace) -> int:
    import torch

    from retargeters.nmr.train import TrainConfig, train

    torch.set_num_threads(max(1, args.threads))
    cfg = TrainConfig(
        data=tuple(args.data), out=args.out, stage=args.stage, preset=args.preset,
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        weight_decay=args.weight_decay, warmup_steps=args.warmup_steps, window=args.window,
        mirror_prob=args.mirror_prob, noise_prob=args.noise_prob,
        noise_variants=args.noise_variants, balance_poses=args.balance_poses, seed=args.seed,
        stitch=args.stitch, fk_weight=args.fk_weight, replay=tuple(args.replay),
        replay_share=args.replay_share,
        save_every=args.save_every,
        eval_every=args.eval_every, heldout=tuple(args.heldout), init=args.init,
        device=args.device, limit_pairs=args.limit_pairs, max_steps=args.max_steps,
        progress=not args.no_progress,
    )  # fmt: skip
    record = train(cfg, resume=args.resume)
    print(json.dumps(record["stages"][-1]["eval"], indent=1))
    return 0


def _pairs(args: argparse.Namespace) -> int:
    import retargeters
    from benchmark.suites import load_suite
    from retargeters.nmr.data import write_pairs

    suite = load_suite(args.suite)
    ret = retargeters.make(args.retargeter)
    n = write_pairs(
        ((m.name, m.load()) for m in suite), ret, args.out, chunk_frames=args.chunk_frames,
        provenance={"suite": str(args.suite), "retargeter": args.retargeter,
                    "options": ret.options(), "chunk_frames": args.chunk_frames},
        progress=True,
    )  # fmt: skip
    print(f"{n} pairs from {len(suite)} motions -> {args.out}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    import torch

    import retargeters
    from nmr_gym.suite import get_clip
    from retargeters.nmr.evaluate import height_effect, pair_errors

    torch.set_num_threads(max(1, args.threads))
    nmr = retargeters.make("nmr", checkpoint=args.checkpoint, device=args.device)
    result = {
        "checkpoint": nmr.options()["checkpoint"],
        "pairs": pair_errors(nmr, args.pairs),
        "height_effect_walk_medium": height_effect(nmr, get_clip("walk_medium").motion()),
    }
    if args.suite:
        result["suite"] = {"name": str(args.suite), **suite_metrics(nmr, args.suite)}
    print(json.dumps(result, indent=1))
    return 0


def suite_metrics(retargeter, suite_spec: str) -> dict[str, float]:
    """Mean of every ``benchmark.metrics`` column over the clips of ``suite_spec`` (each clip
    weighted once, as the leaderboards), retargeted in one batch, and the clip count."""
    import numpy as np

    from benchmark import metrics
    from benchmark.suites import load_suite

    suite = load_suite(suite_spec)
    humans = [m.load() for m in suite]
    robots = retargeter.retarget_batch(humans)
    rows = [metrics.score(r, h) for r, h in zip(robots, humans, strict=True)]
    out: dict[str, float] = {"clips": float(len(rows))}
    for col in metrics.METRIC_COLUMNS:
        vals = np.array([row[col] for row in rows], dtype=float)
        out[col] = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
    return out


def run(args: argparse.Namespace) -> int:
    return {"train": _train, "pairs": _pairs, "eval": _eval}[args.nmr_command](args)
