"""Saving what notebooks produce: figures as PNG under ``figures/``, tables as CSV and Markdown under
``figures/tables/``, with deterministic names prefixed by the notebook number.

Figures are saved in the suite's style (:mod:`hgsr.viz.style`) after a finishing pass
(:func:`hgsr.viz.style.tidy`: legends off the data, labels off one another). Tables keep machine
column names and fractions in [0, 1] in the CSV; the Markdown is for people: readable headers with
units (:data:`HEADERS`), fractions in %, thousands separators, "—" for missing values, and cells
escaped so that a ``|`` cannot break the table. :func:`show` displays a table in a notebook with the same
words and number formats.
"""
from __future__ import annotations

import math
import numbers
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from ..io import atomic_write_text
from ..viz import style
from ..viz.style import Quantity

# The one mapping machine column name -> header words and unit. It lives in core
# (hgsr.viz.style.QUANTITIES, with QUANTITY_PATTERNS for families such as latency_b64_ms) because the
# figures' axis labels use the same words and core code cannot import the suite; extend it there.
HEADERS = style.QUANTITIES
MISSING = "—"


def save_figure(fig, name: str, figures_dir: str | Path = "../figures", dpi: int = 120) -> Path:
    """Save ``fig`` as ``<figures_dir>/<name>.png`` (a tight bounding box, white background), after
    :func:`hgsr.viz.style.tidy` (legends that cover data move, overlapping labels move apart)."""
    path = Path(figures_dir) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    style.tidy(fig)
    fig.savefig(path, dpi=dpi, bbox_inches="tight", facecolor="white", metadata={"Software": None})
    return path


def header(column: str) -> str:
    """The Markdown header of a column: words and unit from :data:`HEADERS`
    (``"error_finetuned"`` -> ``"error after fine-tuning (%)"``), else the name itself."""
    q = style.quantity(str(column))
    return q.header if q else str(column)


def _missing(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) and math.isnan(float(v))


def escape(text: str) -> str:
    """A string safe inside a Markdown table cell: ``|`` escaped, line breaks as spaces."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def format_cell(v, q: Quantity | None = None) -> str:
    """One value as table text: missing or empty -> "—"; booleans yes/no; numbers scaled and rounded as the
    column's :class:`~hgsr.viz.style.Quantity` says (fractions ×100 for %); integers with thousands
    separators; other floats to 4 significant digits; anything else as ``str``."""
    if _missing(v) or (isinstance(v, str) and not v.strip()):
        return MISSING
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, numbers.Real):
        x = float(v) * (q.scale if q is not None else 1.0)
        if q is not None and q.decimals is not None:
            return f"{x:,.{q.decimals}f}" if q.decimals == 0 else f"{x:.{q.decimals}f}"
        if isinstance(v, numbers.Integral) or (q is None and float(v).is_integer() and abs(x) >= 1000):
            return f"{int(round(x)):,}"
        return format(x, ".4g")
    return str(v)


def _column_quantity(col, values: pd.Series) -> Quantity | None:
    """The column's Quantity, or None (the machine name, values as they are) when the column holds
    no number at all (e.g. ``params`` = ``"t=1"``: operator parameters, not a count) or says
    "fraction" but a value lies outside [-1, 1] (a count or a percentage under a fraction's name)."""
    q = style.quantity(str(col))
    if q is None:
        return None
    nums = [float(v) for v in values if isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))
            and not _missing(v)]
    numeric = q.unit != "" or q.decimals is not None      # a number's quantity (not a label-only one)
    if numeric and not nums and any(not _missing(v) for v in values):
        return None
    if q.fraction and any(abs(x) > 1 + 1e-9 for x in nums):
        return None
    return q


def markdown_table(df: pd.DataFrame, headers: Mapping[str, str] | None = None) -> str:
    """A GitHub-flavoured Markdown table of ``df`` for people (index dropped), rendered by
    :meth:`pandas.DataFrame.to_markdown`: headers from :func:`header` (``headers`` overrides some),
    cells from :func:`format_cell`, every cell and header escaped (:func:`escape`), numeric columns
    right-aligned."""
    headers = dict(headers or {})
    cols, body, align = [], {}, []
    for k, col in enumerate(df.columns):
        values = df.iloc[:, k]
        q = _column_quantity(col, values)
        name = headers.get(col) or (q.header if q is not None else str(col))
        cols.append(escape(name))
        body[k] = [escape(format_cell(v, q)) for v in values]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        align.append("right" if numeric else "left")
    out = pd.DataFrame({k: body[k] for k in range(len(cols))}, dtype=object)
    out.columns = cols if len(set(cols)) == len(cols) else [f"{c} [{k}]" for k, c in enumerate(cols)]
    if out.empty and not len(cols):
        return "*(empty table)*\n"
    text = out.to_markdown(index=False, tablefmt="pipe", disable_numparse=True, colalign=align)
    return text + "\n"


def show(df: pd.DataFrame, headers: Mapping[str, str] | None = None):
    """``df`` formatted for display in a notebook as :func:`markdown_table` formats it, from the one
    vocabulary (:data:`HEADERS`): readable headers with units (``headers`` overrides some), fractions
    in % with their decimals, counts with thousands separators, booleans yes/no, "—" for missing values,
    columns the vocabulary does not know under their own name with 4 significant digits
    (:func:`format_cell`). Returns a :class:`pandas.io.formats.style.Styler`: the data stay as they
    are, only their display changes; a default ``RangeIndex`` is hidden, as in the saved Markdown."""
    headers = dict(headers or {})
    names, formats = {}, {}
    for k, col in enumerate(df.columns):
        q = _column_quantity(col, df.iloc[:, k])
        names.setdefault(col, headers.get(col) or (q.header if q is not None else str(col)))
        formats.setdefault(col, lambda v, q=q: format_cell(v, q))
    styler = df.style.format(formats, escape="html")
    styler = styler.format_index(lambda c: names.get(c, str(c)), axis=1, escape="html")
    index = df.index
    if isinstance(index, pd.RangeIndex) and index.name is None and index.start == 0 and index.step == 1:
        return styler.hide(axis="index")
    for level, name in enumerate(index.names):
        q = style.quantity(str(name)) if name is not None else None
        styler = styler.format_index(lambda v, q=q: format_cell(v, q), axis=0, level=level, escape="html")
    return styler


def save_table(df: pd.DataFrame, name: str, figures_dir: str | Path = "../figures",
               headers: Mapping[str, str] | None = None) -> Path:
    """Save ``df`` as ``<figures_dir>/tables/<name>.csv`` (machine column names, fractions in [0, 1])
    and ``.md`` (:func:`markdown_table`: readable headers, %, "—" for missing); returns the CSV path."""
    folder = Path(figures_dir) / "tables"
    atomic_write_text(df.to_csv(index=False), folder / f"{name}.csv")
    atomic_write_text(markdown_table(df, headers), folder / f"{name}.md")
    return folder / f"{name}.csv"


def save_text(text: str, name: str, figures_dir: str | Path = "../figures") -> Path:
    """Save Markdown prose computed from results (e.g. a verdict) as ``<figures_dir>/tables/<name>.md``,
    so the README can quote it (:mod:`hgsr.suite.readme`) without a number typed by hand."""
    path = Path(figures_dir) / "tables" / f"{name}.md"
    atomic_write_text(text.rstrip("\n") + "\n", path)
    return path
