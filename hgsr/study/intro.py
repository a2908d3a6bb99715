"""Notebook 00: where a CNN's parameters and MACs are, and what zeroing weights buys against removing filters.

- :func:`model_costs`: per-layer parameters and MACs of the study's models.
- :func:`structured_vs_unstructured`: dense vs element-wise zeroed vs filter-removed, measured latency.
"""
from __future__ import annotations

import copy

import pandas as pd
import torch

from .. import measure, models


def model_costs(specs: dict[str, tuple[str, tuple[int, int, int], dict]]) -> dict[str, pd.DataFrame]:
    """``{label: (model name, input shape (C,H,W), kwargs)}`` → ``{label: macs_by_layer table}``."""
    out = {}
    for label, (name, shape, kw) in specs.items():
        m = models.build(name, 10, shape[0], shape[1], **kw)
        out[label] = measure.macs_by_layer(m, shape)
    return out


@torch.no_grad()
def zero_random_weights(model: torch.nn.Module, fraction: float, seed: int = 0) -> torch.nn.Module:
    """A copy of ``model`` with ``fraction`` of every conv/linear weight set to zero at random
    (element-wise, unstructured sparsity); the tensors keep their dense shape."""
    g = torch.Generator().manual_seed(seed)
    m = copy.deepcopy(model)
    for mod in m.modules():
        if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)):
            keep = torch.rand(mod.weight.shape, generator=g) >= fraction
            mod.weight.mul_(keep.to(mod.weight.dtype))
    return m


def structured_vs_unstructured(name: str = "vgg11", input_shape=(3, 32, 32), width: float = 0.5,
                               batch: int = 64, repeats: int = 20, threads: int | None = None) -> pd.DataFrame:
    """Dense model vs the same model with weights zeroed element-wise vs a model with every layer's
    filters cut to ``width`` (what structured pruning produces), at equal nonzero parameter count.

    Columns: variant, params (stored), nonzero params, MACs, median latency (s) at ``batch``, speedup.
    The element-wise variant zeroes the same fraction of weights that the narrow model removes.
    """
    dense = models.build(name, 10, input_shape[0], input_shape[1])
    narrow = models.build(name, 10, input_shape[0], input_shape[1], width=width)
    removed = 1 - measure.count_params(narrow) / measure.count_params(dense)
    sparse = zero_random_weights(dense, removed)
    rows = []
    for label, m in (("dense", dense), (f"element-wise: {removed:.0%} of weights zeroed", sparse),
                     (f"structured: width x{width} (filters removed)", narrow)):
        rows.append({"variant": label, "params": measure.count_params(m),
                     "nonzero_params": int(sum((p != 0).sum() for p in m.parameters())),
                     "macs": measure.count_macs(m, input_shape),
                     "latency_s": measure.latency(m, input_shape, batch=batch, repeats=repeats, threads=threads)})
    df = pd.DataFrame(rows)
    df["speedup"] = df["latency_s"].iloc[0] / df["latency_s"]
    return df
