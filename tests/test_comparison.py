
from hgsr.study import comparison as cmp


def test_verdict_joins_the_lenet_fronts_and_the_resnet_headline():
    import pandas as pd
    from hgsr.study import fronts
    row = dict(label="A", family="a", rule="zeros", lam="lam = 1", lam_mult=1.0, seed=0, widths="4-10",
               linear_units="500", filters_left=14, params=90000, macs=200000, error_finetuned=0.009, val_error=0.0095,
               error_dense=0.008, params_dense=431080, macs_dense=2293000, test_images=10000, val_images=5000)
    base = {**row, "label": "none", "family": "none", "widths": "20-50", "filters_left": 70, "params": 431080,
            "macs": 2293000, "error_finetuned": 0.008, "val_error": 0.009}
    pts = fronts.points(pd.DataFrame([base, row]))
    best = {"name": "loss · all 50%", "label": "loss increase ΔL, all", "params_removed": 0.55, "macs_removed": 0.6,
            "acc": 0.692, "acc_change_points": -0.8, "acc_change_se_points": 0.1, "acc_dense": 0.7, "seeds": 3,
            "test_images": 10000, "binomial_se_points": 0.46, "meets_target": True, "source": "committed",
            "finetune_epochs": 15, "plan_differences": 0}
    text = cmp.verdict(fronts.table(pts), pts, best, "smoke")
    assert text.startswith("**LeNet-5 / MNIST (smoke profile, removal rule: ‖F‖ ≤ tol).**")
    shared = fronts.table(pts).assign(rule=fronts.RULE_TEXT["shared"])
    assert cmp.verdict(shared, pts, best, "smoke").startswith(
        "**LeNet-5 / MNIST (smoke profile, removal rule: ΔL order, within the validation allowance).**")
    assert "Fewest filters at ≤ 1.00% test error: A**, 14.0 filters (4-10)" in text and "is **met**" in text
    assert "55.0%" in text and "-0.80 points" in text and "fine-tuned 15 epochs with the same schedule" in text


def test_published_resnet_rows_come_from_the_csv():
    t = cmp.published_resnet()
    assert len(t) >= 3 and t["source"].str.contains("ICPR 2020").any()
