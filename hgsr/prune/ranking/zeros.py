"""Zero structure of a sparse-trained network and the compact network it implies (docs/methods.md section 6).

A channel of a group is *zero* when every coupled filter has ``||F[c]||_2 <= tol`` (absolute), or,
with ``rel``, when every coupled filter has ``||F[c]||_2 <= rel * max_o ||F[o]||_2`` of its layer.
:func:`zero_plan` turns the zero channels into a pruning plan (keeping the largest filter of a group
whose channels are all zero, so no layer is emptied); :func:`zero_structure` tabulates it with the
parameters and MACs of the compact network, computed by real surgery on a copy.
"""
from __future__ import annotations

import pandas as pd
import torch
from torch import nn

from ... import groups as hgroups
from ... import measure
from ...errors import check_nonneg
from .scores import plan_from_masks
from ..removal.structure import Group, input_shape as shape_of, prunable_groups
from ..removal.surgery import compact_size


@torch.no_grad()
def _zero_masks(model: nn.Module, g: Group, tol: float, rel: float | None):
    norms = [hgroups.layer_filter_norms(model.get_submodule(c)) for c in g.convs]
    absolute = torch.stack([n <= tol for n in norms]).all(0)
    relative = torch.stack([n <= rel * n.max() for n in norms]).all(0) if rel is not None else None
    total = torch.stack(norms).pow(2).sum(0).sqrt()
    return absolute, relative, total


def _masks(model: nn.Module, input_shape, tol: float, rel: float | None, include_linear: bool):
    """Per group ``(group, absolute mask, relative mask or None, total filter norm)``, and the plan."""
    tol = check_nonneg("tol", tol)
    rel = check_nonneg("rel", rel, optional=True)
    per = [(g, *_zero_masks(model, g, tol, rel)) for g in prunable_groups(model, input_shape, include_linear)]
    plan, emptied = plan_from_masks({g.name: (r if r is not None else a) for g, a, r, _ in per},
                                    {g.name: total for g, _, _, total in per})
    return per, plan, emptied


def zero_plan(model: nn.Module, input_shape, tol: float = measure.TOL, rel: float | None = None,
              include_linear: bool = False) -> dict:
    """``{group: [zero channels]}`` by the absolute rule, or the relative rule when ``rel`` is given.

    A group whose channels are all zero keeps its channel with the largest filter norm.
    """
    return _masks(model, input_shape, tol, rel, include_linear)[1]


def zero_structure(model: nn.Module, input_shape, tol: float = measure.TOL, rel: float | None = None,
                   include_linear: bool = False) -> pd.DataFrame:
    """Per group: channels, zero channels (absolute ``tol``; relative ``rel`` if given), channels left.

    Columns: group, layers, channels, zero (``norm <= tol``), rel_zero (``norm <= rel*max``, when
    ``rel``), removed (by the relative rule when ``rel`` is given, else the absolute one; never the
    last channel), remaining, emptied (True when every channel was zero and one was kept). The
    ``total`` row adds params/MACs of the dense and of the compact network (real surgery on a copy,
    ``fold="exact"``); ``attrs`` hold tol and rel.
    """
    per, plan, emptied = _masks(model, input_shape, tol, rel, include_linear)
    rows = []
    for g, a, r, _ in per:
        removed = len(plan.get(g.name, []))
        row = {"group": g.name, "layers": ", ".join(g.convs), "channels": g.size, "zero": int(a.sum())}
        if rel is not None:
            row["rel_zero"] = int(r.sum())
        row.update(removed=removed, remaining=g.size - removed, emptied=g.name in emptied)
        rows.append(row)
    df = pd.DataFrame(rows)
    shape = shape_of(input_shape)
    size = compact_size(model, plan, input_shape)
    cols = ("channels", "zero", "removed", "remaining") + (("rel_zero",) if rel is not None else ())
    total = {c: df[c].sum() for c in cols}
    total.update(group="total", layers="", emptied=bool(df["emptied"].any()),
                 params_dense=measure.count_params(model), params_compact=size["params"],
                 macs_dense=measure.count_macs(model, shape), macs_compact=size["macs"])
    df = pd.concat([df, pd.DataFrame([total])], ignore_index=True)
    for c in ("params_dense", "params_compact", "macs_dense", "macs_compact"):
        df[c] = df[c].astype("Int64")  # counts only on the total row
    df.attrs.update(tol=tol, rel=rel, plan=plan)
    return df
