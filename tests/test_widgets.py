"""Interactive explorers (hgsr.widgets), driven headless by setting control values."""
import numpy as np
import pandas as pd
import pytest
import torch

from hgsr import models, prox, widgets

from conftest import sparse_lenet

SHAPE = (1, 28, 28)


def lenet_size(c1, c2):
    """Hand count of LeNet-5 (1x28x28 input) params and MACs with conv widths c1, c2 (fc 500, 10 classes)."""
    params = (c1 * 25 + c1) + (c2 * c1 * 25 + c2) + (c2 * 16 * 500 + 500) + (500 * 10 + 10)
    macs = c1 * 24 * 24 * 25 + c2 * 8 * 8 * c1 * 25 + c2 * 16 * 500 + 500 * 10
    return params, macs


@pytest.fixture(scope="module")
def runs():
    tiny_vgg = models.build("vgg", 10, 1, 28, cfg=[8, "M", 16])       # other layer names: features.0, features.4
    with torch.no_grad():
        tiny_vgg.features[4].weight[:6] = 0
    return {"sparse": sparse_lenet(), "vgg": tiny_vgg}


def test_filter_norm_explorer_counts_match_hand_counts(runs):
    ex = widgets.filter_norm_explorer(runs, SHAPE, tol=1e-3)
    assert set(ex.controls) == {"run", "layer", "tol"} and ex.redraws == 1
    s = ex.summary
    assert (s["layer"], s["layer_zero_filters"], s["layer_filters"]) == ("features.0", 5, 20)
    assert s["removed_channels"] == 15 and s["prunable_channels"] == 70
    assert (s["params"], s["macs"]) == lenet_size(15, 40)
    assert (s["params_dense"], s["macs_dense"]) == lenet_size(20, 50)
    assert "5/20 filters" in ex.text.value and f"{lenet_size(15, 40)[0]:,}" in ex.text.value
    assert len(ex.figure.axes) == 3

    ex.controls["layer"].value = "features.2"                           # one callback, one redraw
    assert ex.redraws == 2
    assert (ex.summary["layer_zero_filters"], ex.summary["layer_zero_channels"]) == (10, 4)
    assert "10/50 filters and 4/20 input channels" in ex.text.value

    ex.controls["tol"].value = 10.0                                     # every filter below: one kept per layer
    assert ex.summary["layer_zero_filters"] == 50 and ex.summary["removed_channels"] == 19 + 49
    assert (ex.summary["params"], ex.summary["macs"]) == lenet_size(1, 1)


def test_filter_norm_explorer_run_switch_resets_layer_once(runs):
    ex = widgets.filter_norm_explorer(runs, SHAPE)
    ex.update(layer="features.2")
    n = ex.redraws
    ex.controls["run"].value = "vgg"                                    # features.2 is no conv there
    assert ex.redraws == n + 1
    assert list(ex.controls["layer"].options) == [("conv1", "features.0"), ("conv2", "features.4")]
    assert ex.controls["layer"].value == "features.0" and ex.controls["layer"].label == "conv1"
    assert "<b>conv1</b>" in ex.text.value
    ex.update(layer="features.4", tol=1e-4)
    assert ex.redraws == n + 2 and ex.summary["layer_zero_filters"] == 6 and ex.summary["removed_channels"] == 6
    with pytest.raises(ValueError, match="controls"):
        ex.update(threshold=1.0)
    with pytest.raises(ValueError):
        widgets.filter_norm_explorer({}, SHAPE)


def test_sparsity_pattern_viewer_compares_two_runs(runs):
    dense = models.build("lenet5", 10, 1, 28)
    ex = widgets.sparsity_pattern_viewer({"sparse": runs["sparse"], "dense": dense}, tol=1e-3)
    assert len(ex.figure.axes) == 4
    a, b = ex.summary["A: sparse"], ex.summary["B: dense"]
    assert (a["filters"], a["all_filters"], a["channels"]) == (55, 70, 1 + 16)
    assert (b["filters"], b["kernels"]) == (70, 20 + 50 * 20)
    ex.controls["run_b"].value = "sparse"
    assert ex.summary["B: sparse"] == ex.summary["A: sparse"]
    ex.controls["tol"].value = 10.0
    assert ex.summary["A: sparse"]["filters"] == 0 and "0/70 filters" in ex.text.value


def test_thresholding_playground_thresholds():
    ex = widgets.thresholding_playground()
    assert len(ex.figure.axes) == 6 and ex.summary["hard"] == pytest.approx(2 ** 0.5)
    old = ex.text.value
    ex.update(lam=0.5, a=0.1, alpha=1.0)
    assert ex.redraws == 2 and ex.text.value != old
    s = ex.summary
    assert s["soft"] == pytest.approx(0.5) and s["hard"] == pytest.approx(1.0) and s["l1_l2"] == pytest.approx(0.0)
    assert s["tl1"] == pytest.approx(prox.tl1_threshold(0.5, 0.1))
    assert "λ = 0.5" in ex.figure._suptitle.get_text()


def test_pruning_explorer_widths_sizes_and_predicted_loss():
    model = sparse_lenet()
    rng = np.random.default_rng(0)
    scores = pd.DataFrame({"group": ["features.0"] * 20 + ["features.2"] * 50,
                           "channel": list(range(20)) + list(range(50))})
    scores["delta_loss"] = rng.permutation(70) / 100.0                 # distinct, so the choice is unique
    scores["score"] = scores["delta_loss"]
    ex = widgets.pruning_explorer(model, scores, SHAPE, fraction=0.0)
    assert ex.summary["removed"] == 0 and ex.summary["predicted_loss_increase"] == 0.0
    assert (ex.summary["params"], ex.summary["macs"]) == lenet_size(20, 50)

    ex.controls["fraction"].value = 0.5
    low = scores.nsmallest(35, "score")
    c1 = 20 - int((low["group"] == "features.0").sum())
    c2 = 50 - int((low["group"] == "features.2").sum())
    s = ex.summary
    assert s["removed"] == 35
    assert (s["widths"]["features.0"], s["widths"]["features.2"]) == (c1, c2)
    assert (s["params"], s["macs"]) == lenet_size(c1, c2)
    assert s["predicted_loss_increase"] == pytest.approx(low["delta_loss"].sum())
    assert "first-order, additive estimate" in ex.text.value
    assert f"{c1}/20" in [t.get_text() for t in ex.figure.axes[0].texts]

    ex.update(fraction=0.95)                                            # never empties a layer
    assert min(ex.summary["widths"].values()) >= 1
    with pytest.raises(ValueError, match="score"):
        widgets.pruning_explorer(model, scores.drop(columns="score"), SHAPE)


# ----------------------------------------------------------------------------- front_explorer (notebook 07)
def _sweep_points(shift=0.0):
    import pandas as pd
    rows = []
    for lab, mults in (("A", (0.5, 1.0, 2.0)), ("B", (1.0, 4.0))):
        for k, m in enumerate(mults):
            rows.append({"label": lab, "lam_mult": m, "widths": f"{20 - 5 * k}-{50 - 10 * k}",
                         "filters_left": 70.0 - 15 * k, "error_finetuned": 0.01 + 0.002 * k + shift,
                         "params": 4e5 / (k + 1), "test_acc": 0.99 - 0.002 * k - shift})
    return pd.DataFrame(rows)


def test_front_explorer_moves_lambda_within_the_family_and_rule():
    from hgsr import widgets as W
    ex = W.front_explorer({"shared rule": _sweep_points(), "own rule": _sweep_points(0.001)}, label="A", lam_mult=1.0)
    assert ex.summary["widths"] == "15-40" and "15-40" in ex.text.value
    ex.update(lam_mult=2.0)
    assert ex.summary["filters_left"] == 40.0
    ex.update(label="B")                   # B was swept at 1 and 4: the nearest of them to 2 is taken
    assert [v for _, v in ex.controls["lam_mult"].options] == [1.0, 4.0] and ex.summary["lam_mult"] in (1.0, 4.0)
    ex.update(rule="own rule")
    assert ex.summary["rule"] == "own rule" and "own rule" in ex.figure.axes[0].get_title()


def test_front_explorer_names_bad_input():
    from hgsr import widgets as W
    with pytest.raises(ValueError, match="label"):
        W.front_explorer({"shared rule": _sweep_points()}, label="C")
    with pytest.raises(ValueError, match="lam_mult"):
        W.front_explorer({"shared rule": _sweep_points()}, label="A", lam_mult=3.0)
    with pytest.raises(ValueError, match="empty"):
        W.front_explorer({})
