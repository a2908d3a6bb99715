"""From a sparse-trained run to a compact, fine-tuned network (docs/methods.md section 6, then 3 step 4).

    result = compact_from_zeros(run, tol=1e-2, finetune_epochs=2)
    result["summary"]    # filters per layer before -> after, accuracies, params/MACs removed
    hgsr.results.CompactResult.from_summary("L1", result["summary"])   # the one results schema

Filters whose L2 norm is ``<= tol`` (absolute; or ``<= rel * max`` of their layer with ``rel``) are
removed physically (:func:`hgsr.prune.zero_plan` + :func:`hgsr.prune.prune`, exact constant folding),
then the compact network is fine-tuned without the regularizer. For nonconvex sparse group lasso the
weights pruned are ``W`` masked by the support of ``V`` (docs/methods.md section 4). Results are cached
(:func:`hgsr.experiments.cached`) by the run's config hash and every argument.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from . import experiments, measure, prune, results, train
from .io import state_digest
from .regularizers.common import BUFFER_PREFIX
from .regularizers.nonconvex import BUFFER as BUFFER_V

# Fine-tuning a compact network starts at this fraction of its run's learning rate (then cosine to 0): a
# short retraining of the compact architecture. Measured on compact LeNet-5 networks of the default profile
# (test error; 4 epochs from the run's lr vs 2 epochs from a tenth of it): 2-10 1.09 vs 1.27 %, 4-15 0.80 vs
# 1.18 %; 4 epochs from 0.4 of the lr gave 1.09 and 0.89 %.
FINETUNE_LR_FRACTION = 1.0


@torch.no_grad()
def masked_by_support(model: nn.Module) -> nn.Module:
    """A copy of ``model`` without regularizer buffers; where a layer has an auxiliary ``V``
    (``hgsr_V``), its weights become ``W * [V != 0]``."""
    m = copy.deepcopy(model)
    for mod in m.modules():
        for name in [b for b in mod._buffers if b.startswith(BUFFER_PREFIX)]:
            buf = mod._buffers.pop(name)
            if name == BUFFER_V and getattr(mod, "weight", None) is not None:
                mod.weight.mul_((buf != 0).to(mod.weight.dtype))
    return m


def is_run_model(run: experiments.Run) -> bool:
    """True when the dense network a compaction prunes (:func:`masked_by_support` of ``run.model``) is the
    network the run's stored metrics (``test_acc``, ``val_acc``) measured with :func:`hgsr.train.evaluate`:
    no auxiliary ``V`` masks its weights, and they are still the weights of the run
    (:meth:`hgsr.experiments.Run.measured_as_is`). The accuracies are then read, not measured again."""
    return (not any(BUFFER_V in mod._buffers for mod in run.model.modules())) and run.measured_as_is()


def conv_widths(model: nn.Module) -> list[int]:
    """Output channels of every Conv2d, in module order (e.g. LeNet-5: ``[20, 50]``)."""
    return [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)]


def prune_and_measure(dense: nn.Module, plan: dict, ds, shape, acc_dense: float | None = None) -> tuple[nn.Module, dict]:
    """The one prune → count → evaluate step: the compact model of ``plan`` (exact surgery) and
    ``{"widths_dense", "widths" (conv widths, int tuples), "acc_dense", "acc_pruned", "params_dense",
    "params", "params_removed", "macs_dense", "macs", "macs_removed"}`` (fractions in [0, 1])."""
    model = prune.prune(dense, plan, shape, fold="exact")
    acc0 = train.evaluate(dense, ds)["accuracy"] if acc_dense is None else acc_dense
    p0, p1 = measure.count_params(dense), measure.count_params(model)
    m0, m1 = measure.count_macs(dense, shape), measure.count_macs(model, shape)
    return model, {"widths_dense": tuple(conv_widths(dense)), "widths": tuple(conv_widths(model)),
                   "acc_dense": acc0, "acc_pruned": train.evaluate(model, ds)["accuracy"],
                   "params_dense": p0, "params": p1, "params_removed": 1 - p1 / p0,
                   "macs_dense": m0, "macs": m1, "macs_removed": 1 - m1 / m0}


def compact_from_zeros(run: experiments.Run, tol: float = measure.TOL, rel: float | None = None,
                       finetune_epochs: int = 0, finetune_lr: float | None = None,
                       progress: bool = False, device=None) -> dict:
    """Remove the zero filters of ``run``'s model, fine-tune, and measure (cached).

    Returns ``{"summary": dict, "structure": DataFrame, "model": compact nn.Module, "history":
    fine-tuning history or None}``. ``summary`` holds: dense and compact conv widths, test accuracy
    of the dense model, of the compact one before and after fine-tuning, params and MACs of both
    and the fraction removed, the tolerance. Fine-tuning uses the run's optimizer settings at
    ``finetune_lr`` (default: :data:`FINETUNE_LR_FRACTION` of the run's lr) on a cosine schedule, the test
    set evaluated once, after the last epoch.
    """
    def choose(dense, shape):
        structure = prune.zero_structure(dense, shape, tol=tol, rel=rel)
        return structure, structure.attrs["plan"]

    return compact_with(run, choose, "compact", {"tol": tol, "rel": rel}, finetune_epochs, finetune_lr,
                        progress, device)


def compact_with(run: experiments.Run, choose, name: str, params: dict, finetune_epochs: int = 0,
                 finetune_lr: float | None = None, progress: bool = False, device=None) -> dict:
    """The pipeline behind :func:`compact_from_zeros`, with the channels chosen by
    ``choose(dense_model, input_shape) -> (structure table, {group: [channels]})``; cached under
    ``name`` and ``params`` (which must identify ``choose``), the run's hash and the fine-tuning (and the weights'
    digest where they were edited after the run). A fine-tuning
    that diverges raises :class:`hgsr.train.NonFiniteLoss` naming the run, ``name`` and ``params``."""
    cfg = run.config
    lr = finetune_lr if finetune_lr is not None else cfg.lr * FINETUNE_LR_FRACTION
    key = {"run": cfg.hash(), **params, "finetune_epochs": finetune_epochs, "lr": lr,
           "schema": results.SCHEMA_VERSION}
    if not run.measured_as_is():    # weights edited after the run: their own entry, never the run's
        key["weights"] = state_digest(run.model.state_dict())

    def compute():
        ds = experiments.dataset_for(cfg)
        shape = experiments.input_shape(ds)
        dense = masked_by_support(run.model)
        structure, plan = choose(dense, shape)
        known = run.metrics.get("test_acc") if is_run_model(run) else None   # not measured twice
        model, summary = prune_and_measure(dense, plan, ds, shape, acc_dense=known)
        history = None
        if finetune_epochs:
            try:
                history = prune.finetune(model, ds, finetune_epochs, lr=lr, optimizer=cfg.optimizer,
                                         momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                                         schedule="cosine", batch_size=cfg.batch_size, seed=cfg.seed,
                                         progress=progress, device=device, eval_every=finetune_epochs)
            except train.NonFiniteLoss as exc:   # the run trained; its compact network diverged
                how = ", ".join([name] + [f"{k}={v}" for k, v in params.items()])
                raise train.NonFiniteLoss(f"fine-tuning the compact network of run {cfg.hash()} ({how}): {exc}") from exc
            model.cpu()
        summary.update(acc_finetuned=train.evaluate(model, ds)["accuracy"], **params,
                       finetune_epochs=finetune_epochs)
        return {"summary": summary, "structure": structure, "model": model, "history": history}

    return experiments.cached(name, key, compute)
