"""Run the numbered notebooks headless with papermill (``make figures``).

    python -m hgsr.suite.run_notebooks --profile default --out build/notebooks [--only 03] [--figures figures]

Each notebook runs with parameters ``PROFILE``, ``INTERACTIVE=False`` and ``FIGURES_DIR``; the
executed copy goes to ``<out>/`` with an HTML rendering and an ``index.html`` that links them, and a
``timings.csv`` with the wall time of each. After each notebook ``<figures>/manifest.json`` records
its provenance (:mod:`hgsr.suite.manifest`). A failing notebook is reported by name and cell.
"""
from __future__ import annotations

import argparse
import html
import sys
import time
from pathlib import Path

import pandas as pd

from . import manifest
from ..data import REPO
from ..io import atomic_write_text

NOTEBOOKS = REPO / "notebooks"


def expected_outputs() -> dict[str, list[str]]:
    """``notebooks/outputs.json``: the figures and tables each notebook promises."""
    import json

    return json.loads((NOTEBOOKS / "outputs.json").read_text())


class NotebookFailed(RuntimeError):
    """A notebook raised under papermill; the message names the notebook and the cell."""


def notebook_paths(only: list[str] | None = None) -> list[Path]:
    paths = sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if only:
        paths = [p for p in paths if any(p.name.startswith(o) or p.stem == o for o in only)]
        if not paths:
            raise ValueError(f"no notebook matches {only}; have: {[p.stem for p in notebook_paths()]}")
    return paths


def _source_position(nb: Path, source: str | None) -> str:
    """1-based position, among all cells of the notebook as written, of the cell with ``source``
    (papermill's own count includes the parameters cell it injects)."""
    import nbformat

    cells = nbformat.read(nb, as_version=4).cells
    hits = [i + 1 for i, c in enumerate(cells) if c.source == source]
    return str(hits[0]) if hits else "?"


def execute(nb: Path, out_dir: Path, profile: str, figures_dir: Path, timeout: int | None = None,
            progress: bool = False) -> float:
    """Execute one notebook; return its wall time in seconds."""
    import papermill as pm

    out_dir.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    try:
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


def to_html(executed: Path) -> Path:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(executed))
    return atomic_write_text(body, executed.with_suffix(".html"))


def write_index(out_dir: Path, timings: pd.DataFrame, profile: str) -> Path:
    items = "\n".join(f'<li><a href="{html.escape(r.notebook)}.html">{html.escape(r.notebook)}</a> '
                      f"({r.seconds:.0f} s)</li>" for r in timings.itertuples())
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>hgsr notebooks ({profile})</title>"
            f"</head><body><h1>hgsr notebooks, profile <code>{html.escape(profile)}</code></h1>"
            f"<ol>{items}</ol></body></html>\n")
    return atomic_write_text(page, out_dir / "index.html")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="default", choices=["smoke", "default", "paper"])
    ap.add_argument("--out", default=str(REPO / "build" / "notebooks"))
    ap.add_argument("--figures", default=str(REPO / "figures"))
    ap.add_argument("--only", nargs="*", help="notebook numbers or stems to run")
    ap.add_argument("--no-html", action="store_true")
    ap.add_argument("--readme", help="fill this README's result blocks from the figures afterwards")
    args = ap.parse_args(argv)
    out, figs = Path(args.out), Path(args.figures)
    rows = []
    for nb in notebook_paths(args.only):
        print(f"[hgsr] running {nb.name} ({args.profile})", flush=True)
        try:
            secs = execute(nb, out, args.profile, figs, progress=True)
        except NotebookFailed as e:
            print(f"[hgsr] FAILED {e}", file=sys.stderr)
            return 1
        if not args.no_html:
            to_html(out / nb.name)
        rows.append({"notebook": nb.stem, "profile": args.profile, "seconds": round(secs, 1)})
        manifest.update(figs, args.profile, rows[-1:], expected_outputs())
        print(f"[hgsr] {nb.name}: {secs:.1f} s", flush=True)
    timings = pd.DataFrame(rows)
    atomic_write_text(timings.to_csv(index=False), out / "timings.csv")
    write_index(out, timings, args.profile)
    print(timings.to_string(index=False))
    if args.readme:
        from . import readme
        readme.update(Path(args.readme), figs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
