"""Shared helpers of the plotting modules: figure/axes creation and picking a conv weight by layer."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from .. import groups


def new_axes(ax=None, figsize=(5, 3.5)):
    """``(fig, ax)``: the given ``ax`` and its figure, or a new single-axes figure."""
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


def grid(n: int, ncols: int | None = None, panel=(3.2, 3.0), **kw):
    """A figure with ``n`` panels in a grid (``ncols`` default ``min(n, 4)``); unused axes removed.

    Returns ``(fig, axes)`` with ``axes`` a flat list of the ``n`` used axes.
    """
    if n < 1:
        raise ValueError("nothing to plot: zero panels requested")
    ncols = ncols or min(n, 4)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel[0] * ncols, panel[1] * nrows),
                             layout="constrained", squeeze=False, **kw)
    flat = list(axes.flat)
    for extra in flat[n:]:
        extra.remove()
    return fig, flat[:n]


def layer_weight(model_or_W, layer=None, predicate=None) -> tuple[str, torch.Tensor]:
    """``(name, W)`` of one target conv: ``layer`` is a module name or an index into
    :func:`hgsr.groups.target_convs`; a 4-D tensor passes through as ``("W", W)``."""
    if isinstance(model_or_W, torch.Tensor):
        if model_or_W.dim() != 4:
            raise ValueError(f"expected a conv weight (O, I, kh, kw), got shape {tuple(model_or_W.shape)}")
        return "W", model_or_W.detach()
    convs = target_convs(model_or_W, predicate)
    names = [n for n, _ in convs]
    if layer is None:
        layer = 0
    if isinstance(layer, (int, np.integer)):
        if not -len(convs) <= layer < len(convs):
            raise ValueError(f"layer index {layer} out of range: {len(convs)} target convs {names}")
        name, conv = convs[layer]
        return name, conv.weight.detach()
    if layer not in names:
        raise ValueError(f"unknown layer {layer!r}; target convs: {', '.join(names)}")
    return layer, dict(convs)[layer].weight.detach()


def target_convs(model: nn.Module, predicate=None):
    """:func:`hgsr.groups.target_convs` (re-exported for the plotting modules)."""
    return groups.target_convs(model, predicate)


def label_cycle(labels: Sequence[str]):
    """A stable colour per label: the default property cycle, or ``tab20`` when there are more labels
    than the cycle has colours (so no two of up to 20 labels share one)."""
    colors = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    if len(labels) > len(colors):
        colors = [plt.get_cmap("tab20")(i) for i in range(20)]
    return {lab: colors[i % len(colors)] for i, lab in enumerate(labels)}


def fmt_count(n: float) -> str:
    """``1234567 -> '1.23M'``, ``45200 -> '45.2k'``, small numbers as they are."""
    n = float(n)
    for div, suf in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.3g}{suf}"
    return f"{n:.3g}"
