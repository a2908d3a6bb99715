"""Iterative pruning (docs/methods.md section 3, step 4): repeat score -> select -> prune (-> fine-tune).

Each round removes ``fraction`` of the channels that are left (so after ``k`` rounds about
``1 - (1 - fraction)^k`` of the original channels are gone), scored on the current compact model.
"""
from __future__ import annotations

import warnings

import pandas as pd
from torch import nn

from .. import measure, train
from .loss import loss_increase_scores
from .masks import finetune
from .scores import bn_gamma_scores, magnitude_scores, select
from .surgery import prune

SCORERS = ("loss", "magnitude", "bn_gamma")


def score(model: nn.Module, ds, input_shape, scorer: str = "loss", **kw):
    """Score table by name: ``loss`` (loss increase), ``magnitude`` (filter norm), ``bn_gamma``."""
    if scorer == "loss":
        return loss_increase_scores(model, ds, **kw)
    if scorer == "magnitude":
        return magnitude_scores(model, input_shape)
    if scorer == "bn_gamma":
        return bn_gamma_scores(model, input_shape)
    raise ValueError(f"unknown scorer {scorer!r}; known: {', '.join(SCORERS)}")


def iterative_prune(model: nn.Module, ds, input_shape, rounds: int = 3, fraction: float = 0.1,
                    scorer: str = "loss", scope: str = "global", finetune_epochs: int = 0,
                    fold: str = "exact", score_kw: dict | None = None, finetune_kw: dict | None = None,
                    evaluate: bool = True) -> tuple[nn.Module, pd.DataFrame]:
    """Prune ``rounds`` times; return the final compact model and one history row per round.

    Row columns: round, removed (channels this round), params, macs, and test_acc (when ``evaluate``).
    Groups are never emptied (their best channel is kept).
    """
    shape = tuple(input_shape)
    rows, current = [], model
    if evaluate:
        rows.append({"round": 0, "removed": 0, "params": measure.count_params(model),
                     "macs": measure.count_macs(model, shape),
                     "test_acc": train.evaluate(model, ds)["accuracy"]})
    for r in range(1, rounds + 1):
        table = score(current, ds, shape, scorer, **(score_kw or {}))
        plan = select(table, fraction=fraction, scope=scope, on_empty="keep")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            current = prune(current, plan, shape, fold=fold)
        if finetune_epochs:
            finetune(current, ds, finetune_epochs, progress=False, **(finetune_kw or {}))
        row = {"round": r, "removed": sum(len(v) for v in plan.values()),
               "params": measure.count_params(current), "macs": measure.count_macs(current, shape)}
        if evaluate:
            row["test_acc"] = train.evaluate(current, ds)["accuracy"]
        rows.append(row)
    return current, pd.DataFrame(rows)
