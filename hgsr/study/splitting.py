"""Looking inside the variable-splitting nonconvex sparse group lasso (docs/methods.md section 4).

The regularizer (:class:`hgsr.regularizers.nonconvex.NonconvexSGL`) keeps, per target conv, the
weights ``W`` and an auxiliary ``V`` (buffer ``hgsr_V``) and minimizes

    L(W) + Σ_l [ λ·R(V_l) + λ·sqrt(|g|)·Σ_o ||W_l[o]||_2 + (β/2)·||W_l − V_l||² ].

This module only *inspects* that scheme (the algorithm itself lives in the regularizer):

- :func:`r_value`: ``R(V)`` for R in {l1, l0, tl1, l1_l2};
- :func:`split_terms`: one layer, one R: ``V = prox_{(λ/β)R}(W)`` and the three regularizer terms;
- :func:`splitting_toy`: the iteration on one layer with a quadratic stand-in for the data loss;
- :func:`w_vs_v_layers`, :func:`v_model`: per-layer sparsity of ``W`` (``|w| < 1e-5``) against ``V``
  (exact zeros), and a copy of a model whose weights are ``V`` (to plot V like a model);
- :func:`w_vs_v_table`, :func:`final_w_vs_v`, :func:`w_and_v`, :func:`w_v_views`: the same for several
  runs, their last epochs, and the models to plot side by side;
- :func:`zero_kinds`: exact zeros against near-zeros (``|w| <= tol``) of several models;
"""
from __future__ import annotations

import copy
import math
from typing import Mapping, Sequence

import pandas as pd
import torch
from torch import nn

from .. import compact, groups, measure, prox
from ..viz import vocabulary
from . import families
from ..errors import InvalidArgument, check_range
from ..regularizers.nonconvex import BUFFER, R_CHOICES, NonconvexSGL

W_TOL = 1e-5   # docs/methods.md section 4: sparsity of W is |w| < 1e-5; filter activity mean|W[o]| > 1e-5


def r_value(V: torch.Tensor, R: str, a: float = 1.0, alpha: float = 1.0) -> float:
    """``R(V)`` on the whole tensor: ``l1`` Σ|v|; ``l0`` #{v ≠ 0}; ``tl1`` Σ (a+1)|v|/(a+|v|);
    ``l1_l2`` ||v||_1 − α||v||_2 (the layer flattened as one vector)."""
    if R not in R_CHOICES:
        raise InvalidArgument(f"unknown R {R!r}; known: {', '.join(R_CHOICES)}")
    v = V.detach().abs().double()
    if R == "l1":
        return float(v.sum())
    if R == "l0":
        return float((v != 0).sum())
    if R == "tl1":
        return float(prox.tl1_penalty(v, a).sum())
    return float(v.sum() - alpha * torch.linalg.vector_norm(v))


def _reg(lam: float, beta: float, R: str, a: float, alpha: float) -> NonconvexSGL:
    return NonconvexSGL(lam=lam, beta=beta, R=R, a=a, alpha=alpha)


@torch.no_grad()
def split_terms(W: torch.Tensor, lam: float, beta: float, R: str = "l1", a: float = 1.0,
                alpha: float = 1.0) -> dict:
    """One step (2) of the iteration on one conv weight ``W`` (O, I, kh, kw), and the terms.

    Returns ``{"V": prox_{(λ/β)R}(W), "t": λ/β, "R_term": λ·R(V), "group_term":
    λ·sqrt(|g|)·Σ_o ||W[o]||_2 (|g| = I·kh·kw), "coupling": (β/2)·||W − V||², "v_sparsity": fraction
    of exact zeros of V, "v_zero_filters": filters of V that are all zero, "w_sparsity": fraction of
    |w| < 1e-5}`` (per-sample units, no division by n_train).
    """
    if W.dim() != 4:
        raise InvalidArgument(f"W must be a conv weight (O, I, kh, kw), got shape {tuple(W.shape)}")
    W = W.detach()
    V = _reg(lam, beta, R, a, alpha).prox_of(W)
    return {"R": R, "V": V, "t": lam / beta, "R_term": lam * r_value(V, R, a, alpha),
            "group_term": lam * math.sqrt(W[0].numel()) * float(groups.filter_l2(W).sum()),
            "coupling": 0.5 * beta * float((W - V).pow(2).sum()),
            "v_sparsity": float((V == 0).float().mean()),
            "v_zero_filters": int((V.flatten(1) == 0).all(1).sum()),
            "w_sparsity": float((W.abs() < W_TOL).float().mean())}


def split_table(W: torch.Tensor, lam: float, beta: float, Rs: Sequence[str] = R_CHOICES,
                a: float = 1.0, alpha: float = 1.0) -> pd.DataFrame:
    """:func:`split_terms` for each R, one row each (without the tensor ``V``)."""
    return pd.DataFrame([{k: v for k, v in split_terms(W, lam, beta, R, a, alpha).items() if k != "V"}
                         for R in Rs])


def splitting_toy(W0: torch.Tensor, lam: float, beta: float, R: str = "l1", epochs: int = 12,
                  steps_per_epoch: int = 20, lr: float = 0.05, period: int = 3, growth: float = 1.25,
                  a: float = 1.0, alpha: float = 1.0, rho: float = 1.0) -> pd.DataFrame:
    """The splitting iteration on one layer, data loss replaced by ``(ρ/2)||W − W0||²`` (a stand-in
    that keeps W near trained weights ``W0``), plain SGD at ``lr``, with the real regularizer:

    (1) ``W ← W − lr·∇_W[(ρ/2)||W − W0||² + λ·sqrt(|g|)Σ_o||W[o]||_2 + (β/2)||W − V||²]``;
    (2) ``V ← prox_{(λ/β)R}(W)``; after every ``period``-th epoch ``β ← growth·β``.

    One row per epoch: epoch, beta, gap ``||W − V||_2``, w_sparsity (|w| < 1e-5), v_sparsity
    (exact zeros), v_zero_filters, filter_activity (mean|W[o]| > 1e-5), objective (the full toy
    objective including λR(V)).
    """
    if W0.dim() != 4:
        raise InvalidArgument(f"W0 must be a conv weight (O, I, kh, kw), got shape {tuple(W0.shape)}")
    conv = nn.Conv2d(W0.shape[1], W0.shape[0], tuple(W0.shape[2:]), bias=False)
    target = W0.detach().clone()
    with torch.no_grad():
        conv.weight.copy_(target)
    model = nn.Sequential(conv)
    reg = NonconvexSGL(lam=lam, beta=beta, R=R, a=a, alpha=alpha, period=period, growth=growth)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    rows = []
    for epoch in range(epochs):
        for _ in range(steps_per_epoch):
            loss = 0.5 * rho * (conv.weight - target).pow(2).sum() + reg.penalty(model)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            reg.after_step(model, lr)
        beta_used = reg.beta
        reg.on_epoch_end(epoch)
        with torch.no_grad():
            W, V = conv.weight, reg.V(conv)
            obj = (0.5 * rho * (W - target).pow(2).sum() + lam * r_value(V, R, a, alpha)
                   + lam * math.sqrt(W[0].numel()) * groups.filter_l2(W).sum()
                   + 0.5 * beta_used * (W - V).pow(2).sum())
            rows.append({"epoch": epoch + 1, "beta": beta_used, "gap": float(torch.linalg.vector_norm(W - V)),
                         "w_sparsity": float((W.abs() < W_TOL).float().mean()),
                         "v_sparsity": float((V == 0).float().mean()),
                         "v_zero_filters": int((V.flatten(1) == 0).all(1).sum()),
                         "filter_activity": float((W.abs().mean(dim=(1, 2, 3)) > W_TOL).float().mean()),
                         "objective": float(obj)})
    return pd.DataFrame(rows)


def toy_scale(W0: torch.Tensor, kill: float = 0.5, zero: float = 0.5, rho: float = 1.0) -> dict:
    """Toy parameters scaled to a layer: ``λ = ρ·q_kill(||W0[o]||_2)/sqrt(|g|)`` (so ``λ·sqrt(|g|)/ρ``,
    the group shrinkage of a filter against the data stand-in of curvature ρ, equals the
    ``kill``-quantile of the filter norms: about that fraction of filters can die) and ``β = λ / q_zero(|w0|)`` (so the prox threshold ``λ/β`` starts at the
    ``zero``-quantile of the weight magnitudes). Returns ``{"lam": λ, "beta": β}``."""
    if W0.dim() != 4:
        raise InvalidArgument(f"W0 must be a conv weight (O, I, kh, kw), got shape {tuple(W0.shape)}")
    for name, q in (("kill", kill), ("zero", zero)):
        check_range(name, q, 0.0, 1.0, low_open=True, high_open=True)
    W0 = W0.detach().double()
    lam = rho * float(torch.quantile(groups.filter_l2(W0), kill)) / math.sqrt(W0[0].numel())
    t = float(torch.quantile(W0.abs().flatten(), zero))
    if not (lam > 0 and t > 0):
        raise InvalidArgument(f"W0 is (nearly) all zero (max |w| = {float(W0.abs().max()):.3g}): no scale to set "
                              f"the toy parameters from")
    return {"lam": lam, "beta": lam / t, "rho": rho}


def _v_of(conv: nn.Module) -> torch.Tensor | None:
    return conv._buffers.get(BUFFER)


@torch.no_grad()
def w_vs_v_layers(model: nn.Module, tol: float = measure.TOL, predicate=None) -> pd.DataFrame:
    """Per target conv (``layer``: its reader's name, ``conv1``, ...): weights; ``w_sparsity`` (|w| < 1e-5) and
    ``v_sparsity`` (V == 0, exact; NaN when
    the layer has no V); filters; ``w_active`` (mean|W[o]| > 1e-5, the reference code's filter
    activity); ``v_filters`` (filters of V with a nonzero entry); ``masked_filters`` (filters of
    ``W·[V ≠ 0]`` with L2 norm > ``tol``, what :func:`hgsr.compact.compact_from_zeros` keeps)."""
    rows = []
    names = vocabulary.layer_names(model)
    for name, conv in groups.target_convs(model, predicate):
        W, V = conv.weight.detach(), _v_of(conv)
        masked = W * (V != 0) if V is not None else W
        rows.append({"layer": names.get(name, name), "weights": W.numel(),
                     "w_sparsity": float((W.abs() < W_TOL).float().mean()),
                     "v_sparsity": float((V == 0).float().mean()) if V is not None else float("nan"),
                     "filters": W.shape[0],
                     "w_active": int((W.abs().mean(dim=(1, 2, 3)) > W_TOL).sum()),
                     "v_filters": int((V.flatten(1) != 0).any(1).sum()) if V is not None else W.shape[0],
                     "masked_filters": int((groups.filter_l2(masked) > tol).sum())})
    df = pd.DataFrame(rows)
    df.attrs["tol"] = tol
    return df


@torch.no_grad()
def v_model(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose target convs with a ``V`` buffer carry ``V`` as their weight (so
    plotting functions that take a model show V); raises if no layer has ``V``."""
    m = copy.deepcopy(model)
    found = False
    for mod in m.modules():
        V = _v_of(mod)
        if V is not None and getattr(mod, "weight", None) is not None:
            mod.weight.copy_(V)
            found = True
    if not found:
        raise InvalidArgument(f"model {type(model).__name__} has no {BUFFER!r} buffer (it was not trained with "
                              f"nonconvex_sgl)")
    return m


def w_and_v(models: Mapping[str, nn.Module]) -> dict[str, nn.Module]:
    """``{"<name>: W": model, "<name>: V": v_model(model)}`` for each of ``{name: model}``, in order."""
    out = {}
    for n, m in models.items():
        out[f"{n}: W"] = m
        out[f"{n}: V"] = v_model(m)
    return out


def w_v_views(model: nn.Module) -> dict[str, nn.Module]:
    """The three views of a nonconvex SGL model: ``W``, ``V`` (:func:`v_model`) and ``W·[V≠0]``
    (:func:`hgsr.compact.masked_by_support`, what the compact network starts from)."""
    return {"W": model, "V": v_model(model), "W·[V≠0]": compact.masked_by_support(model)}


def w_vs_v_table(models: Mapping[str, nn.Module], tol: float = measure.TOL) -> pd.DataFrame:
    """:func:`w_vs_v_layers` of each of ``{family: model}``, one table with a ``family`` column first."""
    layers = pd.concat([w_vs_v_layers(m, tol=tol).assign(family=n) for n, m in models.items()], ignore_index=True)
    return layers[["family", "layer", "weights", "w_sparsity", "v_sparsity", "filters", "w_active", "v_filters",
                   "masked_filters"]]


def final_w_vs_v(histories: Mapping[str, pd.DataFrame],
                 cols: Sequence[str] = ("w_sparsity", "v_sparsity", "filter_activity", "test_acc", "masked_acc",
                                        "beta")) -> pd.DataFrame:
    """One row per family of ``{family: training history}``: the columns ``cols`` at its last epoch."""
    return pd.DataFrame([{"family": n, **h.iloc[-1][list(cols)].to_dict()} for n, h in histories.items()])


@torch.no_grad()
def zero_kinds(models: Mapping[str, nn.Module], tols: Sequence[float] = (1e-5, 1e-3, 1e-2),
               filter_tol: float = measure.TOL, predicate=None) -> pd.DataFrame:
    """Per model (``{label: model}``), over its target conv weights: ``exact`` fraction of weights
    == 0, ``|w|<=tol`` fractions for each ``tol``, ``filters``, ``exact_zero_filters`` (every entry
    0) and ``filters_le_tol`` (filter L2 norm <= ``filter_tol``)."""
    rows = []
    for label, m in models.items():
        ws = [conv.weight.detach() for _, conv in groups.target_convs(m, predicate)]
        if not ws:
            raise InvalidArgument(f"models[{label!r}] has no target conv")
        flat = torch.cat([w.flatten() for w in ws]).abs()
        row = {"model": label, "exact": float((flat == 0).float().mean())}
        row.update({f"|w|<={t:g}": float((flat <= t).float().mean()) for t in tols})
        row["filters"] = sum(w.shape[0] for w in ws)
        row["exact_zero_filters"] = sum(int((w.flatten(1) == 0).all(1).sum()) for w in ws)
        row[f"filters_le_{filter_tol:g}"] = sum(int((groups.filter_l2(w) <= filter_tol).sum()) for w in ws)
        rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- verdicts (notebook 04)
def units_note(reg, cfg, ref_lam: float = 0.1, ref_beta: float = 2.5, n_train: int = 60000) -> str:
    """Markdown: the reference code's λ and β₀ converted to per-sample units against the registry's (``reg``
    a :class:`NonconvexSGL`), and whether β grows within the ``cfg`` schedule."""
    lam, beta = ref_lam / n_train, ref_beta / n_train
    grows = cfg.epochs // reg.period
    sched = ("so **β stays at β₀ here** (the growth shows in the toy of section 3 and in the paper profile)"
             if grows == 0 else f"so β grows {grows} time(s) here, to {reg.beta * reg.growth ** grows:g}")
    return (f"Reference code converted to per-sample units: λ = {lam:.3g}, β₀ = {beta:.3g}, threshold λ/β₀ = "
            f"{lam / beta:.3g}. Ours: λ = {reg.lam:g}, β₀ = {reg.beta:g}, threshold λ/β₀ = {reg.lam / reg.beta:.3g}, "
            f"TL1 a = {reg.a:g}, L1 − αL2 α = {reg.alpha:g}. β grows by ×{reg.growth:g} every {reg.period} epochs; "
            f"this profile trains {cfg.epochs} epoch(s), {sched}. The reference trains 200 epochs with Adam; we "
            f"train with {cfg.optimizer.upper()} (momentum {cfg.momentum}, lr {cfg.lr}, cosine), the same budget "
            f"as every other family of the study.")


def one_layer_verdict(terms: pd.DataFrame, lam: float, beta: float) -> str:
    """Markdown: what one prox step of each R did to a layer, from :func:`split_table`."""
    row = terms.set_index("R")
    t = lam / beta
    text = (f"At t = {t:.2g}, the L1 prox zeroes {row.loc['l1', 'v_sparsity']:.1%} of this layer's weights, the hard "
            f"threshold (L0, threshold √(2t) = {(2 * t) ** 0.5:.3g}) {row.loc['l0', 'v_sparsity']:.1%}, TL1 "
            f"{row.loc['tl1', 'v_sparsity']:.1%} and L1 − L2 {row.loc['l1_l2', 'v_sparsity']:.1%}.")
    zf = row["v_zero_filters"]
    if (zf == 0).all():
        text += (" No filter of V is zero after this one step: a filter of V is zero only when every entry falls "
                 "below the threshold, and during training the group term on W shrinks whole filters towards that.")
    else:
        text += " Filters of V already zero after one step: " + ", ".join(
            f"{vocabulary.PENALTIES_R.get(r, r)}: {int(v)}" for r, v in zf.items() if v > 0) + "."
    return text


def toy_verdict(toys: Mapping[str, pd.DataFrame], n_filters: int) -> str:
    """Markdown: where the split iteration of :func:`splitting_toy` ended for each R."""
    last = pd.DataFrame({R: h.iloc[-1] for R, h in toys.items()}).T
    first = pd.DataFrame({R: h.iloc[0] for R, h in toys.items()}).T
    when = f"After {int(last['epoch'].iloc[0])} epochs" if "epoch" in last.columns else "At the end"
    closed = bool((last["gap"] < first["gap"]).all())
    return (f"{when} β has grown to {last['beta'].iloc[0]:.3g}; the gap ‖W − V‖ went from "
            f"{first['gap'].min():.3g}–{first['gap'].max():.3g} to {last['gap'].min():.3g}–{last['gap'].max():.3g} "
            + ("(it closed for every R)" if closed else "(it did **not** close for every R)")
            + ". Zero filters of V at the end: "
            + ", ".join(f"{vocabulary.PENALTIES_R.get(R, R)}: {int(v)}" for R, v in last["v_zero_filters"].items())
            + f" of {n_filters}.")


def w_vs_v_verdict(layers: pd.DataFrame, tol: float) -> str:
    """Markdown: per family of :func:`w_vs_v_layers` tables (with a ``family`` column), the filters of W
    active, of V nonzero and of W·[V≠0] above ``tol``, both layers together."""
    tot = layers.groupby("family", sort=False)[["filters", "w_active", "v_filters", "masked_filters"]].sum()
    text = (f"Filters of W active (mean|W[o]| > {W_TOL:g}) / of V nonzero / of W·[V≠0] with norm > {tol:g}, all "
            "regularized layers: " + "; ".join(f"{n}: {r.w_active}/{r.v_filters}/{r.masked_filters} of {r.filters}"
                                                for n, r in tot.iterrows()) + ".")
    more = tot[tot["w_active"] > tot["masked_filters"]]
    if len(more):
        text += (" Where W keeps more active filters than W·[V≠0] (" + ", ".join(more.index) + "), the exact zeros "
                 "of V, not the size of W, decide what is removed.")
    return text


def zeros_verdict(zeros: pd.DataFrame, tol: float) -> str:
    """Markdown: exact zeros against near-zeros, from :func:`zero_kinds` of models named by their family labels
    (rows of the families ``prox_l1``, ``l1``, ``prox_group_lasso``, ``group_lasso_filter`` and the nonconvex
    ``<label> (W)``/``<label> (V)`` rows when present)."""
    z = zeros.set_index("model")
    ft = f"filters_le_{tol:g}"
    lab = {k: families.family(k).label for k in ("prox_l1", "l1", "prox_group_lasso", "group_lasso_filter")}
    text = []
    if {lab["prox_l1"], lab["l1"]} <= set(z.index):
        p, l1 = z.loc[lab["prox_l1"]], z.loc[lab["l1"]]
        text.append(f"Proximal L1 leaves {p['exact']:.1%} of the conv weights exactly 0; the L1 "
                    f"penalty {l1['exact']:.1%} exactly, {l1['|w|<=1e-05']:.1%} at |w| ≤ 1e-5 and "
                    f"{l1[f'|w|<={tol:g}']:.1%} at |w| ≤ {tol:g}.")
    if {lab["prox_group_lasso"], lab["group_lasso_filter"]} <= set(z.index):
        p, g = z.loc[lab["prox_group_lasso"]], z.loc[lab["group_lasso_filter"]]
        text.append(f"Proximal group lasso: {int(p['exact_zero_filters'])} filters exactly 0; "
                    f"the penalty {int(g['exact_zero_filters'])} exactly and "
                    f"{int(g[ft])} with norm ≤ {tol:g} (of {int(g['filters'])}).")
    w_rows = [i for i in z.index if i.endswith("(W)")]
    if w_rows:
        exact_w = float(z.loc[w_rows, "exact"].max())
        text.append("In the split scheme, W has " + ("no exact zero" if exact_w == 0 else
                                                   f"up to {exact_w:.1%} exact zeros")
                    + " (its group term acts by gradient), while V = prox(W) holds "
                    + ", ".join(f"{i[:-4]} {z.loc[i[:-4] + ' (V)', 'exact']:.1%}" for i in w_rows
                                if i[:-4] + " (V)" in z.index) + " exact zeros.")
    return " ".join(text)
