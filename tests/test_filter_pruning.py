import pandas as pd
import pytest
import torch

from hgsr import experiments, measure
from hgsr.study import filter_pruning as fp

BASE = experiments.Config(dataset="synthetic", model="resnet20", model_kw={"width": 0.25}, train_subset=96,
                          test_subset=64, epochs=1, lr=0.05, profile="test")
FRACTIONS = (0.25, 0.5)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return str(tmp_path_factory.mktemp("fp_runs"))


@pytest.fixture(scope="module")
def out(runs):
    mp = pytest.MonkeyPatch()
    mp.setenv("HGSR_RUNS", runs)
    torch.set_num_threads(1)
    try:
        yield fp.study("smoke", fractions=FRACTIONS, base=BASE)
    finally:
        mp.undo()


def test_configs_differ_only_in_the_regularizer():
    c = fp.configs("default")
    assert c["dense"].regularizer is None and c["hgsr"].regularizer == fp.HGSR_SPEC
    assert c["dense"].replace(regularizer=fp.HGSR_SPEC) == c["hgsr"]
    assert c["dense"] == experiments.recipe(fp.TASK, "default")


def test_sweep_removes_the_requested_fraction_and_shrinks_the_network(out):
    sw = out["sweep"]
    hg = sw[sw["model"] == "hgsr"]
    assert set(hg["criterion"]) == set(fp.CRITERIA)
    assert set(sw[sw["model"] == "dense"]["criterion"]) == {"loss"}
    n = len(out["scores"]["loss"])
    n_groups = out["scores"]["loss"]["group"].nunique()
    for crit, d in hg.groupby("criterion"):
        d = d.sort_values("fraction")
        assert d["fraction"].tolist() == [0.0, *FRACTIONS]
        # round(f·n) channels, less at most one per group (a group is never emptied)
        for f, k in zip(d["fraction"], d["channels_removed"]):
            assert round(f * n) - n_groups <= k <= round(f * n)
        assert d["params_removed"].is_monotonic_increasing and d["params_removed"].iloc[-1] > 0.1
        assert (d["params"] < d["params"].iloc[0]).iloc[1:].all()
    unpruned = hg[hg["fraction"] == 0]["test_acc"]
    acc = experiments.summarize(out["runs"]["hgsr"].model, experiments.dataset_for(BASE))["test_acc"]
    assert (unpruned == acc).all()
    # accuracy change is measured against the dense baseline
    assert hg["acc_change_points"].sub(100 * (hg["test_acc"] - out["acc_dense"])).abs().max() < 1e-9


def test_finetuned_points_bracket_the_target_and_are_compact(out):
    ft = out["finetuned"]
    expected = fp.bracket(out["sweep"][out["sweep"]["model"] == "hgsr"], "loss")
    for crit in ("loss", "magnitude"):   # both criteria fine-tuned at the loss sweep's bracket
        hg = ft[(ft["model"] == "hgsr") & (ft["criterion"] == crit)]
        assert hg["fraction"].tolist() == expected
    assert (ft["model"] == "dense").sum() == 1
    assert "dense" in out["models"] and len(out["models"]) == len(ft) + 1
    dense_params = measure.count_params(out["models"]["dense"])
    x = torch.randn(2, 1, 16, 16)
    for _, r in ft.iterrows():
        m = out["models"][r["name"]]
        assert measure.count_params(m) == r["params"] < dense_params
        assert m(x).shape == (2, 4)
        assert len(out["histories"][r["name"]]) == 1   # smoke profile: one fine-tuning epoch


def test_study_is_cached(out, runs, monkeypatch):
    monkeypatch.setenv("HGSR_RUNS", runs)
    def boom(*a, **k):
        raise AssertionError("recomputed")
    monkeypatch.setattr(fp.prune, "finetune", boom)
    monkeypatch.setattr(fp.prune, "loss_increase_scores", boom)
    again = fp.study("smoke", fractions=FRACTIONS, base=BASE)
    pd.testing.assert_frame_equal(again["sweep"], out["sweep"])
    pd.testing.assert_frame_equal(again["finetuned"], out["finetuned"])


def test_bracket_picks_the_first_fraction_reaching_the_target_and_the_one_below():
    sw = pd.DataFrame({"criterion": "loss", "fraction": [0.0, 0.1, 0.2, 0.3, 0.4],
                       "params_removed": [0.0, 0.2, 0.45, 0.55, 0.7]})
    assert fp.bracket(sw, "loss", 0.5) == [0.2, 0.3]
    assert fp.bracket(sw, "loss", 0.5, n=1) == [0.3]
    assert fp.bracket(sw, "loss", 0.9) == [0.3, 0.4]          # never reached: the largest ones
    with pytest.raises(ValueError, match="magnitude"):
        fp.bracket(sw, "magnitude")


def test_headline_prefers_the_most_params_removed_within_the_allowed_drop():
    ft = pd.DataFrame({"model": ["hgsr", "hgsr", "dense"], "params_removed": [0.4, 0.6, 0.6],
                       "acc_change_points": [-0.5, -0.9, 0.0]})
    h = fp.headline({"finetuned": ft, "acc_dense": 0.7})
    assert h["params_removed"] == 0.6 and h["meets_target"]
    ft.loc[1, "acc_change_points"] = -2.0
    h = fp.headline({"finetuned": ft, "acc_dense": 0.7})
    assert h["params_removed"] == 0.4 and not h["meets_target"]


def test_score_agreement_of_a_criterion_with_itself_is_perfect(out):
    s = out["scores"]
    ag = fp.score_agreement({"a": s["loss"], "b": s["loss"], "c": s["magnitude"]})
    row = ag[(ag["criterion_a"] == "a") & (ag["criterion_b"] == "b")].iloc[0]
    assert row["spearman"] == pytest.approx(1.0) and row["overlap_lowest_30%"] == 1.0
    assert len(ag) == 3 and ag["spearman"].between(-1, 1).all()
    fig = fp.plot_scores(s)
    assert len(fig.axes) == 2


def test_unknown_criterion_lists_the_known_ones(out):
    with pytest.raises(ValueError, match="bn_gamma"):
        fp.channel_scores(out["runs"]["hgsr"], 8, criteria=("taylor",))
