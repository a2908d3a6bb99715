"""One results schema for compact networks: every table, "best family" choice and verdict reads it.

A :class:`CompactResult` is one network after structure removal: its conv widths before and after
(integer tuples), parameters and MACs before and after (counts), and its test **error** as a fraction
in [0, 1] (``1 − accuracy``) before removal, right after it, and after fine-tuning. Derived columns:
``filters_left = Σ widths``, ``params_removed = 1 − params/params_dense`` and
``macs_removed = 1 − macs/macs_dense`` (fractions in [0, 1]). Unknown values are ``None`` (NaN in a
table), never a made-up number. Published results use the same type with ``source`` naming the
paper (see :func:`hgsr.study.published.compact_results`).

:class:`Results` is a list of them with :meth:`Results.rows` (a DataFrame with :data:`COLUMNS`) and
:meth:`Results.best` (fewest filters left at an error bound).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import pandas as pd

from .errors import InvalidArgument

SCHEMA_VERSION = 3   # part of every cached compact result's key: a change of the schema recomputes

COLUMNS = ("label", "source", "rule", "widths_dense", "widths", "filters_left", "params_dense", "params",
           "params_removed", "macs_dense", "macs", "macs_removed", "error_dense", "error_pruned",
           "error_finetuned", "seed", "setting")


def widths_text(widths: Iterable[int]) -> str:
    """``(20, 50)`` → ``"20-50"``."""
    return "-".join(str(int(w)) for w in widths)


def _fraction_removed(after: int | None, before: int | None) -> float | None:
    if after is None or before in (None, 0):
        return None
    return 1 - after / before


def _error(x: float | None, name: str) -> float | None:
    if x is None:
        return None
    x = float(x)
    if math.isnan(x):
        return None
    if not 0.0 <= x <= 1.0:
        raise InvalidArgument(f"{name}={x!r} is not an error: an error is a fraction in [0, 1] (1 - accuracy)")
    return x


@dataclass(frozen=True)
class CompactResult:
    label: str
    widths_dense: tuple[int, ...]
    widths: tuple[int, ...]
    error_dense: float | None
    error_finetuned: float | None
    error_pruned: float | None = None
    params_dense: int | None = None
    params: int | None = None
    macs_dense: int | None = None
    macs: int | None = None
    rule: str = ""
    source: str = "ours"
    setting: str = ""
    seed: int | None = None
    extra: Mapping = field(default_factory=dict, compare=False)

    def __post_init__(self):
        for name in ("widths_dense", "widths"):
            w = getattr(self, name)
            if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in w):
                raise InvalidArgument(f"{name}={w!r}: widths must be positive integers (one per conv)")
            object.__setattr__(self, name, tuple(int(v) for v in w))
        for name in ("error_dense", "error_pruned", "error_finetuned"):
            object.__setattr__(self, name, _error(getattr(self, name), name))

    @property
    def filters_left(self) -> int:
        return sum(self.widths)

    @property
    def params_removed(self) -> float | None:
        return _fraction_removed(self.params, self.params_dense)

    @property
    def macs_removed(self) -> float | None:
        return _fraction_removed(self.macs, self.macs_dense)

    def row(self) -> dict:
        """The schema's columns (:data:`COLUMNS`), widths as ``"20-50"`` text, None → NaN."""
        out = {c: getattr(self, c) for c in COLUMNS}
        out["widths_dense"], out["widths"] = widths_text(self.widths_dense), widths_text(self.widths)
        return {k: (float("nan") if v is None else v) for k, v in out.items()}

    @classmethod
    def from_summary(cls, label: str, summary: Mapping, rule: str = "", seed: int | None = None) -> "CompactResult":
        """From the ``summary`` of :func:`hgsr.compact.compact_with` (accuracies → errors)."""
        return cls(label=label, widths_dense=tuple(summary["widths_dense"]), widths=tuple(summary["widths"]),
                   error_dense=1 - summary["acc_dense"], error_pruned=1 - summary["acc_pruned"],
                   error_finetuned=1 - summary["acc_finetuned"], params_dense=summary["params_dense"],
                   params=summary["params"], macs_dense=summary["macs_dense"], macs=summary["macs"],
                   rule=rule, seed=seed)


class Results(list):
    """A list of :class:`CompactResult` with the table and the "best" choice every notebook uses."""

    def rows(self) -> pd.DataFrame:
        return pd.DataFrame([r.row() for r in self], columns=list(COLUMNS))

    def best(self, error_at_most: float = 0.01, source: str | None = "ours",
             error: str = "error_finetuned") -> CompactResult | None:
        """Fewest filters left among results (of ``source``; None: any) whose ``error`` (a field:
        ``error_finetuned`` by default, or ``error_pruned`` / ``error_dense``) is ``<= error_at_most``;
        ties go to the lower error. None when no result qualifies."""
        if error not in ("error_dense", "error_pruned", "error_finetuned"):
            raise InvalidArgument(f"unknown error {error!r}; valid: error_dense, error_pruned, error_finetuned")
        if not 0 <= error_at_most <= 1:
            raise InvalidArgument(f"error_at_most={error_at_most!r} is not an error bound: it must be a fraction in [0, 1]")
        ok = [r for r in self if (source is None or r.source == source)
              and getattr(r, error) is not None and getattr(r, error) <= error_at_most]
        return min(ok, key=lambda r: (r.filters_left, getattr(r, error)), default=None)
