"""Pruning criteria, registered by name like the regularizers: ``score(model, "loss", shape, ds)``.

A criterion maps a model to a score table with one row per prunable channel (``group``,
``channel``, ``score``); **lower score = removed first** (:func:`hgsr.prune.select` picks from it).

| key | label | score of channel c of a group |
|---|---|---|
| ``loss`` | loss increase ΔL | ``L(c silenced) − L0`` on random training images (needs ``ds``) |
| ``magnitude`` | filter norm | ``sqrt(Σ_conv ||F_conv[c]||²)`` over the group's coupled convs |
| ``bn_gamma`` | BN γ | ``sqrt(Σ_bn γ_bn[c]²)`` over the group's BatchNorms (network slimming) |
| ``dead_inputs`` | consumer input norm | ``sqrt(Σ_next ||W_next[:, c]||²)`` over the layers that read c |

``dead_inputs`` is the quantity feature-wise HGSR drives to zero: the kernels that *read* a channel
(its column in the next conv), not the filter that writes it. A linear consumer reads channel ``c``
through the columns ``c·k … (c+1)·k − 1`` of its weight (``k = in_features / channels``: the
positions of a channel-major flatten, or ``k = 1`` after global pooling); these are the input-feature
groups of group lasso / nonconvex SGL with ``linear=True``. A channel read by anything else (a grouped
conv, a linear layer whose width is not a multiple of the channels) gets score ``+inf``: it is never
dead by this rule.

Each criterion carries its own arguments: the keyword arguments its function takes (read from its signature,
or given to :func:`register`). :func:`score` hands a criterion only the keywords it takes, so a caller can
pass the same keywords to every criterion (``n_samples=``, ``seed=`` reach ``loss`` alone); a keyword that
no registered criterion takes is an error (a typo is not ignored).

A criterion may also name the **dead-channel rule** it defines: the channels it scores (near) zero are dead
(``magnitude``: a zero filter, rule ``"zeros"``; ``dead_inputs``: nobody reads the channel, ``"inputs"``;
``bn_gamma``: a vanished BatchNorm scale, ``"gamma"``). :func:`dead_rules` lists them; the removal rules of
:mod:`hgsr.study.dead_channels` are built from it.

Add a criterion with one decorated function and a row in ``tests/test_prune_criteria.py``::

    @register("my_key", "my label")
    def my_scores(model, input_shape, ds=None, my_option: int = 3) -> pd.DataFrame: ...
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable, Iterable

import pandas as pd
import torch
from torch import nn

from ... import groups as hgroups
from ...errors import InvalidArgument
from .loss import loss_increase_scores
from .scores import bn_gamma_scores, magnitude_scores, score_table
from ..removal.structure import Group, prunable_groups

ScoreFn = Callable[..., pd.DataFrame]


@dataclass(frozen=True)
class Criterion:
    key: str
    label: str
    fn: ScoreFn
    needs_data: bool = False
    params: tuple[str, ...] = ()     # the keyword arguments fn takes beyond (model, input_shape, ds)
    dead_rule: str | None = None     # the dead-channel rule it defines (module docstring), or None

    def arguments(self, kw: dict) -> dict:
        """The part of ``kw`` this criterion takes."""
        return {k: v for k, v in kw.items() if k in self.params}


CRITERIA: dict[str, Criterion] = {}
_POSITIONAL = ("model", "input_shape", "ds")


def _keywords(fn: Callable, skip: Iterable[str] = _POSITIONAL) -> tuple[str, ...]:
    """The named parameters of ``fn`` but ``skip`` (a ``**kw`` catch-all names none)."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(n for n, p in inspect.signature(fn).parameters.items() if p.kind in kinds and n not in set(skip))


def register(key: str, label: str, needs_data: bool = False, params: Iterable[str] | None = None,
             dead_rule: str | None = None):
    """Decorator: register ``fn(model, input_shape, ds=None, **options) -> score table`` under ``key``.
    ``params``: the keyword arguments it takes (default: the named parameters of ``fn`` after ``ds``);
    ``dead_rule``: the name of the dead-channel rule its (near) zero scores define (module docstring)."""
    def deco(fn: ScoreFn) -> ScoreFn:
        if key in CRITERIA:
            raise InvalidArgument(f"criterion {key!r} is already registered (to {getattr(CRITERIA[key].fn, '__name__', CRITERIA[key].fn)!r}); "
                                  f"choose another key for {getattr(fn, '__name__', fn)!r}")
        if dead_rule is not None and dead_rule in dead_rules():
            raise InvalidArgument(f"dead-channel rule {dead_rule!r} is already defined by criterion "
                                  f"{dead_rules()[dead_rule]!r}; choose another name for {key!r}")
        CRITERIA[key] = Criterion(key, label, fn, needs_data,
                                  tuple(_keywords(fn) if params is None else params), dead_rule)
        return fn
    return deco


def names() -> list[str]:
    """Every registered key, in registration order."""
    return list(CRITERIA)


def dead_rules() -> dict[str, str]:
    """``{rule: criterion}``: the dead-channel rule each criterion defines (registration order)."""
    return {c.dead_rule: c.key for c in CRITERIA.values() if c.dead_rule is not None}


def get(key: str) -> Criterion:
    if not isinstance(key, str) or key not in CRITERIA:
        raise InvalidArgument(f"criterion={key!r} is not registered; known: {', '.join(CRITERIA)}")
    return CRITERIA[key]


def label(key: str) -> str:
    return get(key).label


def score(model: nn.Module, key: str, input_shape, ds=None, **kw) -> pd.DataFrame:
    """The score table of criterion ``key`` (``ds`` required by data-driven criteria such as ``loss``).
    ``kw`` may hold the options of any registered criterion: ``key`` receives the ones it takes
    (:attr:`Criterion.params`); a keyword that no criterion takes is an error."""
    c = get(key)
    if c.needs_data and ds is None:
        raise InvalidArgument(f"criterion {key!r} needs data: pass ds=<hgsr.data.Dataset>")
    unknown = sorted(set(kw) - {p for other in CRITERIA.values() for p in other.params})
    if unknown:
        raise InvalidArgument(f"no registered criterion takes {', '.join(map(repr, unknown))}; criterion {key!r} "
                              f"takes {', '.join(c.params) or 'no options'}")
    return c.fn(model, input_shape, ds=ds, **c.arguments(kw))


@register("loss", "loss increase ΔL", needs_data=True, params=_keywords(loss_increase_scores, ("model", "ds")))
def _loss(model, input_shape, ds=None, **kw):
    return loss_increase_scores(model, ds, **kw)


@register("magnitude", "filter norm ‖F‖₂", dead_rule="zeros")
def _magnitude(model, input_shape, ds=None, include_linear: bool = False):
    return magnitude_scores(model, input_shape, include_linear)


@register("bn_gamma", "BN |γ|", dead_rule="gamma")
def _bn_gamma(model, input_shape, ds=None):
    return bn_gamma_scores(model, input_shape)


@torch.no_grad()
def input_slice_norms(model: nn.Module, g: Group) -> torch.Tensor | None:
    """``(consumers, size)``: ``||W_next[:, c]||_2`` of every consumer of ``g``'s channels (a linear
    consumer: over the ``k`` columns of channel ``c``, see the module docstring), or None when a consumer
    reads them otherwise (a grouped conv, a linear width that is not a multiple of the channels)."""
    rows = []
    for name in g.consumers:
        m = model.get_submodule(name)
        if isinstance(m, nn.Linear) and m.in_features % g.size == 0:
            W = m.weight.detach()
            rows.append(W.reshape(W.shape[0], g.size, -1).pow(2).sum(dim=(0, 2)).sqrt())
            continue
        if not isinstance(m, nn.Conv2d) or m.groups != 1 or m.in_channels != g.size:
            return None
        rows.append(hgroups.channel_l2(m.weight.detach()))
    return torch.stack(rows) if rows else None


@register("dead_inputs", "input norm ‖W_next[:, c]‖₂", dead_rule="inputs")
@torch.no_grad()
def dead_input_scores(model: nn.Module, input_shape, ds=None, include_linear: bool = False) -> pd.DataFrame:
    """``sqrt(Σ_next ||W_next[:, c]||²)`` per channel (hidden linear units too with ``include_linear``);
    ``+inf`` where a consumer reads the channels otherwise (see :func:`input_slice_norms`)."""
    out = {}
    for g in prunable_groups(model, input_shape, include_linear):
        sl = input_slice_norms(model, g)
        out[g.name] = sl.pow(2).sum(0).sqrt() if sl is not None else torch.full((g.size,), float("inf"))
    return score_table(out)
