"""Every exercise answers, and every exercise's code runs as written (the convention: hgsr.suite.exercises).

Static, on every notebook: each fenced Python block of an exercise compiles and reads only names that the
notebook's code cells or the block itself bind (a block that uses ``prune`` must import it); no exercise shows a
call as inline code (runnable code goes in a fenced block, where it is tested); a solution that leaves the answer
to this run's results is followed by a code cell that computes it; the answer functions are checked on small tables.

Executed (marked ``notebooks``): each notebook runs once in the smoke profile with its exercise blocks appended
(the session fixture ``smoke_run`` of tests/conftest.py, which tests/test_notebooks.py's smoke run shares).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from hgsr.errors import InvalidArgument
from hgsr.study import dead_channels, l1_over_l2, outer_functions, speed
from hgsr.suite import exercises

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]

# exercises whose answer depends on this run's results: each has an exercise-answer cell (issue 29)
RESULT_DEPENDENT = {("02", 1), ("03", 2), ("05", 4), ("05", 5), ("08", 1), ("08", 2)}
# wording that hands the answer to the reader's results ("your table says …", "what the runs show")
DEFERS = re.compile(r"\byour\b[^.]{0,60}\b(says|shows?)\b|\bwhat (?:the|your)\b[^.]{0,40}\bshows?\b|\bshow whether\b",
                    re.I)
RUN_BELOW = "Run the cell below"


def _notebook(tmp_path: Path, cells) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = cells
    path = tmp_path / "99_example.ipynb"
    nbformat.write(nb, path)
    return path


def _example(tmp_path: Path) -> Path:
    answer = nbformat.v4.new_code_cell("display(Markdown(exercises.answer(mod.x_answer(t))))")
    answer.metadata["tags"] = [exercises.ANSWER_TAG]
    return _notebook(tmp_path, [
        nbformat.v4.new_code_cell("import numpy as np\nt = np.arange(3)"),
        nbformat.v4.new_markdown_cell(
            "## Exercises\n\n**Exercise 1.** Sum it.\n\n<details><summary>Hint</summary>\n\n```python\ntotal = t.sum()\n"
            "print(total)\n```\n\n</details>\n<details><summary>Solution</summary>\n\nRun the cell below.\n\n</details>"),
        answer,
        nbformat.v4.new_markdown_cell(
            "**Exercise 2.** Call `np.mean(t)` inline.\n\n<details><summary>Hint</summary>h</details>\n"
            "<details><summary>Solution</summary>Your table says how much.</details>\n\n## Check your understanding\n\n"
            "```python\nnot_an_exercise()\n```"),
        nbformat.v4.new_markdown_cell("<!-- nav -->\nbar\n<!-- /nav -->")])


# ----------------------------------------------------------------------------- the checks can fail
def test_the_parser_finds_blocks_answer_cells_and_inline_calls(tmp_path):
    ex = exercises.exercises(_example(tmp_path))
    assert [e.number for e in ex] == [1, 2]
    assert ex[0].snippets == ["total = t.sum()\nprint(total)\n"] and ex[1].snippets == []
    assert len(ex[0].answer_cells) == 1 and not ex[1].answer_cells
    assert ex[0].inline_calls() == [] and ex[1].inline_calls() == ["np.mean(t)"]
    assert RUN_BELOW in ex[0].solution and DEFERS.search(ex[1].solution)


def test_the_name_check_can_fail(tmp_path):
    available = exercises.notebook_names(_example(tmp_path))
    assert {"np", "t", "display"} <= available
    assert exercises.unbound_names("prune.widths(model)", {"model"}) == {"prune"}
    assert not exercises.unbound_names("from hgsr import prune\nprune.widths(model)", {"model"})
    assert not exercises.unbound_names("[x * k for x in range(3)]\nfor k in (1, 2):\n    print(k)", {"k"})
    assert exercises.unbound_names("f = lambda a: a + b", set()) == {"b"}


def test_with_exercises_appends_each_block_before_the_closing_bar(tmp_path):
    out = exercises.with_exercises(_example(tmp_path), tmp_path / "out")
    cells = nbformat.read(out, as_version=4).cells
    assert cells[-1].source.startswith("<!-- nav -->")
    added = cells[-2]
    assert added.metadata["tags"] == [exercises.SNIPPET_TAG]
    assert added.source.startswith("# 99_example, exercise 1, code block 1\n") and "total = t.sum()" in added.source
    with pytest.raises(InvalidArgument, match="nb_path"):
        exercises.with_exercises(tmp_path / "missing.ipynb", tmp_path)


def test_answer_is_a_collapsed_block():
    text = exercises.answer("It is 3.")
    assert text.startswith("<details><summary>") and "\n\nIt is 3.\n\n" in text and text.endswith("</details>")


# ----------------------------------------------------------------------------- every notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_code_block_compiles_and_uses_only_names_it_can_see(path):
    available = exercises.notebook_names(path)
    for ex in exercises.exercises(path):
        for k, block in enumerate(ex.snippets, 1):
            compile(block, f"{path.stem} exercise {ex.number} block {k}", "exec")
            missing = exercises.unbound_names(block, available)
            assert not missing, (f"{path.name}, exercise {ex.number}, code block {k} uses {sorted(missing)}, which "
                                 "neither the notebook nor the block defines: import or define them in the block")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_exercise_shows_a_call_as_inline_code(path):
    bad = {ex.number: ex.inline_calls() for ex in exercises.exercises(path) if ex.inline_calls()}
    assert not bad, f"{path.name}: calls as inline code (put runnable code in a fenced python block): {bad}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_solutions_that_depend_on_results_compute_them(path):
    for ex in exercises.exercises(path):
        computed, solution = bool(ex.answer_cells), " ".join(ex.solution.split())
        if DEFERS.search(solution) or RUN_BELOW.lower() in solution.lower():
            assert computed, (f"{path.name}, exercise {ex.number}: the solution leaves the answer to the results; add "
                              f"the code cell tagged {exercises.ANSWER_TAG!r} that computes it")
        if computed:
            assert RUN_BELOW.lower() in solution.lower(), (f"{path.name}, exercise {ex.number}: its solution does not "
                                                              f"say to run the answer cell ('{RUN_BELOW}')")
            for src in ex.answer_cells:
                assert "exercises.answer(" in src and re.search(r"\b\w+\.\w+_answer\(", src), src
        if (path.stem[:2], ex.number) in RESULT_DEPENDENT:
            assert computed, f"{path.name}, exercise {ex.number} depends on this run's results: compute its answer"


def test_answer_cells_call_functions_that_exist():
    import importlib

    calls = set()
    for path in NOTEBOOKS:
        for ex in exercises.exercises(path):
            for src in ex.answer_cells:
                calls |= set(re.findall(r"\b(\w+)\.(\w+_answer)\(", src))
    assert calls, "no exercise-answer cell calls a study answer function"
    for module, name in calls:
        mod = importlib.import_module(f"hgsr.study.{module}")
        assert callable(getattr(mod, name, None)), f"hgsr.study.{module}.{name} does not exist"


# ----------------------------------------------------------------------------- the answer functions
def test_tolerance_stability_answer_names_the_stable_count():
    from conftest import sparse_lenet

    counts = dead_channels.zero_filters_by_tolerance({"A": sparse_lenet()}, (1e-4, 1e-1))
    assert list(counts.columns) == ["model", "filters", "0.0001", "0.1"]
    assert counts.loc[0, "0.0001"] == 15 and counts.loc[0, "filters"] == 70   # 5 + 10 filters exactly zero
    table = pd.DataFrame({"model": ["L1", "group lasso"], "filters": [70, 70], "0.0001": [2, 10], "0.1": [30, 12]})
    text = dead_channels.tolerance_stability_answer(table)
    assert "The stable count is **group lasso**'s" in text and "28 filter norms" in text and "2 filter norms" in text
    same = table.assign(**{"0.1": [12, 20]})
    assert "neither is more stable" in dead_channels.tolerance_stability_answer(same)
    with pytest.raises(InvalidArgument, match="tols"):
        dead_channels.zero_filters_by_tolerance({"A": sparse_lenet()}, (1e-2,))


def _grid():
    return pd.DataFrame({"variant": ["none", "a/output", "b/input"], "test_acc": [0.98, 0.975, 0.97],
                         "channels_left": [70, 40, 30]})


def test_lambda_factor_answer_checks_whether_the_ranking_survives():
    strength = pd.DataFrame({"variant": ["a/output", "a/output"], "lam_mult": [0.5, 2.0],
                             "status": ["trained", "trained"], "test_acc": [0.979, 0.972], "channels_left": [60, 20]})
    text = outer_functions.lambda_factor_answer(strength, _grid(), 0.015, variant="a/output")
    assert "at λ × 0.5 97.90% and 60" in text and "at λ × 2 97.20% and 20" in text
    assert "λ × 0.5, the fewest channels within 1.5% of the baseline are left by **b/input** as on the grid" in text
    assert "λ × 2, the fewest channels within 1.5% of the baseline are left by **a/output** (on the grid: **b/input**)" in text
    diverged = strength.assign(status=["trained", "diverged"])
    assert "At λ × 2 the training of a/output diverged." in outer_functions.lambda_factor_answer(
        diverged, _grid(), 0.015, variant="a/output")
    with pytest.raises(InvalidArgument, match="summary"):
        outer_functions.lambda_factor_answer(strength, _grid()[1:], 0.015, variant="a/output")


def _summary05():
    return pd.DataFrame({"family": ["L1/L2", "L1/L2", "L1", "L1"],
                         "rule": ["relative ρ = 0.1", "absolute tol = 0.01", "relative ρ = 0.3", "absolute tol = 0.01"],
                         "widths": [(3, 9), (5, 17), (2, 8), (2, 9)], "acc_dense": [0.98, 0.98, 0.985, 0.985],
                         "acc_finetuned": [0.99, 0.991, 0.99, 0.989]})


def test_next_rho_answer_says_whether_the_rule_was_too_cautious():
    assert l1_over_l2.next_rho((0.05, 0.1, 0.2), 0.1) == 0.2 and l1_over_l2.next_rho((0.05, 0.1), 0.1) is None
    s = _summary05()
    yes = l1_over_l2.next_rho_answer(s, "L1/L2", 0.1, 0.2, {"widths": (2, 7), "acc_finetuned": 0.975}, 0.01)
    assert "**Yes, too cautious**" in yes and "3-9" in yes and "2-7" in yes
    no = l1_over_l2.next_rho_answer(s, "L1/L2", 0.1, 0.2, {"widths": (2, 7), "acc_finetuned": 0.96}, 0.01)
    assert "**No**" in no
    same = l1_over_l2.next_rho_answer(s, "L1/L2", 0.1, 0.2, {"widths": (3, 9), "acc_finetuned": 0.99}, 0.01)
    assert "removes no more filters" in same
    assert "largest value of the grid" in l1_over_l2.next_rho_answer(s, "L1/L2", 0.1, None, None, 0.01)


def test_rule_agreement_answer_counts_the_filters_between_the_rules():
    text = l1_over_l2.rule_agreement_answer(_summary05(), ["L1", "L1/L2"])
    assert "L1: 2-8 under the relative rule" in text and "1 filters apart" in text and "10 filters apart" in text
    assert text.endswith("the two rules agree better for **L1**.")
    with pytest.raises(InvalidArgument, match="no 'relative' row"):
        l1_over_l2.rule_agreement_answer(_summary05(), ["L0"])


def _latency(eff1, eff64, batches=(1, 64)):
    t = pd.DataFrame({"label": ["dense", "a", "b"], "mac_ratio": [1.0, 4.0, 8.0]})
    for b, e in zip(batches, (eff1, eff64)):
        t[f"efficiency_b{b}"] = [1.0, *e]
    return t


def test_threads_and_batch_answers_follow_the_efficiencies():
    one, two = _latency((0.5, 0.6), (0.7, 0.8)), _latency((0.3, 0.4), (0.5, 0.6))
    down = speed.threads_answer(one, two, (1, 64), 1, 2)
    assert "batch 1: 0.55 with 1 thread(s), 0.35 with 2" in down and "went **down**" in down
    assert "went **up**" in speed.threads_answer(two, one, (1, 64), 1, 2)
    assert "different directions" in speed.threads_answer(one, _latency((0.3, 0.4), (0.8, 0.9)), (1, 64), 1, 2)
    big = pd.DataFrame({"label": ["dense", "a", "b"], "mac_ratio": [1.0, 4.0, 8.0], "efficiency_b256": [1.0, 0.74, 0.82]})
    assert "**settled**" in speed.batch_answer(one, big, (1, 64), 256)
    rising = big.assign(efficiency_b256=[1.0, 0.95, 1.05])
    assert "**not settled**" in speed.batch_answer(one, rising, (1, 64), 256)
    with pytest.raises(InvalidArgument, match="efficiency_b256"):
        speed.batch_answer(one, one, (1, 64), 256)


# ----------------------------------------------------------------------------- executed
@pytest.mark.notebooks
@pytest.mark.parametrize("nb", NOTEBOOKS, ids=IDS)
def test_exercise_code_runs_in_the_smoke_profile(nb, smoke_run):
    executed, _ = smoke_run(nb)        # raises, naming the notebook and the exercise, if a block failed
    cells = json.loads(Path(executed).read_text())["cells"]
    ran = [c for c in cells if exercises.SNIPPET_TAG in c.get("metadata", {}).get("tags", [])]
    expected = sum(len(ex.snippets) for ex in exercises.exercises(nb))
    assert len(ran) == expected and all(c.get("execution_count") for c in ran)
    answers = [c for c in cells if exercises.ANSWER_TAG in c.get("metadata", {}).get("tags", [])]
    for c in answers:
        shown = "".join("".join(o.get("data", {}).get("text/markdown", "")) for o in c.get("outputs", []))
        assert "<details><summary>" in shown, f"{nb.name}: an answer cell showed no answer"


# ----------------------------------------------------------------------------- what the exercises' code relies on
def test_family_config_takes_another_regularizer_or_model():
    """Exercises 02.4, 04.3 and 05.2 train a registry family with another spec."""
    from hgsr.study import families

    spec = {"key": "group_lasso", "lam": 1.0, "group": "filter"}
    assert families.family_config("group_lasso_filter", "smoke", regularizer=spec).regularizer == spec
    assert families.family_config("slimming", "smoke").model_kw == {"batchnorm": True}
    assert families.family_config("slimming", "smoke", model_kw={}).model_kw == {}
    assert families.family_config("l1", "smoke") == families.family_config("l1", "smoke", regularizer=families.family("l1").regularizer)


def test_zero_filter_table_counts_at_the_one_group_tolerance(zero_filter_run):
    """Notebook 04 counts zero filters at measure.TOL everywhere (its training table once used the weight tolerance)."""
    from hgsr import measure
    from hgsr.study import families

    table = families.zero_filter_table({"l1": zero_filter_run((5, 20))})
    assert table.loc[0, f"zero filters (norm ≤ {measure.TOL:g})"] == 25 and table.loc[0, "filters"] == 70
    assert f"zero filters (norm ≤ {1e-5:g})" in families.zero_filter_table({"l1": zero_filter_run((5, 20))}, 1e-5).columns


def test_channel_term_answer_reads_the_conv1_column():
    left = pd.DataFrame({"conv1": [5, 9, 9], "conv2": [10, 12, 12]}, index=["SSL", "GL", "GL2"])
    assert "removed **4 more** conv1 filters" in dead_channels.channel_term_answer(left, "SSL", "GL")
    assert "**no more**" in dead_channels.channel_term_answer(left, "GL", "GL2")
    assert "leaves **4 more**" in dead_channels.channel_term_answer(left, "GL", "SSL")
    with pytest.raises(InvalidArgument, match="rows"):
        dead_channels.channel_term_answer(left, "SSL", "L1")
