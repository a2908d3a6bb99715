"""Teaching figures of the theory: thresholding (proximal) functions, penalty level sets,
subgradient vs proximal iterates, and the scale invariance of L1/L2.

The numbers come from :mod:`hgsr.prox` (closed-form proximal operators, docs/methods.md section 4) and
:mod:`hgsr.toy` (2-D penalties, toy paths, scale curves); this module only draws them.
"""
from __future__ import annotations

import numpy as np
import torch
from matplotlib import ticker

from .. import prox, toy
from ..errors import InvalidArgument, check_positive
from . import style
from ._common import grid, new_axes



def threshold_curves(lam: float = 1.0, a: float = 1.0, alpha: float = 0.5, a_values=(0.1, 1.0, 10.0),
                     y2: float | None = None, n: int = 601) -> dict:
    """The curves :func:`thresholding_functions` draws, each ``prox_{λR}`` of :mod:`hgsr.prox`:

    ``y``: inputs on ``[-R, R]``; ``soft``: ``soft(y, λ)``; ``hard``: ``hard(y, λ)`` (threshold
    ``sqrt(2λ)``); ``tl1``: ``{a: tl1_prox(y, λ, a)}`` for ``a_values`` and ``a``; ``l1_l2``: first
    coordinate of ``prox_{λ(L1 − αL2)}((y, y2))`` for ``y2 = 0`` (the 1-D case, i.e. soft with
    ``(1−α)λ``) and ``y2`` (default ``1.5λ``: the threshold on ``y`` then depends on the other
    coordinate); ``group``: ``r`` and ``||group_soft((r cos θ, r sin θ), λ)||_2 = max(0, r − λ)``.
    """
    lam = check_positive("lam", lam)
    a_list = sorted({float(v) for v in a_values} | {float(a)})
    y2 = 1.5 * lam if y2 is None else float(y2)
    reach = max(lam, np.sqrt(2 * lam), *(prox.tl1_threshold(lam, v) for v in a_list))
    R = 2.0 * reach
    y = torch.linspace(-R, R, n, dtype=torch.float64)
    l1l2 = {}
    for second in (0.0, y2):
        l1l2[second] = torch.stack([prox.l1_minus_l2_prox(torch.stack([v, torch.tensor(second, dtype=v.dtype)]),
                                                          lam, alpha)[0] for v in y])
    r = torch.linspace(0, R, n, dtype=torch.float64)
    theta = 0.6
    vec = torch.stack([r * np.cos(theta), r * np.sin(theta)], dim=1)
    g = torch.linalg.vector_norm(prox.group_soft_threshold(vec, lam, dim=1), dim=1)
    return {"y": y.numpy(), "soft": prox.soft_threshold(y, lam).numpy(),
            "hard": prox.hard_threshold(y, lam).numpy(),
            "tl1": {v: prox.tl1_prox(y, lam, v).numpy() for v in a_list},
            "l1_l2": {k: v.numpy() for k, v in l1l2.items()}, "r": r.numpy(), "group": g.numpy(),
            "lam": lam, "a": float(a), "alpha": alpha, "y2": y2}


def _identity(ax, lo, hi):
    ax.plot([lo, hi], [lo, hi], color=style.REFERENCE, ls="--", lw=1, zorder=0)
    ax.axhline(0, color="0.85", lw=0.8, zorder=0)
    ax.axvline(0, color="0.85", lw=0.8, zorder=0)


def thresholding_functions(lam: float = 1.0, a: float = 1.0, alpha: float = 0.5, ax=None,
                           a_values=(0.1, 1.0, 10.0), y2: float | None = None):
    """Input ``y`` vs output ``prox_{λR}(y)`` for R = L1 (soft), L0 (hard), TL1 (several ``a``, the
    chosen ``a`` bold), L1 − αL2 (a 2-D slice) and the group lasso (output norm vs input norm), from
    :func:`threshold_curves`. The dashed grey line is the identity: the gap to it is the shrinkage.

    Each operator has one colour in every panel (:data:`hgsr.viz.theme.PENALTY_COLORS`); the variants of one
    operator (TL1's ``a``, L1 − αL2's second coordinate) differ by line style, not colour.
    Without ``ax``: six panels (one per operator, plus all of them overlaid). With ``ax``: only the
    overlay, drawn on that axes. Returns the Figure.
    """
    c = threshold_curves(lam, a, alpha, a_values, y2)
    y, R = c["y"], float(c["y"][-1])
    col = style.PENALTY_COLORS

    def overlay(ax):
        _identity(ax, -R, R)
        ax.plot(y, c["soft"], color=col["l1"], label=f"soft (L1), τ = {lam:g}")
        ax.plot(y, c["hard"], color=col["l0"], label=f"hard (L0), τ = {np.sqrt(2 * lam):.3g}")
        ax.plot(y, c["tl1"][float(a)], color=col["tl1"], label=f"TL1, τ = {prox.tl1_threshold(lam, a):.3g}")
        ax.plot(y, c["l1_l2"][0.0], color=col["l1_l2"], label=f"L1 − αL2 (1-D), τ = {(1 - alpha) * lam:.3g}")
        ax.plot(c["r"], c["group"], color=col["group"], label="group (norms)")
        ax.set_xlabel("y")
        ax.set_ylabel("prox(y)")
        ax.set_title(f"all together, λ = {lam:g}")
        style.legend(ax, outside=False, loc="lower right")

    if ax is not None:
        overlay(ax)
        return ax.figure
    fig, axes = grid(6, ncols=3, panel=(4.3, 3.35))
    ax = axes[0]
    _identity(ax, -R, R)
    ax.plot(y, c["soft"], color=col["l1"])
    ax.set_title(f"soft (L1): 0 for |y| ≤ λ = {lam:g}")
    ax = axes[1]
    _identity(ax, -R, R)
    ax.plot(y, c["hard"], color=col["l0"])
    ax.set_title(f"hard (L0): 0 for |y| ≤ √(2λ) = {np.sqrt(2 * lam):.3g}")
    ax = axes[2]
    _identity(ax, -R, R)
    others = iter((":", "--", "-."))
    for v, out in c["tl1"].items():
        bold = v == float(a)
        ax.plot(y, out, color=col["tl1"], lw=2.8 if bold else 1.4, ls="-" if bold else next(others),
                label=f"a = {v:g}, τ = {prox.tl1_threshold(lam, v):.3g}" + (" (chosen)" if bold else ""))
    ax.set_title("TL1: small a ≈ L0, large a ≈ L1")
    style.legend(ax, outside=False, loc="lower right")
    ax = axes[3]
    _identity(ax, -R, R)
    for (second, out), ls in zip(c["l1_l2"].items(), ("-", "--")):
        ax.plot(y, out, color=col["l1_l2"], ls=ls, label=f"y₂ = {second:g}")
    ax.set_title(f"L1 − αL2 (α = {alpha:g}): x₁ of prox((y, y₂))")
    style.legend(ax, outside=False, loc="lower right")
    ax = axes[4]
    _identity(ax, 0, R)
    ax.plot(c["r"], c["group"], color=col["group"])
    ax.set_xlabel("‖y‖₂")
    ax.set_ylabel("‖prox(y)‖₂")
    ax.set_title("group lasso: max(0, ‖y‖ − λ)")
    overlay(axes[5])
    for ax in axes[:4]:
        ax.set_xlabel("y")
        ax.set_ylabel("prox(y)")
    fig.suptitle(r"proximal operators $\mathrm{prox}_{\lambda R}(y)$" + f", λ = {lam:g} (dashed: identity)")
    return fig


# level sets {penalty = 1} that are the coordinate axes (not drawable as a contour line)
_AXES_LEVEL = {"l0", "l1_over_l2"}
# 2-D penalties drawn here beyond hgsr.toy's: weight decay's squared L2 (smooth at 0: no corner, no zeros)
_EXTRA_2D = {"l2_squared": lambda W1, W2, **kw: toy.penalty_2d("l2", W1, W2) ** 2}
TITLES = {"l1": "L1: ‖w‖₁", "l2": "L2 = group lasso\n(one group): ‖w‖₂", "l2_squared": "L2² (weight decay):\n‖w‖₂², no corner",
          "l1_over_l2": "L1/L2", "tl1": "TL1 (a = {a:g})", "l1_l2": "L1 − αL2 (α = {alpha:g})", "l0": "L0",
          "group": "group lasso (one group)", "hsq_gl12": "HSQ-GL1/2\n(two 1-weight kernels)"}


def _penalty(name, W1, W2, a, alpha):
    if name in _EXTRA_2D:
        return _EXTRA_2D[name](W1, W2)
    return toy.penalty_2d(name, W1, W2, a=a, alpha=alpha)


def penalty_contours(names=("l1", "l2", "l2_squared", "l1_over_l2", "tl1", "l1_l2", "l0", "hsq_gl12"),
                     a: float = 1.0, alpha: float = 0.5, level: float = 1.0, lim: float = 2.2,
                     n: int = 401, ncols: int = 4):
    """Level sets of 2-D penalties (:func:`hgsr.toy.penalty_2d`, and ``"l2_squared"``, weight decay's
    ``‖w‖₂²``) on ``[-lim, lim]²``, one panel each, with its colour bar (the penalty's value).

    Filled contours show the value; the black curve is the level ``{R(w1, w2) = level}`` (the unit
    ball's boundary for ``level = 1``). Corners on the axes mean that the minimizer of a loss plus the
    penalty tends to land on an axis, i.e. to be sparse. For L0 and L1/L2 the level-1 set is exactly
    the two axes (one nonzero coordinate), drawn as thick black lines. L2 and the group lasso on one
    group are the same function ``‖w‖₂`` (one panel, ``"l2"``); its squared form (weight decay) has the same
    unit circle but no kink at 0, which is why it never makes a group exactly zero. Returns the Figure.
    """
    names = list(names)
    for nm in names:
        if nm not in toy.PENALTIES_2D and nm not in _EXTRA_2D:
            raise InvalidArgument(f"names has an unknown 2-D penalty {nm!r}; known: "
                                  f"{', '.join([*toy.PENALTIES_2D, *_EXTRA_2D])}")
    g = np.linspace(-lim, lim, n)
    W1, W2 = np.meshgrid(g, g)
    fig, axes = grid(len(names), ncols=min(ncols, len(names)), panel=(3.3, 3.2))
    for ax, nm in zip(axes, names):
        Z = _penalty(nm, W1, W2, a, alpha)
        cs = ax.contourf(W1, W2, np.nan_to_num(Z, nan=1.0), levels=12, cmap="Blues", alpha=0.85)
        cb = fig.colorbar(cs, ax=ax, shrink=0.9, pad=0.02)
        cb.locator = ticker.MaxNLocator(nbins=4)
        cb.update_ticks()
        if nm in _AXES_LEVEL:
            ax.axhline(0, color="k", lw=2.5)
            ax.axvline(0, color="k", lw=2.5)
        else:
            ax.contour(W1, W2, Z, levels=[level], colors="k", linewidths=2)
        ax.set_title(TITLES.get(nm, nm).format(a=a, alpha=alpha))
        ax.set_aspect("equal")
        ax.grid(False)
        ticks = [t for t in (-2, -1, 0, 1, 2) if abs(t) <= lim]
        ax.set_xticks(ticks)
        ax.set_yticks(ticks)
    style.label_outer(axes, min(ncols, len(names)), xlabel="w₁", ylabel="w₂")
    fig.suptitle(f"penalty R(w₁, w₂): colour = value (darker = larger); black: the level set R = {level:g}")
    return fig


def subgradient_vs_prox_path(lam: float = 1.0, lr: float = 0.3, steps: int = 30, y: float = 0.5,
                             x0: float = 2.0, ax=None):
    """Iterates of subgradient descent and proximal gradient on ``½(x − y)² + λ|x|``
    (:func:`hgsr.toy.toy_paths`): with ``|y| ≤ λ`` the proximal iterates land exactly on 0 and stay,
    the subgradient ones oscillate around 0 for ever. Returns the Figure."""
    df = toy.toy_paths(y=y, lam=lam, lr=lr, steps=steps, x0=x0)
    fig, ax = new_axes(ax, figsize=(8, 4.5))
    ax.axhline(df.attrs["minimizer"], color=style.REFERENCE, ls="--", lw=1, label=f"minimizer {df.attrs['minimizer']:g}")
    ax.plot(df["step"], df["subgradient"], "o-", ms=4, color="k", label="subgradient step")
    ax.plot(df["step"], df["prox"], "s-", ms=4, color=style.PENALTY_COLORS["l1"],       # L1's colour: its prox
            label="proximal step (soft threshold)")
    k = df.attrs["prox_zero_from"]
    note = f"prox exactly 0 from step {k}" if k is not None else "prox not (yet) at 0"
    note += f"; last subgradient iterate {df['subgradient'].iloc[-1]:.3g}"
    ax.set_title(f"min ½(x−{y:g})² + {lam:g}|x|, lr = {lr:g}\n{note}")
    ax.set_xlabel("step")
    ax.set_ylabel("iterate x")
    style.integer_ticks(ax, "x")
    style.legend(ax)
    return fig


def scale_invariance(w=None, scales=None, ax=None):
    """``||c·w||_1`` and ``||c·w||_2`` grow with the scale ``c``, their ratio stays flat
    (:func:`hgsr.toy.scale_curves`); dashed lines: the ratio's bounds 1 and sqrt(n). Log-log axes."""
    df = toy.scale_curves(w, scales)
    nw = df.attrs["n"]
    fig, ax = new_axes(ax, figsize=(7, 4.5))
    col = style.PENALTY_COLORS                         # each penalty in its colour of notebook 01
    ax.loglog(df["scale"], df["l1"], color=col["l1"], label="‖c·w‖₁")
    ax.loglog(df["scale"], df["l2"], color=col["l2"], label="‖c·w‖₂")
    ax.loglog(df["scale"], df["l1_over_l2"], color=col["l1_over_l2"], lw=2.5, label="‖c·w‖₁ / ‖c·w‖₂")
    for b, txt in ((1.0, "1"), (np.sqrt(nw), f"√n = {np.sqrt(nw):.3g}")):
        ax.axhline(b, color=style.REFERENCE, ls="--", lw=1)
        ax.annotate(txt, (df["scale"].iloc[-1], b), xytext=(-2, 2), textcoords="offset points", fontsize=style.FONT_MIN,
                    ha="right", va="bottom")
    ax.set_xlabel("scale c (log)")
    ax.set_ylabel("penalty value (log)")
    ax.set_title(f"L1/L2 is scale invariant (n = {nw})")
    style.legend(ax)
    return fig
