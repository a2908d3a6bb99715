"""Physical pruning: a plan ``{group: [channels]}`` -> a new, smaller model (docs/methods.md section 6).

Removed output channels are cut out of every coupled conv and BatchNorm, and the matching input
channels (or flattened columns) out of every consumer, by torch-pruning's ``DependencyGraph``.

**What a removed channel still emits.** With its filter zero, a channel still emits the constant
``beta - gamma*mu/sigma`` after its BatchNorm (or its bias, without one), passed through ReLU and
pooling as a constant ``v``. A consumer computes ``sum_j W[:, j] * v`` from it, which can be moved
into the consumer's bias **exactly** when the consumer is a linear layer or an unpadded conv
(``bias += W[:, j].sum(kh, kw) * v``; a consumer without bias that feeds a BatchNorm gets
``running_mean -= delta`` instead, which is the same in eval mode and cancels in train mode). Into a
zero-padded conv the same fold is exact only away from the border, where the padding zeros replace
``v``. So ``fold`` chooses:

- ``"exact"`` (default): fold every constant whose consumers all fold exactly; for the other removed
  channels set ``gamma = beta = 0`` (and the conv bias) first, so they emit 0 (a ``UserWarning``
  says how many nonzero constants were dropped, and ``compact.prune_info`` lists them).
- ``"zero"``: emit 0 for every removed channel (the meaning of "removed" in the loss-increase
  scores).
- ``"approx"``: fold into padded convs too (exact in the interior, approximate on the border).

**Guarantee** (tested, for ``fold="exact"`` and ``"zero"``): in eval mode the compact model computes the
same function as
:func:`masked_copy` -- the dense model with the removed filters zeroed and, for the channels not
folded, gamma, beta and bias zeroed too -- up to float rounding. Hence with ``fold="exact"``, removing
filters that are exactly zero changes nothing whenever their constants are zero (e.g. after
:class:`~hgsr.prune.removal.masks.MaskedFinetune` with ``affine=True``) or fold exactly (LeNet-5, the last
conv before global pooling, linear layers).
"""
from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

from ... import measure
from ...errors import InvalidArgument, InvalidType, check_choice, check_module, is_int
from ...regularizers.common import BUFFER_PREFIX
from . import graph
from .silence import zero_affine, zero_filters
from .structure import (EmptyLayerError, Group, UnknownGroup, dependency_graph, find_group, groups_from_graph,  # noqa: F401
                        input_shape as shape_of)

FOLDS = ("exact", "zero", "approx")


def _plan_channels(name: str, chans, arg: str = "plan") -> list[int]:
    """The channel list of one plan entry: integers only (1.7 is no channel, "01" no list)."""
    import numpy as np

    if isinstance(chans, (torch.Tensor, np.ndarray)):
        if chans.dtype in (torch.bool, np.bool_) or not (
                (isinstance(chans, torch.Tensor) and not chans.is_floating_point() and not chans.is_complex())
                or (isinstance(chans, np.ndarray) and np.issubdtype(chans.dtype, np.integer))):
            raise InvalidType(f"{arg}[{name!r}] must hold integer channel indices, got a {chans.dtype} array")
        chans = chans.reshape(-1).tolist()
    if isinstance(chans, (str, bytes)) or not isinstance(chans, (list, tuple, range, set, frozenset)):
        raise InvalidType(f"{arg}[{name!r}] must be a list of channel indices (ints), got {chans!r} "
                          f"({type(chans).__name__})")
    chans = list(chans)
    for c in chans:
        if not is_int(c):
            raise InvalidType(f"{arg}[{name!r}] has channel {c!r} ({type(c).__name__}); channel indices are "
                              f"integers")
    return [int(c) for c in chans]


def validate_plan(groups: list[Group], plan: dict) -> list[tuple[Group, list[int]]]:
    """``[(group, sorted channels)]``; errors name the group for unknown names, bad or all indices."""
    if not isinstance(plan, dict):
        raise InvalidType(f"plan must be a dict {{group name: [channels]}}, got {type(plan).__name__}")
    out = []
    for name, chans in plan.items():
        if not isinstance(name, str):
            raise InvalidType(f"plan keys are group names (strings), got {name!r} ({type(name).__name__})")
        try:
            g = find_group(groups, name)
        except KeyError as e:
            raise UnknownGroup(f"plan names {e.args[0]}") from None
        chans = _plan_channels(name, chans)
        idx = sorted(set(chans))
        if len(idx) != len(chans):
            raise InvalidArgument(f"plan for group {name!r} repeats channels")
        bad = [c for c in idx if not 0 <= c < g.size]
        if bad:
            raise InvalidArgument(f"plan for group {name!r} (size {g.size}) has out-of-range channels {bad}")
        if len(idx) >= g.size:
            raise EmptyLayerError(f"pruning would empty layer {name!r} (layers {', '.join(g.convs)}): "
                                  f"all {g.size} channels are in the plan; keep at least one")
        if idx:
            out.append((g, idx))
    return out


class _Work:
    """A deep copy of the model in eval mode, with its dependency graph and groups."""

    def __init__(self, model: nn.Module, plan: dict, example):
        check_module("model", model)
        self.flags = {n: m.training for n, m in model.named_modules()}
        self.model = copy.deepcopy(model).eval()
        self.shape = shape_of(example)
        self.DG = dependency_graph(self.model, example)
        self.gm = graph.trace(self.model)
        self.after = graph.following_bn(self.gm)
        self.groups = groups_from_graph(self.model, self.DG, self.gm, include_linear=True)
        self.items = validate_plan(self.groups, plan)
        self.names = {m: n for n, m in self.model.named_modules()}

    def tp_group(self, g: Group, idx: list[int]):
        root = self.model.get_submodule(g.root)
        return self.DG.get_pruning_group(root, self.DG.get_pruner_of_module(root).prune_out_channels, idx)

    def consumer_index(self, g: Group, idx: list[int]) -> dict[str, tuple[list[int], list[int]]]:
        """``{consumer: (input indices, group channel of each)}`` for removing ``idx`` of ``g``."""
        out = {}
        for item in self.tp_group(g, idx):
            mod = item.dep.target.module
            if isinstance(mod, (nn.Conv2d, nn.Linear)) and self.DG.is_in_channel_pruning_fn(item.dep.handler):
                out[self.names[mod]] = (list(item.idxs), list(item.root_idxs))
        return out

    def restore_flags(self, model: nn.Module) -> nn.Module:
        for n, m in model.named_modules():
            m.training = self.flags.get(n, False)
        return model


@torch.no_grad()
def _probe(model: nn.Module, layers: list[str], shape) -> dict[str, torch.Tensor]:
    """Inputs of ``layers`` on a fixed random batch of two (eval mode)."""
    seen, hooks = {}, []
    for name in layers:
        hooks.append(model.get_submodule(name).register_forward_pre_hook(
            lambda m, a, name=name: seen.__setitem__(name, a[0].detach())))
    p = next(model.parameters())
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(0)).to(p.device, p.dtype)
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
    return seen


def _constant(x: torch.Tensor, j: int) -> float | None:
    """The value of input index ``j`` if it is the same everywhere (batch and space), else None."""
    col = x[:, j]
    v = col.flatten()[0]
    return float(v) if bool(((col - v).abs() <= 1e-6 * (1 + v.abs())).all()) else None


def _fold_exact(layer: nn.Module, fold: str) -> bool:
    if isinstance(layer, nn.Linear):
        return True
    if layer.groups != 1:
        return False
    if fold == "approx":
        return True
    pad = layer.padding
    return pad == "valid" if isinstance(pad, str) else all(p == 0 for p in pad)


@torch.no_grad()
def _silence(work: _Work, fold: str) -> tuple[list, dict]:
    """Zero removed filters (and affine where constants cannot be folded); return the folds to do."""
    check_choice("fold", fold, FOLDS)
    m = work.model
    for g, idx in work.items:
        zero_filters(m, g, idx)
    if fold == "zero":
        for g, idx in work.items:
            zero_affine(m, g, idx)
        return [], {}
    cons = {g.name: work.consumer_index(g, idx) for g, idx in work.items}
    layers = sorted({c for d in cons.values() for c in d})
    seen = _probe(m, layers, work.shape)
    dropped, keep_const = {}, {}
    for g, idx in work.items:
        bad, worst = set(), 0.0
        for layer, (cols, chans) in cons[g.name].items():
            exact = _fold_exact(m.get_submodule(layer), fold)
            for j, c in zip(cols, chans):
                v = _constant(seen[layer], j)
                if v is None or (v != 0 and not exact):
                    bad.add(c)
                    worst = max(worst, float(seen[layer][:, j].abs().max()))
        if bad:
            zero_affine(m, g, sorted(bad))
            if worst > 0:
                dropped[g.name] = {"channels": sorted(bad), "max_abs_constant": worst}
        keep_const[g.name] = bad
    seen = _probe(m, layers, work.shape)
    folds = []
    for g, idx in work.items:
        for layer, (cols, chans) in cons[g.name].items():
            x = seen[layer]
            js, vs = [], []
            for j, c in zip(cols, chans):
                if c in keep_const[g.name]:
                    if bool(x[:, j].abs().max() != 0):
                        raise graph.UnsupportedModel(
                            f"channel {c} of group {g.name!r} still reaches layer {layer!r} as nonzero "
                            f"after silencing it; this model cannot be pruned exactly there")
                    continue
                v = _constant(x, j)
                if v:
                    js.append(j)
                    vs.append(v)
            if js:
                folds.append((layer, js, vs))
    return folds, dropped


@torch.no_grad()
def _apply_folds(work: _Work, folds: list) -> None:
    """Add each constant input's contribution to its consumer's bias (or BN running mean)."""
    for layer, js, vs in folds:
        mod = work.model.get_submodule(layer)
        W = mod.weight
        v = torch.tensor(vs, dtype=W.dtype, device=W.device)
        cols = W[:, js] if W.dim() == 2 else W[:, js].sum(dim=(2, 3))
        delta = cols @ v
        if mod.bias is not None:
            mod.bias += delta
        elif layer in work.after:
            work.model.get_submodule(work.after[layer]).running_mean -= delta
        else:
            mod.bias = nn.Parameter(delta.clone())


def masked_copy(model: nn.Module, plan: dict, input_shape, fold: str = "exact") -> nn.Module:
    """The dense reference of :func:`prune`: a copy with the plan's channels silenced, not removed.

    Removed filters are zeroed; channels whose constant output is not folded (see ``fold``) also get
    ``gamma = beta = 0``. The compact model of :func:`prune` computes the same function (for
    ``fold="approx"`` only away from the borders of padded convs).
    """
    work = _Work(model, plan, input_shape)
    _silence(work, fold)
    return work.restore_flags(work.model)


def _buffer_cuts(work: _Work) -> dict[str, tuple[set, set]]:
    """``{conv: (removed output channels, removed input channels)}`` of every conv carrying a
    regularizer buffer of its weight's shape (nonconvex SGL's ``hgsr_V``), computed before the
    surgery so the buffers can be cut like the weights."""
    holders = [n for n, m in work.model.named_modules() if isinstance(m, nn.Conv2d)
               and any(b.startswith(BUFFER_PREFIX) for b in m._buffers)]
    if not holders:
        return {}
    cuts = {n: (set(), set()) for n in holders}
    for g, idx in work.items:
        for c in g.convs:
            if c in cuts:
                cuts[c][0].update(idx)
        for layer, (cols, _) in work.consumer_index(g, idx).items():
            if layer in cuts:
                cuts[layer][1].update(cols)
    return cuts


@torch.no_grad()
def _cut_buffers(model: nn.Module, cuts: dict[str, tuple[set, set]]) -> None:
    """Cut each regularizer buffer like its conv's weight; one that still does not fit is removed
    (with a warning naming it)."""
    for name, (rm_out, rm_in) in cuts.items():
        conv = model.get_submodule(name)
        for b in [b for b in conv._buffers if b.startswith(BUFFER_PREFIX)]:
            buf = conv._buffers[b]
            if buf is None or buf.dim() != 4:
                continue
            keep_out = [i for i in range(buf.shape[0]) if i not in rm_out]
            keep_in = [i for i in range(buf.shape[1]) if i not in rm_in]
            cut = buf[keep_out][:, keep_in].contiguous()
            if cut.shape == conv.weight.shape:
                conv._buffers[b] = cut
            else:
                del conv._buffers[b]
                warnings.warn(f"prune: buffer {name}.{b} of shape {tuple(buf.shape)} could not be cut like "
                              f"the weight {tuple(conv.weight.shape)}; it was removed", UserWarning, stacklevel=4)


def _prune(model: nn.Module, plan: dict, input_shape, fold: str, stacklevel: int = 3):
    check_choice("fold", fold, FOLDS)
    work = _Work(model, plan, input_shape)
    cuts = _buffer_cuts(work)
    folds, dropped = _silence(work, fold)
    _apply_folds(work, folds)
    for g, idx in work.items:
        work.tp_group(g, idx).prune()
    _cut_buffers(work.model, cuts)
    if dropped:
        n = sum(len(d["channels"]) for d in dropped.values())
        warnings.warn(f"prune(fold={fold!r}): {n} removed channels in {len(dropped)} groups emitted a "
                      f"nonzero constant that cannot be folded exactly (zero-padded consumer); it was "
                      f"dropped (beta zeroed). Groups: {', '.join(dropped)}", UserWarning, stacklevel=stacklevel)
    compact = work.restore_flags(work.model)
    compact.prune_info = {"plan": {g.name: idx for g, idx in work.items}, "fold": fold,
                          "dropped_constants": dropped}
    return compact, work


def prune(model: nn.Module, plan: dict, input_shape, fold: str = "exact") -> nn.Module:
    """A NEW compact model with the plan's channels physically removed (``model`` is untouched).

    ``plan``: ``{group name: [channels]}`` as from :func:`~hgsr.prune.ranking.scores.select`;
    ``input_shape``: ``(C, H, W)`` or an example tensor. ``fold``: what happens to the constant a
    removed channel emits (module docstring). ``compact.prune_info`` records the plan, the fold mode
    and the groups whose nonzero constants were dropped. Rebuild the optimizer after pruning.

    Regularizer buffers shaped like a conv's weight (nonconvex SGL's ``hgsr_V``) are cut with the
    weight, so the compact model saves, loads (:func:`~hgsr.prune.load_compact`) and trains on.
    """
    return _prune(model, plan, input_shape, fold)[0]


def compact_size(model: nn.Module, plan: dict, input_shape, fold: str = "exact") -> dict:
    """``dict(params=..., macs=..., widths={group: channels left})`` of the compact model.

    Computed by doing the surgery on a copy, so it equals the real compact counts; ``model`` is
    not modified. ``widths`` covers every group, hidden linear layers included.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compact, work = _prune(model, plan, input_shape, fold)
    removed = dict((g.name, len(idx)) for g, idx in work.items)
    return {"params": measure.count_params(compact), "macs": measure.count_macs(compact, work.shape),
            "widths": {g.name: g.size - removed.get(g.name, 0) for g in work.groups}}
