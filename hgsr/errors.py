"""The package's named errors and the argument checks every public function uses at its boundary.

The input rule: a public function validates its arguments before doing any work and raises one of
these errors, whose message names the argument, the value it got and what is allowed
(``"batch_size must be a positive integer, got -1"``). Nothing is coerced silently: a bool is not an
int, the string ``"1e-3"`` is not a float, ``1.7`` is not a channel index. A file that fails to load
raises :class:`CorruptFile` naming its path and what to do.

- :class:`HgsrError` (an ``Exception``): the base of every error below;
- :class:`InvalidArgument` (a ``ValueError``): a value out of range or not one of those allowed;
- :class:`InvalidType` (a ``TypeError``): a value of the wrong type;
- :class:`CorruptFile` (a ``ValueError``): a file that is truncated, corrupt, or of an unknown
  format or version;
- :class:`CheckpointMismatch` (an :class:`InvalidArgument`): resuming a training checkpoint that was
  written with other arguments.

Errors defined beside their modules join the hierarchy too: ``hgsr.data.DatasetNotFound``
(``FileNotFoundError``), ``hgsr.data.CorruptArchive`` (a :class:`CorruptFile`),
``hgsr.train.NonFiniteLoss`` (``FloatingPointError``), ``hgsr.prune.ArchitectureMismatch``,
``hgsr.prune.EmptyLayerError`` and ``hgsr.prune.UnsupportedModel`` (``ValueError``),
``hgsr.prune.UnknownGroup`` (a ``KeyError`` and an :class:`InvalidArgument`).

Each ``check_*`` helper returns the value (as the type it promises) or raises; ``None`` is allowed
only where ``optional=True``.
"""
from __future__ import annotations

import math
import numbers
from pathlib import Path
from typing import Any, Iterable


class HgsrError(Exception):
    """Base class of every error ``hgsr`` raises on purpose."""


class InvalidArgument(ValueError, HgsrError):
    """An argument's value is out of range or not one of the allowed values."""


class InvalidType(TypeError, HgsrError):
    """An argument has the wrong type (no silent coercion: a bool is not an int, "1" is not 1)."""


class CorruptFile(ValueError, HgsrError):
    """A file is truncated, corrupt, or of an unknown format or version; the message names its path
    and what to do."""

    def __init__(self, message: str, path=None):
        super().__init__(message)
        self.path = None if path is None else Path(path)


class CheckpointMismatch(InvalidArgument):
    """A training checkpoint was written with other arguments than the call that would resume it."""


# ----------------------------------------------------------------------------- type predicates

def is_int(value) -> bool:
    """True for Python and NumPy integers, False for bools (and everything else)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value) -> bool:
    """True for Python/NumPy ints and floats, False for bools, strings, tensors."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# ----------------------------------------------------------------------------- checks

def check_type(name: str, value, types, what: str, optional: bool = False):
    """``value`` unchanged; :class:`InvalidType` naming ``name`` unless it is an instance of ``types``
    (``what`` says what is allowed, e.g. ``"a torch.nn.Module"``)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise InvalidType(f"{name} must be {what}, got {_show(value)} (a bool)")
    if not isinstance(value, types):
        raise InvalidType(f"{name} must be {what}{' or None' if optional else ''}, got {_show(value)} "
                          f"({type(value).__name__})")
    return value


def check_int(name: str, value, min_value: int | None = None, max_value: int | None = None,
              optional: bool = False) -> int | None:
    """``value`` as an ``int``; :class:`InvalidType` unless it is an integer (not a bool, not a float
    such as 2.0), :class:`InvalidArgument` unless ``min_value <= value <= max_value``."""
    if value is None and optional:
        return None
    if not is_int(value):
        allowed = "an integer" + (" or None" if optional else "")
        raise InvalidType(f"{name} must be {allowed}, got {_show(value)} ({type(value).__name__})")
    v = int(value)
    if min_value is not None and v < min_value:
        if min_value == 1:
            raise InvalidArgument(f"{name} must be a positive integer, got {v}")
        if min_value == 0:
            raise InvalidArgument(f"{name} must be an integer >= 0, got {v}")
        raise InvalidArgument(f"{name} must be an integer >= {min_value}, got {v}")
    if max_value is not None and v > max_value:
        raise InvalidArgument(f"{name} must be an integer <= {max_value}, got {v}")
    return v


def check_positive_int(name: str, value, optional: bool = False) -> int | None:
    """An integer >= 1 (see :func:`check_int`)."""
    return check_int(name, value, 1, optional=optional)


def check_nonneg_int(name: str, value, optional: bool = False) -> int | None:
    """An integer >= 0 (see :func:`check_int`)."""
    return check_int(name, value, 0, optional=optional)


def check_real(name: str, value, optional: bool = False, allow_inf: bool = False) -> float | None:
    """``value`` as a ``float``; :class:`InvalidType` unless it is a real number (not a bool or a
    string), :class:`InvalidArgument` if it is NaN (or infinite, unless ``allow_inf``)."""
    if value is None and optional:
        return None
    if not is_real(value):
        allowed = "a real number" + (" or None" if optional else "")
        raise InvalidType(f"{name} must be {allowed}, got {_show(value)} ({type(value).__name__})")
    v = float(value)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise InvalidArgument(f"{name} must be a finite number, got {_show(value)}")
    return v


def _check_sign(name: str, value, optional: bool, strict: bool) -> float | None:
    """A finite real number ``> 0`` (``strict``) or ``>= 0``, as a float."""
    if value is None and optional:
        return None
    bound = "> 0" if strict else ">= 0"
    if not is_real(value):
        raise InvalidType(f"{name} must be a number {bound}{' or None' if optional else ''}, got "
                          f"{_show(value)} ({type(value).__name__})")
    v = float(value)
    if not (math.isfinite(v) and (v > 0 if strict else v >= 0)):
        allowed = "> 0 (and finite)" if strict else "a finite number >= 0"
        raise InvalidArgument(f"{name} must be {allowed}, got {_show(value)}")
    return v


def check_nonneg(name: str, value, optional: bool = False) -> float | None:
    """A finite real number >= 0, as a float."""
    return _check_sign(name, value, optional, strict=False)


def check_positive(name: str, value, optional: bool = False) -> float | None:
    """A finite real number > 0, as a float."""
    return _check_sign(name, value, optional, strict=True)


def check_range(name: str, value, low: float, high: float, low_open: bool = False,
                high_open: bool = False, optional: bool = False) -> float | None:
    """A finite real number in the interval from ``low`` to ``high`` (each end closed unless
    ``*_open``), as a float."""
    if value is None and optional:
        return None
    v = check_real(name, value)
    lo_ok = v > low if low_open else v >= low
    hi_ok = v < high if high_open else v <= high
    if not (lo_ok and hi_ok):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise InvalidArgument(f"{name} must be in {interval}, got {_show(value)}")
    return v


def check_fraction(name: str, value, optional: bool = False) -> float | None:
    """A real number in [0, 1], as a float."""
    return check_range(name, value, 0.0, 1.0, optional=optional)


def check_bool(name: str, value) -> bool:
    """``value`` unchanged; :class:`InvalidType` unless it is ``True`` or ``False``."""
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InvalidType(f"{name} must be True or False, got {_show(value)} ({type(value).__name__})")


def check_choice(name: str, value, choices: Iterable) -> Any:
    """``value`` unchanged; :class:`InvalidArgument` naming ``name`` and listing ``choices`` unless
    ``value`` is one of them (a bool never matches 0/1)."""
    choices = tuple(choices)
    try:
        ok = any(value == c and type(value) is not bool or value is c for c in choices)
    except Exception:  # e.g. an array compared elementwise
        ok = False
    if not ok:
        raise InvalidArgument(f"unknown {name} {_show(value)}; valid: {', '.join(map(str, choices))}")
    return value


def check_str(name: str, value, optional: bool = False, nonempty: bool = True) -> str | None:
    """A string (non-empty unless ``nonempty=False``)."""
    if value is None and optional:
        return None
    check_type(name, value, str, "a string", optional)
    if nonempty and not value.strip():
        raise InvalidArgument(f"{name} must be a non-empty string, got {value!r}")
    return value


def check_shape(name: str, value, length: int | tuple[int, ...] = 3) -> tuple[int, ...]:
    """A sequence of positive integers of ``length`` entries (e.g. an input shape ``(C, H, W)``)."""
    lengths = (length,) if isinstance(length, int) else tuple(length)
    what = f"a tuple of {' or '.join(map(str, lengths))} positive integers"
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or not hasattr(value, "__iter__"):
        raise InvalidType(f"{name} must be {what}, got {_show(value)} ({type(value).__name__})")
    items = list(value)
    if len(items) not in lengths:
        raise InvalidArgument(f"{name} must be {what}, got {_show(value)} ({len(items)} entries)")
    for v in items:
        if not is_int(v):
            raise InvalidType(f"{name} must be {what}, got {_show(value)} (entry {_show(v)} is "
                              f"{type(v).__name__})")
        if v < 1:
            raise InvalidArgument(f"{name} must be {what}, got {_show(value)}")
    return tuple(int(v) for v in items)


def check_predicate(predicate, name: str = "predicate"):
    """``predicate`` unchanged: None or a callable ``(name, module) -> bool``; InvalidType otherwise."""
    if predicate is not None and not callable(predicate):
        raise InvalidType(f"{name} must be None or a callable (name, module) -> bool, got "
                          f"{_show(predicate)} ({type(predicate).__name__})")
    return predicate


def check_module(name: str, value) -> Any:
    """``value`` unchanged; :class:`InvalidType` unless it is a ``torch.nn.Module`` with parameters."""
    from torch import nn

    check_type(name, value, nn.Module, "a torch.nn.Module")
    if next(value.parameters(), None) is None:
        raise InvalidArgument(f"{name} must be a torch.nn.Module with parameters, got "
                              f"{type(value).__name__} with none")
    return value


def check_path(name: str, value, optional: bool = False) -> Path | None:
    """``value`` as a :class:`~pathlib.Path`; a ``str`` or ``os.PathLike``, not empty."""
    import os

    if value is None and optional:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise InvalidType(f"{name} must be a path (str or os.PathLike){' or None' if optional else ''}, "
                          f"got {_show(value)} ({type(value).__name__})")
    if isinstance(value, str) and not value.strip():
        raise InvalidArgument(f"{name} must be a non-empty path, got {value!r}")
    return Path(value)
