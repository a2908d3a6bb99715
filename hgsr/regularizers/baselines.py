"""Baseline penalties (docs/methods.md section 1): L1, weight decay, group lasso, SSL, network slimming.

All are summed over the target conv layers (default: every Conv2d except residual shortcuts) and
use the group views of :mod:`hgsr.groups`; square roots are ``sqrt(x + eps)`` on this autograd path.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .. import groups
from ..errors import InvalidArgument
from .base import Regularizer
from .common import (ConvRegularizer, check_bool, check_choice, check_nonneg, check_positive, check_predicate,
                     fused_penalty, group_norms_keepdim, linear_group_penalty)
from .registry import register

GROUP_KINDS = tuple(groups.GROUP_NORMS)  # filter, channel, kernel, shape, layer


@register("l1")
class L1(ConvRegularizer):
    """``lam · Σ_layers Σ |w|``."""

    def __init__(self, lam: float, predicate=None):
        super().__init__(predicate)
        self.lam = check_nonneg("lam", lam)

    def layer_penalty(self, W):
        return W.abs().sum()

    def layer_value_and_grad(self, W):
        return W.abs().sum(), W.sign()


@register("l2")
class L2(ConvRegularizer):
    """``lam · ½ Σ_layers Σ w²`` (weight decay written as a penalty, on the target convs only)."""

    def __init__(self, lam: float, predicate=None):
        super().__init__(predicate)
        self.lam = check_nonneg("lam", lam)

    def layer_penalty(self, W):
        return 0.5 * W.pow(2).sum()

    def layer_value_and_grad(self, W):
        return 0.5 * (W * W).sum(), W.clone()


def group_lasso_layer(W: torch.Tensor, group: str, size_weighted: bool, eps: float) -> torch.Tensor:
    """``Σ_g c_g ||W_g||_2`` of one layer; ``c_g = sqrt(|g|)`` if ``size_weighted`` else 1;
    ``||·||_2 = sqrt(Σ x² + eps)``."""
    s = groups.group_norms(W, group, eps).sum()
    return s * math.sqrt(groups.group_size(W, group)) if size_weighted else s


def group_lasso_value_and_coef(W: torch.Tensor, group: str, c: float, eps: float):
    """``c·Σ_g ||W_g||`` and the coefficient ``r = c/||W_g||`` (broadcastable against W) such that
    the gradient is ``r·W`` (no autograd)."""
    n = group_norms_keepdim(W, group, eps)
    return c * n.sum(), n.reciprocal().mul_(c)


@register("group_lasso")
class GroupLasso(ConvRegularizer):
    """``lam · Σ_layers Σ_g c_g ||W_g||_2`` over one group kind ``group`` in
    {filter, channel, kernel, shape, layer} of the target convs; ``c_g = 1`` (HGSR/SSL code) or, with
    ``size_weighted=True``, ``c_g = sqrt(|g|)`` (Yuan & Lin). Never the squared norm. With
    ``linear=True`` every ``nn.Linear`` adds ``lam · Σ_j c_j ||W[:, j]||_2`` over its input features
    (``c_j = sqrt(O)`` when size-weighted)."""

    def __init__(self, lam: float, group: str = "filter", size_weighted: bool = False,
                 eps: float = groups.EPS, predicate=None, linear: bool = False):
        super().__init__(predicate)
        self.lam = check_nonneg("lam", lam)
        self.group = check_choice("group", group, GROUP_KINDS)
        self.size_weighted = check_bool("size_weighted", size_weighted)
        self.eps = check_positive("eps", eps)
        self.linear = check_bool("linear", linear)

    def _linear_coef(self, W) -> float:
        return math.sqrt(W.shape[0]) if self.size_weighted else 1.0

    def penalty(self, model):
        total = super().penalty(model)
        if not self.linear:
            return total
        value, grads, ws = linear_group_penalty(model, self._linear_coef, self.eps)
        return total + fused_penalty(value, grads, ws, self.lam)

    def reference_penalty(self, model):
        total = super().reference_penalty(model)
        for _, m in (groups.linear_layers(model) if self.linear else []):
            total = total + self.lam * self._linear_coef(m.weight) * groups.input_l2(m.weight, self.eps).sum()
        return total

    def layer_penalty(self, W):
        return group_lasso_layer(W, self.group, self.size_weighted, self.eps)

    def layer_value_and_grad(self, W):
        c = math.sqrt(groups.group_size(W, self.group)) if self.size_weighted else 1.0
        value, r = group_lasso_value_and_coef(W, self.group, c, self.eps)
        return value, W * r


@register("ssl")
class SSL(ConvRegularizer):
    """Structured Sparsity Learning (Wen et al. 2016):
    ``λ_f·GL(filter) + λ_c·GL(channel) + λ_s·GL(shape) + λ_d·GL(layer)`` with ``c_g = 1``, each GL
    summed over groups and target layers. With ``zero_below`` set, ``after_step`` sets every target
    weight with ``|w| < zero_below`` to exactly 0 (the recipe's optional thresholding, e.g. 1e-4).
    """

    def __init__(self, lam_filter: float = 0.0, lam_channel: float = 0.0, lam_shape: float = 0.0,
                 lam_depth: float = 0.0, zero_below: float | None = None, eps: float = groups.EPS,
                 predicate=None):
        super().__init__(predicate)
        self.lams = {"filter": check_nonneg("lam_filter", lam_filter),
                     "channel": check_nonneg("lam_channel", lam_channel),
                     "shape": check_nonneg("lam_shape", lam_shape),
                     "layer": check_nonneg("lam_depth", lam_depth)}
        self.zero_below = None if zero_below is None else check_nonneg("zero_below", zero_below)
        self.eps = check_positive("eps", eps)
        self.lam = 1.0  # the λ's weight each group kind inside layer_penalty

    def layer_penalty(self, W):
        total = W.new_zeros(())
        for kind, lam in self.lams.items():
            if lam > 0:
                total = total + lam * groups.group_norms(W, kind, self.eps).sum()
        return total

    def layer_value_and_grad(self, W):
        """value and gradient ``W · Σ_k λ_k/||W_g(k)||`` (the coefficients broadcast, one full-size
        multiply)."""
        value, coef = W.new_zeros(()), None
        for kind, lam in self.lams.items():
            if lam > 0:
                v, r = group_lasso_value_and_coef(W, kind, lam, self.eps)
                value += v
                coef = r if coef is None else coef + r
        return value, (W * coef if coef is not None else torch.zeros_like(W))

    @torch.no_grad()
    def after_step(self, model, lr):
        if self.zero_below:
            for W in self.weights(model):
                W.masked_fill_(W.abs() < self.zero_below, 0.0)


def is_bn(name: str, module: nn.Module) -> bool:
    """Default slimming target: every ``nn.BatchNorm2d`` with a learnable scale."""
    return isinstance(module, nn.BatchNorm2d) and module.weight is not None


@register("slimming")
class Slimming(Regularizer):
    """Network Slimming (Liu et al. 2017): ``lam · Σ |γ|`` over the BatchNorm2d scale factors chosen
    by ``predicate(name, module)`` (default: every affine BatchNorm2d)."""

    def __init__(self, lam: float, predicate=None):
        self.lam = check_nonneg("lam", lam)
        self.predicate = check_predicate(predicate)

    def scales(self, model: nn.Module) -> list[torch.Tensor]:
        pred = self.predicate or is_bn
        found = [m.weight for n, m in model.named_modules()
                 if isinstance(m, nn.BatchNorm2d) and m.weight is not None and pred(n, m)]
        if not found:
            raise InvalidArgument(f"model {type(model).__name__} has no BatchNorm2d layer with a learnable scale "
                                  f"(for this predicate); slimming needs at least one (e.g. build LeNet-5 "
                                  f"with batchnorm=True)")
        return found

    def penalty(self, model):
        """``lam·Σ|γ|`` as one fused autograd node (gradient ``lam·sign(γ)``)."""
        gs = self.scales(model)
        with torch.no_grad():
            value = torch.stack([g.abs().sum() for g in gs]).sum()
            grads = torch._foreach_sign(gs)
        return fused_penalty(value, grads, gs, self.lam)

    def reference_penalty(self, model):
        """The same penalty with autograd (for tests)."""
        return self.lam * sum(g.abs().sum() for g in self.scales(model))
