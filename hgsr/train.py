"""Training loop: :func:`fit` (with regularizer hooks and resumable checkpoints) and :func:`evaluate`.

The loss of one step is ``mean CE + reg.penalty(model)``; after ``optimizer.step()`` the loop calls
``reg.after_step(model, lr)``, and after each epoch ``reg.on_epoch_end(epoch)``. Weight decay is the
optimizer's (``½ wd Σ w²`` in the loss). A non-finite loss stops training with
:class:`NonFiniteLoss`, naming the epoch and step.
"""
from __future__ import annotations

import contextlib
import math
import random
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from . import data as hdata
from . import measure
from .errors import (CheckpointMismatch, CorruptFile, HgsrError, InvalidArgument, InvalidType, check_bool, check_choice,
                     check_int, check_module, check_nonneg, check_nonneg_int, check_path, check_positive,
                     check_range, check_type)
from .io import atomic_save, verified_load
from .progress import progress_bar
from .regularizers.base import Regularizer
from .regularizers.common import adopt_buffers

SPLITS = ("train", "test")
OPTIMIZERS = ("sgd", "adam")


class NonFiniteLoss(FloatingPointError, HgsrError):
    """The training loss, the evaluation loss or the weights became NaN or infinite."""


def check_device(device) -> torch.device | None:
    """``device`` as a ``torch.device`` (None stays None); InvalidArgument naming it when torch does
    not know it."""
    if device is None or isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise InvalidType(f"device must be None, a string such as 'cpu' or 'cuda', or a torch.device, got "
                          f"{device!r} ({type(device).__name__})")
    try:
        return torch.device(device)
    except RuntimeError as e:
        raise InvalidArgument(f"device={device!r} is not a device torch knows ({e})") from None


def check_dataset(ds, splits=SPLITS) -> hdata.Dataset:
    """``ds`` unchanged: a :class:`hgsr.data.Dataset` whose ``splits`` are not empty."""
    check_type("ds", ds, hdata.Dataset, "a hgsr.data.Dataset (e.g. hgsr.data.load('mnist'))")
    for split in splits:
        if len(getattr(ds, f"{split}_y")) == 0:
            raise InvalidArgument(f"ds has an empty {split} split ({ds!r}); nothing to "
                                  f"{'train on' if split == 'train' else 'evaluate'}")
    return ds


def check_fits(model: nn.Module, ds: hdata.Dataset, device=None) -> None:
    """InvalidArgument naming ``model`` and ``ds`` unless the model accepts one of ``ds``'s images
    and returns one logit per class (checked on a single image in eval mode, no gradient)."""
    p = next(model.parameters())
    x = hdata.normalize(ds.test_x[:1] if len(ds.test_y) else ds.train_x[:1], ds.mean, ds.std)
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(x.to(device or p.device))
    except Exception as e:
        raise InvalidArgument(f"model {type(model).__name__} does not accept the images of ds "
                              f"({ds.name}: {ds.in_channels}x{ds.image_size}x{ds.image_size}): {e}") from None
    finally:
        model.train(was)
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[1] != ds.num_classes:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise InvalidArgument(f"model {type(model).__name__} returns {shape} for one image, but ds "
                              f"({ds.name}) has {ds.num_classes} classes: build it with "
                              f"num_classes={ds.num_classes}")


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@torch.no_grad()
def evaluate(model: nn.Module, ds: hdata.Dataset, split: str = "test", batch_size: int = 512,
             device=None) -> dict:
    """Accuracy and mean cross-entropy of ``model`` on a split (``"train"`` or ``"test"``; eval mode)."""
    check_module("model", model)
    check_choice("split", split, SPLITS)
    check_dataset(ds, (split,))
    batch_size = check_int("batch_size", batch_size, 1)
    device = check_device(device) or next(model.parameters()).device
    x, y = (ds.test_x, ds.test_y) if split == "test" else (ds.train_x, ds.train_y)
    was = model.training
    model.eval()
    correct, loss = 0, 0.0
    for xb, yb in hdata.batches(x, y, batch_size, ds.mean, ds.std, device=device):
        out = model(xb)
        loss += F.cross_entropy(out, yb, reduction="sum").item()
        correct += (out.argmax(1) == yb).sum().item()
    model.train(was)
    return {"accuracy": correct / len(y), "loss": loss / len(y)}


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, ds: hdata.Dataset, n_images: int = 2000, seed: int = 0,
                          batch_size: int = 256, device=None) -> nn.Module:
    """Re-estimate every BatchNorm's running mean and variance of ``model`` (in place; returned) from
    ``n_images`` training images of ``ds`` (a seeded stratified draw, normalization only, no augmentation):
    the running statistics become the cumulative average over those batches (``momentum=None``), so
    ``running_mean = mean of the batch means`` and likewise for the variance. After surgery or silencing the
    stored statistics describe the network before it: this is the network's own statistics after it.
    The affine parameters are not touched; the model is returned in eval mode."""
    check_module("model", model)
    check_dataset(ds, ("train",))
    n_images = check_int("n_images", n_images, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    device = check_device(device) or next(model.parameters()).device
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    idx = hdata.stratified_indices(ds.train_y, min(n_images, len(ds.train_y)), seed)
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    try:
        for xb, _ in hdata.batches(ds.train_x[idx], ds.train_y[idx], batch_size, ds.mean, ds.std, device=device):
            model(xb)
    finally:
        for m, mom in zip(bns, saved):
            m.momentum = mom
        model.eval()
    return model


def make_optimizer(model: nn.Module, optimizer: str = "sgd", lr: float = 0.01, momentum: float = 0.9,
                   weight_decay: float = 5e-4) -> torch.optim.Optimizer:
    """SGD (with momentum) or Adam over all parameters."""
    check_choice("optimizer", optimizer, OPTIMIZERS)
    lr = check_nonneg("lr", lr)
    momentum = check_range("momentum", momentum, 0.0, 1.0, high_open=True)
    weight_decay = check_nonneg("weight_decay", weight_decay)
    if optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    if optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    raise InvalidArgument(f"unknown optimizer {optimizer!r}; valid: sgd, adam")


def make_schedule(opt, schedule, epochs: int):
    """``None`` (constant), ``"cosine"``, ``("step", every, gamma)`` or ``("multistep", milestones, gamma)``
    (lr × gamma at each milestone epoch); stepped once per epoch."""
    check_schedule(schedule)
    epochs = check_int("epochs", epochs, 1)
    if schedule is None or schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 1.0)
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, epochs))
    if schedule[0] == "multistep":
        return torch.optim.lr_scheduler.MultiStepLR(opt, [int(m) for m in schedule[1]], float(schedule[2]))
    return torch.optim.lr_scheduler.StepLR(opt, int(schedule[1]), float(schedule[2]))


def check_schedule(schedule):
    """``schedule`` unchanged: None, ``"constant"``, ``"cosine"`` or ``("step", every, gamma)`` with
    ``every`` a positive integer (epochs) and ``gamma`` a finite number > 0."""
    if schedule is None or (isinstance(schedule, str) and schedule in ("constant", "cosine")):
        return schedule
    if isinstance(schedule, (tuple, list)) and len(schedule) == 3 and schedule[0] == "step":
        check_int("schedule every (epochs between steps)", schedule[1], 1)
        check_positive("schedule gamma", schedule[2])
        return schedule
    if isinstance(schedule, (tuple, list)) and len(schedule) == 3 and schedule[0] == "multistep":
        if not isinstance(schedule[1], (tuple, list)) or not schedule[1]:
            raise InvalidArgument(f"schedule milestones={schedule[1]!r}: a non-empty list of epochs")
        for m in schedule[1]:
            check_int("schedule milestone (epoch)", m, 1)
        check_positive("schedule gamma", schedule[2])
        return schedule
    raise InvalidArgument(f"unknown schedule {schedule!r}; use None, 'cosine', ('step', every, gamma) "
                          f"or ('multistep', milestones, gamma)")


def _describe(obj):
    """A stable, comparable description of an argument for the checkpoint (no memory addresses)."""
    import dataclasses

    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [_describe(o) for o in obj]
    if isinstance(obj, dict):
        return {str(k): _describe(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, torch.Tensor):
        return obj.tolist() if obj.numel() <= 16 else f"tensor{tuple(obj.shape)}"
    if isinstance(obj, Regularizer):   # its parameters as built (beta0, epoch 0 for nonconvex SGL)
        fields = {"parts": [[w, r] for w, r in obj.parts]} if hasattr(obj, "parts") else \
            {k: v for k, v in vars(obj).items() if not k.startswith("_")}
        return {"type": type(obj).__name__, **{k: _describe(v) for k, v in fields.items()}}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"type": type(obj).__name__, **_describe(dataclasses.asdict(obj))}
    if callable(obj):
        return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', type(obj).__name__)}"
    return repr(obj)


def _resume(checkpoint: Path, args: dict, device):
    """The checkpoint's state if it was written with ``args``; None (with a warning naming the path)
    when it is unreadable or of the old format without arguments, so training starts afresh;
    :class:`CheckpointMismatch` naming the first changed argument otherwise."""
    try:
        state = verified_load(checkpoint, "checkpoint", weights_only=False, map_location=device)
        if not isinstance(state, dict) or not {"model", "optimizer", "schedule", "history", "epoch"} <= set(state):
            raise CorruptFile(f"checkpoint {checkpoint} is not a checkpoint written by hgsr.train.fit (it lacks "
                              f"model, optimizer, schedule, history or epoch)", checkpoint)
    except Exception as e:
        why = str(e).split("; ")[0] if isinstance(e, CorruptFile) else \
            f"checkpoint {checkpoint} is unreadable ({type(e).__name__}: {str(e)[:200]})"
        warnings.warn(f"{why}; training from the start instead (it is overwritten after the first epoch)",
                      UserWarning, stacklevel=3)
        return None
    saved = state.get("args")
    if saved is None:
        warnings.warn(f"checkpoint {checkpoint} does not record its training arguments (written by an older "
                      f"version); training from the start instead", UserWarning, stacklevel=3)
        return None
    changed = [k for k in args if saved.get(k) != args[k]]
    if changed:
        k = changed[0]
        raise CheckpointMismatch(
            f"checkpoint {checkpoint} was written by fit with {k}={saved.get(k)!r}, but this call has "
            f"{k}={args[k]!r}" + (f" (also changed: {', '.join(changed[1:])})" if changed[1:] else "")
            + "; delete the checkpoint to train again with the new arguments, or pass another checkpoint "
              "path")
    return state


def _has_target_convs(model: nn.Module) -> bool:
    from . import groups

    return any(groups.default_target(n, m) for n, m in model.named_modules())


def _nonfinite_tensor(model: nn.Module) -> str | None:
    """``"weights 'name'"`` (or ``"buffer 'name'"``) of the first tensor with a NaN or infinite entry."""
    for kind, named in (("weights", model.named_parameters()), ("buffer", model.named_buffers())):
        for name, t in named:
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                return f"{kind} {name!r}"
    return None


@contextlib.contextmanager
def _warmed_up(opt, factor: float):
    """Every param group's learning rate times ``factor`` inside the block, restored after it (the epoch
    schedulers read the group's current value, so it must not stay scaled)."""
    saved = [g["lr"] for g in opt.param_groups]
    for g in opt.param_groups:
        g["lr"] = g["lr"] * factor
    try:
        yield
    finally:
        for g, v in zip(opt.param_groups, saved):
            g["lr"] = v


def fit(model: nn.Module, ds: hdata.Dataset, epochs: int = 1, lr: float = 0.01,
        optimizer: str = "sgd", momentum: float = 0.9, weight_decay: float = 5e-4,
        schedule=None, batch_size: int = 128, regularizer: Regularizer | None = None,
        augment: hdata.Augment | None = None, seed: int = 0, device=None,
        sparsity_tol: float = measure.WEIGHT_TOL, checkpoint: str | Path | None = None,
        progress: bool = True, eval_every: int = 1, warmup_steps: int = 0, channels_last: bool = True,
        _stop_after: int | None = None) -> pd.DataFrame:
    """Train ``model`` in place on ``ds``; return the history, one row per epoch.

    ``warmup_steps``: a linear warm-up on top of the epoch ``schedule``: optimizer step ``k`` (counted
    from the start of training, 0-based) uses ``lr_k = lr_schedule · min(1, (k + 1) / warmup_steps)``
    (0: none). It keeps high learning rates from blowing up an unlucky initialization in the first steps.

    ``channels_last``: 4-D weights and image batches are laid out channels-last while training (the
    same function, computed faster by the CPU kernels: 1.6× per LeNet-5 step here, see
    ``benchmarks/bench_memory_format.py``); the model is handed back in the default layout. The 1x1 strided
    convolutions with few input channels that crash oneDNN in that layout stay in the default one
    (:func:`channels_last_unsafe`).

    Columns: epoch, lr, train_loss (mean CE), penalty (mean), train_acc, test_acc, test_loss,
    weight_sparsity (fraction of target conv weights with ``|w| < sparsity_tol``), zero_filters
    (filters with L2 norm <= sparsity_tol), seconds, and whatever ``regularizer.metrics`` adds.

    With ``checkpoint`` a file is written atomically after every epoch (model, optimizer, schedule,
    regularizer buffers live in the model, history, RNG state, and the training arguments); calling
    ``fit`` again with the same file resumes after the last finished epoch. A checkpoint written with
    other arguments raises :class:`~hgsr.errors.CheckpointMismatch` naming the changed argument; an
    unreadable one is reported (a warning naming its path) and training starts from the beginning.

    Every argument is checked first (named errors from :mod:`hgsr.errors`). A non-finite loss, a
    non-finite test loss or non-finite weights after an epoch raise :class:`NonFiniteLoss` (and that
    epoch is not checkpointed). Models without conv layers train; their conv sparsity columns are NaN.
    """
    check_module("model", model)
    check_dataset(ds)
    epochs = check_int("epochs", epochs, 1)
    make_optimizer(nn.Linear(1, 1), optimizer, lr, momentum, weight_decay)   # checks these four
    check_schedule(schedule)
    batch_size = check_int("batch_size", batch_size, 1)
    check_type("regularizer", regularizer, Regularizer, "a hgsr.regularizers.Regularizer (e.g. "
               "hgsr.regularizers.from_spec(...))", optional=True)
    if augment is not None and not callable(augment):
        raise InvalidType(f"augment must be None or a callable such as hgsr.data.Augment, got {augment!r}")
    seed = check_nonneg_int("seed", seed)
    device = check_device(device)
    sparsity_tol = check_nonneg("sparsity_tol", sparsity_tol)
    checkpoint = check_path("checkpoint", checkpoint, optional=True)
    check_bool("progress", progress)
    eval_every = check_int("eval_every", eval_every, 1)
    warmup_steps = check_nonneg_int("warmup_steps", warmup_steps)
    check_bool("channels_last", channels_last)
    check_int("_stop_after", _stop_after, 1, optional=True)
    device = device if device is not None else default_device()
    reg = regularizer or Regularizer()
    model.to(device)
    check_fits(model, ds, device)
    has_convs = _has_target_convs(model)
    args = {"epochs": epochs, "lr": lr, "optimizer": optimizer, "momentum": momentum,
            "weight_decay": weight_decay, "schedule": _describe(schedule), "batch_size": batch_size,
            "regularizer": _describe(reg), "augment": _describe(augment), "seed": seed,
            "sparsity_tol": sparsity_tol, "eval_every": eval_every,
            "data": [ds.name, len(ds.train_y), len(ds.test_y)]}
    if warmup_steps:
        args["warmup_steps"] = warmup_steps     # absent when 0: checkpoints without warm-up stay valid
    if channels_last:
        args["channels_last"] = True
    layout = torch.channels_last if channels_last else torch.contiguous_format
    with _memory_format(model, layout):
        return _fit_loop(model, ds, reg, device, layout, has_convs, args, dict(
            epochs=epochs, lr=lr, optimizer=optimizer, momentum=momentum, weight_decay=weight_decay,
            schedule=schedule, batch_size=batch_size, augment=augment, seed=seed, sparsity_tol=sparsity_tol,
            checkpoint=checkpoint, progress=progress, eval_every=eval_every, warmup_steps=warmup_steps,
            stop_after=_stop_after))


# oneDNN's channels-last weight gradient of a 1x1 convolution with stride > 1 writes past its workspace when
# the input channels are fewer than its channel block (8 floats with AVX2, 16 with AVX-512): a segfault, a hang
# with 2 threads, or wrong gradients (oneDNN issue 6035; reproduced with torch 2.14.1 on an AVX2 CPU with 1-7
# input channels). Such convolutions train in the default layout; everything else stays channels-last.
CHANNELS_LAST_MIN_INPUTS = 16


def channels_last_unsafe(model: nn.Module) -> list[str]:
    """Names of the ``Conv2d`` layers of ``model`` that :func:`fit` keeps in the default layout when it trains
    channels-last: kernel 1x1, stride > 1 and fewer than :data:`CHANNELS_LAST_MIN_INPUTS` input channels
    per group."""
    return [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)
            and tuple(m.kernel_size) == (1, 1) and tuple(m.stride) != (1, 1)
            and m.in_channels // m.groups < CHANNELS_LAST_MIN_INPUTS]


def _contiguous_input(module, inputs):
    return (inputs[0].contiguous(),) + tuple(inputs[1:])


@contextlib.contextmanager
def _memory_format(model: nn.Module, layout: torch.memory_format):
    """``model``'s 4-D weights in ``layout`` inside the block, back in the default layout after it
    (also when training raises). Channels-last leaves out :func:`channels_last_unsafe` convolutions:
    their weights and inputs stay in the default layout (a forward pre-hook, removed after the block)."""
    model.to(memory_format=layout)
    hooks = []
    if layout == torch.channels_last:
        for name in channels_last_unsafe(model):
            conv = model.get_submodule(name)
            conv.to(memory_format=torch.contiguous_format)
            hooks.append(conv.register_forward_pre_hook(_contiguous_input))
    try:
        yield model
    finally:
        for h in hooks:
            h.remove()
        model.to(memory_format=torch.contiguous_format)


def _fit_loop(model, ds, reg, device, layout, has_convs, args, a: dict) -> pd.DataFrame:
    """The training loop of :func:`fit` (arguments checked there and passed in ``a``, by their names in
    ``fit``; the model already in ``layout``)."""
    epochs, batch_size, augment, checkpoint, warmup_steps = (a["epochs"], a["batch_size"], a["augment"],
                                                             a["checkpoint"], a["warmup_steps"])
    gen = seed_everything(a["seed"])
    opt = make_optimizer(model, a["optimizer"], a["lr"], a["momentum"], a["weight_decay"])
    sched = make_schedule(opt, a["schedule"], epochs)
    rows, start = [], 0
    state = _resume(checkpoint, args, device) if checkpoint is not None and checkpoint.exists() else None
    if state is not None:
        adopt_buffers(model, state["model"])   # regularizer buffers (e.g. nonconvex SGL's hgsr_V)
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as e:
            raise CheckpointMismatch(f"checkpoint {checkpoint} does not fit this model ({type(model).__name__}): "
                                     f"{str(e)[:300]}; delete the checkpoint or pass another path") from None
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["schedule"])
        gen.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        if hasattr(reg, "load_state_dict") and state.get("regularizer") is not None:
            reg.load_state_dict(state["regularizer"])
        rows, start = state["history"], state["epoch"]

    def test_accuracy(m):
        return evaluate(m, ds, "test", device=device)["accuracy"]

    steps = math.ceil(len(ds.train_y) / batch_size)
    bar = progress_bar(total=(epochs - start) * steps, desc=f"{type(model).__name__}", enabled=a["progress"],
               leave=False, dynamic_ncols=True)
    for epoch in range(start, epochs):
        model.train()
        t0 = time.perf_counter()
        lr_now = opt.param_groups[0]["lr"]
        tot_loss = tot_pen = tot_correct = 0.0
        for step, (xb, yb) in enumerate(hdata.batches(ds.train_x, ds.train_y, batch_size, ds.mean, ds.std,
                                                      shuffle=True, augment_fn=augment, generator=gen,
                                                      device=device)):
            out = model(xb.contiguous(memory_format=layout) if xb.dim() == 4 else xb)
            ce = F.cross_entropy(out, yb)
            pen = reg.penalty(model)
            loss = ce + pen
            if not torch.isfinite(loss):
                bar.close()
                raise NonFiniteLoss(f"non-finite loss at epoch {epoch + 1}, step {step + 1} "
                                    f"(cross-entropy {ce.item():.4g}, penalty {float(pen.detach()):.4g}); "
                                    f"lower the learning rate or the regularization strength")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            k = epoch * steps + step
            with _warmed_up(opt, (k + 1) / warmup_steps if k < warmup_steps else 1.0):
                opt.step()
                reg.after_step(model, opt.param_groups[0]["lr"])
            n = len(yb)
            tot_loss += ce.item() * n
            tot_pen += float(pen.detach()) * n
            tot_correct += (out.argmax(1) == yb).sum().item()
            bar.update(1)
            if step % 20 == 0:
                bar.set_postfix(epoch=epoch + 1, loss=f"{ce.item():.3f}")
        sched.step()
        reg.on_epoch_end(epoch)
        bad = _nonfinite_tensor(model)
        if bad is not None:
            bar.close()
            raise NonFiniteLoss(f"non-finite {bad} after epoch {epoch + 1} (train loss "
                                f"{tot_loss / len(ds.train_y):.4g}); lower the learning rate or the "
                                f"regularization strength")
        n = len(ds.train_y)
        row = {"epoch": epoch + 1, "lr": lr_now, "train_loss": tot_loss / n, "penalty": tot_pen / n,
               "train_acc": tot_correct / n, "seconds": time.perf_counter() - t0}
        if (epoch + 1) % a["eval_every"] == 0 or epoch + 1 == epochs:
            ev = evaluate(model, ds, "test", device=device)
            if not math.isfinite(ev["loss"]):
                bar.close()
                raise NonFiniteLoss(f"non-finite test loss ({ev['loss']}) after epoch {epoch + 1} (train loss "
                                    f"{row['train_loss']:.4g}); lower the learning rate or the regularization "
                                    f"strength")
            row.update(test_acc=ev["accuracy"], test_loss=ev["loss"])
            if has_convs:
                row["weight_sparsity"] = measure.weight_sparsity(model, a["sparsity_tol"])
                table = measure.sparsity_table(model, tol=a["sparsity_tol"])
                row["zero_filters"] = int(table["zero_filters"].iloc[-1])
            else:   # no conv layers: conv sparsity is undefined
                row["weight_sparsity"] = row["zero_filters"] = float("nan")
            row.update(reg.metrics(model, test_accuracy))
        rows.append(row)
        if checkpoint is not None:
            atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                         "schedule": sched.state_dict(), "generator": gen.get_state(),
                         "torch_rng": torch.get_rng_state(), "history": rows, "epoch": epoch + 1,
                         "regularizer": reg.state_dict() if hasattr(reg, "state_dict") else None,
                         "args": args},
                        checkpoint)
        if a["stop_after"] is not None and epoch + 1 >= a["stop_after"]:
            break
    bar.close()
    return pd.DataFrame(rows)
