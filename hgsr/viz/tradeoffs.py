"""Figures of measured results: cost per layer, surviving filters, training curves, accuracy/size
trade-offs (Pareto front), speedup vs MACs, pruning curves and threshold sweeps.

Every function takes plain DataFrames (from :mod:`hgsr.measure`, :func:`hgsr.train.fit`, the
experiment tables), an optional ``ax``, and returns the matplotlib Figure. Axes are labelled with the
words and units of :data:`hgsr.viz.style.QUANTITIES` (fractions in %), series get a colour and a
marker each (:func:`hgsr.viz.style.series_styles`).
"""
from __future__ import annotations

import textwrap
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from matplotlib import ticker

from ..errors import InvalidArgument
from . import style
from ._common import fmt_count, grid, new_axes, series_styles


def require(df: pd.DataFrame, cols: Sequence[str], what: str = "table") -> None:
    """Raise :class:`~hgsr.errors.InvalidArgument` (a ``ValueError``) naming the missing columns and the
    available ones."""
    missing = [c for c in cols if c is not None and c not in df.columns]
    if missing:
        raise InvalidArgument(f"{what} lacks column(s) {missing}; available: {list(df.columns)}")


def params_macs_by_layer(df: pd.DataFrame, title: str | None = None, axes=None):
    """Horizontal bars of parameters and MACs per layer (from :func:`hgsr.measure.macs_by_layer`),
    each bar labelled with its share of the total. Returns the Figure (two panels)."""
    require(df, ["layer", "params", "macs"], "macs_by_layer table")
    if axes is None:
        import matplotlib.pyplot as plt
        style.ensure()
        fig, axes = plt.subplots(1, 2, figsize=style.slide_size(12.5, 0.34 * len(df) + 1.7), layout="constrained",
                                 sharey=True)
    fig = axes[0].figure
    ypos = np.arange(len(df))[::-1]
    names = style.ordinal_layer_names(list(df["layer"].astype(str)),
                                      list(df["type"]) if "type" in df.columns else None)
    for ax, col, color in zip(axes, ("params", "macs"), style.PALETTE[:2]):
        vals = df[col].to_numpy(dtype=float)
        total = vals.sum()
        ax.barh(ypos, vals, color=color)
        share = [(f"{100 * v / total:.0f}%" if v == 0 or 100 * v / total >= 0.5 else "<1%") if total else ""
                 for v in vals]
        style.pin(ax.annotate(f" {fmt_count(v)} ({sh})" if total else "", (v, yy), va="center",
                              fontsize=style.FONT_MIN, annotation_clip=False) for yy, v, sh in zip(ypos, vals, share))
        ax.set_xlabel(f"{style.axis_label(col)} (count)")
        ax.xaxis.set_major_formatter(style.count_formatter())
        ax.set_title(f"{style.axis_label(col)}: total {fmt_count(total)}")
        ax.set_xlim(0, vals.max() * 1.45 if vals.max() > 0 else 1)
        ax.grid(False, axis="y")
    axes[0].set_yticks(ypos, [names[n] for n in df["layer"].astype(str)])
    axes[0].set_ylabel("layer")
    if title:
        fig.suptitle(title)
    return fig


def filters_per_layer(tables: Mapping[str, pd.DataFrame], col: str = "filters_left", ax=None):
    """Grouped bars of surviving filters per layer, one bar per run (``{name: sparsity_table}`` from
    :func:`hgsr.measure.sparsity_table`), over a grey bar of the layer's original filter count.
    The ``total`` row is left out; the title states the tolerance(s) the tables used."""
    if not tables:
        raise InvalidArgument(f"tables must hold at least one {{name: sparsity table}}, got {tables!r}")
    layers: list[str] = []
    renamed = {}
    for name, t in tables.items():
        require(t, ["layer", "filters", col], f"sparsity table {name!r}")
        own = [lay for lay in t["layer"] if lay != "total"]
        short = style.ordinal_layer_names(own)          # conv1, conv2, ... (module names differ with BN)
        renamed[name] = t.assign(layer=[short.get(lay, lay) for lay in t["layer"]])
        layers += [short[lay] for lay in own if short[lay] not in layers]
    fig, ax = new_axes(ax, figsize=style.slide_size(max(7.0, 1.3 * len(layers) * max(1, len(tables)) / 2 + 3), 5.6))
    x = np.arange(len(layers))
    width = 0.84 / len(tables)
    dense = pd.concat([t.set_index("layer")["filters"] for t in renamed.values()]).groupby(level=0).max()
    ax.bar(x, dense.reindex(layers).to_numpy(), width=0.94, color="0.92", label="original (all filters)")
    styles = series_styles(list(tables))
    for k, (name, t) in enumerate(renamed.items()):
        vals = t.set_index("layer")[col].reindex(layers).to_numpy(dtype=float)
        bars = ax.bar(x - 0.42 + width * (k + 0.5), vals, width=width * 0.92, label=name, color=styles[name]["color"])
        style.pin(ax.bar_label(bars, labels=["" if np.isnan(v) else f"{v:.0f}" for v in vals], padding=2,
                               fontsize=style.FONT_MIN))
    ax.set_xticks(x, layers, rotation=30 if len(layers) > 6 else 0, ha="right" if len(layers) > 6 else "center")
    ax.set_xlabel("layer")
    ax.set_ylabel(f"{style.axis_label(col)} (count)")
    ax.grid(False, axis="x")
    ax.set_ylim(0, float(np.nanmax(dense.reindex(layers).to_numpy(dtype=float))) * 1.12)  # room for full bars' labels
    style.integer_ticks(ax, "y")
    tols = sorted({t.attrs.get("tol") for t in tables.values() if t.attrs.get("tol") is not None})
    ax.set_title("surviving filters per layer" + (f" (norm > tol = {', '.join(f'{v:g}' for v in tols)})"
                                                  if tols else ""))
    if ax.figure.get_layout_engine() is not None and len(ax.figure.axes) == 1:   # the legend under the bars
        handles, labels = ax.get_legend_handles_labels()
        ax.figure.legend(handles, labels, loc="outside lower center", ncols=min(3, len(labels)))
    else:
        style.legend(ax, outside=True)
    return fig


def training_curves(histories: Mapping[str, pd.DataFrame], cols=("test_acc", "zero_filters"),
                    x: str = "epoch"):
    """One panel per history column (``cols``), one line per run (``{name: fit() history}``).
    A run without a column is skipped in that panel; a column no run has raises ``ValueError``."""
    if not histories:
        raise InvalidArgument(f"histories must hold at least one {{name: fit() history}}, got {histories!r}")
    cols = [cols] if isinstance(cols, str) else list(cols)
    for c in cols:
        if not any(c in h.columns for h in histories.values()):
            avail = sorted(set().union(*(h.columns for h in histories.values())))
            raise InvalidArgument(f"cols: no history has column {c!r}; available: {avail}")
    fig, axes = grid(len(cols), ncols=len(cols), panel=(min(4.4, 13.0 / len(cols)), 3.9))
    styles = series_styles(list(histories))
    for ax, c in zip(axes, cols):
        values = []
        same = coinciding({n: h for n, h in histories.items() if c in h.columns}, x, c)
        for k, (name, h) in enumerate(histories.items()):
            if c in h.columns:
                d = h[[x, c]].dropna()
                values.append(d[c].to_numpy(dtype=float))
                # later series thinner and dashed: coinciding curves stay visible
                ax.plot(d[x], d[c], marker=styles[name]["marker"], markevery=max(1, len(d) // 15), ms=4,
                        color=styles[name]["color"], lw=1.6 if k == 0 else 1.2, ls=("-", "--", "-.", ":")[k % 4],
                        label=name)
        style.format_axis(ax, "x", x)
        style.format_axis(ax, "y", c, log="auto", values=np.concatenate(values) if values else None)
        if ax.get_yscale() == "log":
            style.log_ticks(ax, "y")
        if x in ("epoch", "step"):
            style.integer_ticks(ax, "x")
        title = style.quantity(c).label if style.quantity(c) else c.replace("_", " ")
        if same:      # curves drawn on top of one another: say so, a reader cannot see it
            note = "; ".join("all on one curve" if len(g) == len(histories) else
                             " and ".join(map(str, g)) + " on one curve" for g in same)
            title += "\n" + textwrap.fill(note, max(20, int(ax.get_position().width * fig.get_figwidth() * 7)))
        ax.set_title(title)
    if len(axes) == 1:
        style.legend(axes[0])
    else:
        seen = {}
        for ax in axes:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                seen.setdefault(lab, h)
        fig.legend(list(seen.values()), list(seen), loc="outside lower center", ncols=min(4, len(seen)))
    return fig


def coinciding(histories: Mapping[str, pd.DataFrame], x: str, col: str, rtol: float = 0.01) -> list[list[str]]:
    """Groups (of two or more names) of the histories whose ``col`` against ``x`` is the same curve: same
    ``x`` values and ``col`` equal within ``rtol`` of the column's range over all histories (1 %: less than a
    line's width apart on a slide). Drawn, such curves hide one another."""
    curves = {n: h[[x, col]].dropna().to_numpy(dtype=float) for n, h in histories.items()}
    span = max((float(np.ptp(v[:, 1])) for v in curves.values() if len(v)), default=0.0) or 1.0
    groups: list[list[str]] = []
    for n, v in curves.items():
        for g in groups:
            w = curves[g[0]]
            if v.shape == w.shape and np.array_equal(v[:, 0], w[:, 0]) and \
                    np.allclose(v[:, 1], w[:, 1], rtol=0, atol=rtol * span):
                g.append(n)
                break
        else:
            groups.append([n])
    return [g for g in groups if len(g) > 1]


def pareto_front(df: pd.DataFrame, x: str = "params", y: str = "test_acc", minimize_x: bool = True) -> pd.Series:
    """Boolean Series: True for the rows no other row dominates, i.e. no row has ``x`` at least as
    good (smaller when ``minimize_x``) and ``y`` at least as high, with one of the two strictly better."""
    require(df, [x, y])
    xs = df[x].to_numpy(dtype=float) * (1 if minimize_x else -1)
    ys = df[y].to_numpy(dtype=float)
    keep = []
    for i in range(len(df)):
        dom = (xs <= xs[i]) & (ys >= ys[i]) & ((xs < xs[i]) | (ys > ys[i]))
        keep.append(not dom.any())
    return pd.Series(keep, index=df.index, name="pareto")


def pareto(df: pd.DataFrame, x: str = "params", y: str = "test_acc", label: str = "method", ax=None,
           minimize_x: bool = True, source: str = "source", logx: bool | str = "auto",
           annotate: str | None = None):
    """Accuracy vs size: one colour and marker per ``label``, our Pareto front (:func:`pareto_front`)
    as a black step line, and published reference points (rows whose ``source`` column is set) as
    stars labelled with their source (a ``source`` of "ours" is ours); they do not enter the front. ``logx``: True, False or "auto"
    (log when ``x`` spans a factor 10 or more). ``annotate``: a column whose text labels each of
    our points (labels that would overlap are moved apart, with leader lines). Returns the Figure."""
    require(df, [x, y, label] + ([annotate] if annotate else []), "results table")
    ref = (df[source].notna() & (df[source].astype(str).str.strip().str.lower() != "ours")
           if source in df.columns else pd.Series(False, index=df.index))
    ours = df[~ref]
    fig, ax = new_axes(ax, figsize=(11, 5.8))
    styles = series_styles(list(dict.fromkeys(df[label])))
    for lab, d in ours.groupby(label, sort=False):
        st = styles[lab]       # open markers: two points at one place both stay visible
        ax.scatter(d[x], d[y], facecolors="none", edgecolors=st["color"], marker=st["marker"], label=str(lab), s=70,
                   linewidths=2.0, zorder=3)
    if len(ours):
        front = ours[pareto_front(ours, x, y, minimize_x)].sort_values(x)
        ax.step(front[x], front[y], where="post" if minimize_x else "pre", color="k", lw=1.0, zorder=2,
                label="Pareto front")
        ax.scatter(front[x], front[y], facecolors="none", edgecolors="k", s=190, lw=0.9, zorder=4)
    refs = df[ref]
    for _, r in refs.iterrows():
        ax.scatter(r[x], r[y], marker="*", s=200, color=styles[r[label]]["color"], edgecolors="k", lw=0.8,
                   zorder=5)
    if ref.any():
        ax.scatter([], [], marker="*", s=140, color="w", edgecolors="k", label="published (not ours)")
    style.format_axis(ax, "x", x, log=logx, values=df[x])
    style.format_axis(ax, "y", y)
    texts = ([str(t) for t in ours[annotate]] if annotate else []) + \
        ([str(s_) for s_ in refs[source]] if len(refs) else [])
    xs = list(ours[x]) * bool(annotate) + list(refs[x])
    ys = list(ours[y]) * bool(annotate) + list(refs[y])
    if texts:
        style.annotate_points(ax, xs, ys, texts)
    better = "fewer" if minimize_x else "more"
    ax.set_title(f"{style.quantity(y).label if style.quantity(y) else y} vs "
                 f"{style.quantity(x).label if style.quantity(x) else x} (up and {'left' if minimize_x else 'right'}"
                 f" is better: {better} on x)")
    style.legend(ax)
    return fig


def pareto_panels(df: pd.DataFrame, panels: Mapping[str, Sequence[str]], xs: Sequence[str] = ("params", "macs"),
                  y: str = "test_acc", yerr: str | None = None, label: str = "label", logx: bool | str = True):
    """Accuracy-vs-size fronts for many families, readable: one column per panel (``{title: [labels]}``,
    related families together), one row per size axis in ``xs``. In each panel its families' points
    (one colour and marker per label, the same across panels; ``yerr``: a column of error-bar half
    widths, e.g. the std over seeds), every other point as a grey dot, and the front of *all* points
    (:func:`pareto_front`) as a black step line, so each panel reads against the same front. The y axis
    spans the bulk of the points (from the 10th percentile minus its distance to the maximum); points
    below it are counted in each panel's corner. Returns the Figure."""
    require(df, [*xs, y, label] + ([yerr] if yerr else []), "results table")
    unknown = sorted(set(lab for labs in panels.values() for lab in labs) - set(df[label]))
    if unknown:
        raise InvalidArgument(f"panels name labels absent from the table: {unknown}; the table's {label!r} "
                              f"column has {sorted(set(df[label]))[:10]}")
    style.ensure()
    fig, axes = plt.subplots(len(xs), len(panels), figsize=style.slide_size(2.45 * len(panels) + 3.7,
                                                                            3.15 * len(xs) + 0.3),
                             squeeze=False, sharey=True, layout="constrained")
    styles = series_styles([lab for labs in panels.values() for lab in labs])
    # the y range of the bulk of the points: collapsed networks (far below) would squash the rest into a line
    q10, high = float(df[y].quantile(0.1)), float(df[y].max())
    low = max(float(df[y].min()), q10 - (high - q10))
    pad = 0.05 * (high - low or 1.0)
    low, high = low - pad, high + pad
    for r, x in enumerate(xs):
        front = df[pareto_front(df, x, y)].sort_values(x)
        for c, (title, labs) in enumerate(panels.items()):
            ax = axes[r][c]
            rest = df[~df[label].isin(labs)]
            ax.scatter(rest[x], rest[y], s=10, color=style.OTHER, zorder=1)
            ax.step(front[x], front[y], where="post", color="k", lw=1.0, zorder=2,
                    label="front of all points" if c == 0 else None)
            for lab in labs:
                d, st = df[df[label] == lab], styles[lab]
                ax.errorbar(d[x], d[y], yerr=d[yerr] if yerr else None, fmt=st["marker"], color=st["color"], ms=6.5,
                            mec="white", mew=0.5, elinewidth=1.1, capsize=2, zorder=3, label=str(lab))
            style.format_axis(ax, "x", x, log=logx, values=df[x])
            ax.tick_params(axis="x", labelrotation=30)
            ax.set_ylim(low, high)
            below = int((df[y] < low).sum())
            if below:
                ax.text(0.98, 0.03, f"{below} below the axis", transform=ax.transAxes, fontsize=style.FONT_MIN,
                        ha="right", color="0.3")
            if c == 0:
                style.format_axis(ax, "y", y)
            # every panel titled (group and size axis): a row's x label never reads as the next row's title
            ax.set_title(f"{title}\nby {style.quantity(x).label if style.quantity(x) else x}")
    # one legend right of the panels, its entries under the title of their panel
    from matplotlib.lines import Line2D

    by_label = {}
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            by_label.setdefault(lab, h)
    handles = [by_label.pop("front of all points")] if "front of all points" in by_label else []
    labels = ["front of all points"] if handles else []
    for title, labs in panels.items():
        handles.append(Line2D([], [], ls="none", marker=None))
        labels.append(f"{title}:")
        for lab in labs:
            if str(lab) in by_label:
                handles.append(by_label[str(lab)])
                labels.append(str(lab))
    fig.legend(handles, labels, loc="outside right upper", handletextpad=0.4, labelspacing=0.3)
    return fig


def latency_vs_macs(df: pd.DataFrame, x: str = "mac_ratio", y: str = "speedup", label: str | None = None,
                    ax=None):
    """Measured speedup (dense latency / compact latency) vs the MAC ratio (dense MACs / compact
    MACs) on log-log axes (ratios: the same step up or down reads the same); the dashed ``y = x``
    line is the speedup MAC counting predicts. Returns the Figure."""
    require(df, [x, y, label], "latency table")
    fig, ax = new_axes(ax, figsize=(6.8, 5.8))
    groups = list(df.groupby(label, sort=False)) if label else [(None, df)]
    styles = series_styles([lab for lab, _ in groups])
    for lab, d in groups:
        st = styles[lab]
        ax.scatter(d[x], d[y], s=30, color=st["color"], marker=st["marker"], zorder=3,
                   label=None if lab is None else str(lab))
    vals = df[[x, y]].to_numpy(dtype=float)
    vals = vals[np.isfinite(vals) & (vals > 0)]
    lo = min(0.9, float(vals.min()) * 0.9) if vals.size else 0.9
    hi = max(1.5, float(vals.max()) * 1.15) if vals.size else 2.0
    ax.plot([lo, hi], [lo, hi], "--", color=style.REFERENCE, lw=1, label="y = x", zorder=2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal", adjustable="box")
    times = ticker.FuncFormatter(lambda v, _: f"{v:g}×")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(times)
        axis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel(style.axis_label(x) if style.quantity(x) else f"{x.replace('_', ' ')} (dense / compact)")
    ax.set_ylabel(style.axis_label(y) if style.quantity(y) else f"{y.replace('_', ' ')} (dense / compact latency)")
    ax.set_title("measured speed-up vs MAC reduction (log-log)")
    style.legend(ax, loc="upper left")
    return fig


def pruning_curve(df: pd.DataFrame, x: str = "params_removed", y: str = "test_acc", hue: str | None = "criterion",
                  ax=None):
    """``y`` vs ``x`` for each pruning criterion (``hue``), points joined in order of ``x``."""
    require(df, [x, y, hue], "pruning table")
    fig, ax = new_axes(ax, figsize=(8, 5))
    groups = list(df.groupby(hue, sort=False)) if hue else [(None, df)]
    styles = series_styles([lab for lab, _ in groups])
    for lab, d in groups:
        d = d.sort_values(x)
        ax.plot(d[x], d[y], marker=styles[lab]["marker"], ms=4, color=styles[lab]["color"],
                label=None if lab is None else str(lab))
    style.format_axis(ax, "x", x)
    style.format_axis(ax, "y", y)
    ax.set_title(f"{style.quantity(y).label if style.quantity(y) else y} as "
                 f"{style.quantity(x).label if style.quantity(x) else x} grows")
    if hue:
        q = style.quantity(hue)
        style.legend(ax, title=q.label if q is not None and hue not in ("label", "protocol") else None)
    return fig


def _sweep_siblings(ax):
    """The (left, right) axes of the other :func:`threshold_sweep` panels of ``ax``'s figure."""
    return [a._hgsr_sweep for a in ax.figure.axes if getattr(a, "_hgsr_sweep", None) and a is not ax]


def threshold_sweep(df: pd.DataFrame, x: str = "rho", left: str = "filters_left", right: str | None = "test_acc",
                    ax=None, logx: bool = True, share: bool = True, chosen: float | None = None):
    """Relative-threshold sweep: ``left`` (filters left) on the left axis and ``right`` (accuracy) on a
    twin right axis, against the threshold ``x`` (``ρ`` of ``ρ·max ||F[o]||_2``, log axis).

    With ``share`` (default), every threshold-sweep panel of one figure shares the left range with
    the others' left axes and the right range with their right axes, so panels compare at a glance.
    ``chosen``: a threshold marked by a vertical line. Several sweeps read better in
    :func:`threshold_sweeps` (no twin axes)."""
    require(df, [x, left, right], "threshold sweep table")
    d = df.sort_values(x)
    fig, ax = new_axes(ax, figsize=(8, 5))
    c_left, c_right = style.PALETTE[0], style.PALETTE[1]
    ax.plot(d[x], d[left], "o-", color=c_left, ms=4, label=style.axis_label(left))
    ax.set_ylabel(style.axis_label(left), color=c_left)
    ax.tick_params(axis="y", colors=c_left)
    ax.set_xlabel(style.axis_label(x) + (" (log)" if logx else ""))
    if logx:
        ax.set_xscale("log")
    if style.quantity(left) is not None and style.quantity(left).decimals == 0:
        style.integer_ticks(ax, "y")
    ax2 = None
    if right:
        ax2 = ax.twinx()
        ax2.plot(d[x], d[right], "s--", color=c_right, ms=4, label=style.axis_label(right))
        style.format_axis(ax2, "y", right)
        ax2.set_ylabel(style.axis_label(right), color=c_right)
        ax2.tick_params(axis="y", colors=c_right)
        ax2.grid(False)
    siblings = _sweep_siblings(ax) if share else []
    if siblings:
        other_left, other_right = siblings[0]
        for mine, other in ((ax, other_left), (ax2, other_right)):
            if mine is None or other is None:
                continue
            try:
                mine.sharey(other)
            except ValueError:        # already shared (e.g. plt.subplots(sharey=True))
                pass
            mine.relim()
            mine.autoscale_view()
    ax._hgsr_sweep = (ax, ax2)
    handles = ax.get_legend_handles_labels()[0] + (ax2.get_legend_handles_labels()[0] if ax2 else [])
    if chosen is not None:
        handles.append(ax.axvline(chosen, color=style.REFERENCE, ls="--", lw=1.2, label=f"chosen {x} = {chosen:g}"))
    ax.legend(handles, [h.get_label() for h in handles], loc="lower left")
    if logx:
        style.log_ticks(ax, "x")
    ax.set_title(f"sweep of the relative threshold {x}")
    return fig


def threshold_sweeps(sweeps: Mapping[str, pd.DataFrame], chosen: Mapping[str, float] | None = None,
                     max_drop: float | None = None, x: str = "rho", left: str = "filters_left"):
    """Relative-threshold sweeps of several runs (``{label: sweep}`` with columns ``x``, ``left`` and
    ``acc_drop``, the accuracy lost before fine-tuning as a fraction), one column per run: top, ``left``
    (filters left); bottom, the accuracy lost in points on a symlog axis (linear within ±1 point, where the
    choice is made, logarithmic beyond, so a 0.2-point loss and a 60-point collapse both read). Every panel
    shares ``x`` (log); each row shares its y. ``chosen`` (``{label: x}``) is marked by a dashed line and
    named in the title; ``max_drop`` (a fraction) draws the allowance. Line colours are the runs' own
    (:func:`hgsr.viz.theme.series_styles`). Returns the Figure."""
    if not sweeps:
        raise InvalidArgument(f"sweeps must hold at least one {{label: sweep table}}, got {sweeps!r}")
    for lab, d in sweeps.items():
        require(d, [x, left, "acc_drop"], f"threshold sweep {lab!r}")
    chosen = dict(chosen or {})
    style.ensure()
    n = len(sweeps)
    fig, axes = plt.subplots(2, n, figsize=style.slide_size(max(6.0, 4.3 * n), 6.6), sharex=True, sharey="row",
                             squeeze=False, layout="constrained")
    styles = series_styles(list(sweeps))
    axes[1][0].set_yscale("symlog", linthresh=1.0, linscale=1.0)     # shared by the row
    for c, (lab, d) in enumerate(sweeps.items()):
        d = d.sort_values(x)
        st = styles[lab]
        top, bottom = axes[0][c], axes[1][c]
        top.plot(d[x], d[left], marker=st["marker"], color=st["color"])
        bottom.plot(d[x], 100 * d["acc_drop"].to_numpy(dtype=float), marker=st["marker"], color=st["color"])
        bottom.axhline(0, color="0.75", lw=0.8, zorder=0)
        if max_drop is not None:
            bottom.axhline(100 * max_drop, color=style.REFERENCE, ls=":", lw=1.4,
                           label=f"allowance: {100 * max_drop:g} point" + ("s" if max_drop != 0.01 else ""))
        if lab in chosen:
            for ax in (top, bottom):
                ax.axvline(chosen[lab], color=style.REFERENCE, ls="--", lw=1.4,
                           label="chosen ρ (in the title)" if ax is bottom else None)
        top.set_title(f"{lab}" + (f"\nchosen ρ = {chosen[lab]:g}" if lab in chosen else ""))
        bottom.set_xscale("log")
        bottom.set_xlabel(style.axis_label(x) + " (log)")
        style.integer_ticks(top, "y")
    axes[0][0].set_ylabel(style.axis_label(left))
    axes[1][0].set_ylabel("accuracy lost before\nfine-tuning (points)")
    for ax in axes[1]:
        ax.relim()
        ax.autoscale_view()
    axes[1][0].yaxis.set_major_locator(ticker.FixedLocator([-1, -0.5, 0, 0.5, 1, 2, 5, 10, 20, 50, 100]))
    axes[1][0].yaxis.set_minor_locator(ticker.NullLocator())
    axes[1][0].yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    style.log_ticks(axes[1][0], "x")
    handles, labels = axes[1][0].get_legend_handles_labels()
    if handles:
        axes[1][0].legend(handles, labels, loc="upper left")
    return fig


def layer_widths(before: Mapping[str, int], after: Mapping[str, int], ax=None, title: str | None = None,
                 label: str | None = None, names: Mapping[str, str] | None = None):
    """Bars of each layer's width before (grey) and after pruning (in the colour of ``label``, the pruned
    network's series: :func:`hgsr.viz.theme.series_styles`), each labelled ``after/before``. ``names`` renames
    the layers (``{key: reader name}``); the figure fits a slide."""
    layers = list(before)
    names = dict(names or {})
    fig, ax = new_axes(ax, figsize=style.slide_size(max(7.0, 0.85 * len(layers) + 2.5), 5.2))
    x = np.arange(len(layers))
    b = np.array([before[k] for k in layers], dtype=float)
    a = np.array([after.get(k, before[k]) for k in layers], dtype=float)
    color = series_styles([label])[label]["color"] if label is not None else style.PALETTE[0]
    ax.bar(x, b, color="0.88", label="before")
    bars = ax.bar(x, a, width=0.5, color=color, label="after" if label is None else f"after: {label}")
    style.pin(ax.bar_label(bars, labels=[f"{int(u)}/{int(v)}" for u, v in zip(a, b)], padding=2,
                           fontsize=style.FONT_MIN))
    tick = [names.get(k, k) for k in layers]
    slanted = len(layers) > 5 or max(map(len, tick), default=0) > 8
    ax.set_xticks(x, tick, rotation=35 if slanted else 0, ha="right" if slanted else "center",
                  rotation_mode="anchor")
    ax.set_xlabel("layer (channel group)")
    ax.set_ylabel("channels (count)")
    ax.grid(False, axis="x")
    ax.set_ylim(0, float(b.max()) * 1.18 if b.size and b.max() > 0 else 1)
    ax.set_title(title or "layer widths")
    style.legend(ax, loc="upper left")
    return fig
