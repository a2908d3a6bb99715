"""Which channels of a trained network are dead, by rules beyond "its filter is zero" (docs/methods.md
sections 1, 2 and 6), and the compact network each rule gives.

A prunable channel ``c`` (output channel ``c`` of a :class:`hgsr.prune.Group`) can go when

- ``"zeros"``: every coupled filter has ``||F[c]||_2 <= tol`` (what :func:`hgsr.prune.zero_plan` uses);
- ``"inputs"``: every consumer is a conv whose input slice has ``||C[c]||_2 = ||W_next[:, c]||_2 <= tol``:
  nobody reads the channel, so its producer filter is useless. Channel-wise penalties (group lasso on
  channels, SSL, HGSR with feature-wise = ``"input"`` grouping) kill these slices, not the filters;
- ``"zeros+inputs"``: either of the two;
- ``"gamma"`` (network slimming, Liu et al. 2017): the BatchNorm scale after the conv is small,
  ``|γ_c| <= rel · max |γ|`` with the maximum over every prunable BatchNorm of the network (one global
  threshold, as slimming's global quantile): the scores of :func:`hgsr.prune.bn_gamma_scores`, the
  choice of ``hgsr.prune.select(scores, threshold=rel·max, on_empty="keep")``. Removing such a
  channel drops the term ``γ_c (x - μ_c)/σ_c`` and folds the constant ``β_c`` that remains into the
  consumers (exact surgery, ``fold="exact"``).

Each rule is a threshold on registered criteria (:mod:`hgsr.prune.ranking.criteria`), and :data:`RULES` is
built from that registry (each criterion names the rule it defines): ``"zeros"`` on ``magnitude`` (for the
single convs of LeNet-5 the filter norm itself), ``"inputs"`` on ``dead_inputs``, ``"gamma"`` on ``bn_gamma``;
the masks become a plan by :func:`hgsr.prune.plan_from_masks`.

No group is ever emptied: if a rule selects all channels of a group, the one with the largest filter
norm (largest ``|γ|`` for ``"gamma"``) stays.
"""
from __future__ import annotations

from typing import Mapping

import pandas as pd
import torch
from torch import nn

from .. import experiments, groups, measure, prune
from ..errors import InvalidArgument
from ..compact import compact_from_zeros, compact_with
from . import families

# rule -> the criteria whose thresholded scores it combines ("or"), derived from the criteria registry: one
# rule per criterion that defines one (hgsr.prune.criteria.dead_rules(): "zeros" = magnitude, "gamma" =
# bn_gamma, "inputs" = dead_inputs), then each combination of COMBINED, "a+b" = the channels of either rule
COMBINED = (("zeros", "inputs"),)
RULES: dict[str, tuple[str, ...]] = {rule: (key,) for rule, key in prune.criteria.dead_rules().items()}
RULES.update({"+".join(parts): tuple(k for r in parts for k in RULES[r]) for parts in COMBINED})


def _check_rule(rule: str) -> str:
    if rule not in RULES:
        raise InvalidArgument(f"rule={rule!r} is not a removal rule; known: {', '.join(RULES)}")
    return rule


def _per_group(table: pd.DataFrame) -> dict[str, torch.Tensor]:
    return {g: torch.tensor(d.sort_values("channel")["score"].to_numpy(), dtype=torch.float64)
            for g, d in table.groupby("group", sort=False)}


@torch.no_grad()
def channel_masks(model: nn.Module, input_shape, tol: float = measure.TOL, rel: float = 1e-2,
                  include_linear: bool = False) -> list[dict]:
    """Per prunable group (hidden linear units too with ``include_linear``): ``{"group", "size", "zero",
    "dead_input", "small_gamma", "score", "gamma"}``: boolean masks over its channels (``small_gamma``
    None without BatchNorm), the filter-norm keep-score and the |γ| scores (None without BatchNorm)."""
    mag = _per_group(prune.criteria.score(model, "magnitude", input_shape, include_linear=include_linear))
    dead = _per_group(prune.criteria.score(model, "dead_inputs", input_shape, include_linear=include_linear))
    try:
        gammas = _per_group(prune.criteria.score(model, "bn_gamma", input_shape))
    except ValueError:            # some group has no BatchNorm: the gamma rule does not apply
        gammas = {}
    gmax = max((float(v.max()) for v in gammas.values()), default=0.0)
    return [{"group": g, "size": len(fn), "zero": fn <= tol, "dead_input": dead[g] <= tol,
             "small_gamma": gammas[g] <= rel * gmax if g in gammas else None, "score": fn, "gamma": gammas.get(g)}
            for g, fn in mag.items()]


def _rule_mask(m: dict, rule: str) -> torch.Tensor:
    if rule == "gamma" and m["small_gamma"] is None:
        raise InvalidArgument(f"rule 'gamma' needs a BatchNorm after every pruned conv; group {m['group']!r} has "
                              f"none (use another rule of {', '.join(r for r in RULES if r != 'gamma')}, or a "
                              f"model built with batchnorm=True)")
    masks = {"magnitude": m["zero"], "dead_inputs": m["dead_input"], "bn_gamma": m["small_gamma"]}
    out = torch.zeros(m["size"], dtype=torch.bool)
    for key in RULES[rule]:
        out |= masks[key]
    return out


def _plan(ms: list[dict], rule: str) -> dict:
    keep = {m["group"]: (m["gamma"] if rule == "gamma" else m["score"]) for m in ms}
    return prune.plan_from_masks({m["group"]: _rule_mask(m, rule) for m in ms}, keep)[0]


def plan(model: nn.Module, input_shape, rule: str = "zeros+inputs", tol: float = measure.TOL,
         rel: float = 1e-2, include_linear: bool = False) -> dict:
    """``{group: [channels to remove]}`` by ``rule`` (see the module docstring); never empties a group."""
    return table_and_plan(model, input_shape, rule, tol, rel, include_linear)[1]


def channel_table(model: nn.Module, input_shape, rule: str = "zeros+inputs", tol: float = measure.TOL,
                  rel: float = 1e-2, include_linear: bool = False) -> pd.DataFrame:
    """Per prunable group: ``layer``, ``filters`` (channels), ``zero_filters`` (``||F[c]|| <= tol``),
    ``dead_inputs`` (consumer slices ``<= tol``), ``small_gamma`` (``|γ| <= rel·max|γ|``, -1 without BN),
    ``removed`` by ``rule``, ``filters_left``; a ``total`` row; ``attrs``: rule, tol, rel (the tol is
    left out of ``attrs["tol"]`` for the gamma rule, whose threshold is ``rel``). Columns match
    :func:`hgsr.measure.sparsity_table` where they overlap, for :func:`hgsr.viz.filters_per_layer`."""
    return table_and_plan(model, input_shape, rule, tol, rel, include_linear)[0]


def table_and_plan(model: nn.Module, input_shape, rule: str = "zeros+inputs", tol: float = measure.TOL,
                   rel: float = 1e-2, include_linear: bool = False) -> tuple[pd.DataFrame, dict]:
    """:func:`channel_table` and :func:`plan` from one pass over the network."""
    _check_rule(rule)
    ms = channel_masks(model, input_shape, tol, rel, include_linear)
    out = _plan(ms, rule)
    rows = [{"layer": m["group"], "filters": m["size"], "zero_filters": int(m["zero"].sum()),
             "dead_inputs": int(m["dead_input"].sum()),
             "small_gamma": int(m["small_gamma"].sum()) if m["small_gamma"] is not None else -1,
             "removed": len(out.get(m["group"], [])), "filters_left": m["size"] - len(out.get(m["group"], []))}
            for m in ms]
    df = pd.DataFrame(rows)
    total = {c: int(df[c].sum()) for c in df.columns if c != "layer"}
    df = pd.concat([df, pd.DataFrame([{"layer": "total", **total}])], ignore_index=True)
    df.attrs.update(rule=rule, rel=rel, **({} if rule == "gamma" else {"tol": tol}))
    return df, out


def plot_norm_histograms(runs: Mapping[str, experiments.Run], input_shape, tol: float = measure.TOL,
                         rel: float = 1e-2, ncols: int = 4):
    """Notebook 02's histograms, one panel per family of ``{family key: run}`` (titled with its label), each
    showing what its removal rule judges: the filter norms ``||F[o]||_2`` against ``tol`` for the families
    removed by their zeros, the BatchNorm scales ``|γ|`` against ``rel · max |γ|`` for network slimming (rule
    ``"gamma"``). Filter-norm panels share their axes (:func:`hgsr.viz.norm_histograms`). Returns the Figure."""
    from .. import viz
    from ..viz import style

    panels = {}
    for key, run in runs.items():
        fam = families.family(key)
        if fam.rule == "gamma":
            ms = [m for m in channel_masks(run.model, input_shape, tol, rel) if m["gamma"] is not None]
            names = style.ordinal_layer_names([m["group"] for m in ms])
            gammas = {names[m["group"]]: m["gamma"].numpy() for m in ms}
            gmax = max(float(v.max()) for v in gammas.values())
            panels[fam.label] = {"norms": gammas, "threshold": rel * gmax, "threshold_text": f"{rel:g}·max |γ|",
                                 "quantity": "gamma"}
        else:
            short = style.layer_names(run.model)
            panels[fam.label] = {"norms": {short.get(n, n): groups.filter_l2(c.weight.detach()).numpy()
                                           for n, c in groups.target_convs(run.model)},
                                 "threshold": tol, "threshold_text": f"tol = {tol:g}", "quantity": "filter"}
    return viz.norm_histograms(panels, ncols=ncols)


def compact_by_rule(run: experiments.Run, rule: str = "zeros+inputs", tol: float = measure.TOL, rel: float = 1e-2,
                    finetune_epochs: int = 0, finetune_lr: float | None = None, progress: bool = False,
                    device=None, include_linear: bool = False) -> dict:
    """:func:`hgsr.compact.compact_from_zeros` with the channels chosen by ``rule`` (cached); with
    ``include_linear`` hidden linear units are removed by the same rule (a zero row, or a zero column in
    the next layer).

    Same result layout: ``{"summary", "structure", "model", "history"}``; ``summary`` adds ``rule``,
    ``structure`` is :func:`channel_table`. Fine-tuning as there (the run's optimizer at
    ``compact.FINETUNE_LR_FRACTION`` of its lr, cosine schedule, no regularizer).
    """
    _check_rule(rule)
    params = {"rule": rule, "tol": tol, "rel": rel, **({"include_linear": True} if include_linear else {})}
    return compact_with(run, lambda dense, shape: table_and_plan(dense, shape, rule, tol, rel, include_linear),
                        "compact_rule", params, finetune_epochs, finetune_lr, progress, device)


OWN_RULES = (*RULES, "relative")   # a family's own rule: a rule of RULES, or "relative" (ρ·max of the layer)


def compact_by(run: experiments.Run, rule: str, rel: float | None = None, include_linear: bool = False,
               finetune_epochs: int = 0, finetune_lr: float | None = None) -> dict:
    """The compact network of ``run`` by a family's own removal ``rule`` (:data:`OWN_RULES`), cached:
    ``"zeros"`` without fc units is :func:`hgsr.compact.compact_from_zeros` (``||F|| <= tol``); ``"relative"``
    is the same with ``||F|| <= rel · max ||F||`` per layer (notebook 05's scale-free rule); any other rule is
    :func:`compact_by_rule` (``include_linear``: fc units too). ``finetune_lr``: as there (default: the run's
    lr × :data:`hgsr.compact.FINETUNE_LR_FRACTION`)."""
    if rule not in OWN_RULES:
        raise InvalidArgument(f"rule={rule!r} is not a removal rule; known: {', '.join(OWN_RULES)}")
    if rule == "relative":
        if rel is None:
            raise InvalidArgument("rule='relative' needs rel, the fraction ρ of the layer's largest filter norm")
        return compact_from_zeros(run, rel=rel, finetune_epochs=finetune_epochs, finetune_lr=finetune_lr)
    if rule == "zeros" and not include_linear:
        return compact_from_zeros(run, finetune_epochs=finetune_epochs, finetune_lr=finetune_lr)
    return compact_by_rule(run, rule, finetune_epochs=finetune_epochs, finetune_lr=finetune_lr,
                           include_linear=include_linear)


def compact_own(name: str, run: experiments.Run, finetune_epochs: int = 0) -> dict:
    """The compact network of family ``name``'s ``run`` by the family's own rule (:data:`hgsr.study.families.FAMILIES`:
    ``rule``, ``rel``, ``include_linear``; :func:`compact_by`): the one table every notebook reads a family's rule from."""
    fam = families.family(name)
    return compact_by(run, fam.rule, fam.rel, fam.include_linear, finetune_epochs)


def inputs_add_channels(model: nn.Module, input_shape, tol: float = measure.TOL) -> bool:
    """True when the ``"zeros+inputs"`` rule removes more channels than ``"zeros"`` (some channel has a
    non-zero filter but no reader), i.e. when a ``+ dead inputs`` compact network differs."""
    ms = channel_masks(model, input_shape, tol)
    return _plan(ms, "zeros+inputs") != _plan(ms, "zeros")


def compact_families(runs: Mapping[str, experiments.Run], input_shape, tol: float = measure.TOL,
                     rel: float = 1e-2, finetune_epochs: int = 0) -> dict[str, dict]:
    """The compact networks of the tables of notebooks 02 and 03, ``{label: result}`` in the order of
    ``runs`` (``{family name: run}``, :mod:`hgsr.study.families`): a family whose registry rule is
    ``"gamma"`` (network slimming) by that rule, ``|γ| <= rel·max|γ|`` (:func:`compact_by_rule`); every
    other family by its zero filters, ``||F|| <= tol`` (:func:`hgsr.compact.compact_from_zeros`), followed
    by a ``"<label> + dead inputs"`` entry by the ``"zeros+inputs"`` rule when that rule removes more
    channels (:func:`inputs_add_channels`). Each result is cached, fine-tuned ``finetune_epochs``."""
    out = {}
    for name, run in runs.items():
        fam = families.family(name)
        if fam.rule == "gamma":
            out[fam.label] = compact_by_rule(run, "gamma", rel=rel, finetune_epochs=finetune_epochs)
            continue
        out[fam.label] = compact_from_zeros(run, tol=tol, finetune_epochs=finetune_epochs)
        if inputs_add_channels(run.model, input_shape, tol):
            out[fam.label + " + dead inputs"] = compact_by_rule(run, "zeros+inputs", tol=tol,
                                                                finetune_epochs=finetune_epochs)
    return out


# ----------------------------------------------------------------------------- verdicts (notebook 02)
@torch.no_grad()
def filter_norm_gaps(models, tol: float = 1e-2, floor: float = 1e-12) -> pd.DataFrame:
    """Per model of ``{label: model}`` and target conv layer (named ``conv1``, ``conv2``, … in order): the
    widest empty band of its filter-norm histogram, i.e. the largest ratio between consecutive sorted
    filter norms ``||F[o]||_2`` (norms below ``floor`` count as ``floor``), with its edges ``gap_low`` <
    ``gap_high``, its width in decades, whether ``tol`` lies inside it (``gap_low <= tol < gap_high``:
    moving the tolerance inside the band changes no count), and the filters with norm ``<= tol``."""
    import numpy as np

    from .. import groups

    rows = []
    for label, m in models.items():
        for k, (name, conv) in enumerate(groups.target_convs(m), start=1):
            f = np.sort(np.clip(groups.filter_l2(conv.weight.detach()).double().numpy(), floor, None))
            row = {"model": label, "layer": f"conv{k}", "module": name, "filters": len(f),
                   "below_tol": int((f <= tol).sum())}
            if len(f) >= 2:
                r = np.log10(f[1:]) - np.log10(f[:-1])
                i = int(r.argmax())
                row.update(gap_low=float(f[i]), gap_high=float(f[i + 1]), gap_decades=float(r[i]),
                           tol_in_gap=bool(f[i] <= tol < f[i + 1]))
            rows.append(row)
    return pd.DataFrame(rows)


def _w(widths) -> str:
    return "-".join(str(int(w)) for w in widths)


def verdict_baselines(left: pd.DataFrame, gaps: pd.DataFrame, l1: str = "L1",
                      group: str = "group lasso (filters)") -> str:
    """Markdown for notebook 02: which families leave the fewest filters at the tolerance (``left``: one
    row per family, index = family, conv columns ``conv1``, ``conv2``, … and ``total``), how L1 compares
    with group lasso on filters, and which filter-norm histograms have a clear gap at the tolerance
    (``gaps``: :func:`filter_norm_gaps`)."""
    convs = [c for c in left.columns if c != "total"]
    total = left["total"] if "total" in left.columns else left[convs].sum(axis=1)
    order = total.sort_values(kind="stable")
    widths = {f: _w(left.loc[f, convs]) for f in left.index}
    dense = int(left[convs].max().sum())
    parts = [f"**{f}** {widths[f]}" if i == 0 else f"{f} {widths[f]}" for i, f in enumerate(order.index)]
    text = [f"Conv filters left at the tolerance, fewest first: {', '.join(parts)} (of {dense})."]
    if l1 in total.index and group in total.index:
        a, b = int(total[l1]), int(total[group])
        if a == b == dense:
            text.append(f"Neither {l1} nor {group} removes a whole filter at this tolerance.")
        elif a < b:
            text.append(f"The element-wise penalty {l1} leaves fewer filters than {group} ({a} against {b}): on this "
                        "budget it empties whole filters at least as well as the group penalty.")
        elif a > b:
            text.append(f"The element-wise penalty {l1} leaves more filters than {group} ({a} against {b}): the group "
                        "penalty empties more whole filters on this budget.")
        else:
            text.append(f"{l1} and {group} leave as many filters ({a}).")
    if len(gaps) and "gap_decades" in gaps.columns:
        g = gaps.dropna(subset=["gap_decades"])
        per = g.groupby("model")["gap_decades"].max().sort_values(ascending=False)
        top = g.loc[g["gap_decades"].idxmax()]
        text.append(f"Widest empty band of a filter-norm histogram: **{top['model']}**, {top['layer']}, between "
                    f"{top['gap_low']:.2g} and {top['gap_high']:.2g} ({top['gap_decades']:.1f} decades); per family: "
                    + ", ".join(f"{m} {d:.1f}" for m, d in per.items()) + " decades.")
        inside = g.groupby("model")["tol_in_gap"].all()
        killed = g.groupby("model")["below_tol"].sum() > 0
        stable = [m for m in per.index if inside[m] and killed[m]]
        moving = [m for m in per.index if killed[m] and not inside[m]]
        if stable:
            text.append("The tolerance lies inside the widest band of every layer for " + ", ".join(stable)
                        + ": their counts do not move when the tolerance moves inside the band.")
        if moving:
            text.append("For " + ", ".join(moving) + " the tolerance lies outside the widest band of some layer: "
                        "their counts depend on the tolerance.")
    return "\n\n".join(text)


# ----------------------------------------------------------------------------- exercise answers (notebook 02)
def zero_filters_by_tolerance(models: Mapping[str, nn.Module], tols) -> pd.DataFrame:
    """One row per model of ``{label: model}``: its conv filters, and for each ``tol`` of ``tols`` the
    filters with ``||F[o]||_2 <= tol`` over every target conv (columns named by the tolerance)."""
    tols = sorted(float(t) for t in tols)
    if len(tols) < 2:
        raise InvalidArgument(f"tols={tols!r}: give at least two tolerances (the two ends of a sweep)")
    rows = []
    for label, m in models.items():
        counts = {f"{t:g}": int(measure.sparsity_table(m, tol=t).iloc[-1]["zero_filters"]) for t in tols}
        rows.append({"model": label, "filters": int(measure.sparsity_table(m).iloc[-1]["filters"]), **counts})
    return pd.DataFrame(rows)


def tolerance_stability_answer(counts: pd.DataFrame) -> str:
    """Notebook 02, exercise 1, from :func:`zero_filters_by_tolerance`: how far each model's count of
    zero filters moves between the smallest and the largest tolerance (the filter norms that lie between
    them), and which count is the stable one."""
    tols = [c for c in counts.columns if c not in ("model", "filters")]
    lo, hi = tols[0], tols[-1]
    moved = {r["model"]: int(r[hi]) - int(r[lo]) for _, r in counts.iterrows()}
    parts = [f"{r['model']}: {int(r[lo])} zero filters at tol = {lo}, {int(r[hi])} at tol = {hi} "
             f"({moved[r['model']]} filter norms lie in between)" for _, r in counts.iterrows()]
    text = f"From tol = {lo} to tol = {hi} (of {int(counts['filters'].iloc[0])} conv filters): " + "; ".join(parts) + "."
    least = min(moved.values())
    steady = [m for m, v in moved.items() if v == least]
    if len(steady) == len(moved):
        return text + (" Both counts move by as many filters over this range: neither is more stable here."
                       if least else " Neither count moves: no filter norm of either run lies in this range.")
    return (text + f" The stable count is **{', '.join(steady)}**'s: fewer of its filter norms fall in the range the "
            "slider sweeps, so the tolerance moves through an emptier part of its histogram; every filter norm in "
            "the range changes a count by one.")


def channel_term_answer(left: pd.DataFrame, ssl: str, group: str, layer: str = "conv1") -> str:
    """Notebook 02, exercise 2, from the filters-left table (index: family label, one column per conv): how many
    ``layer`` filters SSL (label ``ssl``) and group lasso on filters (label ``group``, SSL's filter term alone)
    leave, and what SSL's channel term therefore added there."""
    missing = [x for x in (ssl, group) if x not in left.index]
    if missing or layer not in left.columns:
        raise InvalidArgument(f"left needs the rows {[ssl, group]} and the column {layer!r}; it has rows "
                              f"{list(left.index)} and columns {list(left.columns)}")
    a, b = int(left.loc[ssl, layer]), int(left.loc[group, layer])
    text = f"{layer} filters left: {ssl} {a}, {group} {b}. "
    if a < b:
        return text + (f"SSL's channel term removed **{b - a} more** {layer} filters than its filter term alone: it "
                       "zeroes the next layer's input slices, and a filter nobody reads then decays.")
    if a == b:
        return text + f"SSL's channel term removed **no more** {layer} filters than its filter term alone in this run."
    return text + (f"SSL leaves **{a - b} more** {layer} filters than its filter term alone: in this run the channel "
                   "term did not add removals there (the two runs share the filter term, not the path training took).")
