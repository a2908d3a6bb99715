"""Notebook 00: where a CNN's parameters and MACs are, and what zeroing weights buys against removing filters.

- :func:`model_costs`: per-layer parameters and MACs of the study's models.
- :func:`cost_totals`, :func:`dataset_table`: the totals of those tables; the datasets' sizes.
- :func:`batchnorm_note`: which parameter count includes BatchNorm (the tables here do not).
- :func:`structured_vs_unstructured`: dense vs element-wise zeroed vs filter-removed, measured latency.
"""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import torch

from .. import measure, models, timing
from ..viz import vocabulary
from ..errors import InvalidArgument


def model_costs(specs: dict[str, tuple[str, tuple[int, int, int], dict]]) -> dict[str, pd.DataFrame]:
    """``{label: (model name, input shape (C,H,W), kwargs)}`` → ``{label: macs_by_layer table}`` with each
    layer as a reader names it (``layer``: ``conv1``, ..., ``fc1``, :func:`hgsr.viz.vocabulary.layer_names`)
    and its module path beside it (``module``, e.g. ``features.0``: a detail, in the table's appendix)."""
    out = {}
    for label, (name, shape, kw) in specs.items():
        m = models.build(name, 10, shape[0], shape[1], **kw)
        t = measure.macs_by_layer(m, shape)
        names = vocabulary.layer_names(m)
        out[label] = t.assign(module=t["layer"], layer=t["layer"].map(names))[
            ["layer", "module"] + [c for c in t.columns if c != "layer"]]
    return out


def cost_totals(costs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per model of :func:`model_costs`: total parameters and MACs, and the share of each that
    the convolutions hold."""
    return pd.DataFrame([{"model": k, "params": int(v.params.sum()), "MACs": int(v.macs.sum()),
                          "conv share of params": v[v.type == "Conv2d"].params.sum() / v.params.sum(),
                          "conv share of MACs": v[v.type == "Conv2d"].macs.sum() / v.macs.sum()}
                         for k, v in costs.items()])


def batchnorm_note(specs: dict[str, tuple[str, tuple[int, int, int], dict]]) -> str:
    """Markdown: which parameter count is which. The tables of :func:`model_costs` count the weights and
    biases of the conv and fully connected layers; :func:`hgsr.measure.count_params` (notebooks 06 and 08)
    counts every parameter, BatchNorm's scale γ and shift β included. For each model of ``specs`` (as in
    :func:`model_costs`) with BatchNorm layers: both counts, computed from the architecture."""
    parts = []
    for label, (name, shape, kw) in specs.items():
        m = models.build(name, 10, shape[0], shape[1], **kw)
        total = measure.count_params(m)
        layers = int(measure.macs_by_layer(m, shape)["params"].sum())
        if total != layers:
            parts.append(f"{label} has {layers:,} parameters in its conv and fully connected layers and "
                         f"{total - layers:,} in its BatchNorm layers (γ and β per channel), {total:,} in all")
    if not parts:
        return "None of these models has BatchNorm: the table counts every parameter."
    return ("The parameters above are the weights and biases of the conv and fully connected layers, the layers "
            "that pruning shrinks. " + "; ".join(parts) + ": the count notebooks 06 and 08 show, which includes "
            "BatchNorm.")


def dataset_table(sets) -> pd.DataFrame:
    """One row per dataset of ``{name: hgsr.data.Dataset}``: training and test images, image shape
    (``CxHxW``) and classes."""
    return pd.DataFrame([{"dataset": n, "train": len(d.train_y), "test": len(d.test_y),
                          "image": "x".join(map(str, d.train_x.shape[1:])), "classes": d.num_classes}
                         for n, d in sets.items()])


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
                               batch: int = 64, repeats: int = 20, warmup: int = 5, rounds: int = 5,
                               threads: int | None = None, seed: int = 0) -> pd.DataFrame:
    """Dense model vs the same model with weights zeroed element-wise vs a model with every layer's
    filters cut to ``width`` (what structured pruning produces), at equal nonzero parameter count.

    Columns: variant, params (stored), nonzero params, MACs, median latency (s) at ``batch``, speedup
    (dense median / variant median) and ``speedup_low``, ``speedup_high``: the smallest and largest of the
    per-round speed-ups (dense latency / variant latency within one round), the spread a busy machine puts
    on the ratio. Timed by the one protocol, :func:`hgsr.timing.latency_table` (BatchNorm folded,
    ``rounds`` interleaved rounds, at least 2 so that the spread exists).
    The element-wise variant zeroes the same fraction of weights that the narrow model removes.
    """
    if rounds < 2:
        raise InvalidArgument(f"rounds={rounds}: the comparison needs at least 2 interleaved rounds to show its "
                              f"spread")
    torch.manual_seed(seed)                 # the same random networks whatever ran before
    dense = models.build(name, 10, input_shape[0], input_shape[1])
    narrow = models.build(name, 10, input_shape[0], input_shape[1], width=width)
    removed = 1 - measure.count_params(narrow) / measure.count_params(dense)
    sparse = zero_random_weights(dense, removed, seed)
    variants = {"dense": dense, f"element-wise: {removed:.0%} of weights zeroed": sparse,
                f"structured: width x{width} (filters removed)": narrow}
    t = timing.latency_table(variants, input_shape, reference="dense", batches=(batch,), repeats=repeats,
                             warmup=warmup, rounds=rounds, threads=threads).set_index("model")
    df = pd.DataFrame([{"variant": label, "params": int(t.loc[label, "params"]),
                        "nonzero_params": int(sum((p != 0).sum() for p in m.parameters())),
                        "macs": int(t.loc[label, "macs"]), "latency_s": t.loc[label, f"latency_b{batch}_ms"] / 1e3,
                        "speedup": t.loc[label, f"speedup_b{batch}"],
                        **_round_spread(t.attrs["round_latency_ms"][batch], label)} for label, m in variants.items()])
    return df


def _round_spread(round_ms: dict[str, list[float]], label: str, reference: str = "dense") -> dict[str, float]:
    """The smallest and largest per-round speed-up of ``label``: min and max over rounds r of
    ``round_ms[reference][r] / round_ms[label][r]``."""
    ratios = np.asarray(round_ms[reference]) / np.asarray(round_ms[label])
    return {"speedup_low": float(ratios.min()), "speedup_high": float(ratios.max())}


# ----------------------------------------------------------------------------- verdicts (notebook 00)
def conv_share_verdict(totals: pd.DataFrame, lenet: str = "LeNet-5 (MNIST)") -> str:
    """Markdown: how the parameters and MACs split between convolutions and the rest, from the totals
    table of notebook 00 (columns ``model``, ``conv share of params``, ``conv share of MACs``)."""
    t = totals.set_index("model")
    if lenet not in t.index:
        raise InvalidArgument(f"lenet={lenet!r} is not a row of the totals table: {', '.join(t.index)}")
    p, m = t.loc[lenet, "conv share of params"], t.loc[lenet, "conv share of MACs"]
    text = (f"In LeNet-5, the convolutions hold {p:.0%} of the parameters and {m:.0%} of the MACs")
    others = t.drop(index=lenet)
    if len(others):
        text += (f"; in {', '.join(others.index)} they hold at least {others['conv share of params'].min():.1%} of "
                 f"the parameters and {others['conv share of MACs'].min():.1%} of the MACs")
    text += ". "
    if m > p:
        text += ("Removing filters therefore attacks LeNet-5's compute more than its size; the fully connected "
                 "layer shrinks too, because its input features are the last conv layer's channels.")
    else:
        text += "In LeNet-5 the convolutions carry no larger share of the compute than of the parameters."
    return text


def speed_verdict(speed: pd.DataFrame, noise: float = 0.1) -> str:
    """Markdown: what zeroing weights and removing filters bought, from
    :func:`structured_vs_unstructured`'s table (rows dense, element-wise, structured). A speed-up counts as
    no change when it lies within ``noise`` of 1, or when its per-round range (``speedup_low`` to
    ``speedup_high``, where present) contains 1: on a busy machine the rounds disagree, and a ratio
    inside their spread is not a measured difference."""
    if len(speed) != 3:
        raise InvalidArgument(f"speed must be structured_vs_unstructured's table of three rows (dense, element-wise, "
                              f"structured), got {len(speed)} rows")
    dense, elem, struct = (speed.iloc[i] for i in range(3))

    def spread(row):
        if "speedup_low" in row and "speedup_high" in row:
            return row["speedup_low"], row["speedup_high"]
        return row["speedup"], row["speedup"]

    def how(row):
        s, (lo, hi) = row["speedup"], spread(row)
        rng = f"; the rounds gave {lo:.2f}x to {hi:.2f}x" if hi > lo else ""
        if abs(s - 1) <= noise or lo <= 1 <= hi:
            return f"runs at the dense speed ({s:.2f}x, inside the noise: ±{noise:.0%} band{rng})"
        side = f"runs {s:.2f}x faster than dense" if s > 1 else f"runs slower than dense ({s:.2f}x)"
        return side + (f" (the rounds gave {lo:.2f}x to {hi:.2f}x)" if hi > lo else "")
    return (f"The element-wise variant ({elem['variant']}) keeps every MAC ({elem['macs']:,} against "
            f"{dense['macs']:,}) and {how(elem)}; the structured variant ({struct['variant']}) has "
            f"{dense['macs'] / struct['macs']:.1f}x fewer MACs and {how(struct)}.")
