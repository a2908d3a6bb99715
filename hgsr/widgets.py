"""Interactive explorers: core ipywidgets (sliders, dropdowns, HTML, Output) over :mod:`hgsr.viz`.

Every explorer wraps one plain plotting function, so a headless run calls that function once with
the defaults and saves the same figure:

=========================  ===========================================  ================================
explorer                   controls                                     figure
=========================  ===========================================  ================================
filter_norm_explorer       run, layer, tol (log)                        :func:`hgsr.viz.filter_norm_view`
sparsity_pattern_viewer    run_a, run_b, tol (log)                      :func:`hgsr.viz.compare_sparsity_patterns`
thresholding_playground    lam (log), a (log), alpha                    :func:`hgsr.viz.thresholding_functions`
pruning_explorer           fraction                                     :func:`hgsr.viz.layer_widths`
front_explorer             rule, family, λ multiple                     :func:`hgsr.viz.sweep_point.sweep_point`
=========================  ===========================================  ================================

Options read as a reader names things: a layer dropdown shows ``conv1``, ``conv2`` (its value stays the module
name, ``features.0``; :func:`hgsr.viz.vocabulary.layer_names`), a run dropdown the names of the ``runs`` dict
(give family labels, not registry keys), the pruning explorer's widths its layers by name
(:func:`hgsr.viz.vocabulary.group_name`).

Each returns an :class:`Explorer` (an ``ipywidgets.VBox``): ``.controls`` (name -> widget),
``.update(**values)`` (set several controls, redraw once), ``.figure`` (the current Figure),
``.summary`` (the numbers of the text line) and ``.text`` (the HTML line). Tests drive them without a
browser by setting control values.
"""
from __future__ import annotations

import html
from typing import Callable, Mapping

import ipywidgets as widgets
import matplotlib.pyplot as plt
from torch import nn

from . import groups, measure, prox, prune, viz
from .viz import vocabulary
from .errors import (InvalidArgument, InvalidType, check_choice, check_module, check_nonneg, check_positive,
                     check_predicate, check_range, check_shape, check_str, check_type)

Draw = Callable[..., tuple]  # (**control values) -> (figure, summary dict, html text)


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with ipywidgets
        return False
    return get_ipython() is not None


class Explorer(widgets.VBox):
    """Controls, a text line and an Output showing the figure of ``draw(**values)``.

    ``draw`` returns ``(figure, summary, text)``. ``sync(controls, changed)`` (optional) adjusts
    dependent controls (e.g. a layer list after a run change) before the single redraw.
    """

    def __init__(self, controls: Mapping[str, widgets.ValueWidget], draw: Draw,
                 sync: Callable[[dict, str], None] | None = None):
        self.controls = dict(controls)
        self.text = widgets.HTML()
        self.out = widgets.Output()
        self.figure = None
        self.summary: dict = {}
        self.redraws = 0
        self._draw, self._sync, self._hold = draw, sync, False
        for name, w in self.controls.items():
            w.observe(lambda change, name=name: self._changed(name), names="value")
        super().__init__([widgets.HBox(list(self.controls.values())), self.text, self.out])
        self.refresh()

    def values(self) -> dict:
        """Current ``{control name: value}``."""
        return {k: w.value for k, w in self.controls.items()}

    def update(self, **values) -> "Explorer":
        """Set several controls at once (unknown names raise :class:`~hgsr.errors.InvalidArgument`, a
        ``ValueError``), then redraw once."""
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise InvalidArgument(f"unknown control(s) {unknown}; controls: {list(self.controls)}")
        self._hold = True
        try:
            for k, v in values.items():
                self.controls[k].value = v
                if self._sync:
                    self._sync(self.controls, k)
        finally:
            self._hold = False
        self.refresh()
        return self

    def _changed(self, name: str) -> None:
        if self._hold:
            return
        self._hold = True
        try:
            if self._sync:
                self._sync(self.controls, name)
        finally:
            self._hold = False
        self.refresh()

    def refresh(self) -> None:
        """Redraw: call ``draw`` with the current values, show the figure, update the text."""
        if self.figure is not None:
            plt.close(self.figure)
        fig, summary, text = self._draw(**self.values())
        plt.close(fig)  # detached from pyplot: shown only in self.out, never twice by the inline backend
        self.figure, self.summary, self.text.value = fig, summary, text
        self.redraws += 1
        if _in_ipython():
            from IPython.display import clear_output, display
            with self.out:
                clear_output(wait=True)
                display(fig)


def _slider_value(name: str, value, low: float, high: float) -> float:
    """``value`` checked against the slider's range (a slider would clamp it silently)."""
    return check_range(name, value, low, high)


def _tol_slider(value: float, description: str = "tol") -> widgets.FloatLogSlider:
    check_positive("tol", value)
    value = _slider_value("tol", value, 1e-8, 10.0)
    return widgets.FloatLogSlider(value=value, base=10, min=-8, max=1, step=0.1, description=description,
                                  readout_format=".1e", continuous_update=False)


def _check_runs(runs: Mapping[str, nn.Module], need: int = 1) -> list[str]:
    if not isinstance(runs, Mapping):
        raise InvalidType(f"runs must be a dict {{name: model}}, got {type(runs).__name__}")
    if len(runs) < need:
        raise InvalidArgument(f"runs must be a dict of at least {need} {{name: model}}, got "
                              f"{len(runs)} entries")
    for name, m in runs.items():
        check_type("runs key", name, str, "a string (the run's name)")
        check_module(f"runs[{name!r}]", m)
    return list(runs)


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def filter_norm_explorer(runs: Mapping[str, nn.Module], input_shape, tol: float = measure.TOL,
                         rel: float | None = None, predicate=None) -> Explorer:
    """Pick a run, a target layer and a tolerance (log slider): :func:`hgsr.viz.filter_norm_view`
    (kernel-norm heatmap + filter-norm histogram) and a text line.

    The text gives, in the chosen layer, the filters ``||F[o]||_2 <= tol`` and input channels
    ``||C[i]||_2 <= tol``; over the whole network, the prunable channels that would go at that
    tolerance and the compact network's parameters and MACs (:func:`hgsr.prune.zero_structure`, real
    surgery on a copy; coupled residual channels count once per group). ``summary`` holds the numbers.
    """
    names = _check_runs(runs)
    check_shape("input_shape", input_shape, 3)
    check_nonneg("rel", rel, optional=True)
    check_predicate(predicate)
    short = {r: vocabulary.layer_names(m) for r, m in runs.items()}       # features.0 -> conv1, ...
    layers = {r: [(short[r].get(n, n), n) for n, _ in groups.target_convs(m, predicate)] for r, m in runs.items()}
    run = widgets.Dropdown(options=names, value=names[0], description="run")
    layer = widgets.Dropdown(options=layers[names[0]], value=layers[names[0]][0][1], description="layer")
    cache: dict = {}

    def structure(r: str, t: float):
        if (r, t) not in cache:
            cache[(r, t)] = prune.zero_structure(runs[r], input_shape, tol=t, rel=rel)
        return cache[(r, t)]

    def sync(controls, changed):
        if changed == "run":
            modules = [m for _, m in layers[run.value]]
            keep = layer.value if layer.value in modules else modules[0]
            layer.options = layers[run.value]
            layer.value = keep

    def draw(run, layer, tol):
        model = runs[run]
        W = dict(groups.target_convs(model, predicate))[layer].weight.detach()
        fn, cn = groups.filter_l2(W), groups.channel_l2(W)
        total = structure(run, tol).iloc[-1]
        s = {"run": run, "layer": layer, "tol": tol,
             "layer_zero_filters": int((fn <= tol).sum()), "layer_filters": W.shape[0],
             "layer_zero_channels": int((cn <= tol).sum()), "layer_channels": W.shape[1],
             "removed_channels": int(total["removed"]), "prunable_channels": int(total["channels"]),
             "params": int(total["params_compact"]), "params_dense": int(total["params_dense"]),
             "macs": int(total["macs_compact"]), "macs_dense": int(total["macs_dense"])}
        text = (f"<b>{html.escape(short[run].get(layer, layer))}</b> at tol = {tol:.2g}: "
                f"{s['layer_zero_filters']}/{s['layer_filters']} "
                f"filters and {s['layer_zero_channels']}/{s['layer_channels']} input channels have norm ≤ tol. "
                f"Whole network: {s['removed_channels']}/{s['prunable_channels']} prunable channels would go "
                f"&rarr; params {s['params']:,} ({_pct(s['params'], s['params_dense'])} of {s['params_dense']:,}), "
                f"MACs {s['macs']:,} ({_pct(s['macs'], s['macs_dense'])} of {s['macs_dense']:,}).")
        return viz.filter_norm_view(model, layer, tol=tol, rel=rel, predicate=predicate), s, text

    return Explorer({"run": run, "layer": layer, "tol": _tol_slider(tol)}, draw, sync)


def sparsity_pattern_viewer(runs: Mapping[str, nn.Module], tol: float = measure.TOL, predicate=None) -> Explorer:
    """Two runs side by side: :func:`hgsr.viz.compare_sparsity_patterns` at a tolerance (log slider);
    the text counts each run's filters, input channels and kernels with norm > tol."""
    names = _check_runs(runs)
    check_predicate(predicate)
    run_a = widgets.Dropdown(options=names, value=names[0], description="run A")
    run_b = widgets.Dropdown(options=names, value=names[min(1, len(names) - 1)], description="run B")

    def draw(run_a, run_b, tol):
        chosen = {f"A: {run_a}": runs[run_a], f"B: {run_b}": runs[run_b]}
        s, parts = {"tol": tol}, []
        for lab, m in chosen.items():
            total = measure.sparsity_table(m, tol=tol, predicate=predicate).iloc[-1]
            kept = {k: int(total[k] - total[f"zero_{k}"]) for k in ("filters", "channels", "kernels")}
            s[lab] = {**kept, **{f"all_{k}": int(total[k]) for k in kept}}
            parts.append(f"<b>{html.escape(lab)}</b>: " + ", ".join(f"{kept[k]}/{int(total[k])} {k}" for k in kept))
        text = f"kept at tol = {tol:.2g} (norm &gt; tol): " + "; ".join(parts)
        return viz.compare_sparsity_patterns(chosen, tol, predicate=predicate), s, text

    return Explorer({"run_a": run_a, "run_b": run_b, "tol": _tol_slider(tol)}, draw)


def thresholding_playground(lam: float = 1.0, a: float = 1.0, alpha: float = 0.5) -> Explorer:
    """Sliders λ, a (TL1) and α (L1 − αL2) over :func:`hgsr.viz.thresholding_functions`; the text
    lists each operator's threshold: soft λ, hard sqrt(2λ), TL1 :func:`hgsr.prox.tl1_threshold`,
    L1 − αL2 (1-D) (1 − α)λ, group λ (on the norm)."""
    lam = _slider_value("lam", lam, 1e-2, 10.0)
    a = _slider_value("a", a, 1e-2, 100.0)
    alpha = _slider_value("alpha", alpha, 0.05, 1.0)
    controls = {
        "lam": widgets.FloatLogSlider(value=lam, base=10, min=-2, max=1, step=0.05, description="λ",
                                      continuous_update=False),
        "a": widgets.FloatLogSlider(value=a, base=10, min=-2, max=2, step=0.05, description="a (TL1)",
                                    continuous_update=False),
        "alpha": widgets.FloatSlider(value=alpha, min=0.05, max=1.0, step=0.05, description="α (L1−αL2)",
                                     continuous_update=False),
    }

    def draw(lam, a, alpha):
        s = {"soft": lam, "hard": (2 * lam) ** 0.5, "tl1": prox.tl1_threshold(lam, a),
             "l1_l2": (1 - alpha) * lam, "group": lam}
        text = "thresholds (prox(y) = 0 for |y| ≤ τ): " + ", ".join(f"{k} τ = {v:.3g}" for k, v in s.items())
        return viz.thresholding_functions(lam, a, alpha), s, text

    return Explorer(controls, draw)


def pruning_explorer(model: nn.Module, scores_df, input_shape, fraction: float = 0.2, scope: str = "global",
                     loss_col: str = "delta_loss") -> Explorer:
    """A fraction slider over a channel score table (``group, channel, score[, delta_loss]``, e.g.
    :func:`hgsr.prune.loss_increase_scores`): the channels :func:`hgsr.prune.select` removes
    (``on_empty="keep"``: no layer emptied), the widths per layer (:func:`hgsr.viz.layer_widths`),
    params and MACs of the compact network (:func:`hgsr.prune.compact_size`, real surgery on a copy),
    and the predicted loss increase ``Σ ΔL_c`` over the removed channels: a first-order, additive
    estimate that ignores interactions between channels removed together.
    """
    import pandas as pd

    check_module("model", model)
    check_type("scores_df", scores_df, pd.DataFrame, "a pandas DataFrame of channel scores")
    if scores_df.empty:
        raise InvalidArgument("scores_df is empty: there are no channels to choose from")
    check_shape("input_shape", input_shape, 3)
    fraction = _slider_value("fraction", fraction, 0.0, 0.95)
    check_choice("scope", scope, ("global", "layer"))
    check_str("loss_col", loss_col)
    viz.tradeoffs.require(scores_df, ["group", "channel", "score"], "scores table")
    has_loss = loss_col in scores_df.columns
    dense = prune.compact_size(model, {}, input_shape)
    short = vocabulary.layer_names(model)

    def named(widths: Mapping[str, int]) -> dict[str, int]:
        """``{group: width}`` with each group as a reader names it (``layer1.0.conv1`` -> ``conv2``)."""
        return {vocabulary.group_name(g, short): w for g, w in widths.items()}

    total_channels = len(scores_df)
    delta = scores_df.set_index(["group", "channel"])[loss_col] if has_loss else None
    controls = {"fraction": widgets.FloatSlider(value=fraction, min=0.0, max=0.95, step=0.01,
                                                description="fraction", readout_format=".2f",
                                                continuous_update=False)}

    def draw(fraction):
        plan = prune.select(scores_df, fraction=fraction, scope=scope, on_empty="keep")
        size = prune.compact_size(model, plan, input_shape)
        removed = sum(len(v) for v in plan.values())
        s = {"fraction": fraction, "plan": plan, "removed": removed, "channels": total_channels,
             "widths": size["widths"], "params": size["params"], "macs": size["macs"],
             "params_dense": dense["params"], "macs_dense": dense["macs"]}
        if has_loss:
            keys = [(g, c) for g, chans in plan.items() for c in chans]
            s["predicted_loss_increase"] = float(delta.loc[keys].sum()) if keys else 0.0
        text = (f"remove {removed}/{total_channels} channels ({scope}): params {size['params']:,} "
                f"({_pct(size['params'], dense['params'])}), MACs {size['macs']:,} "
                f"({_pct(size['macs'], dense['macs'])}).")
        if has_loss:
            text += (f" Predicted loss increase Σ ΔL = {s['predicted_loss_increase']:.4g} "
                     f"(first-order, additive estimate: single-channel increases summed)")
        fig = viz.layer_widths(named(dense["widths"]), named(size["widths"]),
                               title=f"widths after removing {removed} channels (fraction {fraction:.2f})")
        return fig, s, text

    return Explorer(controls, draw)


def front_explorer(frames: Mapping[str, "pd.DataFrame"], label: str | None = None, lam_mult: float | None = None,
                   x: str = "params", y: str = "test_acc") -> Explorer:
    """A λ-sweep explorer over sweep points judged by one or more removal rules (``{rule name: points
    table}``, e.g. notebook 07's own-rule and shared-rule points): pick the rule and a family, move λ (the
    family's swept multiples of its registered λ), and see the point on the front of all points
    (:func:`hgsr.viz.sweep_point.sweep_point`) with its filter widths, filters left, test error and the
    share of parameters removed."""
    import pandas as pd
    from .viz.sweep_point import sweep_point

    check_type("frames", frames, Mapping, "a dict {rule name: sweep points table}")
    if not frames:
        raise InvalidArgument("frames is empty: give at least one {rule name: sweep points table}")
    for rule, df in frames.items():
        check_type(f"frames[{rule!r}]", df, pd.DataFrame, "a pandas DataFrame of sweep points")
        viz.tradeoffs.require(df, ["label", "lam_mult", "widths", "filters_left", "error_finetuned", x, y],
                              f"sweep points of rule {rule!r}")
    first = next(iter(frames.values()))
    labels = sorted(first["label"].unique())
    label = labels[0] if label is None else label
    check_choice("label", label, labels)

    def mults(rule, lab):
        return sorted(float(m) for m in frames[rule].loc[frames[rule]["label"] == lab, "lam_mult"].unique())

    start = mults(next(iter(frames)), label)
    lam_mult = start[len(start) // 2] if lam_mult is None else lam_mult
    check_choice("lam_mult", lam_mult, start)
    controls = {"rule": widgets.Dropdown(options=list(frames), description="rule"),
                "label": widgets.Dropdown(options=labels, value=label, description="family",
                                          layout=widgets.Layout(width="22em")),
                "lam_mult": widgets.SelectionSlider(options=[(f"{m:g}", m) for m in start], value=lam_mult,
                                                    description="λ / grid λ", continuous_update=False)}

    def sync(c, changed):
        if changed in ("rule", "label"):
            options = mults(c["rule"].value, c["label"].value)
            old = c["lam_mult"].value
            c["lam_mult"].options = [(f"{m:g}", m) for m in options]
            c["lam_mult"].value = min(options, key=lambda m: abs(m - old))

    def draw(rule, label, lam_mult):
        df = frames[rule]
        row = df[(df["label"] == label) & (df["lam_mult"] == lam_mult)].iloc[0]
        fig = sweep_point(df, label, lam_mult, x=x, y=y)
        fig.axes[0].set_title(f"{label}, λ × {lam_mult:g}, {rule} rule")
        s = {"rule": rule, "label": label, "lam_mult": lam_mult, "widths": row["widths"],
             "filters_left": float(row["filters_left"]), "error": float(row["error_finetuned"]), x: float(row[x])}
        text = (f"<b>{html.escape(label)}</b> at λ × {lam_mult:g} ({html.escape(rule)} rule): widths "
                f"{html.escape(str(row['widths']))}, {row['filters_left']:.1f} conv filters left, test error "
                f"{row['error_finetuned']:.2%}, {html.escape(viz.style.axis_label(x))} {row[x]:,.0f}")
        return fig, s, text

    return Explorer(controls, draw, sync)
