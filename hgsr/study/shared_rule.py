"""One removal rule for every family (notebook 07's fronts): the ICPR paper's own, scale-free.

Each family's notebook teaches its own rule (exact zeros or ``||F|| <= tol``, ``ρ·max`` for L1/L2, BN ``|γ|``
for slimming, dead inputs). An absolute rule is not scale-invariant: a ReLU network can shrink one layer's
filters and grow the next layer's, so a penalty that shrinks without exact zeros loses under it while the
proximal families (exact zeros) win by construction (:mod:`hgsr.study.tolerance_trap`). The shared rule
judges every trained network the same way:

1. score every conv channel by ``ΔL``, the rise of the training loss when that channel alone is removed, on
   :data:`SAMPLES` random training images (:func:`hgsr.prune.loss_increase_scores`; a loss, so one global
   order across layers is fair);
2. remove channels in that order, as many as keep the pruned network's error on the held-out validation
   images at most :func:`bound` (:func:`hgsr.prune.largest_within`, bisection over the count); each layer
   keeps at least one channel;
3. fine-tune the compact network :data:`FINETUNE_EPOCHS` epoch(s), as every compact LeNet-5 (the run's
   optimizer at :data:`hgsr.compact.FINETUNE_LR_FRACTION` of its lr, cosine).

The bound is checked **before** fine-tuning: it is what the removal alone costs, one bisection of cheap
evaluations per network instead of a fine-tuning per probe (which would multiply notebook 07's time by
the number of probes), and it is conservative: fine-tuning lowers the error further, and the table shows
the validation and test errors after it. The bound is the one of notebook 07's target:
``val_b + (ERROR_TARGET − test_b)`` from the unregularized baseline's validation and test errors before any
removal (:func:`bound`), the same number for every family of a profile.
"""
from __future__ import annotations

import pandas as pd

from .. import compact, experiments, prune, train
from ..errors import check_real

SAMPLES = 1024            # training images the ΔL scores average over (seed 0)
FINETUNE_EPOCHS = 1       # after the removal; the bound holds before it
ERROR_TARGET = 0.0100     # the test-error target the bound stands for (notebook 07's)
VERSION = 1               # of the procedure above: part of the cache key, raise it when the procedure changes
BASELINE = "none"         # the family whose run anchors the bound (hgsr.study.families)


def baseline_config(config: experiments.Config) -> experiments.Config:
    """The unregularized run the bound is anchored on: ``config`` without its regularizer and model options
    (no BatchNorm), seed 0. At the default profile it is the :data:`BASELINE` family's run for every family
    (the same recipe), so every family gets the same bound."""
    return config.replace(regularizer=None, model_kw={}, seed=0)


def bound(config: experiments.Config) -> float:
    """The validation error the removal may reach: ``val_b + (ERROR_TARGET − test_b)``, with ``val_b`` and
    ``test_b`` the validation and test errors of the trained :func:`baseline_config` run (before any
    removal, like the errors the bound is checked against)."""
    base = experiments.run(baseline_config(config), progress=False)
    return (1 - base.metrics["val_acc"]) + (ERROR_TARGET - (1 - base.metrics["test_acc"]))


def compact_shared(run: experiments.Run, error_bound: float, finetune_epochs: int = FINETUNE_EPOCHS) -> dict:
    """The compact network of ``run`` under the shared rule (module docstring), cached: the layout of
    :func:`hgsr.compact.compact_with` (``summary``, ``structure``: the channel counts probed and their
    validation error, ``model``, ``history``); ``summary`` adds ``val_error_pruned``, the validation error
    at the count removed (what the bound was checked on)."""
    check_real("error_bound", error_bound)
    val = experiments.validation_for(run.config)
    ds = experiments.dataset_for(run.config)

    def choose(dense, shape):
        scores = prune.loss_increase_scores(dense, ds, n_samples=SAMPLES, seed=0)
        out = prune.largest_within(dense, scores, shape, lambda m: 1 - train.evaluate(m, val)["accuracy"],
                                   error_bound, score_col="delta_loss")
        return pd.DataFrame(out["probes"], columns=["removed", "val_error"]), out["plan"]

    params = {"rule": "loss_bound", "version": VERSION, "bound": round(float(error_bound), 6), "samples": SAMPLES}
    res = compact.compact_with(run, choose, "compact_shared", params, finetune_epochs)
    s = res["summary"]
    removed = sum(s["widths_dense"]) - sum(s["widths"])
    probes = res["structure"].set_index("removed")["val_error"]
    return {**res, "summary": {**s, "val_error_pruned": float(probes.loc[removed])}}
