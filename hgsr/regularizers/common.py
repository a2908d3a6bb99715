"""Helpers shared by the regularizer families: argument checks and the target-layer base class."""
from __future__ import annotations

import math

import torch
from torch import nn

from .. import groups
from .base import Regularizer


def check_nonneg(name: str, value) -> float:
    """``value`` as a float; ValueError naming ``name`` unless it is finite and >= 0."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number >= 0, got {value!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def check_positive(name: str, value) -> float:
    """``value`` as a float; ValueError naming ``name`` unless it is finite and > 0."""
    v = check_nonneg(name, value)
    if v == 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return v


def check_choice(name: str, value, choices) -> str:
    """ValueError naming ``name`` and listing ``choices`` unless ``value`` is one of them."""
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; valid: {', '.join(map(str, choices))}")
    return value


# reduction dims of each group kind of a conv weight (O, I, kh, kw): the group is what remains
GROUP_DIMS = {"filter": (1, 2, 3), "channel": (0, 2, 3), "kernel": (2, 3), "shape": (0,),
              "layer": (0, 1, 2, 3)}


class ConvRegularizer(Regularizer):
    """A regularizer over the weights of the target convs chosen by ``predicate(name, module)``
    (default :func:`hgsr.groups.default_target`: every Conv2d except residual shortcuts)."""

    def __init__(self, predicate: groups.Predicate | None = None):
        self.predicate = predicate

    def convs(self, model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
        """The target ``(name, conv)`` pairs; ValueError when the model has none."""
        return groups.target_convs(model, self.predicate)

    def weights(self, model: nn.Module) -> list[torch.Tensor]:
        return [m.weight for _, m in self.convs(model)]

    def penalty(self, model: nn.Module) -> torch.Tensor:
        """``lam · Σ_layers layer_penalty(W)`` (``self.lam`` set by the subclass)."""
        ws = self.weights(model)
        total = self.layer_penalty(ws[0])
        for W in ws[1:]:
            total = total + self.layer_penalty(W)
        return self.lam * total

    def layer_penalty(self, W: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


BUFFER_PREFIX = "hgsr_"


def adopt_buffers(model: nn.Module, state_dict: dict) -> list[str]:
    """Register on ``model`` every regularizer buffer (a key whose last part starts with ``hgsr_``,
    e.g. nonconvex SGL's ``hgsr_V``) that ``state_dict`` holds and ``model`` lacks, so that
    ``model.load_state_dict(state_dict)`` accepts it; returns the keys created (their values are
    filled by ``load_state_dict``). A fresh model has no such buffers: they are created lazily."""
    own = model.state_dict()
    made = []
    for key, value in state_dict.items():
        prefix, _, leaf = key.rpartition(".")
        if not leaf.startswith(BUFFER_PREFIX) or key in own:
            continue
        module = model.get_submodule(prefix) if prefix else model
        ref = next(iter(module.parameters(recurse=False)), value)
        module.register_buffer(leaf, torch.zeros(value.shape, dtype=value.dtype, device=ref.device))
        made.append(key)
    return made
