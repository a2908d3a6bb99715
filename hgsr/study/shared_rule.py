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
   images at most its unpruned error plus :func:`allowance` (:func:`hgsr.prune.largest_within`, bisection
   over the count); each layer keeps at least one channel;
3. fine-tune the compact network :data:`FINETUNE_EPOCHS` epoch at :data:`FINETUNE_LR_FRACTION` of the run's
   learning rate (cosine): a polish of a network whose removal was bounded, not a recovery (:func:`polish`).
   Notebook 07 gives the compact networks of the families' own rules the same polish, so that the two rules
   compare removals, not fine-tunings.

The allowance is what the target leaves above the unregularized baseline, ``ERROR_TARGET − test_b``: the removal
may cost every network, before fine-tuning and on validation, what the target lets the baseline lose. It is
relative to each network's own error because a regularized network is judged *before* fine-tuning, where its
error is often above any absolute bound while its zero or tiny channels cost nothing (an absolute bound would
then keep even its exact-zero filters). It is checked before fine-tuning: one bisection of cheap evaluations
per network instead of a fine-tuning per probe. Whether the network then meets the target is decided after
fine-tuning, on validation, by notebook 07's choice of λ (:func:`hgsr.study.fronts.chosen`).
"""
from __future__ import annotations

import functools

import pandas as pd

from .. import compact, experiments, prune, train
from ..errors import check_nonneg

SAMPLES = 1024            # training images the ΔL scores average over (seed 0)
FINETUNE_EPOCHS = 1       # after the removal; the allowance holds before it
FINETUNE_LR_FRACTION = 0.1    # of the run's learning rate: a polish (a full-rate epoch disturbs a converged network)
ERROR_TARGET = 0.0100     # the test-error target (notebook 07's)
VERSION = 3               # of the procedure above: part of the cache key, raise it when the procedure changes
BASELINE = "none"         # the family whose run anchors the bound (hgsr.study.families)


def polish(config: experiments.Config) -> dict:
    """The fine-tuning after a removal in notebook 07, for either rule: ``{"finetune_epochs": FINETUNE_EPOCHS,
    "finetune_lr": config.lr × FINETUNE_LR_FRACTION}`` (keyword arguments of :func:`hgsr.compact.compact_with`)."""
    return {"finetune_epochs": FINETUNE_EPOCHS, "finetune_lr": config.lr * FINETUNE_LR_FRACTION}


def baseline_config(config: experiments.Config) -> experiments.Config:
    """The unregularized run the bound is anchored on: ``config`` without its regularizer and model options
    (no BatchNorm), seed 0. At the default profile it is the :data:`BASELINE` family's run for every family
    (the same recipe), so every family gets the same bound."""
    return config.replace(regularizer=None, model_kw={}, seed=0)


def allowance(config: experiments.Config) -> float:
    """The validation error the removal may add: ``max(0, ERROR_TARGET − test_b)``, with ``test_b`` the test
    error of the trained :func:`baseline_config` run (before any removal)."""
    return _allowance(baseline_config(config))


@functools.lru_cache(maxsize=8)
def _allowance(baseline: experiments.Config) -> float:
    """:func:`allowance` of one baseline run, read once per process (every sweep task of a profile asks)."""
    base = experiments.run(baseline, progress=False)
    return max(0.0, ERROR_TARGET - (1 - base.metrics["test_acc"]))


def compact_shared(run: experiments.Run, allowed_rise: float) -> dict:
    """The compact network of ``run`` under the shared rule (module docstring), cached: the layout of
    :func:`hgsr.compact.compact_with` (``summary``, ``structure``: the channel counts probed and their
    validation error, ``model``, ``history``); ``summary`` adds ``val_error_unpruned`` and
    ``val_error_pruned``, the validation errors before and after the removal (before fine-tuning)."""
    check_nonneg("allowed_rise", allowed_rise)
    val = experiments.validation_for(run.config)
    ds = experiments.dataset_for(run.config)

    def val_error(model) -> float:
        return 1 - train.evaluate(model, val)["accuracy"]

    def choose(dense, shape):
        scores = prune.loss_increase_scores(dense, ds, n_samples=SAMPLES, seed=0)
        known = run.metrics.get("val_acc") if compact.is_run_model(run) else None   # not measured twice
        e0 = val_error(dense) if known is None else 1 - known   # the bound's base; largest_within's first probe
        out = prune.largest_within(dense, scores, shape, lambda m: e0 if m is dense else val_error(m),
                                   e0 + allowed_rise, score_col="delta_loss")
        return pd.DataFrame(out["probes"], columns=["removed", "val_error"]), out["plan"]

    params = {"rule": "loss_within_allowance", "version": VERSION, "allowed_rise": round(float(allowed_rise), 6),
              "samples": SAMPLES}
    res = compact.compact_with(run, choose, "compact_shared", params, **polish(run.config))
    s = res["summary"]
    probes = res["structure"].set_index("removed")["val_error"]
    removed = sum(s["widths_dense"]) - sum(s["widths"])
    return {**res, "summary": {**s, "val_error_unpruned": float(probes.loc[0]),
                               "val_error_pruned": float(probes.loc[removed])}}
