"""Profiles: the core keeps the knobs it reads and the shared ones, each study its own (``BUDGETS``); one
merged table (:mod:`hgsr.suite.profiles`) gives the README's profile block, with the former values."""
from __future__ import annotations

from pathlib import Path

import pytest

from hgsr import experiments
from hgsr.errors import InvalidArgument
from hgsr.study import filter_pruning, hgsr_variants
from hgsr.suite import profiles, readme

ROOT = Path(__file__).resolve().parents[1]

# hgsr.experiments.PROFILES before the study knobs moved out (commit c91b4ba), written out, with notebook 06's
# knobs as they are since 06 reads the committed starts (issue 27: no fp_* training runs; BatchNorm recalibration;
# the short fine-tunes at lr 0.01 on the 5,000 held-out images) and notebook 07's budget stage (issue 28): cached
# results are keyed by these values
FORMER = {
    "smoke": {"mnist_train": 1024, "mnist_test": 512, "cifar_train": 512, "cifar_test": 256,
              "lenet_epochs": 1, "lenet_finetune_epochs": 1, "resnet_epochs": 1, "finetune_epochs": 1,
              "score_samples": 16, "variant_train": 1024, "prune_fractions": (0.5,),
              "train_images": 512, "calibration_images": 256, "finetune_train": 256,
              "val_images": 256, "mnist_val": 256, "fp_seeds": 2, "finetune_lr": 0.002,
              "latency": {"repeats": 3, "warmup": 1, "rounds": 3}, "lenet_budget_epochs": (2,), "lenet_budget_artifact": False},
    "default": {"mnist_train": None, "mnist_test": None, "cifar_train": 8000, "cifar_test": None,
                "lenet_epochs": 3, "lenet_finetune_epochs": 4, "resnet_epochs": 8, "finetune_epochs": 2,
                "score_samples": 1024, "variant_train": 10000, "prune_fractions": (0.3, 0.5, 0.65),
                "train_images": None, "calibration_images": 2000, "finetune_train": 10000,
                "val_images": 5000, "mnist_val": 5000, "fp_seeds": 3, "finetune_lr": 0.01,
                "latency": {"repeats": 30, "warmup": 5, "rounds": 3}, "lenet_budget_epochs": (10, 20), "lenet_budget_artifact": True},
    "paper": {"mnist_train": None, "mnist_test": None, "cifar_train": None, "cifar_test": None,
              "lenet_epochs": 200, "lenet_finetune_epochs": 40, "resnet_epochs": 100, "finetune_epochs": 40,
              "score_samples": 1024, "variant_train": None,
              "prune_fractions": (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8),
              "train_images": None, "calibration_images": 2000, "finetune_train": 45000,
              "val_images": 5000, "mnist_val": 5000, "fp_seeds": 3, "finetune_lr": 0.001,
              "latency": {"repeats": 30, "warmup": 5, "rounds": 3}, "lenet_budget_epochs": (), "lenet_budget_artifact": False},
}


def test_the_merged_tables_hold_exactly_these_values():
    merged = profiles.merged()
    assert merged == FORMER
    for p in FORMER:   # same types too (a 1 that became 1.0 would change a config hash)
        assert {k: type(v) for k, v in merged[p].items()} == {k: type(v) for k, v in FORMER[p].items()}


def test_each_knob_lives_in_one_table_and_study_knobs_left_the_core():
    by = profiles.owners()
    assert by["calibration_images"] == by["score_samples"] == "hgsr.study.filter_pruning.BUDGETS"
    assert by["variant_train"] == "hgsr.study.hgsr_variants.BUDGETS"
    assert by["lenet_epochs"] == by["lenet_finetune_epochs"] == profiles.CORE_TABLE
    assert set(experiments.PROFILES["default"]) == {"mnist_train", "mnist_test", "cifar_train", "cifar_test",
                                                    "lenet_epochs", "lenet_finetune_epochs", "resnet_epochs",
                                                    "mnist_val", "latency"}
    assert hgsr_variants.budget("paper") == {"variant_train": None}
    with pytest.raises(InvalidArgument, match="unknown profile 'huge'; known: smoke, default, paper"):
        hgsr_variants.budget("huge")
    with pytest.raises(InvalidArgument, match="unknown profile"):
        filter_pruning.budget("huge")


def test_a_knob_defined_twice_or_a_missing_profile_is_named(monkeypatch):
    monkeypatch.setitem(hgsr_variants.BUDGETS["smoke"], "score_samples", 1.0)
    with pytest.raises(InvalidArgument, match="lacks"):
        profiles.owners()
    for p in hgsr_variants.BUDGETS:
        monkeypatch.setitem(hgsr_variants.BUDGETS[p], "score_samples", 1.0)
    with pytest.raises(InvalidArgument, match="'score_samples' is defined by both"):
        profiles.owners()
    monkeypatch.setattr(hgsr_variants, "BUDGETS", {"smoke": {"variant_train": 1}})
    with pytest.raises(InvalidArgument, match="every budget table needs exactly"):
        profiles.owners()


def test_the_readme_profile_block_is_the_generated_table(tmp_path):
    out = readme.fill("a\n<!-- profiles -->\nSTALE\n<!-- /profiles -->\nb\n", tmp_path)
    assert "STALE" not in out and profiles.markdown() in out
    assert "| `calibration_images` | `hgsr.study.filter_pruning.BUDGETS` | 256 | 2,000 | 2,000 |" in profiles.markdown()
    text = (ROOT / "README.md").read_text()
    assert "<!-- profiles -->\n" + profiles.markdown() + "<!-- /profiles -->" in text, \
        "README's profile block is stale: run python -m hgsr.suite.readme"
