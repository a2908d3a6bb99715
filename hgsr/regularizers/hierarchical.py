"""Hierarchical group sparse regularization, HGSR (Mitsuno, Miyao, Kurita 2020; docs/methods.md section 2).

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
from .common import ConvRegularizer, InvalidArgument, check_choice, check_nonneg, check_positive
from .registry import register

GROUPINGS = ("input", "output")


def _sqrt(x: torch.Tensor, eps: float) -> torch.Tensor:
    """``sqrt(x + eps)``."""
    return (x + eps).sqrt()


def _square(x: torch.Tensor, eps: float) -> torch.Tensor:
    """``x²``."""
    return x * x


# key -> (inner φ: W -> (O, I) matrix, outer ψ). For the non-hierarchical bases "inner" is the
# quantity summed inside the outer group. Each inner also has a closed-form Jacobian-vector form
# ``J(c) = ∂(Σ_{o,i} c[o,i]·M[o,i])/∂W`` and each outer its derivative, for the fused penalty.
def _A(W, eps):
    return groups.kernel_l1(W)


def _N(W, eps):
    return groups.kernel_l2(W, eps)


def _N2(W, eps):
    return W.pow(2).sum(dim=(-2, -1))


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


def _k(c):
    """(..., O, I) -> (..., O, I, 1, 1), to broadcast a per-kernel factor over the kernel's entries."""
    return c[..., None, None]


def _inner_vg(inner: Callable, W: torch.Tensor, eps: float):
    """``(M, J)``: the inner matrix and ``J(c) = ∂(Σ c·M)/∂W`` in closed form:
    N²: ``2c·w``; A: ``c·sign(w)``; N: ``(c/N)·w``; A²: ``2cA·sign(w)``; sqrt(A+eps): ``c/(2 sqrt(A+eps))·sign(w)``."""
    if inner is _N2:
        return _N2(W, eps), lambda c: _k(2 * c) * W
    if inner is _N:
        N = _N(W, eps)
        return N, lambda c: _k(c / N) * W
    A = groups.kernel_l1(W)
    if inner is _A:
        return A, lambda c: _k(c) * W.sign()
    if inner is _A2:
        return A * A, lambda c: _k(2 * c * A) * W.sign()
    r = _sqrt(A, eps)
    return r, lambda c: _k(c / (2 * r)) * W.sign()


def _outer_vg(outer: Callable, s: torch.Tensor, eps: float):
    """``(ψ(s), ψ'(s))``: sqrt(s+eps) -> 1/(2 sqrt(s+eps)); s² -> 2s."""
    if outer is _sqrt:
        r = _sqrt(s, eps)
        return r, 0.5 / r
    return s * s, 2 * s


def hgsr_layer(W: torch.Tensor, variant: str, grouping: str = "input", eps: float = groups.EPS):
    """``Σ_outer ψ(Σ_inner φ(w[o,i]))`` of one layer for ``variant`` in :data:`VARIANTS`:
    the inner sum runs over o (``grouping="input"``) or over i (``"output"``)."""
    inner, outer = VARIANTS[variant]
    M = inner(W, eps)                         # (O, I)
    s = M.sum(dim=-2 if grouping == "input" else -1)
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
        self.eps = check_positive("eps", eps)

    def layer_penalty(self, W):
        return hgsr_layer(W, self.variant, self.grouping, self.eps)

    def layer_value_and_grad(self, W):
        inner, outer = VARIANTS[self.variant]
        M, J = _inner_vg(inner, W, self.eps)
        s = M.sum(dim=-2 if self.grouping == "input" else -1, keepdim=True)
        psi, dpsi = _outer_vg(outer, s, self.eps)
        return psi.sum(), J(dpsi.expand_as(M))


@register("hgsr_ref")
class HGSRReference(ConvRegularizer):
    """The HGSR reference code's mix: ``lam·[lam2·HSQ-GL1/2 + (1 − lam2)·L1]`` (λ = 1e-3, λ2 = 0.5)."""

    def __init__(self, lam: float = 1e-3, lam2: float = 0.5, grouping: str = "input",
                 eps: float = groups.EPS, predicate=None):
        super().__init__(predicate)
        self.lam = check_nonneg("lam", lam)
        self.lam2 = check_nonneg("lam2", lam2)
        if self.lam2 > 1:
            raise InvalidArgument(f"lam2 must be in [0, 1], got {lam2!r}")
        self.grouping = check_choice("grouping", grouping, GROUPINGS)
        self.eps = check_positive("eps", eps)

    def layer_penalty(self, W):
        A = groups.kernel_l1(W)
        s = _sqrt(A, self.eps).sum(dim=-2 if self.grouping == "input" else -1)
        return self.lam2 * (s * s).sum() + (1 - self.lam2) * A.sum()

    def layer_value_and_grad(self, W):
        """gradient ``sign(w)·[lam2·s/sqrt(A+eps) + (1 − lam2)]``, s the outer sum of sqrt(A+eps)."""
        A = groups.kernel_l1(W)
        r = _sqrt(A, self.eps)
        s = r.sum(dim=-2 if self.grouping == "input" else -1, keepdim=True)
        value = self.lam2 * (s * s).sum() + (1 - self.lam2) * A.sum()
        return value, _k(self.lam2 * s / r + (1 - self.lam2)) * W.sign()
