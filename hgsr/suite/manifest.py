"""Provenance of regenerated figures: ``figures/manifest.json``, written by ``make figures``.

It records the git commit (and whether the tree had uncommitted changes other than the run's own
outputs, ``figures/`` and ``README.md``, listed by :data:`OUTPUTS`), the profile, package
versions, the CPU/GPU (with the instruction set torch uses), threads, and per notebook: its wall time, when it ran, and the SHA-256 of
every file it promises (``notebooks/outputs.json``; with each table's appendix ``tables/<name>_appendix.csv``
where one exists, and the notebook's entries of ``figure_texts.json``, the text of its figures:
:func:`output_digests`), and how many ``runs/`` cache entries it wrote
(``cache_entries_written``: 0 for a rerun from a warm cache, so a wall time is known to be warm or cold). Running a subset of notebooks (``--only``)
updates their entries and keeps the others, so every number traces to the run that produced it.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path

import torch

from .. import experiments, timing
from ..data import REPO
from ..errors import CorruptFile
from ..io import atomic_write_json, file_digest
from .report import APPENDIX, FIGURE_TEXTS, read_texts

OUTPUTS = ("figures", "README.md")   # written by ``make figures`` itself: not a change to the code
PACKAGES = ("torch", "torchvision", "torch-pruning", "numpy", "pandas", "matplotlib", "seaborn",
            "ipywidgets", "papermill")


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def uncommitted_changes() -> list[str]:
    """Paths that differ from HEAD (``git status --porcelain``), except the run's :data:`OUTPUTS`."""
    excludes = [f":(exclude){p}" for p in OUTPUTS]
    out = _git("status", "--porcelain", "--", ".", *excludes)
    return [line.split(maxsplit=1)[1] for line in out.splitlines() if line.strip()]


# What decides bit-for-bit equal results besides the code: compared by :func:`machine_differences`.
REPRODUCIBILITY_KEYS = {"cpu_capability": "CPU instruction set used by torch", "cpu_model": "CPU",
                        "torch_threads": "torch threads", "torch": "torch version"}


def machine_differences(old: dict, new: dict) -> list[str]:
    """Sentences naming what differs between the machine of a manifest ``old`` and ``new`` (both as written by
    :func:`machine`) among :data:`REPRODUCIBILITY_KEYS`; a key ``old`` does not record is named as unknown.
    Any difference means regenerated tables may differ from ``old``'s in the last digits, and training (a
    chaotic process) can turn that into a different filter count or accuracy."""
    def value(m, key):
        return m.get("packages", {}).get("torch") if key == "torch" else m.get(key)

    out = []
    for key, label in REPRODUCIBILITY_KEYS.items():
        a, b = value(old, key), value(new, key)
        if a is None:
            out.append(f"{label}: not recorded by the earlier run; this machine: {b}")
        elif a != b:
            out.append(f"{label}: {a} in the earlier run, {b} on this machine")
    return out


def machine() -> dict:
    """Versions and machine of this process (what :func:`machine_differences` compares)."""
    versions = {}
    for p in PACKAGES:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = None
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"python": platform.python_version(), "packages": versions, "cpu": timing.cpu_name(),
            "cpu_model": timing.cpu_model(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "gpu": gpu,
            "device": "cuda" if gpu else "cpu"}


def provenance() -> dict:
    """Commit, versions and machine of this process."""
    return {"commit": _git("rev-parse", "HEAD"), "uncommitted_changes": uncommitted_changes(), **machine()}


def read(path: Path) -> dict:
    """A manifest as a dict; ``{}`` when ``path`` does not exist."""
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise CorruptFile(f"{path} is not valid JSON ({e}); restore it with `git checkout -- {path}` or delete it "
                          f"(the next `make figures` writes a new one)", path) from e


def differences_from_manifest(figures_dir: Path, profile: str) -> list[str]:
    """:func:`machine_differences` between ``figures_dir/manifest.json`` (when it exists and describes
    ``profile``) and this process; empty when there is nothing to compare with."""
    old = read(Path(figures_dir) / "manifest.json")
    if old.get("profile") != profile:
        return []
    return machine_differences(old, machine())


def notebook_machine(prov: dict) -> str:
    """The machine one notebook ran on, as the manifest records it per notebook (a manifest can hold notebooks
    regenerated on different machines): CPU, instruction set torch used, torch threads."""
    return f"{prov['cpu']}, {prov['cpu_capability']}, {prov['torch_threads']} torch threads"


def output_digests(figures_dir: Path, promised: list[str]) -> dict[str, str | None]:
    """``{relative path: SHA-256 or None when missing}`` of the files a notebook promises (``promised``), each
    table's appendix (``tables/<name>_appendix.csv``, :func:`hgsr.suite.report.split`) where one was written, and
    ``figure_texts.json``: the digest of the promised figures' entries of that shared file (their visible
    texts, :func:`hgsr.suite.report.record_texts`), None when it holds none of them."""
    figures_dir = Path(figures_dir)
    files = {}
    for rel in promised:
        f = figures_dir / rel
        files[rel] = file_digest(f) if f.exists() else None
        if rel.endswith(".csv"):
            extra = rel[:-len(".csv")] + APPENDIX + ".csv"
            if (figures_dir / extra).exists():
                files[extra] = file_digest(figures_dir / extra)
    figures = [Path(rel).stem for rel in promised if rel.endswith(".png")]
    if figures:
        texts = read_texts(figures_dir)
        mine = {n: texts[n] for n in figures if n in texts}
        files[FIGURE_TEXTS] = (hashlib.sha256(json.dumps(mine, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
                               if mine else None)
    return files


def update(figures_dir: Path, profile: str, timings: list[dict], expected: dict[str, list[str]]) -> Path:
    """Merge this run's notebooks (``timings``: dicts with notebook, seconds) into the manifest."""
    path = Path(figures_dir) / "manifest.json"
    old = read(path)
    if old.get("profile") not in (None, profile):
        old = {}  # a manifest describes one profile; a different one starts afresh
    notebooks = old.get("notebooks", {})
    prov = provenance()
    for row in timings:
        stem = row["notebook"]
        files = output_digests(Path(figures_dir), expected.get(stem, []))
        notebooks[stem] = {"seconds": row["seconds"], "cache_entries_written": row.get("cache_entries_written"),
                           "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           "commit": prov["commit"], "machine": notebook_machine(prov), "files": files}
    total = round(sum(v["seconds"] for v in notebooks.values()), 1)
    return atomic_write_json({"profile": profile, **prov, "total_seconds": total, "cache": cache_report(),
                              "notebooks": dict(sorted(notebooks.items()))}, path)


def cache_entries(runs: Path | None = None) -> set[str]:
    """Names of the finished entries of the ``runs/`` cache (folders holding a ``result.pt``)."""
    runs = Path(runs or experiments.runs_dir())
    return {p.parent.name for p in runs.glob("*/result.pt")}


def cache_report(runs: Path | None = None) -> dict:
    """What the ``runs/`` cache held: the current code fingerprint, the number of entries, the thread
    counts and CPU instruction sets they were made with (``"unrecorded"`` for entries older than that
    record), and the entries made by other code (``stale``: they predate the code) or with no record of
    it (``unknown``)."""
    runs = Path(runs or experiments.runs_dir())
    code = experiments.code_fingerprint()
    metas = {}
    for d in sorted(runs / name for name in cache_entries(runs)):
        try:
            metas[d.name] = json.loads((d / "meta.json").read_text())
        except (OSError, json.JSONDecodeError):
            metas[d.name] = None
    return {"code": code, "entries": len(metas),
            "threads": sorted({m["threads"] for m in metas.values() if m}),
            "cpu_capabilities": sorted({m.get("cpu_capability", "unrecorded") for m in metas.values() if m}),
            "stale": sorted(k for k, m in metas.items() if m and m["code"] != code),
            "unknown": sorted(k for k, m in metas.items() if m is None)}
