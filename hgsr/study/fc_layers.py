"""Notebook 04, section 7: what regularizing the fully connected layers too does to LeNet-5's parameters.

LeNet-5 (20-50-500-10) holds 400,000 of its 431,080 parameters in ``fc1``; a penalty on the conv
filters alone can only shrink ``fc1`` through its inputs (a removed conv2 filter takes its 16 flattened
columns with it). With ``linear=True`` (nonconvex SGL, group lasso) every ``nn.Linear`` gets the group
term on its **input features** ``Σ_j ||W[:, j]||_2``: a zero column of ``fc2`` means an ``fc1`` unit nobody
reads, a zero block of 16 ``fc1`` columns a conv2 channel nobody reads; the ``"zeros+inputs"`` rule
with ``include_linear`` removes both (:func:`hgsr.study.dead_channels.compact_by_rule`).

:func:`comparison` compacts each pair (conv layers only / with the fc layers) and tabulates nonzero
weights, widths, fc1 units, parameters and errors; :func:`verdict` states the effect from the table.
"""
from __future__ import annotations

from typing import Mapping

import pandas as pd
import torch
from torch import nn

from .. import compact, experiments, measure
from ..errors import InvalidArgument
from ..results import widths_text
from ..viz import vocabulary
from . import dead_channels, families

# (conv layers only, with the fc layers): the two pairs of registry families notebook 04 compares
PAIRS = {"nonconvex_tl1": "nonconvex_tl1_fc", "group_lasso_filter": "group_lasso_filter_fc"}


@torch.no_grad()
def nonzero_weights(model: nn.Module, tol: float = measure.WEIGHT_TOL) -> int:
    """Weights of every conv and linear layer with ``|w| > tol``, after masking split weights by the
    support of their ``V`` (:func:`hgsr.compact.masked_by_support`)."""
    m = compact.masked_by_support(model)
    return sum(int((mod.weight.abs() > tol).sum()) for mod in m.modules() if isinstance(mod, (nn.Conv2d, nn.Linear)))


def fc_units(model: nn.Module) -> int:
    """Output units of the first fully connected layer (``fc1``)."""
    return next(m.out_features for m in model.modules() if isinstance(m, nn.Linear))


def compact_row(name: str, run: experiments.Run, finetune_epochs: int) -> dict:
    """One family's run compacted by its registry rule, as a table row."""
    fam = families.family(name)
    out = dead_channels.compact_by_rule(run, fam.rule, finetune_epochs=finetune_epochs,
                                        include_linear=fam.include_linear)
    s = out["summary"]
    return {"label": fam.label, "fc_regularized": bool((fam.regularizer or {}).get("linear", False)),
            "rule": vocabulary.rule_name(fam.rule) + (", fc units too" if fam.include_linear else ""),
            "nonzero_params": nonzero_weights(run.model), "weights": measure.count_params(run.model),
            "widths": widths_text(s["widths"]), "fc1_units": fc_units(out["model"]),
            "params": s["params"], "params_removed": s["params_removed"], "macs_removed": s["macs_removed"],
            "error_dense": 1 - s["acc_dense"], "error_finetuned": 1 - s["acc_finetuned"], "family": name}


def comparison(runs: Mapping[str, experiments.Run], finetune_epochs: int) -> pd.DataFrame:
    """:func:`compact_row` for both families of every pair of :data:`PAIRS` (``runs``: name → run)."""
    missing = [n for pair in PAIRS.items() for n in pair if n not in runs]
    if missing:
        raise InvalidArgument(f"runs lacks the families {missing} (it has {sorted(runs)}); give a run for each of "
                              f"{list(PAIRS.items())}")
    return pd.DataFrame([compact_row(n, runs[n], finetune_epochs) for pair in PAIRS.items() for n in pair])


def verdict(table: pd.DataFrame) -> str:
    """Markdown: per pair, parameters removed and error after fine-tuning without and with the fc layers."""
    by = table.set_index("family")
    text = []
    for conv, fc in PAIRS.items():
        a, b = by.loc[conv], by.loc[fc]
        more = b["params_removed"] > a["params_removed"]
        text.append(f"**{a['label']}** → with the fc layers: parameters removed {a['params_removed']:.1%} → "
                    f"{b['params_removed']:.1%} ({'more' if more else 'not more'}), fc1 units {a['fc1_units']} → "
                    f"{b['fc1_units']}, filters {a['widths']} → {b['widths']}, error after "
                    f"fine-tuning {a['error_finetuned']:.2%} → {b['error_finetuned']:.2%}; nonzero weights "
                    f"{a['nonzero_params']:,} → {b['nonzero_params']:,} of {a['weights']:,}.")
    return "\n\n".join(text)
