"""Notebook 09's recap (hgsr.study.recap) on the committed result tables, and on small tables where the answer
is known."""
from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from hgsr.errors import InvalidArgument
from hgsr.study import families, filter_pruning, fronts, recap


@pytest.fixture(scope="module")
def committed():
    return recap.load()


def test_the_recap_reads_every_committed_table(committed):
    assert set(committed) == set(recap.TABLES)
    assert all(len(t) for t in committed.values())


def test_which_method_has_one_row_per_family_of_07_best_first(committed):
    table = recap.which_method(committed)
    rules = committed["rules"]
    assert sorted(table["label"]) == sorted(rules["label"])
    ranked = table["rank_shared"].dropna()
    assert list(ranked) == sorted(ranked) and table["rank_shared"].notna().iloc[:len(ranked)].all()
    first = table.iloc[0]
    assert first["rank_shared"] == rules["rank_shared"].min()
    assert first["filters_left_shared"] == rules.set_index("label").loc[first["label"], "filters_left_shared"]
    known = {f.label: f.notebook for f in families.FAMILIES.values()}
    for _, r in table.iterrows():
        assert r["notebook"] == known.get(r["label"], "—")
    timed = committed["latency"].set_index("label")["speedup_b64"]
    for _, r in table.dropna(subset=["speedup_b64"]).iterrows():
        assert math.isclose(r["speedup_b64"], timed[r["label"]])


def test_the_verdict_states_the_committed_leaders_and_the_resnet_target(committed):
    table = recap.which_method(committed)
    text = recap.verdict(committed)
    leader = table.dropna(subset=["rank_shared"]).iloc[0]
    assert f"**{leader['label']}** ({leader['filters_left_shared']:g} filters at {leader['error_shared']:.2%} error)" in text
    assert f"{fronts.ERROR_TARGET:.2%} test-error target" in text
    ours = committed["headline"].dropna(subset=["acc"]).iloc[0]
    met = (ours["params_removed"] >= filter_pruning.TARGET_PARAMS_REMOVED
           and ours["acc_change_points"] >= -filter_pruning.TARGET_DROP_POINTS)
    assert f"{ours['acc_change_points']:+.2f} points" in text and ("**met**" in text) == met
    assert not re.search(r"\bnan\b", text)


def _tables(rank_own_first="A"):
    rules = pd.DataFrame({"label": ["A", "B", "C"], "filters_left_shared": [20.0, 25.0, 60.0],
                          "error_shared": [0.009, 0.0095, 0.012], "rank_shared": [1.0, 2.0, float("nan")],
                          "filters_left_own": [15.0, 12.0, 50.0], "error_own": [0.009, 0.0099, 0.011],
                          "rank_own": [1.0, 2.0, float("nan")] if rank_own_first == "A" else [2.0, 1.0, float("nan")]})
    shared = pd.DataFrame({"label": ["A", "B", "C"], "params_removed": [0.7, 0.8, 0.1], "macs_removed": [0.9, 0.6, 0.1]})
    latency = pd.DataFrame({"network": ["LeNet-5"] * 3, "label": ["dense reference", "A", "B"],
                            "mac_ratio": [1.0, 10.0, 5.0], "speedup_b64": [1.0, 4.0, 3.0], "speedup_b1": [1.0, 2.0, 1.5],
                            "efficiency_b64": [1.0, 0.4, 0.6], "efficiency_b1": [1.0, 0.2, 0.3]})
    headline = pd.DataFrame({"setting": ["ours", "published"], "params_removed": [0.6, 0.5], "acc": [0.9, float("nan")],
                             "acc_change_points": [-0.5, -0.3]})
    outer = pd.DataFrame({"hsr_fewest": [10.0, 20.0, 30.0], "hsq_fewest": [12.0, 20.0, 25.0],
                          "count": ["absolute rule (≤ tol)"] * 3})
    return {"rules": rules, "shared": shared, "latency": latency, "headline": headline, "outer": outer}


def test_the_verdict_on_small_tables():
    text = recap.verdict(_tables())
    assert "the fewest filters are left by **A** (20 filters at 0.90% error), then B (25 at 0.95%)" in text
    assert "2 of 3 families reach the target" in text and "the rule does not change the winner" in text
    assert "most parameters are removed by B (80%) and the most MACs by A (90%)" in text
    assert "comes from A, 4.00× faster" in text and "median efficiency (speed-up / MAC ratio) is 0.50 at batch 64" in text
    assert "removed 60% of the parameters for an accuracy change of -0.50 points" in text and "**met**" in text
    assert "fewer channels in 1 of the 3 pairs" in text and "the squared one in 1, and 1 tie" in text
    assert "the rule changes the winner" in recap.verdict(_tables(rank_own_first="B"))


def test_which_method_names_a_missing_column_and_load_a_missing_table(tmp_path):
    t = _tables()
    t["rules"] = t["rules"].drop(columns="rank_own")
    with pytest.raises(InvalidArgument, match="rank_own"):
        recap.which_method(t)
    with pytest.raises(InvalidArgument, match="07_rules_compared.csv"):
        recap.load(tmp_path)


def test_the_verdict_states_the_longest_budgets_leader():
    b = pd.DataFrame({"epochs": [3, 20, 20], "label": ["A", "A", "B"], "filters_left_mean": [20.0, 11.0, 9.0],
                      "filters_left_std": [2.0, 1.0, 0.5], "error_finetuned": [0.009, 0.0095, 0.012], "seeds": [2, 3, 3],
                      "reaches_on_val": [True, True, True], "meets_test": [True, True, False]})
    text = recap.verdict({**_tables(), "budget": b})
    assert "trained 20 epochs instead of 3, the fewest filters at the 1.00% target are left by **A**, 11.0 ± 1.0 filters at 0.95%" in text
    none = recap.verdict({**_tables(), "budget": b.assign(meets_test=False)})
    assert "no leading family reaches the 1.00% target" in none
