"""Group views of conv weights (docs/methods.md section 0) and the choice of target layers.

A conv weight is ``W`` of shape (O, I, kh, kw). Groups:

- kernel ``w[o,i] = W[o,i,:,:]``; norm matrices ``A[o,i] = ||w[o,i]||_1`` and ``N[o,i] = ||w[o,i]||_2``;
- filter ``F[o] = W[o]`` (output neuron); channel ``C[i] = W[:,i]`` (input feature map);
- shape column ``W[:, i, a, b]`` (SSL); layer ``W``.

Functions with ``eps`` compute ``sqrt(sum x^2 + eps)`` so that gradients stay finite at an all-zero
group (the autograd path); ``eps=0`` gives the exact norm (measurement and proximal paths).
All reductions use negative dims, so a stack of same-shape layers ``(L, O, I, kh, kw)`` works too
(one result per layer).
"""
from __future__ import annotations

from typing import Callable, Iterator

import torch
from torch import nn

from .errors import InvalidArgument, InvalidType
from .models import is_shortcut

EPS = 1e-12
Predicate = Callable[[str, nn.Module], bool]


def default_target(name: str, module: nn.Module) -> bool:
    """Every ``nn.Conv2d`` except residual shortcut/projection convs."""
    return isinstance(module, nn.Conv2d) and not is_shortcut(name, module)


def target_convs(model: nn.Module, predicate: Predicate | None = None) -> list[tuple[str, nn.Conv2d]]:
    """``(name, conv)`` pairs of the layers to regularize/measure, in model order.

    ``predicate(name, module)`` overrides the default (every Conv2d but shortcuts). Raises
    ``ValueError`` naming the model class when nothing matches.
    """
    predicate = predicate or default_target
    found = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d) and predicate(n, m)]
    if not found:
        raise InvalidArgument(f"model {type(model).__name__} has no target conv layers for this predicate "
                              f"(the sparsity measures and regularizers act on Conv2d layers)")
    return found


def linear_layers(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    """``(name, linear)`` pairs of every ``nn.Linear``, the classifier included, in model order (the
    fully connected layers that nonconvex SGL and group lasso regularize with ``linear=True``, as the
    nonconvex SGL reference code does on all four LeNet-5 layers)."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]


def iter_weights(model: nn.Module, predicate: Predicate | None = None) -> Iterator[torch.Tensor]:
    for _, m in target_convs(model, predicate):
        yield m.weight


def check_conv_weight(W, name: str = "W") -> torch.Tensor:
    """``W`` unchanged if it is a conv weight (O, I, kh, kw) or a stack of same-shape conv weights
    (L, O, I, kh, kw); :class:`~hgsr.errors.InvalidType` unless it is a tensor,
    :class:`~hgsr.errors.InvalidArgument` naming ``name`` and its shape otherwise (e.g. a linear weight
    (O, I): reshape it to (O, I, 1, 1), as :func:`layer_filter_norms` does)."""
    if not isinstance(W, torch.Tensor):
        raise InvalidType(f"{name} must be a conv weight tensor (O, I, kh, kw) or a stack (L, O, I, kh, kw), "
                          f"got {type(W).__name__}")
    if W.dim() not in (4, 5):
        raise InvalidArgument(f"{name} must be a conv weight (O, I, kh, kw) or a stack of them (L, O, I, kh, kw), "
                              f"got shape {tuple(W.shape)} ({W.dim()}-D); a linear weight (O, I) is "
                              f"W.reshape(O, I, 1, 1)")
    return W


def _l2(x: torch.Tensor, dims, eps: float) -> torch.Tensor:
    s = x.pow(2).sum(dim=dims)
    return (s + eps).sqrt() if eps > 0 else s.sqrt()


def kernel_l1(W: torch.Tensor) -> torch.Tensor:
    """``A[o,i] = ||W[o,i,:,:]||_1``, shape (O, I)."""
    return check_conv_weight(W).abs().sum(dim=(-2, -1))


def kernel_l2(W: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """``N[o,i] = ||W[o,i,:,:]||_2``, shape (O, I)."""
    return _l2(check_conv_weight(W), (-2, -1), eps)


def filter_l2(W: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """``||F[o]||_2 = ||W[o]||_2``, shape (O,)."""
    return _l2(check_conv_weight(W), (-3, -2, -1), eps)


def layer_filter_norms(layer: nn.Module) -> torch.Tensor:
    """``||F[o]||_2`` of a conv's filters, or of a linear layer's rows (its output neurons), shape (O,)."""
    W = layer.weight.detach()
    return filter_l2(W if W.dim() == 4 else W.reshape(W.shape[0], -1, 1, 1))


def input_l2(W: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """Input-feature groups of a linear weight ``W`` (O, I): ``||W[:, j]||_2``, shape (I,) (or (L, I)
    for a stack (L, O, I)): the column that reads input feature ``j``."""
    return _l2(W, (-2,), eps)


def channel_l2(W: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """``||C[i]||_2 = ||W[:, i]||_2``, shape (I,)."""
    return _l2(check_conv_weight(W), (-4, -2, -1), eps)


def shape_l2(W: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """SSL shape columns ``||W[:, i, a, b]||_2``, shape (I, kh, kw)."""
    return _l2(check_conv_weight(W), (-4,), eps)


def layer_l2(W: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """``||W||_2`` of the whole layer, a scalar."""
    return _l2(check_conv_weight(W), (-4, -3, -2, -1), eps)


GROUP_NORMS = {"filter": filter_l2, "channel": channel_l2, "kernel": kernel_l2,
               "shape": shape_l2, "layer": layer_l2}


def group_norms(W: torch.Tensor, kind: str, eps: float = 0.0) -> torch.Tensor:
    """L2 norms of every group of one ``kind`` in {filter, channel, kernel, shape, layer}."""
    if kind not in GROUP_NORMS:
        raise InvalidArgument(f"unknown group kind {kind!r}; valid: {', '.join(GROUP_NORMS)}")
    return GROUP_NORMS[kind](W, eps)


def group_size(W: torch.Tensor, kind: str) -> int:
    """Number of weights in one group of ``kind`` (for the sqrt(|g|) weighting); ``W`` is a conv weight
    (O, I, kh, kw) or a stack of them (L, O, I, kh, kw)."""
    O, I, kh, kw = check_conv_weight(W).shape[-4:]
    sizes = {"filter": I * kh * kw, "channel": O * kh * kw, "kernel": kh * kw, "shape": O,
             "layer": O * I * kh * kw}
    if kind not in sizes:
        raise InvalidArgument(f"unknown group kind {kind!r}; valid: {', '.join(sizes)}")
    return sizes[kind]
