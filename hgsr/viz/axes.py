"""Units on the axes: each axis labelled with the words and unit of its quantity (:mod:`hgsr.viz.vocabulary`),
fractions shown in %, counts as ``45.2k``, log scales when the values span decades, integer ticks."""
from __future__ import annotations

import numpy as np
from matplotlib import ticker

from .vocabulary import axis_label, fmt_count, quantity

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



def count_formatter() -> ticker.Formatter:
    """Ticks of counts as ``45.2k``, ``1.2M``."""
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
