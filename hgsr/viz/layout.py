"""Legends and labels without overlap: legends in free corners or outside (:func:`legend`,
:func:`tidy_legends`), annotations moved off one another and off the data (:func:`declutter`,
:func:`annotate_points`), and :func:`tidy`, the finishing pass :func:`hgsr.suite.report.save_figure` runs."""
from __future__ import annotations

from typing import Iterable, Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

from .theme import FONT_MIN, LEGEND_INSIDE_MAX

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
    """Move the text annotations of ``ax`` (except those :func:`pin` fixed) that overlap one another, the data
    or the axes' edge:
    each label (highest point first) takes the cheapest nearby spot, in steps of one text height up
    or down, right or left of its point, where it overlaps no label already placed, and as few data
    artists as possible; a moved label gets a thin leader line to its point. Returns how many labels
    moved."""
    fig = ax.figure
    renderer = _renderer(fig)
    anns = [t for t in ax.texts if isinstance(t, Annotation) and t.get_text().strip() and t.get_visible()
            and t.arrow_patch is None and not getattr(t, "_hgsr_pinned", False)]
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


def pin(labels: Iterable) -> list:
    """Mark text labels as belonging where they are (a bar's value on its bar, a line's name at its end):
    :func:`declutter` and :func:`tidy` never move them. Returns them as a list."""
    labels = list(labels)
    for t in labels:
        t._hgsr_pinned = True
    return labels


def annotate_points(ax, x: Iterable[float], y: Iterable[float], texts: Iterable[str], fontsize: float = FONT_MIN,
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
