"""Name -> regularizer class registry, specs, and weighted sums of regularizers."""
from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from .base import Regularizer

REGISTRY: dict[str, type] = {}


def register(*names: str):
    """Class decorator: make a regularizer buildable by each of ``names``."""
    def deco(cls):
        for n in names:
            if n in REGISTRY:
                raise ValueError(f"regularizer key {n!r} registered twice")
            REGISTRY[n] = cls
        cls.key = names[0]
        return cls
    return deco


def _ensure_loaded():
    # importing the family modules registers their keys
    from . import families  # noqa: F401


def keys() -> list[str]:
    """Every key :func:`build` accepts."""
    _ensure_loaded()
    return sorted(REGISTRY)


def build(key: str, **params) -> Regularizer:
    """Build one regularizer by key; an unknown key lists the valid ones."""
    _ensure_loaded()
    if key in (None, "none"):
        return Regularizer()
    if key not in REGISTRY:
        raise ValueError(f"unknown regularizer {key!r}; valid keys: {', '.join(sorted(REGISTRY))}")
    cls = REGISTRY[key]
    try:
        return cls(key=key, **params) if getattr(cls, "takes_key", False) else cls(**params)
    except TypeError as e:
        raise TypeError(f"bad parameters for regularizer {key!r}: {e}") from e


class Combined(Regularizer):
    """Weighted sum ``Σ_k weight_k · R_k``: penalties add, every hook is called on each part."""

    key = "combined"

    def __init__(self, parts: Iterable[tuple[float, Regularizer]]):
        self.parts = list(parts)

    def penalty(self, model: nn.Module) -> torch.Tensor:
        return sum(w * r.penalty(model) for w, r in self.parts)

    @torch.no_grad()
    def after_step(self, model: nn.Module, lr: float) -> None:
        for w, r in self.parts:
            r.after_step(model, lr * w)

    def on_epoch_end(self, epoch: int) -> None:
        for _, r in self.parts:
            r.on_epoch_end(epoch)

    def metrics(self, model, evaluate) -> dict:
        out = {}
        for _, r in self.parts:
            out.update(r.metrics(model, evaluate))
        return out

    def state_dict(self) -> dict:
        """The resumable state of each part that has one (e.g. nonconvex SGL's beta and epoch)."""
        return {"parts": [r.state_dict() if hasattr(r, "state_dict") else None for _, r in self.parts]}

    def load_state_dict(self, state: dict) -> None:
        for (_, r), s in zip(self.parts, state["parts"]):
            if s is not None:
                r.load_state_dict(s)


def from_spec(spec) -> Regularizer:
    """Build from a plain spec: ``None``; ``"key"``; ``{"key": k, **params}`` (optional ``"weight"``);
    or a list of such dicts, summed with their weights."""
    if spec is None or spec == "none":
        return Regularizer()
    if isinstance(spec, str):
        return build(spec)
    if isinstance(spec, dict):
        params = dict(spec)
        key = params.pop("key")
        weight = params.pop("weight", 1.0)
        reg = build(key, **params)
        return reg if weight == 1.0 else Combined([(weight, reg)])
    parts = []
    for s in spec:
        params = dict(s)
        weight = params.pop("weight", 1.0)
        parts.append((weight, from_spec(params)))
    return Combined(parts)
