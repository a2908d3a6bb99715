import pytest

from hgsr.results import CompactResult, Results
from hgsr.study import comparison as cmp


def _results(shift=0.0):
    return Results([CompactResult("A", (20, 50), (4, 10), 0.009, 0.009 + shift),
                    CompactResult("B", (20, 50), (2, 8), 0.012, 0.012 + shift),
                    CompactResult("C", (20, 50), (5, 20), 0.008, 0.008 + shift)])


@pytest.mark.parametrize("shift,expect", [(0.0, "fewer than SSL"), (0.05, "no family reaches")])
def test_verdict_states_the_comparison_from_the_numbers(shift, expect):
    best = {"name": "loss · all 50%", "label": "loss increase ΔL, all", "params_removed": 0.55, "macs_removed": 0.6,
            "acc": 0.692, "acc_change_points": -0.8, "acc_change_se_points": 0.1, "acc_dense": 0.7, "seeds": 3,
            "test_images": 10000, "binomial_se_points": 0.46, "meets_target": True}
    text = cmp.verdict(_results(shift), best, "smoke")
    if shift == 0:
        assert "is A: 20-50 → 4-10 (14 filters)" in text and "fewer than SSL" in text and "is met" in text
    else:
        assert "no family reaches" in text and "lowest is C" in text
    assert "55.0%" in text and "-0.80 points" in text


def test_published_resnet_rows_come_from_the_csv():
    t = cmp.published_resnet()
    assert len(t) >= 3 and t["source"].str.contains("ICPR 2020").any()


def test_lenet_result_from_a_registry_family():
    from hgsr.study import families
    r = cmp.lenet_result("none", "smoke", finetune_epochs=0)
    assert r.widths_dense == (20, 50) and r.label == families.family("none").label
    assert r.error_finetuned == r.error_pruned          # no fine-tuning
    assert 0 <= r.params_removed < 1
