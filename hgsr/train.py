"""Training loop: :func:`fit` (with regularizer hooks and resumable checkpoints) and :func:`evaluate`.

The loss of one step is ``mean CE + reg.penalty(model)``; after ``optimizer.step()`` the loop calls
``reg.after_step(model, lr)``, and after each epoch ``reg.on_epoch_end(epoch)``. Weight decay is the
optimizer's (``½ wd Σ w²`` in the loss). A non-finite loss stops training with
:class:`NonFiniteLoss`, naming the epoch and step.
"""
from __future__ import annotations

import math
import random
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import data as hdata
from . import measure
from .io import atomic_save
from .regularizers.base import Regularizer
from .regularizers.common import adopt_buffers


class NonFiniteLoss(FloatingPointError):
    """The training loss became NaN or infinite."""


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
    """Accuracy and mean cross-entropy of ``model`` on a split (eval mode)."""
    device = device or next(model.parameters()).device
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


def make_optimizer(model: nn.Module, optimizer: str = "sgd", lr: float = 0.01, momentum: float = 0.9,
                   weight_decay: float = 5e-4) -> torch.optim.Optimizer:
    """SGD (with momentum) or Adam over all parameters."""
    if optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    if optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {optimizer!r}; known: sgd, adam")


def make_schedule(opt, schedule, epochs: int):
    """``None`` (constant), ``"cosine"``, or ``("step", every, gamma)``; stepped once per epoch."""
    if schedule is None or schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 1.0)
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, epochs))
    if isinstance(schedule, (tuple, list)) and schedule[0] == "step":
        return torch.optim.lr_scheduler.StepLR(opt, int(schedule[1]), float(schedule[2]))
    raise ValueError(f"unknown schedule {schedule!r}; use None, 'cosine' or ('step', every, gamma)")


def fit(model: nn.Module, ds: hdata.Dataset, epochs: int = 1, lr: float = 0.01,
        optimizer: str = "sgd", momentum: float = 0.9, weight_decay: float = 5e-4,
        schedule=None, batch_size: int = 128, regularizer: Regularizer | None = None,
        augment: hdata.Augment | None = None, seed: int = 0, device=None,
        sparsity_tol: float = measure.WEIGHT_TOL, checkpoint: str | Path | None = None,
        progress: bool = True, eval_every: int = 1, _stop_after: int | None = None) -> pd.DataFrame:
    """Train ``model`` in place on ``ds``; return the history, one row per epoch.

    Columns: epoch, lr, train_loss (mean CE), penalty (mean), train_acc, test_acc, test_loss,
    weight_sparsity (fraction of target conv weights with ``|w| < sparsity_tol``), zero_filters
    (filters with L2 norm <= sparsity_tol), seconds, and whatever ``regularizer.metrics`` adds.

    With ``checkpoint`` a file is written atomically after every epoch (model, optimizer, schedule,
    regularizer buffers live in the model, history, RNG state); calling ``fit`` again with the same
    file resumes after the last finished epoch.
    """
    device = torch.device(device) if device is not None else default_device()
    reg = regularizer or Regularizer()
    model.to(device)
    gen = seed_everything(seed)
    opt = make_optimizer(model, optimizer, lr, momentum, weight_decay)
    sched = make_schedule(opt, schedule, epochs)
    rows, start = [], 0
    if checkpoint is not None and Path(checkpoint).exists():
        state = torch.load(checkpoint, weights_only=False, map_location=device)
        adopt_buffers(model, state["model"])   # regularizer buffers (e.g. nonconvex SGL's hgsr_V)
        model.load_state_dict(state["model"])
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
    bar = tqdm(total=(epochs - start) * steps, desc=f"{type(model).__name__}", disable=not progress,
               leave=False, dynamic_ncols=True)
    for epoch in range(start, epochs):
        model.train()
        t0 = time.perf_counter()
        lr_now = opt.param_groups[0]["lr"]
        tot_loss = tot_pen = tot_correct = 0.0
        for step, (xb, yb) in enumerate(hdata.batches(ds.train_x, ds.train_y, batch_size, ds.mean, ds.std,
                                                      shuffle=True, augment_fn=augment, generator=gen,
                                                      device=device)):
            out = model(xb)
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
        n = len(ds.train_y)
        row = {"epoch": epoch + 1, "lr": lr_now, "train_loss": tot_loss / n, "penalty": tot_pen / n,
               "train_acc": tot_correct / n, "seconds": time.perf_counter() - t0}
        if (epoch + 1) % eval_every == 0 or epoch + 1 == epochs:
            ev = evaluate(model, ds, "test", device=device)
            row.update(test_acc=ev["accuracy"], test_loss=ev["loss"])
            row["weight_sparsity"] = measure.weight_sparsity(model, sparsity_tol)
            table = measure.sparsity_table(model, tol=sparsity_tol)
            row["zero_filters"] = int(table["zero_filters"].iloc[-1])
            row.update(reg.metrics(model, test_accuracy))
        rows.append(row)
        if checkpoint is not None:
            atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                         "schedule": sched.state_dict(), "generator": gen.get_state(),
                         "torch_rng": torch.get_rng_state(), "history": rows, "epoch": epoch + 1,
                         "regularizer": reg.state_dict() if hasattr(reg, "state_dict") else None},
                        checkpoint)
        if _stop_after is not None and epoch + 1 >= _stop_after:
            break
    bar.close()
    return pd.DataFrame(rows)
