"""Plots of the variable-splitting scheme (docs/methods.md section 4): ``W`` against ``V = prox(W)``."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from . import splitting
from ..viz._common import grid
from ..viz.weights import kernel_norm_heatmap


def prox_panels(W: torch.Tensor, lam: float, beta: float, Rs: Sequence[str] = ("l1", "l0", "tl1", "l1_l2"),
                a: float = 1.0, alpha: float = 1.0, max_points: int = 4000, seed: int = 0):
    """One column per R: top, every entry ``v = prox_{(λ/β)R}(w)`` against ``w`` (a random subset of
    at most ``max_points``; the identity dashed); bottom, the kernel norms ``||v[o,i]||_2`` of V
    (:func:`hgsr.viz.kernel_norm_heatmap`, sorted, log; exact zeros white). Returns the Figure."""
    W = W.detach().float().cpu()
    fig, axes = grid(2 * len(Rs), ncols=len(Rs), panel=(3.3, 3.0))
    g = np.random.default_rng(seed)
    w = W.flatten().numpy()
    idx = g.choice(w.size, size=min(max_points, w.size), replace=False)
    lim = float(np.abs(w).max()) * 1.05 or 1.0
    for k, R in enumerate(Rs):
        s = splitting.split_terms(W, lam, beta, R, a, alpha)
        v = s["V"].flatten().numpy()
        ax = axes[k]
        ax.plot([-lim, lim], [-lim, lim], "k--", lw=0.6)
        ax.scatter(w[idx], v[idx], s=2, alpha=0.5, color=f"C{k}")
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_xlabel("w")
        ax.set_title(f"R = {R}, t = λ/β = {s['t']:.2g}\nV exact zeros {100 * s['v_zeros']:.1f}%, "
                     f"zero filters {s['v_zero_filters']}/{W.shape[0]}", fontsize=8)
        if k == 0:
            ax.set_ylabel("v = prox(w)")
        kernel_norm_heatmap(s["V"], ax=axes[len(Rs) + k], title=f"V kernel norms, R = {R}")
    return fig
