"""Hierarchical group sparse regularization, HGSR (Mitsuno, Miyao, Kurita 2020; methods.md section 2).

Inner groups are kernels ``w[o,i]``, with the (O, I) matrices ``A[o,i] = ||w[o,i]||_1`` and
``N[o,i] = ||w[o,i]||_2``. Outer groups are input channels ``i`` (``grouping="input"``,
feature-wise, the reference code's default) or output filters ``o`` (``grouping="output"``,
neuron-wise: the roles of o and i swap). Feature-wise formulas, summed over layers, times ``lam``:

    gl        Σ_i sqrt(Σ_o N[o,i]²)          (group lasso)
    es        Σ_i (Σ_o A[o,i])²              (exclusive sparsity)
    gl12      Σ_i sqrt(Σ_o A[o,i])           (group L1/2)
    hsr_gl    Σ_i sqrt(Σ_o N[o,i])           hsq_gl    Σ_i (Σ_o N[o,i])²
    hsr_es    Σ_i sqrt(Σ_o A[o,i]²)          hsq_es    Σ_i (Σ_o A[o,i]²)²
    hsr_gl12  Σ_i sqrt(Σ_o sqrt(A[o,i]))     hsq_gl12  Σ_i (Σ_o sqrt(A[o,i]))²

Every square root is ``sqrt(x + eps)`` (autograd path; eps = 1e-12), so an all-zero kernel,
filter or channel has a finite gradient. ``hgsr_ref`` is the reference code's loss term
``lam·[lam2·HSQ-GL1/2 + (1 − lam2)·L1]``.
"""
from __future__ import annotations

from typing import Callable

import torch

from .. import groups
from .common import ConvRegularizer, check_choice, check_nonneg
from .registry import register

GROUPINGS = ("input", "output")


def _sqrt(x: torch.Tensor, eps: float) -> torch.Tensor:
    return (x + eps).sqrt()


def _square(x: torch.Tensor, eps: float) -> torch.Tensor:
    return x * x


def _ident(x: torch.Tensor, eps: float) -> torch.Tensor:
    return x


# key -> (inner φ as a function of W giving the (O, I) matrix, outer ψ). "inner" for the
# non-hierarchical bases is the quantity summed inside the outer group.
def _A(W, eps):
    return groups.kernel_l1(W)


def _N(W, eps):
    return groups.kernel_l2(W, eps)


def _N2(W, eps):
    return W.pow(2).sum(dim=(2, 3))


def _A2(W, eps):
    return groups.kernel_l1(W).pow(2)


def _sqrtA(W, eps):
    return _sqrt(groups.kernel_l1(W), eps)


VARIANTS: dict[str, tuple[Callable, Callable]] = {
    "gl": (_N2, _sqrt),
    "es": (_A, _square),
    "gl12": (_A, _sqrt),
    "hsr_gl": (_N, _sqrt),
    "hsq_gl": (_N, _square),
    "hsr_es": (_A2, _sqrt),
    "hsq_es": (_A2, _square),
    "hsr_gl12": (_sqrtA, _sqrt),
    "hsq_gl12": (_sqrtA, _square),
}


def hgsr_layer(W: torch.Tensor, variant: str, grouping: str = "input", eps: float = groups.EPS):
    """``Σ_outer ψ(Σ_inner φ(w[o,i]))`` of one layer for ``variant`` in :data:`VARIANTS`:
    the inner sum runs over o (``grouping="input"``) or over i (``"output"``)."""
    inner, outer = VARIANTS[variant]
    M = inner(W, eps)                         # (O, I)
    s = M.sum(dim=0 if grouping == "input" else 1)
    return outer(s, eps).sum()


@register(*VARIANTS)
class HGSR(ConvRegularizer):
    """``lam · Σ_layers hgsr_layer(W, key, grouping)``; see the module table for each key."""

    takes_key = True

    def __init__(self, key: str, lam: float, grouping: str = "input", eps: float = groups.EPS,
                 predicate=None):
        super().__init__(predicate)
        self.variant = check_choice("HGSR variant", key, tuple(VARIANTS))
        self.lam = check_nonneg("lam", lam)
        self.grouping = check_choice("grouping", grouping, GROUPINGS)
        self.eps = check_nonneg("eps", eps)

    def layer_penalty(self, W):
        return hgsr_layer(W, self.variant, self.grouping, self.eps)


@register("hgsr_ref")
class HGSRReference(ConvRegularizer):
    """The HGSR reference code's mix: ``lam·[lam2·HSQ-GL1/2 + (1 − lam2)·L1]`` (λ = 1e-3, λ2 = 0.5)."""

    def __init__(self, lam: float = 1e-3, lam2: float = 0.5, grouping: str = "input",
                 eps: float = groups.EPS, predicate=None):
        super().__init__(predicate)
        self.lam = check_nonneg("lam", lam)
        self.lam2 = check_nonneg("lam2", lam2)
        if self.lam2 > 1:
            raise ValueError(f"lam2 must be in [0, 1], got {lam2!r}")
        self.grouping = check_choice("grouping", grouping, GROUPINGS)
        self.eps = check_nonneg("eps", eps)

    def layer_penalty(self, W):
        A = groups.kernel_l1(W)
        s = _sqrt(A, self.eps).sum(dim=0 if self.grouping == "input" else 1)
        return self.lam2 * (s * s).sum() + (1 - self.lam2) * A.sum()
