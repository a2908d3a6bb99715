"""Run the numbered notebooks headless with papermill (``make figures``).

    python -m hgsr.suite.run_notebooks --profile default --out build/notebooks [--only 03] [--figures figures]

Each notebook runs with parameters ``PROFILE``, ``INTERACTIVE=False`` and ``FIGURES_DIR``; the
executed copy goes to ``<out>/``, and a ``timings.csv`` with the wall time of each. After each notebook
``<figures>/manifest.json`` records its provenance (:mod:`hgsr.suite.manifest`). A failing notebook is
reported by name and cell. The HTML of the executed copies is the course site, built from ``<out>/``
by :mod:`hgsr.suite.site` (``make site``; ``make figures`` runs it afterwards).

Progress bars: the kernel papermill starts inherits ``TQDM_DISABLE=1`` (set only while it starts), so
the suite's training and sweep bars (:func:`hgsr.progress.progress_bar`) draw nothing in headless runs:
a widget bar would be saved frozen at its last drawn state in the executed copy and its HTML. The
notebooks themselves and interactive sessions are unchanged.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pandas as pd

from . import manifest
from ..data import REPO
from ..errors import InvalidArgument, InvalidType
from ..io import atomic_write_text, environment
from ..progress import DISABLE_ENV

NOTEBOOKS = REPO / "notebooks"


def expected_outputs() -> dict[str, list[str]]:
    """``notebooks/outputs.json``: the figures and tables each notebook promises."""
    import json

    return json.loads((NOTEBOOKS / "outputs.json").read_text())


class NotebookFailed(RuntimeError):
    """A notebook raised under papermill; the message names the notebook and the cell."""


def notebook_paths(only: list[str] | None = None) -> list[Path]:
    """The numbered notebooks in order; with ``only``, those named there by their two-digit number
    (``"03"``) or their stem (``"03_hierarchical_group_sparsity"``). Every entry of ``only`` must name
    exactly one notebook, and ``only=[]`` names none: both raise InvalidArgument listing the valid
    numbers."""
    paths = sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if only is None:
        return paths
    valid = ", ".join(p.name[:2] for p in paths)
    if isinstance(only, str) or not isinstance(only, (list, tuple)):
        raise InvalidType(f"only must be a list of notebook numbers or stems, got {only!r}; valid numbers: {valid}")
    if not only:
        raise InvalidArgument(f"only (--only) names no notebook; give one or more notebook numbers: {valid}")
    chosen = []
    for o in only:
        key = o[:-len(".ipynb")] if isinstance(o, str) and o.endswith(".ipynb") else o
        hits = [p for p in paths if isinstance(key, str) and (p.name[:2] == key or p.stem == key)]
        if len(hits) != 1:
            raise InvalidArgument(f"only (--only) entry {o!r} is not a notebook number or stem; valid numbers: "
                                  f"{valid} (stems: {', '.join(p.stem for p in paths)})")
        if hits[0] not in chosen:
            chosen.append(hits[0])
    return [p for p in paths if p in chosen]


def _source_position(nb: Path, source: str | None) -> str:
    """1-based position, among all cells of the notebook as written, of the cell with ``source``
    (papermill's own count includes the parameters cell it injects)."""
    import nbformat

    cells = nbformat.read(nb, as_version=4).cells
    hits = [i + 1 for i, c in enumerate(cells) if c.source == source]
    return str(hits[0]) if hits else "?"


def execute(nb: Path, out_dir: Path, profile: str, figures_dir: Path, timeout: int | None = None,
            progress: bool = False) -> float:
    """Execute one notebook (its kernel with ``TQDM_DISABLE=1``: no progress bars, see the module
    docstring); return its wall time in seconds. ``progress`` shows papermill's own bar of cells."""
    import papermill as pm

    out_dir.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    try:
        with environment({DISABLE_ENV: "1"}):
            pm.execute_notebook(str(nb), str(out_dir / nb.name), cwd=str(nb.parent), kernel_name="python3",
                                parameters={"PROFILE": profile, "INTERACTIVE": False,
                                            "FIGURES_DIR": str(figures_dir.resolve())},
                                progress_bar=progress, execution_timeout=timeout)
    except pm.PapermillExecutionError as e:
        first = next((ln for ln in (e.source or "").splitlines() if ln.strip()), "")
        raise NotebookFailed(f"{nb.name}: cell {_source_position(nb, e.source)} raised {e.ename}: "
                             f"{e.evalue}\n  (the cell starting {first[:80]!r}; executed notebook with "
                             f"the traceback: {out_dir / nb.name})") from None
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="default", choices=["smoke", "default", "paper"])
    ap.add_argument("--out", default=str(REPO / "build" / "notebooks"))
    ap.add_argument("--figures", default=str(REPO / "figures"))
    ap.add_argument("--only", nargs="*", help="notebook numbers or stems to run")
    ap.add_argument("--readme", help="fill this README's result blocks from the figures afterwards")
    args = ap.parse_args(argv)
    out, figs = Path(args.out), Path(args.figures)
    try:
        chosen = notebook_paths(args.only)
    except InvalidArgument as e:
        ap.error(str(e))
    differences = manifest.differences_from_manifest(figs, args.profile)
    if differences:
        print(f"[hgsr] {figs / 'manifest.json'} was made with another setup; bit-for-bit equal results need the "
              "same code, torch, threads and CPU instruction set, so expect the last digits of the tables to "
              "differ, and training to turn some of that into a filter or 0.1 point here and there:\n"
              + "\n".join(f"[hgsr]   - {d}" for d in differences), flush=True)
    rows = []
    for nb in chosen:
        print(f"[hgsr] running {nb.name} ({args.profile})", flush=True)
        before = manifest.cache_entries()
        try:
            secs = execute(nb, out, args.profile, figs, progress=True)
        except NotebookFailed as e:
            print(f"[hgsr] FAILED {e}", file=sys.stderr)
            return 1
        rows.append({"notebook": nb.stem, "profile": args.profile, "seconds": round(secs, 1),
                     "cache_entries_written": len(manifest.cache_entries() - before)})
        manifest.update(figs, args.profile, rows[-1:], expected_outputs())
        print(f"[hgsr] {nb.name}: {secs:.1f} s", flush=True)
    timings = pd.DataFrame(rows)
    atomic_write_text(timings.to_csv(index=False), out / "timings.csv")
    print(timings.to_string(index=False))
    print(f"[hgsr] executed copies in {out}; the course site from them: python -m hgsr.suite.site --source {out} "
          f"(make site)", flush=True)
    if args.readme:
        from . import readme
        readme.update(Path(args.readme), figs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
