"""Every family side by side (notebook 07): the LeNet-5/MNIST fronts of :mod:`hgsr.study.fronts` and the
published numbers of docs/methods.md section 7, labelled as published (ResNet-20's own result is notebook 06's,
:mod:`hgsr.study.filter_pruning`).

- :func:`published_resnet`: the published ResNet (and slimming VGG) rows;
- :func:`front_verdict`: which families have a point on the accuracy-vs-parameters and -vs-MACs fronts;
- :func:`verdict`: the LeNet-5 sentence of :func:`hgsr.study.fronts.verdict`.
"""
from __future__ import annotations

import pandas as pd

from ..viz import pareto_front
from . import fronts, published


def published_resnet() -> pd.DataFrame:
    """The published ResNet (and slimming VGG) rows of ``data/published.csv``: source, setting, result, note."""
    df = pd.concat([published.table("resnet"), published.table("vgg")], ignore_index=True)
    return df[["source", "setting", "result", "verified", "note"]]


def verdict(table: pd.DataFrame, points: pd.DataFrame, profile: str, bounds: dict | None = None) -> str:
    """Markdown: the LeNet-5 fronts' verdict (:func:`hgsr.study.fronts.verdict` of the per-family ``table``
    and the ``points``, chosen with ``bounds``). ResNet-20's is notebook 06's
    (:func:`hgsr.study.filter_pruning.verdict`), stated there and not recomputed here."""
    rules = list(dict.fromkeys(table["rule"])) if "rule" in table.columns else []
    rule = f", removal rule: {rules[0]}" if len(rules) == 1 else ", each family's own removal rule"
    return f"**LeNet-5 / MNIST ({profile} profile{rule}).** " + fronts.verdict(table, points, bounds)


def front_verdict(points: pd.DataFrame, y: str = "test_acc") -> str:
    """Markdown: which families have a point on the accuracy-vs-parameters and accuracy-vs-MACs fronts
    (rows with a ``source`` other than "ours" are left out)."""
    ours = points[points["source"] == "ours"] if "source" in points.columns else points
    on = {ax: list(dict.fromkeys(ours[pareto_front(ours, x=ax, y=y)]["label"])) for ax in ("params", "macs")}
    both = [lab for lab in on["params"] if lab in on["macs"]]
    return (f"On the parameter axis the front holds: {', '.join(on['params'])}. On the MAC axis: "
            f"{', '.join(on['macs'])}." + (f" On both: {', '.join(both)}." if both else " No family is on both."))
