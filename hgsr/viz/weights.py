"""Figures of trained conv weights: kernel-norm heatmaps, filter-norm histograms, sparsity patterns.

All use the kernel norm matrix ``N[o,i] = ||W[o,i,:,:]||_2`` (:func:`hgsr.groups.kernel_l2`), the
filter norms ``||F[o]||_2`` and channel norms ``||C[i]||_2`` (docs/methods.md section 0); a group counts as
zero when its norm is ``<= tol`` (section 6), and every figure states the tolerance it used. Layers
are named ``conv1, conv2, ...`` in model order (:func:`hgsr.viz.style.layer_names`), not by module.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import ticker
from matplotlib.colors import LogNorm, Normalize

from .. import groups
from ..errors import InvalidArgument
from ..measure import TOL
from . import style
from ._common import grid, layer_weight, new_axes, series_styles, target_convs


def _norms(W):
    W = W.detach().float().cpu()
    return (groups.kernel_l2(W).numpy(), groups.filter_l2(W).numpy(), groups.channel_l2(W).numpy())


def kernel_norm_heatmap(W, sort: bool = True, log: bool = True, tol: float | None = None, ax=None,
                        title: str | None = None, cmap: str = "viridis"):
    """Heatmap of the (O, I) kernel norms ``N[o,i] = ||w[o,i]||_2`` of one conv weight.

    With ``sort`` rows are ordered by filter norm ``||F[o]||_2`` and columns by channel norm
    ``||C[i]||_2`` (largest first), so dead filters collect as white rows at the bottom and dead input
    channels as white columns on the right. ``log`` uses a logarithmic colour scale. Cells with
    ``N <= tol`` (or exactly 0 when ``tol`` is None) are drawn white; the title counts the filters and
    channels with norm ``<= tol``. Returns the Figure.
    """
    N, fn, cn = _norms(W)
    rows = np.argsort(-fn, kind="stable") if sort else np.arange(len(fn))
    cols = np.argsort(-cn, kind="stable") if sort else np.arange(len(cn))
    N = N[np.ix_(rows, cols)]
    fig, ax = new_axes(ax, figsize=(5, 4))
    floor = tol if tol is not None else 0.0
    shown = np.ma.masked_where(N <= floor, N)
    vmax = float(N.max()) if N.max() > 0 else 1.0
    if log:
        pos = N[N > floor]
        vmin = tol if tol is not None and tol > 0 else (float(pos.min()) if pos.size else vmax / 10)
        norm = LogNorm(vmin=min(vmin, vmax / 1.0001), vmax=vmax)
    else:
        norm = Normalize(vmin=0.0, vmax=vmax)
    cm = plt.get_cmap(cmap).with_extremes(bad="white", under="white")
    im = ax.imshow(shown, aspect=style.matrix_aspect(*N.shape), interpolation="nearest", cmap=cm, norm=norm)
    ax.grid(False)
    style.integer_ticks(ax)
    cb = fig.colorbar(im, ax=ax, label=r"kernel norm $\|w[o,i]\|_2$" + (" (log)" if log else ""))
    if log:                                  # plain short numbers at 1, 2, 5 × 10^k (0.05, 0.1, 0.2)
        cb.ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        cb.ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:.2g}"))
        cb.ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    order = ", sorted by norm" if sort else ""
    ax.set_xlabel(f"input channel i{order}")
    ax.set_ylabel(f"filter o{order}")
    head = title or f"kernel norms {N.shape[0]}×{N.shape[1]}"
    if tol is not None:
        parts = [f"≤ tol={tol:g}:", f"{int((fn <= tol).sum())}/{len(fn)} filters,",
                 f"{int((cn <= tol).sum())}/{len(cn)} channels,", f"{int((N <= tol).sum())}/{N.size} kernels"]
        narrow = style.matrix_aspect(*N.shape) != "auto" and N.shape[0] > N.shape[1]
        head += "\n" + ("\n".join(parts) if narrow else " ".join(parts))   # a narrow panel: one item a line
    ax.set_title(head)
    return fig


def kernel_norm_heatmaps(model, tol: float | None = None, sort: bool = True, log: bool = True,
                         predicate=None, ncols: int | None = None):
    """:func:`kernel_norm_heatmap` of every target conv of ``model``, one panel (plus colour bar) each,
    titled ``conv1, conv2, ...``."""
    convs = target_convs(model, predicate)
    short = style.layer_names(model)
    fig, axes = grid(len(convs), ncols, panel=(4.2, 3.4))
    for ax, (name, conv) in zip(axes, convs):
        kernel_norm_heatmap(conv.weight, sort=sort, log=log, tol=tol, ax=ax, title=short.get(name, name))
    return fig


def filter_norm_histogram(model_or_W, layer=None, tol: float | None = None, rel: float | None = None,
                          ax=None, bins: int = 30, predicate=None, label: str | None = None):
    """Histogram of filter norms ``||F[o]||_2`` on a log axis, with the tolerance line(s).

    ``model_or_W`` is a model (``layer``: a target-conv name or index; None overlays every target
    layer) or one conv weight. ``tol`` draws the absolute threshold, ``rel`` the relative one
    ``rel · max_o ||F[o]||_2`` per layer (docs/methods.md section 6); the legend gives how many filters lie
    at or below each. Exact zeros cannot sit on a log axis: they are counted in the bar at the left edge
    and named in the legend. ``label`` renames a single layer in the legend. Returns the Figure.
    """
    if isinstance(model_or_W, torch.Tensor) or layer is not None:
        items = [layer_weight(model_or_W, layer, predicate)]
    else:
        short = style.layer_names(model_or_W)
        items = [(short.get(n, n), c.weight.detach()) for n, c in target_convs(model_or_W, predicate)]
    if label is not None and len(items) == 1:
        items = [(label, items[0][1])]
    norms = {name: _norms(W)[1] for name, W in items}
    fig, ax = new_axes(ax)
    allv = np.concatenate(list(norms.values()))
    pos = allv[allv > 0]
    hi = float(pos.max()) if pos.size else 1.0
    lo = float(pos.min()) if pos.size else hi / 10
    if tol is not None and tol > 0:
        lo = min(lo, tol)
    maxes = [float(v.max()) for v in norms.values() if v.max() > 0]
    if rel is not None and rel > 0 and maxes:
        lo = min(lo, rel * min(maxes))
    floor = lo / 3
    edges = np.logspace(np.log10(floor), np.log10(hi * 1.05), bins + 1)
    colors = {k: st["color"] for k, st in series_styles(list(norms)).items()}
    for name, v in norms.items():
        zeros = int((v == 0).sum())
        lab = name + (f" ({zeros} exactly 0, at left edge)" if zeros else "")
        ax.hist(np.clip(v, edges[0] * 1.0001, None), bins=edges, histtype="stepfilled" if len(norms) == 1
                else "step", alpha=0.6 if len(norms) == 1 else 1.0, color=colors[name], label=lab, lw=1.5)
    if tol is not None:
        k = int((allv <= tol).sum())
        ax.axvline(tol, color="k", ls="--", lw=1.2, label=f"tol = {tol:g}: {k}/{allv.size} filters ≤ tol")
    if rel is not None:
        for name, v in norms.items():
            thr = rel * float(v.max())
            k = int((v <= thr).sum())
            ax.axvline(max(thr, edges[0]), color=colors[name], ls=":", lw=1.5,
                       label=f"{rel:g}·max ({name}): {k}/{v.size} ≤")
    ax.set_xscale("log")
    ax.set_xlabel(r"filter norm $\|F[o]\|_2$ (log scale)")
    ax.set_ylabel("filters (count)")
    style.integer_ticks(ax, "y")
    ax.margins(y=0.4)                      # head room (the bars stick to 0): the legend fits above them
    style.legend(ax, fontsize=7)
    return fig


def filter_norm_view(model_or_W, layer=None, tol: float = TOL, rel: float | None = None, predicate=None):
    """One layer side by side: :func:`kernel_norm_heatmap` (sorted, log) and :func:`filter_norm_histogram`
    with the tolerance ``tol`` (the figure of :func:`hgsr.widgets.filter_norm_explorer`)."""
    name, W = layer_weight(model_or_W, layer, predicate)
    style.ensure()
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    kernel_norm_heatmap(W, tol=tol, ax=a0, title=f"{name}: kernel norms")
    filter_norm_histogram(W, tol=tol, rel=rel, ax=a1, label=name)
    a1.set_title(f"{name}: filter norms")
    return fig


def _pattern(ax, W, tol: float, label: str, xlabel: bool = True, ylabel: str | None = "filter o"):
    N, fn, cn = _norms(W)
    mask = N > tol
    ax.imshow(mask, cmap="Greys", vmin=0, vmax=1, aspect=style.matrix_aspect(*N.shape), interpolation="nearest")
    ax.grid(False)
    style.integer_ticks(ax)
    ax.tick_params(labelsize=7)
    ax.set_title(f"{label} ({N.shape[0]}×{N.shape[1]})\nfilters {int((fn > tol).sum())}/{len(fn)}, "
                 f"channels {int((cn > tol).sum())}/{len(cn)}\nkernels kept {100 * mask.mean():.0f}%", fontsize=8)
    if xlabel:
        ax.set_xlabel("input channel i", fontsize=8)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=8)


def sparsity_pattern(model, tol: float = TOL, title: str | None = None, predicate=None, ncols: int = 6):
    """Every target layer's kernel mask ``N[o,i] > tol`` side by side (black: kept kernel, white: zero),
    rows = filters o, columns = input channels i, in the model's own order; at most ``ncols`` panels
    per row. Returns the Figure."""
    convs = target_convs(model, predicate)
    short = style.layer_names(model)
    cols = min(ncols, len(convs))
    fig, axes = grid(len(convs), ncols=cols, panel=(2.6, 3.0))
    for k, (ax, (name, conv)) in enumerate(zip(axes, convs)):
        _pattern(ax, conv.weight, tol, short.get(name, name), xlabel=k + cols >= len(convs),
                 ylabel="filter o" if k % cols == 0 else None)
    fig.suptitle(title or f"kernels with norm > tol = {tol:g} (black: kept)")
    return fig


def compare_sparsity_patterns(runs: dict, tol: float = TOL, predicate=None):
    """:func:`sparsity_pattern` of several models, one row per run (``{label: model}``), same ``tol``;
    the first panel of a row names the run above its "filter o" axis label; a run with fewer target
    layers leaves its last panels empty."""
    if not runs:
        raise InvalidArgument(f"runs must hold at least one {{label: model}}, got {runs!r}")
    style.ensure()
    per_run = {lab: target_convs(m, predicate) for lab, m in runs.items()}
    short = {lab: style.layer_names(m) for lab, m in runs.items()}
    ncols = max(len(c) for c in per_run.values())
    width = max(1.3, min(2.6, 26 / ncols))  # many layers (ResNets): narrower panels, one row per run
    fig, axes = plt.subplots(len(runs), ncols, figsize=(width * ncols, 3.0 * len(runs)),
                             layout="constrained", squeeze=False)
    for r, (lab, convs) in enumerate(per_run.items()):
        for c in range(ncols):
            if c < len(convs):
                name = convs[c][0]
                _pattern(axes[r, c], convs[c][1].weight, tol, short[lab].get(name, name),
                         xlabel=r == len(runs) - 1, ylabel=None)
            else:
                axes[r, c].remove()
        axes[r, 0].set_ylabel(f"{lab}\n\nfilter o", fontsize=8)
    fig.suptitle(f"kernels with norm > tol = {tol:g} (black: kept)")
    return fig
