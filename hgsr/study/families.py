"""The LeNet-5/MNIST study plan: every regularizer family as notebooks 02-05 and 07 run it.

- :data:`FAMILIES`, :func:`family_config`, :func:`family_run`: every regularizer family as the
  LeNet-5/MNIST study runs it (one place, so notebooks share cached runs).
- :func:`budget_text`, :func:`accuracy_table`, :func:`training_table`, :func:`spec_table`,
  :func:`zero_filter_table`: what the notebooks print and show about the families and their runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import pandas as pd

from .. import experiments, measure
from ..errors import InvalidArgument
from ..viz import vocabulary


# ----------------------------------------------------------------------------- the LeNet-5 study plan
# One registry of every family as the study runs it on LeNet-5/MNIST, so that notebooks 02-05 and
# 07 build identical configs and share cached runs. λ values were chosen on the default profile
# (full MNIST, 3 epochs) for a visible filter sparsity at small accuracy cost; see the notebooks.

@dataclass(frozen=True)
class Family:
    label: str                       # how tables and plots name it
    regularizer: Any                 # a spec for hgsr.regularizers.from_spec (None: no regularizer)
    model_kw: dict = field(default_factory=dict)
    notebook: str = ""               # the notebook that introduces it
    rule: str = "zeros"              # the family's own removal rule (hgsr.study.dead_channels.OWN_RULES), the one its
                                     # notebook teaches; every notebook compacts the family by it (dead_channels.compact_own)
    include_linear: bool = False     # the rule also removes hidden fully connected units
    rel: float | None = None         # ρ of the "relative" rule: ||F|| <= ρ · the largest filter norm of its layer

    @property
    def spec_text(self) -> str:
        """The regularizer's settings as a reader reads them (:func:`hgsr.viz.vocabulary.spec_text`:
        ``λ = 0.017, groups: filters``), or ``none``; the label names the regularizer."""
        return vocabulary.spec_text(self.regularizer)


LENET_TASK = "lenet5_mnist"
LAM_GL_FC = 1e-3   # group lasso with the fc layers: 1,300 more groups than the 70 filters, so a smaller λ
FAMILIES: dict[str, Family] = {
    "none": Family("baseline (weight decay 5e-4 only)", None, notebook="02"),
    "none_bn": Family("baseline with BatchNorm", None, {"batchnorm": True}, notebook="02"),
    "l1": Family("L1", {"key": "l1", "lam": 5e-3}, notebook="02"),
    "group_lasso_filter": Family("group lasso (filters)", {"key": "group_lasso", "lam": 0.017, "group": "filter"},
                                 notebook="02"),
    "group_lasso_filter_sw": Family("group lasso (filters, size-weighted)", {"key": "group_lasso", "lam": 2.5e-3,
                                    "group": "filter", "size_weighted": True}, notebook="02"),
    "group_lasso_channel": Family("group lasso (channels)", {"key": "group_lasso", "lam": 0.017, "group": "channel"},
                                  notebook="02", rule="zeros+inputs"),
    "ssl": Family("SSL (filters + channels)", {"key": "ssl", "lam_filter": 0.017, "lam_channel": 0.008}, notebook="02",
                  rule="zeros+inputs"),
    "slimming": Family("network slimming (BN γ)", {"key": "slimming", "lam": 0.017}, {"batchnorm": True},
                       notebook="02", rule="gamma"),
    "hsr_gl_output": Family("HSR-GL (output grouping)", {"key": "hsr_gl", "lam": 8e-3, "grouping": "output"},
                            notebook="03"),
    # feature-wise grouping kills input slices, so its rule reads dead inputs too; λ scaled from the output
    # grouping's by the two groupings' calibration ratio (hgsr.study.hgsr_variants: 0.033 / 0.02)
    "hsr_gl_input": Family("HSR-GL (input grouping)", {"key": "hsr_gl", "lam": 0.013, "grouping": "input"},
                           notebook="03", rule="zeros+inputs"),
    "hgsr_ref": Family("HGSR reference mix (input grouping)", {"key": "hgsr_ref", "lam": 1e-3}, notebook="03",
                       rule="zeros+inputs"),
    "hgsr_ref_output": Family("HGSR reference mix (output grouping)",
                              {"key": "hgsr_ref", "lam": 1e-3, "grouping": "output"}, notebook="03"),
    "prox_l1": Family("proximal L1", {"key": "prox_l1", "lam": 0.013}, notebook="04"),
    "prox_group_lasso": Family("proximal group lasso (filters)", {"key": "prox_group_lasso", "lam": 0.1,
                                                                  "group": "filter"}, notebook="04"),
    "prox_sgl": Family("proximal sparse group lasso", {"key": "prox_sgl", "lam1": 3.3e-3, "lam2": 0.083},
                       notebook="04"),
    "nonconvex_l1": Family("nonconvex SGL, R = L1", {"key": "nonconvex_sgl", "lam": 8e-4, "beta": 1.0, "R": "l1"},
                           notebook="04"),
    "nonconvex_l0": Family("nonconvex SGL, R = L0", {"key": "nonconvex_sgl", "lam": 8e-4, "beta": 1.0, "R": "l0"},
                           notebook="04"),
    "nonconvex_tl1": Family("nonconvex SGL, R = TL1", {"key": "nonconvex_sgl", "lam": 8e-4, "beta": 1.0,
                                                       "R": "tl1"}, notebook="04"),
    "nonconvex_l1_l2": Family("nonconvex SGL, R = L1-L2", {"key": "nonconvex_sgl", "lam": 8e-4, "beta": 1.0,
                                                           "R": "l1_l2"}, notebook="04"),
    "nonconvex_tl1_fc": Family("nonconvex SGL, R = TL1, with fc layers", {"key": "nonconvex_sgl", "lam": 8e-4,
                                                                           "beta": 1.0, "R": "tl1", "linear": True},
                               notebook="04", rule="zeros+inputs", include_linear=True),
    "group_lasso_filter_fc": Family("group lasso (filters), with fc layers",
                                    {"key": "group_lasso", "lam": LAM_GL_FC, "group": "filter", "linear": True},
                                    notebook="04", rule="zeros+inputs", include_linear=True),
    # scale-invariant penalty, scale-free rule (notebook 05): ρ = 0.1 is 05's choice for this run (05_rho_note)
    "l1_over_l2": Family("L1/L2 on filters", {"key": "l1_over_l2", "lam": 0.08}, notebook="05", rule="relative",
                         rel=0.1),
}


def family(name: str) -> Family:
    if name not in FAMILIES:
        raise InvalidArgument(f"unknown family {name!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def paper_method(name: str) -> str:
    """The :data:`hgsr.experiments.PAPER_RECIPES` entry a family follows in the ``paper`` profile."""
    key = (family(name).regularizer or {}).get("key", "")
    return {"nonconvex_sgl": "nonconvex_sgl", "l1_over_l2": "l1_over_l2"}.get(key, "baselines")


def family_config(name: str, profile: str = "default", **overrides) -> experiments.Config:
    """The LeNet-5/MNIST config of a family at a profile's budget (``overrides`` change fields).

    In the ``paper`` profile a family takes the known fields of its paper recipe (optimizer, lr,
    schedule, batch, epochs; for the nonconvex SGL also λ = 0.1, β0 = 2.5 in per-dataset units with
    β × 1.25 every 40 epochs); unknown fields keep our defaults. A ``regularizer`` or ``model_kw`` in
    ``overrides`` replaces the family's own (the exercises' "the same family with another spec")."""
    f = family(name)
    reg = f.regularizer
    fields = {}
    if profile == "paper":
        method = paper_method(name)
        fields = experiments.paper_overrides(method)
        recipe_reg = experiments.PAPER_RECIPES[method]["regularizer"]
        if isinstance(recipe_reg, dict) and reg is not None:
            reg = {**reg, **{k: v for k, v in recipe_reg.items() if k != "key"}}
    overrides = {"regularizer": reg, "model_kw": dict(f.model_kw), **fields, **overrides}
    return experiments.recipe(LENET_TASK, profile, **overrides)


def family_run(name: str, profile: str = "default", progress: bool = True, **overrides) -> experiments.Run:
    """Train (or load from the cache) a family's LeNet-5 run."""
    return experiments.run(family_config(name, profile, **overrides), progress=progress)


def budget_text(profile: str = "default") -> str:
    """One line: the LeNet-5/MNIST budget of a profile (training images, epochs, optimizer, fine-tuning)."""
    cfg = family_config("none", profile)
    finetune = experiments.profile(profile)["lenet_finetune_epochs"]
    return (f"profile {profile!r}: LeNet-5, MNIST train images: {cfg.train_subset or 60000}, epochs: {cfg.epochs}, "
            f"SGD lr {cfg.lr} (cosine), batch {cfg.batch_size}, weight decay {cfg.weight_decay}; "
            f"fine-tuning: {finetune} epochs")


def accuracy_table(runs: Mapping[str, experiments.Run]) -> pd.DataFrame:
    """One row per family run of ``{family name: run}``: label, key (the registry key: in the table's
    appendix), regularizer settings, BatchNorm, test accuracy and error."""
    return pd.DataFrame([{"family": family(n).label, "key": n, "regularizer": family(n).spec_text,
                          "BatchNorm": bool(family(n).model_kw.get("batchnorm")),
                          "test_acc": r.metrics["test_acc"], "test_error": 1 - r.metrics["test_acc"]}
                         for n, r in runs.items()])


def training_table(runs: Mapping[str, experiments.Run]) -> pd.DataFrame:
    """One row per family run of ``{family name: run}``: label, regularizer spec, epochs, training images
    and test accuracy."""
    return pd.DataFrame([{"family": family(n).label, "regularizer": family(n).spec_text, "epochs": r.config.epochs,
                          "train images": r.config.train_subset or 60000, "test_acc": r.metrics["test_acc"]}
                         for n, r in runs.items()])


def spec_table(names) -> pd.DataFrame:
    """One row per family of ``names``: its label, its regularizer's name and settings, as a reader reads them
    (for display; the registry keys are in :data:`FAMILIES`)."""
    return pd.DataFrame([{"family": family(n).label,
                          "regularizer": vocabulary.regularizer_name((family(n).regularizer or {}).get("key", "none")),
                          "settings": family(n).spec_text} for n in names])


def zero_filter_table(runs: Mapping[str, experiments.Run], tol: float = measure.TOL) -> pd.DataFrame:
    """One row per family run of ``{family name: run}``: label, test accuracy, conv filters with L2 norm at
    most ``tol`` (the column names it; by default the study's one group tolerance, as every other count of
    zero filters) and conv filters."""
    rows = []
    for n, r in runs.items():
        total = measure.sparsity_table(r.model, tol=tol).iloc[-1]
        rows.append({"family": n, "label": family(n).label, "test_acc": r.metrics["test_acc"],
                     f"zero filters (norm ≤ {tol:g})": int(total["zero_filters"]), "filters": int(total["filters"])})
    return pd.DataFrame(rows)


def families(notebook: str | None = None) -> list[str]:
    """Family names, optionally those introduced by one notebook (e.g. ``"02"``)."""
    return [k for k, f in FAMILIES.items() if notebook is None or f.notebook == notebook]
