import pandas as pd
import pytest
import torch

from hgsr import compact


def test_compact_from_zeros_removes_exactly_the_zero_filters_without_changing_outputs(zero_filter_run):
    r = zero_filter_run()
    out = compact.compact_from_zeros(r, tol=1e-6)
    s = out["summary"]
    assert s["widths_dense"] == (20, 50) and s["widths"] == (15, 30)
    assert s["acc_pruned"] == s["acc_dense"]          # exact surgery: same predictions
    assert 0 < s["params_removed"] < 1 and 0 < s["macs_removed"] < 1
    assert isinstance(out["structure"], pd.DataFrame) and out["history"] is None
    again = compact.compact_from_zeros(r, tol=1e-6)   # cached: the same compact weights
    a, b = out["model"].state_dict(), again["model"].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_compact_from_zeros_finetunes_the_compact_network(zero_filter_run):
    r = zero_filter_run()
    out = compact.compact_from_zeros(r, tol=1e-6, finetune_epochs=1)
    assert len(out["history"]) == 1 and out["summary"]["widths"] == (15, 30)


def test_masked_by_support_applies_v_and_drops_buffers():
    m = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3))
    v = torch.ones_like(m[0].weight)
    v[0] = 0
    m[0].register_buffer("hgsr_V", v)
    out = compact.masked_by_support(m)
    assert "hgsr_V" not in dict(out[0].named_buffers())
    assert torch.all(out[0].weight[0] == 0) and torch.equal(out[0].weight[1], m[0].weight[1])


def test_a_diverging_fine_tuning_names_the_run_and_caches_nothing(zero_filter_run):
    from hgsr import train
    r = zero_filter_run()
    for _ in range(2):   # the failure is not cached: the second call fine-tunes (and diverges) again
        with pytest.raises(train.NonFiniteLoss,
                           match=rf"fine-tuning the compact network of run {r.config.hash()} \(compact, .*non-finite"):
            compact.compact_from_zeros(r, tol=1e-6, finetune_epochs=1, finetune_lr=1e8)
