"""Name -> regularizer class registry, specs, and weighted sums of regularizers."""
from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from ..errors import InvalidArgument, InvalidType, check_nonneg
from .base import Regularizer

REGISTRY: dict[str, type] = {}


def register(*names: str):
    """Class decorator: make a regularizer buildable by each of ``names``."""
    def deco(cls):
        for n in names:
            if n in REGISTRY:
                raise InvalidArgument(f"regularizer key {n!r} is already registered (to "
                                      f"{REGISTRY[n].__name__}); choose another key for {cls.__name__}")
            REGISTRY[n] = cls
        cls.key = names[0]
        return cls
    return deco


def names() -> list[str]:
    """Every key :func:`build` accepts, sorted (spelled like :func:`hgsr.prune.criteria.names`)."""
    return sorted(REGISTRY)


def build(key: str, **params) -> Regularizer:
    """Build one regularizer by key; an unknown key lists the valid ones."""
    if key is None or key == "none":
        if params:
            raise InvalidArgument(f"regularizer 'none' takes no parameters, got {sorted(params)}")
        return Regularizer()
    if not isinstance(key, str):
        raise InvalidType(f"regularizer key must be a string, got {key!r} ({type(key).__name__}); "
                          f"valid keys: {', '.join(sorted(REGISTRY))}")
    if key not in REGISTRY:
        raise InvalidArgument(f"unknown regularizer {key!r}; valid keys: {', '.join(sorted(REGISTRY))}")
    cls = REGISTRY[key]
    try:
        return cls(key=key, **params) if getattr(cls, "takes_key", False) else cls(**params)
    except InvalidType:
        raise
    except TypeError as e:   # a missing or unknown parameter
        raise InvalidType(f"bad parameters for regularizer {key!r}: {e}") from e


class Combined(Regularizer):
    """Weighted sum ``Σ_k weight_k · R_k``: penalties add, every hook is called on each part."""

    key = "combined"

    def __init__(self, parts: Iterable[tuple[float, Regularizer]]):
        self.parts = []
        for part in parts:
            if not (isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], Regularizer)):
                raise InvalidType(f"parts must be (weight, Regularizer) pairs, got {part!r}")
            self.parts.append((_weight(part[0]), part[1]))

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
        if "key" not in params:
            raise InvalidArgument(f"regularizer spec {spec!r} lacks 'key'; valid keys: {', '.join(names())}")
        key = params.pop("key")
        weight = _weight(params.pop("weight", 1.0))
        reg = build(key, **params)
        return reg if weight == 1.0 else Combined([(weight, reg)])
    if not isinstance(spec, (list, tuple)):
        raise InvalidType(f"regularizer spec must be None, a key, a dict {{'key': ..., **params}} or a "
                          f"list of dicts, got {spec!r} ({type(spec).__name__})")
    if not spec:
        raise InvalidArgument("regularizer spec is an empty list; use None for no regularizer")
    parts = []
    for s in spec:
        if not isinstance(s, dict):
            raise InvalidType(f"each part of a regularizer spec list must be a dict {{'key': ..., **params}}, "
                              f"got {s!r} ({type(s).__name__})")
        params = dict(s)
        weight = _weight(params.pop("weight", 1.0))
        parts.append((weight, from_spec(params)))
    return Combined(parts)


def _weight(weight) -> float:
    """A spec's ``weight``: a finite number >= 0 (a negative weight would reward the penalty)."""
    return check_nonneg("weight", weight)
