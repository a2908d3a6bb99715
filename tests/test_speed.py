import pandas as pd
import pytest

from hgsr import models
from hgsr import timing
from hgsr.study import speed


def test_latency_table_counts_and_ratios():
    dense = models.build("lenet5", 10, 1, 28)
    narrow = models.build("lenet5", 10, 1, 28, widths=(5, 12, 500))
    bn = models.build("lenet5", 10, 1, 28, batchnorm=True)
    df = timing.latency_table({"dense": dense, "narrow": narrow, "bn": bn}, (1, 28, 28), batches=(1, 4),
                             repeats=2, warmup=1, rounds=2).set_index("model")
    assert df.loc["dense", "mac_ratio"] == 1 and df.loc["dense", "speedup_b4"] == 1
    assert df.loc["narrow", "mac_ratio"] == pytest.approx(df.loc["dense", "macs"] / df.loc["narrow", "macs"])
    assert df.loc["narrow", "mac_ratio"] > 5 and df.loc["narrow", "params"] < df.loc["dense", "params"]
    for b in (1, 4):
        assert (df[f"latency_b{b}_ms"] > 0).all()
        assert df[f"efficiency_b{b}"].to_numpy() == pytest.approx((df[f"speedup_b{b}"] / df["mac_ratio"]).to_numpy())
    assert df.attrs["threads"] == 1 and df.attrs["cores"] >= 1 and df.attrs["cpu"]


def test_latency_table_rejects_bad_arguments():
    m = {"dense": models.build("lenet5", 10, 1, 28)}
    with pytest.raises(ValueError, match="reference"):
        timing.latency_table(m, (1, 28, 28), reference="base")
    with pytest.raises(ValueError, match="repeats"):
        timing.latency_table(m, (1, 28, 28), repeats=1, rounds=2)


def test_efficiency_summary_picks_the_most_reduced_model_per_network():
    import pandas as pd
    t = pd.DataFrame({"network": ["a", "a", "a", "b"], "label": ["dense", "x", "y", "dense"],
                      "mac_ratio": [1.0, 2.0, 4.0, 1.0], "speedup_b1": [1.0, 1.5, 2.0, 1.0],
                      "efficiency_b1": [1.0, 0.75, 0.5, 1.0]})
    s = speed.efficiency_summary(t, batches=(1,)).set_index("network")
    assert s.loc["a", "most_reduced"] == "y" and s.loc["a", "speedup_b1"] == 2.0 and s.loc["a", "reduced"] == 2
    assert s.loc["a", "median_efficiency_b1"] == pytest.approx(0.625)
    assert s.loc["b", "reduced"] == 0 and s.loc["b", "median_efficiency_b1"] != s.loc["b", "median_efficiency_b1"]
    with pytest.raises(ValueError, match="speedup_b64"):
        speed.efficiency_summary(t, batches=(1, 64))


def test_latency_summary_stacks_lenet_and_resnet_in_the_notebook_columns():
    import pandas as pd

    lenet = pd.DataFrame({"model": ["dense", "l1"], "label": ["dense reference", "L1"], "widths": ["20-50", "5-12"],
                          "acc_finetuned": [0.99, 0.98], "params": [431080, 9000], "mac_ratio": [1.0, 4.0],
                          "speedup_b1": [1.0, 2.0], "network": "LeNet-5"})
    resnet = pd.DataFrame({"model": ["dense", "ΔL 30%"], "params": [270000, 190000], "mac_ratio": [1.0, 1.4],
                           "speedup_b1": [1.0, 1.2]})
    t = speed.latency_summary(lenet, resnet)
    assert list(t.columns) == ["network", "label", "widths", "params", "speedup_b1", "mac_ratio"]
    assert t["network"].tolist() == ["LeNet-5"] * 2 + ["ResNet-20"] * 2
    assert t["label"].tolist() == ["dense reference", "L1", "dense control", "ΔL 30%"] and pd.isna(t["widths"].iloc[2])
