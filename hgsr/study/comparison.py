"""Every family side by side (notebook 07): LeNet-5/MNIST registry families after removing their zero
filters and fine-tuning, the ResNet-20 filter-pruning results, and the published numbers of
docs/methods.md section 7, labelled as published.

- :func:`lenet_table`: one row per :data:`hgsr.families.FAMILIES` entry, from
  :func:`hgsr.compact.compact_from_zeros` (filters with L2 norm ``<= tol`` removed, then fine-tuned);
- :func:`published_lenet`: SSL's published LeNet-5 point (3-12 filters at 1.00 % error), with the
  parameters and MACs of a LeNet-5 of those widths counted by :mod:`hgsr.measure`;
- :func:`resnet_table`: the fine-tuned ResNet-20 points of :func:`hgsr.study.filter_pruning.study` and its headline;
- :func:`verdict`: the sentences stating, from the numbers, how the best family compares with SSL's
  published 3-12 at 1.00 % and how ResNet-20 compares with the ≥ 50 % / ≤ 1.0 point target.
"""
from __future__ import annotations

import pandas as pd

from .. import compact, experiments, measure
from ..results import CompactResult, Results, widths_text
from ..viz import pareto_front
from . import families, filter_pruning, published
ERROR_TARGET = 0.0100   # "≤ 1.00 % error after fine-tuning"
TARGET_KEY = "ssl_lenet_3_12"   # the published point to beat (data/published.csv)


def lenet_result(name: str, profile: str, tol: float = measure.TOL,
                 finetune_epochs: int | None = None) -> CompactResult:
    """One family's compact LeNet-5 (filters with L2 norm ``<= tol`` removed, then fine-tuned)."""
    P = experiments.profile(profile)
    ep = P["finetune_epochs"] if finetune_epochs is None else finetune_epochs
    run = families.family_run(name, profile, progress=False)
    s = compact.compact_from_zeros(run, tol=tol, finetune_epochs=ep)["summary"]
    return CompactResult.from_summary(families.family(name).label, s, rule=f"‖F‖ ≤ {tol:g}",
                                      seed=run.config.seed)


def lenet_results(profile: str, tol: float = measure.TOL, names=None) -> Results:
    """:func:`lenet_result` for every family of the registry (or ``names``), registry order."""
    return Results(lenet_result(n, profile, tol) for n in (names or list(families.FAMILIES)))


def published_resnet() -> pd.DataFrame:
    """The published ResNet (and slimming VGG) rows of ``data/published.csv``: source, setting, result, note."""
    df = pd.concat([published.table("resnet"), published.table("vgg")], ignore_index=True)
    return df[["source", "setting", "result", "verified", "note"]]


def resnet_table(profile: str) -> tuple[pd.DataFrame, dict]:
    """The fine-tuned ResNet-20 points of notebook 06 (:func:`hgsr.study.filter_pruning.study`, cached: one
    per protocol) and its headline (:func:`hgsr.study.filter_pruning.headline`, mean over seeds)."""
    out = filter_pruning.study(profile)
    cols = ["protocol", "fraction", "params", "macs", "params_removed", "macs_removed", "acc_pruned", "val_acc",
            "test_acc"]
    return out["finetuned"][cols], filter_pruning.headline(out)


def verdict(lenet: Results, resnet_best: dict, profile: str) -> str:
    """Markdown: the best LeNet-5 family vs the published SSL 3-12 point, and ResNet-20 vs the target."""
    target = published.lenet_result(TARGET_KEY)
    b = lenet.best(error_at_most=ERROR_TARGET)
    pub = f"{widths_text(target.widths)} ({target.filters_left} filters) at {target.error_finetuned:.2%}"
    if b is None:
        e = min((r for r in lenet if r.source == "ours"), key=lambda r: r.error_finetuned)
        first = (f"**LeNet-5 / MNIST ({profile} profile):** no family reaches ≤ {ERROR_TARGET:.2%} error "
                 f"after fine-tuning; the lowest is {e.label} at {e.error_finetuned:.2%} with "
                 f"{widths_text(e.widths)}. SSL's *published* result is {pub} (full training).")
    else:
        fewer = b.filters_left < target.filters_left
        first = (f"**LeNet-5 / MNIST ({profile} profile):** the family with the fewest filters left at "
                 f"≤ {ERROR_TARGET:.2%} error after fine-tuning is {b.label}: {widths_text(b.widths_dense)} → "
                 f"{widths_text(b.widths)} ({b.filters_left} filters) at {b.error_finetuned:.2%} error, "
                 f"{'fewer' if fewer else 'not fewer'} than SSL's *published* {pub}; the target "
                 f"(fewer than {target.filters_left} filters at ≤ {ERROR_TARGET:.2%}) is "
                 f"{'met' if fewer else 'not met'}.")
    return first + "\n\n" + filter_pruning.verdict(resnet_best, profile)


def front_verdict(points: pd.DataFrame, y: str = "test_acc") -> str:
    """Markdown: which of our families lie on the accuracy-vs-parameters and accuracy-vs-MACs fronts."""
    ours = points[points["source"] == "ours"]
    on = {ax: ours[pareto_front(ours, x=ax, y=y)]["label"].tolist() for ax in ("params", "macs")}
    both = [lab for lab in on["params"] if lab in on["macs"]]
    return (f"On the parameter axis the front holds: {', '.join(on['params'])}. On the MAC axis: "
            f"{', '.join(on['macs'])}." + (f" On both: {', '.join(both)}." if both else " No family is on both."))
