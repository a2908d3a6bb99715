"""Iterative pruning (docs/methods.md section 3, step 4): repeat score -> select -> prune (-> fine-tune).

Each round removes ``fraction`` of the channels that are left (so after ``k`` rounds about
``1 - (1 - fraction)^k`` of the original channels are gone), scored on the current compact model.
"""
from __future__ import annotations

import warnings

import pandas as pd
from torch import nn

from ... import measure, train
from ...errors import (InvalidType, check_bool, check_choice, check_fraction, check_int, check_module,
                      check_shape, check_type)
from . import criteria
from ..removal.masks import finetune
from .scores import select
from ..removal.surgery import prune

def iterative_prune(model: nn.Module, ds, input_shape, rounds: int = 3, fraction: float = 0.1,
                    scorer: str = "loss", scope: str = "global", finetune_epochs: int = 0,
                    fold: str = "exact", score_kw: dict | None = None, finetune_kw: dict | None = None,
                    evaluate: bool = True) -> tuple[nn.Module, pd.DataFrame]:
    """Prune ``rounds`` times; return the final compact model and one history row per round.

    ``scorer`` is a registered criterion (:mod:`hgsr.prune.ranking.criteria`). Row columns: round, removed (channels this round), params, macs, and test_acc (when ``evaluate``).
    Groups are never emptied (their best channel is kept).
    """
    check_module("model", model)
    shape = check_shape("input_shape", input_shape, 3)
    check_int("rounds", rounds, 1)
    check_fraction("fraction", fraction)
    criteria.get(scorer)
    check_choice("scope", scope, ("global", "layer"))
    check_int("finetune_epochs", finetune_epochs, 0)
    check_choice("fold", fold, ("exact", "zero", "approx"))
    check_type("score_kw", score_kw, dict, "a dict of keyword arguments for the criterion", optional=True)
    check_type("finetune_kw", finetune_kw, dict, "a dict of keyword arguments for finetune", optional=True)
    check_bool("evaluate", evaluate)
    if (evaluate or finetune_epochs or criteria.get(scorer).needs_data) and ds is None:
        raise InvalidType(f"ds must be a hgsr.data.Dataset here (evaluate={evaluate}, finetune_epochs="
                          f"{finetune_epochs}, scorer={scorer!r}), got None")
    rows, current = [], model
    if evaluate:
        rows.append({"round": 0, "removed": 0, "params": measure.count_params(model),
                     "macs": measure.count_macs(model, shape),
                     "test_acc": train.evaluate(model, ds)["accuracy"]})
    for r in range(1, rounds + 1):
        table = criteria.score(current, scorer, shape, ds, **(score_kw or {}))
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
