"""Iterative pruning (docs/methods.md section 3, step 4): repeat score -> select -> remove (-> fine-tune).

One core, :func:`rescore_and_select`: score the channels still in play with a registered criterion on the
current model, rank the channels already removed first, select. Two loops use it:

- :func:`iterative_prune` removes each round's choice *physically*: each round removes ``fraction`` of the
  channels that are left (after ``k`` rounds about ``1 - (1 - fraction)^k`` of the original channels are
  gone), scored on the current compact model, optionally fine-tuned between rounds;
- :func:`iterative_plans` *silences* each chunk in a copy of the model (the channels keep their indices) and
  returns the cumulative plans at several fractions of the candidate channels, each chunk re-scored on the
  silenced model (ΔL is not additive); notebook 06's iterative protocols use it.
"""
from __future__ import annotations

import copy
import math
import warnings
from typing import Iterable, Sequence

import pandas as pd
import torch
from torch import nn

from ... import measure, train
from ...errors import (InvalidArgument, InvalidType, check_bool, check_choice, check_fraction, check_int,
                       check_module, check_shape, check_type)
from . import criteria
from ..removal.masks import finetune
from ..removal.silence import silence
from ..removal.structure import prunable_groups
from .scores import select
from ..removal.surgery import prune


def rescore_and_select(model: nn.Module, ds, input_shape, fraction: float, scorer: str = "loss",
                       scope: str = "global", groups: Iterable[str] | None = None,
                       removed: dict[str, list[int]] | None = None, scores: pd.DataFrame | None = None,
                       score_kw: dict | None = None, min_keep: float = 0.0) -> dict[str, list[int]]:
    """One step of iterative pruning: the plan that removes ``fraction`` of the candidate channels
    (``groups``; None = every prunable group) with the lowest ``scorer`` scores on ``model``, the channels
    of ``removed`` ranked first (already gone); no group is emptied (``select(..., on_empty="keep")``).

    The criterion scores only the candidate channels not in ``removed`` where it can (``channels=``, e.g.
    ``loss``); ``scores``: their table if already known (then nothing is scored). The plan includes
    ``removed``: plans are cumulative. ``min_keep``: the floor per group of :func:`hgsr.prune.select`."""
    removed = removed or {}
    if scores is None:
        kw = dict(score_kw or {})
        if groups is not None or removed:
            sizes = {g.name: g.size for g in prunable_groups(model, input_shape)}
            wanted = sizes if groups is None else groups
            left = {g: [c for c in range(sizes[g]) if c not in removed.get(g, [])] for g in wanted}
            kw["channels"] = {g: c for g, c in left.items() if c}
        scores = criteria.score(model, scorer, input_shape, ds, **kw)
    keep = scores["group"].isin(groups) if groups is not None else pd.Series(True, index=scores.index)
    if removed:
        keep &= pd.Series([c not in removed.get(g, []) for g, c in zip(scores["group"], scores["channel"])],
                          index=scores.index, dtype=bool)
    fresh = scores[keep] if groups is not None or removed else scores
    pairs = [(g, c) for g, cs in removed.items() for c in cs]
    done = pd.DataFrame({"group": pd.Series([g for g, _ in pairs], dtype=object),
                         "channel": pd.Series([c for _, c in pairs], dtype="int64"),
                         "score": pd.Series([-math.inf] * len(pairs), dtype="float64")})
    table = pd.concat([done, fresh[["group", "channel", "score"]]], ignore_index=True) if pairs else fresh
    return select(table, fraction=fraction, scope=scope, on_empty="keep", min_keep=min_keep)


def iterative_plans(model: nn.Module, ds, input_shape, fractions: Sequence[float], scorer: str = "loss",
                    groups: Iterable[str] | None = None, first: pd.DataFrame | None = None,
                    scope: str = "global", score_kw: dict | None = None,
                    min_keep: float = 0.0) -> dict[float, dict[str, list[int]]]:
    """``{fraction: plan}``, cumulative, for each of ``fractions`` (ascending) of the candidate channels
    (``groups``; None = every prunable group), re-scored between chunks: the channels chosen so far are
    silenced in a copy of ``model`` (:func:`hgsr.prune.silence`), the remaining candidates re-scored by
    ``scorer`` (``score_kw``: its options, e.g. ``n_samples``), and the lowest added until the fraction
    is reached (:func:`rescore_and_select`). ``first``: the score table of the unsilenced model, if already
    known (the first chunk then costs no scoring). ``min_keep``: the floor per group of
    :func:`hgsr.prune.select`. ``model`` is left untouched."""
    check_module("model", model)
    shape = check_shape("input_shape", input_shape, 3)
    check_type("fractions", fractions, (list, tuple), "a list of fractions in [0, 1]")
    if not fractions:
        raise InvalidArgument("fractions is empty: give at least one fraction of the channels to remove")
    for f in fractions:
        check_fraction("fractions", f)
    criteria.get(scorer)
    check_choice("scope", scope, ("global", "layer"))
    check_type("first", first, pd.DataFrame, "a score table of the unsilenced model", optional=True)
    check_type("score_kw", score_kw, dict, "a dict of keyword arguments for the criterion", optional=True)
    work = copy.deepcopy(model).eval()
    gs = {g.name: g for g in prunable_groups(work, shape)}
    if groups is not None:
        unknown = sorted(set(groups) - set(gs))
        if unknown:
            raise InvalidArgument(f"groups: {unknown} are not prunable groups of the model; known: {', '.join(gs)}")
    plan: dict[str, list[int]] = {}
    out = {}
    for k, f in enumerate(sorted(fractions)):
        known = first if k == 0 else None
        plan = rescore_and_select(work, ds, shape, f, scorer, scope, groups, plan, known, score_kw, min_keep)
        with torch.no_grad():
            for g, chans in plan.items():
                silence(work, gs[g], chans)
        out[f] = {g: list(c) for g, c in plan.items()}
    return out


def iterative_prune(model: nn.Module, ds, input_shape, rounds: int = 3, fraction: float = 0.1,
                    scorer: str = "loss", scope: str = "global", finetune_epochs: int = 0,
                    fold: str = "exact", score_kw: dict | None = None, finetune_kw: dict | None = None,
                    evaluate: bool = True) -> tuple[nn.Module, pd.DataFrame]:
    """Prune ``rounds`` times; return the final compact model and one history row per round.

    ``scorer`` is a registered criterion (:mod:`hgsr.prune.ranking.criteria`; ``score_kw``: its options).
    Each round is one :func:`rescore_and_select` on the current compact model, cut out physically
    (:func:`hgsr.prune.prune`). Row columns: round, removed (channels this round), params, macs, and
    test_acc (when ``evaluate``). Groups are never emptied (their best channel is kept).
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
        plan = rescore_and_select(current, ds, shape, fraction, scorer, scope, score_kw=score_kw)
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
