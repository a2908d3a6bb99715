"""Every family side by side (notebook 07): LeNet-5/MNIST registry families after removing their zero
filters and fine-tuning, the ResNet-20 filter-pruning results, and the published numbers of
docs/methods.md section 7, labelled as published.

- :func:`lenet_table`: one row per :data:`hgsr.families.FAMILIES` entry, from
  :func:`hgsr.compact.compact_from_zeros` (filters with L2 norm ``<= tol`` removed, then fine-tuned);
- :func:`published_lenet`: SSL's published LeNet-5 point (3-12 filters at 1.00 % error), with the
  parameters and MACs of a LeNet-5 of those widths counted by :mod:`hgsr.measure`;
- :func:`resnet_table`: the ResNet-20 points of :func:`hgsr.study.filter_pruning.study` and the published ones;
- :func:`verdict`: the sentences stating, from the numbers, how the best family compares with SSL's
  published 3-12 at 1.00 % and how ResNet-20 compares with the ≥ 50 % / ≤ 1.0 point target.
"""
from __future__ import annotations

import pandas as pd

from .. import compact, experiments, measure, models


from . import filter_pruning, families
SSL_WIDTHS = (3, 12)
SSL_ERROR, SSL_BASELINE_ERROR = 0.0100, 0.0080
ERROR_TARGET = 0.0100   # "≤ 1.00 % error after fine-tuning"

PUBLISHED_RESNET = [
    {"source": "HGSR filter pruning, Mitsuno & Kurita ICPR 2020 (abstract)", "setting": "ResNet (depth not stated), "
     "CIFAR-10, full training", "result": "> 50% params removed, -0.3 pt accuracy",
     "difference": "ours: ResNet-20 on a CIFAR-10 subset with a few epochs (profile budget)"},
    {"source": "SSL, Wen et al. NeurIPS 2016 (abstract)", "setting": "ResNet-20, CIFAR-10, depth-wise (layers removed)",
     "result": "20 -> 18 layers, 91.25% -> 92.60%", "difference": "removes layers, not channels; full training"},
    {"source": "Network Slimming, Liu et al. ICCV 2017 (reference code)", "setting": "ResNet-164, CIFAR-10, 40% channels",
     "result": "94.75% (1.71M) -> 95.05% (1.45M)", "difference": "a 164-layer bottleneck ResNet; full training"},
    {"source": "Network Slimming, Liu et al. ICCV 2017 (reference code)", "setting": "VGG-19, CIFAR-10, 70% channels",
     "result": "93.77% (20.04M) -> 93.78% (2.25M)", "difference": "VGG-19, not a ResNet; full training"},
]


def lenet_row(name: str, profile: str, tol: float = measure.TOL, finetune_epochs: int | None = None) -> dict:
    """One family's row: widths ``"20-50 → a-b"``, error (1 − accuracy) of the trained model, after
    removing filters with norm ``<= tol`` and after fine-tuning, params/MACs left and removed."""
    P = experiments.profile(profile)
    ep = P["finetune_epochs"] if finetune_epochs is None else finetune_epochs
    run = families.family_run(name, profile, progress=False)
    s = compact.compact_from_zeros(run, tol=tol, finetune_epochs=ep)["summary"]
    return {"family": name, "label": families.family(name).label, "notebook": families.family(name).notebook,
            "widths": f"{s['widths_dense']} → {s['widths']}", "filters_left": _total(s["widths"]),
            "error_dense": 1 - s["acc_dense"], "error_pruned": 1 - s["acc_pruned"],
            "error_finetuned": 1 - s["acc_finetuned"], "params": s["params"], "macs": s["macs"],
            "params_removed": s["params_removed"], "macs_removed": s["macs_removed"], "tol": tol}


def _total(widths: str) -> int:
    return sum(int(w) for w in widths.split("-"))


def lenet_table(profile: str, tol: float = measure.TOL, families=None) -> pd.DataFrame:
    """:func:`lenet_row` for every family of the registry (or ``families``), registry order."""
    return pd.DataFrame([lenet_row(n, profile, tol) for n in (families or list(families.FAMILIES))])


def published_lenet() -> dict:
    """SSL's published LeNet-5/MNIST point (third-party table) as a row of :func:`lenet_table`'s
    columns: 3-12 conv filters, 0.80 % → 1.00 % error; params and MACs of a Caffe LeNet-5 of those
    widths (hidden layer 500) counted here, relative to the 20-50 original."""
    dense = models.build("lenet5", 10, 1, 28)
    small = models.build("lenet5", 10, 1, 28, widths=(*SSL_WIDTHS, 500))
    shape = (1, 28, 28)
    p0, p1 = measure.count_params(dense), measure.count_params(small)
    m0, m1 = measure.count_macs(dense, shape), measure.count_macs(small, shape)
    return {"family": "ssl_published", "label": "SSL (published, Wen et al. 2016)", "notebook": "",
            "widths": "20-50 → " + "-".join(map(str, SSL_WIDTHS)), "filters_left": sum(SSL_WIDTHS),
            "error_dense": SSL_BASELINE_ERROR, "error_pruned": float("nan"), "error_finetuned": SSL_ERROR,
            "params": p1, "macs": m1, "params_removed": 1 - p1 / p0, "macs_removed": 1 - m1 / m0,
            "tol": float("nan"), "source": "published (Wen et al. 2016; third-party table)"}


def best_family(table: pd.DataFrame, max_error: float = ERROR_TARGET) -> dict | None:
    """The family with the fewest conv filters left among those with fine-tuned error ``<= max_error``
    (ties: lower error); None when no family reaches it."""
    ok = table[table["error_finetuned"] <= max_error]
    if ok.empty:
        return None
    return ok.sort_values(["filters_left", "error_finetuned"]).iloc[0].to_dict()


def resnet_table(profile: str) -> tuple[pd.DataFrame, dict]:
    """Our fine-tuned ResNet-20 points (:func:`hgsr.study.filter_pruning.study` with its defaults, i.e. the
    cached results of notebook 06) and the headline point of :func:`hgsr.study.filter_pruning.headline`."""
    out = filter_pruning.study(profile)
    ft = out["finetuned"].assign(acc_dense=out["acc_dense"])
    cols = ["name", "model", "criterion", "fraction", "params", "macs", "params_removed", "macs_removed",
            "acc_dense", "acc_pruned", "test_acc", "acc_change_points"]
    return ft[cols], filter_pruning.headline(out)


def verdict(lenet: pd.DataFrame, resnet_best: dict, profile: str) -> str:
    """Markdown: the best LeNet-5 family vs SSL's published 3-12 at 1.00 %, and ResNet-20 vs the target."""
    b = best_family(lenet)
    ssl = "-".join(map(str, SSL_WIDTHS))
    if b is None:
        e = lenet.sort_values("error_finetuned").iloc[0]
        first = (f"**LeNet-5 / MNIST ({profile} profile, tol 1e-2):** no family reaches ≤ {ERROR_TARGET:.2%} error "
                 f"after fine-tuning; the lowest is {e['label']} at {e['error_finetuned']:.2%} with "
                 f"{e['widths']}. SSL's *published* result is {ssl} filters at {SSL_ERROR:.2%} (full training).")
    else:
        fewer = b["filters_left"] < sum(SSL_WIDTHS)
        first = (f"**LeNet-5 / MNIST ({profile} profile, tol 1e-2):** the family with the fewest filters left at "
                 f"≤ {ERROR_TARGET:.2%} error after fine-tuning is {b['label']}: {b['widths']} "
                 f"({b['filters_left']} filters) at {b['error_finetuned']:.2%} error, "
                 f"{'fewer' if fewer else 'not fewer'} than SSL's *published* {ssl} ({sum(SSL_WIDTHS)} filters) "
                 f"at {SSL_ERROR:.2%}; the target (fewer than {ssl} at ≤ {ERROR_TARGET:.2%}) is "
                 f"{'met' if fewer else 'not met'}.")
    r = resnet_best
    second = (f"**ResNet-20 / CIFAR-10 ({profile} profile):** `{r['name']}` removes {r['params_removed']:.1%} of "
              f"the parameters and {r['macs_removed']:.1%} of the MACs with an accuracy change of "
              f"{r['acc_change_points']:+.2f} points against the dense baseline ({100 * r['acc_dense']:.2f}%); "
              f"the target (≥ {filter_pruning.TARGET_PARAMS_REMOVED:.0%} removed for ≤ "
              f"{filter_pruning.TARGET_DROP_POINTS:.1f} point drop) is {'met' if r['meets_target'] else 'not met'}. "
              f"*Published* (HGSR, ICPR 2020): > 50% removed for -0.3 points, with full training.")
    return first + "\n\n" + second
