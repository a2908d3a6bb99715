"""Silencing channels in place: the dense-model meaning of "remove channel c" (docs/methods.md section 3).

Removing output channel ``c`` of a :class:`~hgsr.prune.removal.structure.Group` sets, for every conv in the
group, filter ``W[c]`` to zero, and (the affine part) its bias ``b[c]`` and for every coupled
BatchNorm ``gamma[c] = beta[c] = 0``. A BatchNorm in eval mode then outputs
``0*(x-mu)/sigma + 0 = 0`` exactly on ``c``, so every consumer sees an all-zero channel; without the
affine step (``affine=False``) the channel still emits the constant ``beta - gamma*mu/sigma`` (or the
conv bias ``b[c]``).
"""
from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from ...errors import InvalidArgument
from .structure import Group


@torch.no_grad()
def zero_filters(model: nn.Module, group: Group, channels: Iterable[int]) -> None:
    """Zero the filters (weights only; biases are affine) of ``channels`` in every conv of ``group``."""
    idx = list(channels)
    if not idx:
        return
    for name in group.convs:
        model.get_submodule(name).weight[idx] = 0


@torch.no_grad()
def zero_affine(model: nn.Module, group: Group, channels: Iterable[int]) -> None:
    """Set ``gamma = beta = 0`` on ``channels`` of every BatchNorm of ``group`` (and conv biases)."""
    idx = list(channels)
    if not idx:
        return
    for name in group.bns:
        bn = model.get_submodule(name)
        if bn.weight is None:
            raise InvalidArgument(f"group {group.name!r}: BatchNorm {name!r} has no affine parameters (affine=False); "
                                  f"its channels {idx[:5]} cannot be silenced by zeroing gamma and beta (silencing "
                                  f"needs affine BatchNorms)")
        bn.weight[idx] = 0
        bn.bias[idx] = 0
    for name in group.convs:
        layer = model.get_submodule(name)
        if layer.bias is not None:
            layer.bias[idx] = 0


def silence(model: nn.Module, group: Group, channels: Iterable[int], affine: bool = True) -> None:
    """Remove ``channels`` of ``group`` in the dense model: zero filters, and BN affine if ``affine``."""
    channels = list(channels)
    zero_filters(model, group, channels)
    if affine:
        zero_affine(model, group, channels)


def saved_state(model: nn.Module, group: Group) -> dict:
    """Copies of the parameters :func:`silence` touches, for :func:`restore`."""
    names = list(group.convs) + list(group.bns)
    return {(n, p): t.detach().clone() for n in names
            for p, t in model.get_submodule(n).named_parameters(recurse=False)}


@torch.no_grad()
def restore(model: nn.Module, state: dict) -> None:
    for (n, p), t in state.items():
        getattr(model.get_submodule(n), p).copy_(t)
