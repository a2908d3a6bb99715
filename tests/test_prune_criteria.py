"""The criterion registry: every registered criterion matches an explicit-loop reference.

Adding a criterion to :mod:`hgsr.prune.ranking.criteria` without a row in :data:`REFERENCES` fails
:func:`test_every_criterion_has_a_reference_row`.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

from hgsr import models
from hgsr import prune as P
from hgsr.prune import criteria


def lenet_bn(seed=0):
    torch.manual_seed(seed)
    m = models.build("lenet5", 10, 1, 28, widths=(6, 8, 20), batchnorm=True).eval()
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.weight.data.uniform_(-1.5, 1.5)
            mod.running_var.uniform_(0.5, 2.0)
    return m


SHAPE = (1, 28, 28)


@torch.no_grad()
def ref_magnitude(m):
    convs = [mod for mod in m.modules() if isinstance(mod, nn.Conv2d)]
    return {k: [float(torch.linalg.vector_norm(c.weight[o])) for o in range(c.out_channels)]
            for k, c in zip(("features.0", "features.3"), convs)}


@torch.no_grad()
def ref_bn_gamma(m):
    bns = [mod for mod in m.modules() if isinstance(mod, nn.BatchNorm2d)]
    return {k: [abs(float(b.weight[o])) for o in range(b.num_features)] for k, b in zip(("features.0", "features.3"), bns)}


@torch.no_grad()
def ref_dead_inputs(m):
    convs = [mod for mod in m.modules() if isinstance(mod, nn.Conv2d)]
    first = [float(torch.linalg.vector_norm(convs[1].weight[:, c])) for c in range(convs[0].out_channels)]
    fc1 = next(mod for mod in m.modules() if isinstance(mod, nn.Linear))
    k = fc1.in_features // convs[1].out_channels          # the flattened positions of one channel
    second = [float(torch.linalg.vector_norm(fc1.weight[:, c * k:(c + 1) * k])) for c in range(convs[1].out_channels)]
    return {"features.0": first, "features.3": second}   # conv2 is read by fc1 through the flatten


def ref_loss(m):
    ds = fake_ds()
    t = P.loss_increase_scores_naive(m, ds, n_samples=32)
    return {g: d.sort_values("channel")["score"].tolist() for g, d in t.groupby("group", sort=False)}


def fake_ds():
    g = torch.Generator().manual_seed(0)
    return torch.randn(32, *SHAPE, generator=g), torch.randint(0, 10, (32,), generator=g)


REFERENCES = {"magnitude": ref_magnitude, "bn_gamma": ref_bn_gamma, "dead_inputs": ref_dead_inputs,
              "loss": ref_loss}


def test_every_criterion_has_a_reference_row():
    assert set(criteria.names()) == set(REFERENCES), "a registered criterion lacks a reference row"


@pytest.mark.parametrize("key", sorted(REFERENCES))
def test_criterion_matches_its_loop_reference(key):
    m = lenet_bn()
    kw = {"n_samples": 32} if key == "loss" else {}
    table = criteria.score(m, key, SHAPE, fake_ds() if criteria.get(key).needs_data else None, **kw)
    assert {"group", "channel", "score"} <= set(table.columns)
    ref = REFERENCES[key](m)
    for g, d in table.groupby("group", sort=False):
        got = d.sort_values("channel")["score"].tolist()
        assert got == pytest.approx(ref[g], rel=1e-5, abs=1e-6), (key, g)
    assert criteria.label(key)


def test_dead_inputs_sees_what_feature_wise_hgsr_zeroes():
    """Zeroing the next conv's input column c makes channel c dead by dead_inputs, not by magnitude."""
    m = lenet_bn()
    conv2 = m.features[3]
    with torch.no_grad():
        conv2.weight[:, 2] = 0
    dead = criteria.score(m, "dead_inputs", SHAPE)
    mag = criteria.score(m, "magnitude", SHAPE)
    first = dead[dead["group"] == "features.0"].set_index("channel")["score"]
    assert first[2] == 0 and (first.drop(2) > 0).all()
    assert mag[(mag["group"] == "features.0") & (mag["channel"] == 2)]["score"].item() > 0


def test_unknown_criterion_and_missing_data_are_named_errors():
    m = lenet_bn()
    with pytest.raises(ValueError, match="criterion='nope' is not registered; known: loss"):
        criteria.score(m, "nope", SHAPE)
    with pytest.raises(ValueError, match="criterion 'loss' needs data"):
        criteria.score(m, "loss", SHAPE)
    with pytest.raises(ValueError, match="already registered"):
        criteria.register("magnitude", "again")(lambda *a, **k: None)


def test_plan_from_masks_never_empties_a_group():
    plan, emptied = P.plan_from_masks({"a": torch.tensor([True, True, True]), "b": torch.tensor([False, True])},
                                      {"a": torch.tensor([0.1, 0.9, 0.5]), "b": torch.tensor([1.0, 2.0])})
    assert plan == {"a": [0, 2], "b": [1]} and emptied == {"a"}
    with pytest.raises(P.EmptyLayerError, match="'a'"):
        P.plan_from_masks({"a": torch.tensor([True])}, {"a": torch.tensor([1.0])}, on_empty="raise")


def test_a_criterion_takes_only_its_own_options():
    """Callers pass the same options to every criterion; each receives those it takes (its signature)."""
    m = lenet_bn()
    assert set(criteria.get("loss").params) >= {"n_samples", "seed", "channels"}
    assert criteria.get("bn_gamma").params == () and criteria.get("magnitude").params == ("include_linear",)
    kw = {"n_samples": 32, "seed": 0}
    for key in criteria.names():
        ds = fake_ds() if criteria.get(key).needs_data else None
        assert criteria.score(m, key, SHAPE, ds, **kw).equals(
            criteria.score(m, key, SHAPE, ds, **criteria.get(key).arguments(kw)))
    with pytest.raises(ValueError, match="no registered criterion takes 'n_sample'"):
        criteria.score(m, "magnitude", SHAPE, n_sample=3)


def test_dead_rules_are_named_by_the_criteria():
    assert criteria.dead_rules() == {"zeros": "magnitude", "gamma": "bn_gamma", "inputs": "dead_inputs"}
