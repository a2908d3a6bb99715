"""Committed cold times (data/timings/): what a record keeps, what it refuses, how it is read."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from hgsr.errors import CorruptFile, InvalidArgument
from hgsr.suite import course, timings


def fake_manifest(**seconds_written):
    return {"profile": "smoke", "commit": "abc1234def", "cpu": "Some CPU", "cpu_capability": "AVX2", "cpu_count": 2,
            "notebooks": {k: {"seconds": s, "cache_entries_written": w, "finished": "2026-12-06T10:00:00Z"}
                          for k, (s, w) in seconds_written.items()}}


def fake_runs(tmp_path, n):
    runs = tmp_path / "runs"
    for i in range(n):
        (runs / f"entry{i}").mkdir(parents=True)
        (runs / f"entry{i}" / "result.pt").write_bytes(b"x")
    runs.mkdir(exist_ok=True)
    return runs


@pytest.fixture
def records(tmp_path, monkeypatch):
    monkeypatch.setattr(timings, "TIMINGS_DIR", tmp_path / "timings")
    return tmp_path / "timings"


def test_a_record_keeps_each_notebooks_cold_time_and_reads_back(tmp_path, records):
    m = fake_manifest(**{"02_baselines": (20.5, 7), "04_nonconvex_sparse_group_lasso": (30.0, 7)})
    out = timings.record("mine", m, fake_runs(tmp_path, 14), how="a test", load={"mean": 2.04, "max": 3.5})
    assert out == records / "mine.json"
    assert timings.seconds("mine") == {"02_baselines": 20.5, "04_nonconvex_sparse_group_lasso": 30.0}
    r = timings.load("mine")
    assert r["total_seconds"] == 50.5 and r["how"] == "a test" and r["commit"] == "abc1234def"
    md = timings.markdown()
    assert ("| `mine` | `smoke` | 02 0.3, 04 0.5 | **0.8** | 14 | `abc1234` | Some CPU (AVX2), 2 cores | 2.0 (max 3.5) | "
            "2026-12-06 |") in md


def test_the_load_sampler_samples_while_the_block_runs():
    import time
    with timings.LoadSampler(every=0.01) as load:
        time.sleep(0.2)
    s = load.summary()
    assert s["samples"] >= 3 and 0 <= s["mean"] <= s["max"]
    assert timings.LoadSampler().summary() is None


def test_a_run_that_did_not_start_from_an_empty_cache_is_refused(tmp_path, records):
    m = fake_manifest(**{"02_baselines": (20.5, 7)})
    with pytest.raises(InvalidArgument, match="holds 9 cache entries but the notebooks wrote 7"):
        timings.record("warm", m, fake_runs(tmp_path, 9), how="a test")
    with pytest.raises(InvalidArgument, match="no notebooks"):
        timings.record("empty", {"profile": "smoke"}, fake_runs(tmp_path, 0), how="a test")
    assert not (records / "warm.json").exists()


def test_a_missing_or_broken_record_names_its_path_and_the_fix(records):
    with pytest.raises(timings.MissingTimings, match="nothing.json.*python -m hgsr.suite.timings nothing"):
        timings.load("nothing")
    records.mkdir()
    (records / "bad.json").write_text("{")
    with pytest.raises(CorruptFile, match="bad.json.*git checkout"):
        timings.load("bad")


def test_the_committed_smoke_times_cover_every_notebook_from_an_empty_cache():
    smoke = timings.load(course.SMOKE)
    assert smoke["profile"] == "smoke" and set(smoke["notebooks"]) == {x.stem for x in course.LESSONS}
    assert sum(v["cache_entries_written"] for v in smoke["notebooks"].values()) > 0
    alone = timings.load(course.SMOKE_08_ALONE)["notebooks"]
    assert list(alone) == ["08_speed"] and alone["08_speed"]["cache_entries_written"] > 0
    for name in timings.names():
        r = json.loads(timings.path(name).read_text())
        assert r["total_seconds"] == pytest.approx(sum(v["seconds"] for v in r["notebooks"].values()), abs=0.2)


def test_measure_can_keep_the_runs_figures_notebooks_and_cache(tmp_path, records, monkeypatch):
    """``keep``: what the run made is moved there after the record is written; an existing folder is refused
    before anything runs (the notebooks are replaced by a stand-in that writes a manifest and one cache entry)."""
    def fake_run(cmd, cwd, env, check):
        figures = Path(cmd[cmd.index("--figures") + 1])
        figures.mkdir(parents=True)
        (figures / "manifest.json").write_text(json.dumps(fake_manifest(**{"07_comparison": (60.0, 1)})))
        (Path(env["HGSR_RUNS"]) / "entry0").mkdir()
        (Path(env["HGSR_RUNS"]) / "entry0" / "result.pt").write_bytes(b"x")
        (Path(cmd[cmd.index("--out") + 1])).mkdir()
    monkeypatch.setattr(timings.subprocess, "run", fake_run)
    monkeypatch.setattr(timings.hmanifest, "read", lambda p: json.loads(p.read_text()))
    with pytest.raises(InvalidArgument, match="keep: .* exists; name a new folder"):
        timings.measure("cold_07", "default", ["07"], keep=tmp_path)
    kept = tmp_path / "kept"
    assert timings.measure("cold_07", "default", ["07"], keep=kept) == records / "cold_07.json"
    assert (kept / "figures" / "manifest.json").exists() and (kept / "runs" / "entry0" / "result.pt").exists()
    assert (kept / "out").is_dir() and timings.seconds("cold_07") == {"07_comparison": 60.0}
