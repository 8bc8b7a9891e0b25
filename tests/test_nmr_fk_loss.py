"""NMR's forward-kinematics training loss: torch FK against MuJoCo and the loss's invariants
(a training run with the loss: ``tests/test_nmr_train.py``)."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
import torch
from _helpers import random_g1_qpos

from nmr_gym import rotations as rot
from nmr_gym.g1 import kinematic_model, spec
from nmr_gym.motion import forward_kinematics
from retargeters.nmr import torch_fk
from retargeters.nmr.features import OUT_DIM, OUT_SLICES, robot_features
from retargeters.nmr.train import fk_body_error, fk_loss

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_torch_fk_matches_mujoco_kinematics():
    m = kinematic_model()
    d = mujoco.MjData(m)
    ids = [m.body(name).id for name in spec.BODY_NAMES]
    qpos = random_g1_qpos(6, seed=0)
    got = torch_fk.body_pos_rel(
        torch.as_tensor(rot.to_6d(qpos[:, 3:7])), torch.as_tensor(qpos[:, 7:])
    ).numpy()  # (6, 30, 3)
    for k in range(len(qpos)):
        d.qpos[:] = qpos[k]
        mujoco.mj_kinematics(m, d)
        np.testing.assert_allclose(got[k], d.xpos[ids] - d.xpos[ids[0]], atol=1e-12)


def test_fk_error_is_zero_on_the_target_and_measures_a_joint_error_through_its_lever():
    qpos = random_g1_qpos(5, seed=1)[None]  # (1, 5, 36)
    body_pos = forward_kinematics(kinematic_model(), qpos[0])[0][None]  # (1, 5, 30, 3)
    y = torch.as_tensor(robot_features(qpos, body_pos), dtype=torch.float64)
    assert y.shape[-1] == OUT_DIM
    assert float(fk_body_error(y, y).abs().max()) < 1e-5  # features are float32
    # turning the left knee moves only the bodies below it, each by chord = 2 r sin(a / 2)
    moved = y.clone()
    knee = OUT_SLICES["joint_pos"].start + spec.JOINT_NAMES.index("left_knee_joint")
    moved[..., knee] += 0.2
    err = fk_body_error(moved, y)  # (1, 5, 30)
    below = [spec.BODY_NAMES.index(b) for b in ("left_ankle_pitch_link", "left_ankle_roll_link")]
    others = [i for i in range(spec.NUM_BODIES) if i not in below]
    shin = spec.BODY_NAMES.index("left_knee_link")
    assert float(err[..., others].abs().max()) < 1e-5
    r = torch_fk.body_pos_from_joints(y[..., OUT_SLICES["joint_pos"]])
    lever = (r[..., below[0], :] - r[..., shin, :]).norm(dim=-1)
    torch.testing.assert_close(err[..., below[0]], 2 * lever * np.sin(0.1), atol=2e-5, rtol=0)
    mask = torch.ones(1, 5, dtype=torch.bool)
    assert float(fk_loss(moved, y, mask)) == pytest.approx(float(err.mean()), rel=1e-9)
    mask[0, :] = False
    assert float(fk_loss(moved, y, mask)) == 0.0  # no valid frame, no loss


def test_fk_loss_gradient_reaches_the_joint_angles_and_the_root_rotation():
    qpos = random_g1_qpos(4, seed=2)[None]
    body_pos = forward_kinematics(kinematic_model(), qpos[0])[0][None]
    y = torch.as_tensor(robot_features(qpos, body_pos), dtype=torch.float64)
    pred = y + 0.05 * torch.randn_like(y, generator=torch.Generator().manual_seed(0))
    pred.requires_grad_(True)
    fk_loss(pred, y, torch.ones(1, 4, dtype=torch.bool)).backward()
    g = pred.grad
    assert float(g[..., OUT_SLICES["joint_pos"]].abs().sum()) > 0
    assert float(g[..., OUT_SLICES["root_rot_6d"]].abs().sum()) > 0
    for name in ("root_vel_xy", "body_pos", "body_vel"):  # only the target side reads these
        assert float(g[..., OUT_SLICES[name]].abs().sum()) == 0
