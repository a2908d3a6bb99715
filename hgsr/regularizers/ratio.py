"""L1/L2 pseudo-norm on filters (Berthelier et al., ICPR 2020 workshops; docs/methods.md section 5).

``lam · Σ_layers R_l`` with, by ``level``:

- ``"filter"`` (default): ``R_l = Σ_o f_o / sqrt(Σ_o f_o²)``, ``f_o = ||F[o]||_2``: the L1/L2 ratio of
  the vector of filter norms;
- ``"per_filter"``: ``R_l = Σ_o ||F[o]||_1 / ||F[o]||_2``;
- ``"per_kernel"``: ``R_l = Σ_{o,i} ||w[o,i]||_1 / ||w[o,i]||_2``.

Every L2 norm is ``sqrt(Σ x² + eps)``, so a zero filter or kernel contributes 0 with a finite
gradient. The ratio is scale invariant and lies in [1, sqrt(n)] (1 exactly when one entry is
nonzero); its gradient is orthogonal to the weights, so it never shrinks them: filters are removed
afterwards by a norm threshold relative to the layer's largest filter norm, with ordinary weight
decay kept on.
"""
from __future__ import annotations

from .. import groups
from .common import ConvRegularizer, check_choice, check_nonneg, check_positive, group_norms_keepdim
from .registry import register

LEVELS = ("filter", "per_filter", "per_kernel")


def l1_over_l2_layer(W, level: str = "filter", eps: float = groups.EPS):
    """``R_l`` of one layer at ``level`` (see the module docstring)."""
    if level == "filter":
        f = groups.filter_l2(W, eps)
        return f.sum() / f.pow(2).sum().sqrt()
    if level == "per_filter":
        return (W.abs().sum(dim=(1, 2, 3)) / groups.filter_l2(W, eps)).sum()
    return (groups.kernel_l1(W) / groups.kernel_l2(W, eps)).sum()


def l1_over_l2_value_and_grad(W, level: str = "filter", eps: float = groups.EPS):
    """``R_l`` (summed over a stack of layers) and ``∂R_l/∂W`` in closed form.

    filter: with ``S1 = Σ f``, ``S2 = sqrt(Σ f²)``: ``∂R/∂f_o = 1/S2 − S1·f_o/S2³`` and
    ``∂f_o/∂w = w/f_o``. per filter / per kernel, ``r = a/f`` with ``a = ||·||_1``:
    ``∂r/∂w = sign(w)/f − a·w/f³``.
    """
    if level == "filter":
        f = groups.filter_l2(W, eps)                     # (..., O): one row per layer
        s1, s2 = f.sum(-1, keepdim=True), f.pow(2).sum(-1, keepdim=True).sqrt()
        dR = (1 / s2 - s1 * f / s2 ** 3) / f
        return (s1 / s2).sum(), dR[..., None, None, None] * W
    if level == "per_filter":
        a = W.abs().sum(dim=(-3, -2, -1), keepdim=True)
        f = group_norms_keepdim(W, "filter", eps)
    else:
        a = W.abs().sum(dim=(-2, -1), keepdim=True)
        f = group_norms_keepdim(W, "kernel", eps)
    return (a / f).sum(), W.sign() / f - (a / f.pow(3)) * W


@register("l1_over_l2")
class L1OverL2(ConvRegularizer):
    """``lam · Σ_layers R_l``, the scale-invariant L1/L2 ratio at ``level`` (module docstring)."""

    def __init__(self, lam: float, level: str = "filter", eps: float = groups.EPS, predicate=None):
        super().__init__(predicate)
        self.lam = check_nonneg("lam", lam)
        self.level = check_choice("level", level, LEVELS)
        self.eps = check_positive("eps", eps)

    def layer_penalty(self, W):
        return l1_over_l2_layer(W, self.level, self.eps)

    def layer_value_and_grad(self, W):
        return l1_over_l2_value_and_grad(W, self.level, self.eps)
