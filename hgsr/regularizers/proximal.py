"""Proximal-step regularizers: no penalty term; ``after_step(model, lr)`` applies a prox with
threshold ``t = lr·lam`` to the target conv weights (docs/methods.md section 4), which gives EXACT zeros.

- ``prox_l1``: ``W ← soft(W, lr·lam)``;
- ``prox_group_lasso``: per group ``W_g ← max(0, 1 − lr·lam·c_g/||W_g||_2)·W_g`` (filter or channel
  groups, or any group kind of :mod:`hgsr.groups`); ``c_g = sqrt(|g|)`` if ``size_weighted`` else 1;
- ``prox_sgl``: convex sparse group lasso per filter, ``group_soft(soft(W, lr·lam1), lr·lam2·c_g)``.

This is proximal gradient descent: exact (the prox of the step's objective) for plain SGD; after a
momentum or Adam step it is a heuristic (the prox does not match the preconditioned/averaged step).
"""
from __future__ import annotations

import math

import torch

from .. import groups, prox
from .common import GROUP_DIMS, ConvRegularizer, check_bool, check_choice, check_nonneg
from .registry import register


class _Prox(ConvRegularizer):
    """No penalty (a zero tensor); subclasses implement ``after_step``."""

    def penalty(self, model):
        return self.weights(model)[0].new_zeros(())

    reference_penalty = penalty


@register("prox_l1")
class ProxL1(_Prox):
    """Soft threshold ``W ← sign(W)·max(|W| − lr·lam, 0)`` after every step (exact for plain SGD,
    a heuristic after momentum/Adam)."""

    def __init__(self, lam: float, predicate=None):
        super().__init__(predicate)
        self.lam = check_nonneg("lam", lam)

    @torch.no_grad()
    def after_step(self, model, lr):
        t = lr * self.lam
        for W in self.weights(model):
            W.copy_(prox.soft_threshold(W, t))


@register("prox_group_lasso")
class ProxGroupLasso(_Prox):
    """Group soft threshold ``W_g ← max(0, 1 − lr·lam·c_g/||W_g||_2)·W_g`` after every step,
    groups of kind ``group`` (filter, channel, kernel, shape, layer); exact for plain SGD, a
    heuristic after momentum/Adam."""

    def __init__(self, lam: float, group: str = "filter", size_weighted: bool = False, predicate=None):
        super().__init__(predicate)
        self.lam = check_nonneg("lam", lam)
        self.group = check_choice("group", group, tuple(GROUP_DIMS))
        self.size_weighted = check_bool("size_weighted", size_weighted)

    @torch.no_grad()
    def after_step(self, model, lr):
        for W in self.weights(model):
            c = math.sqrt(groups.group_size(W, self.group)) if self.size_weighted else 1.0
            W.copy_(prox.group_soft_threshold(W, lr * self.lam * c, GROUP_DIMS[self.group]))


@register("prox_sgl")
class ProxSGL(_Prox):
    """Convex sparse group lasso ``lam1·Σ|w| + lam2·Σ_filters c_g||F[o]||_2`` by its exact prox
    per filter, ``W ← group_soft(soft(W, lr·lam1), lr·lam2·c_g)``, after every step; exact for plain
    SGD, a heuristic after momentum/Adam."""

    def __init__(self, lam1: float, lam2: float, size_weighted: bool = False, predicate=None):
        super().__init__(predicate)
        self.lam1 = check_nonneg("lam1", lam1)
        self.lam2 = check_nonneg("lam2", lam2)
        self.size_weighted = check_bool("size_weighted", size_weighted)

    @torch.no_grad()
    def after_step(self, model, lr):
        for W in self.weights(model):
            c = math.sqrt(groups.group_size(W, "filter")) if self.size_weighted else 1.0
            W.copy_(prox.sparse_group_prox(W, lr * self.lam1, lr * self.lam2 * c, GROUP_DIMS["filter"]))
