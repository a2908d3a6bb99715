"""The course: the notebooks in reading order, what each teaches, what it trains, how long it takes to run and
how long to teach.

One place for what the README's "Start here" block, notebook 00's reading order and the
previous/next bars at the top and bottom of every notebook say (``tests/test_docs.py`` checks the
bars against :func:`nav_bar`).

Lecture times (:attr:`Lesson.lecture_min`) are a teaching plan, not a measurement: the minutes a lecturer
needs to present a notebook with its exercises and questions, results read from the committed figures.

Wall times: the ``default`` profile's come from ``figures/manifest.json`` (written by ``make figures``;
each notebook run in order, so later notebooks find earlier runs in the cache). The ``smoke``
profile's are measured from an empty cache and committed as ``data/timings/smoke.json`` (:mod:`hgsr.suite.timings`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..data import REPO
from ..errors import InvalidArgument
from . import timings


@dataclass(frozen=True)
class Lesson:
    stem: str        # notebook file name without .ipynb
    title: str       # short title (the notebook's H1 without its number)
    teaches: str     # one line
    trains: str      # what it trains from a cold cache
    lecture_min: int  # a teaching plan: minutes to present it with its exercises (not a measurement)
    reuses: tuple[str, ...] = ()   # notebooks whose cached runs it reads (and trains itself when missing)

    @property
    def number(self) -> str:
        return self.stem[:2]

    @property
    def file(self) -> str:
        return f"{self.stem}.ipynb"


LESSONS: tuple[Lesson, ...] = (
    Lesson("00_introduction", "Introduction",
           "where a CNN's parameters and MACs are; why removing filters speeds a network up and zeroing weights "
           "does not; the datasets; the glossary",
           "nothing (times a VGG-11 on random inputs)", 45),
    Lesson("01_penalties_and_proximal_operators", "Penalties and proximal operators",
           "penalty contours, thresholding functions, subgradient against proximal steps, on one or two weights",
           "nothing", 60),
    Lesson("02_baselines", "Baselines",
           "L1, weight decay, group lasso on filters or channels, SSL, network slimming on LeNet-5/MNIST; "
           "from zero filters to a compact network",
           "7 LeNet-5 runs, and fine-tunes their compact networks", 75),
    Lesson("03_hierarchical_group_sparsity", "Hierarchical group sparsity",
           "the ten HGSR penalties, feature-wise against neuron-wise grouping, kernel-norm heatmaps, square root "
           "against square at matched strength, the kernel-vs-filter tolerance trap",
           "a grid of 17 LeNet-5 runs on an MNIST subset, a λ sweep of its 12 hierarchical variants (about 50 more "
           "such runs) and 4 full-budget runs (HSR-GL and the reference mix, both groupings)", 90),
    Lesson("04_nonconvex_sparse_group_lasso", "Nonconvex sparse group lasso",
           "variable splitting W/V, L1 against L0, TL1 and L1−L2, exact zeros of proximal steps",
           "7 LeNet-5 runs", 90, reuses=("02",)),
    Lesson("05_l1_over_l2", "The L1/L2 pseudo-norm",
           "scale invariance, the relative-threshold sweep, L1/L2 against L1 and weight decay",
           "1 LeNet-5 run", 60, reuses=("02",)),
    Lesson("06_filter_pruning", "Filter pruning",
           "HGSR filter pruning of a ResNet-20 on CIFAR-10: whether the penalty made channels small, four criteria "
           "ranked fairly (per layer where scores are scale-dependent), two candidate sets, one-shot against "
           "iterative ΔL, BatchNorm recalibration, an equal dense control, seeds, standard errors and a budget curve",
           "nothing long (reads the committed dense and HGSR-trained starts and long fine-tunes); channel scores, "
           "pruning curves, short fine-tunes to choose", 90),
    Lesson("07_comparison", "Comparison",
           "every family on one budget: a λ sweep per family on Dask, one shared scale-free removal rule (ΔL order "
           "within an allowance of validation error) beside each family's own, accuracy-vs-size fronts, λ chosen on validation, "
           "seeds where it is close, whether a longer training moves the front (the leaders and HGSR's better grouping "
           "trained longer), published numbers beside ours (ResNet-20's result is 06's)",
           "the λ sweep: 102 LeNet-5 runs and a second seed near the front (the longer budgets of its budget stage are "
           "a committed artifact, data/budget/, made by make lenet-budget)", 75, reuses=("02", "03", "04", "05")),
    Lesson("08_speed", "Speed",
           "measured CPU latency of the compact networks against their MAC reduction",
           "nothing new (times the compact networks)", 45, reuses=("02", "03", "04", "05", "06")),
    Lesson("09_recap", "Recap: which method when",
           "the course's results side by side: every LeNet-5 family under the shared and its own removal rule, the "
           "parameters and MACs removed, the measured speed, the ResNet-20 headline; what to use when",
           "nothing (reads the committed result tables of 03, 06, 07 and 08)", 30),
)

SMOKE = "smoke"                  # data/timings/smoke.json: every notebook in order, smoke profile, cold
SMOKE_08_ALONE = "smoke_08_alone"  # 08 alone from an empty cache: it trains everything it needs


def lesson(key: str) -> Lesson:
    """The lesson whose stem or two-digit number is ``key``."""
    for x in LESSONS:
        if key in (x.stem, x.number):
            return x
    raise InvalidArgument(f"no notebook {key!r}; valid: the stems {', '.join(x.stem for x in LESSONS)} "
                          f"or their two-digit numbers")


def neighbours(key: str) -> tuple[Lesson | None, Lesson | None]:
    """``(previous, next)`` lesson of ``key`` in reading order (None at either end)."""
    i = LESSONS.index(lesson(key))
    return (LESSONS[i - 1] if i else None), (LESSONS[i + 1] if i + 1 < len(LESSONS) else None)


START_HERE = "../README.md#start-here"


def nav_bar(key: str) -> str:
    """The Markdown bar at the top and bottom of notebook ``key``: previous · Start here · next,
    between ``<!-- nav -->`` and ``<!-- /nav -->`` so that a script can find and replace it."""
    prev, nxt = neighbours(key)
    left = f"[← {prev.number} · {prev.title}]({prev.file})" if prev else "(first notebook)"
    right = f"[{nxt.number} · {nxt.title} →]({nxt.file})" if nxt else "(last notebook)"
    return f"<!-- nav -->\n{left} · [Start here: reading order and glossary]({START_HERE}) · {right}\n<!-- /nav -->"


def _minutes(seconds: float) -> str:
    return "" if seconds != seconds else f"{seconds / 60:.1f}"


def _cache_note(written) -> str:
    """How warm the timed run was: ", warm" (it wrote no cache entry), ", N new" (entries it trained or
    computed), or nothing where the manifest does not record it."""
    if written is None or written != written:
        return ""
    return ", warm" if int(written) == 0 else f", {int(written)} new"


def load_manifest(figures_dir: Path | str = REPO / "figures") -> dict | None:
    f = Path(figures_dir) / "manifest.json"
    return json.loads(f.read_text()) if f.exists() else None


def _smoke_seconds(name: str) -> dict[str, float]:
    """The record's wall times; ``{}`` before ``make timings`` has measured them (a fresh clone has them)."""
    try:
        return timings.seconds(name)
    except timings.MissingTimings:
        return {}


def _smoke_note() -> str:
    alone = _smoke_seconds(SMOKE_08_ALONE).get("08_speed")
    if not timings.path(SMOKE).exists() or alone is None:
        return "Smoke times: not measured yet (`make timings`)."
    return (f"Smoke times: `data/timings/{SMOKE}.json` (from an empty cache, run in order; 08 alone from an empty "
            f"cache, training everything it needs: {alone:.0f} s).")


def reading_order(manifest: dict | None = None) -> pd.DataFrame:
    """One row per notebook in reading order: number, title, what it teaches, what it trains from a cold
    cache, which notebooks' runs it reuses, the planned lecture time (min), the smoke wall time (s) and, when
    ``manifest`` is a
    ``default``-profile manifest, the default wall time (min) and the ``runs/`` entries that run wrote
    (None where the manifest predates that record; 0: a rerun from a warm cache)."""
    default, written, smoke = {}, {}, _smoke_seconds(SMOKE)
    if manifest and manifest.get("profile") == "default":
        default = {k: v["seconds"] for k, v in manifest.get("notebooks", {}).items()}
        written = {k: v.get("cache_entries_written") for k, v in manifest.get("notebooks", {}).items()}
    return pd.DataFrame([{"notebook": x.stem, "title": x.title, "teaches": x.teaches, "trains": x.trains,
                          "reuses runs of": ", ".join(x.reuses), "lecture_min": x.lecture_min,
                          "smoke_s": smoke.get(x.stem, float("nan")),
                          "default_min": default.get(x.stem, float("nan")) / 60,
                          "cache_entries_written": written.get(x.stem)} for x in LESSONS])


def reading_order_markdown(manifest: dict | None = None, link_prefix: str = "notebooks/") -> str:
    """:func:`reading_order` as a Markdown table whose notebook names link to the files
    (``link_prefix`` is the path from the page to ``notebooks/``)."""
    t = reading_order(manifest)
    rows = []
    for x, r in zip(LESSONS, t.itertuples()):
        reuse = ", ".join(f"[{n}]({link_prefix}{lesson(n).file})" for n in x.reuses) or "–"
        smoke = "" if r.smoke_s != r.smoke_s else f"{r.smoke_s:.0f}"
        rows.append(f"| {x.number} | [{x.title}]({link_prefix}{x.file}) | {x.teaches} | {x.lecture_min} | {x.trains} | "
                    f"{reuse} | {smoke} | {_minutes(r.default_min * 60)}{_cache_note(r.cache_entries_written)} |")
    head = ("| # | notebook | what it teaches | lecture (min, planned) | trains from a cold cache | reuses the runs of "
            "(trains them when missing) | smoke (s) | default (min; warm or new cache entries) |\n"
            "|---|---|---|---|---|---|---|---|")
    prov = ""
    if manifest and manifest.get("profile") == "default":
        prov = (f"\n\nDefault-profile times: `figures/manifest.json` (commit `{manifest['commit'][:7]}`, "
                f"{manifest['cpu']}, {manifest['cpu_count']} cores, run in order, total "
                f"{manifest['total_seconds'] / 60:.1f} min). " + _smoke_note())
    return head + "\n" + "\n".join(rows) + prov
