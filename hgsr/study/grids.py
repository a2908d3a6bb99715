"""Named sweep grids: ``GRIDS[name](profile) -> list[hgsr.sweep.Task]``, run by
:func:`hgsr.sweep.run_sweep`, or from the shell::

    python -m hgsr.study.grids GRID --profile P [--scheduler tcp://HOST:PORT] [--workers N]
                                     [--retries 2] [--csv rows.csv] [--no-progress]

(the same as the core's ``python -m hgsr.sweep hgsr.study.grids:GRID ...``, :func:`hgsr.sweep.main`).

Without ``--scheduler`` (or ``$HGSR_SCHEDULER``) a local cluster of ``--workers`` processes (default:
one per core) is started and closed. Runs are cached in ``$HGSR_RUNS`` (default ``runs/``), which
must be on a filesystem every worker sees. Failed tasks are listed with their config and error; the
last line is ``trained N, cached M, failed F`` and the exit status is 1 if any task failed.

- ``lenet_families``: every LeNet-5/MNIST family of :data:`hgsr.study.families.FAMILIES` at its
  registered λ scaled by each of :data:`LAM_MULTS` (every ``lam*`` key of the spec scaled together;
  the unregularized baselines once), seed 0; each task trains the run, removes structure by the
  family's rule and, separately, by the shared rule of :mod:`hgsr.study.shared_rule`, fine-tunes each and
  reports validation and test figures of both (:func:`front_row`). Notebook 07
  adds a second seed for the points near the front (:mod:`hgsr.study.fronts`). Sized for 2 CPU cores.
- ``lenet_families_full``: the same families at nine λ from λ/16 to 16λ (factors of 2), three seeds
  each: the grid for a cluster (about six times the tasks).
- ``smoke``: a handful of tiny LeNet-5 runs on the generated ``synthetic`` set (tests, CI), one of
  them listed twice to exercise deduplication.
"""
from __future__ import annotations

import functools
import sys
from typing import Callable

from torch import nn

from .. import experiments, train
from ..errors import InvalidArgument
from ..results import widths_text
from ..sweep import Task
from ..sweep import main as sweep_main
from . import dead_channels, shared_rule
from .families import FAMILIES, family_config

# log-spaced around each family's registered λ, a factor 2·sqrt(2) apart: λ/8 … 8λ (nearly two decades)
LAM_MULTS = (0.125, 0.354, 1.0, 2.83, 8.0)
LAM_MULTS_FULL = tuple(2.0 ** k for k in range(-4, 5))   # λ/16 … 16λ
SEEDS_FULL = (0, 1, 2)


def scale_lams(spec, mult: float):
    """A copy of a regularizer spec with every ``lam*`` value multiplied by ``mult``."""
    if spec is None or mult == 1:
        return spec   # unchanged: the x1 point is the family's own run (same hash, shared cache)
    return {k: (v * mult if k.startswith("lam") else v) for k, v in spec.items()}


LR_RETRIES = 2            # a point whose training or fine-tuning diverges is trained again at lr × LR_RETRY_FACTOR,
LR_RETRY_FACTOR = 0.5     # then × its square: a missing point of a front is a lesson lost (notebook 07)


def front_row(config: experiments.Config, rule: str = "zeros", include_linear: bool = False,
              rel: float | None = None) -> dict:
    """One point of notebook 07's fronts: train (or load) ``config``, then compact it twice and report both:

    - by the family's own ``rule`` (:func:`hgsr.study.dead_channels.compact_by`, as notebooks 02-05 and 08 remove
      it; ``rel``: ρ of the ``"relative"`` rule): the compact network's size, its test error and its error on the
      config's held-out validation images (both fine-tuned);
    - by the shared rule (:mod:`hgsr.study.shared_rule`: ΔL order, as many channels as keep the validation
      error within the allowance): the same figures in columns ending ``_shared``, plus
      ``val_error_unpruned_shared`` and ``val_error_pruned_shared`` (before fine-tuning).

    Both compact networks get the same fine-tuning, :func:`hgsr.study.shared_rule.polish` (a short one at a
    fraction of the run's lr), so that the two rules differ only in what they remove. (Notebooks 02-05 and 08
    retrain their own-rule networks longer, the profile's ``lenet_finetune_epochs`` at the full rate.)

    Divergence is handled, not dropped: if the training or a fine-tuning diverges (:class:`hgsr.train.NonFiniteLoss`),
    the point is trained again with the learning rate × :data:`LR_RETRY_FACTOR` (``lr_k = lr · 0.5^k``), up to
    :data:`LR_RETRIES` times; the row's ``lr`` and ``lr_retries`` say which run it reports. The validation bound
    stays the one of the task's own recipe. Only a point that diverges at every learning rate raises
    :class:`hgsr.train.NonFiniteLoss`, naming the run (:func:`hgsr.compact.compact_with`)."""
    allowed_rise = shared_rule.allowance(config)     # the task's own recipe's bound, whatever lr a retry uses
    for retry in range(LR_RETRIES + 1):
        attempt = config.replace(lr=config.lr * LR_RETRY_FACTOR ** retry) if retry else config
        try:
            row = _front_row(attempt, rule, include_linear, rel, allowed_rise)
        except train.NonFiniteLoss:
            if retry < LR_RETRIES:
                continue
            raise
        return {**row, "lr": attempt.lr, "lr_retries": retry}


def _front_row(config: experiments.Config, rule: str, include_linear: bool, rel: float | None,
               allowed_rise: float) -> dict:
    """:func:`front_row` for one learning rate (no retry)."""
    run = experiments.run(config, progress=False)
    out = dead_channels.compact_by(run, rule, rel, include_linear, **shared_rule.polish(config))
    shared = shared_rule.compact_shared(run, allowed_rise)
    val = experiments.validation_for(config)
    reg = config.regularizer or {}
    row = {"seed": config.seed, "rule": rule,
           "lam": ", ".join(f"{k} = {v:.2g}" for k, v in reg.items() if k.startswith("lam")) or "—",
           "val_error_dense": 1 - run.metrics["val_acc"], "test_images": len(experiments.dataset_for(config).test_y),
           "val_images": len(val.test_y)}
    for suffix, res in (("", out), ("_shared", shared)):
        s = res["summary"]
        row.update({f"widths_dense{suffix}": widths_text(s["widths_dense"]), f"widths{suffix}": widths_text(s["widths"]),
                    f"filters_left{suffix}": sum(s["widths"]), f"linear_units{suffix}": _linear_units(res["model"]),
                    f"params_dense{suffix}": s["params_dense"], f"params{suffix}": s["params"],
                    f"macs_dense{suffix}": s["macs_dense"], f"macs{suffix}": s["macs"],
                    f"error_dense{suffix}": 1 - s["acc_dense"], f"error_pruned{suffix}": 1 - s["acc_pruned"],
                    f"error_finetuned{suffix}": 1 - s["acc_finetuned"],
                    f"val_error{suffix}": 1 - train.evaluate(res["model"], val)["accuracy"]})
    row["val_error_unpruned_shared"] = shared["summary"]["val_error_unpruned"]
    row["val_error_pruned_shared"] = shared["summary"]["val_error_pruned"]
    return row


def _linear_units(model) -> str:
    """Output widths of the hidden fully connected layers (all but the classifier), e.g. ``"500"``."""
    fcs = [m.out_features for m in model.modules() if isinstance(m, nn.Linear)]
    return "-".join(str(w) for w in fcs[:-1])


def family_task(name: str, profile: str, mult: float = 1.0, seed: int = 0) -> Task:
    """The task of family ``name`` at λ × ``mult`` and ``seed`` (its rule from the registry)."""
    fam = FAMILIES[name]
    cfg = family_config(name, profile, seed=seed)
    cfg = cfg.replace(regularizer=scale_lams(cfg.regularizer, mult))
    return Task(cfg, fn=functools.partial(front_row, rule=fam.rule, include_linear=fam.include_linear, rel=fam.rel),
                tags={"family": name, "label": fam.label, "lam_mult": mult})


def _families(profile: str, mults, seeds, names=tuple(FAMILIES)) -> list[Task]:
    """``names`` (default: every family) at each λ multiple of ``mults`` (the unregularized ones once), per seed."""
    return [family_task(name, profile, mult, seed) for seed in seeds for name in names
            for mult in ((1.0,) if FAMILIES[name].regularizer is None else mults)]


def lenet_families(profile: str = "default") -> list[Task]:
    """Every family at every λ of :data:`LAM_MULTS` (baselines once), seed 0."""
    return _families(profile, LAM_MULTS, (0,))


def lenet_families_full(profile: str = "default") -> list[Task]:
    """Every family at every λ of :data:`LAM_MULTS_FULL` and every seed of :data:`SEEDS_FULL` (a cluster's grid)."""
    return _families(profile, LAM_MULTS_FULL, SEEDS_FULL)


def smoke(profile: str = "smoke") -> list[Task]:
    """Four tiny configs (one listed twice) on the synthetic set; ``profile`` only labels them."""
    base = experiments.Config(dataset="synthetic", model="lenet5", train_subset=256, test_subset=128,
                              epochs=1, lr=0.05, batch_size=64, profile=profile)
    specs = [None, {"key": "l1", "lam": 1e-3}, {"key": "l1", "lam": 1e-2},
             {"key": "group_lasso", "lam": 0.017, "group": "filter"}, {"key": "l1", "lam": 1e-3}]
    return [Task(base.replace(regularizer=s), tags={"grid": "smoke"}) for s in specs]


GRIDS: dict[str, Callable[[str], list[Task]]] = {"lenet_families": lenet_families,
                                                  "lenet_families_full": lenet_families_full,
                                                  "smoke": smoke}


def grid(name: str, profile: str = "default") -> list[Task]:
    """The tasks of a named grid at a profile's budget."""
    if name not in GRIDS:
        raise InvalidArgument(f"unknown grid {name!r}; known: {', '.join(GRIDS)}")
    experiments.profile(profile)   # an unknown profile names the known ones
    return GRIDS[name](profile)


def main(argv: list[str] | None = None) -> int:
    """``python -m hgsr.study.grids GRID ...``: :func:`hgsr.sweep.main` with the named grids of :data:`GRIDS`."""
    return sweep_main(argv, grids=GRIDS, prog="python -m hgsr.study.grids")


if __name__ == "__main__":
    sys.exit(main())
