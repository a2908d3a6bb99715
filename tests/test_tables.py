import math

import pandas as pd
import pytest

from hgsr.results import COLUMNS, CompactResult, Results
from hgsr.study import published
from hgsr.study import tables as cr


def _res(widths, acc_ft, rule="zeros"):
    return {"summary": {"widths_dense": (20, 50), "widths": widths, "acc_dense": 0.99, "acc_pruned": 0.98,
                        "acc_finetuned": acc_ft, "params_dense": 1000, "params": 500, "macs_dense": 100,
                        "macs": 40, "tol": 1e-2, "rel": 1e-2, "rule": rule}}


def test_compact_table_rows_in_the_schema_and_the_published_rows():
    t = cr.compact_table({"a": _res((5, 12), 0.991), "b": _res((4, 10), 0.95, "gamma")}, published=True)
    assert list(t.columns) == list(COLUMNS)
    assert list(t["widths"][:2]) == ["5-12", "4-10"] and t["widths"].tolist()[2:] == ["5-19", "3-12"]
    assert math.isclose(t["error_finetuned"][0], 0.009) and math.isclose(t["error_pruned"][1], 0.02)
    assert t["params_removed"][0] == 0.5 and t["macs_removed"][0] == pytest.approx(0.6)
    assert t["rule"][0] == "‖F‖ ≤ 0.01" and t["rule"][1].startswith("|γ| ≤ 0.01")
    assert t["source"][:2].tolist() == ["ours", "ours"]
    assert all(s.startswith("published: Wen et al.") for s in t["source"][2:])


def test_best_takes_fewest_filters_within_the_error_budget_and_ignores_published_rows():
    rs = cr.compact_results({"a": _res((5, 12), 0.991), "b": _res((4, 10), 0.95), "c": _res((7, 9), 0.992)},
                            published=True)
    assert rs.best(0.01).label == "c"          # 7+9 filters; b has fewer but 5% error; 3-12 is published
    assert rs.best(0.01, source=None).label.startswith("SSL (filters + channels) 3-12")
    assert rs.best(0.001) is None
    with pytest.raises(ValueError, match="error_at_most=2"):
        rs.best(2)


def test_schema_rejects_bad_widths_and_errors():
    with pytest.raises(ValueError, match="widths"):
        CompactResult("x", (20, 50), (0, 3), 0.01, 0.01)
    with pytest.raises(ValueError, match="error_finetuned=1.5"):
        CompactResult("x", (20, 50), (3, 3), 0.01, 1.5)
    r = CompactResult("x", (20, 50), (3, 12), 0.01, None, params_dense=100, params=None)
    assert r.params_removed is None and math.isnan(Results([r]).rows()["params_removed"][0])


def test_published_numbers_come_from_one_file(tmp_path):
    assert published.row("ssl_lenet_3_12")["widths"] == "3-12"
    bad = tmp_path / "p.csv"
    bad.write_text("key,source\nx,y\n")
    with pytest.raises(ValueError, match="lacks columns"):
        published.table(path=bad)
    with pytest.raises(ValueError, match="key='nope'"):
        published.row("nope")


def test_conv_names_relabels_layers_in_order_and_keeps_attrs():
    t = pd.DataFrame({"layer": ["features.0", "features.3", "total"], "filters": [20, 50, 70]})
    t.attrs["tol"] = 0.01
    out = cr.conv_names(t)
    assert out["layer"].tolist() == ["conv1", "conv2", "total"] and out.attrs["tol"] == 0.01
    assert t["layer"][1] == "features.3"


def test_filters_left_puts_one_family_per_row_and_one_layer_per_column():
    a = pd.DataFrame({"layer": ["conv1", "conv2", "total"], "filters_left": [5, 12, 17]})
    b = pd.DataFrame({"layer": ["conv1", "conv2", "total"], "filters_left": [20, 50, 70]})
    left = cr.filters_left({"L1": a, "none": b})
    assert left.index.tolist() == ["L1", "none"] and left.columns.tolist() == ["conv1", "conv2", "total"]
    assert left.loc["L1", "conv2"] == 12 and left.loc["none", "total"] == 70
