"""hgsr.study.splitting: inspection of the variable-splitting nonconvex SGL (W against V = prox(W))."""
import math

import matplotlib
import pytest
import torch
from torch import nn

matplotlib.use("Agg")

from hgsr import prox  # noqa: E402
from hgsr.study import splitting
from hgsr.regularizers.nonconvex import NonconvexSGL  # noqa: E402


def _W(seed=0, shape=(6, 3, 3, 3), scale=0.1):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * scale


def test_r_value_formulas():
    V = torch.tensor([0.0, 1.0, -2.0, 0.5]).reshape(1, 1, 2, 2)
    assert splitting.r_value(V, "l1") == pytest.approx(3.5)
    assert splitting.r_value(V, "l0") == 3
    a = 2.0
    assert splitting.r_value(V, "tl1", a=a) == pytest.approx(sum((a + 1) * x / (a + x) for x in (1.0, 2.0, 0.5)))
    assert splitting.r_value(V, "l1_l2", alpha=0.5) == pytest.approx(3.5 - 0.5 * math.sqrt(1 + 4 + 0.25))
    with pytest.raises(ValueError, match="l1, l0, tl1, l1_l2"):
        splitting.r_value(V, "l2")


@pytest.mark.parametrize("R", ["l1", "l0", "tl1", "l1_l2"])
def test_split_terms_match_prox_and_definitions(R):
    W = _W()
    lam, beta = 0.02, 0.5
    s = splitting.split_terms(W, lam, beta, R)
    kw = {"a": 1.0} if R == "tl1" else {"alpha": 1.0} if R == "l1_l2" else {}
    V = prox.PROX[R](W, lam / beta, **kw)
    assert torch.equal(s["V"], V)
    assert s["t"] == pytest.approx(lam / beta)
    assert s["coupling"] == pytest.approx(0.5 * beta * float((W - V).pow(2).sum()), rel=1e-6)
    g = W[0].numel()
    assert s["group_term"] == pytest.approx(lam * math.sqrt(g) * sum(float(W[o].norm()) for o in range(6)), rel=1e-5)
    assert s["v_sparsity"] == pytest.approx(float((V == 0).float().mean()))
    assert s["v_sparsity"] > 0   # t = 0.04 against weights of scale 0.1: some entries die


def test_split_terms_zero_filter_counted():
    W = _W()
    W[2] *= 1e-4                         # a filter far below the threshold: V's filter all zero
    s = splitting.split_terms(W, 0.01, 1.0, "l1")
    assert s["v_zero_filters"] >= 1
    assert (s["V"][2] == 0).all()
    assert len(splitting.split_table(W, 0.01, 1.0)) == 4


def test_split_terms_bad_shape():
    with pytest.raises(ValueError, match="conv weight"):
        splitting.split_terms(torch.zeros(3, 3), 0.1, 1.0)


def test_splitting_toy_beta_grows_and_gap_closes():
    W0 = _W(1, (8, 4, 3, 3))
    h = splitting.splitting_toy(W0, lam=0.01, beta=1.0, R="l1", epochs=6, steps_per_epoch=10, lr=0.05,
                                period=2, growth=2.0)
    assert list(h["beta"]) == [1.0, 1.0, 2.0, 2.0, 4.0, 4.0]
    assert h["gap"].iloc[-1] < h["gap"].iloc[0]
    assert ((h["v_sparsity"] >= 0) & (h["v_sparsity"] <= 1)).all()


def test_toy_scale_quantiles():
    W0 = _W(2, (10, 2, 3, 3))
    s = splitting.toy_scale(W0, kill=0.5, zero=0.5)
    med_norm = float(torch.quantile(W0.flatten(1).norm(dim=1).double(), 0.5))
    assert s["lam"] * math.sqrt(18) == pytest.approx(med_norm, rel=1e-6)
    assert s["lam"] / s["beta"] == pytest.approx(float(torch.quantile(W0.abs().flatten().double(), 0.5)), rel=1e-6)
    with pytest.raises(ValueError, match="kill"):
        splitting.toy_scale(W0, kill=1.5)


def _model_with_V():
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 5, 3))
    reg = NonconvexSGL(lam=0.05, beta=1.0, R="l1")
    with torch.no_grad():
        m[2].weight[1].zero_()                # an all-zero filter of W
        m[2].weight[3] *= 1e-7                # a tiny filter: |w| < 1e-5 but not 0
    reg.after_step(m, 0.1)                    # creates and sets V = prox(W)
    return m


def test_w_vs_v_layers_and_v_model():
    m = _model_with_V()
    df = splitting.w_vs_v_layers(m, tol=1e-2)
    assert list(df["layer"]) == ["conv1", "conv2"]              # the reader's names of modules 0 and 2
    row = df.set_index("layer").loc["conv2"]
    V = m[2].hgsr_V
    assert row["v_sparsity"] == pytest.approx(float((V == 0).float().mean()))
    assert row["w_active"] == 3              # filters 1 and 3 have mean|w| <= 1e-5
    assert row["v_filters"] == int((V.flatten(1) != 0).any(1).sum())
    assert row["v_filters"] <= 3
    vm = splitting.v_model(m)
    assert torch.equal(vm[2].weight, V)
    assert not torch.equal(m[2].weight, V)   # the original is untouched
    with pytest.raises(ValueError, match="hgsr_V"):
        splitting.v_model(nn.Sequential(nn.Conv2d(1, 2, 3)))


def test_zero_kinds_exact_vs_tol():
    m = nn.Sequential(nn.Conv2d(1, 4, 3, bias=False))
    with torch.no_grad():
        m[0].weight.fill_(1.0)
        m[0].weight[0].zero_()                # exact zero filter
        m[0].weight[1].fill_(1e-4)            # near-zero filter (norm 3e-4)
    df = splitting.zero_kinds({"m": m}, tols=(1e-5, 1e-3), filter_tol=1e-2).iloc[0]
    assert df["exact"] == pytest.approx(0.25)
    assert df["|w|<=1e-05"] == pytest.approx(0.25)
    assert df["|w|<=0.001"] == pytest.approx(0.5)
    assert df["exact_zero_filters"] == 1
    assert df["filters_le_0.01"] == 2


def test_prox_panels_figure():
    from hgsr.study.splitting_plots import prox_panels
    fig = prox_panels(_W(3, (6, 4, 3, 3)), 0.02, 0.5)
    assert len(fig.axes) >= 8                # 4 scatter + 4 heatmaps (+ colour bars)
    assert fig.axes[1].get_title().startswith("R = L0:")      # the reader's name of R, not its key
