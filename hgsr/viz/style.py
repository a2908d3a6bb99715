"""The suite's one figure style, and the words and units of its quantities.

Everything a figure of the suite shares lives here, so that no notebook has to set it:

- :func:`apply`: a seaborn theme (``paper`` context, white grid) with the colour-blind-safe palette
  :data:`PALETTE`, constrained layout and white backgrounds. Importing :mod:`hgsr.viz` applies it
  (it is the package's one global effect; :func:`hgsr.suite.report.save_figure` applies it too);
  ``apply(False)`` restores matplotlib's defaults.
- :func:`series_styles` / :func:`label_cycle`: a stable colour *and* marker per series: the palette
  has 10 colours, the markers :data:`MARKERS` 12, so up to 60 series get distinct pairs (16 families
  stay readable in black and white too).
- :data:`QUANTITIES` (+ :data:`QUANTITY_PATTERNS`): one mapping machine name -> label and unit
  (``error_finetuned`` -> "error after fine-tuning (%)"), used for axis labels here and for table
  headers by :func:`hgsr.suite.report.save_table` (core code cannot import the suite, so the one
  mapping lives in core). Fractions in [0, 1] are stored as fractions and *shown* in %
  (:func:`percent_formatter` on axes, ``scale = 100`` in tables).
- :func:`layer_names`: module names of a model -> ``conv1, conv2, ..., fc1, fc2`` in order.
- :func:`format_axis`, :func:`legend`, :func:`annotate_points`, :func:`tidy`: units on the axes,
  legends in free corners or outside, labels that do not overlap (``tidy`` is run by ``save_figure``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Hashable, Iterable, Sequence

import matplotlib as mpl
import numpy as np
from matplotlib import ticker
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

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


# ---------------------------------------------------------------- quantities: words and units
@dataclass(frozen=True)
class Quantity:
    """How one column is shown: ``label`` (words), ``unit`` (``"%"``, ``"ms"``, ``"×"``, ``"points"``
    or ``""``), ``scale`` (stored value × scale = shown value: 100 for fractions shown in %) and
    ``decimals`` (digits after the point in tables; None: 4 significant digits)."""
    label: str
    unit: str = ""
    scale: float = 1.0
    decimals: int | None = None

    @property
    def header(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label

    @property
    def fraction(self) -> bool:
        """Stored as a fraction in [0, 1], shown in %."""
        return self.unit == "%" and self.scale == 100


def pct(label: str, decimals: int = 1) -> Quantity:
    """A fraction in [0, 1] shown in % with ``decimals`` digits."""
    return Quantity(label, "%", 100.0, decimals)


def _acc(label: str) -> Quantity:      # accuracies and errors: two decimals of a percent (0.92%)
    return pct(label, 2)


def _count(label: str) -> Quantity:
    return Quantity(label, "", 1.0, 0)


# One mapping machine name -> words and unit for every figure axis and table header of the suite.
# Extend it here (or in QUANTITY_PATTERNS for families of names such as latency_b64_ms).
QUANTITIES: dict[str, Quantity] = {
    # accuracy and error (fractions)
    "test_acc": _acc("test accuracy"), "acc": _acc("accuracy"), "train_acc": _acc("train accuracy"),
    "acc_dense": _acc("accuracy, dense"), "acc_pruned": _acc("accuracy after pruning"),
    "acc_finetuned": _acc("accuracy after fine-tuning"), "masked_acc": _acc("accuracy of W·[V≠0]"),
    "test_error": _acc("test error"), "error": _acc("error"), "error_dense": _acc("error, dense"),
    "error_pruned": _acc("error after pruning"), "error_finetuned": _acc("error after fine-tuning"),
    "acc_drop": _acc("accuracy lost"),
    "acc_change_points": Quantity("accuracy change", "points", 1.0, 2),
    "val_acc": _acc("validation accuracy"), "acc_std": _acc("accuracy std over seeds"),
    "acc_dense_std": _acc("dense accuracy std over seeds"),
    "binomial_se_points": Quantity("binomial standard error", "points", 1.0, 2),
    "acc_change_se_points": Quantity("standard error of the change", "points", 1.0, 2),
    "test_images": _count("test images"), "seeds": Quantity("seeds"),
    "val_error": _acc("validation error"), "diverged_seeds": Quantity("seeds that diverged"), "val_error_dense": _acc("validation error, dense"),
    "error_finetuned_std": _acc("test error std over seeds"), "val_images": _count("validation images"),
    # size and cost
    "params": _count("parameters"), "macs": _count("MACs"), "MACs": _count("MACs"),
    "params_dense": _count("parameters, dense"), "macs_dense": _count("MACs, dense"),
    "widths": Quantity("filters per layer"), "widths_dense": Quantity("filters per layer, dense"),
    "nonzero_params": _count("nonzero parameters"), "weights": _count("weights"),
    "params_removed": pct("parameters removed"), "macs_removed": pct("MACs removed"),
    "params_left": pct("parameters left"), "macs_left": pct("MACs left"),
    "conv share of params": pct("conv share of parameters"), "conv share of MACs": pct("conv share of MACs"),
    "fraction": pct("channels removed (target)", 0),
    # structure
    "filters": _count("filters"), "filters_left": _count("filters left"), "zero_filters": _count("zero filters"),
    "filters_left_mean": Quantity("filters left, mean over seeds", "", 1.0, 1),
    "filters_left_std": Quantity("filters left, std over seeds", "", 1.0, 1),
    "linear_units": Quantity("fc units"), "fc1_units": _count("fc1 units"),
    "fc_regularized": Quantity("fc layers regularized"), "rule": Quantity("removal rule"),
    "lam_mult": Quantity("λ / registered λ", "", 1.0, 3), "reaches_on_val": Quantity("≤ target on validation"),
    "meets_test": Quantity("≤ target on test"),
    "channels": _count("channels"), "channels_left": _count("channels left"),
    "channels_removed": _count("channels removed"), "dead_inputs": _count("dead input channels"),
    "v_zero_filters": _count("zero filters of V"), "exact_zero_filters": _count("filters exactly 0"),
    "w_active": _count("active filters of W"), "v_filters": _count("nonzero filters of V"),
    "masked_filters": _count("filters of W·[V≠0]"),
    "zero_kernels": pct("zero kernels", 0), "kernels_sparsity": pct("zero kernels"),
    "filters_sparsity": pct("zero filters"), "channels_sparsity": pct("zero channels"),
    "weights_sparsity": pct("zero weights"), "weight_sparsity": pct("zero weights"),
    "w_sparsity": pct("zero weights of W (|w| < 1e-5)"), "v_sparsity": pct("exact zeros of V"),
    "w_zero": pct("zero weights of W (|w| < 1e-5)"), "v_zero": pct("exact zeros of V"),
    "v_zeros": pct("exact zeros of V"), "w_small": pct("weights of W with |w| < 1e-5", 2),
    "filter_activity": pct("active filters of W"), "exact": pct("weights exactly 0"),
    # speed
    "latency_s": Quantity("latency", "s", 1.0, 4), "speedup": Quantity("speed-up", "×", 1.0, 2),
    "mac_ratio": Quantity("MAC ratio, dense / compact", "×", 1.0, 2),
    # optimisation and thresholds
    "epoch": Quantity("epoch"), "step": Quantity("step"), "beta": Quantity("β"), "lam": Quantity("λ"),
    "t": Quantity("threshold t = λ/β"), "gap": Quantity("‖W − V‖₂"), "rho": Quantity("relative threshold ρ"),
    "tol": Quantity("tolerance"), "spearman": Quantity("Spearman rank correlation", "", 1.0, 3),
    "score": Quantity("score"),
    # the other words of the suite's tables
    "finetune_epochs": Quantity("fine-tuning epochs"), "most_reduced": Quantity("most reduced network"),
    "reduced": Quantity("networks with > 5% fewer MACs"), "criterion_a": Quantity("criterion A"),
    "criterion_b": Quantity("criterion B"), "train": _count("train images"), "test": _count("test images"),
    "R_term": Quantity("λ·R(V)"), "group_term": Quantity("group term"), "coupling": Quantity("(β/2)‖W − V‖²"),
    "cos": Quantity("cos(∇R, W)"), "degree": Quantity("homogeneity degree"),
    "relative": Quantity("penalty / penalty at scale 1"), "grad_dot_w": Quantity("⟨∇R, W⟩"),
    "objective_gap": Quantity("objective gap"), "grid_argmin": Quantity("grid argmin"),
    "grid_step": Quantity("grid step"),
}

# Families of names: (regex, match -> Quantity); the first match wins.
QUANTITY_PATTERNS: list[tuple[re.Pattern, Callable[[re.Match], Quantity]]] = [
    (re.compile(r"latency_b(\d+)_ms"), lambda m: Quantity(f"latency, batch {m[1]}", "ms", 1.0, 3)),
    (re.compile(r"speedup_b(\d+)"), lambda m: Quantity(f"speed-up, batch {m[1]}", "×", 1.0, 2)),
    (re.compile(r"efficiency_b(\d+)"), lambda m: Quantity(f"efficiency (speed-up / MAC ratio), batch {m[1]}",
                                                          "", 1.0, 2)),
    (re.compile(r"median_efficiency_b(\d+)"), lambda m: Quantity(f"median efficiency, batch {m[1]}", "", 1.0, 2)),
    (re.compile(r"\|w\|<=(.+)"), lambda m: pct(f"weights with |w| ≤ {m[1]}")),
    (re.compile(r"filters_le_(.+)"), lambda m: _count(f"filters with norm ≤ {m[1]}")),
    (re.compile(r"left_(.+)"), lambda m: _count(f"filters left, {m[1]}")),
    (re.compile(r"overlap_lowest_(\d+)%"), lambda m: pct(f"overlap of the lowest {m[1]}%", 0)),
]


def quantity(name: str) -> Quantity | None:
    """The :class:`Quantity` of a column name (:data:`QUANTITIES`, then :data:`QUANTITY_PATTERNS`),
    or None for a name the suite has no words for."""
    q = QUANTITIES.get(name)
    if q is not None:
        return q
    for pat, make in QUANTITY_PATTERNS:
        m = pat.fullmatch(name)
        if m:
            return make(m)
    return None


def axis_label(name: str) -> str:
    """Axis label with unit of a column (``"test_acc"`` -> ``"test accuracy (%)"``); unknown names
    are shown with spaces for underscores."""
    q = quantity(name)
    return q.header if q else str(name).replace("_", " ")


class _Percent(ticker.PercentFormatter):
    """PercentFormatter whose automatic digits are the fewest that write every tick exactly (10%
    steps: "90", 2.5% steps: "82.5", 0.5% steps: "98.5"), not a function of the axis range."""

    def __call__(self, x, pos=None):
        if self.decimals is not None or self.axis is None:
            return self.fix_minus(self.format_pct(x, 0.0 if self.decimals is not None else 1.0))
        locs = np.asarray(self.axis.get_majorticklocs(), dtype=float) * 100 / self.xmax
        digits = next((d for d in range(5) if np.allclose(np.round(locs, d), locs, rtol=0, atol=1e-6)), 4)
        return self.fix_minus(f"{x * 100 / self.xmax:.{digits}f}{self.symbol}")


def percent_formatter(decimals: int | None = None) -> ticker.Formatter:
    """The suite's tick formatter for fractions shown in %: ``0.25 -> "25"`` (the unit "%" is in the
    axis label); ``decimals=None`` picks as many digits as the axis range needs."""
    return _Percent(xmax=1.0, decimals=decimals, symbol="")


def percent(value: float, decimals: int = 1) -> str:
    """A fraction as text in %: ``percent(0.0092, 2) == "0.92%"``; NaN -> ``"—"``."""
    if value is None or not np.isfinite(value):
        return "—"
    return f"{100 * value:.{decimals}f}%"


def count_formatter() -> ticker.Formatter:
    """Ticks of counts as ``45.2k``, ``1.2M``."""
    from ._common import fmt_count

    return ticker.FuncFormatter(lambda v, _: fmt_count(v) if v else "0")


def format_axis(ax, axis: str, name: str, log: bool | str = False, values=None) -> None:
    """Label ``ax``'s ``axis`` ("x" or "y") with the words and unit of column ``name``; fractions
    get :func:`percent_formatter`, counts a ``k``/``M`` formatter; ``log=True`` a log scale, ``log="auto"``
    a log scale when the positive ``values`` span a factor :data:`LOG_SPAN` or more (never for
    fractions, which are shown in % on a linear axis)."""
    q = quantity(name)
    getattr(ax, f"set_{axis}label")(axis_label(name))
    if log == "auto":
        log = spans_decades(values) and not (q is not None and q.fraction)
    if log:
        getattr(ax, f"set_{axis}scale")("log")
    target = ax.xaxis if axis == "x" else ax.yaxis
    if q is not None and q.fraction and not log:
        target.set_major_locator(ticker.MaxNLocator(nbins="auto", steps=[1, 2, 5, 10]))   # 5%, not 2.5%, steps
        target.set_major_formatter(percent_formatter())
    elif q is not None and q.unit == "" and q.decimals == 0 and name in ("params", "macs", "MACs",
                                                                       "nonzero_params", "weights"):
        target.set_major_formatter(count_formatter())
        if log:
            target.set_minor_formatter(ticker.NullFormatter())
            target.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))


LOG_SPAN = 10.0


def spans_decades(values, span: float = LOG_SPAN) -> bool:
    """True when ``values`` are all positive and span at least a factor ``span`` (a decade): then a
    log axis reads better than a linear one that crushes the small values into a corner."""
    if values is None:
        return False
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return bool(v.size) and bool((v > 0).all()) and v.max() / v.min() >= span


def integer_ticks(ax, axis: str = "both") -> None:
    """Integer tick positions only (counts, matrix indices): no 2.5 filters, no -0.4 channel."""
    for a in ("x", "y") if axis == "both" else (axis,):
        (ax.xaxis if a == "x" else ax.yaxis).set_major_locator(
            ticker.MaxNLocator(nbins=6, integer=True, steps=[1, 2, 5, 10], min_n_ticks=1))


def log_ticks(ax, axis: str = "x") -> None:
    """Readable ticks on a log axis: within three decades, ticks at 1, 2, 5 × 10^k written plainly
    (0.05, 0.1, 0.2); over more, matplotlib's powers of ten. Call after the data are drawn."""
    lo, hi = sorted(ax.get_xlim() if axis == "x" else ax.get_ylim())
    target = ax.xaxis if axis == "x" else ax.yaxis
    if lo > 0 and hi / lo < 1e3:
        target.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        target.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        target.set_minor_formatter(ticker.NullFormatter())


def matrix_aspect(rows: int, cols: int, max_ratio: float = 4.0):
    """``imshow`` aspect for a ``rows × cols`` matrix: ``"auto"`` (fill the panel) unless the matrix is
    more than ``max_ratio`` times taller than wide or wider than tall; then the image keeps that bound
    (a 20×1 matrix is drawn as a narrow column, not stretched into a square)."""
    ratio = cols / rows                      # width / height with square cells
    if 1 / max_ratio <= ratio <= max_ratio:
        return "auto"
    return ratio / float(np.clip(ratio, 1 / max_ratio, max_ratio))


# ---------------------------------------------------------------- layer names
def _is_shortcut(name: str) -> bool:
    return any(k in name for k in ("shortcut", "downsample"))


def ordinal_layer_names(names: Sequence[str], kinds: Sequence[str] | None = None) -> dict[str, str]:
    """``{module name: conv1 | conv2 | ... | fc1 | ... | shortcut1 ...}`` in the given order. ``kinds``
    (``"Conv2d"``/``"Linear"``, e.g. the ``type`` column of :func:`hgsr.measure.macs_by_layer`) tells
    convs from fully connected layers; without it every name is a conv. Projection shortcuts (names
    with ``shortcut`` or ``downsample``) are numbered apart, so ``conv1..conv19`` of ResNet-20 are its
    19 main convolutions."""
    kinds = list(kinds) if kinds is not None else ["Conv2d"] * len(names)
    count = {"conv": 0, "fc": 0, "shortcut": 0}
    out = {}
    for n, k in zip(names, kinds):
        kind = "fc" if "linear" in str(k).lower() else ("shortcut" if _is_shortcut(n) else "conv")
        count[kind] += 1
        out[n] = f"{kind}{count[kind]}"
    return out


def layer_names(model) -> dict[str, str]:
    """``{module name: short name}`` of every Conv2d and Linear of ``model`` in model order:
    ``conv1, conv2, ...`` for convolutions, ``fc1, fc2, ...`` for linear layers, ``shortcut1, ...``
    for projection shortcuts (LeNet-5: features.0 -> conv1, features.2 (or .3 with BN) -> conv2,
    classifier.1 -> fc1, classifier.3 -> fc2)."""
    from torch import nn

    mods = [(n, type(m).__name__) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    return ordinal_layer_names([n for n, _ in mods], [k for _, k in mods])


def short_name(model, name: str) -> str:
    """:func:`layer_names` of one module name (unknown names pass through)."""
    return layer_names(model).get(name, name)


# ---------------------------------------------------------------- legends and labels without overlap
def legend(ax, outside: bool | None = None, **kw):
    """A legend of ``ax``'s labelled artists in the place that covers no data: inside (``loc="best"``)
    for at most :data:`LEGEND_INSIDE_MAX` entries, else outside to the right (``outside`` forces
    either). Returns the Legend, or None when nothing is labelled."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    if outside is None:
        outside = len(handles) > LEGEND_INSIDE_MAX
    if outside:
        kw.setdefault("loc", "upper left")
        kw.setdefault("bbox_to_anchor", (1.02, 1.0))
        kw.setdefault("borderaxespad", 0.0)
        kw.setdefault("ncol", 1 if len(handles) <= 22 else 2)
    else:
        kw.setdefault("loc", "best")
    return ax.legend(handles, labels, **kw)


def _renderer(fig):
    fig.canvas.draw_without_rendering() if hasattr(fig.canvas, "draw_without_rendering") else fig.canvas.draw()
    return fig.canvas.get_renderer()


def _data_hits(ax, box, renderer, skip=(), ref_weight: float = 0.1) -> float:
    """How many data artists of ``ax`` and of its twins (lines, scatter points, bars, texts) the
    display box touches; reference lines (``axhline``/``axvline``: not in data coordinates) count
    ``ref_weight`` each."""
    twins = [a for a in ax.figure.axes if a is not ax and a.bbox.bounds == ax.bbox.bounds]
    return sum(_hits_one(a, box, renderer, skip, ref_weight) for a in [ax] + twins)


def _hits_one(ax, box, renderer, skip, ref_weight) -> float:
    hits = 0.0
    for line in ax.get_lines():
        if not line.get_visible() or line in skip or len(line.get_xydata()) == 0:
            continue
        weight = 1.0 if line.get_transform() == ax.transData else ref_weight
        path = line.get_transform().transform_path(line.get_path())
        if path.intersects_bbox(box, filled=False):
            hits += weight
        elif line.get_marker() not in (None, "None", "", " "):
            hits += weight * int(box.count_contains(line.get_transform().transform(line.get_xydata())))
    for coll in ax.collections:
        if not coll.get_visible() or coll in skip:
            continue
        offs = coll.get_offsets()
        if len(offs) and not isinstance(coll, (mpl.collections.QuadMesh,)):
            try:
                pts = coll.get_offset_transform().transform(offs)
            except Exception:  # pragma: no cover - exotic transforms
                continue
            sizes = coll.get_sizes() if hasattr(coll, "get_sizes") else []
            r = renderer.points_to_pixels(float(np.sqrt(np.max(sizes))) / 2) if len(sizes) else 0.0
            hits += int(box.padded(r).count_contains(pts))      # a marker touches: its centre within r
    for patch in ax.patches:
        if not patch.get_visible() or patch in skip:
            continue
        path = patch.get_transform().transform_path(patch.get_path())
        if path.intersects_bbox(box, filled=False):          # bars; spans (axvspan) are references
            hits += 1.0 if patch.get_transform().contains_branch(ax.transData) else ref_weight
    for t in ax.texts:
        if t.get_visible() and t not in skip and t.get_text().strip():
            if box.overlaps(t.get_window_extent(renderer)):
                hits += 1
    return hits


def _move_legend_out(ax, leg) -> None:
    fig = ax.figure
    handles = leg.legend_handles if hasattr(leg, "legend_handles") else leg.legendHandles
    labels = [t.get_text() for t in leg.get_texts()]
    title = leg.get_title().get_text() or None
    size = leg.get_texts()[0].get_fontsize() if labels else None
    ncol = 1 if len(labels) <= 22 else 2
    leg.remove()
    spec = ax.get_subplotspec()
    rightmost = spec is None or spec.colspan.stop == spec.get_gridspec().ncols
    alone = not any(a.get_legend() for a in fig.axes if a is not ax) and not fig.legends
    if (rightmost or not alone or len(labels) <= LEGEND_INSIDE_MAX) or fig.get_layout_engine() is None:
        ax.legend(handles, labels, title=title, fontsize=size, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                  borderaxespad=0.0, ncol=ncol)
    else:  # the one long (series) legend of a multi-panel figure: right of every panel
        fig.legend(handles, labels, title=title, fontsize=size, loc="outside right upper", ncol=ncol)


# named legend places, in the order they are tried: (name, x fraction, y fraction)
_PLACES = (("upper right", 1, 1), ("upper left", 0, 1), ("lower right", 1, 0), ("lower left", 0, 0),
           ("upper center", 0.5, 1), ("lower center", 0.5, 0), ("center right", 1, 0.5),
           ("center left", 0, 0.5))
_CODES = {"best": 0, "upper right": 1, "upper left": 2, "lower left": 3, "lower right": 4, "right": 5,
          "center left": 6, "center right": 7, "lower center": 8, "upper center": 9, "center": 10}


def _free_place(ax, leg, renderer) -> tuple[str | None, int]:
    """The first named place (:data:`_PLACES`, the current one first) where ``leg`` covers no data
    (else the one that only crosses the fewest reference lines), computed from the legend's size
    without redrawing; ``(None, hits)`` when every place covers data."""
    box = leg.get_window_extent(renderer)
    w, h = box.width, box.height
    frame = ax.get_window_extent(renderer)
    pad = renderer.points_to_pixels(leg.borderaxespad * leg.prop.get_size_in_points())
    code = getattr(leg, "_loc", None)
    order = sorted(_PLACES, key=lambda p: _CODES[p[0]] != code)
    best, fewest = None, None
    for name, fx, fy in order:
        x0 = frame.x0 + pad + fx * (frame.width - 2 * pad - w)
        y0 = frame.y0 + pad + fy * (frame.height - 2 * pad - h)
        margin = renderer.points_to_pixels(4)         # keep a little air around: the final draw may shift
        hits = _data_hits(ax, Bbox.from_bounds(x0, y0, w, h).padded(margin), renderer)
        if hits == 0:
            return name, 0.0
        if fewest is None or hits < fewest:
            best, fewest = name, hits
    if fewest is not None and fewest < 1:       # only reference lines (tol, baseline) in every place
        return best, fewest
    return None, fewest or 0.0


def tidy_legends(fig) -> int:
    """Give every axes legend a fixed place that covers no data (lines, points, bars, labels): its
    own place if free, else the first free named corner or side, else outside the axes (to the right;
    the one long legend of a multi-panel figure goes right of every panel). ``loc="best"`` legends
    are frozen at a free place, so the final draw cannot move them back onto the data. Legends
    placed with ``bbox_to_anchor`` are left alone. Returns how many legends moved."""
    moved = 0
    renderer = _renderer(fig)
    for ax in list(fig.axes):
        leg = ax.get_legend()
        if leg is None or not leg.get_visible() or leg.get_bbox_to_anchor() is not ax.bbox:
            continue                     # none, hidden, or placed on purpose (bbox_to_anchor)
        code = getattr(leg, "_loc", 0)
        if code != 0 and not _data_hits(ax, leg.get_window_extent(renderer), renderer):
            continue
        name, _ = _free_place(ax, leg, renderer)
        if name is not None:
            if _CODES[name] != code:
                leg.set_loc(name)
                moved += code != 0
            continue
        _move_legend_out(ax, leg)
        moved += 1
        renderer = _renderer(fig)
    return moved


def _shift_annotation(ann, dx_px: float, dy_px: float, leader_box=None, anchor=None) -> None:
    """Move ``ann``'s text by (dx, dy) display pixels; with ``leader_box`` (the text's new display box)
    and ``anchor`` (its point in display pixels) draw a thin line from the box's nearest point to it."""
    fig = ann.figure
    k = 72.0 / fig.dpi
    coords = ann.anncoords if isinstance(ann.anncoords, str) else None
    if coords == "offset points":
        x0, y0 = ann.xyann
        ann.xyann = (x0 + dx_px * k, y0 + dy_px * k)
    elif coords == "offset pixels":
        x0, y0 = ann.xyann
        ann.xyann = (x0 + dx_px, y0 + dy_px)
    elif coords == ann.xycoords and tuple(ann.xyann) == tuple(ann.xy):
        ann.anncoords = "offset points"
        ann.xyann = (dx_px * k, dy_px * k)
    else:
        return
    if leader_box is not None and anchor is not None and ann.arrow_patch is None:
        ax_, ay_ = anchor
        sx = min(max(ax_, leader_box.x0), leader_box.x1)
        sy = min(max(ay_, leader_box.y0), leader_box.y1)
        ann.axes.annotate("", xy=ann.xy, xycoords=ann.xycoords, xytext=((sx - ax_) * k, (sy - ay_) * k),
                          textcoords="offset points", annotation_clip=False,
                          arrowprops=dict(arrowstyle="-", color="0.55", lw=0.6, shrinkA=0, shrinkB=3))


def declutter(ax, pad_px: float = 1.5, max_steps: int = 10) -> int:
    """Move the text annotations of ``ax`` that overlap one another, the data or the axes' edge:
    each label (highest point first) takes the cheapest nearby spot, in steps of one text height up
    or down, right or left of its point, where it overlaps no label already placed, and as few data
    artists as possible; a moved label gets a thin leader line to its point. Returns how many labels
    moved."""
    fig = ax.figure
    renderer = _renderer(fig)
    anns = [t for t in ax.texts if isinstance(t, Annotation) and t.get_text().strip() and t.get_visible()
            and t.arrow_patch is None]
    if not anns:
        return 0
    frame = ax.get_window_extent(renderer)
    boxes = {a: a.get_window_extent(renderer) for a in anns}
    anchor = {a: (ax.transData.transform(a.xy) if a.xycoords == "data" else (boxes[a].x0, boxes[a].y0))
              for a in anns}
    placed: list = []
    moved = 0
    for a in sorted(anns, key=lambda a: -anchor[a][1]):
        b = boxes[a]
        step = b.height + pad_px
        left = -(b.width + 2 * max(0.0, b.x0 - anchor[a][0]) + 2 * pad_px)
        best, best_cost = (0.0, 0.0), None
        if not any(b.padded(pad_px / 2).overlaps(p) for p in placed) and \
                _data_hits(ax, b, renderer, skip=anns) < 1:     # free where it is (reference lines aside)
            placed.append(b)
            continue
        for j in range(max_steps + 1):
            for sign in ((0,) if j == 0 else (1, -1)):
                for side, dx in ((0, 0.0), (1, left)):
                    cand = b.translated(dx, sign * j * step)
                    padded = cand.padded(pad_px / 2)
                    if any(padded.overlaps(p) for p in placed):
                        continue
                    inside = frame.containsx(cand.x0) and frame.containsx(cand.x1) and \
                        frame.containsy(cand.y0) and frame.containsy(cand.y1)
                    cost = 4 * _data_hits(ax, cand, renderer, skip=anns) + j + 1.5 * side + (0 if inside else 3)
                    if best_cost is None or cost < best_cost:
                        best, best_cost = (dx, sign * j * step), cost
            if best_cost is not None and best_cost <= j:     # nothing cheaper further away
                break
        dx, dy = best
        if dx or dy:
            far = abs(dy) > 0.6 * b.height or dx != 0
            _shift_annotation(a, dx, dy, b.translated(dx, dy) if far else None, anchor[a])
            moved += 1
        placed.append(b.translated(dx, dy))
    return moved


def annotate_points(ax, x: Iterable[float], y: Iterable[float], texts: Iterable[str], fontsize: float = 7.5,
                    offset=(4, 3), **kw) -> list:
    """Label points ``(x[k], y[k])`` with ``texts[k]`` a few points up-right of each, then move
    overlapping labels apart (:func:`declutter`) with leader lines. Returns the Annotations."""
    anns = [ax.annotate(str(t), (xx, yy), xytext=offset, textcoords="offset points", fontsize=fontsize,
                        **kw) for xx, yy, t in zip(x, y, texts)]
    declutter(ax)
    return anns


def tidy(fig) -> None:
    """The finishing pass of :func:`hgsr.suite.report.save_figure`: legends off the data
    (:func:`tidy_legends`) and annotations off one another (:func:`declutter`). Idempotent."""
    if getattr(fig, "_hgsr_tidy", False):
        return
    for ax in fig.axes:
        declutter(ax)
    tidy_legends(fig)
    fig._hgsr_tidy = True


def label_outer(axes: Sequence, ncols: int, xlabel: str | None = None, ylabel: str | None = None) -> None:
    """Axis labels on the outer panels of a grid of ``len(axes)`` panels in ``ncols`` columns: y labels
    on the first column, x labels on each column's lowest panel."""
    n = len(axes)
    for k, ax in enumerate(axes):
        if ylabel is not None and k % ncols == 0:
            ax.set_ylabel(ylabel)
        if xlabel is not None and k + ncols >= n:
            ax.set_xlabel(xlabel)

