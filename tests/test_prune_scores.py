"""Channel scores: loss increase (fast == naive), magnitude, BN gamma, and selection."""
from __future__ import annotations

import pandas as pd
import pytest
import torch

from hgsr import data as hdata
from hgsr import models
from hgsr import prune as P
from hgsr.prune.ranking import loss
from hgsr.prune.removal import graph

from conftest import randomize_batchnorm


def randomized(name, seed=0, **kw):
    torch.manual_seed(seed)
    return randomize_batchnorm(models.build(name, **kw)).eval()


def fake_data(shape, n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, *shape, generator=g), torch.randint(0, 10, (n,), generator=g)


def test_fast_equals_naive_on_small_vgg_all_channels():
    m = randomized("vgg", cfg=[8, "M", 16, "M", 16, "M"])
    ds = fake_data((3, 32, 32))
    fast = P.loss_increase_scores(m, ds, n_samples=40, batch_size=16, max_rows=64)
    naive = P.loss_increase_scores_naive(m, ds, n_samples=40, batch_size=16)
    assert len(fast) == 8 + 16 + 16
    assert (fast[["group", "channel"]].values == naive[["group", "channel"]].values).all()
    assert (fast["delta_loss"] - naive["delta_loss"]).abs().max() <= 1e-5
    assert fast.attrs["loss0"] == pytest.approx(naive.attrs["loss0"], abs=1e-6)
    assert fast["delta_loss"].abs().max() > 1e-3  # the channels matter: the check is not vacuous


def test_fast_equals_naive_on_lenet_with_linear_units():
    m = randomized("lenet5", in_channels=1, image_size=28)
    ds = fake_data((1, 28, 28), n=24)
    chans = {"features.0": None, "features.2": [0, 9, 49], "classifier.1": [0, 7, 499]}
    kw = dict(n_samples=24, batch_size=10, channels=chans, include_linear=True)
    fast, naive = P.loss_increase_scores(m, ds, **kw), P.loss_increase_scores_naive(m, ds, **kw)
    assert len(fast) == 20 + 3 + 3
    assert (fast["delta_loss"] - naive["delta_loss"]).abs().max() <= 1e-5


def test_fast_equals_naive_on_resnet20_both_paths():
    m = randomized("resnet20")
    ds = fake_data((3, 32, 32), n=12)
    chans = {"layer1": [0, 15], "layer1.0.conv1": [3], "layer2": [5], "layer2.1.conv1": [0, 31],
             "layer3": [1, 63], "layer3.2.conv1": [10]}
    fast = P.loss_increase_scores(m, ds, n_samples=12, batch_size=8, channels=chans)
    naive = P.loss_increase_scores_naive(m, ds, n_samples=12, batch_size=8, channels=chans)
    assert len(fast) == 9
    assert (fast["delta_loss"] - naive["delta_loss"]).abs().max() <= 1e-5
    # both fast paths are exercised: residual groups restart at their first BN, inner groups use the delta
    interp = graph.Interpreter(graph.trace(m))
    groups = {g.name: g for g in P.prunable_groups(m, (3, 32, 32))}
    assert loss._plan(interp, groups["layer2"], [0]).target is None
    assert loss._plan(interp, groups["layer2.1.conv1"], [0]).target.target == "layer2.1.conv2"


def test_subset_is_fixed_and_preprocessed():
    ds = hdata.load("synthetic")
    x1, y1 = P.subset(ds, 64, seed=3)
    x2, y2 = P.subset(ds, 64, seed=3)
    assert torch.equal(x1, x2) and torch.equal(y1, y2) and x1.dtype == torch.float32
    idx = torch.randperm(len(ds.train_y), generator=torch.Generator().manual_seed(3))[:64]
    expect = hdata.normalize(ds.train_x[idx], ds.mean, ds.std)
    assert torch.allclose(x1, expect)


def test_scores_on_a_dataset_object():
    ds = hdata.load("synthetic")
    m = randomized("vgg", num_classes=4, in_channels=1, image_size=12, cfg=[4, "M", 6])
    s = P.loss_increase_scores(m, ds, n_samples=32, batch_size=16)
    assert list(s.columns) == ["group", "channel", "delta_loss", "score"] and len(s) == 10
    assert s.attrs["n_samples"] == 32


def test_magnitude_and_gamma_scores_couple_residual_filters():
    m = randomized("resnet20")
    mag = P.magnitude_scores(m, (3, 32, 32)).set_index(["group", "channel"])["score"]
    convs = ["conv1", "layer1.0.conv2", "layer1.1.conv2", "layer1.2.conv2"]
    expect = torch.stack([m.get_submodule(c).weight.detach()[5].norm() for c in convs]).norm()
    assert mag[("layer1", 5)] == pytest.approx(float(expect), rel=1e-5)
    assert mag[("layer2.0.conv1", 3)] == pytest.approx(float(m.layer2[0].conv1.weight.detach()[3].norm()), rel=1e-5)
    gam = P.bn_gamma_scores(m, (3, 32, 32)).set_index(["group", "channel"])["score"]
    assert gam[("layer3.1.conv1", 7)] == pytest.approx(abs(float(m.layer3[1].bn1.weight.detach()[7])), rel=1e-6)
    with pytest.raises(ValueError, match="features.0.*no BatchNorm"):
        P.bn_gamma_scores(models.build("lenet5", in_channels=1, image_size=28), (1, 28, 28))


def table(**groups):
    return pd.DataFrame([(g, c, s) for g, v in groups.items() for c, s in enumerate(v)],
                        columns=["group", "channel", "score"])


def test_select_threshold_fraction_and_scope():
    t = table(a=[0.1, 5, 0.2, 9], b=[1, 2, 3, 4, 0.05, 6])
    assert P.select(t, threshold=0.5) == {"a": [0, 2], "b": [4]}
    assert P.select(t, fraction=0.3) == {"a": [0, 2], "b": [4]}  # 3 of 10 globally
    assert P.select(t, fraction=0.5, scope="layer") == {"a": [0, 2], "b": [0, 1, 4]}
    with pytest.raises(P.EmptyLayerError, match="'a'"):
        P.select(t, threshold=100)
    assert P.select(t, threshold=100, on_empty="keep") == {"a": [0, 1, 2], "b": [0, 1, 2, 3, 4]}  # best kept
    with pytest.raises(ValueError, match="exactly one"):
        P.select(t)
    with pytest.raises(ValueError, match="scope"):
        P.select(t, fraction=0.1, scope="block")
    with pytest.raises(ValueError, match="delta_loss"):
        P.select(t, fraction=0.1, score_col="delta_loss")


def test_select_min_keep_is_a_floor_per_group_and_keeps_the_count():
    # group a has the four lowest scores; a floor of half its channels moves two removals to group b
    t = pd.DataFrame({"group": ["a"] * 4 + ["b"] * 4, "channel": list(range(4)) * 2,
                      "score": [0.1, 0.2, 0.3, 0.4, 1.0, 2.0, 3.0, 4.0]})
    assert P.select(t, fraction=0.5, min_keep=0.5) == {"a": [0, 1], "b": [0, 1]}
    assert P.select(t, fraction=0.5, scope="layer", min_keep=0.75) == {"a": [0], "b": [0]}
    assert P.select(t, threshold=0.35, min_keep=0.5) == {"a": [0, 1]}
    assert P.select(t, fraction=1.0, min_keep=0.25) == {"a": [0, 1, 2], "b": [0, 1, 2]}
    with pytest.raises(P.EmptyLayerError):
        P.select(t, fraction=0.5)
    from hgsr.errors import InvalidArgument
    with pytest.raises(InvalidArgument, match="min_keep"):
        P.select(t, fraction=0.5, min_keep=1.5)
