"""The kernel-vs-filter tolerance trap (notebook 03, beside the heatmap of the reference mix).

A filter ``F_o`` of a conv layer is its ``I`` kernels ``w_{o,1} … w_{o,I}``, so

    ||F_o||_2 = sqrt( sum_i ||w_{o,i}||_2^2 )  <=  sqrt(I) · max_i ||w_{o,i}||_2.

Every kernel at most ``tol`` therefore allows a filter norm up to ``sqrt(I)·tol``: a penalty that makes every
kernel tiny without making any exactly zero can leave all of a layer's filters above the *filter* tolerance
(``||F|| <= tol``), and the absolute rule removes nothing. :func:`table` counts this per layer;
:func:`verdict` says it in words.
"""
from __future__ import annotations

import math

import pandas as pd
from torch import nn

from .. import groups
from ..errors import check_positive
from ..viz import style


def table(model: nn.Module, tol: float) -> pd.DataFrame:
    """Per target conv layer (named as the text names them, ``conv1``…): kernels and filters, kernels with
    ``||w_{o,i}|| <= tol``, filters whose every kernel is ``<= tol``, filters with ``||F_o|| <= tol`` (the ones
    the absolute rule removes), the bound ``sqrt(I)·tol`` and the largest norm of a filter whose kernels are
    all ``<= tol`` (NaN when there is none)."""
    check_positive("tol", tol)
    names = style.layer_names(model)
    rows = []
    for name, conv in groups.target_convs(model):
        W = conv.weight.detach()
        kn = groups.kernel_l2(W)                      # O x I kernel norms
        fn = groups.filter_l2(W)                      # O filter norms
        all_small = (kn <= tol).all(dim=1)
        rows.append({"layer": names.get(name, name), "kernels": kn.numel(), "kernels_small": int((kn <= tol).sum()),
                     "filters": int(W.shape[0]), "filters_all_kernels_small": int(all_small.sum()),
                     "filters_small": int((fn <= tol).sum()), "bound": math.sqrt(W.shape[1]) * tol,
                     "max_norm_all_kernels_small": float(fn[all_small].max()) if bool(all_small.any())
                     else math.nan})
    return pd.DataFrame(rows)


def verdict(trap: pd.DataFrame, tol: float, run_label: str) -> str:
    """Markdown: for each layer where filters with every kernel ``<= tol`` stay above the filter tolerance, how
    many and why (the ``sqrt(I)·tol`` bound); or that the trap does not occur in ``run_label``."""
    hit = trap[trap["filters_all_kernels_small"] > trap["filters_small"]]
    if hit.empty:
        return (f"In {run_label} every filter whose kernels are all ≤ {tol:g} also has norm ≤ {tol:g}: the filter "
                f"tolerance removes what the heatmap shows as dead.")
    parts = [f"{r.layer}: {r.kernels_small} of {r.kernels} kernels are ≤ {tol:g} and {r.filters_all_kernels_small} of "
             f"{r.filters} filters have every kernel ≤ {tol:g}, yet only {r.filters_small} filter(s) have norm ≤ {tol:g} "
             f"(the largest of those filters: {r.max_norm_all_kernels_small:.2g}; bound √{round((r.bound / tol) ** 2)}·tol = "
             f"{r.bound:.2g})" for r in hit.itertuples()]
    return (f"**The tolerance trap in {run_label}.** " + "; ".join(parts) + ". A filter is the stack of its kernels, "
            f"so its norm can reach √I times the largest kernel norm: a penalty that makes every kernel small "
            f"without exact zeros leaves whole filters above an absolute filter tolerance. The white cells of the "
            f"heatmap are kernels, not filters; a scale-free rule (relative to the layer, or by the loss) is "
            f"needed to judge such a network.")

