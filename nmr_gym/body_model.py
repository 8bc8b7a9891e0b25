"""SMPL-family body models: rest joints of a body shape, exact (smplx) or built-in.

An SMPL / SMPL+H / SMPL-X motion is a root translation ``trans``, local joint rotations and a
shape ``betas``. Its joints follow from the *rest joints* of the shaped body (where each joint
sits in the zero pose) by forward kinematics:

- with the user's model files (``smpl_models_dir=`` or ``$NMR_GYM_SMPL_MODELS``), the rest
  joints come from ``smplx`` exactly: ``J = J_regressor · (v_template + shapedirs · betas)``,
  as in SMPL's ``lbs`` (pose blend shapes move vertices, never joints, so forward kinematics of
  these rest joints reproduces ``smplx``'s joints to float precision);
- without them, the built-in SMPL-topology skeleton of :mod:`nmr_gym.skeleton` scaled to a
  height (GMR's rule: ``1.66 + 0.1 * betas[0]`` m when betas are known, else
  ``skeleton.DEFAULT_HEIGHT``), placed at an approximate SMPL template pelvis location
  :data:`TEMPLATE_PELVIS`. The fallback is logged once per process.

SMPL places the pelvis at ``trans + J[0]`` (``J[0]`` is *not* rotated by the root orientation),
which both models reproduce; the built-in one only approximately, because its ``J[0]`` is a
per-model-type constant.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nmr_gym import paths
from nmr_gym import skeleton as sk
from nmr_gym.errors import ModelNotFoundError

log = logging.getLogger(__name__)

MODEL_TYPES = ("smpl", "smplh", "smplx")
GENDERS = ("neutral", "male", "female")

#: GMR's height rule for AMASS subjects without model files: height = base + slope * betas[0].
GMR_HEIGHT_BASE = 1.66  # [m]
GMR_HEIGHT_PER_BETA0 = 0.1  # [m]
#: Approximate rest pelvis location J[0] [m] of each template in SMPL's body frame (x left,
#: y up, z forward), i.e. where the pelvis sits relative to the model origin. SMPL/SMPL+H:
#: (0.009, -0.222, ...) measured from ASAP's SMPL-neutral joints (pelvis - trans, zero betas);
#: the forward component and SMPL-X's values are those of the released neutral templates
#: (rounded to ~5 mm). Only the built-in model uses these.
TEMPLATE_PELVIS = {
    "smpl": np.array([0.002, -0.222, 0.028]),
    "smplh": np.array([0.002, -0.222, 0.028]),
    "smplx": np.array([0.003, -0.351, 0.012]),
}
#: Finger base joints (index1, middle1, ring1, pinky1) of each hand in the SMPL+H / SMPL-X joint
#: order: SMPL's separate hand joint (22/23) is placed at their centroid in the rest pose.
_FINGER_BASES = {
    "smplh": ((22, 25, 31, 28), (37, 40, 46, 43)),
    "smplx": ((25, 28, 34, 31), (40, 43, 49, 46)),
}

_fallback_logged = False


def gmr_height(betas: np.ndarray | None) -> float:
    """Body height [m] from betas by GMR's rule; ``skeleton.DEFAULT_HEIGHT`` without betas."""
    if betas is None or np.size(betas) == 0:
        return sk.DEFAULT_HEIGHT
    h = GMR_HEIGHT_BASE + GMR_HEIGHT_PER_BETA0 * float(np.ravel(betas)[0])
    return float(np.clip(h, 1.0, 2.3))


@dataclass
class RestBody:
    """Rest joints of one body shape in SMPL's body frame (y up), relative to the model origin.

    ``joints`` (24, 3): SMPL's 24 joints (hand joints 22/23 from the finger bases for SMPL+H /
    SMPL-X, whose own joint 22 is a finger joint); ``height`` [m]; ``exact`` is True when the
    joints come from the user's model files.
    """

    joints: np.ndarray
    height: float
    exact: bool
    model: str
    info: dict = field(default_factory=dict)

    @property
    def offsets(self) -> np.ndarray:
        """Rest offset of each joint from its parent (24, 3); the root's is J[0]."""
        parents = np.array(sk.SMPL_PARENTS)
        off = self.joints.copy()
        off[1:] -= self.joints[parents[1:]]
        return off


def builtin_rest_body(model_type: str = "smpl", height: float | None = None) -> RestBody:
    """The built-in skeleton of ``height`` placed at the template's approximate pelvis."""
    height = sk.DEFAULT_HEIGHT if height is None else float(height)
    off = sk.rest_offsets(height)
    joints = np.zeros((sk.NUM_JOINTS, 3))
    joints[0] = TEMPLATE_PELVIS[model_type]
    for j in range(1, sk.NUM_JOINTS):
        joints[j] = joints[sk.SMPL_PARENTS[j]] + off[j]
    return RestBody(joints, height, exact=False, model=f"builtin:{model_type}")


def _log_fallback_once(reason: str) -> None:
    global _fallback_logged
    if not _fallback_logged:
        _fallback_logged = True
        log.info(
            "%s; using nmr-gym's built-in SMPL-topology skeleton scaled to the body height "
            "(set $%s or pass smpl_models_dir= for exact SMPL joints)",
            reason,
            paths.SMPL_MODELS_ENV_VAR,
        )


def _expected_files(model_type: str, gender: str) -> list[str]:
    stem = {"smpl": "SMPL", "smplh": "SMPLH", "smplx": "SMPLX"}[model_type]
    exts = ("pkl",) if model_type == "smpl" else ("npz", "pkl")
    return [f"{model_type}/{stem}_{gender.upper()}.{e}" for e in exts]


def find_model_file(folder: Path, model_type: str, gender: str) -> Path | None:
    """The model file smplx.create would load from ``folder`` (also accepts a flat folder)."""
    for rel in _expected_files(model_type, gender):
        for cand in (folder / rel, folder / Path(rel).name):
            if cand.is_file():
                return cand
    return None


def smplx_rest_body(
    folder: str | os.PathLike,
    model_type: str,
    gender: str,
    betas: np.ndarray | None,
) -> RestBody:
    """Exact rest joints from the user's SMPL / SMPL+H / SMPL-X model files via ``smplx``.

    Raises ModelNotFoundError naming the folder and the files looked for when it lacks them.
    """
    folder = Path(folder)
    gender = gender if gender in GENDERS else "neutral"
    model_file = find_model_file(folder, model_type, gender)
    if model_file is None:
        wanted = " or ".join(_expected_files(model_type, gender))
        raise ModelNotFoundError(
            f"SMPL model folder {folder} has no {model_type} model for gender {gender!r}: "
            f"looked for {wanted} (smplx's layout; download the models from the SMPL / "
            "SMPL+H (MANO) / SMPL-X websites)"
        )
    import smplx
    import torch

    betas = np.zeros(0) if betas is None else np.ravel(np.asarray(betas, dtype=np.float64))
    kwargs = dict(model_type=model_type, gender=gender, ext=model_file.suffix[1:])
    n_betas = max(len(betas), 1)
    if model_type != "smpl":
        kwargs["use_pca"] = False
    try:
        model = smplx.create(str(model_file), num_betas=n_betas, **kwargs)
    except Exception as exc:  # smplx raises assertion/pickle/key errors on bad files
        raise ModelNotFoundError(f"{model_file}: smplx could not load it ({exc})") from None
    shapedirs = model.shapedirs.detach().to(torch.float64).numpy()  # (V, 3, B)
    if model_file.suffix == ".npz" and shapedirs.shape[-1] < len(betas):
        # smplx caps SMPL+H at 10 shape components when a file has fewer than 300, but AMASS
        # fits use all 16 of the AMASS SMPL+H files: read the file's own shape basis.
        try:
            with np.load(model_file, allow_pickle=False) as data:
                full = np.asarray(data["shapedirs"], dtype=np.float64)
            if full.ndim == 3 and full.shape[:2] == shapedirs.shape[:2]:
                shapedirs = full
        except (KeyError, ValueError, OSError):
            pass  # keep smplx's basis
    n_used = min(len(betas), shapedirs.shape[-1])
    v = model.v_template.detach().to(torch.float64).numpy()
    if n_used:
        v = v + shapedirs[:, :, :n_used] @ betas[:n_used]
    jreg = model.J_regressor.detach().to(torch.float64).numpy()
    all_joints = jreg @ v  # (num model joints, 3)
    joints = np.empty((sk.NUM_JOINTS, 3))
    joints[:22] = all_joints[:22]
    if model_type == "smpl":
        joints[22:] = all_joints[22:24]
    else:
        for side, idx in enumerate(_FINGER_BASES[model_type]):
            joints[22 + side] = all_joints[list(idx)].mean(axis=0)
    height = float(v[:, 1].max() - v[:, 1].min())
    info = {"model_file": str(model_file), "betas_used": n_used, "betas_given": len(betas)}
    if n_used < len(betas):
        log.info(
            "%s has %d shape components; using the first %d of %d betas",
            model_file,
            shapedirs.shape[-1],
            n_used,
            len(betas),
        )
    return RestBody(joints, height, exact=True, model=f"smplx:{model_type}", info=info)


def rest_body(
    model_type: str,
    gender: str = "neutral",
    betas: np.ndarray | None = None,
    *,
    smpl_models_dir: str | os.PathLike | None = None,
    height: float | None = None,
) -> RestBody:
    """Rest joints for a body: exact with model files, else the built-in skeleton.

    ``height`` [m] scales the built-in skeleton (default: :func:`gmr_height` of ``betas``);
    with model files the joints follow from ``betas`` and ``height`` only overrides the
    reported height.
    """
    if model_type not in MODEL_TYPES:
        raise ValueError(f"model_type must be one of {MODEL_TYPES}, got {model_type!r}")
    folder = paths.smpl_models_dir(smpl_models_dir)
    if folder is not None:
        if not folder.is_dir():
            raise ModelNotFoundError(
                f"SMPL model folder {folder} does not exist (from "
                f"{'smpl_models_dir=' if smpl_models_dir else '$' + paths.SMPL_MODELS_ENV_VAR})"
            )
        body = smplx_rest_body(folder, model_type, gender, betas)
        if height is not None:
            body.height = float(height)
        return body
    _log_fallback_once("no SMPL model files given")
    h = gmr_height(betas) if height is None else float(height)
    return builtin_rest_body(model_type, h)
