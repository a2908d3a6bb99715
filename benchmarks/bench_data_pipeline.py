"""One epoch of LeNet-5 on MNIST: hgsr's in-memory uint8 tensor pipeline vs a standard torchvision
DataLoader + transforms pipeline, interleaved in one run; prints seconds and the ratio.

A third row, ``compute only``, trains on batches built before the clock starts (no data pipeline
at all): it is the floor any pipeline can reach, so ``dataloader / compute only`` bounds the ratio
any pipeline could show against the DataLoader on this model.

    python benchmarks/bench_data_pipeline.py [--rounds 2] [--workers 0 2]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
import torch.nn.functional as F
import torchvision
from torchvision import transforms

from hgsr import data as hdata
from hgsr import models


def epoch_tensor(ds, batch_size=128):
    torch.manual_seed(0)
    m = models.build("lenet5", 10, 1, 28)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    g = torch.Generator().manual_seed(0)
    t = time.perf_counter()
    for xb, yb in hdata.batches(ds.train_x, ds.train_y, batch_size, ds.mean, ds.std, shuffle=True, generator=g):
        opt.zero_grad()
        F.cross_entropy(m(xb), yb).backward()
        opt.step()
    return time.perf_counter() - t


def epoch_compute_only(ds, batch_size=128):
    torch.manual_seed(0)
    m = models.build("lenet5", 10, 1, 28)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    g = torch.Generator().manual_seed(0)
    ready = list(hdata.batches(ds.train_x, ds.train_y, batch_size, ds.mean, ds.std, shuffle=True, generator=g))
    t = time.perf_counter()
    for xb, yb in ready:
        opt.zero_grad()
        F.cross_entropy(m(xb), yb).backward()
        opt.step()
    return time.perf_counter() - t


def epoch_dataloader(root, workers, batch_size=128):
    torch.manual_seed(0)
    m = models.build("lenet5", 10, 1, 28)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    dset = torchvision.datasets.MNIST(root, train=True, transform=tf, download=False)
    loader = torch.utils.data.DataLoader(dset, batch_size=batch_size, shuffle=True, num_workers=workers,
                                         persistent_workers=False)
    t = time.perf_counter()
    for xb, yb in loader:
        opt.zero_grad()
        F.cross_entropy(m(xb), yb).backward()
        opt.step()
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workers", type=int, nargs="*", default=[0, 2])
    args = ap.parse_args()
    ds = hdata.load("mnist")  # also unpacks the archives into the cache for torchvision
    root = str(hdata.cache_dir())
    times = {"tensor": [], "compute only": []} | {f"dataloader(workers={w})": [] for w in args.workers}
    for _ in range(args.rounds):
        times["tensor"].append(epoch_tensor(ds))
        times["compute only"].append(epoch_compute_only(ds))
        for w in args.workers:
            times[f"dataloader(workers={w})"].append(epoch_dataloader(root, w))
    base = statistics.median(times["tensor"])
    print(f"LeNet-5, MNIST 60,000 images, batch 128, 1 epoch; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    print(f"{'pipeline':28s} {'median s':>9s} {'img/s':>8s} {'ratio vs tensor':>16s}")
    for k, v in times.items():
        med = statistics.median(v)
        print(f"{k:28s} {med:9.2f} {60000 / med:8.0f} {med / base:16.2f}x")
    floor = statistics.median(times["compute only"])
    for w in args.workers:
        k = f"dataloader(workers={w})"
        print(f"{k} / compute only = {statistics.median(times[k]) / floor:.2f}x "
              f"(the most any pipeline could gain over it on this model)")


if __name__ == "__main__":
    main()
