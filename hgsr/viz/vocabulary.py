"""The words and units of the suite's quantities and layers: one home for every name a reader sees.

- :data:`QUANTITIES` (+ :data:`QUANTITY_PATTERNS`): one mapping machine name -> label and unit
  (``error_finetuned`` -> "error after fine-tuning (%)"), used for axis labels (:mod:`hgsr.viz.axes`) and for
  table headers (:func:`hgsr.suite.report.save_table`). Fractions in [0, 1] are stored as fractions and
  *shown* in % (``scale = 100`` in tables).
- :func:`percent`, :func:`fmt_count`: one number as text.
- :func:`layer_names`: module names of a model -> ``conv1, conv2, ..., fc1, fc2`` in order;
  :func:`group_name`: a prunable channel group (``layer1.0.conv1``, ``layer2``) as a reader names it.
- Registry keys -> the names a reader sees: :data:`REGULARIZERS` (``hsr_gl`` -> "HSR-GL"), :data:`DATASETS`
  (``fashion_mnist`` -> "Fashion-MNIST"), :data:`MODELS`, :data:`GROUPINGS` (``input`` -> "feature-wise"),
  :data:`PENALTIES_R` (the nonconvex SGL's R), :data:`REMOVAL_RULES` (``zeros+inputs`` -> "‖F‖ ≤ tol or
  inputs ≤ tol"); :func:`spec_text` writes a regularizer spec as reader text (``λ = 0.017, groups: filters``).
  Family labels live with the families (:mod:`hgsr.study.families`), criterion labels with the criteria
  (:func:`hgsr.prune.ranking.criteria.label`).

A column whose cells hold registry keys names its mapping in its :class:`Quantity` (``names``): tables keep
the key in the CSV and show the name in Markdown and notebooks.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Mapping, Sequence

import numpy as np

# ---------------------------------------------------------------- quantities: words and units
@dataclass(frozen=True)
class Quantity:
    """How one column is shown: ``label`` (words), ``unit`` (``"%"``, ``"ms"``, ``"×"``, ``"points"``
    or ``""``), ``scale`` (stored value × scale = shown value: 100 for fractions shown in %) and
    ``decimals`` (digits after the point in tables; None: 4 significant digits); ``detail``: a column a
    reader does not need to read the table (a dense reference, an image count, a timing, a machine key):
    :func:`hgsr.suite.report.split` moves it to the table's appendix; ``sequence``: a tuple of counts shown
    as ``20-50`` (widths per layer); ``names``: key -> reader name for the cells of a column of keys."""
    label: str
    unit: str = ""
    scale: float = 1.0
    decimals: int | None = None
    detail: bool = False
    sequence: bool = False
    names: Callable[[str], str] | None = None

    @property
    def header(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label

    @property
    def fraction(self) -> bool:
        """Stored as a fraction in [0, 1], shown in %."""
        return self.unit == "%" and self.scale == 100


def pct(label: str, decimals: int = 1) -> Quantity:
    """A fraction in [0, 1] shown in % with ``decimals`` digits."""
    return Quantity(label, "%", 100.0, decimals)


def _acc(label: str, detail: bool = False) -> Quantity:   # accuracies and errors: two decimals of a % (0.92%)
    return Quantity(label, "%", 100.0, 2, detail)


def _count(label: str, detail: bool = False) -> Quantity:
    return Quantity(label, "", 1.0, 0, detail)


# ---------------------------------------------------------------- registry keys: the names a reader sees
# Every registered regularizer (hgsr.regularizers.names(); tests/test_names.py keeps this complete).
REGULARIZERS: dict[str, str] = {
    "l1": "L1", "l2": "L2", "group_lasso": "group lasso", "ssl": "SSL", "slimming": "network slimming",
    "gl": "group lasso (GL)", "es": "exclusive sparsity (ES)", "gl12": "group L1/2 (GL1/2)",
    "hsr_gl": "HSR-GL", "hsq_gl": "HSQ-GL", "hsr_es": "HSR-ES", "hsq_es": "HSQ-ES", "hsr_gl12": "HSR-GL1/2",
    "hsq_gl12": "HSQ-GL1/2", "hgsr_ref": "HGSR reference mix", "prox_l1": "proximal L1",
    "prox_group_lasso": "proximal group lasso", "prox_sgl": "proximal sparse group lasso",
    "nonconvex_sgl": "nonconvex SGL", "l1_over_l2": "L1/L2", "none": "none",
}
DATASETS: dict[str, str] = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10",
                            "digits": "digits (8×8)", "synthetic": "synthetic"}
MODELS: dict[str, str] = {"lenet5": "LeNet-5", "vgg": "VGG", "resnet": "ResNet", "alexnet": "AlexNet (small)",
                          **{f"resnet{d}": f"ResNet-{d}" for d in (20, 32, 56, 110)},
                          **{f"vgg{d}": f"VGG-{d}" for d in (11, 13, 16, 19)}}
# HGSR's outer groups (docs/methods.md section 2): input channels (feature-wise) or output filters (neuron-wise)
GROUPINGS: dict[str, str] = {"input": "feature-wise", "output": "neuron-wise", "-": "—"}
# the nonconvex sparse group lasso's element penalty R (hgsr.regularizers.nonconvex.R_CHOICES)
PENALTIES_R: dict[str, str] = {"l1": "L1", "l0": "L0", "tl1": "TL1", "l1_l2": "L1-L2"}
# the removal rules of hgsr.study.dead_channels (and the shared rule of hgsr.study.shared_rule)
REMOVAL_RULES: dict[str, str] = {"zeros": "‖F‖ ≤ tol", "inputs": "inputs ≤ tol",
                                 "zeros+inputs": "‖F‖ ≤ tol or inputs ≤ tol", "gamma": "BN |γ| ≤ 1% of max",
                                 "relative": "‖F‖ ≤ ρ·max of its layer",
                                 "shared": "ΔL order, within the validation allowance"}
# a regularizer spec's parameters and their values (hgsr.regularizers.from_spec), as :func:`spec_text` writes them
SPEC_PARAMETERS: dict[str, str] = {"lam": "λ", "lam1": "λ₁", "lam2": "λ₂", "lam_filter": "λ (filters)",
                                   "lam_channel": "λ (channels)", "beta": "β", "a": "a", "alpha": "α", "R": "R",
                                   "group": "groups", "grouping": "grouping", "level": "level"}
SPEC_FLAGS: dict[str, str] = {"size_weighted": "size-weighted", "linear": "fc layers too"}
SPEC_VALUES: dict[str, dict[str, str]] = {
    "R": PENALTIES_R, "grouping": GROUPINGS, "group": {"filter": "filters", "channel": "channels", "kernel": "kernels"},
    "level": {"filter": "filter norms of a layer", "per_filter": "per filter", "per_kernel": "per kernel"}}


def _lookup(table: Mapping[str, str]) -> Callable[[str], str]:
    """key -> ``table[key]``; any other value (already a reader's name) as it is."""
    return lambda key: table.get(key, key) if isinstance(key, str) else key


regularizer_name = _lookup(REGULARIZERS)
dataset_name = _lookup(DATASETS)
model_name = _lookup(MODELS)
grouping_name = _lookup(GROUPINGS)
rule_name = _lookup(REMOVAL_RULES)


def criterion_name(key: str) -> str:
    """A registered pruning criterion's label (:func:`hgsr.prune.ranking.criteria.label`: ``bn_gamma`` ->
    "BN |γ|"); any other value as it is."""
    from ..prune.ranking import criteria

    return criteria.label(key) if isinstance(key, str) and key in criteria.CRITERIA else key


def parameter_text(text: str) -> str:
    """Settings written with the spec's parameter names, ``"lam_filter = 0.017, lam_channel = 0.008"``, with the
    reader's (:data:`SPEC_PARAMETERS`): ``"λ (filters) = 0.017, λ (channels) = 0.008"``; other text as it is."""
    if not isinstance(text, str):
        return text
    return re.sub(r"(?<![\w])([A-Za-z_]\w*)(?=\s*=)", lambda m: SPEC_PARAMETERS.get(m[1], m[1]), text)


def variant_name(name: str) -> str:
    """A variant of notebook 03's grid, ``"<regularizer key>/<grouping>"``, as a reader names it:
    ``"hsr_gl/input"`` -> ``"HSR-GL, feature-wise"``; ``"none"`` -> ``"baseline (no penalty)"``; any other
    value as it is."""
    if name == "none":
        return "baseline (no penalty)"
    if not isinstance(name, str) or name.count("/") != 1:
        return name
    key, grouping = name.split("/")
    if key not in REGULARIZERS or grouping not in GROUPINGS:
        return name
    return f"{REGULARIZERS[key]}, {GROUPINGS[grouping]}"


def _number(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def spec_text(spec: Mapping | None) -> str:
    """A regularizer spec (``{"key": ..., "lam": ..., ...}``) as reader text, without the key (the family or
    the regularizer's name says which): ``{"key": "group_lasso", "lam": 0.017, "group": "filter"}`` ->
    ``"λ = 0.017, groups: filters"``; flags that are on by their words (``size-weighted``); ``"none"`` for no
    regularizer. Unknown parameters keep their name."""
    if not spec:
        return "none"
    parts = []
    for k, v in spec.items():
        if k == "key":
            continue
        if k in SPEC_FLAGS:
            if v:
                parts.append(SPEC_FLAGS[k])
        elif k in SPEC_VALUES:
            parts.append(f"{SPEC_PARAMETERS.get(k, k)}: {SPEC_VALUES[k].get(v, v)}" if k != "R" else
                         f"R = {SPEC_VALUES[k].get(v, v)}")
        else:
            parts.append(f"{SPEC_PARAMETERS.get(k, k)} = {_number(v)}")
    return ", ".join(parts) if parts else "no parameters"


# One mapping machine name -> words and unit for every figure axis and table header of the suite.
# Extend it here (or in QUANTITY_PATTERNS for families of names such as latency_b64_ms).
QUANTITIES: dict[str, Quantity] = {
    # accuracy and error (fractions)
    "test_acc": _acc("test accuracy"), "acc": _acc("accuracy"), "train_acc": _acc("train accuracy"),
    "acc_dense": _acc("accuracy, dense"), "acc_pruned": _acc("accuracy after pruning"),
    "acc_finetuned": _acc("accuracy after fine-tuning"), "masked_acc": _acc("accuracy of W·[V≠0]"),
    "test_error": _acc("test error"), "error": _acc("error"), "error_dense": _acc("error, dense"),
    "error_pruned": _acc("error after pruning"), "error_finetuned": _acc("error after fine-tuning"),
    "acc_drop": _acc("accuracy lost"),
    "acc_change_points": Quantity("accuracy change", "points", 1.0, 2),
    "val_acc": _acc("validation accuracy"), "acc_std": _acc("accuracy std over seeds"),
    "acc_dense_std": _acc("dense accuracy std over seeds"),
    "binomial_se_points": Quantity("binomial standard error", "points", 1.0, 2),
    "acc_change_se_points": Quantity("standard error of the change", "points", 1.0, 2),
    "test_images": _count("test images", detail=True), "seeds": Quantity("seeds"), "seed": Quantity("seed"),
    "val_error": _acc("validation error"), "diverged_seeds": Quantity("seeds that diverged", detail=True),
    "val_error_dense": _acc("validation error, dense"), "val_error_unpruned": _acc("validation error, unpruned", detail=True),
    "error_finetuned_std": _acc("test error std over seeds"), "val_images": _count("validation images", detail=True),
    # size and cost
    "params": _count("parameters"), "macs": _count("MACs"), "MACs": _count("MACs"),
    "params_dense": _count("parameters, dense", detail=True), "macs_dense": _count("MACs, dense", detail=True),
    "widths": Quantity("filters per layer", sequence=True),
    "widths_dense": Quantity("filters per layer, dense", sequence=True, detail=True),
    "nonzero_params": _count("nonzero parameters"), "weights": _count("weights"),
    "params_removed": pct("parameters removed"), "macs_removed": pct("MACs removed"),
    "params_left": pct("parameters left"), "macs_left": pct("MACs left"),
    "conv share of params": pct("conv share of parameters"), "conv share of MACs": pct("conv share of MACs"),
    "fraction": pct("channels removed (target)", 0),
    # structure
    "filters": _count("filters"), "filters_left": _count("filters left"), "zero_filters": _count("zero filters"),
    "filters_left_mean": Quantity("filters left, mean over seeds", "", 1.0, 1),
    "filters_left_std": Quantity("filters left, std over seeds", "", 1.0, 1),
    "linear_units": Quantity("fc units", sequence=True), "fc1_units": _count("fc1 units"),
    "fc_regularized": Quantity("fc layers regularized"), "rule": Quantity("removal rule", names=rule_name),
    "lam_mult": Quantity("λ / registered λ", "", 1.0, 3), "reaches_on_val": Quantity("≤ target on validation"),
    "meets_test": Quantity("≤ target on test"),
    "channels": _count("channels"), "channels_left": _count("channels left"),
    "channels_removed": _count("channels removed"), "dead_inputs": _count("dead input channels"),
    "v_zero_filters": _count("zero filters of V"), "exact_zero_filters": _count("filters exactly 0"),
    "w_active": _count("active filters of W"), "v_filters": _count("nonzero filters of V"),
    "masked_filters": _count("filters of W·[V≠0]"),
    "zero_kernels": pct("zero kernels", 0), "kernels_sparsity": pct("zero kernels"),
    "filters_sparsity": pct("zero filters"), "channels_sparsity": pct("zero channels"),
    "weights_sparsity": pct("zero weights"), "weight_sparsity": pct("zero weights"),
    "w_sparsity": pct("zero weights of W (|w| < 1e-5)"), "v_sparsity": pct("exact zeros of V"),
    "filter_activity": pct("active filters of W"), "exact": pct("weights exactly 0"),
    # speed
    "latency_s": Quantity("latency", "s", 1.0, 4), "speedup": Quantity("speed-up", "×", 1.0, 2),
    "speedup_low": Quantity("slowest round's speed-up", "×", 1.0, 2),
    "speedup_high": Quantity("fastest round's speed-up", "×", 1.0, 2),
    "mac_ratio": Quantity("MAC ratio, dense / compact", "×", 1.0, 2),
    # optimisation and thresholds
    "epoch": Quantity("epoch"), "step": Quantity("step"), "beta": Quantity("β"), "lam": Quantity("λ", names=parameter_text),
    "t": Quantity("threshold t = λ/β"), "gap": Quantity("‖W − V‖₂"), "rho": Quantity("relative threshold ρ"),
    "tol": Quantity("tolerance"), "spearman": Quantity("Spearman rank correlation", "", 1.0, 3),
    "score": Quantity("score"),
    # the other words of the suite's tables
    "finetune_epochs": Quantity("fine-tuning epochs"), "most_reduced": Quantity("most reduced network"),
    "reduced": Quantity("networks with > 5% fewer MACs"), "criterion_a": Quantity("criterion A", names=criterion_name),
    "criterion_b": Quantity("criterion B", names=criterion_name), "train": _count("train images"), "test": _count("test images"),
    "R_term": Quantity("λ·R(V)"), "group_term": Quantity("group term"), "coupling": Quantity("(β/2)‖W − V‖²"),
    "cos": Quantity("cos(∇R, W)"), "degree": Quantity("homogeneity degree"),
    "relative": Quantity("penalty / penalty at scale 1"), "grad_dot_w": Quantity("⟨∇R, W⟩"),
    "objective_gap": Quantity("objective gap"), "grid_argmin": Quantity("grid argmin"),
    "grid_step": Quantity("grid step"), "distance": Quantity("‖prox − grid argmin‖∞"),
    # filter-norm histograms: the widest empty band (hgsr.study.dead_channels.filter_norm_gaps)
    "below_tol": _count("filters with norm ≤ tol"), "gap_low": Quantity("widest gap, lower edge"),
    "gap_high": Quantity("widest gap, upper edge"), "gap_decades": Quantity("widest gap", "decades", 1.0, 1),
    "tol_in_gap": Quantity("tol inside the gap"),
    # notebook 06: the starts, the protocols and the phases of training
    "test_acc_recalibrated": _acc("test accuracy, BatchNorm recalibrated"),
    "card_test_acc": _acc("test accuracy on its card"), "narrowest_layer": Quantity("narrowest layer"),
    "narrowest_kept": pct("channels kept in the narrowest layer", 0),
    "below_0.01": pct("below 1% of the layer's largest norm"), "below_0.1": pct("below 10% of the layer's largest norm"),
    "median_relative_norm": Quantity("median norm / largest of its layer", "", 1.0, 3),
    "kind": Quantity("channels measured"), "start": Quantity("start"), "phase": Quantity("phase"),
    "steps": _count("optimizer steps"), "lr": Quantity("first learning rate"),
    "lr_lam_sum": Quantity("Σ lr·λ", "", 1.0, 4), "schedule": Quantity("learning-rate schedule"),
    "ablation": Quantity("ablation"), "step": Quantity("step"),
    "change_points": Quantity("change from the step before", "points", 1.0, 2),
    # notebook 03: outer functions at matched strength, the tolerance trap
    "inner": Quantity("inner norm", names=regularizer_name), "outer": Quantity("outer function"),
    "grouping": Quantity("grouping", names=grouping_name),
    "status": Quantity("status"), "winner": Quantity("fewer channels at the floor"),
    "count": Quantity("channels counted by"), "channels_left_rel": _count("channels left, scale-free count"),
    # notebook 03's pairs, per outer function (HSR, HSQ)
    **{f"{o.lower()}_{key}": make(o) for o in ("HSR", "HSQ") for key, make in {
        "fewest": lambda o: _count(f"{o}: fewest channels at the floor"), "lam_mult": lambda o: Quantity(f"{o}: λ / grid λ"),
        "test_acc": lambda o: _acc(f"{o}: test accuracy"),
        "bracketed": lambda o: Quantity(f"{o}: sweep reached the floor")}.items()},
    # notebook 07: each family's own removal rule against the shared one
    **{f"{key}_{r}": make(r) for r in ("own", "shared") for key, make in {
        "filters_left": lambda r: Quantity(f"filters left, {r} rule", "", 1.0, 1),
        "error": lambda r: _acc(f"test error, {r} rule"), "target": lambda r: Quantity(f"at the target, {r} rule"),
        "rank": lambda r: Quantity(f"rank, {r} rule", "", 1.0, 0)}.items()},
    "val_error_pruned": _acc("validation error before fine-tuning"),
    "layer": Quantity("layer"), "module": Quantity("module", detail=True), "kernels": _count("kernels"), "kernels_small": _count("kernels with norm ≤ tol"),
    "filters_all_kernels_small": _count("filters whose every kernel is ≤ tol"),
    "filters_small": _count("filters with norm ≤ tol"), "bound": Quantity("√I·tol", "", 1.0, 3),
    "max_norm_all_kernels_small": Quantity("largest norm of those filters", "", 1.0, 3),
    # columns of registry keys: the key stays in the CSV, the reader's name is shown
    "key": Quantity("registry key", detail=True), "dataset": Quantity("dataset", names=dataset_name),
    "regularizer": Quantity("regularizer", names=regularizer_name), "R": Quantity("R", names=_lookup(PENALTIES_R)),
    "variant": Quantity("variant", names=lambda v: variant_name(v)),
    "protocol": Quantity("protocol", detail=True),      # a short code of the label column beside it
    # a sweep's bookkeeping (hgsr.sweep): seconds per task
    "task_s": Quantity("task time", "s", 1.0, 1, detail=True), "wait_s": Quantity("wait before the task", "s", 1.0, 3,
                                                                                   detail=True),
}

# Families of names: (regex, match -> Quantity); the first match wins.
QUANTITY_PATTERNS: list[tuple[re.Pattern, Callable[[re.Match], Quantity]]] = [
    (re.compile(r"latency_b(\d+)_ms"), lambda m: Quantity(f"latency, batch {m[1]}", "ms", 1.0, 3)),
    (re.compile(r"speedup_b(\d+)"), lambda m: Quantity(f"speed-up, batch {m[1]}", "×", 1.0, 2)),
    (re.compile(r"efficiency_b(\d+)"), lambda m: Quantity(f"efficiency (speed-up / MAC ratio), batch {m[1]}",
                                                          "", 1.0, 2)),
    (re.compile(r"median_efficiency_b(\d+)"), lambda m: Quantity(f"median efficiency, batch {m[1]}", "", 1.0, 2)),
    (re.compile(r"\|w\|<=(.+)"), lambda m: pct(f"weights with |w| ≤ {m[1]}")),
    (re.compile(r"filters_le_(.+)"), lambda m: _count(f"filters with norm ≤ {m[1]}")),
    (re.compile(r"left_(.+)"), lambda m: _count(f"filters left, {m[1]}")),
    (re.compile(r"overlap_lowest_(\d+)%"), lambda m: pct(f"overlap of the lowest {m[1]}%", 0)),
    (re.compile(r"(filters|inputs)_below_(.+)_(mean|max)"),
     lambda m: pct(f"{'filters' if m[1] == 'filters' else 'input channels'} below {float(m[2]):.0%} of the layer's "
                   f"largest, {'mean over layers' if m[3] == 'mean' else 'largest of one layer'}")),
    # a quantity's spread over seeds: in the unit of the quantity (a fraction's std shown in % like its mean)
    (re.compile(r"(.+)_std"), lambda m: _derived(m[1], "std over seeds")),
    # the same quantity under the shared removal rule (hgsr.study.shared_rule)
    (re.compile(r"(.+)_shared"), lambda m: _derived(m[1], "shared rule")),
]


def _derived(base: str, words: str) -> Quantity | None:
    """The quantity of ``base`` with ``words`` added to its label, same unit, scale and decimals."""
    q = quantity(base)
    return None if q is None else replace(q, label=f"{q.label}, {words}")


def quantity(name: str) -> Quantity | None:
    """The :class:`Quantity` of a column name (:data:`QUANTITIES`, then :data:`QUANTITY_PATTERNS`),
    or None for a name the suite has no words for."""
    q = QUANTITIES.get(name)
    if q is not None:
        return q
    for pat, make in QUANTITY_PATTERNS:
        m = pat.fullmatch(name)
        if m:
            q = make(m)
            if q is not None:
                return q
    return None


def axis_label(name: str) -> str:
    """Axis label with unit of a column (``"test_acc"`` -> ``"test accuracy (%)"``); unknown names
    are shown with spaces for underscores."""
    q = quantity(name)
    return q.header if q else str(name).replace("_", " ")


def percent(value: float, decimals: int = 1) -> str:
    """A fraction as text in %: ``percent(0.0092, 2) == "0.92%"``; NaN -> ``"—"``."""
    if value is None or not np.isfinite(value):
        return "—"
    return f"{100 * value:.{decimals}f}%"

def count_text(n: int, word: str, plural: str | None = None) -> str:
    """``n`` and the noun in the number it takes: ``count_text(1, "epoch") == "1 epoch"``,
    ``count_text(3, "timed pass", "timed passes") == "3 timed passes"`` (default plural: ``word + "s"``)."""
    n = int(n)
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def fmt_count(n: float) -> str:
    """``1234567 -> '1.23M'``, ``45200 -> '45.2k'``, small numbers as they are."""
    n = float(n)
    for div, suf in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.3g}{suf}"
    return f"{n:.3g}"


# ---------------------------------------------------------------- layer names
def _is_shortcut(name: str) -> bool:
    return any(k in name for k in ("shortcut", "downsample"))


def ordinal_layer_names(names: Sequence[str], kinds: Sequence[str] | None = None) -> dict[str, str]:
    """``{module name: conv1 | conv2 | ... | fc1 | ... | shortcut1 ...}`` in the given order. ``kinds``
    (``"Conv2d"``/``"Linear"``, e.g. the ``type`` column of :func:`hgsr.measure.macs_by_layer`) tells
    convs from fully connected layers; without it every name is a conv. Projection shortcuts (names
    with ``shortcut`` or ``downsample``) are numbered apart, so ``conv1..conv19`` of ResNet-20 are its
    19 main convolutions."""
    kinds = list(kinds) if kinds is not None else ["Conv2d"] * len(names)
    count = {"conv": 0, "fc": 0, "shortcut": 0}
    out = {}
    for n, k in zip(names, kinds):
        kind = "fc" if "linear" in str(k).lower() else ("shortcut" if _is_shortcut(n) else "conv")
        count[kind] += 1
        out[n] = f"{kind}{count[kind]}"
    return out


def group_name(group: str, names: Mapping[str, str]) -> str:
    """A prunable channel group (:func:`hgsr.prune.prunable_groups`) as a reader names it: the group of one conv
    by that conv's short name (``names``: :func:`layer_names` of the model; ``layer1.0.conv1`` -> ``conv2`` in
    ResNet-20), a stage's residual stream (``layer2``, every conv that writes it, coupled) as
    ``"stage 2 residual stream"``; any other name as it is."""
    if not isinstance(group, str):
        return group
    if group in names:
        return names[group]
    m = re.fullmatch(r"layer(\d+)", group)
    return f"stage {m[1]} residual stream" if m else group


def layer_names(model) -> dict[str, str]:
    """``{module name: short name}`` of every Conv2d and Linear of ``model`` in model order:
    ``conv1, conv2, ...`` for convolutions, ``fc1, fc2, ...`` for linear layers, ``shortcut1, ...``
    for projection shortcuts (LeNet-5: features.0 -> conv1, features.2 (or .3 with BN) -> conv2,
    classifier.1 -> fc1, classifier.3 -> fc2)."""
    from torch import nn

    mods = [(n, type(m).__name__) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    return ordinal_layer_names([n for n, _ in mods], [k for _, k in mods])
