"""Numerical checks of the theory the notebooks teach (docs/methods.md sections 4 and 5).

- :func:`threshold_table`: the threshold of each proximal operator (below it, prox gives exactly 0);
- :func:`prox_optimality_table`: every closed-form proximal operator of :mod:`hgsr.prox` against a
  brute-force grid minimization of its objective ``t·R(x) + ½||x − y||²``;
- :func:`scale_invariance_table`: a regularizer's penalty at ``c·W`` for several scales ``c`` and
  Euler's identity ``<∇R(W), W> = k·R(W)`` for a penalty homogeneous of degree ``k`` (``k = 0`` for
  L1/L2: the gradient is orthogonal to the weights).
"""
from __future__ import annotations

import copy
from typing import Mapping, Sequence

import pandas as pd
import torch
from torch import nn

from .. import groups, prox
from ..errors import InvalidArgument

D = torch.float64


# --------------------------------------------------------------------------- proximal operators
def _r_soft(x, t, **_):
    return t * x.abs().sum(-1)


def _r_hard(x, t, **_):
    return t * (x != 0).to(x.dtype).sum(-1)


def _r_tl1(x, t, a=1.0, **_):
    return t * prox.tl1_penalty(x, a).sum(-1)


def _r_l1_l2(x, t, alpha=1.0, **_):
    return t * (x.abs().sum(-1) - alpha * torch.linalg.vector_norm(x, dim=-1))


def _r_group(x, t, **_):
    return t * torch.linalg.vector_norm(x, dim=-1)


# name -> (closed-form operator (y, t, **kw) -> x, penalty t·R(x) on the last dim)
OPERATORS = {
    "soft (L1)": (lambda y, t, **kw: prox.soft_threshold(y, t), _r_soft),
    "hard (L0)": (lambda y, t, **kw: prox.hard_threshold(y, t), _r_hard),
    "TL1": (lambda y, t, a=1.0: prox.tl1_prox(y, t, a), _r_tl1),
    "L1 − αL2": (lambda y, t, alpha=1.0: prox.l1_minus_l2_prox(y, t, alpha), _r_l1_l2),
    "group soft": (lambda y, t, **kw: prox.group_soft_threshold(y, t, dim=None), _r_group),
}

# (operator, t, keywords, points y): points chosen off the ties of each operator, on both sides
# of its threshold; the 2-D operators get 2-D points.
DEFAULT_CASES = [
    ("soft (L1)", 1.0, {}, [(-2.5,), (-0.7,), (0.3,), (1.6,)]),
    ("hard (L0)", 0.5, {}, [(-1.8,), (0.6,), (1.3,)]),
    ("TL1", 1.0, {"a": 0.5}, [(0.9,), (2.2,)]),
    ("TL1", 1.0, {"a": 1.0}, [(1.2,), (2.5,)]),
    ("TL1", 1.0, {"a": 5.0}, [(0.8,), (1.5,), (3.0,)]),
    ("L1 − αL2", 1.0, {"alpha": 0.5}, [(0.3, 0.2), (0.8, 0.1), (2.0, -0.5), (1.5, 1.2)]),
    ("group soft", 1.0, {}, [(0.5, 0.4), (1.5, -1.0)]),
]


def _grid_min(objective, y: torch.Tensor, n1: int, n2: int):
    """Argmin and min of ``objective`` on a uniform grid over ``[-R, R]^d`` (``R = max|y| + 1``,
    an odd number of points per axis, so 0 and the axes are on the grid)."""
    R = float(y.abs().max()) + 1.0
    n = n1 if y.numel() == 1 else n2
    half = (n - 1) // 2
    h = R / half
    g = torch.arange(-half, half + 1, dtype=D) * h    # integer multiples of h: 0 is exactly on the grid
    x = g[:, None] if y.numel() == 1 else torch.cartesian_prod(g, g)
    f = objective(x)
    i = int(torch.argmin(f))
    return x[i], float(f[i]), h


def threshold_table(lam: float = 1.0, alpha: float = 0.5, tl1_as: Sequence[float] = (0.1, 1.0, 10.0)) -> pd.DataFrame:
    """The threshold τ of each proximal operator at λ = t = ``lam`` (prox(y) = 0 exactly when |y| ≤ τ):
    soft (L1) λ, hard (L0) √(2λ), TL1 for each ``a`` of ``tl1_as`` (:func:`hgsr.prox.tl1_threshold`),
    L1 − αL2 in 1-D (1 − α)λ, group (on the norm) λ."""
    return pd.DataFrame(
        [{"operator": "soft (L1)", "threshold τ": lam}, {"operator": "hard (L0)", "threshold τ": (2 * lam) ** 0.5}]
        + [{"operator": f"TL1, a = {a:g}", "threshold τ": prox.tl1_threshold(lam, a)} for a in tl1_as]
        + [{"operator": f"L1 − αL2, α = {alpha:g} (1-D)", "threshold τ": (1 - alpha) * lam},
           {"operator": "group (on the norm)", "threshold τ": lam}])


def prox_optimality_table(cases=None, n1: int = 100_001, n2: int = 1_001) -> pd.DataFrame:
    """Each closed-form ``x = prox_{tR}(y)`` beside the brute-force argmin of
    ``F(x) = t·R(x) + ½||x − y||²`` on a grid (``n1`` points in 1-D, ``n2²`` in 2-D), float64.

    ``cases``: ``[(operator, t, keywords, [y points])]`` (default :data:`DEFAULT_CASES`; operators:
    :data:`OPERATORS`). Columns: operator, params, y, prox, grid_argmin, distance
    (``||prox − grid argmin||_∞``), grid_step, objective_gap (``F(prox) − min_grid F``: ≤ 0 up to
    rounding means the closed form is at least as good as every grid point), optimal
    (``objective_gap <= 1e-9`` and ``distance <= grid step``).
    """
    rows = []
    for name, t, kw, points in (DEFAULT_CASES if cases is None else cases):
        if name not in OPERATORS:
            raise InvalidArgument(f"cases has an unknown operator {name!r}; known: {', '.join(OPERATORS)}")
        op, penalty = OPERATORS[name]
        for pt in points:
            y = torch.tensor(pt, dtype=D)

            def objective(x, y=y):
                return penalty(x, t, **kw) + 0.5 * (x - y).pow(2).sum(-1)

            x = op(y, t, **kw)
            xb, fmin, h = _grid_min(objective, y, n1, n2)
            gap = float(objective(x[None])[0]) - fmin
            dist = float((x - xb).abs().max())
            fmt = lambda v: "(" + ", ".join(_number(e) for e in v) + ")" if v.numel() > 1 \
                else _number(v)  # noqa: E731
            rows.append({"operator": name, "params": ", ".join([f"t = {t:g}"] + [f"{_PARAMS.get(k, k)} = {v:g}"
                                                                              for k, v in kw.items()]),
                         "y": fmt(y), "prox": fmt(x), "grid_argmin": fmt(xb), "distance": dist, "grid_step": h,
                         "objective_gap": gap, "optimal": bool(gap <= 1e-9 and dist <= h + 1e-12)})
    return pd.DataFrame(rows)


_PARAMS = {"alpha": "α"}       # an operator's keyword as the formulas write it


def _number(v) -> str:
    """A prox value as table text (4 significant digits), a zero without its sign (``-0`` is 0)."""
    x = float(v)
    return f"{x + 0.0:.4g}" if x != 0 else "0"


# --------------------------------------------------------------------------- scale invariance
def scale_invariance_table(regularizers: Mapping[str, object], model: nn.Module,
                           scales: Sequence[float] = (0.01, 0.1, 0.5, 1.0, 2.0, 10.0, 100.0),
                           predicate=None) -> pd.DataFrame:
    """Penalty of every regularizer (``{name: Regularizer}``) on a copy of ``model`` whose target conv
    weights are multiplied by ``c``, for each ``c`` in ``scales``.

    Columns: regularizer, scale, penalty, relative (penalty / penalty at ``c = 1``; needs 1 in
    ``scales``), grad_dot_w ``<∇R, W>`` summed over the target convs, cos (that inner product over
    ``||∇R||·||W||``), degree ``<∇R, W>/R``: by Euler's identity the homogeneity degree ``k`` of
    ``R(cW) = c^k R(W)`` — 0 for L1/L2 (scale invariant, gradient orthogonal to W), 1 for L1.
    """
    if 1.0 not in [float(c) for c in scales]:
        raise InvalidArgument(f"scales must contain 1.0 (the reference), got {list(scales)}")
    if any(not c > 0 for c in scales):
        raise InvalidArgument(f"scales must all be > 0, got {list(scales)}")
    rows = []
    for name, reg in regularizers.items():
        for c in scales:
            m = copy.deepcopy(model)
            convs = [conv for _, conv in groups.target_convs(m, predicate)]
            with torch.no_grad():
                for conv in convs:
                    conv.weight.mul_(c)
            m.zero_grad(set_to_none=True)
            value = reg.penalty(m)
            value.backward()
            grads = [conv.weight.grad if conv.weight.grad is not None else torch.zeros_like(conv.weight)
                     for conv in convs]
            dot = sum(float((g * conv.weight.detach()).sum()) for g, conv in zip(grads, convs))
            gn = float(sum(g.pow(2).sum() for g in grads).sqrt())
            wn = float(sum(conv.weight.detach().pow(2).sum() for conv in convs).sqrt())
            v = float(value.detach())
            rows.append({"regularizer": name, "scale": float(c), "penalty": v, "grad_dot_w": dot,
                         "cos": dot / (gn * wn) if gn * wn > 0 else float("nan"),
                         "degree": dot / v if v else float("nan")})
    df = pd.DataFrame(rows)
    ref = df[df["scale"] == 1.0].set_index("regularizer")["penalty"]
    df.insert(3, "relative", df["penalty"] / df["regularizer"].map(ref))
    return df


# ----------------------------------------------------------------------------- verdicts (notebooks 01, 05)
def prox_check_verdict(check: pd.DataFrame) -> str:
    """Markdown: how many closed-form proximal points of :func:`prox_optimality_table` are optimal, the
    largest objective gap and distance, and the failing operators if any."""
    n, ok = len(check), int(check["optimal"].sum())
    text = (f"**{ok} of {n}** closed-form proximal points are optimal; largest objective gap "
            f"{check['objective_gap'].max():.2e}, largest distance to the grid argmin {check['distance'].max():.2e} "
            f"(grid steps up to {check['grid_step'].max():.1e}).")
    if ok < n:
        bad = check.loc[~check["optimal"].astype(bool), "operator"].unique()
        text += f" **Not optimal:** {', '.join(map(str, bad))}."
    return text


def toy_verdict(path: pd.DataFrame, tail: int = 6) -> str:
    """Markdown: where the proximal and the subgradient iterates of :func:`hgsr.toy.toy_paths` ended."""
    a = path.attrs
    last = path["subgradient"].iloc[-tail:]
    zero_from = a.get("prox_zero_from")
    head = f"With y = {a['y']:g}, λ = {a['lam']:g}, η = {a['lr']:g} (minimizer {a['minimizer']:g}): "
    if zero_from is not None:
        head += f"the proximal iterate is exactly 0 from step {zero_from} on; "
    else:
        head += f"the proximal iterate ends at {path['prox'].iloc[-1]:+.3f} (never exactly 0); "
    exact = int((last == 0).sum())
    spread = float(last.max() - last.min())
    head += (f"the last {tail} subgradient iterates are " + ", ".join(f"{v:+.3f}" for v in last) +
             f": {exact} of them exactly 0, spread {spread:.3f}")
    step = a["lr"] * a["lam"]
    crosses = bool(((last.to_numpy()[1:] * last.to_numpy()[:-1]) < 0).any())
    head += (f", jumping across 0 in steps of order ηλ = {step:.3f}." if crosses else
             ", without crossing 0.")
    return head


def scale_invariance_verdict(scale: pd.DataFrame, prefix: str = "L1/L2", contrast: str = "L1") -> str:
    """Markdown: from :func:`scale_invariance_table`, how much the ``prefix`` penalties change with the scale
    of the weights and how orthogonal their gradient is to them, against the ``contrast`` penalty's degree."""
    ratio = scale[scale["regularizer"].str.startswith(prefix)]
    other = scale[scale["regularizer"] == contrast]
    change = float((ratio["relative"] - 1).abs().max())
    cos = float(ratio["cos"].abs().max())
    deg = float(other["degree"].mean()) if len(other) else float("nan")
    invariant = change < 1e-4 and cos < 1e-4
    return (f"Over scales {scale['scale'].min():g}…{scale['scale'].max():g}: the {prefix} penalties change by at "
            f"most {change:.1e} (relative) and |cos(∇R, W)| ≤ {cos:.1e}, "
            + ("scale invariant to rounding error" if invariant else "**not** scale invariant at this precision")
            + f"; {contrast} has homogeneity degree {deg:.3f}.")
