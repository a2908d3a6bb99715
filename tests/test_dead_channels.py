import pytest
import torch

from hgsr.errors import InvalidArgument
from hgsr.study import dead_channels as dc
from hgsr.study import dead_channels, families
from hgsr import experiments, models, prune

SHAPE = (1, 28, 28)


def _lenet(bn=False):
    torch.manual_seed(0)
    return models.build("lenet5", 10, 1, 28, batchnorm=bn)


def test_dead_input_slices_mark_the_producer_channels():
    m = _lenet()
    with torch.no_grad():
        m.features[2].weight[:, [1, 4, 7]] = 0          # conv2 reads nothing from conv1 channels 1, 4, 7
        m.features[2].weight[[0, 3]] = 0                # conv2 filters 0, 3 are zero
    assert dc.plan(m, SHAPE, "inputs") == {"features.0": [1, 4, 7]}
    assert dc.plan(m, SHAPE, "zeros") == {"features.2": [0, 3]}
    assert dc.plan(m, SHAPE, "zeros+inputs") == {"features.0": [1, 4, 7], "features.2": [0, 3]}
    assert dc.inputs_add_channels(m, SHAPE) and not dc.inputs_add_channels(_lenet(), SHAPE)
    t = dc.channel_table(m, SHAPE, "zeros+inputs", tol=1e-6)
    assert t.set_index("layer").loc["total", "filters_left"] == 70 - 5
    assert t.set_index("layer").loc["features.2", "dead_inputs"] == 0   # read by the linear layer


def test_gamma_rule_uses_a_threshold_relative_to_the_largest_gamma():
    m = _lenet(bn=True)
    with torch.no_grad():
        m.features[1].weight.fill_(1.0)
        m.features[1].weight[[2, 5]] = 0.005           # <= 1e-2 * max
        m.features[1].weight[6] = 0.02                 # above
        m.features[4].weight.copy_(torch.linspace(0.1, 0.5, 50))
    assert dc.plan(m, SHAPE, "gamma", rel=1e-2) == {"features.0": [2, 5]}
    scores = prune.bn_gamma_scores(m, SHAPE)
    assert dc.plan(m, SHAPE, "gamma", rel=0.6) == prune.select(scores, threshold=0.6, on_empty="keep")
    t = dc.channel_table(m, SHAPE, "gamma", rel=1e-2)
    assert t.iloc[-1]["removed"] == 2 and "tol" not in t.attrs


def test_no_group_is_emptied_and_bad_input_is_named():
    m = _lenet()
    with torch.no_grad():
        m.features[0].weight.mul_(1e-9)
        m.features[0].weight[3] *= 10                   # the largest of the tiny filters
    assert dc.plan(m, SHAPE, "zeros")["features.0"] == [i for i in range(20) if i != 3]
    with pytest.raises(ValueError, match="known: zeros"):
        dc.plan(m, SHAPE, "bogus")
    with pytest.raises(ValueError, match="BatchNorm"):
        dc.plan(m, SHAPE, "gamma")


def test_compact_by_rule_removes_dead_inputs_without_changing_predictions():
    cfg = experiments.Config(dataset="synthetic", model="lenet5", train_subset=256, test_subset=128, epochs=1,
                             lr=0.05, profile="smoke")
    r = experiments.run(cfg, progress=False)
    with torch.no_grad():
        r.model.features[2].weight[:, :6] = 0
    out = dc.compact_by_rule(r, "zeros+inputs", tol=1e-6)
    s = out["summary"]
    assert s["widths"][0] == 14 and s["acc_pruned"] == s["acc_dense"] and s["params_removed"] > 0


def test_compact_families_adds_dead_inputs_rows_and_uses_the_gamma_rule_for_slimming():
    def run(seed, **model_kw):
        cfg = experiments.Config(dataset="synthetic", model="lenet5", model_kw=model_kw, train_subset=256,
                                 test_subset=128, epochs=1, lr=0.05, seed=seed, profile="smoke")
        return experiments.run(cfg, progress=False)

    dead, plain, bn = run(1), run(2), run(3, batchnorm=True)
    with torch.no_grad():
        dead.model.features[2].weight[:, :6] = 0       # conv1 channels 0-5 have no reader
        dead.model.features[2].weight[[0, 1]] = 0      # conv2 filters 0, 1 are zero
        bn.model.features[1].weight[[2, 5]] = 1e-4     # two BN scales of conv1 <= 1e-2 · max |γ|
    out = dc.compact_families({"l1": dead, "none": plain, "slimming": bn}, (1, 16, 16), tol=1e-6)
    assert list(out) == ["L1", "L1 + dead inputs", "baseline (weight decay 5e-4 only)", "network slimming (BN γ)"]
    widths = {k: tuple(v["summary"]["widths"]) for k, v in out.items()}
    assert widths["L1"] == (20, 48) and widths["L1 + dead inputs"] == (14, 48)
    assert widths["baseline (weight decay 5e-4 only)"] == (20, 50) and widths["network slimming (BN γ)"] == (18, 50)
    assert out["network slimming (BN γ)"]["summary"]["rule"] == "gamma"


def test_rules_derive_from_the_criteria_registry_with_the_former_content():
    assert dc.RULES == {"zeros": ("magnitude",), "inputs": ("dead_inputs",),
                        "zeros+inputs": ("magnitude", "dead_inputs"), "gamma": ("bn_gamma",)}
    assert all(set(keys) <= set(prune.criteria.names()) for keys in dc.RULES.values())


# ----------------------------------------------------------------------------- one rule per family, from the registry
def test_compact_own_applies_the_registry_rule_of_each_family(monkeypatch):
    calls = []
    monkeypatch.setattr(dead_channels, "compact_from_zeros", lambda run, **kw: calls.append(("zeros", kw)) or kw)
    monkeypatch.setattr(dead_channels, "compact_by_rule", lambda run, rule, **kw: calls.append((rule, kw)) or kw)
    for name in ("l1", "l1_over_l2", "slimming", "ssl", "nonconvex_tl1_fc"):
        dead_channels.compact_own(name, object(), finetune_epochs=2)
    ft = {"finetune_epochs": 2, "finetune_lr": None}
    assert calls == [("zeros", ft), ("zeros", {"rel": families.family("l1_over_l2").rel, **ft}),
                     ("gamma", {**ft, "include_linear": False}),
                     ("zeros+inputs", {**ft, "include_linear": False}),
                     ("zeros+inputs", {**ft, "include_linear": True})]
    calls.clear()     # notebook 07's polish: an own rule with the shared rule's learning rate
    dead_channels.compact_by(object(), "relative", rel=0.1, finetune_epochs=1, finetune_lr=0.005)
    dead_channels.compact_by(object(), "gamma", finetune_epochs=1, finetune_lr=0.005)
    assert calls == [("zeros", {"rel": 0.1, "finetune_epochs": 1, "finetune_lr": 0.005}),
                     ("gamma", {"finetune_epochs": 1, "finetune_lr": 0.005, "include_linear": False})]


def test_compact_by_names_a_bad_rule_and_a_missing_rho():
    with pytest.raises(InvalidArgument, match="rule='median' is not a removal rule; known: .*relative"):
        dead_channels.compact_by(object(), "median")
    with pytest.raises(InvalidArgument, match="needs rel"):
        dead_channels.compact_by(object(), "relative")


def test_every_family_rule_is_a_known_rule_with_its_words():
    from hgsr.viz import vocabulary
    for name, fam in families.FAMILIES.items():
        assert fam.rule in dead_channels.OWN_RULES and fam.rule in vocabulary.REMOVAL_RULES, name
        assert (fam.rel is not None) == (fam.rule == "relative"), name
