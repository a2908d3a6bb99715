"""Measured inference latency of compact networks against their MAC reduction (docs/methods.md section 6).

- :func:`machine_info`: the CPU, platform and thread count the timings ran on;
- :func:`latency_table`: params, MACs and median latency (batch sizes of choice) of several models,
  each in inference form (:func:`hgsr.prune.fuse_bn`: BatchNorm folded into its conv), measured
  interleaved in rounds, with the speedup over a reference model, the MAC ratio and their ratio;
"""
from __future__ import annotations

import os
import platform
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from .. import measure, prune


def cpu_name() -> str:
    """The CPU model name (``/proc/cpuinfo`` on Linux, else :func:`platform.processor`)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine_info(threads: int | None = None) -> dict:
    """Where timings run: cpu, cores (``os.cpu_count``), platform, torch version, and ``threads``:
    the intra-op threads a measurement uses (``threads`` if given, else ``torch.get_num_threads()``)."""
    return {"cpu": cpu_name(), "cores": os.cpu_count(), "platform": platform.platform(),
            "torch": torch.__version__, "threads": threads or torch.get_num_threads()}


def latency_table(models: Mapping[str, nn.Module], input_shape, reference: str = "dense",
                  batches: Sequence[int] = (1, 64), repeats: int = 30, warmup: int = 5, rounds: int = 3,
                  threads: int | None = 1) -> pd.DataFrame:
    """Params, MACs and CPU latency of each model of ``{name: model}`` against ``models[reference]``.

    Every model is timed in inference form (:func:`hgsr.prune.fuse_bn`, eval mode, on CPU): for each
    batch size, ``rounds`` rounds in which each model in turn gets :func:`hgsr.measure.latency`
    (``warmup`` passes, median of ``repeats // rounds`` timed passes, ``threads`` intra-op threads);
    the latency is the median over rounds. Interleaving spreads the noise of a shared machine over
    all models alike.

    Columns: model, params, macs, ``latency_b{B}_ms`` and ``speedup_b{B}`` (reference latency /
    latency) per batch size ``B``, mac_ratio (reference MACs / MACs), ``efficiency_b{B}``
    (speedup / mac_ratio: 1 when latency falls exactly as the MACs do). ``attrs``: machine_info.
    """
    if reference not in models:
        raise ValueError(f"reference {reference!r} is not among the models: {', '.join(models)}")
    if repeats < rounds or rounds < 1:
        raise ValueError(f"need repeats >= rounds >= 1, got repeats={repeats}, rounds={rounds}")
    if not batches or any(int(b) < 1 for b in batches):
        raise ValueError(f"batches must be positive integers, got {list(batches)}")
    fused = {k: prune.fuse_bn(m.cpu()) for k, m in models.items()}
    rows = {k: {"model": k, "params": measure.count_params(m), "macs": measure.count_macs(m.cpu(), input_shape)}
            for k, m in models.items()}
    per = max(1, repeats // rounds)
    for b in batches:
        times = {k: [] for k in models}
        for _ in range(rounds):
            for k, m in fused.items():
                times[k].append(measure.latency(m, input_shape, batch=int(b), repeats=per, warmup=warmup,
                                                threads=threads))
        for k in models:
            rows[k][f"latency_b{b}_ms"] = 1e3 * float(np.median(times[k]))
    df = pd.DataFrame(list(rows.values()))
    ref = df.set_index("model").loc[reference]
    df["mac_ratio"] = ref["macs"] / df["macs"]
    for b in batches:
        df[f"speedup_b{b}"] = ref[f"latency_b{b}_ms"] / df[f"latency_b{b}_ms"]
        df[f"efficiency_b{b}"] = df[f"speedup_b{b}"] / df["mac_ratio"]
    df.attrs.update(machine_info(threads), reference=reference, repeats=repeats, warmup=warmup, rounds=rounds)
    return df


def efficiency_summary(table: pd.DataFrame, batches: Sequence[int] = (1, 64), by: str = "network",
                       min_ratio: float = 1.05) -> pd.DataFrame:
    """Per ``by`` group of a :func:`latency_table` (several concatenated, with a ``label`` column): the
    most reduced model (largest mac_ratio; label, mac_ratio, ``speedup_b{B}``), ``reduced``: how many
    models have ``mac_ratio > min_ratio``, and ``median_efficiency_b{B}``: the median speedup / MAC
    ratio over those (NaN when there is none)."""
    need = [by, "label", "mac_ratio"] + [f"speedup_b{b}" for b in batches] + [f"efficiency_b{b}" for b in batches]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise ValueError(f"latency table lacks columns {missing}; has {list(table.columns)}")
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


# ----------------------------------------------------------------------------- verdicts (notebook 08)
def timing_note(info: dict, timing: dict, batches: Sequence[int]) -> str:
    """Markdown: the machine and the timing protocol (:func:`machine_info`, the ``TIMING`` dict)."""
    return (f"Timings below: CPU **{info['cpu']}** ({info['cores']} logical cores), {info['platform']}, torch "
            f"{info['torch']}, **{info['threads']} thread(s)** per forward pass; {timing['repeats']} timed passes in "
            f"{timing['rounds']} round(s) after {timing['warmup']} warm-up pass(es), batch sizes "
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
