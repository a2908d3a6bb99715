"""Figures of measured results: cost per layer, surviving filters, training curves, accuracy/size
trade-offs (Pareto front), speedup vs MACs, pruning curves and threshold sweeps.

Every function takes plain DataFrames (from :mod:`hgsr.measure`, :func:`hgsr.train.fit`, the
experiment tables), an optional ``ax``, and returns the matplotlib Figure.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ._common import fmt_count, grid, label_cycle, new_axes


def require(df: pd.DataFrame, cols: Sequence[str], what: str = "table") -> None:
    """Raise ``ValueError`` naming the missing columns and the available ones."""
    missing = [c for c in cols if c is not None and c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; available: {list(df.columns)}")


def params_macs_by_layer(df: pd.DataFrame, title: str | None = None, axes=None):
    """Horizontal bars of parameters and MACs per layer (from :func:`hgsr.measure.macs_by_layer`),
    each bar labelled with its share of the total. Returns the Figure (two panels)."""
    require(df, ["layer", "params", "macs"], "macs_by_layer table")
    if axes is None:
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, 2, figsize=(10, 0.35 * len(df) + 1.6), layout="constrained", sharey=True)
    fig = axes[0].figure
    ypos = np.arange(len(df))[::-1]
    for ax, col, color in zip(axes, ("params", "macs"), ("C0", "C1")):
        vals = df[col].to_numpy(dtype=float)
        total = vals.sum()
        ax.barh(ypos, vals, color=color)
        for yy, v in zip(ypos, vals):
            ax.annotate(f" {fmt_count(v)} ({100 * v / total:.0f}%)" if total else "", (v, yy),
                        va="center", fontsize=7)
        ax.set_xlabel(col)
        ax.set_title(f"{col}: total {fmt_count(total)}", fontsize=9)
        ax.set_xlim(0, vals.max() * 1.35 if vals.max() > 0 else 1)
    axes[0].set_yticks(ypos, df["layer"].astype(str))
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def filters_per_layer(tables: Mapping[str, pd.DataFrame], col: str = "filters_left", ax=None):
    """Grouped bars of surviving filters per layer, one bar per run (``{name: sparsity_table}`` from
    :func:`hgsr.measure.sparsity_table`), over a grey bar of the layer's original filter count.
    The ``total`` row is left out; the title states the tolerance(s) the tables used."""
    if not tables:
        raise ValueError("filters_per_layer needs at least one table")
    layers: list[str] = []
    for name, t in tables.items():
        require(t, ["layer", "filters", col], f"sparsity table {name!r}")
        layers += [lay for lay in t["layer"] if lay != "total" and lay not in layers]
    fig, ax = new_axes(ax, figsize=(max(5, 1.2 * len(layers) + 2), 3.5))
    x = np.arange(len(layers))
    width = 0.8 / len(tables)
    dense = pd.concat([t.set_index("layer")["filters"] for t in tables.values()]).groupby(level=0).max()
    ax.bar(x, dense.reindex(layers).to_numpy(), width=0.9, color="0.88", label="original")
    for k, (name, t) in enumerate(tables.items()):
        vals = t.set_index("layer")[col].reindex(layers).to_numpy(dtype=float)
        bars = ax.bar(x - 0.4 + width * (k + 0.5), vals, width=width, label=name)
        ax.bar_label(bars, labels=["" if np.isnan(v) else f"{v:.0f}" for v in vals], fontsize=7)
    ax.set_xticks(x, layers, rotation=30 if len(layers) > 4 else 0, ha="right" if len(layers) > 4 else "center")
    ax.set_ylabel(col.replace("_", " "))
    tols = sorted({t.attrs.get("tol") for t in tables.values() if t.attrs.get("tol") is not None})
    ax.set_title("surviving filters per layer" + (f" (norm > tol = {', '.join(f'{v:g}' for v in tols)})"
                                                  if tols else ""), fontsize=9)
    ax.legend(fontsize=8)
    return fig


def training_curves(histories: Mapping[str, pd.DataFrame], cols=("test_acc", "zero_filters"),
                    x: str = "epoch"):
    """One panel per history column (``cols``), one line per run (``{name: fit() history}``).
    A run without a column is skipped in that panel; a column no run has raises ``ValueError``."""
    if not histories:
        raise ValueError("training_curves needs at least one history")
    cols = [cols] if isinstance(cols, str) else list(cols)
    for c in cols:
        if not any(c in h.columns for h in histories.values()):
            avail = sorted(set().union(*(h.columns for h in histories.values())))
            raise ValueError(f"no history has column {c!r}; available: {avail}")
    fig, axes = grid(len(cols), ncols=len(cols), panel=(4.2, 3.2))
    colors = label_cycle(list(histories))
    for ax, c in zip(axes, cols):
        for name, h in histories.items():
            if c in h.columns:
                d = h[[x, c]].dropna()
                ax.plot(d[x], d[c], marker="o" if len(d) < 30 else None, ms=3, color=colors[name], label=name)
        ax.set_xlabel(x)
        ax.set_title(c.replace("_", " "), fontsize=9)
    axes[0].legend(fontsize=8)
    return fig


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
           minimize_x: bool = True, source: str = "source", logx: bool = False):
    """Accuracy vs size: one colour per ``label``, our Pareto front (:func:`pareto_front`) as a black
    step line, and published reference points (rows whose ``source`` column is set) as stars
    annotated with their source; they do not enter the front. Returns the Figure."""
    require(df, [x, y, label], "results table")
    ref = df[source].notna() if source in df.columns else pd.Series(False, index=df.index)
    ours = df[~ref]
    fig, ax = new_axes(ax, figsize=(6, 4))
    colors = label_cycle(list(dict.fromkeys(df[label])))
    for lab, d in ours.groupby(label, sort=False):
        ax.scatter(d[x], d[y], color=colors[lab], label=str(lab), s=30, zorder=3)
    if len(ours):
        front = ours[pareto_front(ours, x, y, minimize_x)].sort_values(x)
        ax.step(front[x], front[y], where="post" if minimize_x else "pre", color="k", lw=1.2, zorder=2,
                label="Pareto front")
        ax.scatter(front[x], front[y], facecolors="none", edgecolors="k", s=90, zorder=4)
    for _, r in df[ref].iterrows():
        ax.scatter(r[x], r[y], marker="*", s=160, color=colors[r[label]], edgecolors="k", zorder=5)
        ax.annotate(f" {r[source]}", (r[x], r[y]), fontsize=7)
    if ref.any():
        ax.scatter([], [], marker="*", s=120, color="w", edgecolors="k", label="published")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(y.replace("_", " "))
    ax.set_title(f"{y} vs {x} ({'fewer' if minimize_x else 'more'} is better on x)", fontsize=9)
    ax.legend(fontsize=8)
    return fig


def latency_vs_macs(df: pd.DataFrame, x: str = "mac_ratio", y: str = "speedup", label: str | None = None,
                    ax=None):
    """Measured speedup (dense latency / compact latency) vs the MAC ratio (dense MACs / compact
    MACs); the dashed ``y = x`` line is the speedup MAC counting predicts. Returns the Figure."""
    require(df, [x, y, label], "latency table")
    fig, ax = new_axes(ax, figsize=(4.5, 4))
    groups = df.groupby(label, sort=False) if label else [(None, df)]
    for lab, d in groups:
        ax.scatter(d[x], d[y], s=30, label=None if lab is None else str(lab), zorder=3)
    hi = float(np.nanmax(df[[x, y]].to_numpy(dtype=float))) * 1.1
    ax.plot([1, max(hi, 1.1)], [1, max(hi, 1.1)], "k--", lw=1, label="y = x")
    ax.set_xlabel(f"{x.replace('_', ' ')} (dense / compact)")
    ax.set_ylabel(f"{y} (dense / compact latency)")
    ax.set_title("measured speedup vs MAC reduction", fontsize=9)
    ax.legend(fontsize=8)
    return fig


def pruning_curve(df: pd.DataFrame, x: str = "params_removed", y: str = "test_acc", hue: str | None = "criterion",
                  ax=None):
    """``y`` vs ``x`` for each pruning criterion (``hue``), points joined in order of ``x``."""
    require(df, [x, y, hue], "pruning table")
    fig, ax = new_axes(ax, figsize=(5.5, 3.8))
    for lab, d in (df.groupby(hue, sort=False) if hue else [(None, df)]):
        d = d.sort_values(x)
        ax.plot(d[x], d[y], "o-", ms=4, label=None if lab is None else str(lab))
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(y.replace("_", " "))
    ax.set_title(f"{y} as {x} grows", fontsize=9)
    if hue:
        ax.legend(fontsize=8, title=hue, title_fontsize=8)
    return fig


def threshold_sweep(df: pd.DataFrame, x: str = "rho", left: str = "filters_left", right: str | None = "test_acc",
                    ax=None, logx: bool = True):
    """Relative-threshold sweep: ``left`` (filters left) on the left axis and ``right`` (accuracy) on a
    twin right axis, against the threshold ``x`` (``ρ`` of ``ρ·max ||F[o]||_2``, log axis)."""
    require(df, [x, left, right], "threshold sweep table")
    d = df.sort_values(x)
    fig, ax = new_axes(ax, figsize=(5.5, 3.8))
    ax.plot(d[x], d[left], "o-", color="C0", ms=4, label=left)
    ax.set_ylabel(left.replace("_", " "), color="C0")
    ax.set_xlabel(x)
    if logx:
        ax.set_xscale("log")
    if right:
        ax2 = ax.twinx()
        ax2.plot(d[x], d[right], "s--", color="C1", ms=4, label=right)
        ax2.set_ylabel(right.replace("_", " "), color="C1")
    ax.set_title(f"sweep of the relative threshold {x}", fontsize=9)
    return fig


def layer_widths(before: Mapping[str, int], after: Mapping[str, int], ax=None, title: str | None = None):
    """Bars of each layer's width before (grey) and after pruning (coloured), labelled ``after/before``."""
    layers = list(before)
    fig, ax = new_axes(ax, figsize=(max(5, 0.7 * len(layers) + 2), 3.5))
    x = np.arange(len(layers))
    b = np.array([before[k] for k in layers], dtype=float)
    a = np.array([after.get(k, before[k]) for k in layers], dtype=float)
    ax.bar(x, b, color="0.85", label="before")
    bars = ax.bar(x, a, width=0.5, color="C0", label="after")
    ax.bar_label(bars, labels=[f"{int(u)}/{int(v)}" for u, v in zip(a, b)], fontsize=7)
    ax.set_xticks(x, layers, rotation=30 if len(layers) > 4 else 0, ha="right" if len(layers) > 4 else "center")
    ax.set_ylabel("channels")
    ax.set_title(title or "layer widths", fontsize=9)
    ax.legend(fontsize=8)
    return fig
