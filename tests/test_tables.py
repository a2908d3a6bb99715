import math

from hgsr.study import tables as cr


def _res(widths, acc_ft, rule="zeros"):
    return {"summary": {"widths_dense": "20-50", "widths": widths, "acc_dense": 0.99, "acc_pruned": 0.98,
                        "acc_finetuned": acc_ft, "params_removed": 0.5, "macs_removed": 0.6, "tol": 1e-2,
                        "rel": 1e-2, "rule": rule}}


def test_compact_table_rows_and_published_row():
    t = cr.compact_table({"a": _res("5-12", 0.991), "b": _res("4-10", 0.95, "gamma")}, published=True)
    assert list(t["widths"]) == ["20-50 → 5-12", "20-50 → 4-10", "20-50 → 3-12"]
    assert math.isclose(t["error_finetuned"][0], 0.009) and math.isclose(t["error_pruned"][1], 0.02)
    assert t["rule"][0] == "‖F‖ ≤ 0.01" and t["rule"][1].startswith("|γ| ≤ 0.01")
    assert t["source"].tolist() == ["ours", "ours", cr.SSL_PUBLISHED["source"]]


def test_best_row_takes_fewest_filters_within_the_error_budget():
    t = cr.compact_table({"a": _res("5-12", 0.991), "b": _res("4-10", 0.95), "c": _res("6-9", 0.992)},
                         published=True)
    assert cr.best_row(t, 0.01)["family"] == "c"        # 6+9 filters; b has fewer but 5% error
    assert cr.best_row(t, 0.001) is None


def test_conv_names_relabels_layers_in_order_and_keeps_attrs():
    import pandas as pd
    t = pd.DataFrame({"layer": ["features.0", "features.3", "total"], "filters": [20, 50, 70]})
    t.attrs["tol"] = 0.01
    out = cr.conv_names(t)
    assert out["layer"].tolist() == ["conv1", "conv2", "total"] and out.attrs["tol"] == 0.01
    assert t["layer"][1] == "features.3"
