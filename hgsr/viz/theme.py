"""The suite's one figure theme: a seaborn theme (``paper`` context, white grid) with the colour-blind-safe
palette :data:`PALETTE`, constrained layout and white backgrounds (:func:`apply`; importing :mod:`hgsr.viz`
applies it, ``apply(False)`` restores matplotlib's defaults), and a stable colour *and* marker per series
(:func:`series_styles`, :func:`label_cycle`: 10 colours x 12 markers, so up to 60 series get distinct pairs)."""
from __future__ import annotations

from typing import Hashable, Sequence

import matplotlib as mpl

# seaborn "colorblind" (Okabe-Ito hues plus two), in a fixed order
PALETTE = ("#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc", "#ca9161", "#fbafe4", "#949494",
           "#ece133", "#56b4e9")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", "h", ">", "p", "*")
CMAP = "viridis"           # sequential maps (heatmaps): perceptually uniform and colour-blind safe
LEGEND_INSIDE_MAX = 6      # legends with more entries go outside the axes

RC = {
    "figure.facecolor": "white", "savefig.facecolor": "white", "axes.facecolor": "white",
    "figure.constrained_layout.use": True, "image.cmap": CMAP, "axes.titlesize": 9.6,
    "axes.titleweight": "normal", "axes.edgecolor": ".6", "grid.color": ".9", "grid.linewidth": 0.7,
    "xtick.bottom": True, "ytick.left": True, "xtick.major.size": 3, "ytick.major.size": 3,
    "xtick.minor.size": 2, "ytick.minor.size": 2, "legend.frameon": True, "legend.framealpha": 0.92,
    "legend.edgecolor": ".85", "legend.fontsize": 8, "legend.title_fontsize": 8.5, "legend.borderaxespad": 0.4,
    "lines.markersize": 4.5, "scatter.edgecolors": "face", "figure.titlesize": 11,
}

_applied = False


def apply(on: bool = True) -> None:
    """Set the suite's style (seaborn ``paper`` context, ``whitegrid``, :data:`PALETTE`, :data:`RC`)
    on matplotlib's rcParams; ``apply(False)`` restores matplotlib's defaults."""
    global _applied
    if not on:
        mpl.rcParams.update(mpl.rcParamsDefault)
        _applied = False
        return
    import seaborn as sns

    sns.set_theme(context="paper", style="whitegrid", palette=list(PALETTE), rc=RC)
    _applied = True


def ensure() -> None:
    """:func:`apply` once per process (the viz functions call this before creating a figure)."""
    if not _applied:
        apply()


# ---------------------------------------------------------------- series: colour + marker per label
def series_styles(labels: Sequence[Hashable]) -> dict:
    """``{label: {"color": ..., "marker": ...}}``, stable in the order given: colour ``i mod 10``
    from :data:`PALETTE`, marker ``i mod 12`` from :data:`MARKERS`, so the first 60 labels all get a
    distinct (colour, marker) pair. Duplicated labels keep their first style."""
    out: dict = {}
    for lab in labels:
        if lab in out:
            continue
        i = len(out)
        out[lab] = {"color": PALETTE[i % len(PALETTE)], "marker": MARKERS[i % len(MARKERS)]}
    return out


def label_cycle(labels: Sequence[Hashable]) -> dict:
    """``{label: colour}`` of :func:`series_styles` (use ``series_styles`` to get the markers too:
    beyond 10 labels colours repeat and only the marker tells the series apart)."""
    return {lab: s["color"] for lab, s in series_styles(labels).items()}
