"""The suite's one figure theme, sized for slides: fonts of at least :data:`FONT_MIN` pt (11 pt: readable on a
16:9 projector when a figure of at most :data:`SLIDE` inches is shown at 100 %), a colour-blind-safe palette of
strong colours :data:`PALETTE` (no yellow, no pastels: every colour reads on white and on a projector), constrained
layout and white backgrounds (:func:`apply`; importing :mod:`hgsr.viz` applies it, ``apply(False)`` restores
matplotlib's defaults).

Colours mean one thing: a series (a regularizer family, a pruning protocol, a penalty) gets a colour *and* a
marker (:func:`series_styles`), and a series registered with :func:`register_styles` keeps its style in every
figure of the suite (the study registers its families and protocols, :mod:`hgsr.study.palette`). Greys and
black are kept for references (identity, chance, the dense network, "every other point") and never name a series.
"""
from __future__ import annotations

import math
from typing import Hashable, Mapping, Sequence

import matplotlib as mpl

# Okabe-Ito's strong hues (less yellow), then three more dark ones: distinct for colour-blind readers and on a
# projector; ordered so that the first colours differ most.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#6a3d9a", "#8c510a", "#999933")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", "h", ">", "p", "*")
# the penalties of notebook 01 and the element penalty R of the nonconvex SGL (notebook 04), one colour each
# wherever they appear (R = L1 of the nonconvex SGL has L1's colour)
PENALTY_COLORS = {"l1": PALETTE[1], "l0": PALETTE[3], "tl1": PALETTE[4], "l1_l2": PALETTE[6], "group": PALETTE[2],
                  "l2": PALETTE[0], "l2_squared": PALETTE[5], "l1_over_l2": PALETTE[7], "hsq_gl12": PALETTE[8]}
REFERENCE = "0.35"         # reference lines (identity, chance, a dense network): a dark grey, never a series colour
OTHER = "0.82"             # background points ("every other point")
CMAP = "viridis"           # sequential maps (heatmaps): perceptually uniform and colour-blind safe
LEGEND_INSIDE_MAX = 6      # legends with more entries go outside the axes

FONT_MIN = 11.0            # no text of a figure is smaller (pt)
SLIDE = (13.33, 7.5)       # a 16:9 slide in inches: a figure no larger reads at 100 % with FONT_MIN fonts
FONTS = {"font.size": 12.0, "axes.labelsize": 12.0, "axes.titlesize": 12.5, "xtick.labelsize": 11.0,
         "ytick.labelsize": 11.0, "legend.fontsize": 11.0, "legend.title_fontsize": 11.5, "figure.titlesize": 13.5,
         "figure.labelsize": 12.0}

RC = {
    **FONTS,
    "figure.facecolor": "white", "savefig.facecolor": "white", "axes.facecolor": "white",
    "figure.constrained_layout.use": True, "image.cmap": CMAP,
    "axes.titleweight": "normal", "axes.edgecolor": ".6", "grid.color": ".9", "grid.linewidth": 0.7,
    "xtick.bottom": True, "ytick.left": True, "xtick.major.size": 3.5, "ytick.major.size": 3.5,
    "xtick.minor.size": 2, "ytick.minor.size": 2, "legend.frameon": True, "legend.framealpha": 0.92,
    "legend.edgecolor": ".85", "legend.borderaxespad": 0.4, "lines.linewidth": 1.8,
    "lines.markersize": 6.0, "scatter.edgecolors": "face",
}

_applied = False


def apply(on: bool = True) -> None:
    """Set the suite's style (seaborn ``whitegrid``, :data:`PALETTE`, :data:`RC`: fonts of at least
    :data:`FONT_MIN` pt) on matplotlib's rcParams; ``apply(False)`` restores matplotlib's defaults."""
    global _applied
    if not on:
        mpl.rcParams.update(mpl.rcParamsDefault)
        _applied = False
        return
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette=list(PALETTE), rc=RC)
    _applied = True


def ensure() -> None:
    """:func:`apply` once per process (the viz functions call this before creating a figure)."""
    if not _applied:
        apply()


def slide_size(width: float, height: float) -> tuple[float, float]:
    """``(width, height)`` in inches scaled down, aspect kept, to fit :data:`SLIDE` (unchanged when it fits)."""
    k = min(1.0, SLIDE[0] / width, SLIDE[1] / height)
    return (width * k, height * k)


# ---------------------------------------------------------------- series: colour + marker per label
_REGISTERED: dict = {}


def register_styles(styles: Mapping[Hashable, Mapping]) -> None:
    """Fix the style of series by label, for every later figure: ``{label: {"color": c, "marker": m}}``
    (``color`` a colour of :data:`PALETTE` or its index). Registering a label again replaces its style."""
    for label, st in styles.items():
        color = st["color"]
        color = PALETTE[color] if isinstance(color, int) else color
        _REGISTERED[label] = {"color": color, "marker": st.get("marker", MARKERS[0])}


def registered_style(label: Hashable) -> dict | None:
    """The style :func:`register_styles` fixed for ``label``, or None."""
    st = _REGISTERED.get(label)
    return dict(st) if st is not None else None


def series_styles(labels: Sequence[Hashable], distinct: bool = False) -> dict:
    """``{label: {"color": ..., "marker": ...}}``, stable in the order given: a registered label
    (:func:`register_styles`) keeps its style; the others take, in order, the first (colour, marker) pairs of
    colour ``i mod 9`` from :data:`PALETTE` and marker ``i mod 12`` from :data:`MARKERS` whose colour no
    registered label of this figure holds (while such colours remain), so the first 108 labels all get
    distinct pairs. Duplicated labels keep their first style. With ``distinct``, a registered colour already held
    by an earlier label of the figure gives way to the first colour no label holds (series from several notebooks,
    each styled for its own, can meet in one figure)."""
    labels = list(dict.fromkeys(labels))
    out: dict = {lab: registered_style(lab) for lab in labels if lab in _REGISTERED}
    if distinct:
        registered, held = {st["color"] for st in out.values()}, []
        for st in out.values():
            if st["color"] in held:
                st["color"] = next((c for c in PALETTE if c not in held and c not in registered), st["color"])
            held.append(st["color"])
    taken = {st["color"] for st in out.values()}
    pairs = {(st["color"], st["marker"]) for st in out.values()}
    free = [c for c in PALETTE if c not in taken] or list(PALETTE)
    cycle = len(free) * len(MARKERS) // math.gcd(len(free), len(MARKERS))
    k = 0
    for lab in labels:
        if lab in out:
            continue
        while True:      # colour k mod n, marker k mod 12, shifted by one marker after each full cycle
            pair = (free[k % len(free)], MARKERS[(k + k // cycle) % len(MARKERS)])
            k += 1
            if pair not in pairs or k > len(free) * len(MARKERS) * 2:
                break
        out[lab] = {"color": pair[0], "marker": pair[1]}
        pairs.add(pair)
    return {lab: out[lab] for lab in labels}


def label_cycle(labels: Sequence[Hashable]) -> dict:
    """``{label: colour}`` of :func:`series_styles` (use ``series_styles`` to get the markers too:
    beyond 9 labels colours repeat and only the marker tells the series apart)."""
    return {lab: s["color"] for lab, s in series_styles(labels).items()}
