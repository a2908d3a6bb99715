"""Progress bars of training loops and sweeps: tqdm's ``tqdm.auto`` (a widget in Jupyter, text in a
terminal), off when the caller asks or when the environment sets tqdm's own switch ``TQDM_DISABLE``.

Why the environment: headless notebook runs (papermill, :mod:`hgsr.suite.run_notebooks`) set
``TQDM_DISABLE=1`` for the kernel they start. A widget bar in such a run is saved in the executed
notebook as its last drawn state, so its HTML would show every training bar frozen part-way. tqdm
itself reads ``TQDM_DISABLE`` only for bars created without an explicit ``disable=``; ours pass one
(the caller's ``progress`` flag), so :func:`progress_bar` checks the variable too. Nothing else
changes: interactive Jupyter and terminals keep their bars.
"""
from __future__ import annotations

import os

DISABLE_ENV = "TQDM_DISABLE"


def disabled_by_environment() -> bool:
    """True when ``TQDM_DISABLE`` is set to anything but ``""``, ``0``, ``false`` or ``no`` (any case)."""
    return os.environ.get(DISABLE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def progress_bar(iterable=None, *, enabled: bool = True, **kwargs):
    """``tqdm.auto.tqdm(iterable, disable=not enabled or disabled_by_environment(), **kwargs)``: a
    disabled bar still iterates, updates and closes, it only draws nothing."""
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=not enabled or disabled_by_environment(), **kwargs)
