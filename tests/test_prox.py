"""hgsr.prox: every operator is the exact minimizer of its objective (brute force), never NaN."""
import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from hgsr import prox

D = torch.float64


# --------------------------------------------------------------------------- objectives
def obj_l1(x, y, t, **_):
    return t * x.abs() + 0.5 * (x - y) ** 2


def obj_l0(x, y, t, **_):
    return t * (x != 0).to(x.dtype) + 0.5 * (x - y) ** 2


def obj_tl1(x, y, t, a=1.0, **_):
    return t * (a + 1) * x.abs() / (a + x.abs()) + 0.5 * (x - y) ** 2


ELEMENTWISE = {
    "l1": (prox.soft_threshold, obj_l1, lambda t, **_: t),
    "l0": (prox.hard_threshold, obj_l0, lambda t, **_: math.sqrt(2 * t)),
    "tl1": (prox.tl1_prox, obj_tl1, lambda t, a=1.0: prox.tl1_threshold(t, a)),
}


def cases_elementwise(name, seed):
    """(y, t, kw) rows: random y and t, plus y exactly at / just around the threshold."""
    g = np.random.default_rng(seed)
    rows = []
    for _ in range(12):
        t = float(g.choice([g.uniform(0.01, 0.2), g.uniform(0.2, 3.0)]))
        kw = {"a": float(g.choice([0.1, 0.5, 1.0, 3.0]))} if name == "tl1" else {}
        tau = ELEMENTWISE[name][2](t, **kw)
        ys = list(g.uniform(-6, 6, 8)) + [0.0]
        for d in (0.0, 1e-9, -1e-9, 1e-6, -1e-6, 1e-3, -1e-3):
            ys += [tau + d, -(tau + d)]
        rows += [(y, t, kw) for y in ys]
    return rows


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_prox_is_global_minimizer(name):
    """Grid search over x in [-|y|-1, |y|+1] (40001 points) never beats the prox's objective, and
    the prox is a local minimum; covers inputs at and around the threshold."""
    fn, obj, _ = ELEMENTWISE[name]
    for seed in range(3):
        for y, t, kw in cases_elementwise(name, seed):
            yt = torch.tensor([y], dtype=D)
            x = fn(yt, t, **kw)
            assert torch.isfinite(x).all()
            fx = obj(x, yt, t, **kw).item()
            r = abs(y) + 1
            grid = torch.linspace(-r, r, 40001, dtype=D)
            grid = torch.cat([grid, torch.tensor([0.0, y], dtype=D)])
            best = obj(grid, yt, t, **kw).min().item()
            assert fx <= best + 1e-6, (name, y, t, kw, x.item(), fx, best)
            if x.item() != 0:  # local optimality on the smooth branch
                for d in (1e-4, -1e-4):
                    assert fx <= obj(x + d, yt, t, **kw).item() + 1e-12


def test_elementwise_shapes_and_values():
    y = torch.tensor([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])
    assert torch.equal(prox.soft_threshold(y, 1.0), torch.tensor([-2.0, 0, 0, 0, 0, 0, 2.0]))
    # L0 keeps |y| > sqrt(2t) = 1 (strictly), else 0
    assert torch.equal(prox.hard_threshold(y, 0.5), torch.tensor([-3.0, 0, 0, 0, 0, 0, 3.0]))
    # TL1 with t = 0 is the identity; odd symmetric
    assert torch.allclose(prox.tl1_prox(y, 0.0, 1.0), y)
    z = prox.tl1_prox(y, 0.3, 2.0)
    assert torch.allclose(z, -prox.tl1_prox(-y, 0.3, 2.0))
    assert z.dtype == y.dtype and z.shape == y.shape


def test_tl1_branches_of_the_threshold():
    a = 1.0
    small, large = 0.1, 1.0          # a²/(2(a+1)) = 0.25
    assert prox.tl1_threshold(small, a) == pytest.approx(small * (a + 1) / a)
    assert prox.tl1_threshold(large, a) == pytest.approx(math.sqrt(2 * large * (a + 1)) - a / 2)
    for t in (small, large):
        tau = prox.tl1_threshold(t, a)
        y = torch.tensor([tau, tau * (1 + 1e-6)], dtype=D)
        x = prox.tl1_prox(y, t, a)
        assert x[0] == 0 and x[1] != 0


def test_tensor_threshold_broadcasts():
    y = torch.tensor([[1.0, 2.0], [1.0, 2.0]])
    t = torch.tensor([[0.5], [1.5]])
    assert torch.equal(prox.soft_threshold(y, t), torch.tensor([[0.5, 1.5], [0.0, 0.5]]))


# --------------------------------------------------------------------------- L1 - alpha L2
def obj_l1l2(x, y, t, alpha):
    x = np.asarray(x, dtype=float)
    return t * (np.abs(x).sum() - alpha * np.linalg.norm(x)) + 0.5 * ((x - y) ** 2).sum()


def brute_vector(obj, y, starts):
    """Best objective over Nelder-Mead runs from many starts (an upper bound on the minimum)."""
    best = min(obj(s) for s in starts)
    for s in starts:
        r = minimize(obj, s, method="Nelder-Mead",
                     options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 1500})
        best = min(best, r.fun)
    return best


def l1l2_cases(seed):
    g = np.random.default_rng(seed)
    for _ in range(6):
        n = int(g.integers(1, 5))
        t = float(g.uniform(0.1, 2.0))
        alpha = float(g.choice([0.2, 0.5, 0.9, 1.0]))
        y = g.normal(0, 1.5, n)
        yield y, t, alpha
        # max|y| exactly at and around t and (1-alpha) t
        for m in (t, (1 - alpha) * t):
            for d in (0.0, 1e-7, -1e-3):
                yy = y / max(np.abs(y).max(), 1e-12) * max(m + d, 0.0)
                yield yy, t, alpha


def test_l1_minus_l2_prox_matches_brute_force():
    for seed in range(1):
        for y, t, alpha in l1l2_cases(seed):
            x = prox.l1_minus_l2_prox(torch.tensor(y, dtype=D), t, alpha).numpy()
            assert np.isfinite(x).all()
            fx = obj_l1l2(x, y, t, alpha)
            n = len(y)
            starts = [np.zeros(n), y.copy(), np.sign(y) * np.maximum(np.abs(y) - t, 0)]
            for i in range(n):
                e = np.zeros(n)
                e[i] = y[i]
                starts.append(e)
            starts += list(np.random.default_rng(1).normal(0, 1.5, (2, n)))
            best = brute_vector(lambda v: obj_l1l2(v, y, t, alpha), y, starts)
            assert fx <= best + 1e-6, (y, t, alpha, x, fx, best)


def test_l1_minus_l2_prox_2d_grid():
    g = np.random.default_rng(7)
    lin = np.linspace(-4, 4, 801)
    X1, X2 = np.meshgrid(lin, lin)
    for _ in range(20):
        y, t, alpha = g.normal(0, 1.5, 2), float(g.uniform(0.1, 2)), float(g.choice([0.3, 1.0]))
        F = t * (np.abs(X1) + np.abs(X2) - alpha * np.hypot(X1, X2)) + 0.5 * ((X1 - y[0]) ** 2 + (X2 - y[1]) ** 2)
        x = prox.l1_minus_l2_prox(torch.tensor(y, dtype=D), t, alpha).numpy()
        assert obj_l1l2(x, y, t, alpha) <= F.min() + 1e-6


def test_l1_minus_l2_branches():
    t, alpha = 1.0, 0.5
    y = torch.tensor([0.8, -0.3, 0.1], dtype=D)      # (1-α)t = 0.5 < max|y| = 0.8 <= t: 1-sparse
    x = prox.l1_minus_l2_prox(y, t, alpha)
    assert torch.allclose(x, torch.tensor([0.8 - 0.5, 0, 0], dtype=D))
    assert torch.count_nonzero(prox.l1_minus_l2_prox(y * 0.5, t, alpha)) == 0   # max|y| = 0.4 <= 0.5
    y = torch.tensor([[3.0, -2.0], [0.5, 0.0]], dtype=D)    # whole tensor is one vector
    x = prox.l1_minus_l2_prox(y, t, alpha)
    z = torch.tensor([[2.0, -1.0], [0.0, 0.0]], dtype=D)
    assert torch.allclose(x, z * (z.norm() + alpha * t) / z.norm())


# --------------------------------------------------------------------------- group operators
def test_group_soft_threshold_per_filter_matches_loop():
    g = torch.Generator().manual_seed(0)
    W = torch.randn(6, 3, 3, 3, generator=g, dtype=D)
    W[2] = 0
    t = float(W[0].norm()) * 0.999 + 0 * 1.0
    out = prox.group_soft_threshold(W, t, (1, 2, 3))
    for o in range(6):
        n = float(W[o].norm())
        ref = W[o] * max(0.0, 1 - t / n) if n > 0 else W[o] * 0
        assert torch.allclose(out[o], ref)
    out = prox.group_soft_threshold(W, 0.7, (0, 2, 3))         # per input channel
    for i in range(3):
        n = float(W[:, i].norm())
        assert torch.allclose(out[:, i], W[:, i] * max(0.0, 1 - 0.7 / n))
    assert torch.allclose(prox.group_soft_threshold(W, 0.7, None),
                          W * max(0.0, 1 - 0.7 / float(W.norm())))


def obj_sgl(x, y, t1, t2):
    x = np.asarray(x, dtype=float)
    return t1 * np.abs(x).sum() + t2 * np.linalg.norm(x) + 0.5 * ((x - y) ** 2).sum()


@pytest.mark.parametrize("t1_zero", [True, False])
def test_group_and_sparse_group_prox_match_brute_force(t1_zero):
    """One group (dim=None): the prox objective is <= the best of Nelder-Mead from many starts and
    of random perturbations of the prox point (the objective is convex: local = global)."""
    g = np.random.default_rng(3)
    for _ in range(15):
        n = int(g.integers(1, 5))
        y = g.normal(0, 1.5, n)
        t1 = 0.0 if t1_zero else float(g.uniform(0, 1.5))
        t2 = float(g.choice([g.uniform(0, 3), np.linalg.norm(np.sign(y) * np.maximum(np.abs(y) - t1, 0))]))
        yt = torch.tensor(y, dtype=D)
        x = (prox.group_soft_threshold(yt, t2, None) if t1_zero
             else prox.sparse_group_prox(yt, t1, t2, None)).numpy()
        fx = obj_sgl(x, y, t1, t2)
        f = lambda v: obj_sgl(v, y, t1, t2)  # noqa: E731
        best = brute_vector(f, y, [np.zeros(n), y.copy(), y / 2] + list(g.normal(0, 1, (3, n))))
        assert fx <= best + 1e-6
        for d in g.normal(0, 1, (50, n)):
            for s in (1e-2, 1e-5):
                assert fx <= f(x + s * d) + 1e-12


def test_sparse_group_is_soft_then_group():
    g = torch.Generator().manual_seed(1)
    W = torch.randn(5, 4, 3, 3, generator=g)
    a = prox.sparse_group_prox(W, 0.3, 1.1, (1, 2, 3))
    b = prox.group_soft_threshold(prox.soft_threshold(W, 0.3), 1.1, (1, 2, 3))
    assert torch.equal(a, b)
    assert (a == 0).sum() > (W == 0).sum()


# --------------------------------------------------------------------------- robustness
SPECIAL = [0.0, -0.0, 1e-45, -1e-30, 1.0, 1e30, -3e38, 3.4e38, float("inf"), -float("inf")]


def all_ops():
    return {
        "soft": lambda y, t: prox.soft_threshold(y, t),
        "hard": lambda y, t: prox.hard_threshold(y, t),
        "tl1": lambda y, t: prox.tl1_prox(y, t, 0.7),
        "l1_l2": lambda y, t: prox.l1_minus_l2_prox(y, t, 0.6),
        "group": lambda y, t: prox.group_soft_threshold(y, t, 0),
        "sgl": lambda y, t: prox.sparse_group_prox(y, t, t, 0),
    }


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", sorted(all_ops()))
def test_never_nan(name, dtype):
    fn = all_ops()[name]
    for t in (0.0, 1e-8, 0.5, 1e30):
        for y in ([0.0, 0.0, 0.0], SPECIAL, [v for v in SPECIAL if math.isfinite(v)], [1e30, -1e30]):
            x = fn(torch.tensor(y, dtype=dtype), t)
            assert not torch.isnan(x).any(), (name, t, y, x)
            assert x.dtype == dtype and x.shape == (len(y),)
    # zeros stay zeros, for every threshold
    z = torch.zeros(4, 3, dtype=dtype)
    assert torch.equal(fn(z, 0.3), z)


def test_prox_does_not_modify_input():
    y = torch.randn(4, 3, 3, 3)
    y0 = y.clone()
    for fn in all_ops().values():
        fn(y, 0.4)
    assert torch.equal(y, y0)


def test_prox_table():
    assert set(prox.PROX) == {"l1", "l0", "tl1", "l1_l2"}
    y = torch.linspace(-2, 2, 9)
    assert torch.equal(prox.PROX["l1"](y, 0.5), prox.soft_threshold(y, 0.5))
    assert torch.equal(prox.PROX["tl1"](y, 0.5, a=2.0), prox.tl1_prox(y, 0.5, 2.0))
    assert torch.equal(prox.PROX["l1_l2"](y, 0.5, alpha=0.3), prox.l1_minus_l2_prox(y, 0.5, 0.3))


@pytest.mark.parametrize("call, match", [
    (lambda: prox.soft_threshold(torch.ones(3), -0.1), "threshold t"),
    (lambda: prox.hard_threshold(torch.ones(3), float("nan")), "threshold t"),
    (lambda: prox.group_soft_threshold(torch.ones(3), torch.tensor([-1.0]), 0), "threshold t"),
    (lambda: prox.tl1_prox(torch.ones(3), 0.1, a=0.0), "a must be > 0"),
    (lambda: prox.l1_minus_l2_prox(torch.ones(3), 0.1, alpha=0.0), r"alpha must be in \(0, 1\]"),
    (lambda: prox.l1_minus_l2_prox(torch.ones(3), 0.1, alpha=1.5), r"alpha must be in \(0, 1\]"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_tl1_penalty_limits_and_one_formula():
    import numpy as np
    from hgsr import prox as P
    x = torch.tensor([0.0, -0.5, 2.0])
    assert torch.allclose(P.tl1_penalty(x, 1.0), torch.tensor([0.0, 2 / 3, 4 / 3]))
    assert torch.allclose(P.tl1_penalty(x, 1e-9), (x != 0).float(), atol=1e-6)      # a → 0⁺: L0
    assert torch.allclose(P.tl1_penalty(x, 1e9), x.abs(), atol=1e-6)                # a → ∞: L1
    assert np.allclose(P.tl1_penalty(np.array([1.0]), 1.0), [1.0])                    # arrays too
