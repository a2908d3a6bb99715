"""Closed-form proximal operators (docs/methods.md section 4), as pure tensor functions.

Every function returns ``prox_{tR}(y) = argmin_x t·R(x) + ½||x − y||²`` exactly: no ``eps``, no
in-place change of ``y``, the same dtype and device as ``y``, and never NaN for finite or infinite
inputs (zeros, huge values, ``t = 0`` included). Thresholds ``t`` may be Python numbers or tensors
that broadcast against ``y`` (or against the group norms, for the group operators).

================  ==========================================================================
``soft``          L1: ``sign(y)·max(|y| − t, 0)``
``hard``          L0: ``y`` where ``|y| > sqrt(2t)``, else 0
``tl1``           transformed L1 ``ρ_a(x) = (a+1)|x|/(a+|x|)``, Zhang & Xin's closed form
``l1_minus_l2``   ``||x||_1 − α||x||_2`` on the whole tensor as one vector (Lou & Yan)
``group soft``    group lasso ``||x||_2`` per group: ``max(0, 1 − t/||y||_2)·y``
``sparse group``  ``t1||x||_1 + t2||x||_2`` per group: ``group_soft(soft(y, t1), t2)`` (exact)
================  ==========================================================================

``PROX`` maps the nonconvex-SGL names ``l1``, ``l0``, ``tl1``, ``l1_l2`` to the elementwise (or
whole-tensor) operators; extra parameters are keywords (``a=`` for ``tl1``, ``alpha=`` for ``l1_l2``).
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

from .errors import InvalidArgument, InvalidType, check_nonneg, check_positive, check_range


def _check_t(t, name: str = "t"):
    """The threshold unchanged; InvalidArgument unless it is finite and >= 0 everywhere,
    InvalidType unless it is a real number or a tensor."""
    if isinstance(t, torch.Tensor):
        if t.is_complex() or t.dtype == torch.bool:
            raise InvalidType(f"threshold {name} must be a real tensor or number, got a {t.dtype} tensor")
        if not torch.isfinite(t).all() or (t < 0).any():
            raise InvalidArgument(f"threshold {name} must be finite and >= 0 everywhere, got {t}")
        return t
    check_nonneg(f"threshold {name}", t)
    return t


def _check_y(y) -> torch.Tensor:
    if not isinstance(y, torch.Tensor):
        raise InvalidType(f"y must be a torch.Tensor, got {y!r} ({type(y).__name__})")
    if not y.is_floating_point():
        raise InvalidType(f"y must be a floating-point tensor, got dtype {y.dtype}")
    return y


def _above(x: torch.Tensor, tau) -> torch.Tensor:
    """1.0 where ``x > tau``, else 0.0, as a float tensor: ``max(sign(x − tau), 0)`` (several times
    faster on CPU than a boolean mask followed by ``where``/``masked_fill``)."""
    return (x - tau).sign_().clamp_(min=0)


def soft_threshold(y: torch.Tensor, t) -> torch.Tensor:
    """L1 prox (soft threshold): ``sign(y)·max(|y| − t, 0)``."""
    _check_y(y)
    _check_t(t)
    return torch.sign(y).mul_((y.abs() - t).clamp_(min=0))


def hard_threshold(y: torch.Tensor, t) -> torch.Tensor:
    """L0 prox (hard threshold), ``R(x) = #{x ≠ 0}``: keep ``y`` where ``|y| > sqrt(2t)``, else 0.

    At ``|y| = sqrt(2t)`` both 0 and ``y`` minimize; 0 is returned.
    """
    _check_y(y)
    _check_t(t)
    tau = torch.sqrt(2 * t) if isinstance(t, torch.Tensor) else math.sqrt(2 * t)
    return _above(y.abs(), tau).mul_(y)


def tl1_penalty(x, a: float = 1.0):
    """Transformed L1 elementwise, ``ρ_a(x) = (a+1)|x| / (a+|x|)`` (tensors or NumPy arrays): → L0 as
    a → 0⁺, → |x| as a → ∞. The one place the formula is written; sum it for ``R(x)``."""
    ax = abs(x)
    return (a + 1) * ax / (a + ax)


def tl1_threshold(t: float, a: float) -> float:
    """TL1 prox threshold: ``t(a+1)/a`` if ``t <= a²/(2(a+1))``, else ``sqrt(2t(a+1)) − a/2``."""
    t = check_nonneg("threshold t", t)
    a = check_positive("a", a)
    if t <= a * a / (2 * (a + 1)):
        return t * (a + 1) / a
    return math.sqrt(2 * t * (a + 1)) - a / 2


def tl1_prox(y: torch.Tensor, t: float, a: float = 1.0) -> torch.Tensor:
    """Prox of ``t·ρ_a`` with the transformed L1 ``ρ_a(x) = (a+1)|x|/(a+|x|)`` (Zhang & Xin 2018).

    0 where ``|y| <= τ`` (:func:`tl1_threshold`); elsewhere
    ``sign(y)·[(2/3)(a+|y|)cos(φ/3) − 2a/3 + |y|/3]`` with
    ``φ = arccos(1 − u)``, ``u = 27t·a(a+1)/(2(a+|y|)³)``, ``u`` clamped to [0, 2]. ``arccos(1 − u)`` is
    computed as ``2·arcsin(sqrt(u/2))``, which is the same function but accurate for small ``u``.
    ``t`` and ``a`` are scalars (``a > 0``).
    """
    _check_y(y)
    if isinstance(t, torch.Tensor) and t.numel() != 1:
        raise InvalidType(f"threshold t of tl1_prox must be a scalar, got a tensor of shape {tuple(t.shape)}")
    t = float(_check_t(t))
    a = check_positive("a", a)
    tau = tl1_threshold(t, a)
    ay = y.abs()
    s = ay + a
    # h = u/2 = 27t·a(a+1)/(4 s³), clamped to [0, 1]; s³ may overflow to inf -> h = 0
    h = s.pow(3).reciprocal_().mul_(27 * t * a * (a + 1) / 4).clamp_(max=1.0)
    cos3 = h.sqrt_().asin_().mul_(2.0 / 3.0).cos_()                 # cos(φ/3), φ = 2 asin(sqrt(u/2))
    g = cos3.mul_(s).mul_(2.0 / 3.0).add_(ay, alpha=1.0 / 3.0).sub_(2 * a / 3)
    return torch.sign(y).mul_(g).mul_(_above(ay, tau))


def l1_minus_l2_prox(y: torch.Tensor, t: float, alpha: float = 1.0) -> torch.Tensor:
    """Prox of ``t(||x||_1 − α||x||_2)`` on the whole tensor as one vector (Lou & Yan 2018), 0 < α <= 1.

    - if ``max|y| > t``: ``z = soft(y, t)``, ``x = z·(||z||_2 + αt)/||z||_2``;
    - elif ``max|y| > (1−α)t``: 1-sparse, ``x_i* = sign(y_i*)(|y_i*| + (α−1)t)`` at the first
      ``i* = argmax |y_i|``, 0 elsewhere;
    - else ``x = 0``.
    """
    _check_y(y)
    if isinstance(t, torch.Tensor) and t.numel() != 1:
        raise InvalidType(f"threshold t of l1_minus_l2_prox must be a scalar, got a tensor of shape {tuple(t.shape)}")
    t = float(_check_t(t))
    alpha = check_range("alpha", alpha, 0.0, 1.0, low_open=True)
    if y.numel() == 0:
        return y.clone()
    ay = y.abs()
    m = ay.max()
    if m > t:
        z = soft_threshold(y, t)
        nz = torch.linalg.vector_norm(z)
        # (||z|| + αt)/||z|| written as 1 + αt/||z||: stays finite when ||z|| overflows to inf
        return z * (1 + alpha * t / nz)
    x = torch.zeros_like(y, memory_format=torch.contiguous_format)   # flat view below, in y's logical order
    if m > (1 - alpha) * t:
        i = int(torch.argmax(ay.reshape(-1)))
        flat = x.view(-1)
        yi = y.reshape(-1)[i]
        flat[i] = torch.sign(yi) * (yi.abs() + (alpha - 1) * t)
    return x


def _dims(y: torch.Tensor, dim) -> tuple[int, ...]:
    """``dim`` as a tuple of valid dims of ``y``: None (all), an int, or a sequence of distinct ints."""
    if dim is None:
        return tuple(range(y.dim()))
    from .errors import is_int

    dims = (dim,) if is_int(dim) else tuple(dim) if isinstance(dim, (tuple, list)) else None
    if dims is None or not all(is_int(d) for d in dims):
        raise InvalidType(f"dim must be None, an int or a tuple of ints, got {dim!r}")
    bad = [d for d in dims if not -y.dim() <= d < y.dim()]
    if bad or not dims or len({d % max(y.dim(), 1) for d in dims}) != len(dims):
        raise InvalidArgument(f"dim={dim!r} is not a set of distinct dims of y (shape {tuple(y.shape)})")
    return tuple(int(d) for d in dims)


def group_soft_threshold(y: torch.Tensor, t, dim: int | Sequence[int] | None) -> torch.Tensor:
    """Group lasso prox per group: ``max(0, 1 − t/||y_g||_2)·y_g``.

    A group is a slice reduced over ``dim`` (e.g. ``dim=(1, 2, 3)`` of a conv weight: one group
    per filter; ``(0, 2, 3)``: per input channel; ``None``: the whole tensor). A tensor ``t``
    broadcasts against the group norms (shape of ``y`` with ``dim`` kept as size 1).
    """
    _check_y(y)
    _check_t(t)
    norm = torch.linalg.vector_norm(y, dim=_dims(y, dim), keepdim=True)
    keep = norm > t
    # the division is only used where norm > t >= 0, so norm > 0 there
    scale = torch.where(keep, 1 - t / torch.where(keep, norm, torch.ones_like(norm)),
                        torch.zeros_like(norm))
    return y * scale


def sparse_group_prox(y: torch.Tensor, t1, t2, dim: int | Sequence[int] | None) -> torch.Tensor:
    """Convex sparse group lasso prox of ``t1||x||_1 + t2·Σ_g||x_g||_2``:
    ``group_soft_threshold(soft_threshold(y, t1), t2, dim)`` — exact (the L1 prox followed by the
    group prox is the prox of the sum for this pair of norms)."""
    return group_soft_threshold(soft_threshold(y, t1), t2, dim)


PROX: dict[str, Callable[..., torch.Tensor]] = {
    "l1": soft_threshold,
    "l0": hard_threshold,
    "tl1": tl1_prox,
    "l1_l2": l1_minus_l2_prox,
}
