"""Channels-last against the default (NCHW) layout on one training step of LeNet-5 and of ResNet-20.

``hgsr.train.fit`` trains in channels-last (``channels_last=True``); this measures why. One step =
forward + cross-entropy, backward, SGD step (momentum 0.9), on a fixed random batch. Both layouts
start from copies of the same model; they are timed INTERLEAVED (each round runs ``--steps`` steps of
each layout in a shuffled order) and each round's NCHW time is divided by its channels-last time; the
report gives the median of these paired speed-ups and the median step times. The last column checks
that both layouts compute the same function (largest difference of the losses after the warm-up steps).

    python benchmarks/bench_memory_format.py [--rounds 9] [--steps 5] [--batch 128] [--threads 1]
"""
from __future__ import annotations

import argparse
import copy
import random
import statistics
import time

import torch
import torch.nn.functional as F

from hgsr import models

MODELS = {"lenet5 (MNIST 28×28)": ("lenet5", 1, 28), "resnet20 (CIFAR 32×32)": ("resnet20", 3, 32)}


def make_step(model, x, y, layout):
    model = model.to(memory_format=layout)
    x = x.contiguous(memory_format=layout)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--steps", type=int, default=5, help="steps per layout per round")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (a sweep worker uses 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), batch {args.batch}, {args.rounds} rounds × "
          f"{args.steps} steps per layout\n")
    print("| model | NCHW step (ms) | channels-last step (ms) | speed-up (median of paired rounds) | loss difference |")
    print("|---|---|---|---|---|")
    for label, (name, channels, size) in MODELS.items():
        torch.manual_seed(0)
        base = models.build(name, 10, channels, size)
        x, y = torch.randn(args.batch, channels, size, size), torch.randint(0, 10, (args.batch,))
        steps = {"nchw": make_step(copy.deepcopy(base), x, y, torch.contiguous_format),
                 "channels_last": make_step(copy.deepcopy(base), x, y, torch.channels_last)}
        warm = {k: [s() for _ in range(3)] for k, s in steps.items()}
        diff = max(abs(a - b) for a, b in zip(warm["nchw"], warm["channels_last"]))
        times = {k: [] for k in steps}
        ratios = []
        for _ in range(args.rounds):
            order = list(steps)
            random.shuffle(order)
            t = {}
            for k in order:
                t0 = time.perf_counter()
                for _ in range(args.steps):
                    steps[k]()
                t[k] = (time.perf_counter() - t0) / args.steps
                times[k].append(t[k])
            ratios.append(t["nchw"] / t["channels_last"])
        print(f"| {label} | {statistics.median(times['nchw']) * 1e3:.1f} | "
              f"{statistics.median(times['channels_last']) * 1e3:.1f} | {statistics.median(ratios):.2f}× | {diff:.1e} |")


if __name__ == "__main__":
    main()
