"""Relative-threshold sweep of a trained run (docs/methods.md sections 5 and 6), without fine-tuning.

For each ``ρ``, the filters with ``||F[o]||_2 <= ρ · max_o' ||F[o']||_2`` of their layer are removed
(:func:`hgsr.prune.zero_plan` with ``rel=ρ``; a layer always keeps its largest filter) by real
surgery (:func:`hgsr.prune.prune`, exact constant folding), and the compact network is evaluated as
it is. Cheaper than one :func:`hgsr.compact.compact_from_zeros` per ``ρ``: the dense accuracy is
computed once. Cached by the run's config hash and the grid (:func:`hgsr.experiments.cached`).

Notebook 05 also calls :func:`rule_comparison` (relative against absolute rule, fine-tuned),
:func:`scale_check` (the penalty at scaled weights) and :func:`spec_text`.
"""
from __future__ import annotations

import re
from typing import Mapping, Sequence

import pandas as pd

from .. import compact, experiments, measure, models, prune, regularizers, results, train
from ..errors import InvalidArgument, check_range
from ..viz import vocabulary
from . import theory_checks

DEFAULT_RHOS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7)


def relative_threshold_sweep(run: experiments.Run, rhos: Sequence[float] = DEFAULT_RHOS) -> pd.DataFrame:
    """One row per ``ρ``: rho, widths ("a-b"), filters_left (conv filters kept), params, macs,
    params_removed, macs_removed (fractions of the dense network), test_acc (compact, not fine-tuned),
    acc_drop (dense accuracy − test_acc). ``attrs``: acc_dense, widths_dense, params_dense, macs_dense.
    """
    rhos = [float(r) for r in rhos]
    if not rhos or any(not 0 <= r < 1 for r in rhos):
        raise InvalidArgument(f"rhos must be a non-empty list of values in [0, 1), got {rhos}")
    cfg = run.config

    def compute():
        ds = experiments.dataset_for(cfg)
        shape = experiments.input_shape(ds)
        dense = compact.masked_by_support(run.model)
        acc0 = train.evaluate(dense, ds)["accuracy"]
        rows = []
        for rho in rhos:
            _, m = compact.prune_and_measure(dense, prune.zero_plan(dense, shape, rel=rho), ds, shape, acc0)
            rows.append({"rho": rho, "widths": results.widths_text(m["widths"]), "filters_left": sum(m["widths"]),
                         "params": m["params"], "macs": m["macs"], "params_removed": m["params_removed"],
                         "macs_removed": m["macs_removed"], "test_acc": m["acc_pruned"],
                         "acc_drop": acc0 - m["acc_pruned"]})
        df = pd.DataFrame(rows)
        df.attrs.update(acc_dense=acc0, widths_dense=results.widths_text(compact.conv_widths(dense)),
                        params_dense=measure.count_params(dense), macs_dense=measure.count_macs(dense, shape))
        return df

    df = experiments.cached("rel_sweep", {"run": cfg.hash(), "rhos": rhos, "schema": results.SCHEMA_VERSION}, compute)
    return df


def sweep_table(sweeps: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The sweeps of :func:`relative_threshold_sweep` (``{family label: sweep}``) as one table with a
    ``family`` column (last)."""
    return pd.concat([d.assign(family=label) for label, d in sweeps.items()], ignore_index=True)


def choose_rho(sweep: pd.DataFrame, max_drop: float = 0.01) -> float:
    """The largest ``ρ`` of ``sweep`` such that it and every smaller ``ρ`` of the grid lose at most
    ``max_drop`` accuracy before fine-tuning (a fraction: 0.01 = one point); the smallest ``ρ`` of
    the grid when even that one loses more."""
    check_range("max_drop", max_drop, 0.0, 1.0, high_open=True)
    d = sweep.sort_values("rho")
    bad = (d["acc_drop"] > max_drop).to_numpy().cumsum() > 0
    ok = d["rho"][~bad]
    return float(ok.iloc[-1]) if len(ok) else float(d["rho"].iloc[0])


# The columns of notebook 05's summary table, in order (:func:`rule_comparison` has them and more).
SUMMARY_COLUMNS = ["family", "rule", "widths_dense", "widths", "acc_dense", "acc_pruned", "acc_finetuned",
                   "error_finetuned", "params", "params_removed", "macs", "macs_removed"]


def rule_comparison(runs: Mapping[str, experiments.Run], labels: Mapping[str, str], rho: Mapping[str, float],
                    tol: float = measure.TOL, finetune_epochs: int = 0) -> pd.DataFrame:
    """Each run of ``{family: run}`` compacted twice (:func:`hgsr.compact.compact_from_zeros`, cached, then
    fine-tuned ``finetune_epochs``): by the relative rule ``||F[o]|| <= ρ·max`` with its ``rho[family]``,
    and by the absolute rule ``||F[o]|| <= tol``. One row per family and rule: ``family`` (its
    ``labels[family]``), ``rule`` (as text), the compact summary's fields (widths as ``"20-50"`` text) and
    ``error_finetuned``."""
    rows = []
    for n, run in runs.items():
        for rule, kw in ((f"relative ρ = {rho[n]:g}", {"rel": rho[n]}), (f"absolute tol = {tol:g}", {"tol": tol})):
            s = compact.compact_from_zeros(run, finetune_epochs=finetune_epochs, **kw)["summary"]
            rows.append({"family": labels[n], "rule": rule, **s})
    summary = pd.DataFrame(rows)
    summary["error_finetuned"] = 1 - summary["acc_finetuned"]
    for col in ("widths_dense", "widths"):
        summary[col] = summary[col].map(results.widths_text)
    return summary


def scale_check(lam: float, l1_spec, levels: Sequence[str] = ("filter", "per_filter", "per_kernel"),
                seed: int = 0) -> pd.DataFrame:
    """:func:`hgsr.study.theory_checks.scale_invariance_table` of L1/L2 at each ``level`` (λ = ``lam``)
    and of L1 (``l1_spec``, a registry spec) on a fresh LeNet-5 drawn after seeding everything with
    ``seed`` (the same random network whatever ran before). Each is named as a reader reads it
    (``"L1/L2, per filter"``: :data:`hgsr.viz.vocabulary.SPEC_VALUES`)."""
    train.seed_everything(seed)
    fresh = models.build("lenet5", 10, 1, 28)
    regs = {f"L1/L2, {vocabulary.SPEC_VALUES['level'].get(lv, lv)}": regularizers.build("l1_over_l2", lam=lam, level=lv)
            for lv in levels}
    regs["L1"] = regularizers.from_spec(l1_spec)
    return theory_checks.scale_invariance_table(regs, fresh)


def spec_text(spec, reg) -> str:
    """Three lines: the registry spec of the L1/L2 family, the regularizer it builds and that
    regularizer's signature."""
    import inspect

    return (f"registry spec: {spec}\nregularizer:   {reg}\nsignature:     hgsr.regularizers.build('l1_over_l2', ...) "
            f"-> {type(reg).__name__}{inspect.signature(type(reg))}")


# ----------------------------------------------------------------------------- verdicts (notebook 05)
def rho_note(rho: dict, labels: dict, max_drop: float) -> str:
    """Markdown: the ρ chosen by :func:`choose_rho` for each family."""
    return ("Chosen ρ (largest grid value such that it and every smaller one lose ≤ "
            f"{max_drop:.0%} accuracy before fine-tuning): "
            + ", ".join(f"{labels[n]}: ρ = {rho[n]:g}" for n in rho))


def _filters(w) -> int:
    return sum(int(x) for x in (w.split("-") if isinstance(w, str) else w))


def _wt(w) -> str:
    return w if isinstance(w, str) else "-".join(str(int(x)) for x in w)


def _compare(a, b) -> str:
    fa, fb = _filters(a["widths"]), _filters(b["widths"])
    ea, eb = float(a["error_finetuned"]), float(b["error_finetuned"])
    if fa <= fb and ea <= eb and (fa < fb or ea < eb):
        return "better"
    if fa >= fb and ea >= eb and (fa > fb or ea > eb):
        return "worse"
    if fa == fb and ea == eb:
        return "equal"
    return "trade-off"


def verdict(summary: pd.DataFrame, ratio_label: str, l1_label: str, baseline_label: str | None = None,
            finetune_epochs: int | None = None) -> str:
    """Markdown for notebook 05 from its summary table (one row per family and rule: ``family``, ``rule``
    starting ``relative`` or ``absolute``, ``widths``, ``widths_dense``, ``error_finetuned``,
    ``params_removed``, ``macs_removed``): what each family keeps under the relative rule, and whether
    L1/L2 ends better or worse than L1 (fewer filters *and* lower error after fine-tuning, or the
    reverse, or a trade-off) under each rule."""
    def pick(family, rule):
        d = summary[(summary["family"] == family) & summary["rule"].str.startswith(rule)]
        if d.empty:
            raise InvalidArgument(f"summary has no {rule!r} row for family {family!r}; its families are "
                                  f"{sorted(set(summary['family']))}")
        return d.iloc[0]
    a, b = pick(ratio_label, "relative"), pick(l1_label, "relative")
    ft = f" after {finetune_epochs} fine-tuning epoch(s)" if finetune_epochs is not None else " after fine-tuning"
    text = [f"With the relative rule, {ratio_label} keeps **{_wt(a['widths'])}** filters (of {_wt(a['widths_dense'])}) "
            f"at {a['error_finetuned']:.2%} error{ft}, removing {a['params_removed']:.1%} of the parameters and "
            f"{a['macs_removed']:.1%} of the MACs; {l1_label} keeps {_wt(b['widths'])} ({b['error_finetuned']:.2%} error, "
            f"{b['params_removed']:.1%} of the parameters removed)"]
    if baseline_label is not None:
        c = pick(baseline_label, "relative")
        text[0] += f"; {baseline_label} {_wt(c['widths'])} ({c['error_finetuned']:.2%}, {c['params_removed']:.1%})"
    text[0] += "."
    words = {"better": "ends **better** than", "worse": "ends **worse** than", "equal": "ends level with",
             "trade-off": "trades against"}
    outcomes = {}
    for rule in ("relative", "absolute"):
        try:
            x, y = pick(ratio_label, rule), pick(l1_label, rule)
        except ValueError:
            continue
        o = outcomes[rule] = _compare(x, y)
        detail = (f"{_filters(x['widths'])} filters at {x['error_finetuned']:.2%} error against "
                  f"{_filters(y['widths'])} at {y['error_finetuned']:.2%}")
        if o == "trade-off":
            fewer = _filters(x["widths"]) < _filters(y["widths"])
            detail += f": {'fewer filters but a higher' if fewer else 'more filters but a lower'} error"
        text.append(f"{rule.capitalize()} rule: {ratio_label} {words[o]} {l1_label} ({detail}).")
    errs_worse = all(pick(ratio_label, r)["error_finetuned"] > pick(l1_label, r)["error_finetuned"]
                     for r in outcomes)
    if outcomes and errs_worse:
        text.append(f"Under every rule {ratio_label} ends with a higher error than {l1_label} after fine-tuning.")
    return " ".join(text)


# ----------------------------------------------------------------------------- exercise answers (notebook 05)
def _ints(widths) -> list[int]:
    """Conv widths as integers, from a tuple or from text ("3-9", "(3, 9)")."""
    return [int(x) for x in (re.findall(r"\d+", widths) if isinstance(widths, str) else widths)]


def _rule_row(summary: pd.DataFrame, family: str, rule: str) -> pd.Series:
    """The row of notebook 05's summary table for ``family`` under the rule whose text starts with ``rule``."""
    d = summary[(summary["family"] == family) & summary["rule"].str.startswith(rule)]
    if d.empty:
        raise InvalidArgument(f"summary has no {rule!r} row for family {family!r}; its families are "
                              f"{sorted(set(summary['family']))}")
    return d.iloc[0]


def next_rho(rhos: Sequence[float], rho: float) -> float | None:
    """The grid value of ``rhos`` right above ``rho`` (None when ``rho`` is the largest)."""
    above = [r for r in rhos if r > rho]
    return min(above) if above else None


def next_rho_answer(summary: pd.DataFrame, family: str, rho: float, nxt: float | None, at_next: dict | None,
                    max_drop: float) -> str:
    """Notebook 05, exercise 4: is the choice of ρ on accuracy *before* fine-tuning too cautious? From the
    summary table of section 6 (``family``'s row under the relative rule at the chosen ``rho``) and the
    compact summary (:func:`hgsr.compact.compact_from_zeros`) at the next grid value ``nxt``: the rule was too
    cautious when ``nxt`` removes more filters and, after the same fine-tuning, still keeps the accuracy
    within ``max_drop`` of the unpruned network."""
    chosen = _rule_row(summary, family, "relative")
    if nxt is None or at_next is None:
        return (f"ρ = {rho:g} is the largest value of the grid: there is no larger ρ to try, so this run cannot say "
                "whether the rule was too cautious.")
    floor = float(chosen["acc_dense"]) - max_drop
    f0, f1 = sum(_ints(chosen["widths"])), sum(_ints(at_next["widths"]))
    a0, a1 = float(chosen["acc_finetuned"]), float(at_next["acc_finetuned"])
    text = (f"{family}: at the chosen ρ = {rho:g}, {_wt(chosen['widths'])} filters and {a0:.2%} accuracy after "
            f"fine-tuning; at the next ρ = {nxt:g}, {_wt(at_next['widths'])} and {a1:.2%}; the unpruned network has "
            f"{float(chosen['acc_dense']):.2%}, so the budget of {max_drop:.0%} allows {floor:.2%}. ")
    if f1 >= f0:
        return text + "The next ρ removes no more filters: nothing to gain, so the rule lost nothing by stopping."
    if a1 >= floor:
        return text + ("**Yes, too cautious** here: fine-tuning brings the network with fewer filters back within the "
                       "budget, so accuracy before fine-tuning overstated the cost of the next step.")
    return text + ("**No**: even after fine-tuning the network at the next ρ stays below the budget; the drop in the "
                   "sweep was real damage.")


def rule_agreement_answer(summary: pd.DataFrame, families: Sequence[str]) -> str:
    """Notebook 05, exercise 5, from the summary table of section 6: per family of ``families``, the widths
    under the relative and the absolute rule and how many filters they differ by (summed over layers); the
    family whose two rules differ by fewer filters is the one where they agree better."""
    diff, parts = {}, []
    for fam in families:
        r, a = _rule_row(summary, fam, "relative"), _rule_row(summary, fam, "absolute")
        wr, wa = _ints(r["widths"]), _ints(a["widths"])
        diff[fam] = sum(abs(x - y) for x, y in zip(wr, wa))
        parts.append(f"{fam}: {_wt(r['widths'])} under the relative rule ({r['rule']}), {_wt(a['widths'])} under the "
                     f"absolute one ({a['rule']}), {diff[fam]} filters apart")
    best = min(diff.values())
    closest = [f for f, d in diff.items() if d == best]
    verdict = (f"the two rules agree better for **{closest[0]}**" if len(closest) == 1
               else "the two rules agree equally well for " + " and ".join(closest))
    return "; ".join(parts) + f". In this run {verdict}."
