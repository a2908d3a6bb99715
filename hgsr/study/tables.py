"""Tables of compact networks in the one results schema (:mod:`hgsr.results`): conv widths before and
after, test error before/after pruning and after fine-tuning, parameters and MACs removed, with the
published LeNet-5 numbers (``data/published.csv``, :mod:`hgsr.study.published`) beside ours.

Input: ``{label: result}`` where ``result`` is what :func:`hgsr.compact.compact_from_zeros` or
:func:`hgsr.study.dead_channels.compact_by_rule` return (only ``result["summary"]`` is read).
"""
from __future__ import annotations

from typing import Mapping

import pandas as pd

from ..errors import InvalidArgument
from ..results import CompactResult, Results, widths_text
from . import published
from .published import lenet_results


def rule_text(summary: dict) -> str:
    """How the summary chose the channels: ``"||F|| <= tol"``, a named rule, or ``|γ| <= rel·max|γ|``."""
    rule = summary.get("rule", "zeros")
    if rule == "gamma":
        return f"|γ| ≤ {summary['rel']:g}·max|γ|"
    what = {"zeros": "‖F‖", "inputs": "‖C_next‖", "zeros+inputs": "‖F‖ or ‖C_next‖"}[rule]
    return f"{what} ≤ {summary['tol']:g}"


def compact_results(results: Mapping[str, dict], published: bool = False) -> Results:
    """``{label: compact result}`` → :class:`~hgsr.results.Results` in the one schema (rule as text);
    with ``published`` the published LeNet-5 rows of ``data/published.csv`` follow ours."""
    out = Results(CompactResult.from_summary(label, res["summary"], rule_text(res["summary"]))
                  for label, res in results.items())
    if published:
        out.extend(lenet_results())
    return out


def compact_table(results: Mapping[str, dict], published: bool = False) -> pd.DataFrame:
    """:func:`compact_results` as a table (:data:`hgsr.results.COLUMNS`)."""
    return compact_results(results, published).rows()


def conv_names(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of a per-layer table (:func:`hgsr.measure.sparsity_table`,
    :func:`hgsr.study.dead_channels.channel_table`) with its layers renamed ``conv1, conv2, ...`` in order
    (``total`` kept), so that models with and without BatchNorm share layer names; ``attrs`` kept."""
    out = table.copy()
    names = iter(f"conv{k}" for k in range(1, len(out) + 1))
    out["layer"] = [lay if lay == "total" else next(names) for lay in out["layer"]]
    out.attrs.update(table.attrs)
    return out


def filters_left(layer_tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per-layer tables (``{family: table}`` with ``layer`` and ``filters_left`` columns, e.g. renamed by
    :func:`conv_names`) as one table: a row per family (the index), a column per layer and ``total``."""
    return pd.DataFrame({name: t.set_index("layer")["filters_left"] for name, t in layer_tables.items()}).T


def verdict_against_published(results: Results, ssl_label: str, baseline_error: float, budget: str,
                              target_key: str = "ssl_lenet_3_12") -> str:
    """Markdown: the published SSL point (``data/published.csv``), our SSL row ``ssl_label`` and our
    family with the fewest filters at ≤ the published error (:meth:`~hgsr.results.Results.best`)."""
    pub = published.lenet_result(target_key)
    pub_row = published.row(target_key)
    ours = {r.label: r for r in results if r.source == "ours"}
    if ssl_label not in ours:
        raise InvalidArgument(f"ssl_label={ssl_label!r} is not one of our results: {', '.join(ours)}")
    ssl = ours[ssl_label]
    lines = [f"**Published (not ours):** {pub.source}: {widths_text(pub.widths)} filters at "
             f"{pub.error_finetuned:.2%} error (dense {pub.error_dense:.2%}); setting: {pub.setting}. "
             f"*{pub_row['note']}.*",
             f"**Ours** ({budget}): SSL gives {widths_text(ssl.widths)} at {ssl.error_finetuned:.2%} error "
             f"(dense baseline {baseline_error:.2%})."]
    best = results.best(error_at_most=pub.error_finetuned)
    if best is None:
        lines.append(f"No family of ours reaches ≤ {pub.error_finetuned:.2%} error after fine-tuning at this budget.")
    else:
        lines.append(f"Fewest filters among our families at ≤ {pub.error_finetuned:.2%} error: **{best.label}**, "
                     f"{widths_text(best.widths)} at {best.error_finetuned:.2%} ({best.params_removed:.0%} of "
                     f"parameters and {best.macs_removed:.0%} of MACs removed).")
    return "\n\n".join(lines)


def verdict_fewest_filters(results: Results, budget: str, error_at_most: float = 0.01,
                           target_key: str = "ssl_lenet_3_12") -> str:
    """Markdown: our result with the fewest filters at ≤ ``error_at_most`` fine-tuned error
    (:meth:`~hgsr.results.Results.best`), else the one with the lowest error, and the published point."""
    best = results.best(error_at_most=error_at_most)
    pick = best or min((r for r in results if r.source == "ours"), key=lambda r: r.error_finetuned)
    pub = published.lenet_result(target_key)
    tail = (f"it is the smallest network at ≤ {error_at_most:.2%} error" if best else
            f"no family reaches ≤ {error_at_most:.2%} error at this budget, this is the lowest error")
    return (f"Among these families, **{pick.label}** gives {widths_text(pick.widths)} filters at "
            f"{pick.error_finetuned:.2%} error after fine-tuning ({pick.params_removed:.1%} of the parameters and "
            f"{pick.macs_removed:.1%} of the MACs removed); {tail}. SSL's published LeNet-5 result is "
            f"{widths_text(pub.widths)} filters at {pub.error_finetuned:.2%} error ({budget}).")
