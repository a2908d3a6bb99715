"""Figures for a projector: every plot function of the suite, built on small synthetic inputs, gives a figure
that fits a 16:9 slide with no text under 11 pt and no registry key in its text; the defects a lecturer found
stay fixed (one figure each below); a colour means one thing across a notebook."""
from __future__ import annotations

import re
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.colors import to_hex, to_rgb
from matplotlib.text import Text

from hgsr import data as hdata, measure, models, prune, viz
from hgsr.study import budget, dead_channels, families, filter_pruning, fronts, hgsr_variants, palette, pruning_starts
from hgsr.study import splitting_plots
from hgsr.viz import style, theme
from hgsr.viz.sweep_point import sweep_point

from conftest import sparse_lenet

TOL = 1e-3
pytestmark = pytest.mark.filterwarnings("ignore:More than 20 figures")   # the module builds every figure once


# ----------------------------------------------------------------------------- synthetic inputs
def _history(seed: int, epochs: int = 3) -> pd.DataFrame:
    g = np.random.default_rng(seed)
    e = np.arange(1, epochs + 1)
    return pd.DataFrame({"epoch": e, "test_acc": 0.95 + 0.01 * g.random(epochs), "masked_acc": 0.95 + 0.01 * e / epochs,
                         "w_sparsity": 0.2 * e / epochs, "v_sparsity": 0.5 + 0.1 * e, "filter_activity": 1 - 0.05 * e,
                         "beta": 1.25 ** e, "gap": 1.0 / e, "v_zero_filters": 10 * e, "zero_filters": 3 * e})


def _with_v(model):
    """A copy of ``model`` whose target convs carry a V buffer (the nonconvex SGL's): V = W with small kernels 0."""
    import copy

    from hgsr.regularizers.nonconvex import BUFFER

    from hgsr import groups

    m = copy.deepcopy(model)
    for _, conv in groups.target_convs(m):
        V = conv.weight.detach().clone()
        V[V.abs() < 0.05] = 0
        conv.register_buffer(BUFFER, V)
    return m


def _scores():
    rows = []
    g = np.random.default_rng(0)
    for group in ("layer1", "layer1.0.conv1", "layer2", "layer2.0.conv1", "layer3.1.conv1"):
        for c in range(8):
            rows.append({"group": group, "channel": c})
    base = pd.DataFrame(rows)
    loss = base.assign(score=np.r_[g.exponential(0.2, len(base) - 1), 28.0])          # one huge ΔL
    return {"loss": loss, "magnitude": base.assign(score=g.uniform(1e-3, 1, len(base))),
            "bn_gamma": base.assign(score=g.uniform(0.02, 2, len(base)))}


def _curves():
    rows = []
    for p in filter_pruning.PROTOCOLS[:4] + filter_pruning.PROTOCOLS[-1:]:
        for f, removed in ((0.0, 0.0), (0.3, 0.35), (0.65, 0.62)):
            rows.append({"protocol": p.name, "label": p.label, "ablation": p.ablation, "fraction": f,
                         "params_removed": removed, "test_acc": 0.66 - 0.2 * removed * (1 + len(rows) % 3),
                         "test_acc_recalibrated": 0.66 - 0.1 * removed})
    return pd.DataFrame(rows)


def _finetuned(curves):
    last = curves[curves["fraction"] == 0.65]
    return last.assign(test_acc=last["test_acc_recalibrated"] - 0.03, val_acc=0.6, acc_pruned=0.5)


def _sweep(drops):
    rho = np.array([1e-3, 1e-2, 0.1, 0.3, 0.7])
    return pd.DataFrame({"rho": rho, "filters_left": [60, 40, 20, 10, 4], "acc_drop": drops})


def _dataset(name, classes):
    x = torch.randint(0, 255, (len(classes), 1, 28, 28), dtype=torch.uint8)
    y = torch.arange(len(classes))
    return hdata.Dataset(name, x, y, x, y, list(classes))


def _points():
    labels = [families.family(k).label for k in fronts.PANELS["proximal"] + fronts.PANELS["hierarchical and L1/L2"]]
    g = np.random.default_rng(1)
    n = 3 * len(labels)
    return pd.DataFrame({"label": np.repeat(labels, 3), "params": g.uniform(2e4, 4e5, n), "macs": g.uniform(5e4, 2e6, n),
                         "test_acc": g.uniform(0.97, 0.993, n), "test_acc_std": 0.001})


def _resnet_out():
    net = models.build("resnet20", 10, 3, 32)
    dense = prune.widths(net, (3, 32, 32))
    after = {g: max(1, w // 2) for g, w in dense.items()}
    out = {"runs": {"hgsr": SimpleNamespace(model=net)}, "widths_dense": dense, "widths": {"w": after}}
    best = {"name": "w", "label": filter_pruning.PROTOCOLS[5].label, "fraction": 0.65}
    return out, best


def _figures() -> dict:
    """Every plot function of the suite on synthetic inputs: ``{name: zero-argument builder}``."""
    lenet = sparse_lenet()
    lenet_bn = models.build("lenet5", 10, 1, 28, batchnorm=True)
    h = {families.family(k).label: _history(i) for i, k in enumerate(families.families("04")[3:7])}
    table = measure.sparsity_table(lenet, TOL)
    summary = pd.DataFrame({"variant": ["none", "gl/input", "hsr_gl/output", "hsq_gl12/input"],
                            "grouping": ["-", "input", "output", "input"], "test_acc": [0.975, 0.962, 0.968, 0.964],
                            "channels_left": [70, 61, 53, 39], "channels": 70})
    curves = _curves()
    out, best = _resnet_out()
    return {
        "00_dataset_samples": lambda: viz.image_grid({"mnist": _dataset("mnist", [f"{k} - x" for k in range(3)]),
                                                      "fashion_mnist": _dataset("fashion_mnist", ["T-shirt/top", "Ankle boot"])},
                                                     per_row=3),
        "00_layers": lambda: viz.params_macs_by_layer(measure.macs_by_layer(models.build("resnet20", 10, 3, 32),
                                                                            (3, 32, 32)), title="ResNet-20"),
        "01_penalty_contours": lambda: viz.penalty_contours(n=41),
        "01_thresholding_functions": lambda: viz.thresholding_functions(),
        "01_subgradient_vs_prox": lambda: viz.subgradient_vs_prox_path(),
        "01_scale_invariance": lambda: viz.scale_invariance(scales=[0.1, 1, 10]),
        "02_filters_per_layer": lambda: viz.filters_per_layer({families.family(k).label: table
                                                               for k in families.families("02")}),
        "02_filter_norm_histograms": lambda: dead_channels.plot_norm_histograms(
            {"l1": SimpleNamespace(model=lenet), "slimming": SimpleNamespace(model=lenet_bn)}, (1, 28, 28), TOL),
        "02_sparsity_patterns": lambda: viz.sparsity_overlay(lenet, sparse_lenet(1), ("L1", "SSL (filters + channels)"), TOL),
        "02_filter_norm_view": lambda: viz.filter_norm_view(lenet, "conv2", tol=TOL),
        "03_sparsity_patterns": lambda: viz.compare_sparsity_patterns({"HSR-GL, feature-wise": lenet,
                                                                       "HSQ-GL, neuron-wise": sparse_lenet(2)},
                                                                      TOL, layers=("conv2",)),
        "03_sparsity_patterns_rows": lambda: viz.compare_sparsity_patterns({"a": lenet, "b": sparse_lenet(2)}, TOL),
        "03_heatmaps": lambda: viz.kernel_norm_heatmaps(lenet, tol=TOL, ncols=2),
        "03_accuracy_vs_channels": lambda: hgsr_variants.plot_accuracy_vs_channels(summary, TOL),
        "04_one_layer_prox": lambda: splitting_plots.prox_panels(lenet.features[2].weight, 1e-3, 1.0),
        "04_toy_iteration": lambda: splitting_plots.toy_curves({R: _history(i, 12) for i, R in
                                                                enumerate(("l1", "l0", "tl1", "l1_l2"))}),
        "04_w_vs_v_training": lambda: splitting_plots.w_vs_v_training(h),
        "04_w_vs_v_pattern": lambda: splitting_plots.w_vs_v_pattern(_with_v(lenet), "nonconvex SGL, R = L1", TOL),
        "04_prox_vs_penalty_filter_norms": lambda: viz.filter_norm_histograms({"L1": lenet, "proximal L1": sparse_lenet(3)},
                                                                              tol=TOL, layer="conv2"),
        "04_compact_pareto": lambda: viz.pareto(pd.DataFrame({"label": list(h), "params": [5e4, 1e5, 1.2e5, 1.5e5],
                                                              "acc": [0.98, 0.99, 0.985, 0.99]}), y="acc", label="label"),
        "05_threshold_sweep": lambda: viz.threshold_sweeps({"L1/L2 on filters": _sweep([0, 0, 0.002, 0.4, 0.6]),
                                                            "L1": _sweep([0, 0, 0, 0.001, 0.2])},
                                                           {"L1/L2 on filters": 0.01, "L1": 0.3}, max_drop=0.01),
        "05_threshold_sweep_twin": lambda: viz.threshold_sweep(_sweep([0, 0, 0, 0.1, 0.3]).assign(test_acc=0.9), chosen=0.1),
        "06_premise": lambda: pruning_starts.plot_premise({"dense start": lenet, "HGSR start": sparse_lenet(4)}, "filter"),
        "06_score_scatter": lambda: filter_pruning.plot_scores(_scores()),
        "06_pruning_curves": lambda: filter_pruning.plot_curves(curves, 0.66),
        "06_finetuned": lambda: filter_pruning.plot_finetuned(curves, _finetuned(curves), dense_control=0.927,
                                                              start_acc=0.66),
        "06_budget_curve": lambda: pruning_starts.plot_budget_curve(
            pd.DataFrame({"epoch": [1, 2, 3], "acc_change_points": [-20.0, -15.0, -13.0], "seeds": 2}), 1.0,
            filter_pruning.PROTOCOLS[5].label),
        "06_layer_widths": lambda: filter_pruning.plot_layer_widths(out, best),
        "07_pareto_lenet": lambda: viz.pareto_panels(_points(), {t: [families.family(k).label for k in fronts.PANELS[t]]
                                                                  for t in ("proximal", "hierarchical and L1/L2")},
                                                     yerr="test_acc_std"),
        "08_latency_vs_macs": lambda: viz.latency_vs_macs(pd.DataFrame({"mac_ratio": [1.5, 3.0], "speedup": [1.2, 2.0],
                                                                        "network": ["LeNet-5", "ResNet-20"]}),
                                                          label="network"),
        "07_budget": lambda: budget.plot(pd.DataFrame({
            "epochs": [3, 10, 20] * 2, "family": ["nonconvex_l1_l2"] * 3 + ["hgsr_ref"] * 3,
            "label": [families.family("nonconvex_l1_l2").label] * 3 + [families.family("hgsr_ref").label] * 3,
            "filters_left_mean": [20.5, 14.0, 11.0, 21.5, 18.0, 17.0], "filters_left_std": [6.4, 1.0, 1.0, 3.5, 2.0, 1.0],
            "reaches_on_val": True, "meets_test": [True] * 5 + [False]})),
        "07_sweep_point": lambda: sweep_point(_points().assign(lam_mult=lambda t: np.tile([0.5, 1.0, 2.0], len(t) // 3)),
                                              families.family("prox_l1").label, 1.0),
        "training_curves": lambda: viz.training_curves({"a": _history(0), "b": _history(1)}),
        "pruning_curve": lambda: viz.pruning_curve(curves, hue="label"),
        "layer_widths": lambda: viz.layer_widths({"conv1": 20, "conv2": 50}, {"conv1": 5}),
    }


FIGURES = _figures()


def _texts(fig) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


@pytest.fixture(scope="module")
def built():
    """Each figure built once and tidied as :func:`hgsr.suite.report.save_figure` tidies it."""
    out = {}
    for name, make in FIGURES.items():
        fig = make()
        style.tidy(fig)
        fig.canvas.draw()
        out[name] = fig
    yield out
    plt.close("all")


@pytest.mark.parametrize("name", list(FIGURES))
def test_every_text_is_at_least_11_pt_and_the_figure_fits_a_slide(built, name):
    fig = built[name]
    small = sorted({(t.get_text()[:30], t.get_fontsize()) for t in _texts(fig) if t.get_fontsize() < theme.FONT_MIN - 1e-6})
    assert not small, f"{name}: text under {theme.FONT_MIN} pt: {small[:5]}"
    w, h = fig.get_size_inches()
    assert w <= theme.SLIDE[0] + 0.01 and h <= theme.SLIDE[1] + 0.01, f"{name}: {w:.2f} × {h:.2f} in exceeds a slide"


# registry keys a reader must never see: family keys with "_", grid variant names, module paths of layers
KEYS = [k for k in families.FAMILIES if "_" in k] + hgsr_variants.variant_names() + ["fashion_mnist", "bn_gamma",
                                                                                     "dead_inputs"]
MODULE_PATH = re.compile(r"\b(features|classifier)\.\d|\blayer\d\.\d\.conv\d|\blayer\d\b")


@pytest.mark.parametrize("name", list(FIGURES))
def test_no_registry_key_or_module_path_in_a_figure(built, name):
    text = "\n".join(t.get_text() for t in _texts(built[name]))
    assert not [k for k in KEYS if re.search(rf"(?<![\w/]){re.escape(k)}(?![\w/])", text)], text
    assert not MODULE_PATH.search(text), MODULE_PATH.search(text)


# ----------------------------------------------------------------------------- the defects, one test each
def test_penalty_contours_l2_and_one_group_lasso_are_one_panel_beside_weight_decay_with_colour_bars():
    fig = viz.penalty_contours(n=41)
    panels = [ax for ax in fig.axes if ax.get_title()]
    bars = [ax for ax in fig.axes if not ax.get_title()]
    assert len(bars) == len(panels) == 8                                # every panel has its colour bar
    levels = [tuple(np.round(ax.collections[0].levels, 6)) for ax in panels]
    assert len(set(levels)) == len(levels), "two panels draw the same penalty"
    titles = [ax.get_title() for ax in panels]
    assert sum("group lasso" in t for t in titles) == 1 and any("weight decay" in t for t in titles)


def test_thresholding_functions_one_colour_per_operator_in_every_panel():
    fig = viz.thresholding_functions()
    col = {k: to_hex(v) for k, v in theme.PENALTY_COLORS.items()}
    data_lines = lambda ax: [ln for ln in ax.get_lines() if to_hex(ln.get_color()) in col.values()]   # noqa: E731
    assert {to_hex(ln.get_color()) for ln in data_lines(fig.axes[2])} == {col["tl1"]}     # every a: TL1's colour
    assert {to_hex(ln.get_color()) for ln in data_lines(fig.axes[1])} == {col["l0"]}
    overlay = {ln.get_label().split(",")[0]: to_hex(ln.get_color()) for ln in data_lines(fig.axes[5])}
    assert overlay["TL1"] == col["tl1"] and overlay["hard (L0)"] == col["l0"] and overlay["soft (L1)"] == col["l1"]
    scale = {ln.get_label(): to_hex(ln.get_color()) for ln in viz.scale_invariance(scales=[1, 10]).axes[0].get_lines()}
    assert scale["‖c·w‖₁"] == col["l1"] and scale["‖c·w‖₂"] == col["l2"]       # notebook 01: L1 is L1's colour


def test_norm_histograms_share_their_axes_and_slimming_is_judged_by_gamma(built):
    fig = built["02_filter_norm_histograms"]
    l1, slim = [ax for ax in fig.axes if ax.get_title()][:2]
    assert "γ" in slim.get_xlabel() and "|γ|" in slim.get_title()
    fig = built["04_prox_vs_penalty_filter_norms"]
    a, b = [ax for ax in fig.axes if ax.get_title()]
    assert a.get_shared_x_axes().joined(a, b) and a.get_shared_y_axes().joined(a, b)
    assert not a.get_legend() and fig.legends                     # the threshold line crosses no legend


def test_score_scatter_is_symlog_with_reader_names(built):
    fig = built["06_score_scatter"]
    assert all(ax.get_yscale() == "symlog" for ax in fig.axes)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "stage 1, residual stream" in legend and "stage 3, block-internal" in legend


def test_pruning_curves_have_a_chance_line_and_one_colour_per_protocol(built):
    fig = built["06_pruning_curves"]
    for ax in fig.axes:
        chance = [ln for ln in ax.get_lines() if ln.get_label().startswith("chance")]
        assert chance and np.allclose(chance[0].get_ydata(), filter_pruning.CHANCE)
    colours = {}
    for ax in fig.axes:
        for ln in ax.get_lines():
            colours.setdefault(to_hex(ln.get_color()), set()).add(ln.get_label().removesuffix(" (ablation)"))
    assert all(len(labels) == 1 for labels in colours.values()), colours


def test_finetuned_has_a_dense_control_line_and_no_legend_title(built):
    fig = built["06_finetuned"]
    lines = [ln for ax in fig.axes for ln in ax.get_lines()]
    assert any(np.allclose(ln.get_ydata(), 0.927) for ln in lines)                    # left: a horizontal line
    assert any(np.allclose(ln.get_xdata(), 0.927) for ln in lines)                    # right: a vertical one
    assert all(not leg.get_title().get_text() for leg in fig.legends)


def test_threshold_sweeps_mark_the_chosen_rho_and_share_axes(built):
    fig = built["05_threshold_sweep"]
    top = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title().splitlines()[-1] for ax in top] == ["chosen ρ = 0.01", "chosen ρ = 0.3"]
    for ax, rho in zip(top, (0.01, 0.3)):
        assert any(np.allclose(ln.get_xdata(), rho) for ln in ax.get_lines())
    assert all(a.get_shared_x_axes().joined(fig.axes[0], a) for a in fig.axes)
    assert len(fig.axes) == 4                                                      # no twin axes


def test_layer_widths_and_dataset_rows_use_reader_names(built):
    ticks = [t.get_text() for t in built["06_layer_widths"].axes[0].get_xticklabels()]
    assert "stage 1 residual stream" in ticks and "conv2" in ticks
    text = "\n".join(t.get_text() for t in _texts(built["00_dataset_samples"]))
    assert "Fashion-MNIST" in text and "Ankle boot" in text and "T-shirt/top" in text


def test_coinciding_curves_are_named():
    same = _history(0, 5)
    fig = viz.training_curves({"R = L1": same, "R = L1-L2": same.assign(gap=same["gap"] * 1.001), "R = L0": _history(1, 5).assign(gap=lambda d: 2.0 / d["epoch"])},
                              cols=("gap", "test_acc"))
    assert "R = L1 and R = L1-L2 on one curve" in " ".join(fig.axes[0].get_title().split())   # wrapped to the panel


def test_pareto_panels_title_every_row():
    fig = FIGURES["07_pareto_lenet"]()
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titles) == 4 and sum("by parameters" in t for t in titles) == 2 and sum("by MACs" in t for t in titles) == 2


def test_bar_labels_stay_on_their_bars(built):
    for ax in built["00_layers"].axes:                  # tidied: a moved label would have offset coordinates
        assert ax.texts and all(a.anncoords == a.xycoords and a.arrow_patch is None for a in ax.texts)


# ----------------------------------------------------------------------------- a colour means one thing
def _contrast(colour) -> float:
    """Contrast ratio of ``colour`` against white (WCAG 2)."""
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(colour)]
    lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return 1.05 / (lum + 0.05)


def test_palette_colours_read_on_white_and_are_distinct():
    assert all(_contrast(c) >= 2.2 for c in theme.PALETTE), [(c, round(_contrast(c), 2)) for c in theme.PALETTE]
    assert len(set(theme.PALETTE)) == len(theme.PALETTE)


NOTEBOOK_FAMILIES = {"02": families.families("02"), "04": families.families("04")[:7] + ["l1", "group_lasso_filter"],
                     "05": ["l1_over_l2", "l1", "none"], **{f"07 {t}": names for t, names in fronts.PANELS.items()}}


@pytest.mark.parametrize("where", list(NOTEBOOK_FAMILIES))
def test_families_shown_together_have_distinct_colours(where):
    labels = [families.family(k).label for k in NOTEBOOK_FAMILIES[where]]
    colours = [style.series_styles(labels)[lab]["color"] for lab in labels]
    assert len(set(colours)) == len(colours), dict(zip(labels, colours))


def test_every_family_protocol_and_penalty_has_a_fixed_style():
    for k in families.FAMILIES:
        assert theme.registered_style(families.family(k).label), k
    for p in filter_pruning.PROTOCOLS:
        assert theme.registered_style(p.label), p.label
    for R in ("l1", "l0", "tl1", "l1_l2"):         # R = L1 is L1's colour, in the toy and in the family
        assert theme.registered_style(palette.penalty_label(R))["color"] == theme.PENALTY_COLORS[R]
        assert theme.registered_style(families.family(f"nonconvex_{R}").label)["color"] == theme.PENALTY_COLORS[R]
    # the same label keeps its colour whatever else a figure shows
    label = families.family("ssl").label
    assert style.series_styles([label])[label] == style.series_styles(["x", "y", label])[label]
