"""Every registered regularizer against an explicit-loop reference implementation.

TABLE lists every key with parameters; a test asserts it covers ``names()`` exactly, so a new family
cannot be added untested. References are plain Python loops over o, i and groups, in float64.
"""
import math

import pytest
import torch
from torch import nn

from hgsr import prox
from hgsr import regularizers as R
from hgsr.regularizers.common import adopt_buffers

SHAPES = [(4, 3, 3, 3), (5, 4, 1, 1), (3, 5, 2, 3), (1, 2, 3, 3)]

TABLE = [
    ("l1", {"lam": 0.3}),
    ("l2", {"lam": 0.7}),
    *[("group_lasso", {"lam": 0.2, "group": g, "size_weighted": s})
      for g in ("filter", "channel", "kernel", "shape", "layer") for s in (False, True)],
    ("ssl", {"lam_filter": 0.1, "lam_channel": 0.2, "lam_shape": 0.3, "lam_depth": 0.4}),
    ("ssl", {"lam_channel": 0.5, "zero_below": 1e-4}),
    ("slimming", {"lam": 0.4}),
    *[(k, {"lam": 0.05, "grouping": g})
      for k in ("gl", "es", "gl12", "hsr_gl", "hsq_gl", "hsr_es", "hsq_es", "hsr_gl12", "hsq_gl12")
      for g in ("input", "output")],
    ("hgsr_ref", {}),
    ("hgsr_ref", {"lam": 0.02, "lam2": 0.3, "grouping": "output"}),
    *[("l1_over_l2", {"lam": 0.6, "level": lv}) for lv in ("filter", "per_filter", "per_kernel")],
    ("prox_l1", {"lam": 0.1}),
    ("prox_group_lasso", {"lam": 0.1, "group": "filter"}),
    ("prox_group_lasso", {"lam": 0.1, "group": "channel", "size_weighted": True}),
    ("prox_sgl", {"lam1": 0.1, "lam2": 0.2}),
    *[("nonconvex_sgl", {"lam": 0.3, "beta": 2.0, "R": r, "a": 0.7, "alpha": 0.6})
      for r in ("l1", "l0", "tl1", "l1_l2")],
    ("nonconvex_sgl", {"lam": 0.3, "beta": 2.0, "R": "l1", "n_train": 50}),
]


def test_table_covers_every_key():
    assert {k for k, _ in TABLE} == set(R.names())


class Net(nn.Module):
    """Target convs of several shapes (kh != kw included), BatchNorms, and a shortcut conv that the
    default target selection must skip. Only the weights matter: there is no forward pass."""

    def __init__(self, shapes=SHAPES, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.convs = nn.ModuleList(nn.Conv2d(i, o, (kh, kw), bias=False) for o, i, kh, kw in shapes)
        self.bns = nn.ModuleList(nn.BatchNorm2d(o) for o, *_ in shapes)
        self.shortcut = nn.Conv2d(3, 4, 1, bias=False)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g))

    def Ws(self):
        return [c.weight.detach().double().tolist() for c in self.convs]


# --------------------------------------------------------------------------- loop references
def dims(W):
    return len(W), len(W[0]), len(W[0][0]), len(W[0][0][0])


def group_list(W, kind):
    """Every group of ``kind`` as a flat list of floats, by explicit loops."""
    O, I, H, K = dims(W)
    if kind == "filter":
        return [[W[o][i][h][k] for i in range(I) for h in range(H) for k in range(K)] for o in range(O)]
    if kind == "channel":
        return [[W[o][i][h][k] for o in range(O) for h in range(H) for k in range(K)] for i in range(I)]
    if kind == "kernel":
        return [[W[o][i][h][k] for h in range(H) for k in range(K)] for o in range(O) for i in range(I)]
    if kind == "shape":
        return [[W[o][i][h][k] for o in range(O)] for i in range(I) for h in range(H) for k in range(K)]
    return [[W[o][i][h][k] for o in range(O) for i in range(I) for h in range(H) for k in range(K)]]


def l2(v):
    return math.sqrt(sum(x * x for x in v))


def l1(v):
    return sum(abs(x) for x in v)


def ref_group_lasso(W, kind, size_weighted):
    return sum((math.sqrt(len(g)) if size_weighted else 1.0) * l2(g) for g in group_list(W, kind))


def ref_hgsr(W, key, grouping):
    O, I, _, _ = dims(W)
    A = [[sum(abs(x) for row in W[o][i] for x in row) for i in range(I)] for o in range(O)]
    N = [[math.sqrt(sum(x * x for row in W[o][i] for x in row)) for i in range(I)] for o in range(O)]
    inner = {"gl": lambda o, i: N[o][i] ** 2, "es": lambda o, i: A[o][i], "gl12": lambda o, i: A[o][i],
             "hsr_gl": lambda o, i: N[o][i], "hsq_gl": lambda o, i: N[o][i],
             "hsr_es": lambda o, i: A[o][i] ** 2, "hsq_es": lambda o, i: A[o][i] ** 2,
             "hsr_gl12": lambda o, i: math.sqrt(A[o][i]), "hsq_gl12": lambda o, i: math.sqrt(A[o][i])}[key]
    outer = math.sqrt if key in ("gl", "gl12") or key.startswith("hsr") else (lambda x: x * x)
    total = 0.0
    if grouping == "input":
        for i in range(I):
            total += outer(sum(inner(o, i) for o in range(O)))
    else:
        for o in range(O):
            total += outer(sum(inner(o, i) for i in range(I)))
    return total


def ref_ratio(W, level):
    if level == "filter":
        f = [l2(g) for g in group_list(W, "filter")]
        return sum(f) / l2(f)
    kind = "filter" if level == "per_filter" else "kernel"
    return sum(l1(g) / l2(g) for g in group_list(W, kind))


def ref_penalty(key, p, net):
    Ws = net.Ws()
    if key == "l1":
        return p["lam"] * sum(l1(group_list(W, "layer")[0]) for W in Ws)
    if key == "l2":
        return p["lam"] * sum(0.5 * sum(x * x for x in group_list(W, "layer")[0]) for W in Ws)
    if key == "group_lasso":
        return p["lam"] * sum(ref_group_lasso(W, p["group"], p["size_weighted"]) for W in Ws)
    if key == "ssl":
        lams = {"filter": p.get("lam_filter", 0), "channel": p.get("lam_channel", 0),
                "shape": p.get("lam_shape", 0), "layer": p.get("lam_depth", 0)}
        return sum(lam * ref_group_lasso(W, kind, False) for kind, lam in lams.items() for W in Ws)
    if key == "slimming":
        return p["lam"] * sum(abs(g) for bn in net.bns for g in bn.weight.tolist())
    if key == "hgsr_ref":
        lam, lam2 = p.get("lam", 1e-3), p.get("lam2", 0.5)
        g = p.get("grouping", "input")
        return lam * sum(lam2 * ref_hgsr(W, "hsq_gl12", g) + (1 - lam2) * l1(group_list(W, "layer")[0])
                         for W in Ws)
    if key == "l1_over_l2":
        return p["lam"] * sum(ref_ratio(W, p["level"]) for W in Ws)
    if key.startswith("prox_"):
        return 0.0
    if key == "nonconvex_sgl":
        Vs = [c.hgsr_V.double().tolist() for c in net.convs]
        total = 0.0
        for W, V in zip(Ws, Vs):
            O, I, H, K = dims(W)
            total += p["lam"] * math.sqrt(I * H * K) * sum(l2(g) for g in group_list(W, "filter"))
            total += p["beta"] / 2 * sum((W[o][i][h][k] - V[o][i][h][k]) ** 2 for o in range(O)
                                         for i in range(I) for h in range(H) for k in range(K))
        return total / p.get("n_train", 1)
    return p["lam"] * sum(ref_hgsr(W, key, p["grouping"]) for W in Ws)


@pytest.mark.parametrize("key, params", TABLE, ids=[f"{k}-{i}" for i, (k, _) in enumerate(TABLE)])
def test_penalty_matches_loop_reference(key, params):
    for seed in (0, 1):
        net = Net(seed=seed)
        reg = R.build(key, **params)
        got = reg.penalty(net)
        if key == "nonconvex_sgl":   # V was created = prox(W); now set it to arbitrary values
            g = torch.Generator().manual_seed(seed + 10)
            with torch.no_grad():
                for c in net.convs:
                    c.hgsr_V.copy_(torch.randn(c.weight.shape, generator=g))
            got = reg.penalty(net)
        want = ref_penalty(key, params, net)
        assert got.dim() == 0
        assert got.item() == pytest.approx(want, rel=1e-5, abs=1e-12), (key, params)


def penalty_and_grads(net, fn):
    for p in net.parameters():
        p.grad = None
    value = fn(net)
    if value.requires_grad:
        value.backward()
    return value.item(), [None if p.grad is None else p.grad.clone() for p in net.parameters()]


@pytest.mark.parametrize("zero", [False, True], ids=["random", "zero-groups"])
@pytest.mark.parametrize("key, params", TABLE, ids=[f"{k}-{i}" for i, (k, _) in enumerate(TABLE)])
def test_fused_gradient_matches_autograd(key, params, zero):
    """penalty() (closed-form value and gradient on stacks of same-shape layers, one autograd node)
    equals reference_penalty() (the formula per layer, differentiated by autograd)."""
    # float64, so that rounding (e.g. the eps-sized gradient of a ratio on 1x1 kernels) cannot hide
    # or fake a difference; a stack of three same-shape layers
    net = Net(shapes=SHAPES + [(4, 3, 3, 3), (4, 3, 3, 3)], seed=3).double()
    if zero:
        zero_structures(net)
    reg = R.build(key, **params)
    v1, g1 = penalty_and_grads(net, reg.penalty)
    v2, g2 = penalty_and_grads(net, reg.reference_penalty)
    assert v1 == pytest.approx(v2, rel=1e-9, abs=1e-12)
    for (name, _), a, b in zip(net.named_parameters(), g1, g2):
        if a is None or b is None:
            assert a is None and b is None or float((a if a is not None else b).abs().max()) == 0, name
            continue
        assert torch.allclose(a, b, rtol=1e-6, atol=1e-9), (key, name)


def test_hgsr_groupings_differ_and_gl_is_channel_group_lasso():
    net = Net()
    a = R.build("hsq_gl12", lam=1.0, grouping="input").penalty(net).item()
    b = R.build("hsq_gl12", lam=1.0, grouping="output").penalty(net).item()
    assert a != pytest.approx(b)
    gl = R.build("gl", lam=1.0).penalty(net).item()
    assert gl == pytest.approx(R.build("group_lasso", lam=1.0, group="channel").penalty(net).item(), rel=1e-6)
    glo = R.build("gl", lam=1.0, grouping="output").penalty(net).item()
    assert glo == pytest.approx(R.build("group_lasso", lam=1.0, group="filter").penalty(net).item(), rel=1e-6)


def test_predicate_and_shortcuts():
    net = Net()
    full = R.build("l1", lam=1.0).penalty(net).item()
    assert full == pytest.approx(sum(c.weight.abs().sum().item() for c in net.convs), rel=1e-6)  # no shortcut
    first = R.build("l1", lam=1.0, predicate=lambda n, m: n == "convs.0").penalty(net).item()
    assert first == pytest.approx(net.convs[0].weight.abs().sum().item(), rel=1e-6)


def test_from_spec_sums_parts():
    net = Net()
    spec = [{"key": "hsq_gl12", "lam": 5e-4}, {"key": "l1", "lam": 5e-4}]
    total = R.from_spec(spec).penalty(net).item()
    parts = R.build("hsq_gl12", lam=5e-4).penalty(net).item() + R.build("l1", lam=5e-4).penalty(net).item()
    assert total == pytest.approx(parts, rel=1e-6)


# --------------------------------------------------------------------------- zero groups
def zero_structures(net):
    with torch.no_grad():
        for c in net.convs:
            W = c.weight
            W[0, 0] = 0                     # a kernel
            if W.shape[1] > 1:
                W[:, 1] = 0                 # an input channel
            if W.shape[0] > 1:
                W[-1] = 0                   # a filter
        net.convs[-1].weight.zero_()        # a whole layer
        net.bns[0].weight[0] = 0


@pytest.mark.parametrize("key, params", TABLE, ids=[f"{k}-{i}" for i, (k, _) in enumerate(TABLE)])
def test_gradients_finite_at_zero_groups(key, params):
    net = Net()
    zero_structures(net)
    reg = R.build(key, **params)
    pen = reg.penalty(net)
    assert torch.isfinite(pen)
    loss = pen + sum(0.0 * p.sum() for p in net.parameters())
    loss.backward()
    for name, p in net.named_parameters():
        assert torch.isfinite(p.grad).all(), (key, name)
    reg.after_step(net, 0.1)
    for p in net.parameters():
        assert torch.isfinite(p).all()


# --------------------------------------------------------------------------- proximal steps
def test_prox_l1_after_step_is_soft_threshold():
    net, lr, lam = Net(), 0.5, 0.4
    before = net.Ws()
    R.build("prox_l1", lam=lam).after_step(net, lr)
    t = lr * lam
    for W0, c in zip(before, net.convs):
        flat0, flat1 = group_list(W0, "layer")[0], c.weight.detach().flatten().tolist()
        for x0, x1 in zip(flat0, flat1):
            want = math.copysign(max(abs(x0) - t, 0.0), x0)
            assert x1 == pytest.approx(want, abs=1e-6)
    assert sum(int((c.weight == 0).sum()) for c in net.convs) > 0


@pytest.mark.parametrize("group, size_weighted", [("filter", False), ("channel", True), ("filter", True)])
def test_prox_group_lasso_after_step(group, size_weighted):
    net, lr, lam = Net(), 0.5, 2.0
    before = net.Ws()
    R.build("prox_group_lasso", lam=lam, group=group, size_weighted=size_weighted).after_step(net, lr)
    for W0, c in zip(before, net.convs):
        O, I, H, K = dims(W0)
        after = c.weight.detach().double()
        size = I * H * K if group == "filter" else O * H * K
        t = lr * lam * (math.sqrt(size) if size_weighted else 1.0)
        for j, g in enumerate(group_list(W0, group)):
            want = torch.tensor(g, dtype=torch.float64) * max(0.0, 1 - t / l2(g))
            got = (after[j] if group == "filter" else after[:, j]).flatten()
            assert torch.allclose(got, want, atol=1e-6)


def test_prox_sgl_after_step_is_soft_then_filter_shrink():
    net, lr = Net(), 0.5
    before = [c.weight.detach().clone() for c in net.convs]
    R.build("prox_sgl", lam1=0.5, lam2=1.0).after_step(net, lr)
    for W0, c in zip(before, net.convs):
        for o in range(W0.shape[0]):
            z = [math.copysign(max(abs(x) - 0.25, 0.0), x) for x in W0[o].flatten().tolist()]
            n = l2(z)
            want = [x * max(0.0, 1 - 0.5 / n) if n > 0 else 0.0 for x in z]
            assert torch.allclose(c.weight[o].detach().flatten().double(), torch.tensor(want, dtype=torch.float64),
                                  atol=1e-6)


def test_ssl_zero_below():
    net = Net()
    with torch.no_grad():
        net.convs[0].weight[0, 0, 0, 0] = 5e-5
        net.convs[0].weight[0, 0, 0, 1] = -2e-4
    R.build("ssl", lam_filter=0.1, zero_below=1e-4).after_step(net, 0.1)
    assert net.convs[0].weight[0, 0, 0, 0] == 0 and net.convs[0].weight[0, 0, 0, 1] == -2e-4
    assert all(c.weight.abs().min().item() == 0 or c.weight.abs().min().item() >= 1e-4 for c in net.convs)


# --------------------------------------------------------------------------- nonconvex SGL
@pytest.mark.parametrize("Rname", ["l1", "l0", "tl1", "l1_l2"])
def test_nonconvex_v_is_prox_of_w(Rname):
    net = Net()
    reg = R.build("nonconvex_sgl", lam=0.4, beta=1.6, R=Rname, a=0.5, alpha=0.7)
    kw = {"tl1": {"a": 0.5}, "l1_l2": {"alpha": 0.7}}.get(Rname, {})
    reg.penalty(net)                                       # lazily creates V = prox(W)
    for c in net.convs:
        assert torch.equal(c.hgsr_V, prox.PROX[Rname](c.weight.detach(), 0.25, **kw))
        assert any(k.endswith("hgsr_V") for k in net.state_dict())
    with torch.no_grad():
        for c in net.convs:
            c.weight.mul_(1.3)
    reg.after_step(net, lr=123.0)                           # lr plays no role
    for c in net.convs:
        want = prox.PROX[Rname](c.weight.detach(), 0.25, **kw)
        assert torch.equal(c.hgsr_V, want)
    if Rname == "l1_l2":  # whole layer, not per filter: differs from the per-filter prox
        W = net.convs[0].weight.detach()
        per_filter = torch.stack([prox.l1_minus_l2_prox(W[o], 0.25, 0.7) for o in range(W.shape[0])])
        assert not torch.allclose(net.convs[0].hgsr_V, per_filter)


def test_nonconvex_beta_schedule_and_state():
    reg = R.build("nonconvex_sgl", lam=0.1, beta=2.0, period=3, growth=1.5)
    betas = []
    for e in range(7):
        reg.on_epoch_end(e)
        betas.append(reg.beta)
    assert betas == pytest.approx([2, 2, 3, 3, 3, 4.5, 4.5])
    state = reg.state_dict()
    fresh = R.build("nonconvex_sgl", lam=0.1, beta=2.0, period=3, growth=1.5)
    fresh.load_state_dict(state)
    assert fresh.beta == 4.5 and fresh.epoch == 7


def test_nonconvex_metrics_masked_accuracy_restores_weights():
    net = Net()
    reg = R.build("nonconvex_sgl", lam=1.0, beta=1.0, R="l0")   # t = 1: kills |w| <= sqrt(2)
    with torch.no_grad():
        net.convs[0].weight[0] = 1e-6                              # a filter below 1e-5 -> inactive
    reg.after_step(net, 0.1)
    before = [c.weight.detach().clone() for c in net.convs]
    seen = {}

    def evaluate(model):
        seen["zeros"] = sum(int((c.weight == 0).sum()) for c in model.convs)
        return 0.75

    m = reg.metrics(net, evaluate)
    n = sum(c.weight.numel() for c in net.convs)
    v0 = sum(int((c.hgsr_V == 0).sum()) for c in net.convs)
    assert m["masked_acc"] == 0.75 and seen["zeros"] == v0 > 0
    assert m["v_sparsity"] == pytest.approx(v0 / n)
    assert m["w_sparsity"] == pytest.approx(net.convs[0].weight[0].numel() / n)
    assert m["filter_activity"] == pytest.approx(1 - 1 / sum(c.weight.shape[0] for c in net.convs))
    for W, c in zip(before, net.convs):
        assert torch.equal(W, c.weight)


def test_nonconvex_n_train_divides_every_term():
    net = Net()
    a = R.build("nonconvex_sgl", lam=0.3, beta=2.0, R="tl1")
    b = R.build("nonconvex_sgl", lam=0.3, beta=2.0, R="tl1", n_train=1000)
    pa = a.penalty(net).item()
    with torch.no_grad():
        for c in net.convs:
            c.weight.add_(0.01)     # make W != V so both terms count
    pa, pb = a.penalty(net).item(), b.penalty(net).item()
    assert pb == pytest.approx(pa / 1000, rel=1e-6)


def test_v_buffers_save_and_load():
    net = Net()
    R.build("nonconvex_sgl", lam=0.3, beta=2.0, R="tl1").penalty(net)
    state = net.state_dict()
    fresh = Net(seed=5)
    with pytest.raises(RuntimeError):
        fresh.load_state_dict(state)
    made = adopt_buffers(fresh, state)
    assert sorted(made) == sorted(k for k in state if k.endswith("hgsr_V"))
    fresh.load_state_dict(state)
    for a, b in zip(net.convs, fresh.convs):
        assert torch.equal(a.hgsr_V, b.hgsr_V)


# --------------------------------------------------------------------------- bad input
LAM_KEYS = sorted({k for k, p in TABLE if "lam" in p} | {"hgsr_ref"})


@pytest.mark.parametrize("key", LAM_KEYS)
def test_negative_lam_rejected(key):
    with pytest.raises(ValueError, match="lam"):
        R.build(key, lam=-1.0)


@pytest.mark.parametrize("key, params, match", [
    ("ssl", {"lam_filter": -1}, "lam_filter"),
    ("prox_sgl", {"lam1": 0.1, "lam2": -0.1}, "lam2"),
    ("hgsr_ref", {"lam2": 1.5}, "lam2"),
    ("nonconvex_sgl", {"lam": 0.1, "alpha": 0.0}, "alpha"),
    ("nonconvex_sgl", {"lam": 0.1, "alpha": 1.01}, "alpha"),
    ("nonconvex_sgl", {"lam": 0.1, "R": "scad"}, "unknown R 'scad'; valid: l1, l0, tl1, l1_l2"),
    ("nonconvex_sgl", {"lam": 0.1, "beta": 0}, "beta"),
    ("nonconvex_sgl", {"lam": 0.1, "period": 0}, "period"),
    ("nonconvex_sgl", {"lam": 0.1, "a": -1}, "a must be"),
    ("hsq_gl12", {"lam": 0.1, "grouping": "neuron"}, "unknown grouping 'neuron'; valid: input, output"),
    ("hgsr_ref", {"grouping": "x"}, "grouping"),
    ("group_lasso", {"lam": 0.1, "group": "row"}, "unknown group 'row'"),
    ("prox_group_lasso", {"lam": 0.1, "group": "row"}, "unknown group 'row'"),
    ("l1_over_l2", {"lam": 0.1, "level": "layer"}, "unknown level 'layer'"),
    *[(k, {"lam": 0.1, "eps": 0.0}, "eps must be > 0")
      for k in ("group_lasso", "hsr_gl12", "hgsr_ref", "l1_over_l2", "nonconvex_sgl")],
])
def test_bad_parameters_named(key, params, match):
    with pytest.raises(ValueError, match=match):
        R.build(key, **params)


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ValueError, match="hsq_gl12"):
        R.build("hsq_gl21", lam=1.0)


@pytest.mark.parametrize("key, params", TABLE, ids=[f"{k}-{i}" for i, (k, _) in enumerate(TABLE)])
def test_model_without_targets_rejected(key, params):
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    reg = R.build(key, **params)
    match = "BatchNorm2d" if key == "slimming" else "no target conv"
    with pytest.raises(ValueError, match=match):
        reg.penalty(model)
    if key.startswith(("prox", "nonconvex")) or "zero_below" in params:   # families with a step
        with pytest.raises(ValueError, match=match):
            reg.after_step(model, 0.1)


# --------------------------------------------------------------------------- training integration
@pytest.mark.parametrize("spec", [
    {"key": "nonconvex_sgl", "lam": 0.05, "beta": 1.0, "R": "tl1", "period": 1, "growth": 2.0},
    [{"key": "nonconvex_sgl", "lam": 0.05, "beta": 1.0, "R": "l0", "period": 1, "growth": 2.0},
     {"key": "l1", "lam": 1e-3}],
], ids=["single", "combined"])
def test_fit_resumes_with_v_buffers_and_beta(tmp_path, spec):
    """An interrupted fit resumes from its checkpoint (V buffers in the model state, beta in the
    regularizer state) and ends exactly where an uninterrupted run ends."""
    from hgsr import data, models, train

    ds = data.load("synthetic")

    def fresh():
        torch.manual_seed(0)
        return models.build("lenet5", num_classes=ds.num_classes, in_channels=1, image_size=ds.image_size)

    kw = dict(epochs=2, lr=0.01, batch_size=128, progress=False, device="cpu")
    full, reg_full = fresh(), R.from_spec(spec)
    train.fit(full, ds, regularizer=reg_full, **kw)
    ck = tmp_path / "ck.pt"
    part = fresh()
    train.fit(part, ds, regularizer=R.from_spec(spec), checkpoint=ck, _stop_after=1, **kw)
    resumed, reg_res = fresh(), R.from_spec(spec)
    hist = train.fit(resumed, ds, regularizer=reg_res, checkpoint=ck, **kw)
    assert list(hist["epoch"]) == [1, 2] and "v_sparsity" in hist and "masked_acc" in hist
    assert reg_res.state_dict() == reg_full.state_dict()
    for k, v in full.state_dict().items():
        assert torch.allclose(v, resumed.state_dict()[k], atol=1e-6), k


def test_cached_run_with_v_buffers_loads_back():
    from hgsr import experiments

    cfg = experiments.Config(dataset="synthetic", model="lenet5", epochs=1, schedule=None,
                             regularizer={"key": "nonconvex_sgl", "lam": 0.05, "beta": 1.0, "R": "l1"})
    first = experiments.run(cfg, progress=False, device="cpu")
    again = experiments.run(cfg, progress=False, device="cpu")          # from the cache
    keys = [k for k in first.model.state_dict() if k.endswith("hgsr_V")]
    assert keys and all(torch.equal(first.model.state_dict()[k], again.model.state_dict()[k]) for k in keys)
    child = experiments.run(cfg.replace(regularizer={"key": "l1", "lam": 1e-4}, init_from=cfg),
                            progress=False, device="cpu")                # fine-tune from it
    assert all(k in child.model.state_dict() for k in keys)
