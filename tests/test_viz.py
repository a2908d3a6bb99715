"""Plotting functions (hgsr.viz): each returns a Figure whose panels and reported numbers are right."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from hgsr import groups, measure, models, viz

from conftest import sparse_lenet

TOL = 1e-3


def texts(fig):
    out = [ax.get_title() for ax in fig.axes] + [t.get_text() for t in fig.texts]
    if fig._suptitle is not None:
        out.append(fig._suptitle.get_text())
    for ax in fig.axes:
        if ax.get_legend():
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    return "\n".join(out)


def test_kernel_norm_heatmap_sorts_dead_rows_and_columns_last():
    W = sparse_lenet().features[2].weight
    fig = viz.kernel_norm_heatmap(W, tol=TOL)
    assert isinstance(fig, plt.Figure) and len(fig.axes) == 2          # image + colour bar
    img = fig.axes[0].images[0].get_array()
    assert img.shape == (50, 20)
    mask = np.ma.getmaskarray(img)
    assert mask[-10:].all() and mask[:, -4:].all()                     # dead filters/channels at the end
    assert mask.sum() == int((groups.kernel_l2(W) <= TOL).sum()) == 10 * 20 + 40 * 4
    assert "10/50 filters, 4/20 channels" in fig.axes[0].get_title()


def test_kernel_norm_heatmap_draws_on_given_axes_without_new_figure():
    fig0, ax = plt.subplots()
    before = plt.get_fignums()
    fig = viz.kernel_norm_heatmap(torch.randn(6, 3, 3, 3), sort=False, log=False, ax=ax)
    assert fig is fig0 and plt.get_fignums() == before
    assert not np.ma.getmaskarray(ax.images[0].get_array()).any()


def test_kernel_norm_heatmaps_one_panel_per_target_conv():
    fig = viz.kernel_norm_heatmaps(sparse_lenet(), tol=TOL)
    assert len(fig.axes) == 4                                           # 2 panels, then their 2 colour bars
    assert [ax.get_title().split("\n")[0] for ax in fig.axes[:2]] == ["conv1", "conv2"]   # not module names


def test_filter_norm_histogram_counts_in_legend():
    m = sparse_lenet()
    fig = viz.filter_norm_histogram(m, layer="features.2", tol=TOL, rel=0.5)
    fn = groups.filter_l2(m.features[2].weight.detach())
    k_rel = int((fn <= 0.5 * fn.max()).sum())
    t = texts(fig)
    assert "10/50 filters ≤ tol" in t and f"{k_rel}/50 ≤" in t and "10 exactly 0" in t
    everything = viz.filter_norm_histogram(m, tol=TOL)                  # all target layers overlaid
    assert "15/70 filters ≤ tol" in texts(everything)
    assert len(everything.axes[0].patches) == 2                         # one step histogram per layer
    with pytest.raises(ValueError, match="features.0, features.2"):
        viz.filter_norm_histogram(m, layer="fc9")


def test_filter_norm_view_two_panels_and_colour_bar():
    fig = viz.filter_norm_view(sparse_lenet(), "features.0", tol=TOL)
    assert len(fig.axes) == 3
    assert "5/20 filters" in texts(fig)
    with pytest.raises(ValueError, match="out of range"):
        viz.filter_norm_view(sparse_lenet(), 5)


def test_sparsity_pattern_images_are_the_kernel_masks():
    m = sparse_lenet()
    fig = viz.sparsity_pattern(m, TOL)
    assert len(fig.axes) == 2
    expected = (groups.kernel_l2(m.features[2].weight.detach()) > TOL).numpy()
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), expected)
    assert "filters 40/50, channels 16/20" in fig.axes[1].get_title()


def test_compare_sparsity_patterns_rows_are_runs():
    fig = viz.compare_sparsity_patterns({"sparse": sparse_lenet(), "dense": models.build("lenet5", 10, 1, 28)}, TOL)
    assert len(fig.axes) == 4
    assert [sub._suptitle.get_text() for sub in fig.subfigs] == ["sparse", "dense"]    # each row titled by its run
    assert fig.axes[0].get_ylabel() == "filter o" and fig.axes[2].get_xlabel() == "input channel i"
    assert fig.axes[0].get_title().startswith("conv1 (20×1)")
    assert "filters 50/50" in fig.axes[3].get_title()
    with pytest.raises(ValueError):
        viz.compare_sparsity_patterns({}, TOL)


def test_params_macs_by_layer_bars_and_totals():
    df = measure.macs_by_layer(sparse_lenet(), (1, 28, 28))
    fig = viz.params_macs_by_layer(df, title="LeNet-5")
    assert len(fig.axes) == 2 and all(len(ax.patches) == len(df) == 4 for ax in fig.axes)
    heights = sorted(p.get_width() for p in fig.axes[0].patches)
    assert heights == sorted(df["params"].astype(float))
    assert "431k" in fig.axes[0].get_title()                            # 431,080 parameters


def test_filters_per_layer_bar_heights_are_filters_left():
    tables = {"sparse": measure.sparsity_table(sparse_lenet(), TOL),
              "dense": measure.sparsity_table(models.build("lenet5", 10, 1, 28), TOL)}
    fig = viz.filters_per_layer(tables)
    ax = fig.axes[0]
    assert len(ax.patches) == 2 * 3                                     # original + two runs, two layers
    h = [p.get_height() for p in ax.patches]
    assert h[:2] == [20, 50] and h[2:4] == [15, 40] and h[4:] == [20, 50]
    assert "tol = 0.001" in ax.get_title()


def test_threshold_curves_follow_the_proximal_formulas():
    c = viz.threshold_curves(lam=0.5, a=2.0, alpha=0.4)
    y = c["y"]
    np.testing.assert_allclose(c["soft"], np.sign(y) * np.maximum(np.abs(y) - 0.5, 0))
    assert (c["hard"][np.abs(y) <= 1.0] == 0).all() and (c["hard"][np.abs(y) > 1.0] == y[np.abs(y) > 1.0]).all()
    assert sorted(c["tl1"]) == [0.1, 1.0, 2.0, 10.0]
    # the 1-D slice of L1 - aL2 is the soft threshold at (1 - alpha)*lam
    np.testing.assert_allclose(c["l1_l2"][0.0], np.sign(y) * np.maximum(np.abs(y) - 0.6 * 0.5, 0), atol=1e-12)
    np.testing.assert_allclose(c["group"], np.maximum(c["r"] - 0.5, 0), atol=1e-12)
    with pytest.raises(ValueError, match="lam"):
        viz.threshold_curves(lam=0.0)


def test_thresholding_functions_panels():
    fig = viz.thresholding_functions(lam=0.3, a=0.5, alpha=0.7)
    assert len(fig.axes) == 6
    assert "√(2λ) = 0.775" in fig.axes[1].get_title()
    fig1, ax = plt.subplots()
    assert viz.thresholding_functions(ax=ax) is fig1 and len(fig1.axes) == 1
    assert len(ax.lines) >= 5


def test_penalty_contours_one_panel_per_penalty():
    fig = viz.penalty_contours()
    assert len(fig.axes) == 16                                          # 8 panels, each with its colour bar
    fig2 = viz.penalty_contours(names=("l1", "l0"), n=51)
    assert len(fig2.axes) == 4 and len(fig2.axes[1].lines) == 2        # L0's level-1 set: the two axes
    with pytest.raises(ValueError, match="known"):
        viz.penalty_contours(names=("l7",))


def test_subgradient_vs_prox_and_scale_invariance():
    fig = viz.subgradient_vs_prox_path(lam=1.0, lr=0.3, steps=30)
    assert "prox exactly 0 from step" in fig.axes[0].get_title() and len(fig.axes[0].lines) == 3
    fig = viz.scale_invariance(scales=[0.1, 1, 10])
    ratio = fig.axes[0].lines[2].get_ydata()
    assert np.allclose(ratio, ratio[0]) and "n = 64" in fig.axes[0].get_title()


def test_training_curves_panels_and_missing_column():
    h = pd.DataFrame({"epoch": [1, 2, 3], "test_acc": [0.9, 0.95, 0.97], "zero_filters": [0, 5, 12]})
    fig = viz.training_curves({"a": h, "b": h.drop(columns="zero_filters")})
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2 and len(fig.axes[1].lines) == 1
    with pytest.raises(ValueError, match="available"):
        viz.training_curves({"a": h}, cols=("nope",))


RESULTS = pd.DataFrame({"method": ["l1", "l1", "hgsr", "hgsr", "ssl"], "params": [100, 50, 60, 30, 40],
                        "test_acc": [0.90, 0.85, 0.91, 0.88, 0.80], "source": [None, None, None, None, "Wen"]})


def test_pareto_front_by_hand():
    ours = RESULTS[RESULTS["source"].isna()]
    assert viz.pareto_front(ours).tolist() == [False, False, True, True]
    assert viz.pareto_front(ours, minimize_x=False).tolist() == [True, False, True, False]


def test_pareto_marks_front_and_reference_points():
    fig = viz.pareto(RESULTS)
    ax = fig.axes[0]
    front = [ln for ln in ax.lines if ln.get_label() == "Pareto front"][0]
    assert list(front.get_xdata()) == [30, 60]
    assert any(t.get_text().strip() == "Wen" for t in ax.texts)
    with pytest.raises(ValueError, match="available"):
        viz.pareto(RESULTS, x="macs")
    ours = RESULTS.drop(columns="source").assign(name=list("abcde"))   # no source column; labelled points
    ax = viz.pareto(ours, annotate="name").axes[0]
    assert sorted(t.get_text() for t in ax.texts if t.get_text()) == list("abcde")


def test_latency_pruning_sweep_and_widths():
    lat = pd.DataFrame({"mac_ratio": [1.5, 2, 4], "speedup": [1.2, 1.6, 2.5], "model": ["a", "b", "c"]})
    ax = viz.latency_vs_macs(lat, label="model").axes[0]
    diag = [ln for ln in ax.lines if ln.get_label() == "y = x"][0]
    assert np.allclose(diag.get_xdata(), diag.get_ydata())
    pr = pd.DataFrame({"params_removed": [0.4, 0, 0.2] * 2, "test_acc": [0.85, 0.9, 0.89, 0.8, 0.9, 0.88],
                       "criterion": ["dl"] * 3 + ["norm"] * 3})
    ax = viz.pruning_curve(pr).axes[0]
    assert len(ax.lines) == 2 and list(ax.lines[0].get_xdata()) == [0, 0.2, 0.4]
    sw = pd.DataFrame({"rho": [1e-1, 1e-3, 1e-2], "filters_left": [40, 70, 60], "test_acc": [0.95, 0.99, 0.99]})
    fig = viz.threshold_sweep(sw)
    assert len(fig.axes) == 2 and list(fig.axes[0].lines[0].get_ydata()) == [70, 60, 40]
    fig = viz.layer_widths({"c1": 20, "c2": 50}, {"c1": 15})
    assert [t.get_text() for t in fig.axes[0].texts] == ["15/20", "50/50"]


def test_one_column_heatmap_has_integer_ticks_and_is_not_stretched():
    m = sparse_lenet()
    fig = viz.kernel_norm_heatmap(m.features[0].weight, tol=TOL)     # 20 filters x 1 input channel
    ax = fig.axes[0]
    fig.canvas.draw()
    assert all(float(t).is_integer() for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1])
    bbox = ax.get_window_extent()
    assert bbox.width <= bbox.height / 3                                # a narrow column, not a square
    assert ax.get_xlabel().startswith("input channel i") and ax.get_ylabel().startswith("filter o")


def test_panels_are_labelled_conv1_conv2_and_histogram_counts_are_integers():
    m = sparse_lenet()
    fig = viz.filter_norm_histogram(m, tol=TOL)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[0].startswith("conv1") and legend[1].startswith("conv2")
    assert viz.filter_norm_histogram(m, layer="conv2", tol=TOL).axes[0].get_legend()   # short names accepted
    fig.canvas.draw()
    assert all(float(t).is_integer() for t in fig.axes[0].get_yticks())
    fig = viz.sparsity_pattern(m, TOL)
    assert [ax.get_title().split(" ")[0] for ax in fig.axes] == ["conv1", "conv2"]
    assert fig.axes[0].get_ylabel() == "filter o" and fig.axes[1].get_xlabel() == "input channel i"


def test_axis_labels_have_units_and_fractions_are_percent():
    h = pd.DataFrame({"epoch": [1, 2, 3], "test_acc": [0.9, 0.95, 0.97], "zero_filters": [0, 5, 12]})
    fig = viz.training_curves({"a": h})
    assert [ax.get_ylabel() for ax in fig.axes] == ["test accuracy (%)", "zero filters"]
    assert fig.axes[0].get_xlabel() == "epoch"
    assert float(fig.axes[0].yaxis.get_major_formatter()(0.95, 0)) == 95           # shown in %
    pr = pd.DataFrame({"params_removed": [0.0, 0.2, 0.4], "test_acc": [0.9, 0.89, 0.85], "criterion": ["dl"] * 3})
    ax = viz.pruning_curve(pr).axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("parameters removed (%)", "test accuracy (%)")


def test_pareto_gives_16_families_distinct_colour_marker_pairs_and_a_legend_off_the_data():
    n = 17
    df = pd.DataFrame({"method": [f"family {k}" for k in range(n)], "params": np.geomspace(4e4, 4e5, n),
                       "test_acc": np.linspace(0.984, 0.993, n), "source": [None] * n})
    fig = viz.pareto(df)
    ax = fig.axes[0]
    pairs = {(tuple(c.get_edgecolor()[0]), c.get_paths()[0].vertices.tobytes()) for c in ax.collections[:n]}
    assert len(pairs) == n
    assert ax.get_xscale() == "log"                                   # 4e4..4e5 spans a decade: auto log
    leg = ax.get_legend()
    fig.canvas.draw()
    assert leg.get_window_extent().x0 >= ax.get_window_extent().x1   # > 6 entries: outside, right


def test_threshold_sweep_panels_share_their_ranges():
    a = pd.DataFrame({"rho": [1e-3, 1e-2, 1e-1], "filters_left": [60, 30, 5], "test_acc": [0.99, 0.98, 0.6]})
    b = pd.DataFrame({"rho": [1e-3, 1e-2, 1e-1], "filters_left": [70, 70, 68], "test_acc": [0.993, 0.993, 0.99]})
    fig, axes = plt.subplots(1, 2)
    viz.threshold_sweep(a, ax=axes[0])
    viz.threshold_sweep(b, ax=axes[1])
    left = [ax for ax in fig.axes if ax.get_ylabel() == "filters left"]
    right = [ax for ax in fig.axes if ax.get_ylabel() == "test accuracy (%)"]
    assert len(left) == len(right) == 2
    assert left[0].get_ylim() == left[1].get_ylim() and left[0].get_ylim()[1] >= 70
    assert right[0].get_ylim() == right[1].get_ylim() and right[0].get_ylim()[0] <= 0.6


def test_latency_vs_macs_is_log_log_with_equal_ranges():
    lat = pd.DataFrame({"mac_ratio": [1.0, 1.5, 20], "speedup_b1": [1.0, 1.2, 1.9], "network": ["r", "r", "l"]})
    ax = viz.latency_vs_macs(lat, y="speedup_b1", label="network").axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log" and ax.get_xlim() == ax.get_ylim()
    assert ax.get_ylabel() == "speed-up, batch 1 (×)"


def test_overlapping_annotations_are_moved_apart():
    fig, ax = plt.subplots()
    ax.scatter([0.5, 0.51, 0.52], [0.5, 0.5, 0.5])
    anns = viz.annotate_points(ax, [0.5, 0.51, 0.52], [0.5, 0.5, 0.5], ["first label", "second label", "third"])
    fig.canvas.draw()
    boxes = [a.get_window_extent() for a in anns]
    assert not any(boxes[i].overlaps(boxes[j]) for i in range(3) for j in range(i + 1, 3))


def test_prox_panels_limits_follow_the_spread_not_the_max():
    from hgsr.study.splitting_plots import prox_panels, spread_limit

    torch.manual_seed(0)
    W = 0.02 * torch.randn(8, 4, 3, 3)
    W[0, 0, 0, 0] = 0.5                                                 # one outlier
    fig = prox_panels(W, lam=1e-4, beta=1.0, Rs=("l1", "l0"))
    lim = fig.axes[0].get_xlim()[1]
    assert lim == pytest.approx(spread_limit(W.flatten().numpy())) and lim < 0.1
    assert fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel()
