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
    fig, ax = new_axes(ax, figsize=(6.5, 5))
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
    ncols = ncols or min(len(convs), 3)
    fig, axes = grid(len(convs), ncols, panel=(min(5.6, 13.0 / ncols), min(4.6, 7.0 / -(-len(convs) // ncols))))
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
    fig, ax = new_axes(ax, figsize=(7, 4.6))
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
    # one layer is not a series: neutral grey (the palette's colours name families and protocols)
    colors = ({k: "0.45" for k in norms} if len(norms) == 1 else
              {k: st["color"] for k, st in series_styles(list(norms)).items()})
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
    style.legend(ax)
    return fig


def filter_norm_view(model_or_W, layer=None, tol: float = TOL, rel: float | None = None, predicate=None):
    """One layer side by side: :func:`kernel_norm_heatmap` (sorted, log) and :func:`filter_norm_histogram`
    with the tolerance ``tol`` (the figure of :func:`hgsr.widgets.filter_norm_explorer`)."""
    name, W = layer_weight(model_or_W, layer, predicate)
    style.ensure()
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(13, 5.2), layout="constrained")
    kernel_norm_heatmap(W, tol=tol, ax=a0, title=f"{name}: kernel norms")
    filter_norm_histogram(W, tol=tol, rel=rel, ax=a1, label=name)
    a1.set_title(f"{name}: filter norms")
    return fig


def _pattern_title(name: str, N: np.ndarray, fn, cn, tol: float, narrow: bool) -> str:
    mask = N > tol
    parts = [f"{name} ({N.shape[0]}×{N.shape[1]})", f"filters {int((fn > tol).sum())}/{len(fn)},",
             f"channels {int((cn > tol).sum())}/{len(cn)},", f"kernels {100 * mask.mean():.0f}%"]
    return "\n".join([parts[0], " ".join(parts[1:3]), parts[3]] if narrow else [parts[0], " ".join(parts[1:])])


def _pattern(ax, W, tol: float, label: str, xlabel: bool = True, ylabel: str | None = "filter o"):
    N, fn, cn = _norms(W)
    mask = N > tol
    aspect = style.matrix_aspect(*N.shape)
    ax.imshow(mask, cmap="Greys", vmin=0, vmax=1, aspect=aspect, interpolation="nearest")
    ax.grid(False)
    style.integer_ticks(ax)
    ax.set_title(_pattern_title(label, N, fn, cn, tol, narrow=aspect != "auto"))
    if xlabel:
        ax.set_xlabel("input channel i")
    if ylabel:
        ax.set_ylabel(ylabel)


def _width_ratios(shapes) -> list[float]:
    """Panel widths for kernel masks of ``(O, I)`` shapes: wide matrices wider, none narrower than a third."""
    w = [min(4.0, max(1.0, i / o * 2.5)) if o else 1.0 for o, i in shapes]
    return [max(v, max(w) / 3) for v in w]


def sparsity_pattern(model, tol: float = TOL, title: str | None = None, predicate=None, ncols: int = 6):
    """Every target layer's kernel mask ``N[o,i] > tol`` side by side (black: kept kernel, white: zero),
    rows = filters o, columns = input channels i, in the model's own order; at most ``ncols`` panels
    per row. Returns the Figure."""
    convs = target_convs(model, predicate)
    short = style.layer_names(model)
    cols = min(ncols, len(convs))
    rows = -(-len(convs) // cols)
    fig, axes = grid(len(convs), ncols=cols, panel=(min(4.0, 13.0 / cols), min(4.2, 6.8 / rows)))
    for k, (ax, (name, conv)) in enumerate(zip(axes, convs)):
        _pattern(ax, conv.weight, tol, short.get(name, name), xlabel=k + cols >= len(convs),
                 ylabel="filter o" if k % cols == 0 else None)
    fig.suptitle(title or f"kernels with norm > tol = {tol:g} (black: kept)")
    return fig


def compare_sparsity_patterns(runs: dict, tol: float = TOL, predicate=None, layers=None):
    """:func:`sparsity_pattern` of several models (``{label: model}``), same ``tol``, one row per run titled
    with the run's label (a run with fewer target layers leaves its last panels empty). ``layers``: the
    short names of the layers to show (``("conv2",)``); with one layer the runs sit side by side, one panel
    each. Sized for a slide."""
    if not runs:
        raise InvalidArgument(f"runs must hold at least one {{label: model}}, got {runs!r}")
    style.ensure()
    per_run = {}
    for lab, m in runs.items():
        short = style.layer_names(m)
        convs = [(short.get(n, n), c) for n, c in target_convs(m, predicate)]
        if layers is not None:
            unknown = sorted(set(layers) - {n for n, _ in convs})
            if unknown:
                raise InvalidArgument(f"layers {unknown} are not target convs of run {lab!r}; its target convs: "
                                      f"{', '.join(n for n, _ in convs)}")
            convs = [(n, c) for n, c in convs if n in layers]
        per_run[lab] = convs
    if layers is not None and len(layers) == 1:           # one layer: the runs side by side
        n = len(runs)
        fig, axes = plt.subplots(1, n, figsize=(min(4.4 * n, 13.0), 5.4), layout="constrained", squeeze=False)
        for k, (lab, convs) in enumerate(per_run.items()):
            ax = axes[0][k]
            _pattern(ax, convs[0][1].weight, tol, convs[0][0], ylabel="filter o" if k == 0 else None)
            ax.set_title(f"{lab}\n" + ax.get_title().split("\n", 1)[1].replace("\n", " "))
        fig.suptitle(f"{layers[0]}: kernels with norm > tol = {tol:g} (black: kept)" + _others_note(runs, layers, tol,
                                                                                                  predicate))
        return fig
    ncols = max(len(c) for c in per_run.values())
    longest = max(per_run.values(), key=len)
    ratios = _width_ratios([tuple(c.weight.shape[:2]) for _, c in longest])
    fig = plt.figure(figsize=(min(13.0, 2.6 * sum(ratios) + 1.0), min(7.4, 2.6 * len(runs) + 0.5)), layout="constrained")
    subs = fig.subfigures(len(runs), 1, squeeze=False)[:, 0]
    for r, ((lab, convs), sub) in enumerate(zip(per_run.items(), subs)):
        axes = sub.subplots(1, ncols, squeeze=False, gridspec_kw={"width_ratios": ratios})[0]
        for c, ax in enumerate(axes):
            if c < len(convs):
                _pattern(ax, convs[c][1].weight, tol, convs[c][0], xlabel=r == len(runs) - 1,
                         ylabel="filter o" if c == 0 else None)
            else:
                ax.remove()
        sub.suptitle(lab, x=0.01, ha="left", fontweight="bold", fontsize=plt.rcParams["axes.titlesize"])
    fig.suptitle(f"kernels with norm > tol = {tol:g} (black: kept)")
    return fig


def _others_note(runs: dict, layers, tol: float, predicate=None) -> str:
    """``"; conv1: 20/20 filters kept in every run"``: the layers a figure leaves out, by their filters kept
    (norm > ``tol``), per run where the runs differ."""
    kept: dict[str, list[str]] = {}
    for m in runs.values():
        short = style.layer_names(m)
        for n, c in target_convs(m, predicate):
            if short.get(n, n) not in layers:
                fn = _norms(c.weight)[1]
                kept.setdefault(short.get(n, n), []).append(f"{int((fn > tol).sum())}/{len(fn)}")
    parts = [f"{name}: {v[0]} filters kept in every run" if len(set(v)) == 1 and len(v) == len(runs) else
             f"{name} filters kept: {', '.join(v)}" for name, v in kept.items()]
    return ("\n" + "; ".join(parts)) if parts else ""


def sparsity_overlay(a, b, labels=("a", "b"), tol: float = TOL, colors=None, predicate=None, title: str | None = None):
    """Two networks of one architecture in one kernel mask per target layer: kernels with norm > ``tol`` in
    both black, in only the first or only the second in their colours (default: the series colours of
    ``labels``, :func:`hgsr.viz.theme.series_styles`), in neither white. Each panel's title counts the filters
    each keeps; the legend counts the kernels of each kind over all layers. Near-identical patterns read as
    one picture with the few differences in colour. Returns the Figure."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    la, lb = map(str, labels)
    convs_a, convs_b = target_convs(a, predicate), target_convs(b, predicate)
    shapes_a = [tuple(c.weight.shape) for _, c in convs_a]
    shapes_b = [tuple(c.weight.shape) for _, c in convs_b]
    if shapes_a != shapes_b:
        raise InvalidArgument(f"a and b must have the same target convs to overlay, got shapes {shapes_a} and {shapes_b}")
    if colors is None:
        st = series_styles([la, lb])
        colors = (st[la]["color"], st[lb]["color"])
    short = style.layer_names(a)
    style.ensure()
    ratios = _width_ratios([s[:2] for s in shapes_a])
    fig, axes = plt.subplots(1, len(convs_a), figsize=(min(13.0, 3.0 * sum(ratios) + 1.5), 5.6), squeeze=False,
                             gridspec_kw={"width_ratios": ratios}, layout="constrained")
    cmap = ListedColormap(["white", colors[0], colors[1], "black"])
    totals = np.zeros(4, dtype=int)
    for k, (ax, (name, ca_), (_, cb_)) in enumerate(zip(axes[0], convs_a, convs_b)):
        Na, fa, _ = _norms(ca_.weight)
        Nb, fb, _ = _norms(cb_.weight)
        code = (Na > tol).astype(int) + 2 * (Nb > tol).astype(int)        # 0 neither, 1 a only, 2 b only, 3 both
        totals += np.bincount(code.ravel(), minlength=4)
        ax.imshow(code, cmap=cmap, vmin=-0.5, vmax=3.5, aspect=style.matrix_aspect(*code.shape), interpolation="nearest")
        ax.grid(False)
        style.integer_ticks(ax)
        narrow = style.matrix_aspect(*code.shape) != "auto"
        counts = [f"{la}: {int((fa > tol).sum())}", f"{lb}: {int((fb > tol).sum())}"]
        head = f"{short.get(name, name)} ({code.shape[0]}×{code.shape[1]})"
        one_line = "filters kept: " + ", ".join(counts)
        ax.set_title(head + "\nfilters kept\n" + "\n".join(counts) if narrow and len(one_line) > 24 else
                     head + "\n" + one_line)
        ax.set_xlabel("input channel i")
        if k == 0:
            ax.set_ylabel("filter o")
    handles = [Patch(facecolor="black", label=f"kept by both ({totals[3]} kernels)"),
               Patch(facecolor=colors[0], label=f"only {la} ({totals[1]})"),
               Patch(facecolor=colors[1], label=f"only {lb} ({totals[2]})")]
    fig.legend(handles=handles, loc="outside lower center", ncols=3)
    fig.suptitle(title or f"kernels with norm > tol = {tol:g}: {la} against {lb}")
    return fig


# ---------------------------------------------------------------- histograms of many networks, shared axes
NORM_AXES = {"filter": r"filter norm $\|F[o]\|_2$ (log scale)", "gamma": "BatchNorm |γ| (log scale)"}
_LAYER_LOOKS = ({"histtype": "stepfilled", "alpha": 0.35}, {"histtype": "step", "lw": 2.2},
                {"histtype": "step", "lw": 1.8, "ls": "--"}, {"histtype": "step", "lw": 1.8, "ls": ":"})


def norm_histograms(panels, ncols: int = 4, bins: int = 30):
    """One histogram panel per network: ``{title: {"norms": {layer: values}, "threshold": t, "threshold_text":
    "tol = 0.01", "quantity": "filter" | "gamma", "color": c (optional)}}``. Panels of one ``quantity``
    share their log x axis (the same bins) and their y axis, so they compare at a glance; each panel is drawn
    in its network's colour (``color``, else its series colour), the layers told apart by fill and line style
    (first filled, second outlined, ...), the threshold a black dashed line. Exact zeros (no place on a log
    axis) are counted in the leftmost bin and named in the title, with the values at or below the threshold.
    One legend under the panels says which look is which layer. Returns the Figure."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if not panels:
        raise InvalidArgument(f"panels must hold at least one {{title: {{'norms': ..., 'threshold': ...}}}}, got {panels!r}")
    for title, p in panels.items():
        missing = [k for k in ("norms", "threshold") if k not in p]
        if missing:
            raise InvalidArgument(f"panel {title!r} lacks {missing}; a panel needs 'norms' ({{layer: values}}) and "
                                  f"'threshold'")
        if p.get("quantity", "filter") not in NORM_AXES:
            raise InvalidArgument(f"panel {title!r}: quantity must be one of {list(NORM_AXES)}, got {p['quantity']!r}")
    style.ensure()
    n = len(panels)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(min(13.2, 3.4 * ncols), min(6.9, 3.0 * nrows + 0.9)),
                             squeeze=False, layout="constrained")
    flat = list(axes.flat)
    for extra in flat[n:]:
        extra.remove()
    colors = series_styles(list(panels))
    edges, first = {}, {}
    for kind in {p.get("quantity", "filter") for p in panels.values()}:
        vals = np.concatenate([np.asarray(v, dtype=float).ravel() for p in panels.values()
                               if p.get("quantity", "filter") == kind for v in p["norms"].values()] +
                              [np.asarray([p["threshold"]], dtype=float) for p in panels.values()
                               if p.get("quantity", "filter") == kind])
        pos = vals[vals > 0]
        lo, hi = (float(pos.min()), float(pos.max())) if pos.size else (0.1, 1.0)
        edges[kind] = np.logspace(np.log10(lo / 2), np.log10(hi * 1.1), bins + 1)
    layer_names_seen: list[str] = []
    for ax, (title, p) in zip(flat, panels.items()):
        kind = p.get("quantity", "filter")
        e = edges[kind]
        color = p.get("color") or colors[title]["color"]
        allv = np.concatenate([np.asarray(v, dtype=float).ravel() for v in p["norms"].values()])
        zeros = int((allv == 0).sum())
        for k, (layer, v) in enumerate(p["norms"].items()):
            if layer not in layer_names_seen:
                layer_names_seen.append(layer)
            look = _LAYER_LOOKS[layer_names_seen.index(layer) % len(_LAYER_LOOKS)]
            ax.hist(np.clip(np.asarray(v, dtype=float), e[0] * 1.0001, None), bins=e, color=color, **look)
        ax.axvline(p["threshold"], color="k", ls="--", lw=1.3)
        ax.set_xscale("log")
        k_below = int((allv <= p["threshold"]).sum())
        text = p.get("threshold_text") or f"{p['threshold']:g}"
        ax.set_title(f"{title}\n{k_below}/{allv.size} ≤ {text}"
                     + (f", {zeros} exactly 0" if zeros else ""))
        if kind in first:
            ax.sharex(first[kind])
            ax.sharey(first[kind])
        else:
            first[kind] = ax
        ax.set_xlabel(NORM_AXES[kind])
        style.integer_ticks(ax, "y")
    for ax in flat[:n]:
        ax.autoscale(axis="y")
    for k, ax in enumerate(flat[:n]):
        if k % ncols == 0 or panels[list(panels)[k]].get("quantity", "filter") != \
                panels[list(panels)[k - 1]].get("quantity", "filter"):
            ax.set_ylabel("count")
    handles = [Patch(facecolor="0.6", alpha=0.5, label=layer_names_seen[0])] if layer_names_seen else []
    handles += [Line2D([], [], color="0.3", **{k: v for k, v in _LAYER_LOOKS[i % len(_LAYER_LOOKS)].items()
                                               if k in ("lw", "ls")}, label=name)
                for i, name in enumerate(layer_names_seen[1:], start=1)]
    handles.append(Line2D([], [], color="k", ls="--", lw=1.3, label="threshold (each panel's title)"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    return fig


def filter_norm_histograms(models, tol: float = TOL, layer=None, predicate=None, ncols: int = 4, extra=None):
    """:func:`norm_histograms` of the filter norms ``||F[o]||_2`` of each of ``{label: model}`` (every target
    conv, or only ``layer``: a short name such as ``"conv2"``, a module name or an index), the threshold
    ``tol``; ``extra``: more panels in :func:`norm_histograms`' form (e.g. a network judged by its
    BatchNorm γ), placed in the order of ``models`` when their title is a key of it. Returns the Figure."""
    panels = {}
    extra = dict(extra or {})
    for lab, m in models.items():
        if lab in extra:
            panels[lab] = extra.pop(lab)
            continue
        if layer is None:
            short = style.layer_names(m)
            norms = {short.get(n, n): _norms(c.weight)[1] for n, c in target_convs(m, predicate)}
        else:
            name, W = layer_weight(m, layer, predicate)
            norms = {name: _norms(W)[1]}
        panels[lab] = {"norms": norms, "threshold": tol, "threshold_text": f"tol = {tol:g}", "quantity": "filter"}
    panels.update(extra)
    return norm_histograms(panels, ncols=ncols)
