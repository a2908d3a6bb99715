"""Does removing half the MACs of ResNet-20 make it faster on a CPU? Dense vs compact, one run.

ResNet-20 (random weights: timing does not depend on training) is pruned by filter magnitude, the
same fraction of every group (``scope="layer"``), with the fraction found by bisection so that the
compact model keeps about ``--target`` of the dense MACs. Latency is ``hgsr.measure.latency``
(median of a forward pass in eval mode) with a fixed number of threads, measured in interleaved
rounds (dense, compact, dense, compact, ...); the speed-up is the median over rounds of the ratio
within a round (measurements adjacent in time, so load from other processes mostly cancels).
Printed: MAC ratio (dense/compact), speed-up (dense time / compact time) at batch 1 and 64, and
speed-up / MAC ratio (target at batch 64: >= 0.85), for two forms of both models: ``eager`` (the
training form, BatchNorm separate) and ``bn-fused`` (``hgsr.prune.removal.deploy.fuse_bn``: BatchNorm folded
into the convs, the usual inference form). BatchNorm/ReLU/add passes cost in proportion to channels,
not MACs, so they dilute the speed-up of the eager form.

    python benchmarks/bench_compact_latency.py [--target 0.5] [--threads 1] [--rounds 7]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import warnings

import torch

from hgsr import measure, models
from hgsr import prune as P
from hgsr.prune.removal.deploy import fuse_bn

SHAPE = (3, 32, 32)


def plan_for(model, scores, target: float):
    """Bisection on the per-group fraction so that compact MACs ~= target * dense MACs."""
    dense = measure.count_macs(model, SHAPE)
    lo, hi, best = 0.0, 0.95, None
    for _ in range(12):
        f = (lo + hi) / 2
        plan = P.select(scores, fraction=f, scope="layer")
        macs = P.compact_size(model, plan, SHAPE)["macs"]
        best = (plan, f, macs)
        if macs / dense > target:
            lo = f
        else:
            hi = f
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dense = models.build("resnet20").eval()
    plan, frac, macs = plan_for(dense, P.magnitude_scores(dense, SHAPE), args.target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compact = P.prune(dense, plan, SHAPE).eval()
    d_macs, d_params = measure.count_macs(dense, SHAPE), measure.count_params(dense)
    mac_ratio = d_macs / measure.count_macs(compact, SHAPE)
    print(f"# ResNet-20, magnitude pruning {frac:.3f} of every group, {args.threads} thread(s), "
          f"torch {torch.__version__}, {platform.processor() or platform.machine()}")
    print(f"widths: {P.widths(compact, SHAPE)}")
    print(f"params {d_params} -> {measure.count_params(compact)}; MACs {d_macs} -> {d_macs / mac_ratio:.0f}"
          f"  (MAC ratio {mac_ratio:.2f}x)")
    forms = {"eager": (dense, compact), "bn-fused": (fuse_bn(dense), fuse_bn(compact))}
    for batch in args.batches:
        repeats = 30 if batch == 1 else 5
        times = {(f, k): [] for f in forms for k in (0, 1)}
        for _ in range(args.rounds):  # interleaved: every model once per round
            for f, pair in forms.items():
                for k in (0, 1):
                    times[f, k].append(measure.latency(pair[k], SHAPE, batch=batch, repeats=repeats,
                                                       threads=args.threads))
        for f in forms:
            d, c = statistics.median(times[f, 0]), statistics.median(times[f, 1])
            paired = statistics.median(a / b for a, b in zip(times[f, 0], times[f, 1]))
            print(f"{f:8s} batch {batch:3d}: dense {d * 1e3:8.2f} ms, compact {c * 1e3:8.2f} ms (medians); "
                  f"speed-up (median of per-round ratios) {paired:5.2f}x, speed-up / MAC ratio "
                  f"{paired / mac_ratio:4.2f}" + ("  (target >= 0.85)" if batch == 64 else ""))


if __name__ == "__main__":
    main()
