"""CEPR stage 3: a small motion encoder, cosine K-means over the kept segments.

The NMR paper embeds motions with TMR (a motion-text retrieval encoder) and clusters them with
cosine K-means, K unstated. No text is available here, so a small variational auto-encoder is
trained on the segments themselves (this project's own torch code, :class:`MotionVAE`):

- input: the per-frame features of :mod:`benchmark.cepr.features` (NMR's 140-dim layout),
  normalised, padded to the longest segment with a mask;
- encoder: three 1-D convolutions over time (kernel :data:`KERNEL`, GELU), a masked mean over
  the frames, a linear layer to the latent mean and log-variance (:data:`LATENT_DIM`);
- decoder: the latent with a sinusoidal code of the frame's relative time, an MLP per frame
  back to the features. Reconstructing the whole segment from one vector forces the latent to
  hold the segment's motion content (a VAE in the spirit of ACTOR/TEMOS, much smaller);
- loss: masked mean squared error + :data:`KL_WEIGHT` x KL divergence; Adam.

A segment's embedding is its latent mean. Clustering is spherical (cosine) K-means with
k-means++ seeding and :data:`N_INIT` restarts (hand-written: scikit-learn's KMeans is
Euclidean, and the project does not depend on scikit-learn); :func:`silhouette_sweep` reports
the cosine silhouette for a range of K. Every random choice comes from the stage's seed.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.cepr._store import markdown_table, provenance, write_csv, write_json
from benchmark.cepr.features import NUM_FEATURES, group_normaliser, human_features
from benchmark.cepr.sources import CeprError

LATENT_DIM = 32
HIDDEN = 128
KERNEL = 5
TIME_CODE = 16  # sinusoidal time features fed to the decoder
KL_WEIGHT = 1e-3
LEARNING_RATE = 1e-3
BATCH_SIZE = 64
N_INIT = 10  # K-means restarts (the best total cosine similarity wins)
MAX_KMEANS_ITERS = 100
N_NEAREST = 3  # segments listed per cluster centre in the report

STAGE_DIR = "cluster"


# ------------------------------------------------------------------------------ encoder
def _time_code(n: int, length: np.ndarray) -> np.ndarray:
    """(B, n, TIME_CODE) sin/cos of each frame's time relative to its segment's length."""
    t = np.arange(n)[None, :] / np.maximum(length[:, None] - 1, 1)  # (B, n) in [0, 1]
    freqs = np.pi * 2.0 ** np.arange(TIME_CODE // 2)
    ang = t[..., None] * freqs
    return np.concatenate([np.sin(ang), np.cos(ang)], axis=-1).astype(np.float32)


def _build_vae(n_features: int = NUM_FEATURES, latent: int = LATENT_DIM, hidden: int = HIDDEN):
    import torch
    from torch import nn

    class MotionVAE(nn.Module):
        """Segment (B, T, F) + mask (B, T) -> latent mean/log-variance; latent -> frames."""

        def __init__(self) -> None:
            super().__init__()
            pad = KERNEL // 2
            self.enc = nn.Sequential(
                nn.Conv1d(n_features, hidden, KERNEL, padding=pad),
                nn.GELU(),
                nn.Conv1d(hidden, hidden, KERNEL, padding=pad),
                nn.GELU(),
                nn.Conv1d(hidden, hidden, KERNEL, padding=pad),
                nn.GELU(),
            )
            self.head = nn.Linear(hidden, 2 * latent)
            self.dec = nn.Sequential(
                nn.Linear(latent + TIME_CODE, hidden),
                nn.GELU(),
                nn.Linear(hidden, hidden),
                nn.GELU(),
                nn.Linear(hidden, n_features),
            )

        def encode(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            h = self.enc(x.transpose(1, 2)).transpose(1, 2)  # (B, T, H)
            m = mask[..., None]
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
            mu, logvar = self.head(pooled).chunk(2, dim=-1)
            return mu, logvar.clamp(-10.0, 10.0)

        def decode(self, z: torch.Tensor, tcode: torch.Tensor) -> torch.Tensor:
            zz = z[:, None, :].expand(-1, tcode.shape[1], -1)
            return self.dec(torch.cat([zz, tcode], dim=-1))

    return MotionVAE()


def _batch(feats: list[np.ndarray], idx: np.ndarray):
    import torch

    n = max(len(feats[i]) for i in idx)
    x = np.zeros((len(idx), n, NUM_FEATURES), np.float32)
    mask = np.zeros((len(idx), n), np.float32)
    lengths = np.array([len(feats[i]) for i in idx])
    for b, i in enumerate(idx):
        x[b, : len(feats[i])] = feats[i]
        mask[b, : len(feats[i])] = 1.0
    return (torch.from_numpy(x), torch.from_numpy(mask), torch.from_numpy(_time_code(n, lengths)))


def train_encoder(
    features: list[np.ndarray], *, epochs: int, seed: int = 0
) -> tuple[Any, list[float]]:
    """Train a :class:`MotionVAE` on normalised segment features; (model, loss per epoch)."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = _build_vae()
    opt = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    losses = []
    for _ in range(int(epochs)):
        order = rng.permutation(len(features))
        total, count = 0.0, 0
        for s in range(0, len(order), BATCH_SIZE):
            x, mask, tcode = _batch(features, order[s : s + BATCH_SIZE])
            mu, logvar = model.encode(x, mask)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            rec = model.decode(z, tcode)
            se = ((rec - x) ** 2).mean(-1)
            rec_loss = (se * mask).sum() / mask.sum()
            kl = -0.5 * torch.mean(torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=-1))
            loss = rec_loss + KL_WEIGHT * kl
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(x)
            count += len(x)
        losses.append(total / max(count, 1))
    return model, losses


def embed(model: Any, features: list[np.ndarray]) -> np.ndarray:
    """(N, LATENT_DIM) latent means of the segments."""
    import torch

    out = []
    with torch.no_grad():
        for s in range(0, len(features), BATCH_SIZE):
            x, mask, _ = _batch(features, np.arange(s, min(s + BATCH_SIZE, len(features))))
            out.append(model.encode(x, mask)[0].numpy())
    return np.concatenate(out, axis=0)


# ------------------------------------------------------------------------ cosine K-means
def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def cosine_kmeans(
    x: np.ndarray, k: int, *, seed: int = 0, n_init: int = N_INIT
) -> tuple[np.ndarray, np.ndarray]:
    """Spherical K-means of the rows of ``x`` (N, D): (labels (N,), unit centres (k, D)).

    Assignment by largest cosine similarity, centres the normalised mean of their members,
    k-means++ seeding on the cosine distance; the restart with the largest total similarity
    wins. An emptied cluster is re-seeded with the point farthest from its centre.
    """
    u = _unit(np.asarray(x, dtype=float))
    n = len(u)
    if not 1 <= k <= n:
        raise CeprError(f"K = {k} clusters needs 1 <= K <= the number of segments ({n})")
    rng = np.random.default_rng(seed)
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for _ in range(n_init):
        centres = [u[rng.integers(n)]]
        for _ in range(1, k):
            d = np.clip(1.0 - (u @ np.array(centres).T).max(axis=1), 0.0, None)
            p = d / d.sum() if d.sum() > 0 else np.full(n, 1.0 / n)
            centres.append(u[rng.choice(n, p=p)])
        c = np.array(centres)
        labels = np.full(n, -1)
        for _ in range(MAX_KMEANS_ITERS):
            sim = u @ c.T
            new = sim.argmax(axis=1)
            if np.array_equal(new, labels):
                break
            labels = new
            for j in range(k):
                members = u[labels == j]
                if len(members):
                    c[j] = _unit(members.sum(axis=0))
                else:
                    far = int(np.argmin(sim[np.arange(n), labels]))
                    c[j] = u[far]
                    labels[far] = j
        score = float((u * c[labels]).sum())
        if best is None or score > best[0]:
            best = (score, labels.copy(), c.copy())
    assert best is not None
    return best[1], best[2]


def silhouette(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette coefficient with the cosine distance (NaN for fewer than 2 clusters)."""
    u = _unit(np.asarray(x, dtype=float))
    ks = np.unique(labels)
    if len(ks) < 2 or len(ks) >= len(u):
        return math.nan
    d = np.clip(1.0 - u @ u.T, 0.0, 2.0)
    s = np.zeros(len(u))
    for i in range(len(u)):
        own = labels == labels[i]
        if own.sum() <= 1:
            continue  # a singleton's silhouette is 0 by convention
        a = d[i, own].sum() / (own.sum() - 1)
        b = min(d[i, labels == j].mean() for j in ks if j != labels[i])
        s[i] = (b - a) / max(a, b, 1e-12)
    return float(s.mean())


def silhouette_sweep(x: np.ndarray, ks: range | list[int], seed: int = 0) -> list[dict]:
    """Cosine silhouette of cosine K-means for each K in ``ks`` (those <= the point count)."""
    return [
        {"k": int(k), "silhouette": silhouette(x, cosine_kmeans(x, int(k), seed=seed)[0])}
        for k in ks
        if 2 <= k < len(x)
    ]


# ------------------------------------------------------------------------------- stage
def _figure(path: Path, emb: np.ndarray, labels: np.ndarray, classes: list[str]) -> None:
    """2-D PCA of the unit embeddings, coloured by cluster and by complexity class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nmr_gym.io.atomic import atomic_path

    u = _unit(emb)
    c = u - u.mean(axis=0)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    xy = c @ vt[:2].T
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.5))
    for j in np.unique(labels):
        m = labels == j
        ax[0].scatter(xy[m, 0], xy[m, 1], s=10, label=f"cluster {j} ({m.sum()})")
    ax[0].set_title("segments by cluster")
    for cls in ("ULOM", "WBPM", "WBCM"):
        m = np.array([c == cls for c in classes])
        if m.any():
            ax[1].scatter(xy[m, 0], xy[m, 1], s=10, label=f"{cls} ({m.sum()})")
    ax[1].set_title("segments by complexity class")
    for a in ax:
        a.set_xlabel("PC 1")
        a.set_ylabel("PC 2")
        a.legend(fontsize=7, markerscale=1.5)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


def cluster_settings(k: int, epochs: int, seed: int) -> dict[str, Any]:
    return {
        "k": int(k),
        "epochs": int(epochs),
        "seed": int(seed),
        "latent": LATENT_DIM,
        "hidden": HIDDEN,
        "kl_weight": KL_WEIGHT,
        "version": 1,
    }


def kinematic_dataset_path(out_dir: Path) -> Path:
    from benchmark.cepr.retarget import STAGE_DIR as RETARGET_DIR

    summary = Path(out_dir) / RETARGET_DIR / "summary.json"
    if not summary.is_file():
        raise CeprError(f"{out_dir}: stage 2 (retarget) has not finished; run it first")
    return Path(json.loads(summary.read_text())["dataset"])


def run_cluster(
    out_dir: str | os.PathLike,
    *,
    k: int,
    epochs: int = 50,
    seed: int = 0,
    k_range: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """Stage 3 on the curated kinematic pairs of ``OUT``: trains the encoder, embeds every
    segment, clusters them; writes ``OUT/cluster/{clusters.csv, summary.json, embedding.png,
    encoder.pt, embeddings.npz}`` (clusters.csv last). Returns the segment table with its
    cluster. A finished stage with the same settings is not redone."""
    import torch

    from nmr_gym.datasets import PairDataset

    out = Path(out_dir)
    stage = out / STAGE_DIR
    settings = cluster_settings(k, epochs, seed)
    done = stage / "clusters.csv"
    summary_path = stage / "summary.json"
    if done.is_file() and summary_path.is_file():
        if json.loads(summary_path.read_text()).get("settings") == settings:
            return pd.read_csv(done, keep_default_na=False)
    ds = PairDataset(kinematic_dataset_path(out))
    sel = np.flatnonzero(ds.manifest["curated"].astype(str).str.lower().eq("true").to_numpy())
    if k > len(sel):
        raise CeprError(
            f"--k {k} is larger than the number of curated, hard-filtered segments ({len(sel)})"
        )
    feats = []
    for i in sel:
        a = ds.arrays(int(i))
        height = float(ds.manifest["human_height"].iloc[int(i)])
        feats.append(human_features(a["human_joint_pos"], a["human_joint_quat"], height))
    mean, std = group_normaliser(feats)
    normed = [(f - mean) / std for f in feats]
    model, losses = train_encoder(normed, epochs=epochs, seed=seed)
    emb = embed(model, normed)
    labels, centres = cosine_kmeans(emb, k, seed=seed)
    sim = (_unit(emb) * centres[labels]).sum(axis=1)
    table = ds.manifest.iloc[sel][
        [
            "pair_id",
            "clip",
            "chunk",
            "human_source",
            "source_start_s",
            "source_stop_s",
            "frames",
            "complexity",
            "clip_complexity",
        ]
    ].reset_index(drop=True)
    table["cluster"] = labels
    table["cos_to_centre"] = sim
    lo, hi = k_range or (2, min(12, len(sel) - 1))
    sweep = silhouette_sweep(emb, range(lo, hi + 1), seed=seed) if len(sel) > 2 else []
    nearest = {}
    for j in range(k):
        m = table[table["cluster"] == j].sort_values("cos_to_centre", ascending=False)
        nearest[int(j)] = m.head(N_NEAREST)[
            ["pair_id", "clip", "source_start_s", "cos_to_centre"]
        ].to_dict("records")
    sizes = table.groupby("cluster").size().reindex(range(k), fill_value=0)
    by_class = pd.crosstab(table["cluster"], table["complexity"]).reindex(range(k), fill_value=0)
    summary = {
        "settings": settings,
        "segments": int(len(sel)),
        "sizes": {int(j): int(v) for j, v in sizes.items()},
        "classes": {int(j): {c: int(v) for c, v in row.items()} for j, row in by_class.iterrows()},
        "silhouette": silhouette(emb, labels),
        "silhouette_sweep": sweep,
        "nearest": nearest,
        "encoder_loss_first_last": [losses[0], losses[-1]] if losses else [],
        "provenance": provenance("cepr cluster", settings, seed),
    }
    stage.mkdir(parents=True, exist_ok=True)
    from nmr_gym.io.atomic import atomic_path

    with atomic_path(stage / "encoder.pt") as tmp:
        torch.save(
            {"state_dict": model.state_dict(), "mean": mean, "std": std, "settings": settings}, tmp
        )
    with atomic_path(stage / "embeddings.npz") as tmp:
        np.savez(tmp, pair_id=table["pair_id"].to_numpy(str), embedding=emb, centres=centres)
    _figure(stage / "embedding.png", emb, labels, table["complexity"].tolist())
    write_json(summary_path, summary)
    write_csv(done, table)
    return table


def cluster_summary_markdown(out_dir: str | os.PathLike) -> str:
    s = json.loads((Path(out_dir) / STAGE_DIR / "summary.json").read_text())
    k = s["settings"]["k"]
    rows = []
    for j in range(k):
        cls = s["classes"].get(str(j), {})
        near = "; ".join(
            f"{n['clip']} @ {float(n['source_start_s']):.1f} s ({float(n['cos_to_centre']):.2f})"
            for n in s["nearest"].get(str(j), [])
        )
        rows.append(
            {
                "cluster": j,
                "segments": s["sizes"].get(str(j), 0),
                "ULOM": cls.get("ULOM", 0),
                "WBPM": cls.get("WBPM", 0),
                "WBCM": cls.get("WBCM", 0),
                "nearest the centre (cosine)": near,
            }
        )
    sweep = ", ".join(f"K={r['k']}: {r['silhouette']:.3f}" for r in s["silhouette_sweep"])
    return "\n".join(
        [
            "## Stage 3: clustering\n",
            f"A motion VAE (latent {s['settings']['latent']}, {s['settings']['epochs']} epochs, "
            f"seed {s['settings']['seed']}) on {s['segments']} curated segments; cosine K-means "
            f"with K = {k}, cosine silhouette {s['silhouette']:.3f}. Silhouette by K: "
            f"{sweep or '(too few segments)'}.\n",
            markdown_table(rows),
            "![embedding](cluster/embedding.png)\n",
        ]
    )
