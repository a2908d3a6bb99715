"""Square root or square? The outer function of the hierarchical penalties compared at matched strength
(notebook 03, section 4b).

The grid of :mod:`hgsr.study.hgsr_variants` runs every variant at one λ, set for an equal initial pull. One
λ per variant cannot say whether a square-rooted outer function (HSR) removes more channels than a squared
one (HSQ): a variant that happened to land lower on the accuracy axis removes more for that reason alone.
Here each of the six (inner norm, grouping) pairs is run at the grid's λ times each of :data:`STRENGTHS`,
and the two outer functions are compared where their strength is matched by outcome:

    fewest(v) = min over λ of channels_left(v, λ)  subject to  acc(v, λ) >= acc(baseline) − max_drop,

the fewest channels each variant leaves at the same accuracy floor, counted two ways: ``channels_left``, the
grid's absolute rule (``zeros+inputs`` of :mod:`hgsr.study.dead_channels` at ``measure.TOL``), and
``channels_left_rel``, a scale-free count: the filters with ``||F_o|| > ρ · max_o' ||F_o'||`` in their layer
(:data:`RHO`), which a network cannot dodge by shrinking a layer and growing the next one (the tolerance trap of
:mod:`hgsr.study.tolerance_trap`). HSR "wins" a pair under a count when its ``fewest`` is smaller. A run whose
loss turns non-finite (λ too large for lr 0.05) is a row with status ``"diverged"``; it never qualifies.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import measure
from ..errors import InvalidArgument
from ..train import NonFiniteLoss
from ..viz import style, vocabulary
from . import hgsr_variants

# multiples of each variant's grid λ (hgsr_variants.GRID_LAM): two octaves either side, factors of 2
STRENGTHS = (0.25, 0.5, 1.0, 2.0, 4.0)
MAX_MULT = 256.0                        # a sweep that never reaches the accuracy floor is extended by ×4 up to here
INNER = ("gl", "es", "gl12")            # the inner norm of a pair: hsr_<inner> vs hsq_<inner>
OUTER = {"hsr": "square root (HSR)", "hsq": "square (HSQ)"}
RHO = 0.01                              # the scale-free count: filters above 1 % of their layer's largest norm
COUNTS = {"channels_left": "the grid's absolute rule (‖F‖ or every reader's input slice ≤ tol)",
          "channels_left_rel": f"the scale-free count (‖F‖ > {RHO:.0%} of the layer's largest filter norm)"}
COUNT_NAMES = {"channels_left": "absolute rule (≤ tol)", "channels_left_rel": f"scale-free (> {RHO:.0%} of layer max)"}


def relative_channels_left(model, rho: float = RHO) -> int:
    """Filters of the target conv layers with ``||F_o||_2 > rho · max_o' ||F_o'||_2`` in their layer: those
    :func:`hgsr.measure.sparsity_table` does not count in ``rel_zero_filters``."""
    total = measure.sparsity_table(model, rel=rho).iloc[-1]
    return int(total["filters"] - total["rel_zero_filters"])


def pair_variants() -> list[tuple[str, str, str, str]]:
    """``(inner, grouping, hsr variant, hsq variant)`` for the six pairs of the hierarchical grid."""
    return [(inner, g, f"hsr_{inner}/{g}", f"hsq_{inner}/{g}") for g in hgsr_variants.GROUPINGS for inner in INNER]


def strength_runs(profile: str = "default", max_drop: float = 0.015, strengths=STRENGTHS,
                  max_mult: float = MAX_MULT, progress: bool = False) -> dict:
    """``{(variant, multiple): Run or NonFiniteLoss}`` for the 12 hierarchical variants at λ × each multiple
    (cached runs are read; the ×1 runs are the grid's own), plus ``("none", 1.0)``: the baseline. A variant
    whose every run stays above the accuracy floor (the baseline's test accuracy minus ``max_drop``) is run
    at 4 times its largest multiple, and again, up to ``max_mult``: its sweep then brackets the floor, or
    the table shows where it stopped."""
    for m in strengths:
        if not (isinstance(m, (int, float)) and m > 0):
            raise InvalidArgument(f"strengths must be positive multiples of the grid λ; got {m!r} in {strengths!r}")
    base = hgsr_variants.run("none", profile, progress=progress)
    floor = base.metrics["test_acc"] - max_drop
    out = {("none", 1.0): base}

    def one(name: str, m: float):
        try:
            out[(name, m)] = hgsr_variants.run(name, profile, hgsr_variants.GRID_LAM[name] * m, progress)
        except NonFiniteLoss as exc:
            out[(name, m)] = exc
        r = out[(name, m)]
        return isinstance(r, NonFiniteLoss) or r.metrics["test_acc"] < floor     # reached the floor

    for _, _, hsr, hsq in pair_variants():
        for name in (hsr, hsq):
            reached = [one(name, float(m)) for m in strengths]
            m = float(max(strengths))
            while not any(reached) and m * 4 <= max_mult:
                m *= 4
                reached.append(one(name, m))
    return out


def strength_table(runs: dict, tol: float = measure.TOL) -> pd.DataFrame:
    """One row per run of :func:`strength_runs`: variant, inner norm, outer function, grouping, λ multiple,
    λ, status (``"trained"`` or ``"diverged"``), test accuracy, channels left (the grid's rule,
    :func:`hgsr.study.hgsr_variants.summary`), channels left by the scale-free count
    (:func:`relative_channels_left`) and zero kernels."""
    rows = []
    for (name, m), r in runs.items():
        if name == "none":
            continue
        key, grouping = hgsr_variants.split(name)
        outer, inner = key.split("_", 1)
        row = {"variant": name, "inner": inner, "outer": OUTER[outer], "grouping": grouping, "lam_mult": m,
               "lam": hgsr_variants.GRID_LAM[name] * m}
        if isinstance(r, NonFiniteLoss):
            rows.append({**row, "status": "diverged", "test_acc": np.nan, "channels_left": np.nan,
                         "channels_left_rel": np.nan, "zero_kernels": np.nan})
            continue
        s = hgsr_variants.summary({name: r}, tol=tol).iloc[0]
        rows.append({**row, "status": "trained", "test_acc": float(s["test_acc"]),
                     "channels_left": int(s["channels_left"]), "channels_left_rel": relative_channels_left(r.model),
                     "zero_kernels": float(s["zero_kernels"])})
    df = pd.DataFrame(rows)
    df.attrs.update(baseline_acc=float(runs[("none", 1.0)].metrics["test_acc"]), tol=tol)
    return df


def matched(table: pd.DataFrame, max_drop: float, count: str = "channels_left") -> pd.DataFrame:
    """Per pair (inner norm, grouping): each outer function's fewest channels (column ``count`` of
    :data:`COUNTS`) among its λ whose test accuracy is at least the baseline's minus ``max_drop`` (NaN when
    none is), the λ multiple and accuracy of that point, whether its sweep is *bracketed* (some λ fell below
    the floor or diverged: a stronger λ would not have helped), and the winner: "square root (HSR)",
    "square (HSQ)", "tie", "undecided" when one side never reaches the floor, or "not bracketed" when the
    side that did not win never went below the floor (its λ range stopped short of matching the other's)."""
    if not 0 <= max_drop < 1:
        raise InvalidArgument(f"max_drop={max_drop!r}; give the accuracy drop allowed as a fraction in [0, 1)")
    if count not in COUNTS:
        raise InvalidArgument(f"count={count!r}; known: {', '.join(COUNTS)}")
    floor = table.attrs["baseline_acc"] - max_drop
    ok = table[(table["status"] == "trained") & (table["test_acc"] >= floor)]
    rows = []
    for (inner, grouping), _ in table.groupby(["inner", "grouping"], sort=False):
        row = {"inner": inner, "grouping": grouping}
        for outer, short in (("square root (HSR)", "hsr"), ("square (HSQ)", "hsq")):
            d = ok[(ok["inner"] == inner) & (ok["grouping"] == grouping) & (ok["outer"] == outer)]
            best = d.sort_values([count, "test_acc"], ascending=[True, False], kind="stable").head(1)
            row[f"{short}_fewest"] = float(best[count].iloc[0]) if len(best) else np.nan
            row[f"{short}_lam_mult"] = float(best["lam_mult"].iloc[0]) if len(best) else np.nan
            row[f"{short}_test_acc"] = float(best["test_acc"].iloc[0]) if len(best) else np.nan
            side = table[(table["inner"] == inner) & (table["grouping"] == grouping) & (table["outer"] == outer)]
            row[f"{short}_bracketed"] = bool(((side["status"] == "diverged") | (side["test_acc"] < floor)).any())
        a, b = row["hsr_fewest"], row["hsq_fewest"]
        losers = ([] if np.isnan(a) or np.isnan(b) else ["hsr", "hsq"] if a == b else ["hsq"] if a < b else ["hsr"])
        row["winner"] = ("undecided" if np.isnan(a) or np.isnan(b)
                         else "not bracketed" if not all(row[f"{x}_bracketed"] for x in losers)
                         else "tie" if a == b else "square root (HSR)" if a < b else "square (HSQ)")
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs.update(floor=floor, max_drop=max_drop, count=count)
    return out


def both_counts(table: pd.DataFrame, max_drop: float) -> pd.DataFrame:
    """:func:`matched` under each count of :data:`COUNTS`, stacked, with a ``count`` column naming it
    (:data:`COUNT_NAMES`)."""
    parts = [matched(table, max_drop, c).assign(count=COUNT_NAMES[c]) for c in COUNTS]
    out = pd.concat(parts, ignore_index=True)
    out.attrs.update(parts[0].attrs, count=None)
    return out


def non_monotone(table: pd.DataFrame, count: str = "channels_left") -> list[str]:
    """Variants whose ``count`` rises somewhere as λ grows (finished runs only): a stronger penalty that left
    more channels, which one seed per point cannot tell from noise."""
    ok = table[table["status"] == "trained"].sort_values("lam_mult")
    return [v for v, d in ok.groupby("variant", sort=False) if (np.diff(d[count].to_numpy(float)) > 0).any()]


def _tally(pairs: pd.DataFrame) -> dict:
    wins = pairs["winner"].value_counts()
    return {k: int(wins.get(v, 0)) for k, v in (("hsr", "square root (HSR)"), ("hsq", "square (HSQ)"),
                                                 ("tie", "tie"), ("undecided", "undecided"),
                                                 ("unbracketed", "not bracketed"))}


def verdict(table: pd.DataFrame, pairs: pd.DataFrame) -> str:
    """Markdown from :func:`both_counts`: under each count, in how many pairs the square root (HSR) leaves
    fewer channels than the square (HSQ) at the same accuracy floor, and which; whether the expectation "a
    square-rooted outer function removes more channels" held under both counts, the opposite held under
    both, or neither; the variants whose count moves non-monotonically with λ; the runs that diverged."""
    common = set.intersection(*(set(d["lam_mult"]) for _, d in table.groupby("variant")))
    extended = {v: sorted(set(d["lam_mult"]) - common) for v, d in table.groupby("variant", sort=False)}
    ext = "; ".join(f"{hgsr_variants.label(v)} also at × {', '.join(f'{m:g}' for m in ms)}"
                    for v, ms in extended.items() if ms)
    text = [f"Each hierarchical variant ran at λ × {', '.join(f'{m:g}' for m in sorted(common))} of its grid λ"
            + (f" ({ext}: extended until it reached the floor)" if ext else "")
            + f"; a pair is judged by the fewest channels each outer function leaves at a test accuracy of at least "
              f"{pairs.attrs['floor']:.2%} (the baseline minus {pairs.attrs['max_drop']:.1%})."]
    leads = {}
    for count, words in COUNTS.items():
        p = pairs[pairs["count"] == COUNT_NAMES[count]]
        t = _tally(p)
        leads[count] = "hsr" if t["hsr"] > t["hsq"] else "hsq" if t["hsq"] > t["hsr"] else None
        per = "; ".join(f"{vocabulary.regularizer_name(r.inner)}, {vocabulary.grouping_name(r.grouping)}: "
                        f"HSR {_fewest(r.hsr_fewest)}, HSQ {_fewest(r.hsq_fewest)}" for r in p.itertuples())
        text.append(f"Under {words}, the square root leaves fewer channels in {t['hsr']} of {len(p)} pairs, the "
                    f"square in {t['hsq']}, {t['tie']} tie(s)" + (f", {t['undecided']} undecided (one side never "
                    f"reaches the floor)" if t["undecided"] else "")
                    + (f", {t['unbracketed']} not bracketed (the losing side's strongest λ stayed above the floor)"
                       if t["unbracketed"] else "") + f" ({per}).")
    if set(leads.values()) == {"hsr"}:
        text.append("**The expectation of section 1 holds** under both counts at matched strength.")
    elif set(leads.values()) == {"hsq"}:
        text.append("**The expectation of section 1 does not hold:** under both counts the squared outer function "
                    "leaves fewer channels at the same accuracy on this grid.")
    else:
        text.append("**Neither outer function is ahead under both counts:** this grid does not bear out the "
                    "expectation of section 1, and it does not show the opposite either.")
    wobbly = non_monotone(table)
    if wobbly:
        text.append(f"One seed per point: in {len(wobbly)} of {table['variant'].nunique()} variants the grid's count "
                    f"rises somewhere as λ grows ({', '.join(map(hgsr_variants.label, wobbly))}), so single pairs are "
                    f"inside the noise.")
    div = table[table["status"] == "diverged"]
    if len(div):
        text.append("Diverged (non-finite loss at lr 0.05, not counted): "
                    + ", ".join(f"{hgsr_variants.label(v)} at λ × {m:g}" for v, m in zip(div["variant"], div["lam_mult"]))
                    + ".")
    return " ".join(text)


def _fewest(x: float) -> str:
    return "never at the floor" if np.isnan(x) else f"{x:.0f}"


def plot(table: pd.DataFrame, max_drop: float):
    """Six panels (inner norm × grouping): test accuracy against channels left along each outer function's λ
    sweep (colour: outer function; solid, filled: the grid's absolute rule; dotted, open: the scale-free
    count), the accuracy floor dashed. Returns the Figure."""
    style.ensure()
    floor = table.attrs["baseline_acc"] - max_drop
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.75), sharex=True, sharey=True)
    styles = style.series_styles(list(OUTER.values()))
    ok = table[table["status"] == "trained"]
    for ax, (inner, grouping, _, _) in zip(axes.flat, pair_variants()):
        for outer, st in styles.items():
            d = ok[(ok["inner"] == inner) & (ok["grouping"] == grouping) & (ok["outer"] == outer)].sort_values("lam_mult")
            ax.plot(d["channels_left"], d["test_acc"], label=f"{outer}, absolute rule", **st)
            ax.plot(d["channels_left_rel"], d["test_acc"], ls=":", mfc="white", color=st["color"], marker=st["marker"],
                    label=f"{outer}, scale-free count")
        ax.axhline(floor, color=".3", ls="--", lw=1)
        ax.set_title(f"{inner.upper()} inner norm, {'feature' if grouping == 'input' else 'neuron'}-wise")
    style.format_axis(axes[0, 0], "y", "test_acc")
    style.label_outer(list(axes.flat), 3, xlabel=style.axis_label("channels_left"), ylabel=style.axis_label("test_acc"))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2,
               title=f"λ × {', '.join(f'{m:g}' for m in sorted(table['lam_mult'].unique()))}; dashed line: baseline − {max_drop:.1%}")
    return fig


# ----------------------------------------------------------------------------- exercise answers (notebook 03)
def _fewest_within(points: pd.DataFrame, floor: float):
    """The row of ``points`` (variant, test_acc, channels_left) with the fewest channels among those at or
    above the accuracy ``floor`` (ties: higher accuracy), or None."""
    ok = points[points["test_acc"] >= floor]
    return None if ok.empty else ok.sort_values(["channels_left", "test_acc"], ascending=[True, False],
                                                kind="stable").iloc[0]


def _named(row) -> str:
    return "no variant" if row is None else f"**{hgsr_variants.label(row['variant'])}**"


def lambda_factor_answer(strength: pd.DataFrame, summary: pd.DataFrame, max_drop: float,
                         variant: str = "hsr_gl/output", factors=(0.5, 2.0)) -> str:
    """Notebook 03, exercise 2, from the matched-strength runs (:func:`strength_table`, which trains each
    hierarchical variant at its grid λ times :data:`STRENGTHS`) and the grid (:func:`hgsr_variants.summary`):
    accuracy and channels left of ``variant`` at λ × each of ``factors`` beside its grid point, and whether
    the grid's variant with the fewest channels within ``max_drop`` of the baseline stays the same when
    ``variant``'s point is replaced by each of those."""
    base = summary.loc[summary["variant"] == "none", "test_acc"]
    if base.empty or variant not in set(summary["variant"]):
        raise InvalidArgument(f"summary needs the 'none' row and a {variant!r} row; it has "
                              f"{sorted(set(summary['variant']))[:12]}")
    floor = float(base.iloc[0]) - max_drop
    grid = summary[summary["variant"] != "none"][["variant", "test_acc", "channels_left"]]
    own = grid[grid["variant"] == variant].iloc[0]
    name = hgsr_variants.label(variant)            # the variant as a reader names it
    points, text = {}, []
    for f in factors:
        d = strength[(strength["variant"] == variant) & np.isclose(strength["lam_mult"], f)]
        if d.empty:
            text.append(f"λ × {f:g} is not among the matched-strength runs of {name}.")
        elif d["status"].iloc[0] != "trained":
            text.append(f"At λ × {f:g} the training of {name} diverged.")
        else:
            points[f] = d.iloc[0]
    text.insert(0, f"{name}: at the grid's λ {own['test_acc']:.2%} accuracy and {int(own['channels_left'])} "
                   "channels left; " + "; ".join(f"at λ × {f:g} {p['test_acc']:.2%} and {int(p['channels_left'])}"
                                                 for f, p in points.items()) + ".")
    before = _fewest_within(grid, floor)
    for f, p in points.items():
        swapped = grid.copy()
        swapped.loc[swapped["variant"] == variant, ["test_acc", "channels_left"]] = [p["test_acc"], p["channels_left"]]
        after = _fewest_within(swapped, floor)
        same = (before is None and after is None) or (before is not None and after is not None
                                                       and before["variant"] == after["variant"])
        text.append(f"With {name} at λ × {f:g}, the fewest channels within {max_drop:.1%} of the baseline are left "
                    f"by {_named(after)}" + (" as on the grid: that ranking survives the factor."
                                           if same else f" (on the grid: {_named(before)}): one λ per variant was not "
                                                        "enough to rank them."))
    return " ".join(text)
