
from hgsr.study import comparison as cmp


def test_verdict_states_the_lenet_fronts_under_the_rule_it_names_and_no_resnet_number():
    import pandas as pd
    from hgsr.study import fronts
    row = dict(label="A", family="a", rule="zeros", lam="lam = 1", lam_mult=1.0, seed=0, widths="4-10",
               linear_units="500", filters_left=14, params=90000, macs=200000, error_finetuned=0.009, val_error=0.0095,
               error_dense=0.008, params_dense=431080, macs_dense=2293000, test_images=10000, val_images=5000)
    base = {**row, "label": "none", "family": "none", "widths": "20-50", "filters_left": 70, "params": 431080,
            "macs": 2293000, "error_finetuned": 0.008, "val_error": 0.009}
    pts = fronts.points(pd.DataFrame([base, row]))
    text = cmp.verdict(fronts.table(pts), pts, "smoke")
    assert text.startswith("**LeNet-5 / MNIST (smoke profile, removal rule: ‖F‖ ≤ tol).**")
    shared = fronts.table(pts).assign(rule=fronts.RULE_TEXT["shared"])
    assert cmp.verdict(shared, pts, "smoke").startswith(
        "**LeNet-5 / MNIST (smoke profile, removal rule: ΔL order, within the validation allowance).**")
    assert "Fewest filters at ≤ 1.00% test error: A**, 14.0 filters (4-10)" in text
    assert "ResNet" not in text      # notebook 06 states ResNet-20's result; 07 does not recompute it


def test_published_resnet_rows_come_from_the_csv():
    t = cmp.published_resnet()
    assert len(t) >= 3 and t["source"].str.contains("ICPR 2020").any()
