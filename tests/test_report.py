"""hgsr.suite.report: CSV for machines, Markdown for people (headers with units, %, "—", escaped cells)."""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hgsr.suite import report


def _rows(md: str) -> list[list[str]]:
    """Cells of a pipe table, splitting on unescaped pipes only."""
    out = []
    for line in md.strip().splitlines():
        cells, cur, esc = [], "", False
        for ch in line.strip()[1:-1]:
            if ch == "|" and not esc:
                cells.append(cur.strip())
                cur = ""
                continue
            esc = ch == "\\" and not esc
            cur += ch
        cells.append(cur.strip())
        out.append(cells)
    return out


TABLE = pd.DataFrame({"model": ["prox_l1", "a|b"], "|w|<=0.01": [0.9868, 0.5],
                      "error_finetuned": [0.0092, np.nan], "params_removed": [0.7443, None],
                      "params": [431080, 95929], "note": ["x", None]})


def test_markdown_headers_units_percent_missing_and_escaped_pipes():
    md = report.markdown_table(TABLE)
    rows = _rows(md)
    assert len({len(r) for r in rows}) == 1 and len(rows[0]) == 6      # a `|` in a cell breaks nothing
    assert rows[0] == ["model", "weights with \\|w\\| ≤ 0.01 (%)", "error after fine-tuning (%)",
                       "parameters removed (%)", "parameters", "note"]
    assert all(set(c) <= set("-:") for c in rows[1]) and rows[1][2].endswith(":")   # numbers right-aligned
    assert rows[2] == ["prox_l1", "98.7", "0.92", "74.4", "431,080", "x"]
    assert rows[3] == ["a\\|b", "50.0", "—", "—", "95,929", "—"]
    assert "nan" not in md.lower() and "None" not in md


def test_save_table_keeps_machine_csv(tmp_path):
    path = report.save_table(TABLE, "99_demo", tmp_path)
    back = pd.read_csv(path)
    assert list(back.columns) == list(TABLE.columns)
    assert back["error_finetuned"].iloc[0] == 0.0092 and back["params_removed"].dropna().between(0, 1).all()
    assert (tmp_path / "tables" / "99_demo.md").read_text() == report.markdown_table(TABLE)


def test_header_mapping_is_one_place_and_guards_misnamed_columns():
    assert report.header("error_finetuned") == "error after fine-tuning (%)"
    assert report.header("latency_b1_ms") == "latency, batch 1 (ms)"
    assert report.HEADERS["params_removed"].header == "parameters removed (%)"
    md = report.markdown_table(pd.DataFrame({"params": ["t=1"], "zero_kernels": [12], "ok": [True]}))
    rows = _rows(md)
    assert rows[0] == ["params", "zero_kernels", "ok"]                   # not "parameters", not "(%)"
    assert rows[2] == ["t=1", "12", "yes"]
    mixed = report.markdown_table(pd.DataFrame({"params_removed": [0.495, "> 50%"]}))
    assert _rows(mixed)[2:] == [["49.5"], ["> 50%"]]


def test_save_figure_tidies_and_writes(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label="a")
    ax.legend()
    path = report.save_figure(fig, "99_demo", tmp_path)
    assert path.exists() and path.stat().st_size > 0 and getattr(fig, "_hgsr_tidy", False)
    plt.close(fig)


def _shown(styler) -> tuple[list[str], list[list[str]]]:
    """Headers and cell texts of a displayed table, read back from its HTML."""
    import re

    html = styler.to_html()
    heads = re.findall(r'<th id="[^"]*" class="col_heading[^"]*" >(.*?)</th>', html)
    cells = re.findall(r'<td id="[^"]*row(\d+)_col\d+" class="data[^"]*" >(.*?)</td>', html)
    rows: dict[str, list[str]] = {}
    for r, text in cells:
        rows.setdefault(r, []).append(text)
    return heads, list(rows.values())


def test_show_formats_a_table_from_the_vocabulary():
    df = pd.DataFrame({"model": ["a<b", "c"], "error_finetuned": [0.0092, np.nan], "zero_kernels": [0.5, 0.25],
                       "params": [431080, 95929], "spread": [1.23456789, np.nan], "ok": [True, False]})
    styler = report.show(df)
    heads, rows = _shown(styler)
    assert heads == ["model", "error after fine-tuning (%)", "zero kernels (%)", "parameters", "spread", "ok"]
    assert rows[0] == ["a&lt;b", "0.92", "50", "431,080", "1.235", "yes"]    # % with the column's decimals
    assert rows[1] == ["c", "—", "25", "95,929", "—", "no"]                   # NaN as "—"
    assert styler.data is df and "row_heading" not in styler.to_html()      # data untouched, RangeIndex hidden
    heads, rows = _shown(report.show(pd.DataFrame({"params": ["t=1"]}), headers={"params": "operator parameters"}))
    assert heads == ["operator parameters"] and rows == [["t=1"]]


def test_show_keeps_a_meaningful_index_and_formats_it():
    pivot = pd.DataFrame({"rho": [0.05, 0.5], "filters_left": [12, 7]}).set_index("rho")
    html = report.show(pivot).to_html()
    assert ">0.05</th>" in html and ">0.5</th>" in html and ">filters left</th>" in html
