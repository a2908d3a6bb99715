"""Plots of the variable-splitting scheme (docs/methods.md section 4): ``W`` against ``V = prox(W)``."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from matplotlib.ticker import MaxNLocator

from . import splitting
from .. import prox
from ..viz import style
from ..viz._common import grid
from ..viz.weights import kernel_norm_heatmap


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
    fig, axes = grid(2 * len(Rs), ncols=len(Rs), panel=(3.4, 3.1))
    g = np.random.default_rng(seed)
    w = W.flatten().numpy()
    idx = g.choice(w.size, size=min(max_points, w.size), replace=False)
    lim = spread_limit(w)
    for k, R in enumerate(Rs):
        s = splitting.split_terms(W, lam, beta, R, a, alpha)
        v = s["V"].flatten().numpy()
        tau = dead_zone(R, s["t"], a)
        color = style.PALETTE[k % len(style.PALETTE)]
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
        ax.set_title(f"R = {R}, t = λ/β = {s['t']:.2g}, τ = {tau:.2g}\nV exact zeros {100 * s['v_sparsity']:.1f}%, "
                     f"zero filters {s['v_zero_filters']}/{W.shape[0]}", fontsize=8)
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
            ins.text(0.04, 0.96, "zoom ±4τ", transform=ins.transAxes, fontsize=6, va="top")
            ins.grid(False)
        kernel_norm_heatmap(s["V"], ax=axes[len(Rs) + k], title=f"V kernel norms, R = {R}")
    fig.suptitle("v = prox_{tR}(w) of every weight of one layer (dashed: identity; grey band: |w| ≤ τ, "
                 "mapped to exactly 0); below: kernel norms of V")
    return fig
