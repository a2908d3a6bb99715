"""Remove as many channels as an error bound allows, in score order (the ICPR paper's own rule: filters in
loss-increase order, as many as the accuracy allows).

Given a score table (lower = removed first; for ``delta_loss`` the scores of different layers are losses,
so one global order is scale-free), the channels are ranked once, and :func:`largest_within` finds the
largest count ``k`` such that removing the first ``k``

    error(prune(model, first k channels)) <= bound

by bisection over ``k`` (the error of the pruned network *before* any fine-tuning, on images the caller
chooses: a validation split). The error need not be monotone in ``k``; bisection returns a ``k`` that meets
the bound whose successor ``k + 1`` does not, which is the largest such ``k`` when it is monotone. Each probe
evaluates a masked copy (:func:`hgsr.prune.masked_copy`: the same function as the compact network), so
``O(log N)`` evaluations for ``N`` channels. A per-group floor (``min_keep``) keeps every layer non-empty.
"""
from __future__ import annotations

import math
from typing import Callable

import pandas as pd
from torch import nn

from ...errors import InvalidArgument, check_fraction, check_module, check_real, check_type
from ..removal.surgery import masked_copy


EPS = 1e-12


def ranked(scores: pd.DataFrame, score_col: str, min_keep: float) -> pd.DataFrame:
    """The removable channels of a score table in removal order (lowest score first; ties in model and
    channel order), the per-group floor ``ceil(min_keep · n_g)`` (at least one) taken off each group's
    highest-scoring channels."""
    check_type("scores", scores, pd.DataFrame, "a score table (group, channel, score)")
    missing = {"group", "channel", score_col} - set(scores.columns)
    if missing:
        raise InvalidArgument(f"scores lack column(s) {sorted(missing)}; columns: {list(scores.columns)}")
    order = {g: i for i, g in enumerate(dict.fromkeys(scores["group"]))}
    df = scores.assign(_g=scores["group"].map(order)).sort_values([score_col, "_g", "channel"], kind="stable")
    keep = {g: max(1, math.ceil(min_keep * n)) for g, n in df.groupby("group").size().items()}
    out = [d.iloc[: len(d) - keep[g]] for g, d in df.groupby("group", sort=False)]
    return pd.concat(out).sort_values([score_col, "_g", "channel"], kind="stable").drop(columns="_g")


def plan_of(order: pd.DataFrame, k: int) -> dict[str, list[int]]:
    """The plan that removes the first ``k`` channels of :func:`ranked`'s order."""
    head = order.iloc[:k]
    return {g: sorted(int(c) for c in d["channel"]) for g, d in head.groupby("group", sort=False)}


def largest_within(model: nn.Module, scores: pd.DataFrame, input_shape, error_of: Callable[[nn.Module], float],
                   bound: float, score_col: str = "score", min_keep: float = 0.0) -> dict:
    """The largest removal in score order whose pruned (not fine-tuned) network keeps ``error_of(net) <=
    bound`` (see the module docstring). Returns ``{"plan", "removed", "removable", "error", "probes"}``:
    the plan (``{group: [channels]}``, possibly empty), the channels it removes, how many could have gone
    (all but the floors), the error at the plan, and every ``(k, error)`` probed."""
    check_module("model", model)
    check_real("bound", bound)
    check_fraction("min_keep", min_keep)
    if not callable(error_of):
        raise InvalidArgument(f"error_of must be a callable model -> error, got {error_of!r}")
    order = ranked(scores, score_col, min_keep)
    probes: dict[int, float] = {}

    def err(k: int) -> float:
        if k not in probes:
            net = masked_copy(model, plan_of(order, k), input_shape) if k else model
            probes[k] = float(error_of(net))
        return probes[k]

    bound = bound + EPS                      # errors are ratios of counts: k/n at the bound counts as within
    lo, hi = 0, len(order)
    if err(lo) > bound:                       # the unpruned network is already above the bound: remove nothing
        pass
    elif err(hi) <= bound:
        lo = hi
    else:
        while hi - lo > 1:                    # invariant: err(lo) <= bound < err(hi)
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if err(mid) <= bound else (lo, mid)
    return {"plan": plan_of(order, lo), "removed": lo, "removable": len(order), "error": err(lo),
            "probes": sorted(probes.items())}

