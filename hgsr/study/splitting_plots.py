"""Plots of the variable-splitting scheme (docs/methods.md section 4): ``W`` against ``V = prox(W)``."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from matplotlib.ticker import MaxNLocator

from . import splitting
from .palette import penalty_label
from .. import prox
from ..viz import style
from ..viz._common import grid
from ..viz.weights import kernel_norm_heatmap, sparsity_overlay


def dead_zone(R: str, t: float, a: float = 1.0) -> float:
    """Half-width ``τ`` of the interval that ``prox_{tR}`` maps to exactly 0 entry by entry: L1 and
    L1 − αL2 (a vector with some ``|w| > t``): ``t``; L0: ``sqrt(2t)``; TL1: :func:`hgsr.prox.tl1_threshold`."""
    if R == "l0":
        return float(np.sqrt(2 * t))
    if R == "tl1":
        return float(prox.tl1_threshold(t, a))
    return float(t)


def spread_limit(w: np.ndarray, q: float = 0.99) -> float:
    """Axis half-range from the data's spread, not its extreme: the ``q`` quantile of ``|w|`` (+10%)."""
    v = np.abs(np.asarray(w, dtype=float))
    lim = float(np.quantile(v, q)) * 1.1 if v.size else 1.0
    return lim if lim > 0 else (float(v.max()) or 1.0)


def prox_panels(W: torch.Tensor, lam: float, beta: float, Rs: Sequence[str] = ("l1", "l0", "tl1", "l1_l2"),
                a: float = 1.0, alpha: float = 1.0, max_points: int = 4000, seed: int = 0):
    """One column per R: top, every entry ``v = prox_{(λ/β)R}(w)`` against ``w`` (a random subset of
    at most ``max_points``; the identity dashed), on ``±`` the 99th percentile of ``|w|`` (the bulk
    of the weights, not the largest one), with the dead zone ``|w| ≤ τ`` (mapped to exactly 0) shaded;
    when ``τ`` is too small to see at that scale, an inset zooms on ``±4τ``. Bottom, the kernel norms
    ``||v[o,i]||_2`` of V (:func:`hgsr.viz.kernel_norm_heatmap`, sorted, log; exact zeros white).
    Returns the Figure."""
    W = W.detach().float().cpu()
    fig, axes = grid(2 * len(Rs), ncols=len(Rs), panel=(min(3.3, 13.2 / len(Rs)), 3.45))
    g = np.random.default_rng(seed)
    w = W.flatten().numpy()
    idx = g.choice(w.size, size=min(max_points, w.size), replace=False)
    lim = spread_limit(w)
    for k, R in enumerate(Rs):
        s = splitting.split_terms(W, lam, beta, R, a, alpha)
        v = s["V"].flatten().numpy()
        tau = dead_zone(R, s["t"], a)
        color = style.PENALTY_COLORS.get(R, style.PALETTE[k % len(style.PALETTE)])   # R's colour in every figure
        ax = axes[k]
        ax.plot([-lim, lim], [-lim, lim], color="0.5", ls="--", lw=0.8)
        ax.axvspan(-tau, tau, color="0.85", lw=0, zorder=0)
        ax.scatter(w[idx], v[idx], s=3, alpha=0.5, color=color, rasterized=True)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, symmetric=True))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, symmetric=True))
        ax.set_xlabel("weight w of W")
        ax.set_ylabel("v = prox(w)" if k == 0 else "")
        ax.set_title(f"{penalty_label(R)}: t = {s['t']:.2g}, τ = {tau:.2g}\nV: {100 * s['v_sparsity']:.1f}% exact zeros,\n"
                     f"{s['v_zero_filters']}/{W.shape[0]} zero filters")
        if tau < lim / 12:                       # too thin to see: zoom on ±4τ in the empty lower right
            zoom = 4 * tau
            near = np.flatnonzero(np.abs(w) <= zoom)
            near = near if near.size <= max_points else g.choice(near, size=max_points, replace=False)
            ins = ax.inset_axes([0.57, 0.05, 0.4, 0.4])
            ins.plot([-zoom, zoom], [-zoom, zoom], color="0.5", ls="--", lw=0.6)
            ins.axvspan(-tau, tau, color="0.85", lw=0, zorder=0)
            ins.scatter(w[near], v[near], s=2, alpha=0.6, color=color, rasterized=True)
            ins.set_xlim(-zoom, zoom)
            ins.set_ylim(-zoom, zoom)
            ins.set_xticks([])
            ins.set_yticks([])
            ins.set_title("zoom ±4τ", fontsize=style.FONT_MIN, pad=2)
            ins.grid(False)
        kernel_norm_heatmap(s["V"], ax=axes[len(Rs) + k], title=f"kernel norms of V, {penalty_label(R)}")
        if k:
            axes[len(Rs) + k].set_ylabel("")
    fig.suptitle(r"$v = \mathrm{prox}_{tR}(w)$, $t = \lambda/\beta$, for every weight of one layer (dashed: identity; "
                 "grey band: |w| ≤ τ, mapped to exactly 0);\nbelow: the kernel norms of V (white: exactly 0)")
    return fig


def toy_curves(toys: dict, cols: Sequence[str] = ("beta", "gap", "v_sparsity", "v_zero_filters")):
    """The splitting toy's histories (``{R: history}`` of :func:`hgsr.study.splitting.splitting_toy`), one
    panel per column, each R named ``R = L1``, ... in its penalty's colour; curves that fall on one another
    are named in the panel's title (:func:`hgsr.viz.tradeoffs.coinciding`). Returns the Figure."""
    from ..viz import training_curves

    return training_curves({penalty_label(R): h for R, h in toys.items()}, cols=cols)


def w_vs_v_training(histories: dict):
    """W against V over training, for each nonconvex SGL family of ``{label: history}`` (its colour): left,
    the sparsity of each (V's exact zeros solid, W's weights below 1e-5 dashed); middle, the active filters of
    W; right, the test accuracy of W (solid) and of W·[V≠0] (dashed). Returns the Figure."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    style.ensure()
    fig, axes = plt.subplots(1, 3, figsize=(13.2, 5.0), layout="constrained")
    st = style.series_styles(list(histories))
    panels = ((axes[0], (("v_sparsity", "-"), ("w_sparsity", "--")), "zeros (%)", ("V: exact zeros", "W: |w| < 1e-5")),
              (axes[1], (("filter_activity", "-"),), style.axis_label("filter_activity"), None),
              (axes[2], (("test_acc", "-"), ("masked_acc", "--")), style.axis_label("test_acc"), ("W", "W·[V≠0]")))
    for ax, cols, ylabel, keys in panels:
        for lab, h in histories.items():
            for col, ls in cols:
                if col in h.columns:
                    d = h[["epoch", col]].dropna()
                    ax.plot(d["epoch"], d[col], ls=ls, marker=st[lab]["marker"], color=st[lab]["color"],
                            label=lab if ls == "-" else None)
        style.format_axis(ax, "x", "epoch")
        style.format_axis(ax, "y", cols[0][0])
        style.integer_ticks(ax, "x")
        ax.set_ylabel(ylabel)
        if keys:
            ax.legend(handles=[Line2D([], [], color="0.2", ls=ls, label=k) for (_, ls), k in zip(cols, keys)],
                      loc="best")
    axes[0].set_title("sparsity: V against W")
    axes[1].set_title("active filters of W")
    axes[2].set_title("accuracy: W against W·[V≠0]")
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(4, len(labels)))
    return fig


def w_vs_v_pattern(model, label: str, tol: float):
    """The kernel masks of W and V = prox(W) of a nonconvex SGL model in one picture
    (:func:`hgsr.viz.sparsity_overlay`): kept by both black, by W only or V only in greys (the family's colour
    stays the family's). The three near-identical masks of W, V and W·[V≠0] become one, their differences
    counted in the legend. Returns the Figure."""
    return sparsity_overlay(model, splitting.v_model(model), labels=("W", "V"), tol=tol, colors=("0.55", "0.8"),
                            title=f"{label}: kernels with norm > {tol:g} in W and in V = prox(W)")
