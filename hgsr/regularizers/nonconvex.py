"""Nonconvex sparse group lasso by variable splitting (Bui, Park, Zhang, Qi, Xin 2021; docs/methods.md §4).

Per target conv layer ``l``, weights ``W_l`` and an auxiliary tensor ``V_l`` of the same shape:

    min_{W,V}  L(W) + Σ_l [ λ·R(V_l) + λ·sqrt(|g|)·Σ_o ||W_l[o]||_2 + (β/2)·||W_l − V_l||² ]

with ``|g| = I·kh·kw`` the filter size and R in {``l1``, ``l0``, ``tl1`` (parameter ``a``),
``l1_l2`` (L1 − α·L2 on the whole layer flattened, 0 < α <= 1)}.

- ``penalty(model)`` = ``Σ_l [λ·sqrt(|g|)·Σ_o sqrt(||W_l[o]||² + eps) + (β/2)·||W_l − V_l||²]``: the
  terms with a gradient w.r.t. W (λR(V) is constant in W and left out);
- ``after_step``: ``V_l ← prox_{(λ/β)R}(W_l)`` elementwise (whole layer for ``l1_l2``), no_grad;
- ``on_epoch_end(epoch)``: ``β ← growth·β`` after every ``period``-th epoch (the reference code:
  after epochs 40, 80, ...).

With ``linear=True`` every ``nn.Linear`` (the classifier included, as the reference code regularizes all
four LeNet-5 layers) is a layer ``l`` too, its groups being its **input features**: the group term is
``λ·sqrt(O)·Σ_j ||W_l[:, j]||_2`` and R, the coupling and V act elementwise as for the convs.

``V_l`` is the buffer ``hgsr_V`` of each target conv, so it is saved in the model's state_dict; it
is created lazily as ``prox(W_l)`` on first use (load a saved model after
:func:`hgsr.regularizers.common.adopt_buffers`).

Units. With ``n_train = N`` every regularizer term is divided by N (the reference code's
convention: mean cross-entropy, with λ and β in "sum over the dataset" units; LeNet-5/MNIST uses
λ = 0.1, β0 = 2.5, N = 60000). With ``n_train=None`` the terms are used as given (per-sample units).
The prox threshold ``λ/β`` is the same in both conventions.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .. import groups, prox
from ..errors import check_int, check_range
from .common import (ConvRegularizer, check_bool, check_choice, check_nonneg, check_positive, fused_penalty,
                     linear_group_penalty, stacks)
from .registry import register

R_CHOICES = tuple(prox.PROX)  # l1, l0, tl1, l1_l2
BUFFER = "hgsr_V"


@register("nonconvex_sgl")
class NonconvexSGL(ConvRegularizer):
    """Variable-splitting nonconvex sparse group lasso (see the module docstring).

    Parameters: ``lam`` (λ >= 0), ``beta`` (β0 > 0), ``R`` in {l1, l0, tl1, l1_l2}, ``a`` (TL1, > 0),
    ``alpha`` (L1 − αL2, in (0, 1]), ``period`` (epochs between β growths), ``growth`` (factor >= 1),
    ``n_train`` (divide every term by it; None = no division), ``eps`` (autograd sqrt), ``predicate``,
    ``linear`` (also every ``nn.Linear``, groups = input features).
    """

    def __init__(self, lam: float, beta: float = 2.5, R: str = "l1", a: float = 1.0, alpha: float = 1.0,
                 period: int = 40, growth: float = 1.25, n_train: int | None = None,
                 eps: float = groups.EPS, predicate=None, linear: bool = False):
        super().__init__(predicate)
        self.lam = check_nonneg("lam", lam)
        self.beta = check_positive("beta", beta)
        self.R = check_choice("R", R, R_CHOICES)
        self.a = check_positive("a", a)
        self.alpha = check_range("alpha", alpha, 0.0, 1.0, low_open=True)
        self.period = check_int("period", period, 1)
        self.growth = check_range("growth", growth, 1.0, float("inf"), high_open=True)
        self.n_train = check_int("n_train", n_train, 1, optional=True)
        self.eps = check_positive("eps", eps)
        self.linear = check_bool("linear", linear)
        self.epoch = 0

    # --- V -----------------------------------------------------------------------------------
    def prox_of(self, W: torch.Tensor) -> torch.Tensor:
        """``prox_{(λ/β)R}(W)`` (elementwise; whole tensor for ``l1_l2``)."""
        kw = {"a": self.a} if self.R == "tl1" else {"alpha": self.alpha} if self.R == "l1_l2" else {}
        return prox.PROX[self.R](W.detach(), self.lam / self.beta, **kw)

    def layers(self, model: nn.Module) -> list[tuple[str, nn.Module]]:
        """The regularized layers: the target convs, then (``linear=True``) every ``nn.Linear``."""
        return self.convs(model) + (groups.linear_layers(model) if self.linear else [])

    def V(self, conv: nn.Module) -> torch.Tensor:
        """The buffer ``hgsr_V`` of a layer, created as ``prox(W)`` if absent or of the wrong shape."""
        V = getattr(conv, BUFFER, None)
        if V is None or V.shape != conv.weight.shape:
            with torch.no_grad():
                conv.register_buffer(BUFFER, self.prox_of(conv.weight).clone())
            V = getattr(conv, BUFFER)
        return V

    # --- interface -----------------------------------------------------------------------------
    def _scale(self) -> float:
        return 1.0 / self.n_train if self.n_train else 1.0

    def penalty(self, model):
        """``Σ_l [λ·sqrt(|g|)·Σ_o ||W_l[o]||_2 + (β/2)||W_l − V_l||²]`` (÷ n_train), one fused node;
        gradient ``λ·sqrt(|g|)·W[o]/||W[o]||_2 + β(W − V)``."""
        convs = self.convs(model)
        ws = [conv.weight for _, conv in convs]
        with torch.no_grad():
            Vs = [self.V(conv) for _, conv in convs]
            vals, grads = [], [None] * len(ws)
            for (idx, W), (_, V) in zip(stacks(ws), stacks(Vs)):   # same shapes, same buckets
                lg = self.lam * math.sqrt(W[0, 0].numel())
                f = groups.filter_l2(W, self.eps)
                D = W - V
                vals.append(lg * f.sum() + (0.5 * self.beta) * (D * D).sum())
                G = torch.addcdiv(D.mul_(self.beta), W, f[..., None, None, None], value=lg)
                for j, i in enumerate(idx):
                    grads[i] = G[j]
            total = torch.stack(vals).sum()
        out = fused_penalty(total, grads, ws, self._scale())
        if self.linear:
            def coupling(layer, W):
                D = W - self.V(layer)
                return (0.5 * self.beta) * (D * D).sum(), D * self.beta
            value, lgrads, lws = linear_group_penalty(model, lambda W: self.lam * math.sqrt(W.shape[0]), self.eps,
                                                      coupling)
            out = out + fused_penalty(value, lgrads, lws, self._scale())
        return out

    def reference_penalty(self, model):
        """The same penalty with autograd (for tests)."""
        total = 0
        for _, conv in self.convs(model):
            W, V = conv.weight, self.V(conv)
            total = total + self.lam * math.sqrt(W[0].numel()) * groups.filter_l2(W, self.eps).sum() \
                + 0.5 * self.beta * (W - V).pow(2).sum()
        for _, fc in (groups.linear_layers(model) if self.linear else []):
            W, V = fc.weight, self.V(fc)
            total = total + self.lam * math.sqrt(W.shape[0]) * groups.input_l2(W, self.eps).sum() \
                + 0.5 * self.beta * (W - V).pow(2).sum()
        return total * self._scale()

    @torch.no_grad()
    def after_step(self, model, lr):
        for _, conv in self.layers(model):    # per layer: stays in cache (faster than one flat op)
            self.V(conv).copy_(self.prox_of(conv.weight))

    def on_epoch_end(self, epoch: int) -> None:
        self.epoch = epoch + 1
        if self.epoch % self.period == 0:
            self.beta *= self.growth

    def state_dict(self) -> dict:
        return {"beta": self.beta, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        self.beta = float(state["beta"])
        self.epoch = int(state["epoch"])

    @torch.no_grad()
    def metrics(self, model, evaluate) -> dict:
        """``v_sparsity`` (exact zeros of V), ``w_sparsity`` (|w| < 1e-5), ``filter_activity``
        (fraction of conv filters with mean|W[o]| > 1e-5), ``masked_acc`` (``evaluate(model)`` with W
        multiplied by the support of V, restored afterwards), and the current ``beta``."""
        convs = self.layers(model)
        n = v0 = w0 = active = filters = 0
        for _, conv in convs:
            W, V = conv.weight, self.V(conv)
            n += W.numel()
            v0 += int((V == 0).sum())
            w0 += int((W.abs() < 1e-5).sum())
            if W.dim() == 4:
                active += int((W.abs().mean(dim=(1, 2, 3)) > 1e-5).sum())
                filters += W.shape[0]
        out = {"v_sparsity": v0 / n, "w_sparsity": w0 / n, "filter_activity": active / filters,
               "beta": self.beta}
        if evaluate is not None:
            saved = [conv.weight.detach().clone() for _, conv in convs]
            try:
                for _, conv in convs:
                    conv.weight.mul_(self.V(conv) != 0)
                out["masked_acc"] = evaluate(model)
            finally:
                for (_, conv), W in zip(convs, saved):
                    conv.weight.copy_(W)
        return out
