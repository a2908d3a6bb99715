"""Notebook 07's budget stage (hgsr.study.budget) on hand-made sweep rows: which families go on, which point
each budget chooses, and what the verdict says."""
import numpy as np
import pandas as pd
import pytest

from hgsr.errors import InvalidArgument
from hgsr.study import budget, fronts
from hgsr.study.families import FAMILIES


def _row(fam, mult, seed, filters, val, test, epochs=3):
    """A sweep row whose own-rule and shared-rule figures are equal (the verdicts read the shared ones)."""
    base = {"filters_left": filters, "params": 1000 * filters, "macs": 5000 * filters, "error_finetuned": test,
            "val_error": val, "error_dense": 0.008, "params_dense": 431080, "macs_dense": 2293000,
            "widths": f"{filters // 2}-{filters - filters // 2}", "linear_units": "500", "widths_dense": "20-50",
            "error_pruned": test}
    row = {"family": fam, "label": FAMILIES[fam].label, "lam_mult": mult, "seed": seed, "rule": "zeros",
           "lam": f"lam = {mult:g}", "test_images": 10000, "val_images": 5000, "epochs": epochs, **base,
           **{k + "_shared": v for k, v in base.items()}, "val_error_unpruned_shared": val,
           "val_error_pruned_shared": val}
    return row


def _survey():
    # baseline at 0.90 % on validation and test: the bounds equal the test thresholds (1.00 %)
    return pd.DataFrame([_row("none", 1.0, 0, 70, 0.0090, 0.0090),
                         _row("nonconvex_l1_l2", 1.0, 0, 20, 0.0095, 0.0095), _row("nonconvex_l1_l2", 2.83, 0, 9, 0.0120, 0.0120),
                         _row("group_lasso_filter_sw", 1.0, 0, 24, 0.0098, 0.0097),
                         _row("prox_sgl", 1.0, 0, 26, 0.0099, 0.0098),
                         _row("hgsr_ref", 1.0, 0, 22, 0.0097, 0.0096),
                         _row("hgsr_ref_output", 1.0, 0, 30, 0.0099, 0.0099)])


def _shared_table(rows):
    return fronts.table(fronts.under_shared(fronts.points(rows)), fronts.validation_bounds(rows))


def test_leaders_are_the_two_best_non_hgsr_families_then_the_better_hgsr_grouping():
    assert budget.leaders(_shared_table(_survey())) == ["nonconvex_l1_l2", "group_lasso_filter_sw", "hgsr_ref"]


def test_leaders_keep_an_hgsr_grouping_even_when_none_is_at_the_target():
    s = _survey()
    s.loc[s["family"].str.startswith("hgsr"), ["val_error_shared", "error_finetuned_shared"]] = 0.02
    s.loc[s["family"] == "hgsr_ref_output", ["val_error_shared", "error_finetuned_shared"]] = 0.015
    assert budget.leaders(_shared_table(s))[-1] == "hgsr_ref_output"     # the lower error of the two


def test_leaders_names_missing_columns():
    with pytest.raises(InvalidArgument, match="lacks columns"):
        budget.leaders(pd.DataFrame({"family": ["a"]}))


def test_every_profile_has_budgets_and_an_unknown_one_is_named():
    assert budget.budget("default")["lenet_budget_epochs"] == (10, 20)
    with pytest.raises(InvalidArgument, match="profile"):
        budget.budget("nope")


def _budget_rows():
    rows = [r for r in _survey().to_dict("records") if r["family"] in ("none", "nonconvex_l1_l2", "hgsr_ref")]
    for e, (fl, fh) in {10: (14, 18), 20: (11, 17)}.items():
        rows += [_row("none", 1.0, 0, 70, 0.0085, 0.0085, e)]
        for s, d in enumerate((0, 1, -1)):
            rows += [_row("nonconvex_l1_l2", 1.0, s, fl + d, 0.0092, 0.0093, e),
                     _row("hgsr_ref", 1.0, s, fh + d, 0.0094, 0.0095, e)]
        rows += [_row("nonconvex_l1_l2", 2.83, 0, 6, 0.0130, 0.0125, e)]   # beyond the bound: not chosen
    return pd.DataFrame(rows)


def test_table_chooses_per_budget_on_validation_with_that_budgets_bounds():
    tab = budget.table(_budget_rows())
    assert sorted(tab["epochs"].unique()) == [3, 10, 20] and "none" not in set(tab["family"])
    at20 = tab[tab["epochs"] == 20].set_index("family")
    assert at20.loc["nonconvex_l1_l2", "lam_mult"] == 1.0 and at20.loc["nonconvex_l1_l2", "seeds"] == 3
    assert at20.loc["nonconvex_l1_l2", "filters_left_mean"] == pytest.approx(11)
    assert at20.loc["nonconvex_l1_l2", "filters_left_std"] == pytest.approx(1.0)


def test_verdict_states_the_target_the_last_step_and_the_order():
    tab = budget.table(_budget_rows())
    text = budget.verdict(tab)
    assert "At 20 epochs, fewest filters at ≤ 1.00% test error: nonconvex SGL, R = L1-L2**, 11.0 ± 1.0" in text
    assert "which it beats" in text and "(at most 12 filters, mean of at least 3 seeds) is **met**" in text   # 11
    assert "nonconvex SGL, R = L1-L2 -3.0 (beyond the sum of the seed spreads, 2.0)" in text
    assert "keeps the order" in text and "ranks 2 of 2 at the target at 20 epochs" in text
    assert "6.0 filters behind nonconvex SGL, R = L1-L2, beyond the sum of the two seed spreads (2.0)" in text
    # 0.93 % on test: 0.07 % below the target, less than one sampling standard error on 10,000 images (0.10 %)
    assert "is 0.07% below the 1.00% target: less than one sampling standard error" in text and "(0.10%;" in text


def test_verdict_says_when_the_longer_budget_changes_the_order():
    rows = _budget_rows()
    rows.loc[(rows["epochs"] == 20) & (rows["family"] == "hgsr_ref"), ["filters_left_shared"]] = 5
    text = budget.verdict(budget.table(rows))
    assert "changes the order" in text and "ranks 1 of 2 at the target" in text


def test_verdict_says_when_the_target_is_missed_by_a_fraction_of_a_filter():
    rows = _budget_rows()
    rows.loc[(rows["epochs"] == 20) & (rows["family"] == "nonconvex_l1_l2") & (rows["seed"] == 0), "filters_left_shared"] = 12
    text = budget.verdict(budget.table(rows))      # seeds 12, 12, 10: 11.3, met; then 12, 12, 14: 12.7, not met
    assert "**met**" in text
    rows.loc[(rows["epochs"] == 20) & (rows["family"] == "nonconvex_l1_l2") & (rows["seed"] == 2), "filters_left_shared"] = 14
    text = budget.verdict(budget.table(rows))
    assert "12.7" in text and "is **not met**" in text and "which it beats" in text


def test_verdict_names_a_leader_whose_longer_choice_misses_the_test_target():
    rows = _budget_rows()
    rows.loc[(rows["epochs"] == 20) & (rows["family"] == "hgsr_ref"), "error_finetuned_shared"] = 0.0105
    text = budget.verdict(budget.table(rows))
    assert "the validation choice of HGSR reference mix (input grouping) misses the target on the test set" in text
    assert "HGSR reference mix (input grouping) is not at the target at 20 epochs" in text


def test_plot_draws_one_line_per_family_over_the_budgets():
    import matplotlib
    matplotlib.use("Agg")
    fig = budget.plot(budget.table(_budget_rows()))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [FAMILIES["hgsr_ref"].label,
                                                                    FAMILIES["nonconvex_l1_l2"].label] or \
        len(ax.get_legend().get_texts()) == 2
    assert list(ax.get_xticks()) == [3, 10, 20]


def test_the_budget_figure_gives_every_family_its_own_colour():
    import matplotlib
    matplotlib.use("Agg")
    from hgsr.study import palette  # noqa: F401  (registers the family styles)
    names = ["nonconvex_l1_l2", "group_lasso_filter_sw", "prox_sgl", "hsr_gl_output", "hsr_gl_input", "hgsr_ref",
             "hgsr_ref_output", "nonconvex_l1"]
    tab = pd.DataFrame([{"epochs": e, "family": n, "label": FAMILIES[n].label, "filters_left_mean": 10.0 + i,
                         "filters_left_std": 1.0, "reaches_on_val": True, "meets_test": True}
                        for i, n in enumerate(names) for e in (3, 10)])
    ax = budget.plot(tab).axes[0]
    colours = [c.lines[0].get_color() for c in ax.containers if c.get_label() in {FAMILIES[n].label for n in names}]
    assert len(colours) == len(names) and len(set(colours)) == len(names), colours


def test_refinements_add_the_geometric_midpoint_above_each_choice_once():
    rows = pd.DataFrame([_row("none", 1.0, 0, 70, 0.0085, 0.0085, 20),
                         _row("nonconvex_l1_l2", 0.354, 0, 12, 0.0090, 0.0092, 20),
                         _row("nonconvex_l1_l2", 1.0, 0, 8, 0.0130, 0.0126, 20),      # beyond the bound
                         _row("hgsr_ref", 0.125, 0, 13, 0.0091, 0.0090, 20)])          # nothing tried above it
    got = budget.refinements(rows, ["nonconvex_l1_l2", "hgsr_ref"])
    assert got == [("nonconvex_l1_l2", round((0.354 * 1.0) ** 0.5, 4))]
    refined = pd.concat([rows, pd.DataFrame([_row("nonconvex_l1_l2", got[0][1], 0, 10, 0.0125, 0.0120, 20)])])
    assert budget.refinements(refined, ["nonconvex_l1_l2"]) == []    # the choice stays; its gap is already halved


def _committed_stage(tmp_path, monkeypatch, survey):
    """A stage as :func:`budget.make` commits it, started from ``survey``: the survey's rows of the baseline and the
    leaders plus a stage seed at 3 epochs, each leader at its starting λ times STEPS at 10 and 20 epochs."""
    from hgsr.io import file_digest

    monkeypatch.setattr(budget, "ARTIFACT_DIR", tmp_path)
    start = budget.stage_inputs(survey)
    rows = [r for r in survey.to_dict("records") if r["family"] in ("none", *start)]
    rows += [_row("hgsr_ref", 1.0, 1, 21, 0.0097, 0.0096)]                   # the stage's own extra seed
    for e in (10, 20):
        rows += [_row("none", 1.0, 0, 70, 0.0085, 0.0085, e)]
        rows += [_row(f, round(m * s, 4), 0, 18 - i, 0.0092, 0.0093, e)
                 for f, m in start.items() for i, s in enumerate(budget.STEPS)]
    stage = pd.DataFrame(rows)
    path = budget.artifact_path("default")
    stage.to_csv(path, index=False)
    card = {"sha256": file_digest(path), "survey_digest": budget.survey_digest(survey), "made": "then",
            "leaders": list(start), "survey_epochs": 3, "machine": {"cpu_capability": "AVX2", "threads": 2}}
    budget.card_path("default").write_text(__import__("json").dumps(card))
    return stage, path


def test_a_missing_or_other_surveys_or_edited_artifact_names_its_path_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(budget, "ARTIFACT_DIR", tmp_path)
    survey = _survey()
    with pytest.raises(budget.BudgetArtifactError, match="lenet_budget_default.csv is missing.*make lenet-budget"):
        budget.load(survey, "default")
    stage, path = _committed_stage(tmp_path, monkeypatch, survey)
    got = budget.load(survey, "default")
    assert len(got) == len(stage) and list(got.columns) == list(stage.columns)
    assert got.attrs["survey"]["differing"] == 0
    assert "made from this very survey" in budget.survey_note(got)
    other = survey.copy()       # prox_sgl now leaves fewer filters than group lasso: another leader
    other.loc[other["family"] == "prox_sgl", ["filters_left_shared", "filters_left"]] = 10
    with pytest.raises(budget.BudgetArtifactError, match="another survey.*prox_sgl.*make lenet-budget"):
        budget.load(other, "default")
    path.write_text(path.read_text() + "edit\n")
    with pytest.raises(budget.BudgetArtifactError, match="does not match the SHA-256"):
        budget.load(survey, "default")


def test_a_survey_that_differs_by_rounding_keeps_the_stage_and_shows_its_own_rows(tmp_path, monkeypatch):
    survey = _survey()
    stage, _ = _committed_stage(tmp_path, monkeypatch, survey)
    rounded = survey.copy()      # one leader's run ends with a filter more: the same choices, the same stage
    rounded.loc[rounded["family"] == "group_lasso_filter_sw", "filters_left_shared"] += 1
    assert budget.stage_inputs(rounded) == budget.stage_inputs(survey)
    got = budget.load(rounded, "default")
    assert got.attrs["survey"] == {**got.attrs["survey"], "differing": 1, "rows": 5}
    at3 = got[got["epochs"] == 3].set_index(["family", "seed"])
    assert at3.loc[("group_lasso_filter_sw", 0), "filters_left_shared"] == 25          # this run's row
    assert ("hgsr_ref", 1) in at3.index                                                 # the stage's own seed kept
    assert len(got) == len(stage)
    longer = pd.read_csv(budget.artifact_path("default")).query("epochs > 3").reset_index(drop=True)
    pd.testing.assert_frame_equal(got[got["epochs"] > 3].reset_index(drop=True), longer, check_dtype=False)
    note = budget.survey_note(got)
    assert "differs from this run's in 1 row of the 5" in note and "on AVX2)" in note
    assert note in budget.verdict(budget.table(got), got)
    assert budget.survey_note(stage) == ""                                              # a live stage: nothing


def test_the_digest_covers_only_the_rows_the_stage_starts_from():
    survey = _survey()
    other = survey.copy()
    other.loc[other["family"] == "prox_sgl", "filters_left"] += 5      # not a leader, not the baseline
    assert budget.survey_digest(other) == budget.survey_digest(survey)


def test_rows_read_the_artifact_only_where_the_profile_commits_one(monkeypatch):
    monkeypatch.setattr(budget, "load", lambda survey, profile: "artifact")
    monkeypatch.setattr(budget, "sweep", lambda survey, profile, *a: "live")
    assert budget.rows(_survey(), "default") == "artifact"
    assert budget.rows(_survey(), "smoke") == "live"


@pytest.mark.parametrize("profile", [p for p, b in budget.BUDGETS.items() if b["lenet_budget_artifact"]])
def test_the_committed_artifact_matches_its_card(profile):
    import json
    from hgsr.io import file_digest
    path, card = budget.artifact_path(profile), json.loads(budget.card_path(profile).read_text())
    assert file_digest(path) == card["sha256"]
    assert card["budgets"] == list(budget.budget(profile)["lenet_budget_epochs"]) and card["seeds"] == budget.SEEDS
    rows = pd.read_csv(path)
    assert sorted(rows["epochs"].unique()) == sorted({card["survey_epochs"], *card["budgets"]})
    assert set(card["leaders"]) == set(rows["family"]) - {fronts.BASELINE}


def test_sweep_steps_refines_and_seeds_the_longest_budget_and_its_baseline(monkeypatch):
    """The stage's orchestration on a fake sweep: fewer filters and more error as λ grows, fewer filters with epochs."""
    def fake(tasks, *a, **k):
        out = []
        for t in tasks:
            fam, m, e, s = t.tags["family"], float(t.tags["lam_mult"]), t.tags["epochs"], t.config.seed
            if fam == "none":
                out.append(_row(fam, 1.0, s, 70, 0.0090 + 0.0002 * s, 0.0085, e))
                continue
            filters = max(4, round(30 / (1 + 3 * m) * (3 / e) ** 0.3))
            out.append(_row(fam, m, s, filters, 0.0085 + 0.003 * m, 0.0085 + 0.003 * m, e))
        return pd.DataFrame(out).assign(status="trained", hash=[t.hash for t in tasks])
    monkeypatch.setattr(fronts, "run_tasks", fake)
    survey = _survey().assign(status="trained", hash="h")
    rows = budget.sweep(survey, "default", progress=False)
    at20 = rows[rows["epochs"] == 20]
    assert sorted(at20.loc[at20["family"] == "none", "seed"]) == [0, 1, 2]       # the bound's baseline, seeded
    tab = budget.table(rows).set_index(["epochs", "family"])
    for fam in budget.leaders(_shared_table(survey)):
        assert tab.loc[(20, fam), "seeds"] == budget.SEEDS
        mults = sorted(at20.loc[(at20["family"] == fam) & (at20["seed"] == 0), "lam_mult"].astype(float))
        assert any(abs(b / a - budget.REFINE) < 0.01 for a, b in zip(mults, mults[1:])), mults   # a refined half step
    assert set(rows["epochs"]) == {3, 10, 20}
