"""Relative-threshold sweep of a trained run (docs/methods.md sections 5 and 6), without fine-tuning.

For each ``ρ``, the filters with ``||F[o]||_2 <= ρ · max_o' ||F[o']||_2`` of their layer are removed
(:func:`hgsr.prune.zero_plan` with ``rel=ρ``; a layer always keeps its largest filter) by real
surgery (:func:`hgsr.prune.prune`, exact constant folding), and the compact network is evaluated as
it is. Cheaper than one :func:`hgsr.compact.compact_from_zeros` per ``ρ``: the dense accuracy is
computed once. Cached by the run's config hash and the grid (:func:`hgsr.experiments.cached`).
"""
from __future__ import annotations

from typing import Sequence

import pandas as pd

from .. import compact, experiments, measure, prune, results, train

DEFAULT_RHOS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7)


def relative_threshold_sweep(run: experiments.Run, rhos: Sequence[float] = DEFAULT_RHOS) -> pd.DataFrame:
    """One row per ``ρ``: rho, widths ("a-b"), filters_left (conv filters kept), params, macs,
    params_removed, macs_removed (fractions of the dense network), test_acc (compact, not fine-tuned),
    acc_drop (dense accuracy − test_acc). ``attrs``: acc_dense, widths_dense, params_dense, macs_dense.
    """
    rhos = [float(r) for r in rhos]
    if not rhos or any(not 0 <= r < 1 for r in rhos):
        raise ValueError(f"rhos must be a non-empty list of values in [0, 1), got {rhos}")
    cfg = run.config

    def compute():
        ds = experiments.dataset_for(cfg)
        shape = experiments.input_shape(ds)
        dense = compact.masked_by_support(run.model)
        acc0 = train.evaluate(dense, ds)["accuracy"]
        rows = []
        for rho in rhos:
            _, m = compact.prune_and_measure(dense, prune.zero_plan(dense, shape, rel=rho), ds, shape, acc0)
            rows.append({"rho": rho, "widths": results.widths_text(m["widths"]), "filters_left": sum(m["widths"]),
                         "params": m["params"], "macs": m["macs"], "params_removed": m["params_removed"],
                         "macs_removed": m["macs_removed"], "test_acc": m["acc_pruned"],
                         "acc_drop": acc0 - m["acc_pruned"]})
        df = pd.DataFrame(rows)
        df.attrs.update(acc_dense=acc0, widths_dense=results.widths_text(compact.conv_widths(dense)),
                        params_dense=measure.count_params(dense), macs_dense=measure.count_macs(dense, shape))
        return df

    df = experiments.cached("rel_sweep", {"run": cfg.hash(), "rhos": rhos, "schema": results.SCHEMA_VERSION}, compute)
    return df


def choose_rho(sweep: pd.DataFrame, max_drop: float = 0.01) -> float:
    """The largest ``ρ`` of ``sweep`` such that it and every smaller ``ρ`` of the grid lose at most
    ``max_drop`` accuracy before fine-tuning (a fraction: 0.01 = one point); the smallest ``ρ`` of
    the grid when even that one loses more."""
    if not 0 <= max_drop < 1:
        raise ValueError(f"max_drop must be in [0, 1), got {max_drop!r}")
    d = sweep.sort_values("rho")
    bad = (d["acc_drop"] > max_drop).to_numpy().cumsum() > 0
    ok = d["rho"][~bad]
    return float(ok.iloc[-1]) if len(ok) else float(d["rho"].iloc[0])
