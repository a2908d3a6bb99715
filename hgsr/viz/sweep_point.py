"""One point of a λ sweep on its front: where a family lands at one λ, against every other point."""
from __future__ import annotations

import pandas as pd

from ..errors import InvalidArgument
from ._common import new_axes, series_styles
from .axes import format_axis
from .theme import OTHER
from .tradeoffs import pareto_front, require


def sweep_point(points: pd.DataFrame, label: str, lam_mult: float, x: str = "params", y: str = "test_acc",
                family_col: str = "label", lam_col: str = "lam_mult", ax=None):
    """Every sweep point as a grey dot, the front of all points (:func:`pareto_front`: no other point
    has fewer ``x`` and a higher ``y``) as a black step line, the points of family ``label`` joined in
    λ order, and its point at λ × ``lam_mult`` ringed. ``y`` is higher-is-better (an accuracy); the y axis
    spans the bulk of the points and every point of the family. Returns the Figure."""
    require(points, [x, y, family_col, lam_col], "sweep points table")
    fam = points[points[family_col] == label].sort_values(lam_col)
    if fam.empty:
        raise InvalidArgument(f"label={label!r} is not a family of the sweep; choose one of "
                              f"{', '.join(sorted(points[family_col].unique()))}")
    here = fam[fam[lam_col] == lam_mult]
    if here.empty:
        raise InvalidArgument(f"lam_mult={lam_mult!r} is not swept for {label!r}; swept: "
                              f"{', '.join(f'{m:g}' for m in fam[lam_col])}")
    fig, ax = new_axes(ax, figsize=(7.5, 4.2))
    ax.scatter(points[x], points[y], s=12, color=OTHER, zorder=1, label="every family and λ")
    front = points[pareto_front(points, x, y)].sort_values(x)
    ax.step(front[x], front[y], where="post", color="k", lw=1.0, zorder=2, label="front of all points")
    st = series_styles([label])[label]             # the family's own colour and marker (hgsr.study.palette)
    ax.plot(fam[x], fam[y], "-", marker=st["marker"], color=st["color"], ms=6, zorder=3, label=f"{label}, λ swept")
    ax.scatter(here[x], here[y], s=190, facecolors="none", edgecolors="k", lw=2, zorder=4,
               label=f"λ × {lam_mult:g}")
    format_axis(ax, "x", x, log=True)
    format_axis(ax, "y", y)
    # the y range of the bulk (as in pareto_panels): a collapsed network far below would flatten the rest
    q10, high = float(points[y].quantile(0.1)), float(points[y].max())
    low = min(max(float(points[y].min()), q10 - (high - q10)), float(fam[y].min()))
    pad = 0.05 * (high - low or 1.0)
    ax.set_ylim(low - pad, high + pad)
    ax.legend(loc="lower right")
    return fig
