"""Channel importance scores and the choice of channels to remove.

Every score table has one row per prunable channel: ``group``, ``channel``, ``score``. Convention:
**lower score = removed first**.

- :func:`magnitude_scores`: ``score_c = sqrt(sum over the group's convs of ||F_conv[c]||_2^2)``, the
  L2 norm of all coupled filters of channel c (for a single conv, the filter norm ``||W[c]||_2``).
- :func:`bn_gamma_scores`: ``score_c = sqrt(sum over the group's BatchNorms of gamma_c^2)`` (for a single
  BatchNorm, ``|gamma_c|``: Network Slimming's criterion).
- :func:`select`: the channels with the lowest scores, by threshold (``score <= tau``) or by fraction,
  globally or per layer; a group is never emptied.
"""
from __future__ import annotations

import math

import pandas as pd
import torch
from torch import nn

from ... import groups as hgroups
from ...errors import (InvalidArgument, InvalidType, check_choice, check_fraction, check_real, check_str,
                      check_type)
from ..removal.structure import EmptyLayerError, prunable_groups

Plan = dict  # {group name: sorted list of channel indices to remove}


def score_table(rows: dict[str, torch.Tensor]) -> pd.DataFrame:
    """``{group: scores (size,)}`` → the score table (columns group, channel, score), group order kept."""
    if not rows:
        raise InvalidArgument("no prunable group to score (the model has no prunable channels)")
    parts = [pd.DataFrame({"group": name, "channel": range(len(v)), "score": v.cpu().double().numpy()})
             for name, v in rows.items()]
    return pd.concat(parts, ignore_index=True)


@torch.no_grad()
def magnitude_scores(model: nn.Module, example_input, include_linear: bool = False) -> pd.DataFrame:
    """Filter L2 norm per group channel (over all coupled filters); lower = removed first."""
    out = {}
    for g in prunable_groups(model, example_input, include_linear):
        sq = sum(hgroups.layer_filter_norms(model.get_submodule(c)).pow(2) for c in g.convs)
        out[g.name] = sq.sqrt()
    return score_table(out)


@torch.no_grad()
def bn_gamma_scores(model: nn.Module, example_input) -> pd.DataFrame:
    """``|gamma|`` of the BatchNorm after the conv (L2 over coupled BatchNorms); lower = removed first."""
    out = {}
    for g in prunable_groups(model, example_input):
        if not g.bns:
            raise InvalidArgument(f"group {g.name!r} (layers {', '.join(g.convs)}) has no BatchNorm; "
                             f"bn_gamma_scores needs one after every pruned conv")
        sq = sum(model.get_submodule(b).weight.detach().pow(2) for b in g.bns)
        out[g.name] = sq.sqrt()
    return score_table(out)


def plan_from_masks(masks: dict[str, torch.Tensor], keep_scores: dict[str, torch.Tensor],
                    on_empty: str = "keep") -> tuple[Plan, set[str]]:
    """The one mask → plan rule: ``{group: bool mask over its channels (True = remove)}`` → ``(plan,
    emptied)``. A group whose mask selects every channel is never emptied: with ``on_empty="keep"`` its
    channel with the highest ``keep_scores`` stays (the group is listed in ``emptied``); with
    ``"raise"`` :class:`EmptyLayerError` names it. Groups with nothing removed are left out of the plan."""
    check_choice("on_empty", on_empty, ("raise", "keep"))
    plan: Plan = {}
    emptied: set[str] = set()
    for g, mask in masks.items():
        mask = torch.as_tensor(mask, dtype=torch.bool).clone()
        if len(mask) and bool(mask.all()):
            if on_empty == "raise":
                raise EmptyLayerError(f"pruning would empty layer {g!r}: all {len(mask)} of its channels "
                                      f"are selected; lower the fraction/threshold, or pass "
                                      f"on_empty='keep' to keep its best channel")
            mask[int(torch.as_tensor(keep_scores[g]).argmax())] = False
            emptied.add(g)
        idx = mask.nonzero().flatten().tolist()
        if idx:
            plan[g] = idx
    return plan, emptied


def select(scores: pd.DataFrame, fraction: float | None = None, threshold: float | None = None,
           scope: str = "global", score_col: str = "score", on_empty: str = "raise", min_keep: float = 0.0) -> Plan:
    """Channels to remove: ``{group: [channel, ...]}`` (groups with nothing removed are left out).

    Exactly one of ``threshold`` (remove every channel with ``score <= threshold``) and ``fraction``
    (remove that fraction of the channels with the lowest scores: of all channels together for
    ``scope="global"``, of each group for ``scope="layer"``, rounded to the nearest count).

    ``min_keep``: a floor per group: at least ``ceil(min_keep · n_g)`` of a group's ``n_g`` scored channels
    stay. With ``fraction`` the count removed is unchanged where the floor allows it: a global selection
    passes over the channels of groups at their floor and takes the next lowest scores instead.
    A group is never emptied: with ``on_empty="raise"`` a selection that would remove all channels
    of a group raises :class:`EmptyLayerError` naming it; with ``on_empty="keep"`` its highest-scoring
    channel is kept.
    """
    if (fraction is None) == (threshold is None):
        raise InvalidArgument(f"give exactly one of fraction= or threshold=, got fraction={fraction!r}, "
                              f"threshold={threshold!r}")
    check_fraction("fraction", fraction, optional=True)
    check_real("threshold", threshold, optional=True, allow_inf=True)
    check_choice("scope", scope, ("global", "layer"))
    check_choice("on_empty", on_empty, ("raise", "keep"))
    check_fraction("min_keep", min_keep)
    check_fraction("min_keep", min_keep)
    check_type("scores", scores, pd.DataFrame, "a score table (pandas DataFrame with group, channel, score)")
    check_str("score_col", score_col)
    missing = {"group", "channel", score_col} - set(scores.columns)
    if missing:
        raise InvalidArgument(f"scores lack column(s) {sorted(missing)}; columns: {list(scores.columns)}")
    if scores.empty:
        raise InvalidArgument("scores is an empty table: no channel to choose from")
    df = scores[["group", "channel", score_col]].copy()
    if not pd.api.types.is_numeric_dtype(df[score_col]) or not pd.api.types.is_integer_dtype(df["channel"]):
        raise InvalidType(f"scores column {score_col!r} must be numeric and 'channel' integer, got "
                          f"{df[score_col].dtype} and {df['channel'].dtype}")
    if df[score_col].isna().any():
        raise InvalidArgument(f"column {score_col!r} has NaN scores")
    order = {g: i for i, g in enumerate(dict.fromkeys(df["group"]))}
    df["_g"] = df["group"].map(order)
    df = df.sort_values([score_col, "_g", "channel"], kind="stable")
    size = df.groupby("_g").size()
    cap = {g: int(n - math.ceil(min_keep * n)) for g, n in size.items()}   # most that may go from each group
    if threshold is not None:
        chosen = _capped(df[df[score_col] <= threshold], cap, len(df))
    elif scope == "global":
        chosen = _capped(df, cap, int(math.floor(fraction * len(df) + 0.5)))
    else:
        chosen = pd.concat([_capped(d, cap, int(math.floor(fraction * len(d) + 0.5)))
                            for _, d in df.groupby("_g", sort=True)])
    # masks over each group's *scored* channels (in channel order); plan positions map back to channels
    picked = set(zip(chosen["group"], chosen["channel"]))
    masks, keep, ids = {}, {}, {}
    for g in order:                      # model order, so an error names the first emptied layer
        d = df[df["group"] == g].sort_values("channel")
        ids[g] = d["channel"].tolist()
        masks[g] = torch.tensor([(g, c) in picked for c in ids[g]], dtype=torch.bool)
        keep[g] = torch.tensor(d[score_col].to_numpy(), dtype=torch.float64)
    plan, _ = plan_from_masks(masks, keep, on_empty)
    return {g: sorted(int(ids[g][i]) for i in idx) for g, idx in plan.items()}


def _capped(ordered: pd.DataFrame, cap: dict, count: int) -> pd.DataFrame:
    """The first ``count`` rows of ``ordered`` (lowest scores first) taking at most ``cap[g]`` rows of each
    group ``g`` (column ``_g``): a group at its cap is passed over."""
    taken = {g: 0 for g in cap}
    rows = []
    for i, g in enumerate(ordered["_g"].to_numpy()):
        if len(rows) == count:
            break
        if taken[g] < cap[g]:
            taken[g] += 1
            rows.append(i)
    return ordered.iloc[rows]
