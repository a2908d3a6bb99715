"""Tiny problems that make the theory visible (the numbers behind the teaching figures of :mod:`hgsr.viz`).

- :func:`penalty_2d`: the penalties of docs/methods.md evaluated on a 2-D weight ``(w1, w2)``;
- :func:`toy_paths`: subgradient descent vs proximal gradient on ``min_x ½(x − y)² + λ|x|``;
- :func:`scale_curves`: L1, L2 and L1/L2 of ``c·w`` as the scale ``c`` grows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .errors import InvalidArgument, check_nonneg, check_positive, check_positive_int, check_range
from .prox import soft_threshold, tl1_penalty

PENALTIES_2D = {
    "l1": "L1  |w1| + |w2|",
    "l2": "L2  sqrt(w1² + w2²)",
    "l1_over_l2": "L1/L2  (|w1| + |w2|) / sqrt(w1² + w2²)",
    "tl1": "TL1  ρ_a(w1) + ρ_a(w2),  ρ_a(x) = (a+1)|x| / (a+|x|)",
    "l1_l2": "L1 − αL2  |w1| + |w2| − α sqrt(w1² + w2²)",
    "l0": "L0  #{i : w_i ≠ 0}",
    "group": "group lasso, (w1, w2) one group  sqrt(w1² + w2²)",
    "hsq_gl12": "HSQ-GL1/2, w1 and w2 two kernels of one group  (sqrt|w1| + sqrt|w2|)²",
}


def penalty_2d(name: str, w1, w2, a: float = 1.0, alpha: float = 0.5, c_g: float = 1.0) -> np.ndarray:
    """Value of penalty ``name`` at the 2-D weight ``(w1, w2)`` (arrays broadcast), docs/methods.md formulas.

    - ``l1``: ``|w1| + |w2|``; ``l2``: ``sqrt(w1² + w2²)``;
    - ``l1_over_l2``: ``(|w1| + |w2|) / sqrt(w1² + w2²)`` (section 5; NaN at the origin, where it is undefined);
    - ``tl1``: ``ρ_a(w1) + ρ_a(w2)`` with ``ρ_a(x) = (a+1)|x| / (a + |x|)`` (section 4);
    - ``l1_l2``: ``|w1| + |w2| − α·sqrt(w1² + w2²)`` (section 4);
    - ``l0``: the number of nonzero coordinates;
    - ``group``: ``c_g·||(w1, w2)||_2``, the two weights forming one group (section 1);
    - ``hsq_gl12``: ``(sqrt|w1| + sqrt|w2|)²``, HSQ-GL1/2 of section 2 with one outer group whose two
      kernels hold one weight each (so ``A = |w|``).
    """
    if name not in PENALTIES_2D:
        raise InvalidArgument(f"unknown 2-D penalty {name!r}; known: {', '.join(PENALTIES_2D)}")
    check_positive("a", a)                                   # the TL1 parameter
    check_range("alpha", alpha, 0.0, 1.0, low_open=True)     # L1 − αL2
    x, y = np.abs(np.asarray(w1, dtype=float)), np.abs(np.asarray(w2, dtype=float))
    l1, l2 = x + y, np.hypot(x, y)
    if name == "l1":
        return l1
    if name == "l2":
        return l2
    if name == "l1_over_l2":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(l2 > 0, l1 / np.where(l2 > 0, l2, 1.0), np.nan)
    if name == "tl1":
        return tl1_penalty(x, a) + tl1_penalty(y, a)
    if name == "l1_l2":
        return l1 - alpha * l2
    if name == "l0":
        return (x != 0).astype(float) + (y != 0).astype(float)
    if name == "group":
        return c_g * l2
    return (np.sqrt(x) + np.sqrt(y)) ** 2


def toy_paths(y: float = 0.5, lam: float = 1.0, lr: float = 0.3, steps: int = 30,
              x0: float = 2.0) -> pd.DataFrame:
    """Iterates of two methods for ``min_x f(x) = ½(x − y)² + λ|x|`` (minimizer ``soft(y, λ)``).

    - subgradient descent: ``x ← x − lr·((x − y) + λ·sign(x))`` (``sign(0) = 0``);
    - proximal gradient:   ``x ← soft(x − lr·(x − y), lr·λ)`` with ``soft(v, t) = sign(v)·max(|v| − t, 0)``.

    With ``|y| ≤ λ`` the minimizer is exactly 0: the proximal iterates reach 0 in finitely many steps
    and stay there, the subgradient iterates keep jumping across 0 (by about ``lr·λ``), never at rest.
    Float64 throughout. Returns columns step (0..steps), subgradient, prox, objective_subgradient,
    objective_prox; ``attrs`` hold y, lam, lr, the minimizer and ``prox_zero_from`` (first step from
    which every proximal iterate is exactly 0, or None).
    """
    check_positive("lr", lr)
    check_nonneg("lam", lam)
    check_positive_int("steps", steps)
    sub = torch.tensor(float(x0), dtype=torch.float64)
    prox = sub.clone()
    rows = []
    for k in range(steps + 1):
        rows.append((k, float(sub), float(prox)))
        sub = sub - lr * ((sub - y) + lam * sub.sign())
        prox = soft_threshold(prox - lr * (prox - y), lr * lam)
    df = pd.DataFrame(rows, columns=["step", "subgradient", "prox"])

    def objective(x):
        return 0.5 * (x - y) ** 2 + lam * x.abs()

    df["objective_subgradient"] = objective(df["subgradient"])
    df["objective_prox"] = objective(df["prox"])
    nonzero = np.flatnonzero(df["prox"].to_numpy() != 0)
    rest = int(nonzero[-1]) + 1 if nonzero.size else 0
    df.attrs.update(y=y, lam=lam, lr=lr, minimizer=float(np.sign(y) * max(abs(y) - lam, 0.0)),
                    prox_zero_from=rest if rest <= steps else None)
    return df


def scale_curves(w: torch.Tensor | None = None, scales=None, seed: int = 0) -> pd.DataFrame:
    """``||c·w||_1``, ``||c·w||_2`` and their ratio for each scale ``c`` (docs/methods.md section 5).

    The norms grow linearly in ``c``; the ratio ``||w||_1/||w||_2`` stays constant (scale invariance),
    inside ``[1, sqrt(n)]``. ``w`` defaults to 64 seeded Gaussian numbers; ``scales`` to 0.01..100.
    """
    if w is None:
        w = torch.randn(64, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    w = torch.as_tensor(w).detach().flatten().to(torch.float64)
    if not bool((w != 0).any()):
        raise InvalidArgument(f"w must have at least one nonzero entry (its scale is what is varied), got "
                              f"{w.numel()} zeros")
    scales = np.logspace(-2, 2, 41) if scales is None else np.asarray(scales, dtype=float)
    if (scales <= 0).any():
        raise InvalidArgument(f"scales must all be > 0, got {scales[scales <= 0][:5]} among them")
    scaled = [c * w for c in scales]
    df = pd.DataFrame({"scale": scales, "l1": [float(v.abs().sum()) for v in scaled],
                       "l2": [float(v.pow(2).sum().sqrt()) for v in scaled]})
    df["l1_over_l2"] = df["l1"] / df["l2"]
    df.attrs["n"] = w.numel()
    return df
