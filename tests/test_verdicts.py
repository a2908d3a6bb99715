"""The verdict functions of the study modules: each turns a small hand-made table into the sentence a
notebook shows, and the sentence changes when the table says something else."""
from __future__ import annotations

import pandas as pd
import pytest
import torch
from torch import nn

from hgsr.study import dead_channels, hgsr_variants, intro, l1_over_l2, speed, splitting, theory_checks


# ----------------------------------------------------------------------------- 00
def test_conv_share_verdict_follows_the_shares():
    t = pd.DataFrame({"model": ["LeNet-5 (MNIST)", "VGG"], "conv share of params": [0.06, 0.99],
                      "conv share of MACs": [0.82, 1.0]})
    v = intro.conv_share_verdict(t)
    assert "6% of the parameters and 82% of the MACs" in v and "compute more than its size" in v
    t.loc[0, "conv share of MACs"] = 0.05
    assert "no larger share of the compute" in intro.conv_share_verdict(t)
    with pytest.raises(ValueError, match="not a row"):
        intro.conv_share_verdict(t, lenet="AlexNet")


def test_speed_verdict_separates_noise_from_speed():
    t = pd.DataFrame({"variant": ["dense", "element-wise", "structured"], "macs": [100, 100, 25],
                      "speedup": [1.0, 1.02, 3.5]})
    v = intro.speed_verdict(t)
    assert "runs at the dense speed (1.02x" in v and "4.0x fewer MACs and runs 3.50x faster" in v
    t.loc[1, "speedup"] = 1.5
    assert "element-wise" in intro.speed_verdict(t) and "runs 1.50x faster than dense" in intro.speed_verdict(t)
    # a busy machine: the rounds disagree so much that 1.50x lies inside their spread
    t["speedup_low"], t["speedup_high"] = [1.0, 0.8, 3.2], [1.0, 2.1, 3.9]
    v = intro.speed_verdict(t)
    assert "runs at the dense speed (1.50x, inside the noise" in v and "0.80x to 2.10x" in v
    assert "runs 3.50x faster than dense (the rounds gave 3.20x to 3.90x)" in v


# ----------------------------------------------------------------------------- 01, 05
def test_prox_check_verdict_names_failures():
    check = pd.DataFrame({"operator": ["soft", "hard"], "optimal": [True, True], "objective_gap": [0.0, -1e-9],
                          "distance": [1e-6, 2e-6], "grid_step": [1e-5, 1e-5]})
    assert theory_checks.prox_check_verdict(check).startswith("**2 of 2**")
    check.loc[1, "optimal"] = False
    v = theory_checks.prox_check_verdict(check)
    assert v.startswith("**1 of 2**") and "Not optimal:** hard" in v


def test_toy_verdict_from_the_real_toy():
    from hgsr import toy

    v = theory_checks.toy_verdict(toy.toy_paths(y=0.5, lam=1.0, lr=0.3, steps=30))
    assert "exactly 0 from step" in v and "jumping across 0" in v
    v2 = theory_checks.toy_verdict(toy.toy_paths(y=1.5, lam=1.0, lr=0.3, steps=60))
    assert "never exactly 0" in v2 and "without crossing 0" in v2


def test_scale_invariance_verdict():
    s = pd.DataFrame({"regularizer": ["L1/L2, per filter"] * 2 + ["L1"] * 2, "scale": [0.1, 10] * 2,
                      "relative": [1.0, 1.0, 0.1, 10.0], "cos": [1e-8, 2e-8, 0.8, 0.8], "degree": [0, 0, 1, 1]})
    assert "scale invariant to rounding error" in theory_checks.scale_invariance_verdict(s)
    s.loc[1, "relative"] = 1.5
    assert "**not** scale invariant" in theory_checks.scale_invariance_verdict(s)


# ----------------------------------------------------------------------------- 02
def _left(l1, gl):
    return pd.DataFrame({"conv1": [20, l1[0], gl[0]], "conv2": [50, l1[1], gl[1]],
                         "total": [70, sum(l1), sum(gl)]}, index=["baseline", "L1", "group lasso (filters)"])


def test_verdict_baselines_compares_l1_with_group_lasso():
    v = dead_channels.verdict_baselines(_left((2, 13), (3, 14)), pd.DataFrame())
    assert v.startswith("Conv filters left at the tolerance, fewest first: **L1** 2-13")
    assert "leaves fewer filters than group lasso (filters) (15 against 17)" in v and "at least as well" in v
    v2 = dead_channels.verdict_baselines(_left((10, 40), (3, 14)), pd.DataFrame())
    assert "**group lasso (filters)** 3-14" in v2 and "leaves more filters" in v2 and "group penalty empties more" in v2
    assert "Neither L1 nor" in dead_channels.verdict_baselines(_left((20, 50), (20, 50)), pd.DataFrame())


def _conv_model(norms):
    m = nn.Sequential(nn.Conv2d(1, len(norms), 1, bias=False))
    with torch.no_grad():
        m[0].weight.copy_(torch.tensor(norms, dtype=torch.float32).view(-1, 1, 1, 1))
    return m


def test_filter_norm_gaps_and_their_verdict():
    gapped = _conv_model([1e-4, 2e-4, 3e-4, 0.5, 0.6])      # empty band 3e-4 .. 0.5 holds tol = 1e-2
    spread = _conv_model([1e-4, 1e-3, 5e-3, 2e-2, 0.5])      # widest band 2e-2 .. 0.5 lies above tol
    g = dead_channels.filter_norm_gaps({"gapped": gapped, "spread": spread}, tol=1e-2)
    a = g.set_index("model")
    assert a.loc["gapped", "tol_in_gap"] and not a.loc["spread", "tol_in_gap"]
    assert a.loc["gapped", "gap_low"] == pytest.approx(3e-4) and a.loc["gapped", "below_tol"] == 3
    left = pd.DataFrame({"conv1": [2, 2], "total": [2, 2]}, index=["gapped", "spread"])
    v = dead_channels.verdict_baselines(left, g)
    assert "**gapped**, conv1" in v and "inside the widest band of every layer for gapped" in v
    assert "For spread the tolerance lies outside" in v


# ----------------------------------------------------------------------------- 03
def _grid(hsr_left, hsq_left):
    rows = [("none", "none", "-", 0.98, 70, 70, 0.0)]
    rows += [(f"hsr_gl/{g}", "hsr_gl", g, 0.97, n, 70, 0.9) for g, n in zip(("input", "output"), hsr_left)]
    rows += [(f"hsq_gl/{g}", "hsq_gl", g, 0.97, n, 70, 0.5) for g, n in zip(("input", "output"), hsq_left)]
    df = pd.DataFrame(rows, columns=["variant", "key", "grouping", "test_acc", "channels_left", "channels",
                                     "zero_kernels"])
    df["left_conv1"], df["left_conv2"] = 20, df["channels_left"] - 20
    df["params_left"], df["macs_left"] = 0.5, 0.4
    df.attrs.update(tol=1e-2, widths_dense=[20, 50])
    return df


def test_hierarchical_verdict_says_which_outer_function_removed_more():
    v = hgsr_variants.verdict(_grid((30, 40), (60, 70)), max_drop=0.015)
    assert "the square-rooted ones removed more channels" in v and "which holds here" in v
    assert "the square-rooted ones zeroed more kernels" in v and "removed no channel at this tolerance: HSQ-GL, neuron-wise" in v
    v2 = hgsr_variants.verdict(_grid((60, 70), (30, 40)), max_drop=0.015)
    assert "the squared ones removed more channels" in v2 and "does not hold here" in v2
    assert "fewest channels are left by **HSQ-GL, feature-wise**" in v2
    assert "No variant stays within" in hgsr_variants.verdict(_grid((60, 70), (30, 40)), max_drop=0.001)


def test_reference_mix_note():
    note = hgsr_variants.reference_mix_note(1e-3, 0.5, {"key": "hgsr_ref", "lam": 5e-4})
    assert "defaults $\\lambda$ = 0.001" in note and "HGSR reference mix (input grouping)) runs it with λ = 0.0005" in note


# ----------------------------------------------------------------------------- 04
def test_one_layer_verdict_reports_zero_filters_only_when_there_are():
    t = pd.DataFrame({"R": ["l1", "l0", "tl1", "l1_l2"], "v_sparsity": [0.02, 0.77, 0.04, 0.02],
                      "v_zero_filters": [0, 0, 0, 0]})
    assert "No filter of V is zero" in splitting.one_layer_verdict(t, 8e-4, 1.0)
    t.loc[1, "v_zero_filters"] = 3
    v = splitting.one_layer_verdict(t, 8e-4, 1.0)
    assert "No filter" not in v and "L0: 3" in v


def test_units_note_knows_whether_beta_grows():
    class Reg:
        lam, beta, a, alpha, growth, period = 8e-4, 1.0, 1.0, 1.0, 1.25, 40

    class Cfg:
        epochs, optimizer, momentum, lr = 3, "sgd", 0.9, 0.05
    assert "β stays at β₀" in splitting.units_note(Reg, Cfg)
    Cfg.epochs = 80
    assert "β grows 2 time(s) here" in splitting.units_note(Reg, Cfg)


def test_toy_and_w_vs_v_and_zeros_verdicts():
    h = pd.DataFrame({"beta": [1.0, 2.0], "gap": [1.0, 0.1], "v_zero_filters": [0, 5]})
    assert "it closed for every R" in splitting.toy_verdict({"l1": h}, 50)
    h2 = h.assign(gap=[1.0, 2.0])
    assert "did **not** close" in splitting.toy_verdict({"l1": h2}, 50)
    lay = pd.DataFrame({"family": ["a", "a"], "filters": [20, 50], "w_active": [10, 50], "v_filters": [5, 10],
                        "masked_filters": [5, 10]})
    assert "a: 60/15/15 of 70" in splitting.w_vs_v_verdict(lay, 1e-2)
    assert "decide what is removed" not in splitting.w_vs_v_verdict(lay.assign(w_active=[5, 10]), 1e-2)
    z = pd.DataFrame({"model": ["x (W)", "x (V)"], "exact": [0.0, 0.9], "filters": [70, 70]})
    assert "W has no exact zero" in splitting.zeros_verdict(z, 1e-2)
    z.loc[0, "exact"] = 0.1
    assert "up to 10.0% exact zeros" in splitting.zeros_verdict(z, 1e-2)


# ----------------------------------------------------------------------------- 05
def _summary(ratio_rel, l1_rel, ratio_abs, l1_abs):
    rows = []
    for fam, rel, ab in (("L1/L2", ratio_rel, ratio_abs), ("L1", l1_rel, l1_abs)):
        for rule, (w, e) in (("relative ρ = 0.1", rel), ("absolute tol = 0.01", ab)):
            rows.append({"family": fam, "rule": rule, "widths_dense": "20-50", "widths": w, "error_finetuned": e,
                         "params_removed": 0.8, "macs_removed": 0.9})
    return pd.DataFrame(rows)


def test_ratio_verdict_says_when_l1_over_l2_ends_worse():
    v = l1_over_l2.verdict(_summary(("2-7", 0.0142), ("2-8", 0.0127), ("5-24", 0.0127), ("2-13", 0.0125)), "L1/L2", "L1")
    assert "Relative rule: L1/L2 trades against L1" in v and "fewer filters but a higher error" in v
    assert "Absolute rule: L1/L2 ends **worse** than L1" in v and "Under every rule L1/L2 ends with a higher error" in v
    v2 = l1_over_l2.verdict(_summary(("2-7", 0.010), ("2-8", 0.0127), ("2-9", 0.011), ("2-13", 0.0125)), "L1/L2", "L1")
    assert "ends **better** than L1" in v2 and "Under every rule" not in v2


def test_rho_note():
    assert l1_over_l2.rho_note({"a": 0.1}, {"a": "A"}, 0.01) == ("Chosen ρ (largest grid value such that it and every "
                                                           "smaller one lose ≤ 1% accuracy before fine-tuning): A: ρ = 0.1")


# ----------------------------------------------------------------------------- 08
def _latency(eff_gl):
    rows = [("LeNet-5", "dense", 1.0, 1.0, 1.0), ("LeNet-5", "L1", 10.0, 1.8, 7.0),
            ("LeNet-5", "group lasso (channels)", 2.0, 1.3, 2.0 * eff_gl)]
    df = pd.DataFrame(rows, columns=["network", "label", "mac_ratio", "speedup_b1", "speedup_b64"])
    for b in (1, 64):
        df[f"efficiency_b{b}"] = df[f"speedup_b{b}"] / df["mac_ratio"]
    return df


def test_speed_verdict_names_networks_faster_than_their_mac_ratio():
    v = speed.verdict(_latency(1.18))
    assert "At batch 1 every one of them runs below its MAC ratio" in v
    assert "At batch 64, 1 of 2 run below their MAC ratio and group lasso (channels) (efficiency 1.18) runs at or above it" in v
    v2 = speed.verdict(_latency(0.5))
    assert "At batch 64 every one of them runs below its MAC ratio" in v2


def test_timing_note():
    info = {"cpu": "X", "cores": 2, "platform": "p", "torch": "t", "threads": 1}
    assert "**1 thread**" in speed.timing_note(info, {"repeats": 3, "rounds": 1, "warmup": 1}, (1, 64))
