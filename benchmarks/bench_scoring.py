"""Loss-increase scoring of every prunable channel of ResNet-20: fast path vs naive reference.

The fast path (``hgsr.prune.loss_increase_scores``) scores all 448 channel groups of ResNet-20 on
1,024 CIFAR-10 training images. The naive reference (silence one channel, re-run everything) would
take one full forward per channel, so it is timed on a subset of channels (``--naive-per-group``
per group, spread over the group) and its cost is extrapolated linearly:
``T_naive(all) = T_naive(subset) * (448 + 1) / (n_subset + 1)`` (each run is one forward of the
images; the +1 is L0). The two agree on the subset (max |difference| printed).

The two are timed side by side in ``--rounds`` interleaved rounds (the order alternates: fast first
in odd rounds, naive first in even ones), each round giving a ratio; the summary ratio is
median(naive) / median(fast). Wall-clock and process CPU time are both printed: on a machine shared
with other work, CPU time is the less noisy of the two.

``--model random`` (the default) is ResNet-20 with random weights and random BatchNorm statistics:
nearly every channel is non-zero on every image, so the fast path skips nothing and the ratio is that
of its rewrites alone. ``--model hgsr`` is the committed HGSR-trained start that notebook 06 scores
(``data/pretrained/resnet20_cifar10_hgsr.pt``): there the fast path also leaves out the images a
silenced channel cannot change (step 3 of ``hgsr.prune.ranking.loss``), and the fraction of
(channel, image) rows it ran is printed. Threads are fixed (``--threads``, default 1: on a shared 2-core machine two OpenMP
threads can thrash).

    python benchmarks/bench_scoring.py [--model random|hgsr] [--samples 1024] [--batch 256] [--threads 1] [--rounds 2]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
from torch import nn

from hgsr import data as hdata
from hgsr import models
from hgsr import pretrained
from hgsr import prune as P
from hgsr.study import pruning_starts


def model(kind: str):
    if kind == "hgsr":
        return pretrained.load(pruning_starts.HGSR).eval()
    torch.manual_seed(0)
    m = models.build("resnet20")
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
    return m.eval()


def timed(f):
    w, c = time.perf_counter(), time.process_time()
    out = f()
    return out, time.perf_counter() - w, time.process_time() - c


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--naive-per-group", type=int, default=2)
    ap.add_argument("--data", choices=["cifar10", "random"], default="cifar10")
    ap.add_argument("--model", choices=["random", "hgsr"], default="random")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.data == "cifar10":
        ds = hdata.load("cifar10", download=False)
    else:
        g = torch.Generator().manual_seed(0)
        ds = (torch.randn(args.samples, 3, 32, 32, generator=g), torch.randint(0, 10, (args.samples,), generator=g))
    m = model(args.model)
    groups = P.prunable_groups(m, (3, 32, 32))
    n_all = sum(g.size for g in groups)
    k = args.naive_per_group
    subset = {g.name: sorted({round(i * (g.size - 1) / max(k - 1, 1)) for i in range(k)}) for g in groups}
    n_sub = sum(len(v) for v in subset.values())
    scale = (n_all + 1) / (n_sub + 1)
    kw = dict(n_samples=args.samples, batch_size=args.batch)
    print(f"# ResNet-20 ({args.model} weights), {args.samples} {args.data} training images, batch {args.batch}, "
          f"{args.threads} thread(s), torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"CPU capability {torch.backends.cpu.get_cpu_capability()}")
    print(f"# naive timed on {n_sub} of {n_all} channels and extrapolated (x {scale:.2f}); "
          f"{args.rounds} interleaved rounds")

    runs = {"fast": lambda: P.loss_increase_scores(m, ds, **kw),
            "naive": lambda: P.loss_increase_scores_naive(m, ds, channels=subset, **kw)}
    wall, cpu, out = {"fast": [], "naive": []}, {"fast": [], "naive": []}, {}
    for r in range(args.rounds):
        for name in (("fast", "naive") if r % 2 == 0 else ("naive", "fast")):
            out[name], w, c = timed(runs[name])
            wall[name].append(w * (scale if name == "naive" else 1))
            cpu[name].append(c * (scale if name == "naive" else 1))
        print(f"round {r + 1}: fast {wall['fast'][-1]:7.1f} s wall ({cpu['fast'][-1]:7.1f} s CPU), "
              f"naive all channels (extrapolated) {wall['naive'][-1]:7.1f} s wall ({cpu['naive'][-1]:7.1f} s CPU): "
              f"{wall['naive'][-1] / wall['fast'][-1]:.2f}x wall, {cpu['naive'][-1] / cpu['fast'][-1]:.2f}x CPU",
              flush=True)

    fast, naive = out["fast"], out["naive"]
    merged = fast.merge(naive, on=["group", "channel"], suffixes=("_fast", "_naive"))
    diff = (merged["delta_loss_fast"] - merged["delta_loss_naive"]).abs().max()
    med = {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in wall}
    rows = fast.attrs["rows_run"]
    print(f"channels scored by the fast path:   {len(fast)} (all of {n_all}); rows run: {rows:,} of "
          f"{n_all * args.samples:,} (channel, image) pairs ({rows / (n_all * args.samples):.1%})")
    print(f"fast path, all channels (median):   {med['fast'][0]:8.1f} s wall {med['fast'][1]:8.1f} s CPU")
    print(f"naive, {n_sub} channels (median):      {med['naive'][0] / scale:8.1f} s wall "
          f"{med['naive'][1] / scale:8.1f} s CPU (measured)")
    print(f"naive, all channels (extrapolated): {med['naive'][0]:8.1f} s wall {med['naive'][1]:8.1f} s CPU")
    print(f"speed-up fast / naive:              {med['naive'][0] / med['fast'][0]:8.2f}x wall "
          f"{med['naive'][1] / med['fast'][1]:6.2f}x CPU  (target >= 8x)")
    print(f"max |delta_loss fast - naive| on the {len(merged)} shared channels: {diff:.2e}  (target <= 1e-6)")


if __name__ == "__main__":
    main()
