import pandas as pd
import pytest

from hgsr.study import comparison as cmp


def _table():
    return pd.DataFrame({"family": ["a", "b", "c"], "label": ["A", "B", "C"],
                         "widths": ["20-50 → 4-10", "20-50 → 2-8", "20-50 → 5-20"],
                         "filters_left": [14, 10, 25], "error_finetuned": [0.009, 0.012, 0.008]})


def test_best_family_is_the_fewest_filters_within_the_error_bound():
    assert cmp.best_family(_table())["family"] == "a"
    assert cmp.best_family(_table(), max_error=0.02)["family"] == "b"
    assert cmp.best_family(_table(), max_error=0.001) is None


def test_published_ssl_lenet_counts_a_3_12_network():
    r = cmp.published_lenet()
    assert r["filters_left"] == 15 and r["error_finetuned"] == 0.01
    assert 0.5 < r["params_removed"] < 1 and 0.5 < r["macs_removed"] < 1
    assert "published" in r["source"]


@pytest.mark.parametrize("max_err,expect", [(0.0100, "fewer than SSL"), (0.001, "no family reaches")])
def test_verdict_states_the_comparison_from_the_numbers(max_err, expect):
    t = _table()
    if max_err < 0.005:
        t["error_finetuned"] += 0.05
    best = {"name": "hgsr loss 40%", "params_removed": 0.55, "macs_removed": 0.6, "acc_change_points": -0.8,
            "acc_dense": 0.7, "meets_target": True}
    text = cmp.verdict(t, best, "smoke")
    assert "4-10" in text if "fewer" in expect else "no family reaches" in text
    assert "55.0%" in text and "-0.80 points" in text and "is met" in text


def test_lenet_row_from_a_registry_family(monkeypatch):
    from hgsr.study import families as study
    row = cmp.lenet_row("none", "smoke", finetune_epochs=0)
    assert row["widths"].startswith("20-50 → ") and row["label"] == study.family("none").label
    assert row["error_finetuned"] == row["error_pruned"]          # no fine-tuning
    assert 0 <= row["params_removed"] < 1
