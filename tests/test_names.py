"""Names people read (issue 29, section 1): no registry key and no module path in what a reader sees.

What a reader sees: the committed tables and texts (``figures/tables/*.md``), the visible text of every committed
figure (``figures/figure_texts.json``, written by :func:`hgsr.suite.report.save_figure`), the options and text
of the explorers (:mod:`hgsr.widgets`) and the verdict sentences of :mod:`hgsr.study`. A *code name* is

- a registry key that reads as code (a family, regularizer, criterion, dataset, model, penalty R or removal-rule
  key, e.g. ``fashion_mnist``, ``bn_gamma``, ``hsr_gl``, ``l1``; keys that are plain words, such as ``loss`` or
  ``none``, are left out: they read as words),
- a module path (``features.0``, ``layer1.0.conv1``, ``layer2``, ``hgsr.study``),
- a snake_case identifier (``task_s``, ``lam_filter``, ``per_filter``: a column or parameter name).

The committed files change only when the notebooks are regenerated (``make figures``): the tests over them
fail until then wherever a notebook still writes code names.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import pipe_rows
from hgsr import data, models, prune, regularizers, widgets
from hgsr.regularizers.nonconvex import R_CHOICES
from hgsr.study import (dead_channels, families, fc_layers, filter_pruning, fronts, hgsr_variants, outer_functions,
                        pruning_starts, speed, splitting)
from hgsr.suite import report
from hgsr.viz import vocabulary

from conftest import sparse_lenet

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "figures"
TABLES = sorted((FIGURES / "tables").glob("*.md"))

WORDS = {"none", "loss", "magnitude", "slimming", "digits", "synthetic", "zeros", "gamma", "inputs", "vgg", "resnet",
         "alexnet"}     # keys that are plain words: they read as words, not as code
KEYS = sorted((set(families.FAMILIES) | set(regularizers.names()) | set(prune.criteria.names()) | set(data.NAMES)
               | set(models.names()) | set(R_CHOICES) | set(dead_channels.RULES)) - WORDS, key=len, reverse=True)
KEY = re.compile(r"(?<![\w/.\-+\\])(?:" + "|".join(map(re.escape, KEYS)) + r")(?![\w/\-+])")
MODULE = re.compile(r"(?<![\w.])(?:(?:features|classifier|layer\d+|shortcut|downsample)(?:\.\w+)+|layer\d+(?![\w.])"
                    r"|hgsr\.\w+)")
SNAKE = re.compile(r"(?<![\w\\])[a-z][a-z0-9]*(?:_[a-z][a-z0-9]*)+(?![\w(])")   # not x86_64: a CPU's name


def code_names(text: str) -> list[str]:
    """The code names in ``text`` (module docstring), sorted."""
    return sorted({m.group(0) for pat in (KEY, MODULE, SNAKE) for m in pat.finditer(str(text))})


def test_the_detector_finds_code_names_and_passes_words():
    assert code_names("layer features.0 of fashion_mnist, criterion bn_gamma, variant hsr_gl/input, task_s") == [
        "bn_gamma", "fashion_mnist", "features.0", "hsr_gl", "task_s"]
    assert code_names("layer1.0.conv1 and the stream layer2; hgsr.study.fronts; R = l1_l2; cifar10; l1") == [
        "cifar10", "hgsr.study", "l1", "l1_l2", "layer1.0.conv1", "layer2"]
    clean = ("conv1 of Fashion-MNIST, BN |γ|, HSR-GL, feature-wise, L1/L2 (filters), R = L1-L2, ‖C_next‖ ≤ tol, "
             "$\\lambda_2$ = 0.5, the loss, no penalty (none), 20-50 filters, ResNet-20 on CIFAR-10, stage 2 residual "
             "stream, λ (filters) = 0.017, trained on x86_64")
    assert code_names(clean) == []


# ----------------------------------------------------------------------------- the vocabulary is complete
def test_every_registry_key_has_a_name_a_reader_reads():
    assert set(regularizers.names()) <= set(vocabulary.REGULARIZERS)
    assert set(data.NAMES) <= set(vocabulary.DATASETS) and set(models.names()) <= set(vocabulary.MODELS)
    assert set(R_CHOICES) <= set(vocabulary.PENALTIES_R) and set(dead_channels.RULES) <= set(vocabulary.REMOVAL_RULES)
    assert set(hgsr_variants.GROUPINGS) <= set(vocabulary.GROUPINGS)
    names = (list(vocabulary.REGULARIZERS.values()) + list(vocabulary.DATASETS.values())
             + list(vocabulary.MODELS.values()) + list(vocabulary.PENALTIES_R.values())
             + list(vocabulary.REMOVAL_RULES.values()) + [prune.criteria.label(c) for c in prune.criteria.names()]
             + [f.label for f in families.FAMILIES.values()]
             + [hgsr_variants.label(v) for v in ["none"] + hgsr_variants.variant_names()]
             + [filter_pruning.model_label(filter_pruning.model_key(p, 0.5)) for p in filter_pruning.PROTOCOLS])
    assert [n for n in names if code_names(n)] == []


def test_every_column_of_the_study_has_words():
    """Every column name the vocabulary knows is shown with words (no snake_case header)."""
    headers = [q.header for q in vocabulary.QUANTITIES.values()]
    headers += [vocabulary.quantity(c).header for c in ("params_shared_std", "val_error_unpruned_shared",
                                                        "filters_below_0.01_mean", "latency_b64_ms", "left_conv1")]
    assert [h for h in headers if code_names(h)] == []


# ----------------------------------------------------------------------------- the committed tables and texts
def _cells(md: str) -> tuple[list[str], list[list[str]]] | None:
    """Header and rows of the pipe table of ``md`` (unescaped pipes split cells), or None."""
    rows = pipe_rows(md)
    return (rows[0], rows[2:]) if len(rows) >= 2 else None


@pytest.mark.parametrize("path", TABLES, ids=[p.stem for p in TABLES])
def test_committed_table_or_text_shows_no_code_name(path):
    text = path.read_text()
    assert code_names(text) == [], f"{path.name} shows code names (regenerate the notebook if its code is fixed)"
    table = _cells(text)
    if table is None:
        return
    head, rows = table
    assert len(head) <= report.MAX_COLUMNS, f"{path.name}: {len(head)} columns (the rest belongs in the appendix)"
    assert all(any(r[k] != report.MISSING for r in rows) for k in range(len(head))) or not rows, \
        f"{path.name}: a column of nothing but {report.MISSING}"
    assert not [c for r in rows for c in r if re.fullmatch(r"-0(?:[.,]0*)?", c)], f"{path.name}: a -0"
    widths = [k for k, h in enumerate(head) if h.startswith("filters per layer")]
    assert not [r[k] for r in rows for k in widths if r[k].startswith("(")], f"{path.name}: widths as a tuple"


def test_every_committed_figure_has_its_text_recorded():
    texts = report.read_texts(FIGURES)
    pngs = sorted(p.stem for p in FIGURES.glob("*.png"))
    assert texts, "figures/figure_texts.json is missing: regenerate the figures (make figures)"
    assert [p for p in pngs if p not in texts] == [], "figures without recorded text: regenerate their notebooks"


def test_committed_figures_show_no_code_name():
    texts = report.read_texts(FIGURES)
    bad = {name: code_names("\n".join(lines)) for name, lines in texts.items()}
    assert {k: v for k, v in bad.items() if v} == {}


# ----------------------------------------------------------------------------- the explorers
SHAPE = (1, 28, 28)


def test_explorer_options_read_as_names():
    grid = {"none": SimpleNamespace(model=sparse_lenet()), "hsr_gl/input": SimpleNamespace(model=sparse_lenet())}
    full = {"hgsr_ref": SimpleNamespace(model=sparse_lenet())}
    runs = hgsr_variants.explorer_models(grid, full)                     # what notebook 03 gives its explorers
    lenet = {families.family(n).label: sparse_lenet() for n in ("l1", "nonconvex_l1")}   # notebooks 02, 05
    for chosen in (runs, lenet):
        ex = widgets.filter_norm_explorer(chosen, SHAPE, tol=1e-3)
        shown = [lab for lab in ex.controls["run"].options] + [lab for lab, _ in ex.controls["layer"].options]
        shown += [ex.text.value]
        viewer = widgets.sparsity_pattern_viewer(chosen, tol=1e-3)
        shown += list(viewer.controls["run_a"].options) + list(viewer.controls["run_b"].options) + [viewer.text.value]
        assert [s for s in shown if code_names(s)] == [], shown
    assert [lab for lab, _ in ex.controls["layer"].options] == ["conv1", "conv2"]

    resnet = models.build("resnet20", 10, 3, 32)
    scores = prune.magnitude_scores(resnet, (3, 32, 32))
    ex = widgets.pruning_explorer(resnet, scores, (3, 32, 32), fraction=0.3)
    ex.figure.canvas.draw()
    ticks = [t.get_text() for ax in ex.figure.axes for t in ax.get_xticklabels()]
    assert "stage 1 residual stream" in ticks and [t for t in ticks + [ex.text.value] if code_names(t)] == []


# ----------------------------------------------------------------------------- verdicts on small tables
def _sweep_rows() -> pd.DataFrame:
    """Sweep rows of three real families (two seeds each), with the shared rule's columns."""
    rows = []
    for k, fam in enumerate(("none", "group_lasso_filter", "ssl")):
        for seed in (0, 1):
            reg = families.family(fam).regularizer or {}
            rows.append({"family": fam, "label": families.family(fam).label, "lam_mult": 1.0, "seed": seed,
                         "rule": families.family(fam).rule, "status": "trained",
                         "lam": ", ".join(f"{k_} = {v:.2g}" for k_, v in reg.items() if k_.startswith("lam")) or "—",
                         "widths": f"{10 + k}-{20 + seed}", "linear_units": "500", "filters_left": 30 + k + seed,
                         "params": 100000 + k, "macs": 500000, "error_finetuned": 0.009 + 0.0002 * k, "val_error": 0.01,
                         "error_dense": 0.008, "error_pruned": 0.0085, "params_dense": 431080, "macs_dense": 2293000,
                         "widths_dense": "20-50", "test_images": 10000, "val_images": 5000, "val_error_dense": 0.011,
                         "task_s": 1.5, "wait_s": 0.01})
    df = pd.DataFrame(rows)
    for c in ("widths_dense", "widths", "linear_units", "params_dense", "params", "macs_dense", "macs", "error_dense",
              "error_pruned", "error_finetuned", "val_error", "filters_left"):
        df[c + fronts.SHARED] = df[c]
    df["val_error_unpruned_shared"], df["val_error_pruned_shared"] = df["val_error"], df["val_error"]
    diverged = dict(rows[-1], seed=2, status="diverged", error="NonFiniteLoss: run abc (regularizer {'key': 'ssl'})")
    return pd.concat([df, pd.DataFrame([diverged])], ignore_index=True)


def test_07_tables_and_verdicts_from_a_small_sweep():
    rows = _sweep_rows()
    pts = fronts.points(rows)
    bounds = fronts.validation_bounds(pts)
    own, shared = fronts.table(pts), fronts.table(fronts.under_shared(pts), bounds)
    texts = [fronts.divergence_text(rows), fronts.verdict(shared, pts, bounds),
             fronts.rules_verdict(fronts.rules_compared(own, shared), family="ssl")]
    tables = [report.markdown_table(report.split(rows, fronts.RUNS_COLUMNS)[0]),
              report.markdown_table(report.split(pts, fronts.POINTS_COLUMNS)[0]),
              report.markdown_table(report.split(own.drop(columns="family"))[0])]
    assert [t for t in texts + tables if code_names(t)] == []
    assert "λ (filters) = 0.017" in tables[0] and "‖F‖ ≤ tol or inputs ≤ tol" in tables[0]


def test_03_verdicts_name_variants():
    rows = [("none", "none", "-", 0.98, 70)] + [(f"{k}/{g}", k, g, 0.97, n) for k, g, n in (
        ("hsr_gl", "input", 30), ("hsq_gl", "input", 70), ("hsr_gl", "output", 40), ("hsq_gl", "output", 60))]
    df = pd.DataFrame(rows, columns=["variant", "key", "grouping", "test_acc", "channels_left"]).assign(
        channels=70, zero_kernels=0.5, left_conv1=10, params_left=0.5, macs_left=0.4)
    df["left_conv2"] = df["channels_left"] - 10
    df.attrs.update(tol=1e-2, widths_dense=[20, 50])
    strength = pd.DataFrame([{"variant": v, "inner": v.split("/")[0].split("_", 1)[1], "grouping": v.split("/")[1],
                              "outer": outer_functions.OUTER[v[:3]], "lam_mult": m, "lam": m, "status": s,
                              "test_acc": a, "channels_left": c, "channels_left_rel": c, "zero_kernels": 0.5}
                             for v, m, s, a, c in (("hsr_gl/input", 1.0, "trained", 0.975, 40),
                                                   ("hsr_gl/input", 2.0, "diverged", np.nan, np.nan),
                                                   ("hsq_gl/input", 1.0, "trained", 0.972, 30),
                                                   ("hsq_gl/input", 4.0, "trained", 0.95, 35))])
    strength.attrs.update(baseline_acc=0.98, tol=1e-2)
    texts = [hgsr_variants.verdict(df, 0.015), outer_functions.verdict(strength, outer_functions.both_counts(strength, 0.015)),
             hgsr_variants.reference_mix_note(1e-3, 0.5, families.family("hgsr_ref").regularizer),
             report.markdown_table(report.split(df)[0]), report.markdown_table(report.split(strength)[0])]
    assert [t for t in texts if code_names(t)] == []


def test_04_verdicts_and_tables_name_families_and_penalties():
    terms = pd.DataFrame({"R": list(R_CHOICES), "t": 1e-3, "v_sparsity": [0.02, 0.7, 0.04, 0.02],
                          "v_zero_filters": [0, 3, 0, 1]})
    toys = {R: pd.DataFrame({"epoch": [1, 2], "beta": [1.0, 2.0], "gap": [1.0, 0.1], "v_zero_filters": [0, 4]})
            for R in R_CHOICES}
    lab = {n: families.family(n).label for n in families.FAMILIES}
    zeros = pd.DataFrame({"model": [lab["prox_l1"], lab["l1"], lab["prox_group_lasso"], lab["group_lasso_filter"],
                                    f"{lab['nonconvex_l1']} (W)", f"{lab['nonconvex_l1']} (V)"],
                          "exact": [0.9, 0.0, 0.3, 0.0, 0.0, 0.9], "|w|<=1e-05": 0.5, "|w|<=0.01": 0.9, "filters": 70,
                          "exact_zero_filters": [10, 0, 30, 0, 0, 20], "filters_le_0.01": 40})
    model = sparse_lenet()
    layers = splitting.w_vs_v_table({lab["nonconvex_l1"]: model}, tol=1e-2)
    fc = pd.DataFrame([{"family": n, "label": lab[n], "params_removed": 0.5, "fc1_units": 500, "widths": "4-17",
                        "error_finetuned": 0.01, "nonzero_params": 1000, "weights": 431080,
                        "rule": vocabulary.rule_name(families.family(n).rule)} for p in fc_layers.PAIRS.items() for n in p])
    texts = [splitting.one_layer_verdict(terms, 8e-4, 1.0), splitting.toy_verdict(toys, 50),
             splitting.zeros_verdict(zeros, 1e-2), splitting.w_vs_v_verdict(layers, 1e-2), fc_layers.verdict(fc),
             report.markdown_table(terms), report.markdown_table(zeros), report.markdown_table(layers),
             report.markdown_table(fc.drop(columns="family")),
             report.markdown_table(families.spec_table(list(families.FAMILIES)))]
    assert "Proximal L1 leaves 90.0%" in texts[2] and "conv2" in texts[7]
    assert [t for t in texts if code_names(t)] == []


def test_06_and_08_verdicts_and_tables_name_protocols_and_layers():
    p = {q.name: q for q in filter_pruning.PROTOCOLS}
    curves = pd.DataFrame([{"protocol": q.name, "label": q.label, "fraction": 0.5, "params_removed": 0.6,
                            "test_acc": 0.5 + 0.01 * k, "narrowest_layer": "stage 1 residual stream", "ablation": q.ablation}
                           for k, q in enumerate(filter_pruning.PROTOCOLS)])
    ft = curves.assign(val_acc=curves["test_acc"], macs_removed=0.6)
    winner = p["bn_gamma · internal"]
    best = {"name": filter_pruning.model_key(winner, 0.65), "label": winner.label, "fraction": 0.65,
            "params_removed": 0.63, "macs_removed": 0.64, "acc": 0.79, "acc_std": 0.001, "acc_dense": 0.93,
            "acc_dense_std": 0.002, "acc_change_points": -14.0, "acc_change_se_points": 0.2, "seeds": 2,
            "test_images": 10000, "binomial_se_points": 0.4, "source": "committed", "plan_differences": 0,
            "finetune_epochs": 15, "meets_target": False}
    agreement = filter_pruning.score_agreement({c: prune.magnitude_scores(sparse_lenet(), SHAPE).assign(
        score=lambda t, k=k: t["score"] + k) for k, c in enumerate(("loss", "magnitude", "bn_gamma"))})
    lenet = pd.DataFrame({"network": "LeNet-5", "label": ["dense reference", lab_l1 := families.family("l1").label],
                          "widths": ["20-50", "2-14"], "mac_ratio": [1.0, 12.0], "speedup_b1": [1.0, 2.3]})
    resnet = pd.DataFrame({"model": ["dense", best["name"]], "mac_ratio": [1.0, 2.9], "speedup_b1": [1.0, 1.7]})
    latency = speed.latency_summary(lenet, resnet)
    latency["efficiency_b1"] = latency["speedup_b1"] / latency["mac_ratio"]
    texts = [filter_pruning.curves_verdict(curves), filter_pruning.finetune_verdict(ft, winner, 5000),
             filter_pruning.verdict(best, "default"), speed.verdict(latency, batches=(1,)),
             pruning_starts.describe("default", filter_pruning.budget("default")),
             report.markdown_table(report.split(curves)[0]), report.markdown_table(report.split(ft)[0]),
             report.markdown_table(filter_pruning.headline_table(best, "default")),
             report.markdown_table(agreement), report.markdown_table(latency)]
    assert lab_l1 in texts[-1] and "BN \\|γ\\|, internal, 65% of the candidates" in texts[-1]
    assert [t for t in texts if code_names(t)] == []
