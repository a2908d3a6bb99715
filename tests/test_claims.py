"""Prose that never contradicts the results: no notebook types a result number into its Markdown, and no
notebook builds a verdict sentence inline (hgsr.suite.claims states the rule). Results are shown with
display(Markdown(<study module>.verdict(table))), computed from the tables every run regenerates."""
from __future__ import annotations

from pathlib import Path

import pytest

from hgsr.suite import claims

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

def kinds(md: str) -> list[str]:
    return [c.kind for c in claims.find_claims(md)]


# ----------------------------------------------------------------------------- the rule, on synthetic cells
@pytest.mark.parametrize("text,kind", [
    ("L1 removes 47 % of the filters", "percentage"),
    ("the accuracy is $97.4\\%$ after fine-tuning", "percentage"),
    ("the compact network runs 2.3× faster", "speed-up"),
    ("it runs 3x faster at batch 64", "speed-up"),
    ("five times as fast: 5 times faster", "speed-up"),
    ("pruning costs 0.3 points of accuracy", "points"),
    ("a 0.3-point drop", "points"),
    ("at an error of 0.92 after fine-tuning", "accuracy"),
    ("SSL reaches 20-50 → 3-12", "widths"),
    ("L1 leaves 13 filters", "count"),
    ("group lasso keeps 2-13 filters in the end", "count"),
    ("the penalty kills 27 of 70 channels", "count"),
])
def test_typed_results_are_flagged(text, kind):
    assert kind in kinds(text), f"{text!r} should be flagged as {kind}, got {kinds(text)}"


@pytest.mark.parametrize("text", [
    "$\\lambda = 10^{-3}$, and $\\beta\\times1.25$ every $P$ epochs",
    "conv1 has 20 filters and conv2 has 50 filters",
    "LeNet-5 (20-50-500) on a $28\\times28$ input, 28×28 pixels",
    "batch 64, 8 epochs, tol = 1e-2, λ = 0.1",
    "`removes 47 % of the filters` in a code span",
    "```\nL1 removes 47 % of the filters\n```",
    "out of the 20 + 50 conv channels, those that stay at tolerance `TOL`",
    "notebooks 02–05 and section 6 gives filters left",
    "<!-- a comment: removes 47 % -->",
    "[notebook 03](03_hierarchical_group_sparsity.ipynb)",
])
def test_architecture_facts_hyperparameters_math_and_code_are_not(text):
    assert not kinds(text), f"{text!r} flagged: {claims.find_claims(text)}"


def test_derivations_and_published_quotes_are_exempt_but_nothing_else():
    derivation = ("<details><summary>Solution (derivation)</summary>\n\nconv2 costs 1,600,000 MACs, so removing "
                  "half its filters removes 50 % of them.\n\n</details>")
    assert not kinds(derivation)
    solution = derivation.replace("Solution (derivation)", "Solution")
    assert "percentage" in kinds(solution)
    quote = ("> **Published** ([docs/methods.md §7](../docs/methods.md#7-published-numbers-and-their-sources)): "
             "SSL keeps 3-12 filters at 1.0 % error.")
    assert not kinds(quote)
    assert "percentage" in kinds(quote.replace("(../docs/methods.md#7-published-numbers-and-their-sources)", "(x.md)"))
    assert "percentage" in kinds("> **Ours**: 1.0 % error")


def test_inline_verdicts_are_flagged_and_study_verdicts_are_not():
    long_fstring = ('display(Markdown(\n    f"L1 keeps {a} filters "\n    f"at {b} error, "\n'
                    '    f"removing {c} of the MACs"\n    f" and more"))')
    assert [c.kind for c in claims.inline_verdicts(long_fstring)] == ["inline verdict"]
    assert claims.inline_verdicts('display(Markdown(f"error {e:.2%}"))')
    assert claims.inline_verdicts('lines = []\nlines.append(f"x {a}")\ndisplay(Markdown("\\n".join(lines)))')
    assert claims.inline_verdicts('text = f"a {x}"\ntext += f"b {y}"\ntext += f"c {z}"\ntext += f"d {w}"\n'
                                  'display(Markdown(text))')
    assert not claims.inline_verdicts("display(Markdown(hgsr_grid.verdict(summary, MAX_DROP)))")
    assert not claims.inline_verdicts("v = speed.verdict(table)\ndisplay(Markdown(v))")
    assert not claims.inline_verdicts('display(Markdown(f"Thresholds at λ = t = {LAM:g}."))')


def test_claims_report_where_they_are(tmp_path):
    import json

    nb = {"cells": [{"cell_type": "markdown", "source": ["# t\n"]},
                    {"cell_type": "markdown", "source": ["L1 removes 47 % of the filters."]}]}
    p = tmp_path / "99_x.ipynb"
    p.write_text(json.dumps(nb))
    (c,) = claims.notebook_claims(p)
    assert (c.notebook, c.cell, c.kind, c.text) == ("99_x", 1, "percentage", "47 %")
    assert "99_x cell 1: percentage '47 %'" in str(c)


# ----------------------------------------------------------------------------- every notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_types_no_result(path):
    found = claims.notebook_claims(path)
    assert not found, "typed results or inline verdicts (use a study verdict function):\n" + "\n".join(map(str, found))
