"""hgsr.suite.report: CSV for machines, Markdown for people (headers with units, %, "—", escaped cells)."""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from conftest import pipe_rows
from hgsr.suite import report


TABLE = pd.DataFrame({"model": ["prox_l1", "a|b"], "|w|<=0.01": [0.9868, 0.5],
                      "error_finetuned": [0.0092, np.nan], "params_removed": [0.7443, None],
                      "params": [431080, 95929], "note": ["x", None]})


def test_markdown_headers_units_percent_missing_and_escaped_pipes():
    md = report.markdown_table(TABLE)
    rows = pipe_rows(md)
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
    rows = pipe_rows(md)
    assert rows[0] == ["params", "zero_kernels", "ok"]                   # not "parameters", not "(%)"
    assert rows[2] == ["t=1", "12", "yes"]
    mixed = report.markdown_table(pd.DataFrame({"params_removed": [0.495, "> 50%"]}))
    assert pipe_rows(mixed)[2:] == [["49.5"], ["> 50%"]]


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


def test_cells_never_show_negative_zero_and_widths_read_20_50():
    assert report.format_cell(-0.0) == "0" and report.format_cell(-1e-9, report.HEADERS["lam_mult"]) == "0.000"
    assert report.format_cell(-0.00001, report.HEADERS["test_acc"]) == "0.00"
    assert report.format_cell(-0.0123, report.HEADERS["test_acc"]) == "-1.23"          # a real negative stays
    widths = report.HEADERS["widths"]
    assert report.format_cell((20, 50), widths) == "20-50" and report.format_cell("(3, 9)", widths) == "3-9"
    assert report.format_cell("9-16, 6-10", widths) == "9-16, 6-10"
    assert report.format_cell((10, 500), None) == "(10, 500)"                          # a shape is no width


def test_key_columns_show_names_and_keep_keys_in_the_csv(tmp_path):
    df = pd.DataFrame({"dataset": ["fashion_mnist", "MNIST"], "rule": ["zeros+inputs", "‖F‖ ≤ 0.01"],
                       "criterion_a": ["bn_gamma", "loss"], "grouping": ["input", "output"],
                       "variant": ["hsr_gl12/output", "dense"]})
    rows = pipe_rows(report.markdown_table(df))
    assert rows[2] == ["Fashion-MNIST", "‖F‖ ≤ tol or inputs ≤ tol", "BN \\|γ\\|", "feature-wise",
                       "HSR-GL1/2, neuron-wise"]
    assert rows[3] == ["MNIST", "‖F‖ ≤ 0.01", "loss increase ΔL", "neuron-wise", "dense"]   # names pass through
    report.save_table(df, "99_keys", tmp_path)
    assert pd.read_csv(tmp_path / "tables" / "99_keys.csv")["criterion_a"].tolist() == ["bn_gamma", "loss"]


def test_split_moves_empty_detail_unchosen_and_surplus_columns_to_the_appendix(tmp_path):
    df = pd.DataFrame({"label": ["a", "b"], "params": [10, 20], "params_dense": [30, 30], "seed": [np.nan, None],
                       "test_images": [100, 100], "error": [0.1, 0.2]})
    main, appendix = report.split(df)
    assert list(main.columns) == ["label", "params", "error"]
    assert list(appendix.columns) == ["label", "params_dense", "seed", "test_images"]
    main, appendix = report.split(df, main=["params", "label"])
    assert list(main.columns) == ["params", "label"] and "error" in appendix.columns
    with pytest.raises(ValueError, match="lacks"):
        report.split(df, main=["nope"])
    wide = pd.DataFrame({f"c{k}": [k] for k in range(report.MAX_COLUMNS + 3)})
    main, appendix = report.split(wide)
    assert main.shape[1] == report.MAX_COLUMNS and list(appendix.columns) == ["c0"] + [f"c{k}" for k in range(
        report.MAX_COLUMNS, report.MAX_COLUMNS + 3)]
    assert report.split(pd.DataFrame({"label": ["a"]}))[1] is None

    report.save_table(df, "99_split", tmp_path)
    folder = tmp_path / "tables"
    assert "parameters, dense" not in (folder / "99_split.md").read_text()
    assert list(pd.read_csv(folder / "99_split_appendix.csv").columns) == ["label", "params_dense", "seed",
                                                                           "test_images"]
    assert list(pd.read_csv(folder / "99_split.csv").columns) == ["label", "params", "error"]
    report.save_table(df[["label", "params"]], "99_split", tmp_path)          # no appendix now: the old one goes
    assert not (folder / "99_split_appendix.csv").exists()
    heads, _ = _shown(report.show(df))
    assert heads == ["label", "parameters", "error (%)"]


def test_save_figure_records_every_visible_text(tmp_path):
    fig, (ax, ax2) = plt.subplots(1, 2)
    ax.plot([0, 1], [0, 2], label="conv1")
    ax.set(title="filters", xlabel="epoch", ylabel="test accuracy (%)", xlim=(0, 1))
    ax.annotate("chosen", (0.5, 1))
    ax.legend(title="layer")
    hidden = ax2.text(0.1, 0.1, "features.0")
    hidden.set_visible(False)
    fig.suptitle("a figure")
    report.save_figure(fig, "99_a", tmp_path)
    texts = report.read_texts(tmp_path)["99_a"]
    assert {"filters", "epoch", "test accuracy (%)", "conv1", "layer", "chosen", "a figure", "1.0"} <= set(texts)
    assert "features.0" not in texts and texts == sorted(set(texts))
    fig2, ax = plt.subplots()
    ax.set_title("other")
    report.save_figure(fig2, "99_b", tmp_path)                                   # one entry per figure: both kept
    stored = report.read_texts(tmp_path)
    assert list(stored) == ["99_a", "99_b"] and stored["99_a"] == texts and "other" in stored["99_b"]
    plt.close(fig)
    plt.close(fig2)


def test_manifest_records_appendices_and_the_figures_texts(tmp_path):
    from hgsr.suite import manifest

    df = pd.DataFrame({"label": ["a"], "params": [1], "params_dense": [2]})
    report.save_table(df, "00_t", tmp_path)
    fig, ax = plt.subplots()
    ax.set_title("title")
    report.save_figure(fig, "00_f", tmp_path)
    plt.close(fig)
    files = manifest.output_digests(tmp_path, ["00_f.png", "tables/00_t.csv", "tables/00_missing.csv"])
    assert set(files) == {"00_f.png", "tables/00_t.csv", "tables/00_t_appendix.csv", "tables/00_missing.csv",
                          report.FIGURE_TEXTS}
    assert files["tables/00_missing.csv"] is None and files[report.FIGURE_TEXTS]
    before = files[report.FIGURE_TEXTS]
    report.record_texts("01_other", ["x"], tmp_path)                              # another notebook's figure
    assert manifest.output_digests(tmp_path, ["00_f.png"])[report.FIGURE_TEXTS] == before
    report.record_texts("00_f", ["changed"], tmp_path)
    assert manifest.output_digests(tmp_path, ["00_f.png"])[report.FIGURE_TEXTS] != before
