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

Each rule is a threshold on registered criteria (:mod:`hgsr.prune.criteria`): ``"zeros"`` on
``magnitude`` (for the single convs of LeNet-5 the filter norm itself), ``"inputs"`` on ``dead_inputs``,
``"gamma"`` on ``bn_gamma``; the masks become a plan by :func:`hgsr.prune.plan_from_masks`.

No group is ever emptied: if a rule selects all channels of a group, the one with the largest filter
norm (largest ``|γ|`` for ``"gamma"``) stays.
"""
from __future__ import annotations

import pandas as pd
import torch
from torch import nn

from .. import experiments, measure, prune
from ..compact import compact_with

# rule -> the criteria whose thresholded scores it combines ("or")
RULES = {"zeros": ("magnitude",), "inputs": ("dead_inputs",), "zeros+inputs": ("magnitude", "dead_inputs"),
         "gamma": ("bn_gamma",)}


def _check_rule(rule: str) -> str:
    if rule not in RULES:
        raise ValueError(f"rule={rule!r} is not a removal rule; known: {', '.join(RULES)}")
    return rule


def _per_group(table: pd.DataFrame) -> dict[str, torch.Tensor]:
    return {g: torch.tensor(d.sort_values("channel")["score"].to_numpy(), dtype=torch.float64)
            for g, d in table.groupby("group", sort=False)}


@torch.no_grad()
def channel_masks(model: nn.Module, input_shape, tol: float = measure.TOL, rel: float = 1e-2) -> list[dict]:
    """Per prunable group: ``{"group", "size", "zero", "dead_input", "small_gamma", "score", "gamma"}``:
    boolean masks over its channels (``small_gamma`` None without BatchNorm), the filter-norm
    keep-score and the |γ| scores (None without BatchNorm)."""
    mag = _per_group(prune.criteria.score(model, "magnitude", input_shape))
    dead = _per_group(prune.criteria.score(model, "dead_inputs", input_shape))
    try:
        gammas = _per_group(prune.criteria.score(model, "bn_gamma", input_shape))
    except ValueError:            # some group has no BatchNorm: the gamma rule does not apply
        gammas = {}
    gmax = max((float(v.max()) for v in gammas.values()), default=0.0)
    return [{"group": g, "size": len(fn), "zero": fn <= tol, "dead_input": dead[g] <= tol,
             "small_gamma": gammas[g] <= rel * gmax if g in gammas else None, "score": fn, "gamma": gammas.get(g)}
            for g, fn in mag.items()]


def _rule_mask(m: dict, rule: str) -> torch.Tensor:
    if rule == "gamma" and m["small_gamma"] is None:
        raise ValueError(f"rule 'gamma' needs a BatchNorm after every pruned conv; group {m['group']!r} has none")
    masks = {"magnitude": m["zero"], "dead_inputs": m["dead_input"], "bn_gamma": m["small_gamma"]}
    out = torch.zeros(m["size"], dtype=torch.bool)
    for key in RULES[rule]:
        out |= masks[key]
    return out


def _plan(ms: list[dict], rule: str) -> dict:
    keep = {m["group"]: (m["gamma"] if rule == "gamma" else m["score"]) for m in ms}
    return prune.plan_from_masks({m["group"]: _rule_mask(m, rule) for m in ms}, keep)[0]


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
    ms = channel_masks(model, input_shape, tol, rel)
    out = _plan(ms, rule)
    rows = [{"layer": m["group"], "filters": m["size"], "zero_filters": int(m["zero"].sum()),
             "dead_inputs": int(m["dead_input"].sum()),
             "small_gamma": int(m["small_gamma"].sum()) if m["small_gamma"] is not None else -1,
             "removed": len(out.get(m["group"], [])), "filters_left": m["size"] - len(out.get(m["group"], []))}
            for m in ms]
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
    ms = channel_masks(model, input_shape, tol)
    return _plan(ms, "zeros+inputs") != _plan(ms, "zeros")
