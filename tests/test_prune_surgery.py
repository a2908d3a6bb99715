"""Physical pruning: groups, zero structure, surgery exactness, hand-computed sizes, errors."""
from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hgsr import measure, models
from hgsr import prune as P

from conftest import randomize_batchnorm

LENET = ("lenet5", dict(in_channels=1, image_size=28), (1, 28, 28))
VGG = ("vgg", dict(cfg=[16, "M", 32, "M", 64, "M"]), (3, 32, 32))
RESNET = ("resnet20", {}, (3, 32, 32))


def build(spec, seed=0):
    """A model with random BatchNorm statistics and affine parameters (beta != 0), in eval mode."""
    name, kw, shape = spec
    torch.manual_seed(seed)
    m = randomize_batchnorm(models.build(name, **kw))
    for mod in m.modules():
        if isinstance(mod, nn.Conv2d) and mod.bias is not None:
            mod.bias.data.uniform_(-0.5, 0.5)
    return m.eval(), shape


@torch.no_grad()
def zero_filters(model, layer, idx):
    model.get_submodule(layer).weight[idx] = 0


def outputs(model, shape, seed=1):
    x = torch.randn(4, *shape, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return model.eval()(x)


def assert_trains(model, shape):
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = [p.detach().clone() for p in model.parameters()]
    x, y = torch.randn(8, *shape), torch.randint(0, 10, (8,))
    loss = F.cross_entropy(model(x), y)
    assert torch.isfinite(loss)
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))


# ----------------------------------------------------------------------------- groups

def test_resnet_groups_couple_residual_channels():
    m, shape = build(RESNET)
    groups = {g.name: g for g in P.prunable_groups(m, shape)}
    assert len(groups) == 12
    stem = groups["layer1"]
    assert stem.convs == ("conv1", "layer1.0.conv2", "layer1.1.conv2", "layer1.2.conv2") and stem.size == 16
    assert "layer2.0.shortcut.0" in groups["layer2"].convs and "layer2.0.shortcut.1" in groups["layer2"].bns
    assert groups["layer2.0.conv1"].consumers == ("layer2.0.conv2",)
    assert "fc" in groups["layer3"].consumers
    assert all("fc" not in g.convs for g in groups.values())  # classifier outputs never prunable


def test_lenet_classifier_output_is_not_a_group():
    m, shape = build(LENET)
    names = [g.name for g in P.prunable_groups(m, shape, include_linear=True)]
    assert names == ["features.0", "features.2", "classifier.1"]


# ----------------------------------------------------------------------------- exactness

def test_lenet_zero_filters_removed_without_changing_the_function():
    m, shape = build(LENET)
    zero_filters(m, "features.0", [1, 4, 7])
    zero_filters(m, "features.2", list(range(0, 50, 3)))
    plan = P.zero_plan(m, shape, tol=0)
    assert plan == {"features.0": [1, 4, 7], "features.2": list(range(0, 50, 3))}
    c = P.prune(m, plan, shape)  # conv biases nonzero: their constants are folded exactly (no padding)
    assert (outputs(c, shape) - outputs(m, shape)).abs().max() <= 1e-4
    c1, c2 = 17, 50 - 17
    hand = (c1 * 25 + c1) + (c2 * c1 * 25 + c2) + (c2 * 16 * 500 + 500) + (500 * 10 + 10)
    assert measure.count_params(c) == hand
    assert measure.count_macs(c, shape) == c1 * 25 * 24 * 24 + c2 * c1 * 25 * 8 * 8 + c2 * 16 * 500 + 5000
    assert_trains(c, shape)


def test_vgg_zero_filters_with_nonzero_beta():
    m, shape = build(VGG)
    zero_filters(m, "features.0", [0, 3, 9])
    zero_filters(m, "features.4", [2, 5, 6, 30])
    zero_filters(m, "features.8", list(range(10, 40)))
    plan = P.zero_plan(m, shape, tol=0)
    with pytest.warns(UserWarning, match="nonzero constant"):
        c = P.prune(m, plan, shape)  # padded consumers: constants of the first two groups are dropped
    ref = P.masked_copy(m, plan, shape)
    assert (outputs(c, shape) - outputs(ref, shape)).abs().max() <= 1e-4
    assert set(c.prune_info["dropped_constants"]) == {"features.0", "features.4"}
    w = [13, 28, 34]
    hand = (3 * w[0] * 9 + 2 * w[0]) + (w[0] * w[1] * 9 + 2 * w[1]) + (w[1] * w[2] * 9 + 2 * w[2]) + w[2] * 10 + 10
    assert measure.count_params(c) == hand
    macs = w[0] * 3 * 9 * 1024 + w[1] * w[0] * 9 * 256 + w[2] * w[1] * 9 * 64 + w[2] * 10
    assert measure.count_macs(c, shape) == macs
    assert_trains(c, shape)


def test_vgg_last_layer_constants_fold_exactly_into_the_classifier():
    m, shape = build(VGG)
    zero_filters(m, "features.8", [1, 2, 50])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = P.prune(m, P.zero_plan(m, shape, tol=0), shape)
    assert (outputs(c, shape) - outputs(m, shape)).abs().max() <= 1e-4


def resnet_counts(stage, mids, shape=(3, 32, 32)):
    """Parameters and MACs of a CIFAR ResNet-20 with residual widths ``stage`` and inner ``mids``."""
    params = shape[0] * stage[0] * 9 + 2 * stage[0]
    macs = shape[0] * stage[0] * 9 * 32 * 32
    c, k = stage[0], 0
    for s in range(3):
        out = stage[s]
        for b in range(3):
            mid, hw = mids[k], (32 // 2 ** s) ** 2
            params += c * mid * 9 + 2 * mid + mid * out * 9 + 2 * out
            macs += c * mid * 9 * hw + mid * out * 9 * hw
            if s > 0 and b == 0:
                params += c * out + 2 * out
                macs += c * out * hw
            c, k = out, k + 1
    return params + c * 10 + 10, macs + c * 10


def test_resnet20_residual_and_inner_groups():
    m, shape = build(RESNET)
    groups = {g.name: g for g in P.prunable_groups(m, shape)}
    for layer in groups["layer2"].convs:  # one residual channel set of stage 2, shortcut included
        zero_filters(m, layer, [0, 7, 8])
    for layer in groups["layer1"].convs:
        zero_filters(m, layer, [15])
    zero_filters(m, "layer1.1.conv1", [2, 3, 4, 5])
    zero_filters(m, "layer3.2.conv1", list(range(32)))
    zero_filters(m, "layer3.0.conv1", [63])
    plan = P.zero_plan(m, shape, tol=0)
    assert set(plan) == {"layer1", "layer2", "layer1.1.conv1", "layer3.2.conv1", "layer3.0.conv1"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = P.prune(m, plan, shape)
    assert (outputs(c, shape) - outputs(P.masked_copy(m, plan, shape), shape)).abs().max() <= 1e-4
    stage, mids = [15, 29, 64], [16, 12, 16, 32, 32, 32, 63, 64, 32]
    params, macs = resnet_counts(stage, mids)
    assert measure.count_params(c) == params
    assert measure.count_macs(c, shape) == macs
    ref = models.build("resnet20", stage_widths=[15, 15, 29, 64], mid_widths=mids)
    assert measure.count_params(ref) == params
    assert_trains(c, shape)


def test_fold_zero_matches_full_silencing():
    m, shape = build(RESNET)
    plan = {"layer3": [3, 4], "layer2.1.conv1": [0]}
    c = P.prune(m, plan, shape, fold="zero")
    ref = P.masked_copy(m, plan, shape, fold="zero")
    assert float(ref.get_submodule("layer3.0.bn2").bias.detach()[3]) == 0.0
    assert (outputs(c, shape) - outputs(ref, shape)).abs().max() <= 1e-4
    assert (outputs(c, shape) - outputs(m, shape)).abs().max() > 1e-3  # nonzero filters: function changes


def test_masked_finetune_makes_pruning_exact():
    m, shape = build(VGG)
    zero_filters(m, "features.4", [1, 2, 3])
    masks = P.masks_from_zero(m, tol=0, kinds=("filter",))
    reg = P.MaskedFinetune(masks, m)  # also zeroes the BN gamma/beta of the zero filters
    assert float(m.get_submodule("features.5").bias.detach()[2]) == 0.0
    reg.after_step(m, 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = P.prune(m, P.zero_plan(m, shape, tol=0), shape)
    assert (outputs(c, shape) - outputs(m, shape)).abs().max() <= 1e-4


# ----------------------------------------------------------------------------- sizes and errors

def test_zero_structure_counts_equal_real_compact_model():
    m, shape = build(RESNET)
    for layer in ("layer3.0.conv1", "layer3.1.conv1", "layer3.2.conv1"):
        zero_filters(m, layer, list(range(40)))
    with torch.no_grad():
        m.get_submodule("layer1.0.conv1").weight[:] = 0  # a whole layer: one channel is kept
    table = P.zero_structure(m, shape, tol=1e-6)
    row = table.set_index("group").loc["layer1.0.conv1"]
    assert row["zero"] == 16 and row["remaining"] == 1 and bool(row["emptied"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = P.prune(m, table.attrs["plan"], shape)
    total = table.iloc[-1]
    assert total["params_compact"] == measure.count_params(c)
    assert total["macs_compact"] == measure.count_macs(c, shape)
    assert total["params_dense"] == measure.count_params(m)
    size = P.compact_size(m, table.attrs["plan"], shape)
    assert size["params"] == measure.count_params(c) and size["widths"]["layer3.1.conv1"] == 24


def test_empty_layer_fails_naming_it():
    m, shape = build(RESNET)
    with pytest.raises(P.EmptyLayerError, match="layer2.1.conv1"):
        P.prune(m, {"layer2.1.conv1": list(range(32))}, shape)
    scores = P.magnitude_scores(m, shape)
    with pytest.raises(P.EmptyLayerError, match="layer1"):
        P.select(scores, fraction=1.0, scope="layer")


def test_unknown_group_and_bad_channels_are_named():
    m, shape = build(LENET)
    with pytest.raises(KeyError, match="features.7.*features.0"):
        P.prune(m, {"features.7": [0]}, shape)
    with pytest.raises(ValueError, match="features.0.*20"):
        P.prune(m, {"features.0": [25]}, shape)
    with pytest.raises(ValueError, match="unknown fold"):
        P.prune(m, {"features.0": [1]}, shape, fold="maybe")


def test_untraceable_model_is_named():
    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)

        def forward(self, x):
            return self.conv(x).sum() if x.sum() > 0 else x  # data-dependent control flow

    with pytest.raises(P.UnsupportedModel, match="Odd"):
        P.loss_increase_scores(Odd(), (torch.randn(8, 1, 8, 8), torch.zeros(8, dtype=torch.long)), n_samples=8)
