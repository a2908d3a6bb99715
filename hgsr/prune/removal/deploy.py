"""Inference form of a (compact) model: BatchNorm folded into the conv before it.

In eval mode ``BN(conv(x)) = gamma * (W*x + b - mu) / sigma + beta`` with ``sigma = sqrt(var + eps)``,
which is one conv with ``W' = W * gamma / sigma`` (per output channel) and
``b' = (b - mu) * gamma / sigma + beta``. Folding removes one memory-bound pass per BatchNorm, whose
cost scales with the number of channels rather than with MACs; that is why a compact model's
speed-up is measured in this form too (benchmarks/bench_compact_latency.py). The result is an
inference-only copy (a ``torch.fx.GraphModule``), not for training.
"""
from __future__ import annotations

from torch import nn
from torch.fx.experimental.optimization import fuse

from . import graph


def fuse_bn(model: nn.Module) -> nn.Module:
    """An eval-mode copy of ``model`` with every conv -> BatchNorm pair folded into one conv."""
    gm = graph.trace(model)  # a deep copy, in-place ops off
    return fuse(gm.eval(), inplace=True)
