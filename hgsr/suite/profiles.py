"""Every profile's budget in one table, for the README: the knobs of the core and of the studies, merged.

A profile's knobs live where they are read: :data:`hgsr.experiments.PROFILES` holds the ones the core reads
and the ones several studies share; a study module whose notebook alone reads a knob keeps it in its own
``BUDGETS`` table (``{profile: {knob: value}}``, e.g. :data:`hgsr.study.filter_pruning.BUDGETS`).
:func:`tables` finds every such table, :func:`merged` joins them (a knob defined twice, or a table that
lacks a profile, is an error), and :func:`markdown` is the README's profile table (the ``<!-- profiles -->``
block, filled by :mod:`hgsr.suite.readme`).

    python -m hgsr.suite.profiles        # prints the table
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from .. import experiments
from ..errors import InvalidArgument

CORE_TABLE = "hgsr.experiments.PROFILES"


def tables() -> dict[str, dict[str, dict[str, Any]]]:
    """``{name: {profile: {knob: value}}}``: the core's table first, then the ``BUDGETS`` of every study
    module that has one (by module name)."""
    from .. import study

    out = {CORE_TABLE: experiments.PROFILES}
    for info in sorted(pkgutil.iter_modules(study.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{study.__name__}.{info.name}")
        if isinstance(getattr(module, "BUDGETS", None), dict):
            out[f"{module.__name__}.BUDGETS"] = module.BUDGETS
    return out


def owners() -> dict[str, str]:
    """``{knob: the table that defines it}``; a knob defined by two tables is an error."""
    out: dict[str, str] = {}
    for name, table in tables().items():
        if set(table) != set(experiments.PROFILES):
            raise InvalidArgument(f"{name} has profiles {sorted(table)}; every budget table needs exactly "
                                  f"those of {CORE_TABLE}: {', '.join(experiments.PROFILES)}")
        knobs = {k for budget in table.values() for k in budget}
        for profile, budget in table.items():
            if set(budget) != knobs:
                raise InvalidArgument(f"{name}[{profile!r}] lacks {sorted(knobs - set(budget))}: every profile "
                                      f"of a table sets the same knobs")
        for k in sorted(knobs):
            if k in out:
                raise InvalidArgument(f"knob {k!r} is defined by both {out[k]} and {name}: keep it in one table")
            out[k] = name
    return out


def merged() -> dict[str, dict[str, Any]]:
    """``{profile: {knob: value}}`` over every table (:func:`tables`), in table order."""
    owners()   # the checks
    return {p: {k: v for table in tables().values() for k, v in table[p].items()} for p in experiments.PROFILES}


def cell(value: Any) -> str:
    """A budget value as a table cell: None = ``all``, tuples listed, dicts as ``key value`` pairs."""
    if value is None:
        return "all"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        return ", ".join(cell(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {cell(v)}" for k, v in value.items())
    return str(value)


def markdown() -> str:
    """The README's profile table: one row per knob, one column per profile, and the table that defines it."""
    by = owners()
    budgets = merged()
    profiles = list(experiments.PROFILES)
    rows = [f"| `{k}` | `{by[k]}` | " + " | ".join(cell(budgets[p][k]) for p in profiles) + " |"
            for k in budgets[profiles[0]]]
    head = "| knob | defined in | " + " | ".join(f"`{p}`" for p in profiles) + " |"
    return "\n".join([head, "|---|---|" + "---|" * len(profiles), *rows]) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
