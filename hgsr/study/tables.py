"""Tables of compact networks: "20-50 → a-b", test error before/after pruning and after fine-tuning,
parameters and MACs removed (the LeNet-5/MNIST result the study reports, issue #6), with the
published SSL number beside ours (docs/methods.md section 7).

Input: ``{label: result}`` where ``result`` is what :func:`hgsr.compact.compact_from_zeros` or
:func:`hgsr.study.dead_channels.compact_by_rule` return (only ``result["summary"]`` is read).
"""
from __future__ import annotations

from typing import Mapping

import pandas as pd

# docs/methods.md section 7: SSL on LeNet-5 / MNIST, from a third-party table (Wen et al., NeurIPS 2016).
SSL_PUBLISHED = {"family": "SSL (published)", "rule": "published", "widths": "20-50 → 3-12",
                 "error_dense": 0.0080, "error_pruned": float("nan"), "error_finetuned": 0.0100,
                 "params_removed": float("nan"), "macs_removed": float("nan"), "tol": float("nan"),
                 "source": "Wen et al., NeurIPS 2016 (SSL), third-party table",
                 "setting": "Caffe LeNet 20-50-800-500, full MNIST, long schedule"}


def rule_text(summary: dict) -> str:
    """How the summary chose the channels: ``"||F|| <= tol"``, a named rule, or ``|γ| <= rel·max|γ|``."""
    rule = summary.get("rule", "zeros")
    if rule == "gamma":
        return f"|γ| ≤ {summary['rel']:g}·max|γ|"
    what = {"zeros": "‖F‖", "inputs": "‖C_next‖", "zeros+inputs": "‖F‖ or ‖C_next‖"}[rule]
    return f"{what} ≤ {summary['tol']:g}"


def compact_table(results: Mapping[str, dict], published: bool = False) -> pd.DataFrame:
    """One row per compact network: family, rule, ``"dense → compact"`` conv widths, test error of
    the dense model (``1 - acc_dense``), after pruning, after fine-tuning, fraction of params and MACs
    removed, tolerance; with ``published`` a last row holds :data:`SSL_PUBLISHED` (NaN where unknown)."""
    rows = []
    for label, res in results.items():
        s = res["summary"]
        rows.append({"family": label, "rule": rule_text(s), "widths": f"{s['widths_dense']} → {s['widths']}",
                     "error_dense": 1 - s["acc_dense"], "error_pruned": 1 - s["acc_pruned"],
                     "error_finetuned": 1 - s["acc_finetuned"], "params_removed": s["params_removed"],
                     "macs_removed": s["macs_removed"], "tol": s["tol"], "source": "ours", "setting": ""})
    if published:
        rows.append(dict(SSL_PUBLISHED))
    return pd.DataFrame(rows)


def best_row(table: pd.DataFrame, max_error: float = 0.01) -> pd.Series | None:
    """Our row with the fewest remaining conv filters among those with fine-tuned error ``<= max_error``
    (None if there is none); ties go to the lower error."""
    ours = table[(table["source"] == "ours") & (table["error_finetuned"] <= max_error)].copy()
    if ours.empty:
        return None
    ours["_left"] = ours["widths"].map(lambda w: sum(int(x) for x in w.split("→")[1].strip().split("-")))
    return ours.sort_values(["_left", "error_finetuned"]).drop(columns="_left").iloc[0]


def conv_names(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of a per-layer table (:func:`hgsr.measure.sparsity_table`,
    :func:`hgsr.study.dead_channels.channel_table`) with its layers renamed ``conv1, conv2, ...`` in order
    (``total`` kept), so that models with and without BatchNorm share layer names; ``attrs`` kept."""
    out = table.copy()
    names = iter(f"conv{k}" for k in range(1, len(out) + 1))
    out["layer"] = [lay if lay == "total" else next(names) for lay in out["layer"]]
    out.attrs.update(table.attrs)
    return out
