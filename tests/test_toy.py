"""The toy problems behind the teaching figures (hgsr.toy)."""
import math

import numpy as np
import pytest
import torch

from hgsr import toy


def test_prox_path_lands_exactly_on_zero_subgradient_never_rests():
    df = toy.toy_paths(y=0.5, lam=1.0, lr=0.3, steps=40, x0=2.0)
    k = df.attrs["prox_zero_from"]
    assert k is not None and 0 < k < 40
    assert (df["prox"].iloc[k:] == 0.0).all()          # exactly zero, and stays there
    assert (df["prox"].iloc[:k] != 0.0).all()
    tail = df["subgradient"].iloc[-15:]
    assert (tail != 0.0).all()                          # never at rest on 0
    assert (np.sign(tail.to_numpy()[1:]) != np.sign(tail.to_numpy()[:-1])).any()  # jumps across 0
    assert tail.abs().max() > 0.05                      # oscillation of order lr·λ, not vanishing
    assert df.attrs["minimizer"] == 0.0
    assert df["objective_prox"].iloc[-1] == pytest.approx(0.5 * 0.5 ** 2)


def test_prox_path_converges_to_soft_threshold_when_y_exceeds_lam():
    df = toy.toy_paths(y=2.0, lam=0.5, lr=0.5, steps=60, x0=-1.0)
    assert df.attrs["minimizer"] == 1.5
    assert df["prox"].iloc[-1] == pytest.approx(1.5, abs=1e-12)
    assert df.attrs["prox_zero_from"] is None


def test_toy_paths_rejects_bad_values():
    with pytest.raises(ValueError, match="lr"):
        toy.toy_paths(lr=0.0)


@pytest.mark.parametrize("name,w,expected", [
    ("l1", (3, -4), 7.0), ("l2", (3, -4), 5.0), ("l1_over_l2", (3, -4), 1.4),
    ("tl1", (1, 0), 1.0), ("tl1", (-1, 1), 2.0), ("l1_l2", (3, -4), 7 - 0.5 * 5),
    ("l0", (0, 2), 1.0), ("l0", (1e-9, -2), 2.0), ("group", (3, -4), 5.0), ("hsq_gl12", (1, -4), 9.0),
])
def test_penalty_2d_values(name, w, expected):
    assert float(toy.penalty_2d(name, *w, a=1.0, alpha=0.5)) == pytest.approx(expected)


def test_penalty_2d_ratio_bounds_and_group_weight():
    g = np.linspace(-2, 2, 41)
    W1, W2 = np.meshgrid(g, g)
    r = toy.penalty_2d("l1_over_l2", W1, W2)
    assert np.isnan(r[20, 20])                          # undefined at the origin
    finite = r[~np.isnan(r)]
    assert finite.min() == pytest.approx(1.0) and finite.max() == pytest.approx(math.sqrt(2))
    assert float(toy.penalty_2d("group", 3, 4, c_g=math.sqrt(2))) == pytest.approx(5 * math.sqrt(2))


def test_penalty_2d_errors_name_valid_choices():
    with pytest.raises(ValueError, match="known: l1, l2"):
        toy.penalty_2d("l3", 1, 1)
    with pytest.raises(ValueError, match="alpha"):
        toy.penalty_2d("l1_l2", 1, 1, alpha=1.5)


def test_scale_curves_ratio_is_flat_and_norms_linear():
    df = toy.scale_curves(scales=[0.01, 1.0, 100.0])
    n = df.attrs["n"]
    assert np.allclose(df["l1_over_l2"], df["l1_over_l2"].iloc[0], rtol=1e-12)
    assert 1 <= df["l1_over_l2"].iloc[0] <= math.sqrt(n)
    assert df["l1"].iloc[2] / df["l1"].iloc[1] == pytest.approx(100.0)
    one_hot = toy.scale_curves(torch.tensor([0.0, 3.0, 0.0]), scales=[0.5, 2.0])
    assert np.allclose(one_hot["l1_over_l2"], 1.0)     # ratio 1 exactly when one entry is nonzero
    with pytest.raises(ValueError, match="nonzero"):
        toy.scale_curves(torch.zeros(4))
