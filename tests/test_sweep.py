"""The Dask sweep engine (hgsr.sweep) on tiny LeNet-5 runs of the synthetic set: completion and
deduplication, the cache across sweeps, a worker killed mid-run, two concurrent sweeps, a failing
task, the claim file, and the CLI (python -m hgsr.study.grids).

One LocalCluster (2 single-threaded worker processes) serves most tests through its address; the
concurrent-sweeps test starts its own two clusters through run_sweep's default path. The task
functions below are module-level so the workers can unpickle them (this module is importable there:
the workers inherit the test process's sys.path)."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hgsr import experiments, sweep
from hgsr.study import grids

ROOT = Path(__file__).resolve().parents[1]
OMP_BEFORE_ANY_CLUSTER = os.environ.get("OMP_NUM_THREADS")


def runs() -> Path:
    return Path(os.environ["HGSR_RUNS"])


def smoke_tasks(fn=sweep.train_row, epochs=1):
    return [sweep.Task(t.config.replace(epochs=epochs), fn=fn, tags=t.tags) for t in grids.smoke("smoke")]


def all_results_load():
    found = sorted(runs().glob("*/result.pt"))
    assert found
    for p in found:
        assert experiments.load_cached(p) is not None, f"{p} does not load"
    return found


# --------------------------------------------------------------- task functions run by the workers

def kill_once_then_train(config):
    """The first attempt for the l1 lam=1e-2 config trains one epoch (checkpoint written), then kills
    its own worker process; the retry notes whether it found the checkpoint, then trains normally."""
    folder = runs() / config.hash()
    marker = runs() / f"killed-{config.hash()}"
    spec = config.regularizer or {}
    if spec.get("lam") == 1e-2 and not marker.exists():
        marker.touch()
        from hgsr import train
        fit = train.fit

        def fit_then_die(*a, **kw):
            fit(*a, **{**kw, "_stop_after": 1})
            os._exit(1)
        train.fit = fit_then_die
        experiments.run(config, progress=False)
    if marker.exists():
        ck = folder / "checkpoint.pt"
        epoch = experiments.load_cached(ck)["epoch"] if ck.exists() else None
        (runs() / f"resumed-{config.hash()}").write_text(json.dumps({"checkpoint_epoch": epoch}))
    return sweep.train_row(config)


def count_trainings(config):
    """Append the hash to trainings.log whenever this call is going to train (it runs under the
    config's claim, so the check and the training are atomic across sweeps)."""
    if not sweep.result_ready(config):
        with open(runs() / "trainings.log", "a") as f:
            f.write(config.hash() + "\n")
        time.sleep(0.5)   # widen the window in which the other sweep meets the claim
    return sweep.train_row(config)


def slow_when_training(config):
    """Like count_trainings, but holds the claim for 3 s while training; notes when it starts and ends."""
    (runs() / f"start-{config.hash()}-{os.getpid()}").write_text(str(time.time()))
    if not sweep.result_ready(config):
        with open(runs() / "trainings.log", "a") as f:
            f.write(config.hash() + "\n")
        time.sleep(3)
    out = sweep.train_row(config)
    (runs() / f"done-{config.hash()}-{os.getpid()}-{time.time_ns()}").write_text(str(time.time()))
    return out


def note_start(config):
    (runs() / f"start-{config.hash()}-{os.getpid()}").write_text(str(time.time()))
    return sweep.train_row(config)


def _warm():
    import hgsr.sweep  # noqa: F401
    experiments.dataset_for(smoke_tasks()[0].config)


def note_attempt_then_fail(config):
    """Appends the hash to attempts.log, then raises: InvalidArgument (deterministic) for the l1 configs,
    a plain RuntimeError (maybe transient) for the others."""
    with open(runs() / "attempts.log", "a") as f:
        f.write(config.hash() + "\n")
    if (config.regularizer or {}).get("key") == "l1":
        from hgsr.errors import InvalidArgument
        raise InvalidArgument("lam is not allowed here (a deterministic error)")
    raise RuntimeError("a transient error")


def fail_on_group_lasso(config):
    if (config.regularizer or {}).get("key") == "group_lasso":
        raise ValueError("boom: this config always fails")
    return sweep.train_row(config)


# ------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def scheduler():
    with sweep.local_cluster(2, dashboard_address=":0") as cluster:   # as run_sweep starts its own
        yield cluster.scheduler_address


# ----------------------------------------------------------------------------------------- tests

def test_grid_completes_once_per_config_then_is_all_cached(scheduler):
    tasks = smoke_tasks()
    unique = list(dict.fromkeys(t.hash for t in tasks))
    assert len(unique) == len(tasks) - 1          # the smoke grid lists one config twice
    first = sweep.run_sweep(tasks, scheduler=scheduler, progress=False)
    assert (first.trained, first.cached, first.failed, first.duplicates) == (len(unique), 0, 0, 1)
    assert first.rows["hash"].tolist() == unique   # one row per unique config, in task order
    assert set(first.rows["status"]) == {"trained"}
    assert first.rows["test_acc"].between(0, 1).all() and (first.rows["params"] > 0).all()
    assert {"zero_filters", "macs", "test_error", "grid", "description"} <= set(first.rows.columns)

    second = sweep.run_sweep(tasks, scheduler=scheduler, progress=False)
    assert (second.trained, second.cached, second.failed) == (0, len(unique), 0)
    assert second.summary() == f"trained 0, cached {len(unique)}, failed 0"
    cols = ["hash", "test_acc", "params", "macs", "zero_filters"]
    assert second.rows[cols].equals(first.rows[cols])
    assert not list(runs().glob(f"*/{sweep.CLAIM_FILE}*"))   # every claim released


def _worker_env():
    return {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")}


def test_local_workers_run_one_thread_without_dask_malloc_trim(scheduler):
    """Dask's MALLOC_TRIM_THRESHOLD_ slows torch's CPU training ~1.5x: local_cluster drops it, and does
    not leave its workers' variables in this process either."""
    from distributed import Client
    with Client(scheduler, set_as_default=False) as client:
        envs = list(client.run(_worker_env).values())
    assert envs == [{"MALLOC_TRIM_THRESHOLD_": None, "OMP_NUM_THREADS": "1"}] * 2
    assert os.environ.get("OMP_NUM_THREADS") == OMP_BEFORE_ANY_CLUSTER


def test_worker_killed_mid_run_resumes_and_leaves_no_corrupt_entry(scheduler):
    tasks = smoke_tasks(kill_once_then_train, epochs=2)
    res = sweep.run_sweep(tasks, scheduler=scheduler, progress=False, retries=2)
    victim = next(t for t in tasks if (t.config.regularizer or {}).get("lam") == 1e-2)
    assert (runs() / f"killed-{victim.hash}").exists(), "the worker was never killed"
    assert res.failed == 0 and len(res.rows) == 4 and res.trained == 4
    assert set(res.rows["hash"]) == {t.hash for t in tasks}
    # the retry found the first attempt's checkpoint after epoch 1 and finished the run from there
    assert json.loads((runs() / f"resumed-{victim.hash}").read_text()) == {"checkpoint_epoch": 1}
    run = experiments.run(victim.config, progress=False)
    assert run.history["epoch"].tolist() == [1, 2]
    assert len(all_results_load()) == 4
    assert not list(runs().glob("*/checkpoint.pt")) and not list(runs().glob(f"*/{sweep.CLAIM_FILE}*"))


def test_failing_task_is_reported_with_its_config_and_others_complete(scheduler):
    tasks = smoke_tasks(fail_on_group_lasso)
    res = sweep.run_sweep(tasks, scheduler=scheduler, progress=False, retries=1)
    bad = next(t for t in tasks if t.config.regularizer and t.config.regularizer["key"] == "group_lasso")
    assert (res.trained, res.failed) == (3, 1) and len(res.rows) == 3
    f = res.failures[0]
    assert f["hash"] == bad.hash and "group_lasso" in f["description"]
    assert f["config"] == bad.config.to_dict()
    assert "ValueError" in f["error"] and "boom" in f["error"] and "fail_on_group_lasso" in f["traceback"]
    assert not list(runs().glob(f"*/{sweep.CLAIM_FILE}*"))


@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")
def test_two_concurrent_sweeps_train_each_config_once():
    """Two sweeps, each with its own LocalCluster (run_sweep's default path), over the same grid in
    opposite orders, so that they meet on some config while the other trains it."""
    tasks = smoke_tasks(count_trainings)
    n = len({t.hash for t in tasks})
    out, errors = [None, None], []
    go = threading.Barrier(2)

    def one(i):
        try:
            go.wait()
            out[i] = sweep.run_sweep(tasks if i == 0 else tasks[::-1], workers=1, progress=False)
        except BaseException as e:   # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    trained = (runs() / "trainings.log").read_text().split()
    assert sorted(trained) == sorted({t.hash for t in tasks})   # each config trained exactly once
    assert out[0].trained + out[1].trained == n and out[0].cached + out[1].cached == n
    assert all(len(r.rows) == n and r.failed == 0 for r in out)
    for col in ["test_acc", "params", "zero_filters"]:
        assert out[0].rows.set_index("hash")[col].sort_index().equals(out[1].rows.set_index("hash")[col].sort_index())
    all_results_load()


def test_concurrent_execute_calls_train_once_and_the_waiter_reads_the_cache():
    """Without Dask: two threads run the same task; the second waits on the claim, then loads."""
    task = smoke_tasks(slow_when_training)[0]
    outs = []
    first = threading.Thread(target=lambda: outs.append(sweep.execute(task)))
    first.start()
    while not (runs() / task.hash / sweep.CLAIM_FILE).exists():
        time.sleep(0.01)
    second = sweep.execute(task)
    first.join(60)
    assert outs[0]["status"] == "trained" and second["status"] == "cached"
    assert second["waited"] > 1.0 and second["row"]["test_acc"] == outs[0]["row"]["test_acc"]
    assert (runs() / "trainings.log").read_text().split() == [task.hash]


def test_a_shared_init_from_parent_is_trained_once(monkeypatch):
    """Without Dask: two children of one parent run at once; the parent is trained first, under its claim."""
    from hgsr import train
    parent = smoke_tasks()[0].config
    kids = [sweep.Task(parent.replace(init_from=parent, lr=lr, epochs=1)) for lr in (0.01, 0.02)]
    trained, fit = [], train.fit

    def counting_fit(*a, **kw):
        trained.append(Path(kw["checkpoint"]).parent.name)
        time.sleep(0.5)
        return fit(*a, **kw)
    monkeypatch.setattr(train, "fit", counting_fit)
    outs = []
    threads = [threading.Thread(target=lambda k=k: outs.append(sweep.execute(k))) for k in kids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(o["status"] for o in outs) == ["trained", "trained"]
    assert sorted(trained) == sorted([parent.hash(), *(k.hash for k in kids)])


def test_a_task_waiting_on_another_sweeps_claim_frees_its_worker(scheduler):
    """Sweep A trains X (3 s) on one worker; sweep B (X and four quick Y) queues its tasks: B's X waits
    on A's claim on the other worker, off its thread pool, so some Y runs there meanwhile: after B's X
    began waiting and before A's X is done (without that, both workers would be busy then)."""
    from distributed import Client
    with Client(scheduler, set_as_default=False) as client:   # both workers warm (one may have been restarted)
        client.run(_warm)
    x = smoke_tasks(slow_when_training)[0]
    ys = [sweep.Task(x.config.replace(lr=lr), fn=note_start) for lr in (0.01, 0.02, 0.03, 0.04)]
    got = {}
    a = threading.Thread(target=lambda: got.update(a=sweep.run_sweep([x], scheduler=scheduler, progress=False)))
    a.start()
    while not (runs() / x.hash / sweep.CLAIM_FILE).exists():
        time.sleep(0.01)
    b = sweep.run_sweep([x, *ys], scheduler=scheduler, progress=False)
    a.join(60)
    assert (got["a"].trained, got["a"].cached, b.trained, b.cached) == (1, 0, 4, 1)
    assert (runs() / "trainings.log").read_text().split() == [x.hash]
    rows = b.rows.set_index("hash")
    done = {float(p.read_text()): p for p in runs().glob(f"done-{x.hash}-*")}
    a_done, b_done = sorted(done)
    b_began = b_done - rows.loc[x.hash, "task_s"]   # when B's X started (then waited on the claim)
    assert rows.loc[x.hash, "wait_s"] > 0.5
    y_starts = [float(next(runs().glob(f"start-{y.hash}-*")).read_text()) for y in ys]
    assert any(b_began < t < a_done for t in y_starts), (b_began, a_done, y_starts)


def test_cli_final_line_and_exit_status(scheduler, monkeypatch, capsys):
    env = {**os.environ, "HGSR_RUNS": str(runs()), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "hgsr.study.grids", "smoke", "--profile", "smoke", "--scheduler", scheduler,
           "--no-progress", "--csv", str(runs() / "rows.csv")]
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.strip().splitlines()[-1] == "trained 4, cached 0, failed 0"
    assert len((runs() / "rows.csv").read_text().strip().splitlines()) == 1 + 4

    monkeypatch.setitem(grids.GRIDS, "broken", lambda profile: smoke_tasks(fail_on_group_lasso))
    assert grids.main(["broken", "--profile", "smoke", "--scheduler", scheduler, "--no-progress", "--retries", "0"]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == "trained 0, cached 3, failed 1"
    assert any(line.startswith("FAILED ") and "group_lasso" in line and "boom" in line for line in lines)


def test_core_cli_runs_a_grid_named_by_module_and_function(scheduler):
    """``python -m hgsr.sweep package.module:function``: the core's command line, without the study's names."""
    env = {**os.environ, "HGSR_RUNS": str(runs()), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "hgsr.sweep", "hgsr.study.grids:smoke", "--profile", "smoke", "--scheduler", scheduler,
           "--no-progress"]
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    trained, cached, failed = (int(w) for w in re.fullmatch(r"trained (\d+), cached (\d+), failed (\d+)",
                                                            p.stdout.strip().splitlines()[-1]).groups())
    assert trained + cached == 4 and failed == 0


@pytest.mark.parametrize("spec, message", [
    ("lenet_families", r"package\.module:function"),
    ("hgsr.study.nowhere:smoke", r"module 'hgsr\.study\.nowhere' cannot be imported"),
    ("hgsr.study.grids:nothing", r"module 'hgsr\.study\.grids' has no function 'nothing'"),
    ("a:b:c", r"must be 'package\.module:function'"),
])
def test_a_bad_grid_spec_is_named(spec, message):
    with pytest.raises(experiments.InvalidArgument, match=message):
        sweep.load_grid(spec)


def test_cli_names_an_unknown_grid_and_the_forms_it_accepts(capsys):
    with pytest.raises(SystemExit) as exit_:
        grids.main(["lenet_familes", "--no-progress"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "unknown grid 'lenet_familes'" in err and "lenet_families" in err and "package.module:function" in err


# -------------------------------------------------------------------------- claims, without Dask

def test_claim_waits_for_a_live_owner(tmp_path):
    events = []

    def second():
        with sweep.claim(tmp_path / "x", max_poll=0.05) as c:
            events.append(("second", c["waited"]))

    with sweep.claim(tmp_path / "x"):
        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.4)
        events.append(("first done", None))
    t.join(10)
    assert events[0] == ("first done", None) and events[1][0] == "second" and events[1][1] >= 0.3
    assert not (tmp_path / "x" / sweep.CLAIM_FILE).exists()


def _fake_claim(folder: Path, host: str, pid: int, age: float = 0.0):
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / sweep.CLAIM_FILE
    p.write_text(json.dumps({"host": host, "pid": pid, "started": None, "token": "someone"}))
    t = time.time() - age
    os.utime(p, (t, t))
    return p


def test_claim_of_a_dead_process_on_this_host_is_taken_over_at_once(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _fake_claim(tmp_path / "x", socket.gethostname(), dead.pid)
    t = time.monotonic()
    with sweep.claim(tmp_path / "x") as c:
        assert json.loads((tmp_path / "x" / sweep.CLAIM_FILE).read_text())["pid"] == os.getpid()
    assert time.monotonic() - t < 5 and c["waited"] < 5


def test_claim_from_another_host_is_trusted_until_its_heartbeat_is_stale(tmp_path):
    _fake_claim(tmp_path / "x", "some-other-host", 1, age=0.0)
    got = []
    th = threading.Thread(target=lambda: got.append(sweep.claim(tmp_path / "x", stale_after=30,
                                                                 max_poll=0.05).__enter__()))
    th.daemon = True
    th.start()
    time.sleep(0.5)
    assert not got                                        # fresh heartbeat: still waiting
    _fake_claim(tmp_path / "y", "some-other-host", 1, age=60.0)
    with sweep.claim(tmp_path / "y", stale_after=30) as c:   # 60 s without heartbeat: taken over
        assert c["waited"] < 5
    os.utime(tmp_path / "x" / sweep.CLAIM_FILE, (time.time() - 60, time.time() - 60))
    th.join(10)
    assert got, "a stale claim was never taken over"


def test_lenet_families_grid_scales_every_lam_and_keeps_the_registered_runs():
    from hgsr.study.families import FAMILIES, family_config
    tasks = grids.grid("lenet_families", "default")
    regularized = [k for k, f in FAMILIES.items() if f.regularizer is not None]
    assert len(tasks) == len(regularized) * len(grids.LAM_MULTS) + (len(FAMILIES) - len(regularized))
    assert len({t.hash for t in tasks}) == len(tasks)
    ones = {t.tags["family"]: t.hash for t in tasks if t.tags["lam_mult"] == 1.0}
    assert ones == {k: family_config(k, "default").hash() for k in FAMILIES}   # shares the notebooks' runs
    ssl = {t.tags["lam_mult"]: t.config.regularizer for t in tasks if t.tags["family"] == "ssl"}
    top = max(grids.LAM_MULTS)
    assert ssl[top]["lam_filter"] == pytest.approx(top * 0.017) and ssl[top]["lam_channel"] == pytest.approx(top * 0.008)
    with pytest.raises(ValueError, match="known: "):
        grids.grid("nope")


def test_arguments_are_checked_before_any_work():
    from hgsr.errors import InvalidArgument, InvalidType
    with pytest.raises(InvalidArgument, match="workers"):
        sweep.run_sweep([], workers=0)
    with pytest.raises(InvalidType, match="workers"):
        sweep.run_sweep([], workers=True)
    with pytest.raises(InvalidArgument, match="retries"):
        sweep.run_sweep([], retries=-1)
    with pytest.raises(InvalidType, match="Task"):
        sweep.run_sweep([experiments.Config()])
    with pytest.raises(InvalidType, match="scheduler"):
        sweep.run_sweep([], scheduler=8786)
    assert sweep.run_sweep([], progress=False).summary() == "trained 0, cached 0, failed 0"


def test_fronts_records_a_diverged_run_as_a_row_and_raises_on_other_failures(scheduler):
    from hgsr.study import fronts
    good, = [t for t in smoke_tasks() if t.config.regularizer is None][:1]
    blowup = sweep.Task(good.config.replace(lr=1e6, seed=3), tags={"family": "x", "lam_mult": 1.0})
    rows = fronts.run_tasks([good, blowup], False, None, scheduler, allow_divergence=True)
    bad = rows[rows["status"] == "diverged"]
    assert len(bad) == 1 and bad.iloc[0]["seed"] == 3 and bad.iloc[0]["family"] == "x"
    assert bad.iloc[0]["error"].startswith("NonFiniteLoss")
    assert (rows["status"] != "diverged").sum() == 1
    with pytest.raises(RuntimeError, match="1 sweep task"):
        fronts.run_tasks([blowup], False, None, scheduler)


def test_a_deterministic_error_is_reported_at_once_and_any_other_is_retried(scheduler):
    tasks = smoke_tasks(note_attempt_then_fail)
    l1 = {t.hash for t in tasks if (t.config.regularizer or {}).get("key") == "l1"}
    other = {t.hash for t in tasks} - l1
    result = sweep.run_sweep(tasks, scheduler=scheduler, progress=False, retries=2)
    assert result.failed == len(l1) + len(other) and result.trained == 0
    kinds = {f["hash"]: f["error_type"] for f in result.failures}
    assert {kinds[h] for h in l1} == {"InvalidArgument"} and {kinds[h] for h in other} == {"RuntimeError"}
    assert all("note_attempt_then_fail" in f["traceback"] for f in result.failures)
    attempts = (runs() / "attempts.log").read_text().split()
    assert all(attempts.count(h) == 1 for h in l1)        # not retried
    assert all(attempts.count(h) == 3 for h in other)     # 1 + retries


def test_an_unguarded_script_is_told_to_use_the_main_guard(tmp_path):
    """The local cluster's workers are spawned and import the main script again: a script that calls
    run_sweep at its top level (no ``if __name__ == "__main__":``) fails with a message that names the
    script and the guard, not only distributed's "Nanny failed to start"."""
    script = tmp_path / "unguarded_sweep.py"
    script.write_text("from hgsr import sweep\nfrom hgsr.study import grids\n"
                      "sweep.run_sweep(grids.smoke('smoke')[:1], workers=1, progress=False, retries=0)\n")
    env = {**os.environ, "HGSR_RUNS": str(tmp_path / "runs"), "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode != 0
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: the local Dask cluster could not start its worker processes"), p.stderr[-3000:]
    assert str(script) in last and 'if __name__ == "__main__":' in last
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").glob("*/result.pt"))
