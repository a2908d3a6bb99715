"""Run a named sweep grid on Dask (:mod:`hgsr.sweep`; grids in :mod:`hgsr.study.grids`).

    python -m hgsr.suite.run_sweep GRID --profile P [--scheduler tcp://HOST:PORT] [--workers N]
                                         [--retries 2] [--csv rows.csv] [--no-progress]

Without ``--scheduler`` (or ``$HGSR_SCHEDULER``) a local cluster of ``--workers`` processes (default:
one per core) is started and closed. Runs are cached in ``$HGSR_RUNS`` (default ``runs/``), which
must be on a filesystem every worker sees. Failed tasks are listed with their config and error; the
last line is ``trained N, cached M, failed F`` and the exit status is 1 if any task failed.
"""
from __future__ import annotations

import argparse
import sys

from .. import experiments
from ..sweep import run_sweep
from ..study import grids


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hgsr.suite.run_sweep", description=__doc__.split("\n\n")[0])
    ap.add_argument("grid", choices=sorted(grids.GRIDS), help="a grid of hgsr.study.grids.GRIDS")
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

    tasks = grids.grid(args.grid, args.profile)
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
