"""Helpers shared by the regularizer families: argument checks, the target-layer base class, and the
fused penalty node.

Speed. A penalty written as a chain of tensor ops per layer costs hundreds of small autograd nodes
per step (ResNet-20 has 19 target convs), which is most of its cost on a CPU. Each family therefore
implements ``layer_value_and_grad(W) -> (value, dvalue/dW)`` in closed form, evaluated under
``no_grad`` on STACKS of same-shape layers ``(L, O, I, kh, kw)`` (ResNet-20: 6 stacks instead of 19
layers; all reductions use negative dims), and :func:`fused_penalty` returns the total as ONE
autograd node whose backward hands out the precomputed gradients. The same formula is also written
plainly per layer as ``layer_penalty(W)`` (autograd), which :meth:`ConvRegularizer.reference_penalty`
uses; the tests check that value and gradient of both agree for every key.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from .. import groups
# The argument checks live in hgsr.errors (one place for each check); re-exported here for the
# families that import them from this module.
from ..errors import (InvalidArgument, InvalidType, check_bool, check_choice, check_int,  # noqa: F401
                      check_nonneg, check_positive, check_predicate, check_type)
from .base import Regularizer


# reduction dims of each group kind of a conv weight (O, I, kh, kw): the group is what remains
GROUP_DIMS = {"filter": (1, 2, 3), "channel": (0, 2, 3), "kernel": (2, 3), "shape": (0,),
              "layer": (0, 1, 2, 3)}


def group_norms_keepdim(W: torch.Tensor, kind: str, eps: float) -> torch.Tensor:
    """:func:`hgsr.groups.group_norms` reshaped to broadcast against ``W`` (reduced dims kept as 1);
    ``W`` is one layer (O, I, kh, kw) or a stack of layers (L, O, I, kh, kw)."""
    shape = list(W.shape)
    for d in GROUP_DIMS[kind]:
        shape[d - 4] = 1
    return groups.group_norms(W, kind, eps).reshape(shape)


def stacks(ws: Sequence[torch.Tensor]):
    """Yield ``(indices, stack)`` for each set of same-shape tensors in ``ws``: ``stack`` is
    ``(L, *shape)``, a copy (or a view for a single tensor)."""
    buckets: dict[tuple, list[int]] = {}
    for i, W in enumerate(ws):
        buckets.setdefault(tuple(W.shape), []).append(i)
    for idx in buckets.values():
        yield idx, (torch.stack([ws[i] for i in idx]) if len(idx) > 1 else ws[idx[0]].unsqueeze(0))


class _FusedPenalty(torch.autograd.Function):
    """``scale · value`` as one autograd node; backward returns ``grad_out · scale · grads``."""

    @staticmethod
    def forward(ctx, value, grads, scale, *params):
        ctx.grads, ctx.scale = grads, scale
        return value * scale

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        return (None, None, None, *torch._foreach_mul(ctx.grads, grad_out * ctx.scale))


def fused_penalty(value: torch.Tensor, grads: Sequence[torch.Tensor], params: Sequence[torch.Tensor],
                  scale: float = 1.0) -> torch.Tensor:
    """``scale · value``, differentiable w.r.t. ``params`` with gradient ``scale · grads`` (computed
    beforehand, in closed form, without autograd)."""
    if torch.is_grad_enabled() and any(p.requires_grad for p in params):
        return _FusedPenalty.apply(value, list(grads), scale, *params)
    return value * scale


class ConvRegularizer(Regularizer):
    """A penalty ``lam · Σ_layers layer_penalty(W)`` over the weights of the target convs chosen by
    ``predicate(name, module)`` (default :func:`hgsr.groups.default_target`: every Conv2d except
    residual shortcuts). Subclasses set ``self.lam`` and implement ``layer_penalty`` (the formula,
    autograd) and ``layer_value_and_grad`` (the same value and its gradient in closed form)."""

    lam = 0.0

    def __init__(self, predicate: groups.Predicate | None = None):
        self.predicate = check_predicate(predicate)

    def convs(self, model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
        """The target ``(name, conv)`` pairs; ValueError when the model has none."""
        return groups.target_convs(model, self.predicate)

    def weights(self, model: nn.Module) -> list[torch.Tensor]:
        return [m.weight for _, m in self.convs(model)]

    def penalty(self, model: nn.Module) -> torch.Tensor:
        """``lam · Σ_layers layer_penalty(W)``, as one fused autograd node (closed-form value and
        gradient per stack of same-shape layers)."""
        ws = self.weights(model)
        with torch.no_grad():
            vals, grads = [], [None] * len(ws)
            for idx, X in stacks(ws):
                v, G = self.layer_value_and_grad(X)
                vals.append(v)
                for j, i in enumerate(idx):
                    grads[i] = G[j]
            total = torch.stack(vals).sum() if len(vals) > 1 else vals[0]
        return fused_penalty(total, grads, ws, self.lam)

    def reference_penalty(self, model: nn.Module) -> torch.Tensor:
        """The same penalty evaluated plainly with autograd (slower; for tests and reading)."""
        ws = self.weights(model)
        total = self.layer_penalty(ws[0])
        for W in ws[1:]:
            total = total + self.layer_penalty(W)
        return self.lam * total

    def layer_penalty(self, W: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def layer_value_and_grad(self, W: torch.Tensor):  # pragma: no cover - abstract
        """``(Σ layer_penalty, gradient)`` for a stack ``W`` of shape (L, O, I, kh, kw)."""
        raise NotImplementedError


def linear_group_penalty(model: nn.Module, coef, eps: float, extra=None) -> tuple[torch.Tensor, list, list]:
    """Input-feature group lasso of every ``nn.Linear`` (:func:`hgsr.groups.linear_layers`), in closed form:
    value ``Σ_layers c·Σ_j ||W[:, j]||_2`` with ``c = coef(W)`` and ``||·||_2 = sqrt(Σ x² + eps)``, gradient
    ``c·W[:, j]/||W[:, j]||_2``. ``extra(layer, W) -> (value, grad)``, when given, adds a term per layer
    (e.g. the coupling ``(β/2)||W − V||²``). Returns ``(value, grads, weights)`` for :func:`fused_penalty`."""
    layers = groups.linear_layers(model)
    if not layers:
        raise InvalidArgument(f"model {type(model).__name__} has no nn.Linear layer to regularize (linear=True)")
    ws = [m.weight for _, m in layers]
    with torch.no_grad():
        vals, grads = [], []
        for _, m in layers:
            W = m.weight
            c = coef(W)
            n = groups.input_l2(W, eps)
            v, G = c * n.sum(), W / n * c
            if extra is not None:
                e, g = extra(m, W)
                v, G = v + e, G + g
            vals.append(v)
            grads.append(G)
        value = torch.stack(vals).sum()
    return value, grads, ws


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
