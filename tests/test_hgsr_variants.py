import pytest
import torch

from hgsr.study import hgsr_variants


def test_grid_has_sixteen_variants_each_with_a_lambda():
    names = hgsr_variants.variant_names()
    assert len(names) == len(set(names)) == 16
    assert {hgsr_variants.split(n)[0] for n in names} == set(hgsr_variants.KEYS)
    assert sum(n.endswith("/output") for n in names) == len(hgsr_variants.HIERARCHICAL)
    assert set(hgsr_variants.GRID_LAM) == set(names) and all(v > 0 for v in hgsr_variants.GRID_LAM.values())
    with pytest.raises(ValueError, match="known: gl/input"):
        hgsr_variants.split("hsr_gl/sideways")


def test_config_uses_the_variant_subset_and_spec():
    cfg = hgsr_variants.config("hsq_gl12/output", "smoke")
    assert cfg.regularizer == {"key": "hsq_gl12", "lam": hgsr_variants.GRID_LAM["hsq_gl12/output"], "grouping": "output"}
    assert cfg.train_subset == 1024 and hgsr_variants.config("none", "smoke").regularizer is None


def test_summary_counts_channels_left_and_picks_the_fewest_within_the_drop():
    from hgsr import experiments
    cfg = experiments.Config(dataset="synthetic", model="lenet5", train_subset=256, test_subset=128, epochs=1,
                             lr=0.05, profile="smoke")
    base = experiments.run(cfg, progress=False)
    sparse = experiments.run(cfg.replace(regularizer=hgsr_variants.spec("hsr_gl/output", 1e-4)), progress=False)
    with torch.no_grad():
        sparse.model.features[0].weight[:5] = 0          # 5 conv1 filters
        sparse.model.features[2].weight[:, 5:8] = 0      # 3 more conv1 channels nobody reads
        sparse.model.features[2].weight[:10] = 0         # 10 conv2 filters
    t = hgsr_variants.summary({"none": base, "hsr_gl/output": sparse}, tol=1e-6).set_index("variant")
    assert t.loc["none", "channels_left"] == 70
    assert (t.loc["hsr_gl/output", "left_conv1"], t.loc["hsr_gl/output", "left_conv2"]) == (12, 40)
    assert t.loc["hsr_gl/output", "params_left"] < 1 and t.loc["hsr_gl/output", "grouping"] == "output"
    table = t.reset_index()
    table.loc[1, "test_acc"] = table.loc[0, "test_acc"] - 0.005
    assert hgsr_variants.fewest_channels(table, 0.01).variant == "hsr_gl/output"
    assert hgsr_variants.fewest_channels(table, 0.001) is None
