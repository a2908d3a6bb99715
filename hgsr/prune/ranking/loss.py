"""Loss-increase scores of HGSR filter pruning (docs/methods.md section 3, steps 1-2).

``delta_loss_c = L(c removed) - L0`` where ``L`` is the mean cross-entropy of the model in eval mode
on a fixed random subset of training images (test-time preprocessing: normalization only), and
"removing" channel ``c`` of a group means zeroing its filter(s) and BatchNorm affine entries, so the
channel's output is exactly 0 (:mod:`hgsr.prune.removal.silence`). Lower score = removed first.

:func:`loss_increase_scores_naive` does exactly that: silence one channel, run the whole network.

:func:`loss_increase_scores` computes the same numbers faster, on a ``torch.fx`` trace of the model:

1. For each batch of the subset, the clean forward pass runs once, in graph order, stopping at each
   group's first affected node; only the values still needed downstream are kept.
2. *Generic path*: the run restarts from the first node whose output carries the group's channel
   (the BatchNorm after a conv, or the conv itself; every coupled layer of a residual group) with
   the cached inputs repeated ``K`` times along the batch; in copy ``k`` channel ``c_k`` is set to 0
   at every such node. One forward scores ``K`` channels.
3. *Delta path*: when the channel flows only through per-channel ops with ``f(0) = 0`` (ReLU,
   pooling) into one conv ``T`` (e.g. ``conv1 -> bn1 -> relu -> conv2`` in a ResNet block), silencing
   ``c`` changes ``T``'s output by a linear term: ``T(u with c zeroed) = T(u) - W_T[:, c] * u_c``
   (a one-channel convolution, no bias). The ``K`` corrections are one grouped convolution, and
   the run restarts after ``T``.

Both are exact rewrites of the naive computation; they differ only by float rounding.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ... import data as hdata
from ...errors import InvalidArgument, InvalidType, check_bool, check_int, check_module
from ..removal import graph
from ..removal import silence
from ..removal.structure import Group, find_group, prunable_groups
from ..removal.surgery import _plan_channels


def subset(ds, n_samples: int = 1024, seed: int = 0, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed random subset of the training split, normalized (no augmentation).

    ``ds`` is an :class:`hgsr.data.Dataset`, or a pair ``(x, y)`` of preprocessed float inputs and
    labels from which the subset is drawn the same way.
    """
    if isinstance(ds, hdata.Dataset):
        x, y, norm = ds.train_x, ds.train_y, (ds.mean, ds.std)
    else:
        (x, y), norm = ds, None
    n_samples = check_int("n_samples", n_samples, 1)
    seed = check_int("seed", seed, 0)
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(y), generator=g)[:n_samples]
    xs, ys = x[idx].to(device), y[idx].to(device)
    if norm is not None:
        xs = hdata.normalize(xs, *norm)
    return xs, ys


def _channels(groups: list[Group], channels) -> list[tuple[Group, list[int]]]:
    """``[(group, channels to score)]`` for ``channels`` = None (all), group names, or a dict."""
    if channels is None:
        return [(g, list(range(g.size))) for g in groups]
    if isinstance(channels, dict):
        out = []
        for name, chans in channels.items():
            g = find_group(groups, name)
            chans = list(range(g.size)) if chans is None else _plan_channels(name, chans, "channels")
            bad = [c for c in chans if not 0 <= c < g.size]
            if bad:
                raise InvalidArgument(f"channels: group {name!r} has {g.size} channels; bad indices {bad}")
            out.append((g, chans))
        return out
    if isinstance(channels, str) or not isinstance(channels, (list, tuple, set)):
        raise InvalidType(f"channels must be None, a list of group names or {{group: [channels]}}, got "
                          f"{channels!r}")
    return [(find_group(groups, name), list(range(find_group(groups, name).size))) for name in channels]


def _frame(rows, loss0: float, n: int, seed: int) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["group", "channel", "delta_loss"])
    df["score"] = df["delta_loss"]
    df.attrs.update(loss0=loss0, n_samples=n, seed=seed)
    return df


def _prepare(model, ds, n_samples, seed, device, batch_size=1, include_linear=False):
    from ...train import check_device

    check_module("model", model)
    check_int("batch_size", batch_size, 1)
    check_bool("include_linear", include_linear)
    device = check_device(device)
    device = device if device is not None else next(model.parameters()).device
    x, y = subset(ds, n_samples, seed, device)
    return device, x, y


@torch.no_grad()
def loss_increase_scores_naive(model: nn.Module, ds, n_samples: int = 1024, seed: int = 0,
                               batch_size: int = 256, device=None, channels=None,
                               include_linear: bool = False) -> pd.DataFrame:
    """Reference: for each channel, silence it in a copy of the model and run the whole network.

    Columns ``group, channel, delta_loss, score`` (``score = delta_loss``); ``attrs["loss0"]`` is L0.
    ``channels`` restricts the scoring (group names, or ``{group: [channels]}``).
    """
    device, x, y = _prepare(model, ds, n_samples, seed, device, batch_size, include_linear)
    groups = prunable_groups(model, x[:1], include_linear)
    work = graph.trace(model).to(device).eval()  # a copy; in-place ops off

    def loss():
        return sum(F.cross_entropy(work(x[i:i + batch_size]), y[i:i + batch_size], reduction="sum").item()
                   for i in range(0, len(y), batch_size)) / len(y)

    loss0, rows = loss(), []
    for g, chans in _channels(groups, channels):
        state = silence.saved_state(work, g)
        for c in chans:
            silence.silence(work, g, [c])
            rows.append((g.name, c, loss() - loss0))
            silence.restore(work, state)
    return _frame(rows, loss0, len(y), seed)


# ----------------------------------------------------------------------------- fast path

@dataclass
class _Plan:
    group: Group
    chans: list[int]
    start: int                    # first graph position run on the K-fold batch
    ablate: tuple[int, ...] = ()  # generic path: positions whose output channel is zeroed
    target: object = None         # delta path: the conv node T
    source: object = None         # delta path: T's input node u


def _plan(interp: graph.Interpreter, g: Group, chans: list[int]) -> _Plan:
    nodes = {n.target: n for n in interp.nodes if n.op == "call_module"}
    abl = sorted({interp.pos[nodes[m]] for m in set(g.outputs) | set(g.bns)})
    if len(abl) == 1:
        node = interp.nodes[abl[0]]
        while len(node.users) == 1:
            user = next(iter(node.users))
            if not user.args or user.args[0] is not node or \
                    any(a is node for a in list(user.args[1:]) + list(user.kwargs.values())):
                break
            mod = graph.module_of(interp.gm, user)
            if isinstance(mod, nn.Conv2d) and mod.groups == 1 and mod.padding_mode == "zeros" \
                    and isinstance(mod.padding, tuple):
                return _Plan(g, chans, interp.pos[user] + 1, target=user, source=node)
            if not graph.is_zero_preserving(interp.gm, user):
                break
            node = user
    return _Plan(g, chans, abl[0], ablate=tuple(abl))


class _Repeated(dict):
    """Values of the K-fold run; a missing value is the clean one repeated K times along the batch."""

    def __init__(self, clean: dict, K: int, b: int):
        super().__init__()
        self.clean, self.K, self.b = clean, K, b

    def __missing__(self, key):
        v = self.clean[key]
        if isinstance(v, torch.Tensor) and v.dim() >= 1 and v.shape[0] == self.b:
            v = v.unsqueeze(0).expand(self.K, *v.shape).reshape(self.K * self.b, *v.shape[1:])
        self[key] = v
        return v


def _zero_channels(value: torch.Tensor, K: int, b: int, chans: torch.Tensor) -> torch.Tensor:
    """In copy k of a K-fold batch, set channel ``chans[k]`` (dim 1) to 0."""
    v = value.view(K, b, *value.shape[1:])
    v[torch.arange(K, device=value.device), :, chans] = 0
    return value


def _delta(conv: nn.Conv2d, u: torch.Tensor, out: torch.Tensor, chans: list[int]) -> torch.Tensor:
    """``conv(u with channel chans[k] zeroed)`` for each k, from the clean ``out = conv(u)``."""
    K, (b, O) = len(chans), out.shape[:2]
    idx = torch.tensor(chans, device=u.device)
    w = conv.weight.index_select(1, idx).transpose(0, 1).reshape(K * O, 1, *conv.weight.shape[2:])
    d = F.conv2d(u.index_select(1, idx), w, None, conv.stride, conv.padding, conv.dilation, groups=K)
    d = d.view(b, K, O, *d.shape[2:]).transpose(0, 1).reshape(K * b, O, *d.shape[2:])
    return out.unsqueeze(0).expand(K, *out.shape).reshape(K * b, *out.shape[1:]) - d


def _variant_losses(interp, env, p: _Plan, chans: list[int], y: torch.Tensor) -> torch.Tensor:
    K, b = len(chans), len(y)
    local = _Repeated(env, K, b)
    after = None
    if p.target is not None:
        conv = graph.module_of(interp.gm, p.target)
        local[p.target] = _delta(conv, env[p.source], env[p.target], chans)
    else:
        cidx, abl = torch.tensor(chans, device=y.device), set(p.ablate)

        def after(i, value):
            return _zero_channels(value, K, b, cidx) if i in abl else value
    interp.advance(local, p.start, len(interp.nodes), after=after)
    logits = local[interp.nodes[-1]]
    return F.cross_entropy(logits, y.repeat(K), reduction="none").view(K, b).double().sum(1)


@torch.no_grad()
def loss_increase_scores(model: nn.Module, ds, n_samples: int = 1024, seed: int = 0,
                         batch_size: int = 256, device=None, channels=None, include_linear: bool = False,
                         max_rows: int = 256) -> pd.DataFrame:
    """``delta_loss`` of every prunable channel, by cached prefixes and K-fold batched variants.

    Same arguments and result as :func:`loss_increase_scores_naive` (see the module docstring for
    the method). One forward pass runs ``K = max(1, max_rows // batch)`` channel variants. On a CPU
    rows beyond a few hundred per pass only cost cache misses (measured: K=1 at batch 256 is
    faster than K=2), so the default stacks variants only for small batches; raise ``max_rows`` on
    a GPU.
    """
    check_int("max_rows", max_rows, 1)
    device, x, y = _prepare(model, ds, n_samples, seed, device, batch_size, include_linear)
    groups = prunable_groups(model, x[:1], include_linear)
    gm = graph.trace(model).to(device).eval()
    interp = graph.Interpreter(gm)
    plans = sorted((_plan(interp, g, c) for g, c in _channels(groups, channels) if c), key=lambda p: p.start)
    keep = {p.source for p in plans if p.source is not None}
    sums = {p.group.name: torch.zeros(len(p.chans), dtype=torch.float64) for p in plans}
    loss0 = 0.0
    placeholder = next(n for n in interp.nodes if n.op == "placeholder")
    for i in range(0, len(y), batch_size):
        xb, yb = x[i:i + batch_size], y[i:i + batch_size]
        K = max(1, max_rows // len(yb))
        env, pos = {placeholder: xb}, 0
        for p in plans:
            interp.advance(env, pos, p.start, keep=keep)
            pos = max(pos, p.start)
            out = []
            for j in range(0, len(p.chans), K):
                out.append(_variant_losses(interp, env, p, p.chans[j:j + K], yb).cpu())
            sums[p.group.name] += torch.cat(out)
            if p.source is not None and interp.last_use[p.source] < pos and \
                    all(q.source is not p.source or q.start <= p.start for q in plans):
                env.pop(p.source, None)
        interp.advance(env, pos, len(interp.nodes), keep=keep)
        loss0 += F.cross_entropy(env[interp.nodes[-1]], yb, reduction="sum").item()
    n = len(y)
    loss0 /= n
    rows = [(p.group.name, c, float(s) / n - loss0) for p in plans for c, s in zip(p.chans, sums[p.group.name])]
    order = {g.name: k for k, g in enumerate(groups)}
    rows.sort(key=lambda r: (order[r[0]], r[1]))
    return _frame(rows, loss0, n, seed)
