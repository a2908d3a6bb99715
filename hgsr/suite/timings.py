"""Cold wall times of the notebooks, measured and committed: ``data/timings/<name>.json``.

    python -m hgsr.suite.timings smoke --profile smoke                 # every notebook, in order
    python -m hgsr.suite.timings smoke_08_alone --profile smoke --only 08
    python -m hgsr.suite.timings cold_07 --profile default --only 07   # about 2 hours on 2 cores

A run gets an empty runs cache (a temporary folder as ``$HGSR_RUNS``) and temporary figures and output
folders (the committed figures are not touched), so every time it records is a cold time: each notebook
trains what it needs, the runs of the notebooks it reuses included, unless an earlier notebook of the
same run made them. :func:`record` turns the manifest of such a run (:mod:`hgsr.suite.manifest`) into
the record: commit, machine, date, and per notebook its wall time and the cache entries it wrote, with the machine's load average sampled
during the run (:class:`LoadSampler`: a wall time on a loaded machine is read against it). It refuses a
manifest whose run did not start from an empty cache (entries it did not write itself).
``--from-manifest FIGURES/manifest.json --runs RUNS`` records a run made the same way by other means.

The README's reading-order table takes its smoke times from ``smoke`` and ``smoke_08_alone``, and its
``<!-- timings -->`` block lists every record (:func:`markdown`).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from ..data import REPO
from ..errors import CorruptFile, HgsrError, InvalidArgument
from ..io import atomic_write_json
from . import manifest as hmanifest

TIMINGS_DIR = REPO / "data" / "timings"
FIELDS = ("commit", "uncommitted_changes", "cpu", "cpu_model", "cpu_capability", "cpu_count", "torch_threads", "gpu")


class MissingTimings(HgsrError, FileNotFoundError):
    """A timing record that is not there."""


def path(name: str) -> Path:
    return TIMINGS_DIR / f"{name}.json"


class LoadSampler:
    """The machine's 1-minute load average (``os.getloadavg``), sampled every ``every`` seconds while in a
    ``with`` block: ``summary()`` gives its mean and maximum, to read a wall time against (2 cores at load 4
    run everything about twice as slowly)."""

    def __init__(self, every: float = 15.0):
        self.every, self.samples, self._stop = every, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict | None:
        if not self.samples:
            return None
        return {"mean": round(sum(self.samples) / len(self.samples), 2), "max": round(max(self.samples), 2),
                "samples": len(self.samples), "every_s": self.every}


def _entries(notebooks: dict) -> int:
    """The runs cache entries the notebooks of a manifest or record wrote, together."""
    return sum(v.get("cache_entries_written") or 0 for v in notebooks.values())


def record(name: str, manifest: dict, runs: Path, how: str, load: dict | None = None) -> Path:
    """Write ``data/timings/<name>.json`` from the manifest of a run that started from the empty cache ``runs``
    (``load``: :meth:`LoadSampler.summary` during the run, None where it was not sampled)."""
    notebooks = manifest.get("notebooks") or {}
    if not notebooks:
        raise InvalidArgument(f"manifest: no notebooks recorded; run the notebooks first ({how})")
    written = _entries(notebooks)
    held = len(hmanifest.cache_entries(runs))
    if held != written:
        raise InvalidArgument(f"runs: {runs} holds {held} cache entries but the notebooks wrote {written}: the run "
                              "did not start from an empty cache, so its times are not cold times")
    out = {"name": name, "profile": manifest["profile"], "how": how, "load": load,
           **{k: manifest.get(k) for k in FIELDS},
           "total_seconds": round(sum(v["seconds"] for v in notebooks.values()), 1),
           "notebooks": {k: {"seconds": v["seconds"], "cache_entries_written": v.get("cache_entries_written"),
                             "finished": v.get("finished")} for k, v in notebooks.items()}}
    return atomic_write_json(out, path(name))


def load(name: str) -> dict:
    """The record ``name``; :class:`MissingTimings` naming the command that makes it."""
    f = path(name)
    if not f.exists():
        raise MissingTimings(f"{f} does not exist; measure it with `python -m hgsr.suite.timings {name} ...` "
                          "(see hgsr/suite/timings.py) or restore it with `git checkout -- data/timings`")
    try:
        return json.loads(f.read_text())
    except json.JSONDecodeError as e:
        raise CorruptFile(f"{f} is not valid JSON ({e}); restore it with `git checkout -- {f}` or measure it again")


def names() -> list[str]:
    return sorted(p.stem for p in TIMINGS_DIR.glob("*.json"))


def seconds(name: str) -> dict[str, float]:
    """``{notebook stem: wall seconds}`` of the record ``name``."""
    return {k: v["seconds"] for k, v in load(name)["notebooks"].items()}


def markdown() -> str:
    """Every record as a table: what ran, its cold wall time, the cache entries it made, where and when."""
    rows = []
    for n in names():
        r = load(n)
        nbs = ", ".join(f"{k[:2]} {v['seconds'] / 60:.1f}" for k, v in r["notebooks"].items())
        entries = _entries(r["notebooks"])
        day = max((v.get("finished") or "") for v in r["notebooks"].values())[:10]
        sampled = r.get("load")
        busy = f"{sampled['mean']:.1f} (max {sampled['max']:.1f})" if sampled else "not sampled"
        rows.append(f"| `{n}` | `{r['profile']}` | {nbs} | **{r['total_seconds'] / 60:.1f}** | {entries} | "
                    f"`{r['commit'][:7]}` | {r['cpu']} ({r['cpu_capability']}), {r['cpu_count']} cores | {busy} | {day} |")
    return ("| record (`data/timings/`) | profile | notebook: min | total (min) | runs cache entries made | commit | "
            "machine | load average during the run: mean (max) | date |\n|---|---|---|---|---|---|---|---|---|\n"
            + "\n".join(rows) + "\n")


def measure(name: str, profile: str, only: list[str] | None, keep: Path | None = None) -> Path:
    """Run the notebooks (``only``, else all) from an empty cache into temporary folders; record the times.
    ``keep``: a folder that must not exist yet, into which the run's ``figures``, ``out`` (executed notebooks)
    and ``runs`` (its cache) are moved once the record is written (default: they are deleted)."""
    keep = Path(keep) if keep is not None else None
    if keep is not None and keep.exists():
        raise InvalidArgument(f"keep: {keep} exists; name a new folder (the run's figures, notebooks and runs "
                              "cache are moved into it)")
    with tempfile.TemporaryDirectory(prefix="hgsr-cold-") as tmp:
        tmp = Path(tmp)
        runs, figures = tmp / "runs", tmp / "figures"
        runs.mkdir()
        cmd = [sys.executable, "-m", "hgsr.suite.run_notebooks", "--profile", profile, "--out", str(tmp / "out"),
               "--figures", str(figures), *(["--only", *only] if only else [])]
        with LoadSampler() as load:
            subprocess.run(cmd, cwd=REPO, env={**os.environ, "HGSR_RUNS": str(runs)}, check=True)
        how = f"python -m hgsr.suite.timings {name} --profile {profile}" + (f" --only {' '.join(only)}" if only else "")
        written = record(name, hmanifest.read(figures / "manifest.json"), runs, how, load.summary())
        if keep is not None:
            keep.mkdir(parents=True)
            for part in ("figures", "out", "runs"):
                shutil.move(str(tmp / part), str(keep / part))
        return written


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", help="the record's name: data/timings/<name>.json")
    ap.add_argument("--profile", choices=["smoke", "default", "paper"], default="smoke")
    ap.add_argument("--only", nargs="*", help="notebook numbers or stems (default: all, in order)")
    ap.add_argument("--from-manifest", type=Path, help="record this run's manifest instead of running")
    ap.add_argument("--runs", type=Path, help="with --from-manifest: the runs cache that run started empty")
    ap.add_argument("--how", default="", help="with --from-manifest: how that run was made")
    ap.add_argument("--keep", type=Path, help="a new folder to move the run's figures, executed notebooks and runs "
                                              "cache into (default: deleted)")
    a = ap.parse_args(argv)
    if a.from_manifest:
        if a.runs is None or not a.how:
            ap.error("--from-manifest needs --runs and --how")
        out = record(a.name, hmanifest.read(a.from_manifest), a.runs, a.how)
    else:
        out = measure(a.name, a.profile, a.only, a.keep)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
