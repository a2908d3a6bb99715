"""hgsr.viz.sweep_point: one λ of a family on the front of all sweep points."""
import pandas as pd
import pytest

from hgsr.viz.sweep_point import sweep_point


def _points():
    a = pd.DataFrame({"label": "A", "lam_mult": [0.5, 1.0, 2.0], "params": [400, 200, 100],
                      "test_acc": [0.99, 0.985, 0.97]})
    b = pd.DataFrame({"label": "B", "lam_mult": [0.25 * k for k in range(1, 11)],
                      "params": [300 - 20 * k for k in range(10)],
                      "test_acc": [0.99 - 0.002 * k for k in range(9)] + [0.1]})   # the last one collapsed
    return pd.concat([a, b], ignore_index=True)


def test_the_chosen_point_is_ringed_and_the_family_joined_in_lambda_order():
    fig = sweep_point(_points(), "A", 1.0)
    ax = fig.axes[0]
    line = [l for l in ax.lines if l.get_label().startswith("A")][0]
    assert list(line.get_xdata()) == [400, 200, 100]
    ringed = [c for c in ax.collections if c.get_label() == "λ × 1"][0]
    assert ringed.get_offsets().tolist() == [[200, 0.985]]
    assert ax.get_ylim()[0] > 0.9          # the collapsed point of B does not flatten the rest
    assert ax.get_xscale() == "log" and "parameters" in ax.get_xlabel()


def test_unknown_family_or_lambda_is_named():
    with pytest.raises(ValueError, match="label='C'.*A, B"):
        sweep_point(_points(), "C", 1.0)
    with pytest.raises(ValueError, match="lam_mult=3.0.*0.5, 1, 2"):
        sweep_point(_points(), "A", 3.0)
