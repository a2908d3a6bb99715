"""Saving what notebooks produce: figures as PNG under ``figures/``, tables as CSV and Markdown under
``figures/tables/``, with deterministic names prefixed by the notebook number."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..io import atomic_write_text


def save_figure(fig, name: str, figures_dir: str | Path = "../figures", dpi: int = 120) -> Path:
    """Save ``fig`` as ``<figures_dir>/<name>.png`` (a tight bounding box, white background)."""
    path = Path(figures_dir) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight", facecolor="white", metadata={"Software": None})
    return path


def markdown_table(df: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """A GitHub-flavoured Markdown table of ``df`` (index dropped)."""
    def fmt(v):
        if isinstance(v, float):
            return format(v, floatfmt)
        return str(v)
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(fmt(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines) + "\n"


def save_table(df: pd.DataFrame, name: str, figures_dir: str | Path = "../figures") -> Path:
    """Save ``df`` as ``<figures_dir>/tables/<name>.csv`` and ``.md``; returns the CSV path."""
    folder = Path(figures_dir) / "tables"
    atomic_write_text(df.to_csv(index=False), folder / f"{name}.csv")
    atomic_write_text(markdown_table(df), folder / f"{name}.md")
    return folder / f"{name}.csv"


def save_text(text: str, name: str, figures_dir: str | Path = "../figures") -> Path:
    """Save Markdown prose computed from results (e.g. a verdict) as ``<figures_dir>/tables/<name>.md``,
    so the README can quote it (:mod:`hgsr.suite.readme`) without a number typed by hand."""
    path = Path(figures_dir) / "tables" / f"{name}.md"
    atomic_write_text(text.rstrip("\n") + "\n", path)
    return path
