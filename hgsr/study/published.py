"""Published numbers, read from one file: ``data/published.csv`` (no published number is typed elsewhere).

Columns: ``key``, ``source`` (paper and where in it), ``setting``, ``model``, ``dataset``, ``method``,
``widths_dense`` / ``widths`` (conv widths as ``"20-50"``, LeNet-5 rows), ``error_dense`` / ``error``
(fractions), ``params_removed`` (fraction; a lower bound where the paper says "more than"),
``acc_change_points``, ``result`` (the paper's own wording), ``verified`` (``no`` = recalled, not
checked against the paper text; ``abstract`` / ``reference code README`` / ``authors' slides`` = where it was read) and
``note``.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import measure, models
from ..errors import CorruptFile, InvalidArgument
from ..results import CompactResult, Results

PUBLISHED_CSV = Path(__file__).resolve().parents[2] / "data" / "published.csv"
REQUIRED = ("key", "source", "setting", "model", "dataset", "method", "widths_dense", "widths", "error_dense",
            "error", "params_removed", "acc_change_points", "result", "verified", "note")


def table(model: str | None = None, dataset: str | None = None, path: Path = PUBLISHED_CSV) -> pd.DataFrame:
    """The published rows, optionally those of one ``model`` family prefix (``"resnet"`` matches
    ``resnet20``) and ``dataset``."""
    try:
        df = pd.read_csv(path, dtype={"widths_dense": str, "widths": str})
    except (OSError, pd.errors.ParserError) as e:
        raise FileNotFoundError(f"{path} cannot be read ({e}); restore it with `git checkout -- {path}`") from e
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise CorruptFile(f"{path} lacks columns {missing}; restore it with `git checkout -- {path}`", path)
    if model is not None:
        df = df[df["model"].str.startswith(model)]
    if dataset is not None:
        df = df[df["dataset"] == dataset]
    return df.reset_index(drop=True)


def row(key: str, path: Path = PUBLISHED_CSV) -> dict:
    """One published row by ``key``."""
    df = table(path=path)
    hit = df[df["key"] == key]
    if hit.empty:
        raise InvalidArgument(f"key={key!r} is not in {path}; known: {', '.join(df['key'])}")
    return hit.iloc[0].to_dict()


def _widths(text) -> tuple[int, ...]:
    return tuple(int(w) for w in str(text).split("-"))


def lenet_result(key: str, path: Path = PUBLISHED_CSV) -> CompactResult:
    """A published LeNet-5/MNIST row as a :class:`~hgsr.results.CompactResult`; parameters and MACs are
    those of a Caffe LeNet-5 of its widths (hidden layer 500) counted by :mod:`hgsr.measure`."""
    r = row(key, path)
    dense = models.build("lenet5", 10, 1, 28, widths=(*_widths(r["widths_dense"]), 500))
    small = models.build("lenet5", 10, 1, 28, widths=(*_widths(r["widths"]), 500))
    shape = (1, 28, 28)
    return CompactResult(label=f"{r['method']} {r['widths']} (published)",
                         widths_dense=_widths(r["widths_dense"]), widths=_widths(r["widths"]),
                         error_dense=None if pd.isna(r["error_dense"]) else r["error_dense"],
                         error_finetuned=r["error"], params_dense=measure.count_params(dense),
                         params=measure.count_params(small), macs_dense=measure.count_macs(dense, shape),
                         macs=measure.count_macs(small, shape), rule="published",
                         source=f"published: {r['source']}" + ("" if r["verified"] != "no" else " (unverified)"),
                         setting=r["setting"])


def lenet_results(path: Path = PUBLISHED_CSV) -> Results:
    """Every published LeNet-5/MNIST pruned row (the baseline row left out)."""
    df = table("lenet5", "mnist", path)
    return Results(lenet_result(k, path) for k, m in zip(df["key"], df["method"]) if m != "none")
