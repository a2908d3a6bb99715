"""Compact models: save/load, masked fine-tuning, fine-tuning and iterative pruning."""
from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from hgsr import data as hdata
from hgsr import measure, models
from hgsr import prune as P


def pruned_resnet():
    torch.manual_seed(0)
    m = models.build("resnet20").eval()
    plan = P.select(P.magnitude_scores(m, (3, 32, 32)), fraction=0.3, scope="layer")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return P.prune(m, plan, (3, 32, 32))


def test_save_load_round_trip(tmp_path):
    c = pruned_resnet()
    path = P.save_compact(c, tmp_path / "c.pt", builder=dict(name="resnet20", num_classes=10))
    back = P.load_compact(path).eval()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(back(x), c.eval()(x))
    assert measure.count_params(back) == measure.count_params(c)
    assert P.widths(back, (3, 32, 32)) == P.widths(c, (3, 32, 32))


def test_round_trip_keeps_a_folded_bias(tmp_path):
    m = models.build("vgg", cfg=[8, "M", 8], in_channels=1, image_size=12).eval()
    with torch.no_grad():
        m.features[4].weight[2] = 0  # last conv: its constant is folded into the classifier bias
    c = P.prune(m, {"features.4": [2]}, (1, 12, 12))
    P.save_compact(c, tmp_path / "v.pt", builder=dict(name="vgg", cfg=[8, "M", 8], in_channels=1, image_size=12))
    back = P.load_compact(tmp_path / "v.pt").eval()
    x = torch.randn(2, 1, 12, 12)
    with torch.no_grad():
        assert (back(x) - m(x)).abs().max() <= 1e-5


def test_wrong_architecture_is_a_clear_error(tmp_path):
    path = P.save_compact(pruned_resnet(), tmp_path / "c.pt", builder=dict(name="resnet20"))
    with pytest.raises(P.ArchitectureMismatch, match="resnet32.*layer1.3"):
        P.load_compact(path, builder=dict(name="resnet32"))
    with pytest.raises(P.ArchitectureMismatch, match="'vgg'"):
        P.load_compact(path, builder=dict(name="vgg", cfg=[16, "M"]))
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(P.ArchitectureMismatch, match="not a compact-model file"):
        P.load_compact(tmp_path / "other.pt")


def small_vgg():
    torch.manual_seed(0)
    return models.build("vgg", num_classes=4, in_channels=1, image_size=12, cfg=[8, "M", 12])


def test_masks_from_zero_kinds():
    m = small_vgg()
    with torch.no_grad():
        m.features[4].weight[3] = 0          # a filter
        m.features[4].weight[:, 5] = 0       # an input channel
        m.features[4].weight[:, 1, 0, 0] = 0  # a shape column
    masks = P.masks_from_zero(m, tol=0)
    keep = masks["features.4.weight"]
    assert keep[3].sum() == 0 and keep[:, 5].sum() == 0 and keep[:, 1, 0, 0].sum() == 0
    assert int((keep == 0).sum()) == 8 * 9 + 11 * 9 + 11  # overlaps counted once
    assert masks["features.5.bias"][3] == 0 and masks["features.5.weight"].sum() == 11
    with pytest.raises(ValueError, match="column"):
        P.masks_from_zero(m, kinds=("column",))


def test_masked_finetune_keeps_zero_groups_fixed():
    ds = hdata.load("synthetic")
    m = small_vgg()
    with torch.no_grad():
        m.features[0].weight[[1, 6]] = 0
    masks = P.masks_from_zero(m, tol=0, kinds=("filter",))
    hist = P.finetune(m, ds, epochs=1, masks=masks, lr=0.05, progress=False, device="cpu")
    assert hist["train_loss"].notna().all()
    assert float(m.features[0].weight.detach()[[1, 6]].abs().sum()) == 0.0
    assert float(m.features[1].bias.detach()[[1, 6]].abs().sum()) == 0.0
    assert float(m.features[0].weight.detach()[0].abs().sum()) > 0


def test_finetune_a_compact_model_and_iterate():
    ds = hdata.load("synthetic")
    m = small_vgg()
    c = P.prune(m, {"features.0": [0, 1]}, (1, 12, 12), fold="zero")
    before = [p.detach().clone() for p in c.parameters()]
    P.finetune(c, ds, epochs=1, lr=0.05, progress=False, device="cpu")
    assert any(not torch.equal(b, p) for b, p in zip(before, c.parameters()))
    final, hist = P.iterative_prune(m, ds, (1, 12, 12), rounds=2, fraction=0.25, scorer="magnitude")
    assert list(hist["round"]) == [0, 1, 2]
    assert hist["params"].is_monotonic_decreasing and hist["params"].iloc[-1] < hist["params"].iloc[0]
    assert measure.count_params(final) == hist["params"].iloc[-1]
    with pytest.raises(ValueError, match="criterion=.random. is not registered"):
        P.iterative_prune(m, ds, (1, 12, 12), scorer="random")


def test_fuse_bn_keeps_the_function_of_a_compact_model():
    c = pruned_resnet()
    with torch.no_grad():
        for mod in c.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)
                mod.bias.uniform_(-0.5, 0.5)
    fused = P.fuse_bn(c)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert (fused(x) - c.eval()(x)).abs().max() <= 1e-4
