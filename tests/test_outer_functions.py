"""Notebook 03's matched-strength comparison of the outer functions and the tolerance trap."""
import math

import numpy as np
import pandas as pd
import pytest
import torch

from hgsr import models
from hgsr.errors import InvalidArgument
from hgsr.study import hgsr_variants, outer_functions, tolerance_trap


def _table(points, baseline_acc=0.98):
    """A strength table from ``(variant, multiple, test_acc or None for diverged, channels_left[, scale-free
    count])`` (the scale-free count defaults to ``channels_left``)."""
    rows = []
    for name, m, acc, left, *rel in points:
        key, grouping = hgsr_variants.split(name)
        outer, inner = key.split("_", 1)
        rows.append({"variant": name, "inner": inner, "outer": outer_functions.OUTER[outer], "grouping": grouping,
                     "lam_mult": m, "lam": m, "status": "diverged" if acc is None else "trained",
                     "test_acc": np.nan if acc is None else acc, "channels_left": np.nan if acc is None else left,
                     "channels_left_rel": np.nan if acc is None else (rel[0] if rel else left),
                     "zero_kernels": 0.0})
    df = pd.DataFrame(rows)
    df.attrs.update(baseline_acc=baseline_acc, tol=1e-2)
    return df


def test_six_pairs_cover_the_hierarchical_variants_of_the_grid():
    pairs = outer_functions.pair_variants()
    names = {n for _, _, a, b in pairs for n in (a, b)}
    assert len(pairs) == 6 and names == {n for n in hgsr_variants.variant_names() if n.startswith(("hsr", "hsq"))}


def test_matched_compares_the_fewest_channels_above_the_same_accuracy_floor():
    t = _table([
        # GL input: HSR's sparsest point is below the floor, so its best qualifying point (40) loses to HSQ's 30
        ("hsr_gl/input", 1.0, 0.975, 40), ("hsr_gl/input", 2.0, 0.95, 10),
        ("hsq_gl/input", 1.0, 0.972, 30), ("hsq_gl/input", 2.0, None, 0),
        # ES input: HSR wins, 20 against 50
        ("hsr_es/input", 1.0, 0.97, 20), ("hsq_es/input", 1.0, 0.979, 50),
        # GL12 input: HSQ never reaches the floor
        ("hsr_gl12/input", 1.0, 0.97, 20), ("hsq_gl12/input", 1.0, 0.90, 5),
    ])
    m = outer_functions.matched(t, max_drop=0.015).set_index("inner")
    assert m.attrs["floor"] == pytest.approx(0.965)
    assert (m.loc["gl", "hsr_fewest"], m.loc["gl", "hsq_fewest"], m.loc["gl", "winner"]) == (40, 30, "square (HSQ)")
    assert m.loc["es", "winner"] == "not bracketed" and m.loc["es", "hsr_lam_mult"] == 1.0   # HSQ never below the floor
    assert not m.loc["es", "hsq_bracketed"] and m.loc["gl", "hsq_bracketed"]                 # diverged counts as reached
    assert m.loc["gl12", "winner"] == "undecided" and math.isnan(m.loc["gl12", "hsq_fewest"])
    text = outer_functions.verdict(t, outer_functions.both_counts(t, 0.015))
    assert "the square root leaves fewer channels in 0 of 3 pairs, the square in 1" in text
    assert "1 undecided" in text and "1 not bracketed" in text and "HSQ-GL, feature-wise at λ × 2" in text
    assert "**The expectation of section 1 does not hold:**" in text       # the one decided pair, under both counts


def test_verdict_says_held_only_when_both_counts_agree():
    pts = [("hsr_gl/input", 1.0, 0.975, 10, 10), ("hsq_gl/input", 1.0, 0.975, 20, 20),
           ("hsr_es/input", 1.0, 0.975, 10, 30), ("hsq_es/input", 1.0, 0.975, 20, 20),
           ("hsr_gl/input", 4.0, 0.9, 5, 5), ("hsq_gl/input", 4.0, 0.9, 5, 5),        # every side reaches the floor
           ("hsr_es/input", 4.0, 0.9, 5, 5), ("hsq_es/input", 4.0, 0.9, 5, 5)]
    both = outer_functions.both_counts(_table(pts), 0.015)
    assert set(both["count"]) == set(outer_functions.COUNT_NAMES.values()) and len(both) == 4 and both["hsr_bracketed"].all()
    text = outer_functions.verdict(_table(pts), both)
    assert "Neither outer function is ahead under both counts" in text     # absolute: HSR 2-0; scale-free: 1-1
    pts[2] = ("hsr_es/input", 1.0, 0.975, 10, 10)
    assert "**The expectation of section 1 holds**" in outer_functions.verdict(_table(pts), outer_functions.both_counts(_table(pts), 0.015))


def test_non_monotone_names_variants_whose_count_rises_with_lambda():
    t = _table([("hsr_gl/input", 1.0, 0.97, 50), ("hsr_gl/input", 2.0, 0.96, 60), ("hsr_gl/input", 4.0, 0.95, 40),
                ("hsq_gl/input", 1.0, 0.97, 50), ("hsq_gl/input", 2.0, 0.96, 45)])
    assert outer_functions.non_monotone(t) == ["hsr_gl/input"]


def test_matched_refuses_a_drop_outside_0_1_and_an_unknown_count():
    with pytest.raises(InvalidArgument, match="max_drop=1.5"):
        outer_functions.matched(_table([("hsr_gl/input", 1.0, 0.97, 4)]), 1.5)
    with pytest.raises(InvalidArgument, match="count='filters'; known: channels_left"):
        outer_functions.matched(_table([("hsr_gl/input", 1.0, 0.97, 4)]), 0.01, count="filters")


def test_relative_count_is_scale_free():
    net = models.build("lenet5", 10, 1, 28)
    with torch.no_grad():
        net.features[2].weight[:5] *= 1e-3                  # 5 conv2 filters below 1 % of the layer's largest
    n = outer_functions.relative_channels_left(net)
    with torch.no_grad():
        for conv in (net.features[0], net.features[2]):
            conv.weight *= 1e-4                             # the whole network 10^4 times smaller
    assert n == 65 and outer_functions.relative_channels_left(net) == 65


def test_strength_runs_refuses_a_non_positive_multiple():
    with pytest.raises(InvalidArgument, match="positive multiples"):
        outer_functions.strength_runs("smoke", strengths=(1.0, 0))


def test_tolerance_trap_counts_filters_of_small_kernels_above_the_filter_tolerance():
    net = models.build("lenet5", 10, 1, 28)
    tol = 1e-2
    conv1, conv2 = net.features[0], net.features[2]
    with torch.no_grad():
        conv1.weight[:3] = 0                                 # 3 exact-zero filters: no trap
        conv2.weight[:4] = 0.9 * tol / 5                     # 4 filters of 20 kernels, each of norm 0.9·tol
    t = tolerance_trap.table(net, tol).set_index("layer")
    assert (t.loc["conv1", "filters_all_kernels_small"], t.loc["conv1", "filters_small"]) == (3, 3)
    assert t.loc["conv2", "filters_all_kernels_small"] == 4 and t.loc["conv2", "filters_small"] == 0
    assert t.loc["conv2", "kernels_small"] >= 80
    assert t.loc["conv2", "max_norm_all_kernels_small"] == pytest.approx(math.sqrt(20) * 0.9 * tol, rel=1e-5)
    assert t.loc["conv2", "bound"] == pytest.approx(math.sqrt(20) * tol)
    text = tolerance_trap.verdict(t.reset_index(), tol, "this net")
    assert "conv2" in text and "conv1:" not in text and "yet only 0 filter(s)" in text


def test_tolerance_trap_says_when_the_rule_agrees_with_the_kernels():
    net = models.build("lenet5", 10, 1, 28)
    with torch.no_grad():
        net.features[0].weight[:2] = 0
    t = tolerance_trap.table(net, 1e-2)
    assert "also has norm" in tolerance_trap.verdict(t, 1e-2, "this net")
    with pytest.raises(ValueError, match="tol"):
        tolerance_trap.table(net, 0.0)
