"""Shared helpers of the plotting modules: figure/axes creation (in the suite's theme,
:mod:`hgsr.viz.theme`) and picking a conv weight by layer."""
from __future__ import annotations


import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from .. import groups
from ..errors import InvalidArgument
from .theme import ensure, label_cycle, series_styles  # noqa: F401  (re-exported for the plotting modules)
from .vocabulary import fmt_count, layer_names  # noqa: F401  (re-exported for the plotting modules)


def new_axes(ax=None, figsize=(5, 3.5)):
    """``(fig, ax)``: the given ``ax`` and its figure, or a new single-axes figure."""
    if ax is not None:
        return ax.figure, ax
    ensure()
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


def grid(n: int, ncols: int | None = None, panel=(3.2, 3.0), **kw):
    """A figure with ``n`` panels in a grid (``ncols`` default ``min(n, 4)``); unused axes removed.

    Returns ``(fig, axes)`` with ``axes`` a flat list of the ``n`` used axes.
    """
    if n < 1:
        raise InvalidArgument(f"nothing to plot: n must be a positive number of panels, got {n!r}")
    ensure()
    ncols = ncols or min(n, 4)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel[0] * ncols, panel[1] * nrows),
                             layout="constrained", squeeze=False, **kw)
    flat = list(axes.flat)
    for extra in flat[n:]:
        extra.remove()
    return fig, flat[:n]


def layer_weight(model_or_W, layer=None, predicate=None) -> tuple[str, torch.Tensor]:
    """``(name, W)`` of one target conv: ``layer`` is a module name, a short name (``"conv2"``,
    :func:`hgsr.viz.style.layer_names`) or an index into :func:`hgsr.groups.target_convs`; the name
    returned is the short one. A 4-D tensor passes through as ``("W", W)``."""
    if isinstance(model_or_W, torch.Tensor):
        if model_or_W.dim() != 4:
            raise InvalidArgument(f"model_or_W must be a model or a conv weight (O, I, kh, kw), got a tensor of "
                                  f"shape {tuple(model_or_W.shape)}")
        return "W", model_or_W.detach()
    convs = target_convs(model_or_W, predicate)
    names = [n for n, _ in convs]
    short = layer_names(model_or_W)
    if layer is None:
        layer = 0
    if isinstance(layer, (int, np.integer)):
        if not -len(convs) <= layer < len(convs):
            raise InvalidArgument(f"layer index {layer} out of range: valid -{len(convs)} to {len(convs) - 1} "
                                  f"({len(convs)} target convs {names})")
        name, conv = convs[layer]
        return short.get(name, name), conv.weight.detach()
    by_short = {short.get(n, n): n for n in names}
    if layer not in names and layer not in by_short:
        raise InvalidArgument(f"unknown layer {layer!r}; target convs: {', '.join(names)} "
                              f"({', '.join(by_short)})")
    module = layer if layer in names else by_short[layer]
    return short.get(module, module), dict(convs)[module].weight.detach()


def target_convs(model: nn.Module, predicate=None):
    """:func:`hgsr.groups.target_convs` (re-exported for the plotting modules)."""
    return groups.target_convs(model, predicate)
