"""The NMR network: preset sizes, shapes, masking of padded tokens."""

from __future__ import annotations

import pytest
import torch

from retargeters.nmr.model import PRESETS, NMRConfig, NMRNet, _TransformerLayer, count_parameters


def test_paper_preset_has_the_released_size_and_small_fits_the_shipping_budget():
    # NMR's public inference release runs a 41.25M-parameter network
    assert abs(count_parameters(NMRNet(PRESETS["paper"])) - 41.25e6) < 0.01e6
    small = count_parameters(NMRNet(PRESETS["small"]))
    assert small * 4 < 20e6  # float32 weights under 20 MB
    # medium (the shipped size) sits between them, also under the budget, at the window length
    medium = NMRNet(PRESETS["medium"]).eval()
    assert small < count_parameters(medium) < 5 * small
    assert count_parameters(medium) * 4 < 20e6
    assert medium(torch.randn(1, 120, 140)).shape == (1, 120, 217)


def test_shapes_and_length_check():
    torch.manual_seed(0)
    net = NMRNet(PRESETS["tiny"]).eval()
    y = net(torch.randn(2, 40, 140))
    assert y.shape == (2, 40, 217)
    with pytest.raises(ValueError, match="multiple of 4"):
        net(torch.randn(1, 42, 140))


def test_attention_ignores_padded_tokens():
    torch.manual_seed(0)
    layer = _TransformerLayer(NMRConfig(width=32, heads=4, ffn_hidden=64, dropout=0.0)).eval()
    x = torch.randn(1, 10, 32)
    valid = torch.tensor([[True] * 7 + [False] * 3])
    a = layer(x, valid)
    x2 = x.clone()
    x2[:, 7:] = 100.0 * torch.randn(1, 3, 32)
    b = layer(x2, valid)
    torch.testing.assert_close(a[:, :7], b[:, :7])
    c = layer(x2, torch.ones_like(valid))
    assert (c[:, :7] - a[:, :7]).abs().max() > 1e-3  # unmasked, the padding would leak in


def test_config_round_trip():
    cfg = PRESETS["small"]
    assert NMRConfig.from_dict(cfg.to_dict()) == cfg
