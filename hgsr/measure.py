"""Size, cost and sparsity of a network (docs/methods.md section 6).

- :func:`count_params`: number of parameters.
- :func:`count_macs`: multiply-accumulates of one forward pass (FLOPs ~= 2 x MACs), from
  ``torch.utils.flop_counter`` (which counts 2 FLOPs per MAC).
- :func:`sparsity_table`: per regularized layer, the fraction of weights with ``|w| <= tol`` and of
  kernels, filters and input channels whose L2 norm is ``<= tol``, plus filters whose norm is
  ``<= rel * max filter norm`` of the layer; a tidy DataFrame with a ``total`` row.
- :func:`latency`: median CPU (or device) time of a forward pass after warm-up.
"""
from __future__ import annotations

import time

import pandas as pd
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from . import groups
from .errors import (check_int, check_module, check_nonneg, check_predicate, check_shape,
                     check_type)

TOL = 1e-2          # the one tolerance on group norms: a filter, channel or kernel is zero when its L2 norm <= TOL
WEIGHT_TOL = 1e-3   # the one tolerance on single weights: |w| <= WEIGHT_TOL (the HGSR reference code's measure)


def count_params(model: nn.Module) -> int:
    """Total number of parameters (weights and biases, BatchNorm affine included)."""
    check_type("model", model, nn.Module, "a torch.nn.Module")
    return sum(p.numel() for p in model.parameters())


def _input(model: nn.Module, input_shape, batch: int = 1) -> torch.Tensor:
    check_module("model", model)
    input_shape = check_shape("input_shape", input_shape, 3)
    p = next(model.parameters())
    return torch.zeros(batch, *input_shape, device=p.device, dtype=p.dtype)


@torch.no_grad()
def count_macs(model: nn.Module, input_shape=(3, 32, 32)) -> int:
    """MACs of one forward pass of a single ``input_shape`` (C, H, W) image."""
    was = model.training
    model.eval()
    with FlopCounterMode(display=False) as counter:
        model(_input(model, input_shape))
    model.train(was)
    return int(counter.get_total_flops()) // 2


@torch.no_grad()
def macs_by_layer(model: nn.Module, input_shape=(3, 32, 32)) -> pd.DataFrame:
    """MACs and parameters of every Conv2d and Linear layer, one row each (a batch of one)."""
    rows, hooks = [], []

    def hook(name):
        def fn(mod, inp, out):
            if isinstance(mod, nn.Conv2d):
                macs = out.numel() // out.shape[0] * (mod.in_channels // mod.groups) * \
                    mod.kernel_size[0] * mod.kernel_size[1]
            else:
                macs = mod.in_features * mod.out_features
            rows.append({"layer": name, "type": type(mod).__name__, "shape": tuple(mod.weight.shape),
                         "params": sum(p.numel() for p in mod.parameters()), "macs": int(macs)})
        return fn

    for n, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            hooks.append(m.register_forward_hook(hook(n)))
    was = model.training
    model.eval()
    try:
        model(_input(model, input_shape))
    finally:
        model.train(was)
        for h in hooks:
            h.remove()
    return pd.DataFrame(rows)


@torch.no_grad()
def sparsity_table(model: nn.Module, tol: float = TOL, rel: float = 0.01,
                   predicate: groups.Predicate | None = None) -> pd.DataFrame:
    """Per target layer: counts and zero fractions of weights, kernels, filters and input channels.

    A weight is zero when ``|w| <= tol``; a kernel, filter or channel when its L2 norm ``<= tol``
    (absolute); ``rel_zero_filters`` counts filters with norm ``<= rel * max filter norm``. The last
    row, ``total``, sums the counts over layers and gives overall fractions.
    """
    check_type("model", model, nn.Module, "a torch.nn.Module")
    tol = check_nonneg("tol", tol)
    rel = check_nonneg("rel", rel)
    check_predicate(predicate)
    rows = []
    for name, conv in groups.target_convs(model, predicate):
        W = conv.weight.detach()
        fn = groups.filter_l2(W)
        rows.append({
            "layer": name, "shape": "x".join(map(str, W.shape)),
            "weights": W.numel(), "zero_weights": int((W.abs() <= tol).sum()),
            "kernels": W.shape[0] * W.shape[1], "zero_kernels": int((groups.kernel_l2(W) <= tol).sum()),
            "filters": W.shape[0], "zero_filters": int((fn <= tol).sum()),
            "channels": W.shape[1], "zero_channels": int((groups.channel_l2(W) <= tol).sum()),
            "rel_zero_filters": int((fn <= rel * fn.max()).sum()),
        })
    df = pd.DataFrame(rows)
    total = {c: df[c].sum() for c in df.columns if c not in ("layer", "shape")}
    df = pd.concat([df, pd.DataFrame([{"layer": "total", "shape": "", **total}])], ignore_index=True)
    for kind in ("weights", "kernels", "filters", "channels"):
        df[f"{kind}_sparsity"] = df[f"zero_{kind}"] / df[kind]
    df["filters_left"] = df["filters"] - df["zero_filters"]
    df.attrs.update(tol=tol, rel=rel)
    return df


@torch.no_grad()
def weight_sparsity(model: nn.Module, tol: float = WEIGHT_TOL, predicate: groups.Predicate | None = None) -> float:
    """Fraction of target conv weights with ``|w| <= tol`` (the HGSR reference code's measure)."""
    check_type("model", model, nn.Module, "a torch.nn.Module")
    tol = check_nonneg("tol", tol)
    check_predicate(predicate)
    zero = total = 0
    for W in groups.iter_weights(model, predicate):
        zero += int((W.abs() <= tol).sum())
        total += W.numel()
    return zero / total


@torch.no_grad()
def latency(model: nn.Module, input_shape=(3, 32, 32), batch: int = 1, repeats: int = 30,
            warmup: int = 5, threads: int | None = None) -> float:
    """Median seconds of one forward pass in eval mode, after ``warmup`` passes.

    ``threads`` fixes ``torch.set_num_threads`` for the measurement (restored afterwards).
    """
    check_module("model", model)
    check_shape("input_shape", input_shape, 3)
    check_int("batch", batch, 1)
    check_int("repeats", repeats, 1)
    check_int("warmup", warmup, 0)
    check_int("threads", threads, 1, optional=True)
    old = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    was = model.training
    model.eval()
    x = _input(model, input_shape, batch)
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    try:
        for _ in range(warmup):
            model(x)
        times = []
        for _ in range(repeats):
            sync()
            t = time.perf_counter()
            model(x)
            sync()
            times.append(time.perf_counter() - t)
    finally:
        model.train(was)
        torch.set_num_threads(old)
    times.sort()
    return times[len(times) // 2]
