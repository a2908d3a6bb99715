"""Named sweep grids: ``GRIDS[name](profile) -> list[hgsr.sweep.Task]``, run by
:func:`hgsr.sweep.run_sweep`, or from the shell::

    python -m hgsr.study.grids GRID --profile P [--scheduler tcp://HOST:PORT] [--workers N]
                                     [--retries 2] [--csv rows.csv] [--no-progress]

Without ``--scheduler`` (or ``$HGSR_SCHEDULER``) a local cluster of ``--workers`` processes (default:
one per core) is started and closed. Runs are cached in ``$HGSR_RUNS`` (default ``runs/``), which
must be on a filesystem every worker sees. Failed tasks are listed with their config and error; the
last line is ``trained N, cached M, failed F`` and the exit status is 1 if any task failed.

- ``lenet_families``: every LeNet-5/MNIST family of :data:`hgsr.study.families.FAMILIES` at its
  registered λ scaled by each of :data:`LAM_MULTS` (every ``lam*`` key of the spec scaled together;
  the unregularized baselines once), for each seed of the profile (:data:`SEEDS`).
- ``smoke``: a handful of tiny LeNet-5 runs on the generated ``synthetic`` set (tests, CI), one of
  them listed twice to exercise deduplication.
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable

from .. import experiments
from ..sweep import Task, run_sweep
from .families import FAMILIES, family_config

LAM_MULTS = (0.25, 0.5, 1.0, 2.0, 4.0)   # log-spaced around each family's registered λ
SEEDS: dict[str, tuple] = {}             # seeds per profile where more than (0,) are wanted


def scale_lams(spec, mult: float):
    """A copy of a regularizer spec with every ``lam*`` value multiplied by ``mult``."""
    if spec is None or mult == 1:
        return spec   # unchanged: the x1 point is the family's own run (same hash, shared cache)
    return {k: (v * mult if k.startswith("lam") else v) for k, v in spec.items()}


def lenet_families(profile: str = "default") -> list[Task]:
    tasks = []
    for seed in SEEDS.get(profile, (0,)):
        for name, fam in FAMILIES.items():
            mults = (1.0,) if fam.regularizer is None else LAM_MULTS
            for mult in mults:
                cfg = family_config(name, profile, seed=seed)
                cfg = cfg.replace(regularizer=scale_lams(cfg.regularizer, mult))
                tasks.append(Task(cfg, tags={"family": name, "label": fam.label, "lam_mult": mult}))
    return tasks


def smoke(profile: str = "smoke") -> list[Task]:
    """Four tiny configs (one listed twice) on the synthetic set; ``profile`` only labels them."""
    base = experiments.Config(dataset="synthetic", model="lenet5", train_subset=256, test_subset=128,
                              epochs=1, lr=0.05, batch_size=64, profile=profile)
    specs = [None, {"key": "l1", "lam": 1e-3}, {"key": "l1", "lam": 1e-2},
             {"key": "group_lasso", "lam": 0.017, "group": "filter"}, {"key": "l1", "lam": 1e-3}]
    return [Task(base.replace(regularizer=s), tags={"grid": "smoke"}) for s in specs]


GRIDS: dict[str, Callable[[str], list[Task]]] = {"lenet_families": lenet_families, "smoke": smoke}


def grid(name: str, profile: str = "default") -> list[Task]:
    """The tasks of a named grid at a profile's budget."""
    if name not in GRIDS:
        raise ValueError(f"unknown grid {name!r}; known: {', '.join(GRIDS)}")
    experiments.profile(profile)   # an unknown profile names the known ones
    return GRIDS[name](profile)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hgsr.study.grids", description="Run a named sweep grid on Dask.")
    ap.add_argument("grid", choices=sorted(GRIDS), help="a grid of GRIDS")
    ap.add_argument("--profile", default="default", choices=sorted(experiments.PROFILES))
    ap.add_argument("--scheduler", default=None, help="tcp://HOST:PORT of a running Dask scheduler")
    ap.add_argument("--workers", type=int, default=None, help="local cluster size (default: one per core)")
    ap.add_argument("--retries", type=int, default=2)
    ap.add_argument("--csv", default=None, help="also write the rows to this CSV file")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        ap.error(f"--workers must be a positive integer, got {args.workers}")
    if args.retries < 0:
        ap.error(f"--retries must be a non-negative integer, got {args.retries}")

    tasks = grid(args.grid, args.profile)
    result = run_sweep(tasks, scheduler=args.scheduler, workers=args.workers, progress=not args.no_progress,
                       retries=args.retries)
    if args.csv:
        result.rows.to_csv(args.csv, index=False)
        print(f"rows: {args.csv}")
    for f in result.failures:
        print(f"FAILED {f['hash']} ({f['description']}): {f['error']}")
    print(f"{args.grid} at profile {args.profile}: {len(result.rows)} rows in {result.seconds:.1f} s")
    print(result.summary())
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
