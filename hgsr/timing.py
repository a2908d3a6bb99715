"""The one timing protocol: interleaved, median-of-rounds CPU latency of several models side by side.

:func:`latency_table` times each model in inference form (BatchNorm folded, :func:`hgsr.prune.fuse_bn`) for
each batch size in ``rounds`` rounds, every model once per round (:func:`hgsr.measure.latency`: warm-up, then
the median of the timed passes), and reports the median over rounds. Interleaving spreads the noise of a
shared machine over all models alike; ratios (speed-up, MAC ratio, efficiency) are measured side by side.
"""
from __future__ import annotations

import os
import platform
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import measure, prune
from .errors import InvalidArgument


def _cpuinfo(keys: Sequence[str]) -> dict[str, str]:
    """The first value of each of ``keys`` in ``/proc/cpuinfo`` (Linux; ``{}`` elsewhere)."""
    found = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                if key in keys and key not in found:
                    found[key] = value.strip()
    except OSError:
        pass
    return found


def _fallback_cpu() -> str:
    return platform.processor() or platform.machine() or "unknown"


def cpu_name() -> str:
    """The CPU model name (``/proc/cpuinfo`` on Linux, else :func:`platform.processor`)."""
    return _cpuinfo(("model name",)).get("model name") or _fallback_cpu()


def cpu_model() -> str:
    """Vendor, family, model and stepping of the CPU (``/proc/cpuinfo``), e.g. ``AuthenticAMD family 25 model 1
    stepping 1``: the marketing name alone (``AMD EPYC``) covers generations with different instruction sets."""
    keys = ("vendor_id", "cpu family", "model", "stepping")
    f = _cpuinfo(keys)
    if len(f) < len(keys):
        return _fallback_cpu()
    return f"{f['vendor_id']} family {f['cpu family']} model {f['model']} stepping {f['stepping']}"


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
    (speedup / mac_ratio: 1 when latency falls exactly as the MACs do). ``attrs``: machine_info, and
    ``round_latency_ms[B][model]``, the latency of each round (for the spread of a speed-up).
    """
    if reference not in models:
        raise InvalidArgument(f"reference {reference!r} is not among the models: {', '.join(models)}")
    if repeats < rounds or rounds < 1:
        raise InvalidArgument(f"repeats and rounds need repeats >= rounds >= 1, got repeats={repeats}, rounds={rounds}")
    if not batches or any(int(b) < 1 for b in batches):
        raise InvalidArgument(f"batches must be a non-empty list of positive integers, got {list(batches)}")
    fused = {k: prune.fuse_bn(m.cpu()) for k, m in models.items()}
    rows = {k: {"model": k, "params": measure.count_params(m), "macs": measure.count_macs(m.cpu(), input_shape)}
            for k, m in models.items()}
    per = max(1, repeats // rounds)
    per_round = {}
    for b in batches:
        times = per_round[int(b)] = {k: [] for k in models}
        for _ in range(rounds):
            for k, m in fused.items():
                times[k].append(measure.latency(m, input_shape, batch=int(b), repeats=per, warmup=warmup,
                                                threads=threads))
        for k in models:
            rows[k][f"latency_b{b}_ms"] = 1e3 * float(np.median(times[k]))
            times[k] = [1e3 * t for t in times[k]]
    df = pd.DataFrame(list(rows.values()))
    ref = df.set_index("model").loc[reference]
    df["mac_ratio"] = ref["macs"] / df["macs"]
    for b in batches:
        df[f"speedup_b{b}"] = ref[f"latency_b{b}_ms"] / df[f"latency_b{b}_ms"]
        df[f"efficiency_b{b}"] = df[f"speedup_b{b}"] / df["mac_ratio"]
    df.attrs.update(machine_info(threads), reference=reference, repeats=repeats, warmup=warmup, rounds=rounds,
                    round_latency_ms=per_round)
    return df


