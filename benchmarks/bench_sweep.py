"""The same small sweep (LeNet-5 on a 2,000-image MNIST subset, 1 epoch, L1 at several λ) through a
plain loop and through hgsr.sweep on Dask with 1 and 2 workers, interleaved in one run; prints
seconds, the engine's per-task overhead against the loop and the 2-worker speed-up.

Arms, each on its own fresh ``HGSR_RUNS`` folder so nothing is cached:

- ``loop, 1 thread``: ``train_row(config)`` for each config in this process with one torch thread,
  as each Dask worker has: the baseline of the overhead;
- ``loop, N threads``: the same with torch's default thread count (what a plain loop gets);
- ``dask 1 worker`` / ``dask 2 workers``: ``run_sweep`` on a local cluster that was started and
  warmed (MNIST loaded and one throwaway run trained in every worker) before the clock starts, as
  this process is before the loop arms: these time the engine per task; ``in tasks s`` is the sum
  of the tasks' own seconds in their workers (training plus the claim and cache checks);
- ``dask 2 workers, cold``: ``run_sweep(workers=2)`` starting and closing its own cluster, to show
  the fixed cost of a cluster's start (worker processes importing torch, first calls) and close.

Each round also measures the CPU ceiling: how much faster two processes finish a fixed CPU-bound
loop than one. On a machine shared with other programs it is below 2; so is 2 / (the tasks' own
seconds with 2 workers over those with 1), printed last, which bounds the 2-worker speed-up.

    python benchmarks/bench_sweep.py [--rounds 2] [--configs 8] [--train 2000]
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import tempfile
import time

import torch

from hgsr import data as hdata
from hgsr import experiments, sweep


def configs(n: int, train: int) -> list[experiments.Config]:
    lams = [1e-4 * 2 ** i for i in range(n)]
    return [experiments.recipe("lenet5_mnist", "smoke", train_subset=train, test_subset=1000, epochs=1,
                               regularizer={"key": "l1", "lam": lam}) for lam in lams]


def fresh_runs() -> str:
    path = tempfile.mkdtemp(prefix="bench-sweep-runs-")
    os.environ["HGSR_RUNS"] = path
    return path


def arm_loop(cfgs, threads: int) -> float:
    fresh_runs()
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        t = time.perf_counter()
        for c in cfgs:
            sweep.train_row(c)
        return time.perf_counter() - t
    finally:
        torch.set_num_threads(before)


def warm(cfg):
    """Load the data and train one throwaway run (unregularized, in a scratch cache): a process's
    first training pays one-off costs (lazy imports, first calls) that the timed runs must not."""
    os.environ["HGSR_RUNS"] = tempfile.mkdtemp(prefix="bench-sweep-warm-")
    experiments.dataset_for(cfg)
    sweep.train_row(cfg.replace(regularizer=None))
    return os.getpid()


def arm_dask(cfgs, workers: int) -> tuple[float, float]:
    """Wall seconds of the sweep on a started, warmed cluster, and the seconds spent inside the tasks."""
    from distributed import Client

    cluster = sweep.local_cluster(workers, dashboard_address=":0")   # as run_sweep starts its own
    with cluster, Client(cluster, set_as_default=False) as client:
        client.run(warm, cfgs[0])
        fresh_runs()
        t = time.perf_counter()
        res = sweep.run_sweep([sweep.Task(c) for c in cfgs], scheduler=cluster.scheduler_address, progress=False)
        dt = time.perf_counter() - t
    assert res.trained == len(cfgs) and res.failed == 0, res.summary()
    return dt, float(res.rows["task_s"].sum())


def arm_cold(cfgs, workers: int) -> tuple[float, float]:
    fresh_runs()
    t = time.perf_counter()
    res = sweep.run_sweep([sweep.Task(c) for c in cfgs], workers=workers, progress=False)
    dt = time.perf_counter() - t
    assert res.trained == len(cfgs) and res.failed == 0, res.summary()
    return dt, float(res.rows["task_s"].sum())


def _burn(n: int) -> float:
    t = time.perf_counter()
    x = 0
    for i in range(n):
        x += i * i % 7
    return time.perf_counter() - t


def cpu_ceiling(pool, n: int = 15_000_000) -> float:
    """How much faster two processes get the same CPU-bound work done than one, on this machine now
    (2.0 on two idle cores; less when other programs hold a core): the bound on any 2-worker gain."""
    one = pool.map(_burn, [n])[0]
    two = max(pool.map(_burn, [n, n], chunksize=1))
    return 2 * one / two


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--configs", type=int, default=8)
    ap.add_argument("--train", type=int, default=2000)
    args = ap.parse_args()
    hdata.load("mnist")   # offline (HGSR_DATA_ROOT or the data folder beside the checkout)
    cfgs = configs(args.configs, args.train)
    warm(cfgs[0])   # this process, as the dask arms' workers: data loaded, one throwaway run trained
    n_threads = torch.get_num_threads()
    arms = {"loop, 1 thread": lambda: arm_loop(cfgs, 1),
            f"loop, {n_threads} threads": lambda: arm_loop(cfgs, n_threads),
            "dask 1 worker": lambda: arm_dask(cfgs, 1),
            "dask 2 workers": lambda: arm_dask(cfgs, 2),
            "dask 2 workers, cold": lambda: arm_cold(cfgs, 2)}
    times = {k: [] for k in arms}
    inside = {k: [] for k in arms}
    ceilings = []
    load0 = os.getloadavg()
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        for _ in range(args.rounds):
            ceilings.append(cpu_ceiling(pool))
            for k, fn in arms.items():
                out = fn()
                wall, in_tasks = out if isinstance(out, tuple) else (out, None)
                times[k].append(wall)
                if in_tasks is not None:
                    inside[k].append(in_tasks)
    load1 = os.getloadavg()
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med["loop, 1 thread"]
    n = len(cfgs)
    print(f"sweep of {n} LeNet-5 configs (L1, λ 1e-4 x 2^i), MNIST {args.train} train / 1000 test images, 1 epoch; "
          f"{args.rounds} interleaved rounds; torch {torch.__version__}, {os.cpu_count()} cores, "
          f"{platform.processor() or platform.machine()}; load average {load0[0]:.1f} before, {load1[0]:.1f} after")
    print(f"{'arm':28s} {'median s':>9s} {'s/task':>8s} {'vs loop 1 thread':>17s} {'in tasks s':>11s}   rounds")
    for k, v in times.items():
        in_t = f"{statistics.median(inside[k]):11.2f}" if inside[k] else f"{'':11s}"
        print(f"{k:28s} {med[k]:9.2f} {med[k] / n:8.2f} {med[k] / base:16.2f}x {in_t}   "
              + " ".join(f"{x:.2f}" for x in v))
    overhead = med["dask 1 worker"] / base - 1
    # paired per round as well: the load on a shared machine drifts between rounds
    paired = [d / lp - 1 for d, lp in zip(times["dask 1 worker"], times["loop, 1 thread"])]
    speedup = med["dask 1 worker"] / med["dask 2 workers"]
    paired_speedup = [a / b for a, b in zip(times["dask 1 worker"], times["dask 2 workers"])]
    cold_extra = med["dask 2 workers, cold"] - med["dask 2 workers"]
    print(f"engine overhead per task (dask 1 worker vs loop, 1 thread each): {100 * overhead:+.1f} % "
          f"= {(med['dask 1 worker'] - base) / n:+.3f} s/task (per round: "
          f"{', '.join(f'{100 * p:+.1f} %' for p in paired)}); "
          f"target <= 5 %: {'met' if overhead <= 0.05 else 'missed'}")
    print(f"2-worker speed-up (dask 1 -> 2 workers): {speedup:.2f}x (per round: "
          f"{', '.join(f'{x:.2f}x' for x in paired_speedup)}); target >= 1.7x: "
          f"{'met' if speedup >= 1.7 else 'missed'}; vs the loop with {n_threads} threads: "
          f"{med[f'loop, {n_threads} threads'] / med['dask 2 workers']:.2f}x")
    print("CPU ceiling of 2 processes on this machine at the start of each round (2.00 = two idle cores): "
          + ", ".join(f"{c:.2f}x" for c in ceilings))
    stretch = statistics.median(inside["dask 2 workers"]) / statistics.median(inside["dask 1 worker"])
    print(f"the same tasks took {stretch:.2f}x their 1-worker time inside the 2 workers (1.00x if each worker "
          f"had a core to itself), which bounds the 2-worker speed-up at 2 / {stretch:.2f} = {2 / stretch:.2f}x")
    print(f"cold start + close of a 2-worker local cluster: {cold_extra:+.1f} s on top of the warm 2-worker sweep")


if __name__ == "__main__":
    main()
