"""Saving what notebooks produce: figures as PNG under ``figures/``, tables as CSV and Markdown under
``figures/tables/``, with deterministic names prefixed by the notebook number.

Figures are saved in the suite's style (:mod:`hgsr.viz.style`) after a finishing pass
(:func:`hgsr.viz.style.tidy`: legends off the data, labels off one another). Tables keep machine
column names and fractions in [0, 1] in the CSV; the Markdown is for people: readable headers with
units (:data:`HEADERS`), fractions in %, thousands separators, "—" for missing values, and cells
escaped so that a ``|`` cannot break the table, registry keys in cells shown by their names (a column's
:attr:`~hgsr.viz.vocabulary.Quantity.names`), widths as ``20-50``, never ``-0``. :func:`show` displays a table
in a notebook with the same words and number formats.

A table is split by one rule, :func:`split`: what a reader needs stays in ``<name>.csv|md``; the columns a
reader does not need (every value missing, a :attr:`~hgsr.viz.vocabulary.Quantity.detail` of the vocabulary,
not among the caller's ``main`` columns, or beyond :data:`MAX_COLUMNS`) go to ``<name>_appendix.csv``.

Every saved figure's visible text (titles, axis labels, tick labels, legends, annotations) is recorded in
``<figures>/figure_texts.json`` (:data:`FIGURE_TEXTS`; figure name -> sorted strings), so that tests can read
what a PNG says (tests/test_names.py).
"""
from __future__ import annotations

import json
import math
import numbers
import re
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import InvalidArgument
from ..io import atomic_write_json, atomic_write_text
from ..results import widths_text
from ..viz import style
from ..viz.style import Quantity

# The one mapping machine column name -> header words and unit. It lives in core
# (hgsr.viz.style.QUANTITIES, with QUANTITY_PATTERNS for families such as latency_b64_ms) because the
# figures' axis labels use the same words and core code cannot import the suite; extend it there.
HEADERS = style.QUANTITIES
MISSING = "—"
MAX_COLUMNS = 14          # the widest main table (:func:`split`); the other columns go to the appendix
APPENDIX = "_appendix"    # <name>_appendix.csv: the columns of a table that a reader does not need
FIGURE_TEXTS = "figure_texts.json"   # <figures>/figure_texts.json: every saved figure's visible text


def save_figure(fig, name: str, figures_dir: str | Path = "../figures", dpi: int = 120) -> Path:
    """Save ``fig`` as ``<figures_dir>/<name>.png`` (a tight bounding box, white background), after
    :func:`hgsr.viz.style.tidy` (legends that cover data move, overlapping labels move apart)."""
    path = Path(figures_dir) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    style.tidy(fig)
    fig.savefig(path, dpi=dpi, bbox_inches="tight", facecolor="white", metadata={"Software": None})
    record_texts(name, figure_texts(fig), figures_dir)
    return path


def figure_texts(fig) -> list[str]:
    """Every visible, non-empty text of a drawn ``fig``, sorted and without repeats: the suptitle and figure
    texts, and per axes its titles, axis labels, the tick labels it draws (major and minor), offset texts,
    annotations and texts, legend titles and entries (figure legends too)."""
    from matplotlib.axis import Tick
    from matplotlib.text import Text

    ticks = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                ticks.update({id(tick.label1), id(tick.label2)})
    found = [t for t in fig.findobj(Text) if id(t) not in ticks]
    for ax in fig.axes:                   # the tick labels matplotlib draws (those inside the view limits)
        for which in ("x", "y"):
            found += getattr(ax, f"get_{which}ticklabels")(which="both")
    texts = {t.get_text().strip() for t in found if t.get_visible() and t.get_text().strip()}
    return sorted(texts)


def record_texts(name: str, texts: Sequence[str], figures_dir: str | Path = "../figures") -> Path:
    """Set ``name``'s entry of ``<figures_dir>/figure_texts.json`` to ``texts`` (sorted), keeping every other
    figure's entry (a run of some notebooks leaves the others' texts); keys sorted, so the file is
    deterministic."""
    try:
        texts_by_figure = read_texts(figures_dir)
    except json.JSONDecodeError:
        texts_by_figure = {}          # a broken file is rewritten from the figures saved from now on
    texts_by_figure[name] = sorted(set(texts))
    return atomic_write_json(dict(sorted(texts_by_figure.items())), Path(figures_dir) / FIGURE_TEXTS)


def read_texts(figures_dir: str | Path = "../figures") -> dict[str, list[str]]:
    """``figure name -> its texts`` from ``<figures_dir>/figure_texts.json`` (:func:`record_texts`); ``{}``
    when there is none."""
    path = Path(figures_dir) / FIGURE_TEXTS
    return json.loads(path.read_text()) if path.exists() else {}


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


_TUPLE = re.compile(r"\(\s*\d+(?:\s*,\s*\d+)*\s*,?\s*\)")


def _no_negative_zero(text: str) -> str:
    """``"-0"``, ``"-0.00"``, ``"-0e+00"`` -> without the sign: a number that rounds to zero shows no sign."""
    if text.startswith("-"):
        try:
            if float(text[1:].replace(",", "")) == 0:
                return text[1:]
        except ValueError:
            pass
    return text


def format_cell(v, q: Quantity | None = None) -> str:
    """One value as table text: missing or empty -> "—"; booleans yes/no; numbers scaled and rounded as the
    column's :class:`~hgsr.viz.style.Quantity` says (fractions ×100 for %); integers with thousands
    separators; other floats to 4 significant digits; a number that rounds to zero without a sign (never
    ``-0``); a sequence column's tuple (or its text ``"(20, 50)"``) as ``20-50``; a key of a column of keys
    by its name (``q.names``); anything else as ``str``."""
    if _missing(v) or (isinstance(v, str) and not v.strip()):
        return MISSING
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, numbers.Real):
        x = float(v) * (q.scale if q is not None else 1.0)
        if q is not None and q.decimals is not None:
            text = f"{x:,.{q.decimals}f}" if q.decimals == 0 else f"{x:.{q.decimals}f}"
        elif isinstance(v, numbers.Integral) or (q is None and float(v).is_integer() and abs(x) >= 1000):
            text = f"{int(round(x)):,}"
        else:
            text = format(x, ".4g")
        return _no_negative_zero(text)
    if q is not None and q.sequence:
        if isinstance(v, (tuple, list)) and all(isinstance(w, numbers.Integral) for w in v):
            return widths_text(v)
        if isinstance(v, str) and _TUPLE.fullmatch(v.strip()):
            return widths_text(int(w) for w in re.findall(r"\d+", v))
    if q is not None and q.names is not None and isinstance(v, str):
        return str(q.names(v))
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


def split(df: pd.DataFrame, main: Sequence[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The one rule that splits a table into what a reader needs (the main table) and an appendix.

    A column goes to the appendix when every value in it is missing, when its quantity is a
    :attr:`~hgsr.viz.vocabulary.Quantity.detail` (a dense reference, an image count, a timing, a machine key),
    when ``main`` is given and does not name it, or when it lies beyond the first :data:`MAX_COLUMNS` of the
    columns left (give ``main`` to choose among them). Returns ``(main table, appendix)``; the appendix holds the
    main table's first column (to read its rows beside the main table's, in the same order) and the columns
    moved, or is None when none is. An empty table is its own main table."""
    if main is not None:
        unknown = [c for c in main if c not in df.columns]
        if unknown:
            raise InvalidArgument(f"main names column(s) {unknown} that the table lacks; its columns: {list(df.columns)}")
    keep = []
    for k, col in enumerate(df.columns):
        values = df.iloc[:, k]
        q = style.quantity(str(col))
        empty = len(df) > 0 and all(_missing(v) or (isinstance(v, str) and not v.strip()) for v in values)
        if empty or (q is not None and q.detail) or (main is not None and col not in main):
            continue
        keep.append(col)
    if main is not None:
        keep = [c for c in main if c in keep]
    keep = keep[:MAX_COLUMNS]
    if not len(df.columns) or not keep:
        return df, None
    moved = [c for c in df.columns if c not in keep]
    if not moved:
        return df, None
    return df[keep], df[[keep[0]] + [c for c in moved if c != keep[0]]]


def show(df: pd.DataFrame, headers: Mapping[str, str] | None = None, main: Sequence[str] | None = None):
    """``df``'s main table (:func:`split`; ``main`` chooses its columns) formatted for display in a notebook as
    :func:`markdown_table` formats it, from the one
    vocabulary (:data:`HEADERS`): readable headers with units (``headers`` overrides some), fractions
    in % with their decimals, counts with thousands separators, booleans yes/no, "—" for missing values,
    columns the vocabulary does not know under their own name with 4 significant digits
    (:func:`format_cell`). Returns a :class:`pandas.io.formats.style.Styler`: the data stay as they
    are, only their display changes; a default ``RangeIndex`` is hidden, as in the saved Markdown."""
    headers = dict(headers or {})
    df = split(df, main)[0]
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
               headers: Mapping[str, str] | None = None, main: Sequence[str] | None = None) -> Path:
    """Save ``df``'s main table (:func:`split`; ``main`` chooses its columns) as
    ``<figures_dir>/tables/<name>.csv`` (machine column names, keys, fractions in [0, 1]) and ``.md``
    (:func:`markdown_table`: readable headers and names, %, "—" for missing), and the columns moved out as
    ``<name>_appendix.csv`` (an appendix left from an earlier save is removed when there is none now);
    returns the CSV path."""
    folder = Path(figures_dir) / "tables"
    table, appendix = split(df, main)
    atomic_write_text(table.to_csv(index=False), folder / f"{name}.csv")
    atomic_write_text(markdown_table(table, headers), folder / f"{name}.md")
    extra = folder / f"{name}{APPENDIX}.csv"
    if appendix is not None:
        atomic_write_text(appendix.to_csv(index=False), extra)
    elif extra.exists():
        extra.unlink()
    return folder / f"{name}.csv"


def save_text(text: str, name: str, figures_dir: str | Path = "../figures") -> Path:
    """Save Markdown prose computed from results (e.g. a verdict) as ``<figures_dir>/tables/<name>.md``,
    so the README can quote it (:mod:`hgsr.suite.readme`) without a number typed by hand."""
    path = Path(figures_dir) / "tables" / f"{name}.md"
    atomic_write_text(text.rstrip("\n") + "\n", path)
    return path
