"""Sweeps of many runs on a Dask cluster, with the ``runs/`` cache as the shared state.

    tasks = [Task(experiments.recipe("lenet5_mnist", "smoke", regularizer={"key": "l1", "lam": lam}))
             for lam in (1e-3, 3e-3, 1e-2)]
    result = run_sweep(tasks)           # a LocalCluster with one single-threaded worker per core
    result.rows                         # one row per unique config; result.summary() -> "trained 3, ..."

From the shell, ``python -m hgsr.sweep package.module:function --profile P [--scheduler ADDR]
[--workers N] [--retries R] [--csv F] [--no-progress]`` runs the tasks that ``function(P)`` returns
(:func:`main`); the study's named grids also run as ``python -m hgsr.study.grids NAME``.

A :class:`Task` is one :class:`~hgsr.experiments.Config` and a picklable function ``fn(config) ->
dict`` (one result row); the default, :func:`train_row`, trains or loads the run and reports its
test accuracy, size and zero filters. The engine is generic: the study passes its own ``fn`` (e.g.
train, compact, fine-tune, measure).

Where it runs: by default a ``LocalCluster`` (``workers`` processes, one thread each) started and
closed by :func:`run_sweep`; ``scheduler="tcp://HOST:PORT"`` (or ``$HGSR_SCHEDULER``) connects to
an existing cluster instead (e.g. dask-jobqueue on SLURM). Every task writes to the client's
``runs/`` folder (``$HGSR_RUNS``), which must then be the same path on a shared filesystem for all
hosts. The local workers are spawned processes that import the main script again, so a script must
call :func:`run_sweep` under ``if __name__ == "__main__":`` (a notebook need not; an unguarded script
gets an error that says so).

Guarantees:

- configs are deduplicated by config hash (the first task of a hash wins); a config whose
  ``runs/<hash>/result.pt`` already holds its result is not trained again: its row is read in a task
  and counted as *cached*;
- a task first takes an exclusive **claim** on its config hash (:func:`claim`: a lock file created
  with ``O_CREAT | O_EXCL``, naming its owner's host, pid and process start time, refreshed by a
  heartbeat), so two sweeps running at the same time never train one config twice at once: the
  second waits (off the worker's thread pool, so the worker can run other tasks meanwhile), then
  reads the cached result. A claim whose owner died is taken over: at once on the same host (the
  pid is gone), after :data:`CLAIM_STALE_S` without heartbeat from another host. ``init_from``
  parents are trained first, each under its own claim;
- a worker that dies mid-task: the scheduler reruns the task on another worker (up to ``retries``
  times for a local cluster) and the run resumes after its last finished epoch from
  ``runs/<hash>/checkpoint.pt``. Results are written atomically, so nothing half-written is read;
- a task that raises is retried ``retries`` times, then reported in :attr:`SweepResult.failures`
  with its config hash, a short description and the error; the other tasks go on. An error that the
  same config raises every time (:data:`DETERMINISTIC_ERRORS`: a diverged run, an invalid argument) is
  reported at once, not retried.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading
import time
import traceback
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pandas as pd
import psutil  # a dependency of distributed

from . import experiments
from .errors import InvalidArgument, InvalidType, check_bool, check_nonneg_int, check_positive, check_positive_int
from .io import environment
from .train import NonFiniteLoss

# A claim's owner refreshes its lock file's mtime every CLAIM_HEARTBEAT_S seconds; a claim held
# from another host is taken over once its mtime is CLAIM_STALE_S old (generous: clocks of the
# hosts of a shared filesystem may disagree by a few seconds).
CLAIM_HEARTBEAT_S = 10.0
CLAIM_STALE_S = 120.0
CLAIM_FILE = "claim.lock"
_HOST = socket.gethostname()
_CLUSTER_START = threading.Lock()


# ----------------------------------------------------------------------------------------- tasks

def describe(config: experiments.Config) -> str:
    """A short human description of a config, e.g. ``lenet5/mnist l1(lam=0.005) seed 0``."""
    reg = config.regularizer
    if reg is None:
        reg_text = "no regularizer"
    elif isinstance(reg, dict):
        args = ", ".join(f"{k}={v}" for k, v in reg.items() if k != "key")
        reg_text = f"{reg.get('key', '?')}({args})"
    else:
        reg_text = str(reg)
    kw = "".join(f" {k}={v}" for k, v in sorted(config.model_kw.items()))
    parent = f" from {config.init_from.hash()}" if config.init_from is not None else ""
    return f"{config.model}{kw}/{config.dataset} {reg_text}, {config.epochs} ep, seed {config.seed}{parent}"


def train_row(config: experiments.Config) -> dict:
    """The default task: train (or load) the run of ``config`` and report one row: test accuracy and
    error, parameters, MACs, zero filters (``experiments.summarize``'s metrics) and the config's
    main fields."""
    run = experiments.run(config, progress=False)
    m = run.metrics
    reg = config.regularizer
    return {"dataset": config.dataset, "model": config.model, "model_kw": json.dumps(config.model_kw, sort_keys=True),
            "regularizer": reg.get("key") if isinstance(reg, dict) else reg,
            "regularizer_spec": json.dumps(reg, sort_keys=True, default=str),
            "epochs": config.epochs, "seed": config.seed, "profile": config.profile,
            "test_acc": m["test_acc"], "test_error": 1.0 - m["test_acc"], "params": m["params"],
            "macs": m["macs"], "zero_filters": m["zero_filters"], "filters": m["filters"],
            "zero_channels": m["zero_channels"], "weight_sparsity": m["weight_sparsity"]}


@dataclass(frozen=True)
class Task:
    """One config of a sweep and the function that turns it into a row.

    ``fn(config) -> dict`` must be picklable (a module-level function); ``tags`` are extra columns
    put in front of the row (e.g. ``{"family": "l1", "lam_mult": 0.5}``).
    """

    config: experiments.Config
    fn: Callable[[experiments.Config], dict] = train_row
    tags: dict = field(default_factory=dict)

    @property
    def hash(self) -> str:
        return self.config.hash()

    def describe(self) -> str:
        return describe(self.config)


@dataclass
class SweepResult:
    """What :func:`run_sweep` returns: ``rows`` (one per unique config that completed, in the order
    of the tasks; columns ``hash``, ``status`` (``trained``/``cached``), ``description``, the
    task's tags, the row of its ``fn``, then ``task_s`` (the task's seconds in its worker) and
    ``wait_s`` (of which waiting on other sweeps' claims)), the counts, and ``failures`` (one dict per failed
    task: ``hash``, ``description``, ``config``, ``error``, ``error_type`` (the exception's class name, None
    for a cancelled task), ``traceback``)."""

    rows: pd.DataFrame
    trained: int
    cached: int
    failed: int
    failures: list[dict]
    duplicates: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return f"trained {self.trained}, cached {self.cached}, failed {self.failed}"


def unique_tasks(tasks: Iterable[Task]) -> tuple[list[Task], int]:
    """Tasks deduplicated by config hash (the first of each hash kept), and how many were dropped."""
    seen: dict[str, Task] = {}
    n = 0
    for t in tasks:
        if not isinstance(t, Task):
            raise InvalidType(f"tasks must hold hgsr.sweep.Task objects, got {type(t).__name__}")
        n += 1
        seen.setdefault(t.hash, t)
    return list(seen.values()), n - len(seen)


# ----------------------------------------------------------------------------------------- claims

def _process_start(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError):
        return None


def _alive(pid: int, started: float | None) -> bool:
    """Whether the process ``pid`` of this host still runs (and is the one that started then)."""
    try:
        p = psutil.Process(pid)
        if p.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(p.create_time() - started) < 0.01
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # e.g. access denied: it exists
        return True


def _read_claim(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None    # absent, or created but not yet written


def _claim_is_stale(path: Path, owner: dict | None, stale_after: float) -> bool:
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return False   # released meanwhile: just try again
    if owner and owner.get("host") == _HOST and isinstance(owner.get("pid"), int):
        return not _alive(owner["pid"], owner.get("started"))
    return age > stale_after


def _break_claim(path: Path, seen: dict | None, stale_after: float) -> None:
    """Remove the stale claim ``seen`` at ``path``, unless someone else is already doing so or the
    claim changed meanwhile (a guard file makes the check-and-remove exclusive)."""
    guard = path.with_name(path.name + ".break")
    try:
        fd = os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        try:
            if time.time() - guard.stat().st_mtime > stale_after:   # a breaker died mid-break
                guard.unlink()
        except FileNotFoundError:
            pass
        return
    try:
        if _read_claim(path) == seen and _claim_is_stale(path, seen, stale_after):
            path.unlink(missing_ok=True)
    finally:
        os.close(fd)
        guard.unlink(missing_ok=True)


def _in_worker() -> bool:
    try:
        from distributed import get_worker
        get_worker()
        return True
    except (ImportError, ValueError):
        return False


@contextmanager
def claim(folder: str | os.PathLike, stale_after: float | None = None, heartbeat: float | None = None,
          max_poll: float = 2.0) -> Iterator[dict]:
    """Hold the exclusive claim on ``folder`` (``folder/claim.lock``) for the ``with`` block.

    Waits while another live process holds it (polling with backoff up to ``max_poll`` seconds; in
    a Dask worker the waiting task leaves the worker's thread pool meanwhile). A claim whose owner
    died is taken over (see the module docstring). Yields ``{"waited": seconds}``.
    """
    stale_after = CLAIM_STALE_S if stale_after is None else check_positive("stale_after", stale_after)
    heartbeat = CLAIM_HEARTBEAT_S if heartbeat is None else check_positive("heartbeat", heartbeat)
    max_poll = check_positive("max_poll", max_poll)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CLAIM_FILE
    me = {"host": _HOST, "pid": os.getpid(), "started": _process_start(os.getpid()), "token": uuid.uuid4().hex}
    t0, delay, seceded = time.monotonic(), 0.05, False
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            seen = _read_claim(path)
            if _claim_is_stale(path, seen, stale_after):
                _break_claim(path, seen, stale_after)
                continue
            if not seceded and _in_worker():
                from distributed import secede
                secede()   # free the worker's slot while we wait
                seceded = True
            time.sleep(delay)
            delay = min(delay * 2, max_poll)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(me))
            f.flush()
            os.fsync(f.fileno())
        break
    info = {"waited": time.monotonic() - t0}
    stop = threading.Event()

    def beat():
        while not stop.wait(heartbeat):
            try:
                os.utime(path)
            except OSError:
                pass

    beater = threading.Thread(target=beat, name=f"claim-heartbeat-{folder.name}", daemon=True)
    beater.start()
    try:
        if seceded:
            from distributed import rejoin
            rejoin()
        yield info
    finally:
        stop.set()
        beater.join()
        if (_read_claim(path) or {}).get("token") == me["token"]:   # never remove a claim that is not ours
            path.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------- one task

def result_ready(config: experiments.Config) -> bool:
    """Whether ``runs/<hash>/result.pt`` holds a readable result of exactly ``config``."""
    path = experiments.runs_dir() / config.hash() / "result.pt"
    if not path.exists():
        return False
    hit = experiments.load_cached(path)
    return hit is not None and hit.get("config") == config.to_dict()


def _ancestors(config: experiments.Config) -> list[experiments.Config]:
    chain, c = [], config.init_from
    while c is not None:
        chain.append(c)
        c = c.init_from
    return chain[::-1]


def execute(task: Task, runs: str | os.PathLike | None = None) -> dict:
    """Run one task under its claims (what each Dask task does; also callable directly).

    ``runs``: the cache folder to use (the client's, so every worker writes where the client reads).
    Returns ``{"row": dict, "status": "trained" | "cached", "seconds", "waited", "host", "pid"}``.
    """
    def use_runs():
        # again after each wait: while this task waited off the thread pool, another task (maybe of
        # another sweep, with another folder) may have run in this worker process
        if runs is not None:
            os.environ["HGSR_RUNS"] = str(runs)

    use_runs()
    t0 = time.monotonic()
    root = experiments.runs_dir()
    waited = 0.0
    for parent in _ancestors(task.config):
        with claim(root / parent.hash()) as c:
            use_runs()
            waited += c["waited"]
            if not result_ready(parent):
                experiments.run(parent, progress=False)
    with claim(root / task.hash) as c:
        use_runs()
        waited += c["waited"]
        status = "cached" if result_ready(task.config) else "trained"
        out = task.fn(task.config)
    if not isinstance(out, dict):
        raise InvalidType(f"the task function {getattr(task.fn, '__name__', task.fn)!r} must return a dict, "
                          f"got {type(out).__name__}")
    seconds = time.monotonic() - t0
    row = {"hash": task.hash, "status": status, "description": task.describe(), **task.tags, **out}
    row.update(hash=task.hash, status=status, task_s=seconds, wait_s=waited)   # the engine's columns win
    return {"row": row, "status": status, "seconds": seconds, "waited": waited, "host": _HOST, "pid": os.getpid()}


# ----------------------------------------------------------------------------------------- engine

def _dashboard_line(client) -> str:
    try:
        import bokeh  # noqa: F401  (the dashboard needs it)
        return f"dask dashboard: {client.dashboard_link}"
    except ImportError:
        return (f"dask scheduler {client.scheduler.address} (dashboard: `pip install bokeh` to enable it "
                f"at {client.dashboard_link})")


# Errors a config raises on every attempt: the sweep reports them at once instead of retrying the task.
DETERMINISTIC_ERRORS = (NonFiniteLoss, InvalidArgument, InvalidType)


def execute_or_report(task: Task, runs: str | os.PathLike | None = None) -> dict:
    """:func:`execute`, except that an error of :data:`DETERMINISTIC_ERRORS` is returned as
    ``{"exception": exc, "traceback": text}`` instead of raised, so that Dask does not retry it (what
    each Dask task of :func:`run_sweep` runs); any other error is raised and retried."""
    try:
        return execute(task, runs)
    except DETERMINISTIC_ERRORS as exc:
        return {"exception": exc, "traceback": "".join(traceback.format_tb(exc.__traceback__))}


def _failure(task: Task, exc: BaseException | None, tb) -> dict:
    """One entry of :attr:`SweepResult.failures`; ``tb``: a traceback object or its text."""
    error = f"{type(exc).__name__}: {exc}" if exc is not None else "cancelled (no result)"
    tb_text = tb if isinstance(tb, str) else "".join(traceback.format_tb(tb)) if tb is not None else ""
    return {"hash": task.hash, "description": task.describe(), "config": task.config.to_dict(),
            "error": error, "error_type": type(exc).__name__ if exc is not None else None, "traceback": tb_text}


# Scheduler and worker settings of the clusters this module starts (see local_cluster).
CLUSTER_CONFIG = {
    # A worker gets a task only when its thread is free: the default 1.1 queues a second run behind a
    # running one on a 1-thread worker while another worker may go idle.
    "distributed.scheduler.worker-saturation": 1.0,
    # Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which makes glibc return freed
    # memory to the OS at once and fixes its mmap threshold: torch's CPU training then runs ~1.5x
    # slower (measured on LeNet-5 here). The runs are few and long, so keep glibc's defaults.
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
}


def local_cluster(workers: int | None = None, retries: int = 2, **kwargs):
    """A ``LocalCluster`` as :func:`run_sweep` starts one: ``workers`` processes (default: one per
    core) of one thread each, with :data:`CLUSTER_CONFIG`; a task may kill its worker ``retries``
    times before it is reported as failed. ``kwargs`` go to ``LocalCluster``."""
    import dask
    from distributed import LocalCluster

    workers = check_positive_int("workers", workers, optional=True)
    retries = check_nonneg_int("retries", retries)
    if os.environ.get("MALLOC_TRIM_THRESHOLD_") == "65536":
        # left in this process's environment by an earlier Dask cluster (its nanny sets it before
        # spawning): it would reach the new workers through the inherited environment
        del os.environ["MALLOC_TRIM_THRESHOLD_"]
    opts = dict(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                silence_logs=logging.ERROR, scheduler_kwargs={"allowed_failures": retries})
    # the lock: distributed's lazy imports race when two threads start clusters at once
    with _CLUSTER_START, dask.config.set(CLUSTER_CONFIG):
        keys = [*dask.config.get("distributed.nanny.pre-spawn-environ"), "PYTHONHASHSEED"]
        # the nannies set their workers' variables (OMP_NUM_THREADS=1, ...) in this process too before
        # spawning (again before any restart): do not leave them to this process's children
        with environment(restore=keys):
            try:
                return LocalCluster(**{**opts, **kwargs})
            except Exception as exc:
                script = getattr(sys.modules.get("__main__"), "__file__", None)
                if script is None:   # an interactive session or a notebook: no script to re-import
                    raise
                raise RuntimeError(
                    f"the local Dask cluster could not start its worker processes ({type(exc).__name__}: {exc}). "
                    f"Worker processes are spawned and import the main script {script!r} again: a script that calls "
                    f"run_sweep or local_cluster must do so under `if __name__ == \"__main__\":` (Python's 'spawn' "
                    f"start method); other causes are in the worker errors printed above") from exc


def run_sweep(tasks: Iterable[Task], scheduler=None, workers: int | None = None, progress: bool = True,
              retries: int = 2) -> SweepResult:
    """Run ``tasks`` on a Dask cluster; return rows, counts and failures (see the module docstring).

    ``scheduler``: ``None`` starts a ``LocalCluster(n_workers=workers or os.cpu_count(),
    threads_per_worker=1, processes=True)`` for this call (unless ``$HGSR_SCHEDULER`` names one); a
    ``"tcp://HOST:PORT"`` address connects to a running cluster; a ``distributed.Client`` is used as
    it is (and left open). ``retries``: reruns of a task that raised (other than
    :data:`DETERMINISTIC_ERRORS`, reported at once); for a local cluster also the number of worker deaths
    a task may cause before it is reported as failed.
    """
    from distributed import Client, as_completed

    workers = check_positive_int("workers", workers, optional=True)
    retries = check_nonneg_int("retries", retries)
    progress = check_bool("progress", progress)
    todo, duplicates = unique_tasks(tasks)
    t0 = time.monotonic()
    runs = os.path.abspath(experiments.runs_dir())
    say = print if progress else (lambda *a, **k: None)

    scheduler = scheduler if scheduler is not None else os.environ.get("HGSR_SCHEDULER") or None
    if not (scheduler is None or isinstance(scheduler, str) or hasattr(scheduler, "submit")):
        raise InvalidType(f"scheduler must be None, an address like 'tcp://HOST:PORT' or a distributed.Client, "
                          f"got {type(scheduler).__name__}")
    cluster = client = None
    own_client = not hasattr(scheduler, "submit")
    rows: dict[str, dict] = {}
    failures: list[dict] = []
    counts = {"trained": 0, "cached": 0}
    try:
        if todo:
            if scheduler is None:
                cluster = local_cluster(workers, retries=retries)
                client = Client(cluster, set_as_default=False)
            elif isinstance(scheduler, str):
                client = Client(scheduler, set_as_default=False)
            else:
                client = scheduler
            say(_dashboard_line(client))
            say(f"sweep: {len(todo)} configs ({duplicates} duplicates dropped), runs in {runs}")
            token = uuid.uuid4().hex[:8]
            # one graph update for all tasks: a large enough group is queued on the scheduler and
            # handed to workers as their threads free up (Dask's "root-ish" tasks)
            futs = client.map(execute_or_report, todo, [runs] * len(todo), key=[f"hgsr-{t.hash}-{token}" for t in todo],
                              retries=retries, pure=False)
            futures = dict(zip(futs, todo))
            from .progress import progress_bar
            bar = progress_bar(total=len(todo), desc="sweep", unit="run", enabled=progress, dynamic_ncols=True)
            try:
                for fut in as_completed(futures, loop=client.loop):
                    task, failure = futures[fut], None
                    if fut.status == "finished":
                        try:
                            out = fut.result()
                        except Exception as exc:   # e.g. the result could not be unpickled
                            failure = _failure(task, exc, exc.__traceback__)
                        else:
                            if "exception" in out:     # a deterministic error, reported without retries
                                failure = _failure(task, out["exception"], out["traceback"])
                            else:
                                rows[task.hash] = out["row"]
                                counts[out["status"]] += 1
                    else:
                        exc = fut.exception() if fut.status == "error" else None
                        failure = _failure(task, exc, fut.traceback() if fut.status == "error" else None)
                    if failure is not None:
                        failures.append(failure)
                        if progress:
                            bar.write(f"failed {task.hash} ({task.describe()}): {failure['error']}")
                    bar.update(1)
                    bar.set_postfix(trained=counts["trained"], cached=counts["cached"], failed=len(failures))
            finally:
                bar.close()
                pending = [f for f in futures if not f.done()]
                if pending:   # interrupted: do not leave work queued on a shared cluster
                    client.cancel(pending)
    finally:
        if own_client and client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    ordered = [rows[t.hash] for t in todo if t.hash in rows]
    return SweepResult(rows=pd.DataFrame(ordered), trained=counts["trained"], cached=counts["cached"],
                       failed=len(failures), failures=failures, duplicates=duplicates,
                       seconds=time.monotonic() - t0)


def load_grid(spec: str) -> Callable[[str], list]:
    """The grid function named by ``"package.module:function"`` (called with a profile name, it returns
    the tasks); a named error for a spec of another form, a module that does not import or a missing
    function."""
    import importlib

    if not isinstance(spec, str) or spec.count(":") != 1 or not all(spec.split(":")):
        raise InvalidArgument(f"grid {spec!r} must be 'package.module:function' (a function of a profile name that "
                              f"returns the tasks), e.g. 'hgsr.study.grids:lenet_families'")
    module, name = spec.split(":")
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise InvalidArgument(f"grid {spec!r}: module {module!r} cannot be imported ({exc})") from exc
    fn = getattr(mod, name, None)
    if not callable(fn):
        raise InvalidArgument(f"grid {spec!r}: module {module!r} has no function {name!r}")
    return fn


def main(argv: list[str] | None = None, grids: dict[str, Callable[[str], list]] | None = None,
         prog: str = "python -m hgsr.sweep") -> int:
    """The sweep command line: ``GRID --profile P [--scheduler ADDR] [--workers N] [--retries R] [--csv F]
    [--no-progress]``. ``GRID`` is a name of ``grids`` (a caller's named grids, e.g. the study's) or
    ``package.module:function`` (:func:`load_grid`). Failed tasks are listed with their config and error;
    the last line is ``trained N, cached M, failed F``; the exit status is 1 if any task failed."""
    import argparse

    names = sorted(grids or {})
    ap = argparse.ArgumentParser(prog=prog, description="Run a sweep grid on Dask (a local cluster unless "
                                 "--scheduler or $HGSR_SCHEDULER names one).")
    ap.add_argument("grid", help=(f"one of {', '.join(names)}, or " if names else "") + "package.module:function")
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
    if grids and args.grid in grids:
        make = grids[args.grid]
    elif ":" in args.grid:
        make = load_grid(args.grid)
    else:
        ap.error(f"unknown grid {args.grid!r}; give " + (f"one of {', '.join(names)} or " if names else "")
                 + "package.module:function, e.g. hgsr.study.grids:lenet_families")
    tasks = make(args.profile)
    if not isinstance(tasks, list) or not all(isinstance(t, Task) for t in tasks):
        raise InvalidType(f"grid {args.grid!r} must return a list of hgsr.sweep.Task, got {type(tasks).__name__}")

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


__all__ = ["Task", "SweepResult", "run_sweep", "load_grid", "main", "local_cluster", "CLUSTER_CONFIG", "train_row", "describe", "claim",
           "execute", "result_ready", "unique_tasks", "CLAIM_HEARTBEAT_S", "CLAIM_STALE_S"]


if __name__ == "__main__":
    # run the imported module's main: under ``python -m`` this file is ``__main__``, whose Task class is not
    # the hgsr.sweep.Task that grids build
    from hgsr.sweep import main as _main
    sys.exit(_main())
