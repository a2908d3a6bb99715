import pytest
import torch

from hgsr import measure, models
from hgsr.study import intro as study


def test_zero_random_weights_zeroes_the_fraction_and_keeps_shapes():
    m = models.build("lenet5", 10, 1, 28)
    z = study.zero_random_weights(m, 0.75, seed=1)
    for (n, a), (_, b) in zip(m.named_parameters(), z.named_parameters()):
        assert a.shape == b.shape
        if n.endswith("weight") and a.dim() > 1:
            assert abs((b == 0).float().mean().item() - 0.75) < 0.02, n
    assert measure.count_params(z) == measure.count_params(m)
    assert not torch.equal(next(m.parameters()), torch.zeros_like(next(m.parameters())))


def test_structured_vs_unstructured_rows_are_consistent():
    df = study.structured_vs_unstructured("vgg11", (3, 32, 32), width=0.5, batch=2, repeats=2, rounds=2, threads=1)
    dense, sparse, narrow = df.to_dict("records")
    assert sparse["params"] == dense["params"] and sparse["macs"] == dense["macs"]
    assert sparse["nonzero_params"] < 0.5 * dense["params"]
    assert narrow["params"] < 0.5 * dense["params"] and narrow["macs"] < 0.5 * dense["macs"]
    assert df["speedup"].iloc[0] == 1.0
    assert (df["speedup_low"] <= df["speedup_high"]).all() and df["speedup_low"].iloc[0] == 1.0
    with pytest.raises(ValueError, match="rounds=1"):
        study.structured_vs_unstructured("vgg11", (3, 32, 32), batch=2, repeats=2, rounds=1)


def test_model_costs_per_layer_tables():
    t = study.model_costs({"LeNet-5": ("lenet5", (1, 28, 28), {})})["LeNet-5"]
    assert {"params", "macs"} <= set(t.columns)
