"""Experiment pipelines that several notebooks share (all logic here, notebooks only call these).

- :func:`model_costs`: per-layer parameters and MACs of the study's models.
- :func:`structured_vs_unstructured`: what zeroing weights buys compared with removing filters.
- :data:`FAMILIES`, :func:`family_config`, :func:`family_run`: every regularizer family as the
  LeNet-5/MNIST study runs it (one place, so notebooks share cached runs).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import torch

from . import experiments, measure, models


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


# ----------------------------------------------------------------------------- the LeNet-5 study plan
# One registry of every family as the study runs it on LeNet-5/MNIST, so that notebooks 02-05 and
# 07 build identical configs and share cached runs. λ values were chosen on the default profile
# (full MNIST, 3 epochs) for a visible filter sparsity at small accuracy cost; see the notebooks.

@dataclass(frozen=True)
class Family:
    label: str                       # how tables and plots name it
    regularizer: Any                 # a spec for hgsr.regularizers.from_spec (None: no regularizer)
    model_kw: dict = field(default_factory=dict)
    notebook: str = ""               # the notebook that introduces it


LENET_TASK = "lenet5_mnist"
FAMILIES: dict[str, Family] = {
    "none": Family("baseline (weight decay 5e-4 only)", None, notebook="02"),
    "none_bn": Family("baseline with BatchNorm", None, {"batchnorm": True}, notebook="02"),
    "l1": Family("L1", {"key": "l1", "lam": 5e-3}, notebook="02"),
    "group_lasso_filter": Family("group lasso (filters)", {"key": "group_lasso", "lam": 0.017, "group": "filter"},
                                 notebook="02"),
    "group_lasso_channel": Family("group lasso (channels)", {"key": "group_lasso", "lam": 0.017, "group": "channel"},
                                  notebook="02"),
    "ssl": Family("SSL (filters + channels)", {"key": "ssl", "lam_filter": 0.017, "lam_channel": 0.008}, notebook="02"),
    "slimming": Family("network slimming (BN γ)", {"key": "slimming", "lam": 0.017}, {"batchnorm": True},
                       notebook="02"),
    "hsr_gl_output": Family("HSR-GL (output grouping)", {"key": "hsr_gl", "lam": 8e-3, "grouping": "output"},
                            notebook="03"),
    "hgsr_ref": Family("HGSR reference mix", {"key": "hgsr_ref", "lam": 1e-3}, notebook="03"),
    "prox_l1": Family("proximal L1", {"key": "prox_l1", "lam": 0.013}, notebook="04"),
    "prox_group_lasso": Family("proximal group lasso (filters)", {"key": "prox_group_lasso", "lam": 0.1,
                                                                  "group": "filter"}, notebook="04"),
    "prox_sgl": Family("proximal sparse group lasso", {"key": "prox_sgl", "lam1": 3.3e-3, "lam2": 0.083},
                       notebook="04"),
    "nonconvex_l1": Family("nonconvex SGL, R = L1", {"key": "nonconvex_sgl", "lam": 8e-4, "beta": 1.0, "R": "l1"},
                           notebook="04"),
    "nonconvex_l0": Family("nonconvex SGL, R = L0", {"key": "nonconvex_sgl", "lam": 8e-4, "beta": 1.0, "R": "l0"},
                           notebook="04"),
    "nonconvex_tl1": Family("nonconvex SGL, R = TL1", {"key": "nonconvex_sgl", "lam": 8e-4, "beta": 1.0,
                                                       "R": "tl1"}, notebook="04"),
    "nonconvex_l1_l2": Family("nonconvex SGL, R = L1-L2", {"key": "nonconvex_sgl", "lam": 8e-4, "beta": 1.0,
                                                           "R": "l1_l2"}, notebook="04"),
    "l1_over_l2": Family("L1/L2 on filters", {"key": "l1_over_l2", "lam": 0.08}, notebook="05"),
}


def family(name: str) -> Family:
    if name not in FAMILIES:
        raise ValueError(f"unknown family {name!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def family_config(name: str, profile: str = "default", **overrides) -> experiments.Config:
    """The LeNet-5/MNIST config of a family at a profile's budget (``overrides`` change fields)."""
    f = family(name)
    return experiments.recipe(LENET_TASK, profile, regularizer=f.regularizer, model_kw=dict(f.model_kw),
                              **overrides)


def family_run(name: str, profile: str = "default", progress: bool = True, **overrides) -> experiments.Run:
    """Train (or load from the cache) a family's LeNet-5 run."""
    return experiments.run(family_config(name, profile, **overrides), progress=progress)


def families(notebook: str | None = None) -> list[str]:
    """Family names, optionally those introduced by one notebook (e.g. ``"02"``)."""
    return [k for k, f in FAMILIES.items() if notebook is None or f.notebook == notebook]
