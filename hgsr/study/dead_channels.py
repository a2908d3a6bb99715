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

No group is ever emptied: if a rule selects all channels of a group, the one with the largest filter
norm (largest ``|γ|`` for ``"gamma"``) stays.
"""
from __future__ import annotations

import pandas as pd
import torch
from torch import nn

from .. import experiments, groups, measure, prune
from ..compact import compact_with
from ..prune.structure import Group, prunable_groups

RULES = ("zeros", "inputs", "zeros+inputs", "gamma")


def _check_rule(rule: str) -> str:
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; known: {', '.join(RULES)}")
    return rule


@torch.no_grad()
def _filter_norms(model: nn.Module, g: Group) -> torch.Tensor:
    """``(convs, size)``: the filter norms ``||F_conv[c]||_2`` of every coupled conv of ``g``."""
    return torch.stack([groups.filter_l2(model.get_submodule(c).weight.detach()) for c in g.convs])


@torch.no_grad()
def input_slice_norms(model: nn.Module, g: Group) -> torch.Tensor | None:
    """``(consumers, size)`` norms ``||W_next[:, c]||_2`` of every consumer conv's input slice of ``g``'s
    channels, or None when a consumer is not a plain conv reading the channels in order (a linear
    layer, a grouped conv): such a channel is always read, never dead by the input rule."""
    rows = []
    for name in g.consumers:
        m = model.get_submodule(name)
        if not isinstance(m, nn.Conv2d) or m.groups != 1 or m.in_channels != g.size:
            return None
        rows.append(groups.channel_l2(m.weight.detach()))
    return torch.stack(rows) if rows else None


@torch.no_grad()
def channel_masks(model: nn.Module, input_shape, tol: float = measure.TOL, rel: float = 1e-2) -> list[dict]:
    """Per prunable group: ``{"group", "zero", "dead_input", "small_gamma", "score"}`` boolean masks over
    its channels (``small_gamma`` None without BatchNorm) and a keep-score (filter norm)."""
    gs = prunable_groups(model, input_shape)
    gammas = {}
    if gs and all(g.bns for g in gs):
        scores = prune.bn_gamma_scores(model, input_shape)
        gammas = {name: torch.tensor(d["score"].to_numpy()) for name, d in scores.groupby("group", sort=False)}
    gmax = max((float(v.max()) for v in gammas.values()), default=0.0)
    out = []
    for g in gs:
        fn = _filter_norms(model, g)
        zero = (fn <= tol).all(0)
        sl = input_slice_norms(model, g)
        dead = (sl <= tol).all(0) if sl is not None else torch.zeros_like(zero)
        small = gammas[g.name] <= rel * gmax if g.name in gammas else None
        out.append({"group": g.name, "size": g.size, "zero": zero, "dead_input": dead, "small_gamma": small,
                    "score": fn.pow(2).sum(0).sqrt(), "gamma": gammas.get(g.name)})
    return out


def _removed(m: dict, rule: str) -> torch.Tensor:
    if rule == "gamma":
        if m["small_gamma"] is None:
            raise ValueError(f"rule 'gamma' needs a BatchNorm after every pruned conv; group {m['group']!r} has none")
        mask, score = m["small_gamma"].clone(), m["gamma"]
    else:
        mask = {"zeros": m["zero"], "inputs": m["dead_input"],
                "zeros+inputs": m["zero"] | m["dead_input"]}[rule].clone()
        score = m["score"]
    if bool(mask.all()):
        mask[int(score.argmax())] = False
    return mask


def plan(model: nn.Module, input_shape, rule: str = "zeros+inputs", tol: float = measure.TOL,
         rel: float = 1e-2) -> dict:
    """``{group: [channels to remove]}`` by ``rule`` (see the module docstring); never empties a group."""
    return table_and_plan(model, input_shape, rule, tol, rel)[1]


def channel_table(model: nn.Module, input_shape, rule: str = "zeros+inputs", tol: float = measure.TOL,
                  rel: float = 1e-2) -> pd.DataFrame:
    """Per prunable group: ``layer``, ``filters`` (channels), ``zero_filters`` (``||F[c]|| <= tol``),
    ``dead_inputs`` (consumer slices ``<= tol``), ``small_gamma`` (``|γ| <= rel·max|γ|``, -1 without BN),
    ``removed`` by ``rule``, ``filters_left``; a ``total`` row; ``attrs``: rule, tol, rel (the tol is
    left out of ``attrs["tol"]`` for the gamma rule, whose threshold is ``rel``). Columns match
    :func:`hgsr.measure.sparsity_table` where they overlap, for :func:`hgsr.viz.filters_per_layer`."""
    return table_and_plan(model, input_shape, rule, tol, rel)[0]


def table_and_plan(model: nn.Module, input_shape, rule: str = "zeros+inputs", tol: float = measure.TOL,
                   rel: float = 1e-2) -> tuple[pd.DataFrame, dict]:
    """:func:`channel_table` and :func:`plan` from one pass over the network."""
    _check_rule(rule)
    rows, out = [], {}
    for m in channel_masks(model, input_shape, tol, rel):
        removed = _removed(m, rule)
        idx = removed.nonzero().flatten().tolist()
        if idx:
            out[m["group"]] = idx
        rows.append({"layer": m["group"], "filters": m["size"], "zero_filters": int(m["zero"].sum()),
                     "dead_inputs": int(m["dead_input"].sum()),
                     "small_gamma": int(m["small_gamma"].sum()) if m["small_gamma"] is not None else -1,
                     "removed": len(idx), "filters_left": m["size"] - len(idx)})
    df = pd.DataFrame(rows)
    total = {c: int(df[c].sum()) for c in df.columns if c != "layer"}
    df = pd.concat([df, pd.DataFrame([{"layer": "total", **total}])], ignore_index=True)
    df.attrs.update(rule=rule, rel=rel, **({} if rule == "gamma" else {"tol": tol}))
    return df, out


def compact_by_rule(run: experiments.Run, rule: str = "zeros+inputs", tol: float = measure.TOL, rel: float = 1e-2,
                    finetune_epochs: int = 0, finetune_lr: float | None = None, progress: bool = False,
                    device=None) -> dict:
    """:func:`hgsr.compact.compact_from_zeros` with the channels chosen by ``rule`` (cached).

    Same result layout: ``{"summary", "structure", "model", "history"}``; ``summary`` adds ``rule``,
    ``structure`` is :func:`channel_table`. Fine-tuning as there (the run's optimizer at a tenth of its lr,
    cosine schedule, no regularizer).
    """
    _check_rule(rule)
    return compact_with(run, lambda dense, shape: table_and_plan(dense, shape, rule, tol, rel), "compact_rule",
                        {"rule": rule, "tol": tol, "rel": rel}, finetune_epochs, finetune_lr, progress, device)


def inputs_add_channels(model: nn.Module, input_shape, tol: float = measure.TOL) -> bool:
    """True when the ``"zeros+inputs"`` rule removes more channels than ``"zeros"`` (some channel has a
    non-zero filter but no reader), i.e. when a ``+ dead inputs`` compact network differs."""
    return any(bool((_removed(m, "zeros+inputs") != _removed(m, "zeros")).any())
               for m in channel_masks(model, input_shape, tol))
