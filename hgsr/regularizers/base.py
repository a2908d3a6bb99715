"""The one interface every regularizer family implements (README.md, "Adding a regularizer").

``penalty(model)``
    differentiable term added to the loss (a zero tensor for prox-only methods);
``after_step(model, lr)``
    proximal / thresholding / splitting update after each optimizer step (no-op by default);
``on_epoch_end(epoch)``
    schedules, e.g. beta growth (no-op by default);
``metrics(model, evaluate)``
    extra numbers for the training history; ``evaluate(model) -> accuracy`` is provided by the loop.
"""
from __future__ import annotations

import torch
from torch import nn


class Regularizer:
    """Base class: no penalty, no proximal step, no schedule, no metrics."""

    key = "none"

    def penalty(self, model: nn.Module) -> torch.Tensor:
        p = next(model.parameters())
        return p.new_zeros(())

    @torch.no_grad()
    def after_step(self, model: nn.Module, lr: float) -> None:
        pass

    def on_epoch_end(self, epoch: int) -> None:
        pass

    def metrics(self, model: nn.Module, evaluate) -> dict:
        return {}

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"
