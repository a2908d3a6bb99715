import pandas as pd
import pytest
import torch

from hgsr import models, regularizers
from hgsr.study import theory_checks


def test_every_closed_form_prox_matches_the_brute_force_minimum():
    df = theory_checks.prox_optimality_table(n1=20_001, n2=401)
    assert set(df["operator"]) == set(theory_checks.OPERATORS)
    assert df["optimal"].all(), df[~df["optimal"]]
    assert (df["objective_gap"] <= 1e-9).all()


def test_a_wrong_operator_is_caught_by_the_brute_force_check(monkeypatch):
    # soft threshold with twice the threshold is not the prox of t|x|: the check must say so
    wrong = (lambda y, t, **kw: theory_checks.prox.soft_threshold(y, 2 * t), theory_checks._r_soft)
    monkeypatch.setitem(theory_checks.OPERATORS, "soft (L1)", wrong)
    df = theory_checks.prox_optimality_table([("soft (L1)", 1.0, {}, [(2.5,), (0.3,)])], n1=20_001)
    assert list(df["optimal"]) == [False, True]
    assert df["objective_gap"].iloc[0] > 0.1


def test_unknown_operator_lists_the_known_ones():
    with pytest.raises(ValueError, match="soft"):
        theory_checks.prox_optimality_table([("nope", 1.0, {}, [(1.0,)])])


def test_l1_over_l2_is_scale_invariant_and_l1_is_degree_one():
    torch.manual_seed(0)
    m = models.build("lenet5", 10, 1, 28)
    before = m.features[0].weight.detach().clone()
    regs = {"ratio": regularizers.build("l1_over_l2", lam=1.0),
            "ratio_kernel": regularizers.build("l1_over_l2", lam=1.0, level="per_kernel"),
            "l1": regularizers.build("l1", lam=1.0)}
    df = theory_checks.scale_invariance_table(regs, m, scales=(0.1, 1.0, 10.0))
    assert isinstance(df, pd.DataFrame) and len(df) == 9
    ratio = df[df.regularizer.str.startswith("ratio")]
    assert ratio["relative"].sub(1).abs().max() < 1e-5
    assert ratio["cos"].abs().max() < 1e-4
    l1 = df[df.regularizer == "l1"].set_index("scale")
    assert l1.loc[10.0, "relative"] == pytest.approx(10.0, rel=1e-5)
    assert l1["degree"].to_numpy() == pytest.approx([1.0] * 3, rel=1e-5)
    assert torch.equal(m.features[0].weight, before)          # scaled copies, the model is untouched
    with pytest.raises(ValueError, match="1.0"):
        theory_checks.scale_invariance_table(regs, m, scales=(0.5, 2.0))


def test_threshold_table_gives_each_operators_zero_threshold():
    from hgsr import prox

    t = theory_checks.threshold_table(2.0, alpha=0.25, tl1_as=(1.0,)).set_index("operator")["threshold τ"]
    assert t["soft (L1)"] == 2.0 and t["hard (L0)"] == pytest.approx(2.0) and t["group (on the norm)"] == 2.0
    assert t["TL1, a = 1"] == prox.tl1_threshold(2.0, 1.0) and t["L1 − αL2, α = 0.25 (1-D)"] == 1.5
    y = torch.tensor([t["soft (L1)"] * 0.999, t["soft (L1)"] * 1.001], dtype=torch.float64)
    x = prox.soft_threshold(y, 2.0)
    assert x[0] == 0 and x[1] != 0
