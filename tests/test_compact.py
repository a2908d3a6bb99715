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


def test_the_dense_accuracy_is_read_from_the_run_only_while_its_weights_are_the_runs():
    from hgsr import experiments, train
    cfg = experiments.Config(dataset="synthetic", model="lenet5", train_subset=256, test_subset=128, epochs=1,
                             lr=0.05, profile="smoke")
    r = experiments.run(cfg, progress=False)
    assert compact.is_run_model(r)
    assert compact.compact_from_zeros(r, tol=1e-6)["summary"]["acc_dense"] == r.metrics["test_acc"]
    with torch.no_grad():                      # edited after the run: its stored metrics no longer apply
        r.model.features[0].weight[:10] = 0
    assert not compact.is_run_model(r)
    edited = train.evaluate(compact.masked_by_support(r.model), experiments.dataset_for(cfg))["accuracy"]
    assert compact.compact_from_zeros(r, tol=1e-6)["summary"]["acc_dense"] == edited


def test_a_run_whose_weights_an_auxiliary_v_masks_is_measured_again():
    from hgsr import experiments
    cfg = experiments.Config(dataset="synthetic", model="lenet5", train_subset=256, test_subset=128, epochs=1,
                             lr=0.05, profile="smoke",
                             regularizer={"key": "nonconvex_sgl", "lam": 8e-4, "beta": 1.0, "R": "l1"})
    r = experiments.run(cfg, progress=False)
    assert r.measured_as_is() and not compact.is_run_model(r)
