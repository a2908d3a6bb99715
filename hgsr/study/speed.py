"""Measured inference latency of compact networks against their MAC reduction (docs/methods.md section 6).

Tables come from the one timing protocol, :func:`hgsr.timing.latency_table` (BatchNorm folded,
interleaved rounds, ratios measured side by side); this module reads them:

- :func:`lenet_latency`, :func:`latency_summary`: the latency tables of notebook 08 (LeNet-5 families,
  then ResNet-20);
- :func:`efficiency_summary`: per network, the most reduced model and the median speed-up / MAC ratio;
- :func:`timing_note`, :func:`verdict`: the sentences notebook 08 shows, computed from the tables.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd
from torch import nn

from .. import timing
from ..results import widths_text
from ..errors import InvalidArgument
from . import families


def efficiency_summary(table: pd.DataFrame, batches: Sequence[int] = (1, 64), by: str = "network",
                       min_ratio: float = 1.05) -> pd.DataFrame:
    """Per ``by`` group of a :func:`latency_table` (several concatenated, with a ``label`` column): the
    most reduced model (largest mac_ratio; label, mac_ratio, ``speedup_b{B}``), ``reduced``: how many
    models have ``mac_ratio > min_ratio``, and ``median_efficiency_b{B}``: the median speedup / MAC
    ratio over those (NaN when there is none)."""
    need = [by, "label", "mac_ratio"] + [f"speedup_b{b}" for b in batches] + [f"efficiency_b{b}" for b in batches]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise InvalidArgument(f"table lacks the latency columns {missing}; it has {list(table.columns)} "
                              f"(hgsr.timing.latency_table writes them)")
    rows = []
    for key, d in table.groupby(by, sort=False):
        top = d.loc[d["mac_ratio"].idxmax()]
        red = d[d["mac_ratio"] > min_ratio]
        row = {by: key, "most_reduced": top["label"], "mac_ratio": top["mac_ratio"],
               **{f"speedup_b{b}": top[f"speedup_b{b}"] for b in batches}, "reduced": len(red)}
        row.update({f"median_efficiency_b{b}": float(red[f"efficiency_b{b}"].median()) if len(red) else float("nan")
                    for b in batches})
        rows.append(row)
    return pd.DataFrame(rows)


# The columns of notebook 08's latency table, in order (those a table has).
LATENCY_COLUMNS = ["network", "label", "widths", "params", "macs", "latency_b1_ms", "latency_b64_ms", "speedup_b1",
                   "speedup_b64", "mac_ratio", "efficiency_b1", "efficiency_b64"]


def lenet_latency(compacted: Mapping[str, dict], dense: nn.Module, batches: Sequence[int] = (1, 64),
                  threads: int | None = 1, **timing_kw) -> pd.DataFrame:
    """:func:`hgsr.timing.latency_table` of the dense LeNet-5 (``dense``) and the compact networks of
    ``{family: compact result}`` (each by its own rule, :func:`hgsr.study.dead_channels.compact_own`), with each family's label,
    widths and accuracy after fine-tuning; ``network`` = "LeNet-5"; the dense row is the "dense
    reference" of widths 20-50. ``timing_kw``: repeats, warm-up passes and rounds."""
    models = {"dense": dense, **{n: out["model"] for n, out in compacted.items()}}
    info = pd.DataFrame([{"model": n, "label": families.FAMILIES[n].label, "widths": widths_text(out["summary"]["widths"]),
                          "acc_finetuned": out["summary"]["acc_finetuned"]} for n, out in compacted.items()])
    speed = timing.latency_table(models, (1, 28, 28), batches=batches, threads=threads, **timing_kw)
    table = info.merge(speed, on="model", how="right").assign(network="LeNet-5")
    table.loc[table.model == "dense", ["label", "widths"]] = ["dense reference", "20-50"]
    return table


def latency_summary(lenet: pd.DataFrame, resnet: pd.DataFrame) -> pd.DataFrame:
    """The LeNet-5 table of :func:`lenet_latency` and a ResNet-20 :func:`hgsr.timing.latency_table`
    (each compact network labelled by its protocol, :func:`hgsr.study.filter_pruning.model_label`) in one
    table, the columns of :data:`LATENCY_COLUMNS` that it has."""
    from .filter_pruning import model_label

    resnet = resnet.assign(network="ResNet-20", label=resnet["model"].map(model_label), widths=None)
    table = pd.concat([lenet, resnet], ignore_index=True)
    return table[[c for c in LATENCY_COLUMNS if c in table.columns]]


# ----------------------------------------------------------------------------- verdicts (notebook 08)
def timing_note(info: dict, timing: dict, batches: Sequence[int]) -> str:
    """Markdown: the machine and the timing protocol (:func:`machine_info`, the ``TIMING`` dict)."""
    from ..viz.vocabulary import count_text as many
    return (f"Timings below: CPU **{info['cpu']}** ({info['cores']} logical cores), {info['platform']}, torch "
            f"{info['torch']}, **{many(info['threads'], 'thread')}** per forward pass; "
            f"{many(timing['repeats'], 'timed pass', 'timed passes')} in {many(timing['rounds'], 'round')} "
            f"after {many(timing['warmup'], 'warm-up pass', 'warm-up passes')}, batch sizes "
            f"{', '.join(map(str, batches))}.")


def verdict(table: pd.DataFrame, batches: Sequence[int] = (1, 64), by: str = "network",
            min_ratio: float = 1.05) -> str:
    """Markdown for notebook 08 from a concatenated :func:`latency_table` (with ``by`` and ``label``
    columns): per group, the most reduced network and its speed-ups, the median efficiency, and which
    networks with ``mac_ratio > min_ratio`` run below their MAC ratio (efficiency < 1) and which at or
    above it, batch by batch."""
    eff = efficiency_summary(table, batches, by=by, min_ratio=min_ratio)
    lines = []
    for _, e in eff.iterrows():
        if e["reduced"] == 0:
            lines.append(f"- **{e[by]}**: no compact network has more than {min_ratio - 1:.0%} fewer MACs than the "
                         "dense one in this run.")
            continue
        d = table[(table[by] == e[by]) & (table["mac_ratio"] > min_ratio)]
        line = (f"- **{e[by]}**: the most reduced network ({e['most_reduced']}) has {e['mac_ratio']:.1f}x fewer MACs "
                f"and runs " + " and ".join(f"{e[f'speedup_b{b}']:.2f}x faster at batch {b}" for b in batches)
                + f"; over the {int(e['reduced'])} networks with fewer MACs, the median efficiency is "
                + ", ".join(f"{e[f'median_efficiency_b{b}']:.2f} at batch {b}" for b in batches) + ".")
        for b in batches:
            above = d[d[f"efficiency_b{b}"] >= 1]
            below = len(d) - len(above)
            if above.empty:
                line += f" At batch {b} every one of them runs below its MAC ratio."
            else:
                line += (f" At batch {b}, {below} of {len(d)} run below their MAC ratio and "
                         + ", ".join(f"{r['label']} (efficiency {r[f'efficiency_b{b}']:.2f})" for _, r in above.iterrows())
                         + (" runs" if len(above) == 1 else " run") + " at or above it.")
        lines.append(line)
    return "\n".join(lines)


# ----------------------------------------------------------------------------- exercise answers (notebook 08)
def _median_efficiency(table: pd.DataFrame, batch: int, min_ratio: float = 1.05) -> float:
    """Median speed-up / MAC ratio at ``batch`` over the models of ``table`` with ``mac_ratio > min_ratio``."""
    col = f"efficiency_b{batch}"
    if col not in table.columns:
        raise InvalidArgument(f"table has no {col!r} column (timed batches: "
                              f"{[c[len('efficiency_b'):] for c in table.columns if c.startswith('efficiency_b')]})")
    red = table[table["mac_ratio"] > min_ratio]
    return float(red[col].median()) if len(red) else float("nan")


def threads_answer(before: pd.DataFrame, after: pd.DataFrame, batches: Sequence[int], threads_before: int,
                   threads_after: int, min_ratio: float = 1.05) -> str:
    """Notebook 08, exercise 1, from two :func:`lenet_latency` tables of the same networks timed with
    ``threads_before`` and ``threads_after`` intra-op threads: the median efficiency (speed-up / MAC ratio)
    of the networks with fewer MACs, batch by batch, and whether the extra threads raised or lowered it."""
    parts, moves = [], []
    for b in batches:
        e0, e1 = _median_efficiency(before, b, min_ratio), _median_efficiency(after, b, min_ratio)
        moves.append(e1 - e0)
        parts.append(f"batch {b}: {e0:.2f} with {threads_before} thread(s), {e1:.2f} with {threads_after}")
    text = "Median efficiency of the compact LeNet-5 networks, " + "; ".join(parts) + ". "
    if all(m < 0 for m in moves):
        return text + ("With more threads it went **down**: the extra threads sped up the dense reference, whose "
                       "operators have more work to split, more than the narrow networks, whose operators are too "
                       "small to pay for splitting and synchronizing.")
    if all(m > 0 for m in moves):
        return text + ("With more threads it went **up**: on this machine the narrow networks gained from the extra "
                       "threads at least as much as the dense reference (their operators were large enough to split, "
                       "or the dense one was held back by something else, e.g. memory traffic).")
    return text + ("It moved in **different directions** at different batch sizes: whether splitting an operator "
                   "between threads pays depends on how much work it has, and that grows with the batch.")


def batch_answer(table: pd.DataFrame, larger: pd.DataFrame, batches: Sequence[int], batch: int,
                 settled: float = 0.1, min_ratio: float = 1.05) -> str:
    """Notebook 08, exercise 2: the median efficiency of the compact LeNet-5 networks at each of
    ``batches`` (``table``) and at the larger ``batch`` (``larger``, the same networks timed at it), and
    whether it has settled: within ``settled`` (relative) of the largest batch of ``batches``."""
    effs = {b: _median_efficiency(table, b, min_ratio) for b in batches}
    effs[batch] = _median_efficiency(larger, batch, min_ratio)
    prev = effs[max(batches)]
    text = "Median efficiency by batch size: " + ", ".join(f"{e:.2f} at batch {b}" for b, e in effs.items()) + ". "
    if abs(effs[batch] - prev) <= settled * abs(prev):
        return text + (f"From batch {max(batches)} to {batch} it moves by less than {settled:.0%}: it has **settled** "
                       f"near {effs[batch]:.2f}, so batch {max(batches)} was already in the arithmetic-bound regime.")
    return text + (f"From batch {max(batches)} to {batch} it still moves by more than {settled:.0%} "
                   f"({'up' if effs[batch] > prev else 'down'}): it has **not settled** at these batch sizes.")
