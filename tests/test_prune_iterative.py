"""One iterative pruner (hgsr.prune.ranking.iterative): notebook 06's cumulative, re-scored plans come from
the library's :func:`hgsr.prune.iterative_plans`, identical to the study's former ``iterative_plans``
(kept below, verbatim, as the reference)."""
from __future__ import annotations

import copy
import math

import pandas as pd
import pytest
import torch

import hgsr.data as hdata
from hgsr import models
from hgsr import prune
from hgsr.errors import InvalidArgument

SHAPE = (1, 16, 16)


# ----------------------------------------------------------------------------- the former study code
def _old_plan(scores: pd.DataFrame, groups: set[str], fraction: float) -> dict:
    return prune.select(scores[scores["group"].isin(groups)], fraction=fraction, on_empty="keep")


def old_iterative_plans(model, ds, shape, groups, fractions, n_samples, seed=0, first=None):
    """``hgsr.study.filter_pruning.iterative_plans`` as of commit c91b4ba, verbatim."""
    work = copy.deepcopy(model).eval()
    gs = {g.name: g for g in prune.prunable_groups(work, shape)}
    plan: dict[str, list[int]] = {}
    out = {}
    for k, f in enumerate(sorted(fractions)):
        remaining = {g: [c for c in range(gs[g].size) if c not in plan.get(g, [])] for g in groups}
        if k == 0 and first is not None:
            fresh = first[first["group"].isin(groups)]
        else:
            fresh = prune.loss_increase_scores(work, ds, n_samples=n_samples, seed=seed,
                                               channels={g: c for g, c in remaining.items() if c})
        pairs = [(g, c) for g, cs in plan.items() for c in cs]
        done = pd.DataFrame({"group": pd.Series([g for g, _ in pairs], dtype=object),
                             "channel": pd.Series([c for _, c in pairs], dtype="int64"),
                             "score": pd.Series([-math.inf] * len(pairs), dtype="float64")})
        table = pd.concat([done, fresh[["group", "channel", "score"]]], ignore_index=True)
        plan = _old_plan(table, groups, f)
        with torch.no_grad():
            for g, chans in plan.items():
                prune.silence(work, gs[g], chans)
        out[f] = {g: list(c) for g, c in plan.items()}
    return out


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def net_and_data():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    m = models.build("resnet20", 4, 1, 16, width=0.25).eval()
    with torch.no_grad():                      # spread the BN scales: scores far from ties
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.weight.uniform_(0.2, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
    return m, hdata.load("synthetic")


FRACTIONS = [0.3, 0.5, 0.65]


@pytest.mark.parametrize("internal_only", [True, False])
@pytest.mark.parametrize("with_first", [False, True])
def test_library_plans_equal_the_former_study_plans(net_and_data, internal_only, with_first):
    m, ds = net_and_data
    groups = {g.name for g in prune.prunable_groups(m, SHAPE) if not (internal_only and g.coupled)}
    first = prune.loss_increase_scores(m, ds, n_samples=16) if with_first else None
    old = old_iterative_plans(m, ds, SHAPE, groups, FRACTIONS, n_samples=16, first=first)
    new = prune.iterative_plans(m, ds, SHAPE, FRACTIONS, "loss", groups=groups, first=first,
                                score_kw={"n_samples": 16, "seed": 0})
    assert new == old
    assert list(new) == sorted(FRACTIONS) and all(set(p) <= groups for p in new.values())
    assert any(len(c) for c in new[0.65].values())


def test_plans_are_nested_and_the_model_is_untouched(net_and_data):
    m, ds = net_and_data
    before = {k: v.clone() for k, v in m.state_dict().items()}
    plans = prune.iterative_plans(m, ds, SHAPE, [0.5, 0.2], "magnitude")
    small, big = plans[0.2], plans[0.5]
    assert list(plans) == [0.2, 0.5]
    assert all(set(small.get(g, [])) <= set(big.get(g, [])) for g in small)
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())
    # the first chunk of a data-free criterion is its one-shot choice
    assert small == prune.select(prune.criteria.score(m, "magnitude", SHAPE), fraction=0.2, on_empty="keep")


def test_iterative_plans_bad_inputs_are_named(net_and_data):
    m, ds = net_and_data
    with pytest.raises(InvalidArgument, match="fractions is empty"):
        prune.iterative_plans(m, ds, SHAPE, [])
    with pytest.raises(InvalidArgument, match="fractions"):
        prune.iterative_plans(m, ds, SHAPE, [1.5])
    with pytest.raises(InvalidArgument, match="not prunable groups"):
        prune.iterative_plans(m, ds, SHAPE, [0.5], groups={"nope"})
    with pytest.raises(InvalidArgument, match="criterion='x'"):
        prune.iterative_plans(m, ds, SHAPE, [0.5], "x")
