"""Fine-tuning after pruning, and fine-tuning with the zero groups held at zero (the SSL recipe).

- :func:`finetune`: :func:`hgsr.train.fit` on a (compact) model with a fresh optimizer.
- :func:`masks_from_zero`: 0/1 masks of the conv weights lying in a zero group (a group of one of
  ``kinds`` whose L2 norm is ``<= tol``: filter ``W[o]``, channel ``W[:, i]``, kernel ``W[o, i]``, shape
  column ``W[:, i, a, b]``, or single weight ``|w| <= tol``). With ``affine=True`` a fully masked filter
  also masks its conv bias and the ``gamma``, ``beta`` of the BatchNorm after it, so the channel emits
  exactly 0 and :func:`~hgsr.prune.removal.surgery.prune` can later remove it without changing the function.
- :class:`MaskedFinetune`: a regularizer whose ``after_step`` multiplies the parameters by the
  masks (``w <- m * w``), so masked groups stay exactly zero; pass it as ``regularizer=`` to
  :func:`hgsr.train.fit`.
"""
from __future__ import annotations

import torch
from torch import nn

from ... import data as hdata
from ... import groups as hgroups
from ... import measure, train
from ...errors import InvalidArgument, InvalidType, check_bool, check_module, check_nonneg, check_predicate
from ...regularizers.base import Regularizer
from . import graph

KINDS = ("filter", "channel", "kernel", "shape", "weight")


def _all_convs(name: str, module: nn.Module) -> bool:
    return isinstance(module, nn.Conv2d)


@torch.no_grad()
def masks_from_zero(model: nn.Module, tol: float = measure.TOL, kinds=("filter", "channel", "shape"),
                    affine: bool = True, predicate=None) -> dict[str, torch.Tensor]:
    """``{parameter name: 0/1 mask}`` of every conv weight (``predicate`` picks layers; default all).

    A weight is masked (0) when it lies in a group of one of ``kinds`` whose norm is ``<= tol``
    (``tol`` a finite number >= 0, checked as :func:`hgsr.prune.zero_plan` checks it).
    """
    check_module("model", model)
    tol = check_nonneg("tol", tol)
    if isinstance(kinds, (str, bytes)) or not isinstance(kinds, (tuple, list, set, frozenset)):
        raise InvalidType(f"kinds must be a tuple of group kinds (of {', '.join(KINDS)}), got {kinds!r} "
                          f"({type(kinds).__name__}); e.g. kinds=('filter',)")
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise InvalidArgument(f"kinds has unknown group kinds {bad}; valid: {', '.join(KINDS)}")
    check_bool("affine", affine)
    check_predicate(predicate)
    after = graph.following_bn(graph.trace(model)) if affine else {}
    masks = {}
    for name, conv in hgroups.target_convs(model, predicate or _all_convs):
        W = conv.weight.detach()
        keep = torch.ones_like(W)
        if "filter" in kinds:
            keep[hgroups.filter_l2(W) <= tol] = 0
        if "channel" in kinds:
            keep[:, hgroups.channel_l2(W) <= tol] = 0
        if "kernel" in kinds:
            keep[hgroups.kernel_l2(W) <= tol] = 0
        if "shape" in kinds:
            keep *= (hgroups.shape_l2(W) > tol).to(W.dtype).unsqueeze(0)
        if "weight" in kinds:
            keep[W.abs() <= tol] = 0
        masks[f"{name}.weight"] = keep
        if affine:
            alive = (keep.flatten(1).sum(1) > 0).to(W.dtype)
            if conv.bias is not None:
                masks[f"{name}.bias"] = alive.clone()
            if name in after:
                bn = model.get_submodule(after[name])
                if bn.weight is not None:
                    masks[f"{after[name]}.weight"] = alive.clone()
                    masks[f"{after[name]}.bias"] = alive.clone()
    return masks


@torch.no_grad()
def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    """``p <- mask * p`` for every masked parameter; a name missing from the model is an error."""
    params = dict(model.named_parameters())
    missing = [n for n in masks if n not in params]
    if missing:
        raise InvalidArgument(f"masks name parameters the model lacks: {missing[:5]}; the model's parameters "
                              f"include {list(params)[:5]}")
    for name, m in masks.items():
        p = params[name]
        if p.shape != m.shape:
            raise InvalidArgument(f"masks[{name!r}] has shape {tuple(m.shape)}, but parameter {name!r} has shape "
                                  f"{tuple(p.shape)}; a mask must have its parameter's shape")
        p.mul_(m.to(p.device, p.dtype))


class MaskedFinetune(Regularizer):
    """Keeps masked parameters at exactly zero: ``after_step`` re-applies ``w <- m * w``.

    No penalty. Give ``model`` to apply the masks at once (so the first step already sees them).
    """

    key = "masked"

    def __init__(self, masks: dict[str, torch.Tensor], model: nn.Module | None = None):
        self.masks = {k: v.detach().clone() for k, v in masks.items()}
        if model is not None:
            apply_masks(model, self.masks)

    @torch.no_grad()
    def after_step(self, model: nn.Module, lr: float) -> None:
        apply_masks(model, self.masks)

    def metrics(self, model: nn.Module, evaluate) -> dict:
        total = sum(m.numel() for m in self.masks.values())
        return {"masked_fraction": sum(int((m == 0).sum()) for m in self.masks.values()) / max(total, 1)}

    def state_dict(self) -> dict:
        return {"masks": self.masks}

    def load_state_dict(self, state: dict) -> None:
        self.masks = state["masks"]

    def __repr__(self):
        return f"MaskedFinetune({len(self.masks)} masked tensors)"


def finetune(compact_model: nn.Module, ds: hdata.Dataset, epochs: int = 1, masks=None, **fit_kw):
    """Fine-tune with :func:`hgsr.train.fit` (a fresh optimizer); returns the history.

    ``masks`` (from :func:`masks_from_zero`) keeps zero groups fixed; ``augment`` defaults to the
    dataset's usual recipe (crop + flip on CIFAR-10). Other keywords go to ``fit``.
    """
    if masks is not None:
        if "regularizer" in fit_kw:
            raise InvalidArgument(f"give either masks= or regularizer=, not both (got regularizer="
                                  f"{fit_kw['regularizer']!r}); MaskedFinetune(masks) is the regularizer")
        fit_kw["regularizer"] = MaskedFinetune(masks, compact_model)
    fit_kw.setdefault("augment", hdata.default_augment(ds.name))
    return train.fit(compact_model, ds, epochs=epochs, **fit_kw)
