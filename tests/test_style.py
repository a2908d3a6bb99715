"""The suite's figure style (hgsr.viz.style): palette and markers, percent ticks, layer names, units."""
import matplotlib.pyplot as plt
import numpy as np
import pytest

from hgsr import models
from hgsr.viz import style


def test_importing_viz_applies_the_style():
    import hgsr.viz  # noqa: F401

    from matplotlib.colors import to_hex

    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    assert [to_hex(c) for c in colors[:len(style.PALETTE)]] == list(style.PALETTE)
    assert plt.rcParams["axes.grid"] and plt.rcParams["figure.constrained_layout.use"]


def test_sixteen_families_get_distinct_colour_marker_pairs():
    labels = [f"family {k}" for k in range(17)]
    st = style.series_styles(labels)
    pairs = {(s["color"], s["marker"]) for s in st.values()}
    assert len(pairs) == 17
    assert len({s["color"] for s in st.values()}) == len(style.PALETTE)    # every palette colour used
    assert len(style.series_styles([f"x{k}" for k in range(60)])) == 60
    assert len({(s["color"], s["marker"]) for s in style.series_styles([f"x{k}" for k in range(60)]).values()}) == 60
    assert style.series_styles(["a", "b"])["a"] == st["family 0"]         # stable: first label, first style
    assert style.label_cycle(labels)["family 3"] == st["family 3"]["color"]


def test_percent_formatter_shows_fractions_in_percent():
    fmt = style.percent_formatter(decimals=0)
    assert fmt(0.25, 0) == "25" and fmt(1.0, 0) == "100"
    assert style.percent_formatter(decimals=1)(0.9925, 0) == "99.2"
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0.98, 0.99])
    ax.yaxis.set_major_formatter(style.percent_formatter())
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all(97.5 <= float(x) <= 99.5 for x in labels)
    assert style.percent(0.0092, 2) == "0.92%" and style.percent(float("nan")) == "—"


def test_layer_names_lenet5_with_and_without_batchnorm():
    plain = style.layer_names(models.build("lenet5", 10, 1, 28))
    assert plain == {"features.0": "conv1", "features.2": "conv2", "classifier.1": "fc1", "classifier.3": "fc2"}
    bn = style.layer_names(models.build("lenet5", 10, 1, 28, batchnorm=True))
    assert bn["features.3"] == "conv2" and list(bn.values()) == ["conv1", "conv2", "fc1", "fc2"]


def test_layer_names_resnet20():
    names = style.layer_names(models.build("resnet20", 10, 3, 32))
    convs = [v for v in names.values() if v.startswith("conv")]
    assert convs == [f"conv{k}" for k in range(1, 20)]                     # the 19 main convolutions
    assert names["conv1"] == "conv1" and names["layer1.0.conv1"] == "conv2" and names["layer3.2.conv2"] == "conv19"
    assert names["layer2.0.shortcut.0"] == "shortcut1" and names["fc"] == "fc1"
    assert style.ordinal_layer_names(["a.0", "a.3", "head"], ["Conv2d", "Conv2d", "Linear"]) == \
        {"a.0": "conv1", "a.3": "conv2", "head": "fc1"}


def test_quantities_give_words_and_units():
    assert style.axis_label("error_finetuned") == "error after fine-tuning (%)"
    assert style.axis_label("params_removed") == "parameters removed (%)"
    assert style.axis_label("latency_b64_ms") == "latency, batch 64 (ms)"
    assert style.axis_label("|w|<=0.001") == "weights with |w| ≤ 0.001 (%)"
    assert style.axis_label("something_new") == "something new"
    q = style.quantity("test_acc")
    assert q.fraction and q.scale == 100 and not style.quantity("acc_change_points").fraction


def test_matrix_aspect_and_log_rule():
    assert style.matrix_aspect(50, 20) == "auto"
    a = style.matrix_aspect(20, 1)                                          # displayed width/height = 1/4
    assert 1 / (20 * a) == pytest.approx(0.25)
    assert style.spans_decades([1, 20]) and not style.spans_decades([1, 5]) and not style.spans_decades([0, 100])


def test_legend_goes_outside_when_long_and_tidy_moves_a_legend_off_the_data():
    fig, ax = plt.subplots()
    for k in range(8):
        ax.plot([0, 1], [k, k + 1], label=f"s{k}")
    leg = style.legend(ax)
    fig.canvas.draw()
    assert leg.get_window_extent().x0 >= ax.get_window_extent().x1
    fig, ax = plt.subplots()
    g = np.random.default_rng(0)
    ax.scatter(g.uniform(size=4000), g.uniform(size=4000), s=4, label="dense cloud")
    ax.legend(loc="upper left")
    style.tidy(fig)
    fig.canvas.draw()
    legs = [a.get_legend() for a in fig.axes if a.get_legend()] + list(fig.legends)
    assert legs[0].get_window_extent().x0 >= ax.get_window_extent().x1     # no free corner: outside


def test_count_text_puts_the_noun_in_its_number():
    from hgsr.viz.vocabulary import count_text
    assert count_text(1, "epoch") == "1 epoch" and count_text(20, "epoch") == "20 epochs"
    assert count_text(3, "timed pass", "timed passes") == "3 timed passes"


def test_distinct_series_styles_give_a_repeated_registered_colour_way():
    from hgsr.viz import theme
    theme.register_styles({"_a": {"color": 0, "marker": "o"}, "_b": {"color": 0, "marker": "s"}})
    plain, distinct = theme.series_styles(["_a", "_b"]), theme.series_styles(["_a", "_b"], distinct=True)
    assert plain["_a"]["color"] == plain["_b"]["color"]
    assert distinct["_a"]["color"] == theme.PALETTE[0] and distinct["_b"]["color"] != theme.PALETTE[0]
    assert distinct["_b"]["marker"] == "s"
