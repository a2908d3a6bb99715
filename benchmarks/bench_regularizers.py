"""Cost of each regularizer family on one ResNet-20 training step (batch 128, CPU by default).

One step = forward + cross-entropy + penalty, backward, SGD step (momentum 0.9, weight decay 5e-4),
``after_step``. Every variant has its own copy of the same initial model and optimizer. The variants
are timed INTERLEAVED: each round runs ``--steps`` steps of every variant in a freshly shuffled
order, and each variant's time is divided by the baseline's time OF THE SAME ROUND; the report gives
the median of these paired ratios (robust to drifts in machine load) and the median step times.
The variant "none (A/A)" is a second unregularized copy: its ratio calibrates the noise.
Second table: the regularizer's own work alone (penalty + its backward + after_step, no network),
median over repeats, and the ratio it implies, ``(t_none + t_reg) / t_none``.

    python benchmarks/bench_regularizers.py [--rounds 15] [--steps 1] [--batch 128] [--threads N]
"""
from __future__ import annotations

import argparse
import copy
import random
import statistics
import time

import torch
import torch.nn.functional as F

from hgsr import models, regularizers

VARIANTS = {
    "none": None,
    "none (A/A)": None,     # a second unregularized copy: its ratio shows the measurement noise
    "l1": {"key": "l1", "lam": 1e-4},
    "group_lasso": {"key": "group_lasso", "lam": 1e-4, "group": "filter"},
    "ssl": {"key": "ssl", "lam_filter": 1e-4, "lam_channel": 1e-4, "lam_shape": 1e-4, "lam_depth": 1e-4},
    "slimming": {"key": "slimming", "lam": 1e-5},
    "hsq_gl12": {"key": "hsq_gl12", "lam": 1e-4},
    "hgsr_ref": {"key": "hgsr_ref"},
    "l1_over_l2": {"key": "l1_over_l2", "lam": 1e-3},
    "prox_l1": {"key": "prox_l1", "lam": 1e-4},
    "prox_group_lasso": {"key": "prox_group_lasso", "lam": 1e-4},
    "nonconvex_sgl": {"key": "nonconvex_sgl", "lam": 1e-3, "beta": 0.04, "R": "tl1"},
}


def make_step(model, reg, x, y, lr=0.1):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)

    def step():
        out = model(x)
        loss = F.cross_entropy(out, y) + reg.penalty(model)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        reg.after_step(model, lr)
    return step


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--steps", type=int, default=1, help="steps per variant per round")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    torch.manual_seed(0)
    base = models.build("resnet20").to(dev)
    x = torch.randn(args.batch, 3, 32, 32, device=dev)
    y = torch.randint(0, 10, (args.batch,), device=dev)
    steps = {}
    for name, spec in VARIANTS.items():
        m = copy.deepcopy(base)
        steps[name] = make_step(m, regularizers.from_spec(spec), x, y)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    for fn in steps.values():       # warm-up (also creates lazy buffers)
        fn()
    times = {k: [] for k in steps}
    rng = random.Random(0)
    for r in range(args.rounds):
        order = list(steps)
        rng.shuffle(order)
        for name in order:
            sync()
            t = time.perf_counter()
            for _ in range(args.steps):
                steps[name]()
            sync()
            times[name].append((time.perf_counter() - t) / args.steps)
    med = {k: statistics.median(v) for k, v in times.items()}
    paired = {k: statistics.median(a / b for a, b in zip(v, times["none"])) for k, v in times.items()}
    print(f"ResNet-20 training step, batch {args.batch}, {dev}, {torch.get_num_threads()} threads, "
          f"{args.rounds} rounds x {args.steps} steps, interleaved (shuffled per round)")
    print(f"{'variant':18s} {'median step':>12s} {'paired ratio':>13s}")
    for k in steps:
        print(f"{k:18s} {med[k] * 1e3:9.1f} ms   x{paired[k]:.3f}")
    print("\nregularizer alone (penalty + backward + after_step, no network), median of 30:")
    for name, spec in VARIANTS.items():
        if spec is None:
            continue
        m = copy.deepcopy(base)
        reg = regularizers.from_spec(spec)
        ts = []
        for _ in range(35):
            sync()
            t = time.perf_counter()
            p = reg.penalty(m)
            if p.requires_grad:
                p.backward()
            reg.after_step(m, 0.1)
            sync()
            ts.append(time.perf_counter() - t)
        alone = statistics.median(ts[5:])
        print(f"{name:18s} {alone * 1e3:7.2f} ms   implied x{(med['none'] + alone) / med['none']:.3f}")


if __name__ == "__main__":
    main()
