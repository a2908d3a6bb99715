import pytest

from hgsr.study import l1_over_l2


def test_sweep_removes_zero_filters_first_then_more_as_rho_grows(zero_filter_run):
    r = zero_filter_run()
    df = l1_over_l2.relative_threshold_sweep(r, rhos=(1e-6, 0.5, 0.99))
    assert df.attrs["widths_dense"] == "20-50"
    first = df.iloc[0]
    assert first["widths"] == "15-30"                            # only the exact zeros go at tiny rho
    assert first["test_acc"] == df.attrs["acc_dense"] and first["acc_drop"] == 0  # exact surgery
    assert df["filters_left"].is_monotonic_decreasing and df["filters_left"].iloc[-1] < 45
    assert df["params_removed"].is_monotonic_increasing and 0 < df["params_removed"].iloc[-1] < 1
    again = l1_over_l2.relative_threshold_sweep(r, rhos=(1e-6, 0.5, 0.99))  # from the cache
    assert again["widths"].tolist() == df["widths"].tolist()


def test_choose_rho_stops_at_the_first_too_costly_threshold(zero_filter_run):
    import pandas as pd
    sweep = pd.DataFrame({"rho": [0.01, 0.1, 0.2, 0.3], "acc_drop": [0.0, 0.005, 0.05, 0.0]})
    assert l1_over_l2.choose_rho(sweep, 0.01) == 0.1        # 0.3 is fine but comes after a failure
    assert l1_over_l2.choose_rho(sweep, 0.1) == 0.3
    assert l1_over_l2.choose_rho(sweep.assign(acc_drop=1.0), 0.01) == 0.01
    with pytest.raises(ValueError, match="rhos"):
        l1_over_l2.relative_threshold_sweep(zero_filter_run(), rhos=(1.5,))
