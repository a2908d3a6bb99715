"""Loss-increase scores of HGSR filter pruning (docs/methods.md section 3, steps 1-2).

``delta_loss_c = L(c removed) - L0`` where ``L`` is the mean cross-entropy of the model in eval mode
on a fixed random subset of training images (test-time preprocessing: normalization only), and
"removing" channel ``c`` of a group means zeroing its filter(s) and BatchNorm affine entries, so the
channel's output is exactly 0 (:mod:`hgsr.prune.removal.silence`). Lower score = removed first.

:func:`loss_increase_scores_naive` does exactly that: silence one channel, run the whole network.

:func:`loss_increase_scores` computes the same numbers faster, on a ``torch.fx`` trace of the model:

1. For each chunk of the subset (at most ``max_rows`` images), the clean forward pass runs once and
   every node's value is kept.
2. Each channel variant runs only the nodes its channel reaches (every other node keeps its clean
   value), ``K`` variants stacked along the batch (copy ``k`` silences channel ``c_k``). A reached
   value is one of:

   - *masked*: the clean value with channel ``c_k`` set to 0, computed from nothing. A silenced
     layer whose inputs are clean (or masked, for a per-channel op such as BatchNorm) is masked;
     so are a per-channel op with ``f(0) = 0`` (ReLU, pooling) of a masked value and the sum of two
     masked values. In a residual stage the first block's silenced outputs, their sum and its ReLU
     are all masked: that block is not recomputed.
   - *delta*: a conv ``T`` (no groups, zero padding) or linear layer whose input ``u`` is masked:
     ``T(u with c zeroed) = T(u) - W_T[:, c] * u_c`` (a one-channel convolution, no bias), carried
     through an eval-mode BatchNorm after it (per-channel affine: its scale multiplies the
     correction) and an addition of a clean value (e.g. ``conv2 -> bn2 -> + shortcut`` in a ResNet
     block): the clean value after them minus the scaled correction, one matrix product per
     variant (im2col of the one channel).
   - *dense*: computed on the K-fold batch. A conv with the BatchNorm, addition and ReLU after it is
     one fused call (the BatchNorm folded into the weights; oneDNN's fused conv on CPU, eager ops
     elsewhere); a silenced layer downstream of the change has its channel set to 0 (in a fused
     conv: that filter and bias are 0 in copy ``k``). An elementwise op of a K-fold value and a
     clean one broadcasts the clean one instead of copying it.

   On CPU the model and images are channels-last. The losses are summed in float64.

3. An image on which the silenced channel is already 0 wherever the silencing takes effect changes
   nothing downstream, so it is left out of that channel's rows: before the pass, each image is
   checked at the *watched* values (the masked values a computed step reads, and the outputs of
   silenced layers further downstream, which the variant sets to 0): if channel ``c`` is 0 there
   in the clean pass, ``L(c removed)`` equals ``L0`` on that image exactly. The rows of one pass are
   then the (variant, image) pairs left, up to ``max_rows``; a trained sparse network, whose ReLUs
   silence most of its small channels on most images, skips most of them (on the HGSR-trained
   ResNet-20 of notebook 06, about 80 % of the (image, inner channel) pairs are 0 after the ReLU).
   A left-out image adds its clean loss to the variant's sum (a channel that changes no image gets
   ``delta_loss = 0`` exactly).

All are exact rewrites of the naive computation (the same function, the operations reordered: the
zeroed channel's contribution subtracted instead of recomputed, BatchNorm folded into the conv, the
images it cannot change left out); they differ only by float rounding.
"""
from __future__ import annotations

import itertools
import operator
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

# The version of the numbers :func:`loss_increase_scores` gives: part of the cache key of stored scores
# (notebook 06). 2: a channel that changes no scoring image scores exactly 0 (before: float rounding of
# about 1e-8, whose order broke the ties among such channels, differently on another instruction set).
SCORES_VERSION = 2


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

_MASKED, _DENSE = "masked", "dense"  # kinds of value in a K-fold run; a node outside the run is clean
# elementwise binary functions: channel-separable, f(0, 0) = 0 (add, sub) or f(0, x) = 0 (mul)
_ELEMENTWISE = {operator.add: "add", torch.add: "add", operator.sub: "sub", torch.sub: "sub",
                operator.mul: "mul", torch.mul: "mul"}
_RELU_FUNCTIONS = (F.relu, torch.relu)


@dataclass
class _Step:
    """One step of a K-fold run: the value of ``node`` (``chain[-1]`` for a chain), by ``rule``.

    Rules: ``"masked"`` (the clean value with channel ``c_k`` set to 0 in copy ``k``: nothing is
    computed), ``"delta"`` (``chain[0]`` is a conv or linear layer whose input is masked: its clean
    output minus the zeroed channel's linear contribution, carried through a per-channel affine
    BatchNorm and a clean addition in ``chain[1:]``), ``"conv"`` (a conv fused with the BatchNorm,
    addition and ReLU in ``chain[1:]``, the BatchNorm folded into the weights; ``zero``: a silenced
    layer in it, whose output channel ``c_k`` is 0), ``"broadcast"`` (an elementwise op of a K-fold
    value and a clean one, the clean one broadcast, not copied), ``"dense"`` (the op run on the
    K-fold inputs; ``inplace``: a ReLU of a fresh tensor that nothing else reads), ``"dense_zero"``
    (the same, then channel ``c_k`` set to 0: a silenced layer downstream of the change).
    ``free``: the values no later step reads.
    """

    node: object
    rule: str
    chain: tuple = ()
    zero: bool = False
    free: tuple = ()
    inplace: bool = False
    inputs: tuple = ()   # the graph inputs of the step (of its chain)
    module: object = None  # delta, conv: the layer at the head of the chain
    bn: object = None      # delta, conv: the BatchNorm node of the chain
    other: object = None   # conv: the other operand of the addition
    relu: bool = False     # conv: the chain ends with a ReLU


@dataclass
class _Plan:
    group: Group
    chans: list[int]
    steps: list[_Step]
    watch: tuple = ()  # nodes whose clean channel c decides whether an image can change (step 3)

    def rules(self) -> dict[str, str]:
        """``{node name: rule}`` of the steps (a chain is named by its last node; for tests)."""
        return {s.node.name: s.rule for s in self.steps}


def _elementwise(node) -> str | None:
    """``"add"``/``"sub"``/``"mul"`` for a two-tensor elementwise node ``f(a, b)``, else None."""
    if node.op != "call_function" or node.kwargs or len(node.args) != 2:
        return None
    if not all(isinstance(a, type(node)) for a in node.args):
        return None
    return _ELEMENTWISE.get(node.target)


def _is_relu(gm, node) -> bool:
    if node.op == "call_module":
        return isinstance(graph.module_of(gm, node), nn.ReLU)
    if node.op == "call_function":
        return node.target in _RELU_FUNCTIONS and len(node.args) == 1 and not node.kwargs.get("inplace")
    return node.op == "call_method" and node.target == "relu" and len(node.args) == 1


def _is_bn(gm, node) -> bool:
    """An eval-mode BatchNorm2d with running statistics (a per-channel affine map)."""
    mod = graph.module_of(gm, node)
    return isinstance(mod, nn.BatchNorm2d) and not mod.training and mod.running_mean is not None and \
        len(node.args) == 1 and not node.kwargs


def _is_conv(gm, node) -> bool:
    """A conv with zero padding taking one graph input (``args[0]``)."""
    mod = graph.module_of(gm, node)
    return isinstance(mod, nn.Conv2d) and mod.padding_mode == "zeros" and isinstance(mod.padding, tuple) and \
        len(node.args) == 1 and not node.kwargs


def _separable(gm, node) -> bool:
    """Output channel j depends on input channel j only (dim 1): BatchNorm, ReLU, pooling, elementwise."""
    return graph.is_zero_preserving(gm, node) or \
        isinstance(graph.module_of(gm, node), (nn.BatchNorm1d, nn.BatchNorm2d)) or _elementwise(node) is not None


def _delta_layer(gm, node) -> bool:
    """``T(u with channel c zeroed) = T(u) - (contribution of u_c)``: a conv without groups, or a linear layer."""
    if isinstance(graph.module_of(gm, node), nn.Linear):
        return len(node.args) == 1 and not node.kwargs
    return _is_conv(gm, node) and graph.module_of(gm, node).groups == 1


def _only_user(node):
    return next(iter(node.users)) if len(node.users) == 1 else None


def _rules(interp: graph.Interpreter, abl: set[int]) -> dict:
    """``{node: rule}`` for every node the silenced channel reaches (graph order), before fusion."""
    gm, kind, rule = interp.gm, {}, {}
    for i in range(min(abl), len(interp.nodes)):
        node = interp.nodes[i]
        ins = {kind[a] for a in node.all_input_nodes if a in kind}
        if i not in abl and not ins:
            continue  # not reached by the silenced channel: clean
        if node.op == "output":
            r = "dense"
        elif i in abl:  # silenced here: clean (or channel-separable of masked) -> masked
            r = "masked" if not ins or (ins == {_MASKED} and _separable(gm, node)) else "dense_zero"
        elif ins == {_MASKED} and graph.is_zero_preserving(gm, node):
            r = "masked"  # f(0) = 0 per channel
        elif ins == {_MASKED} and (_elementwise(node) == "mul" or (
                _elementwise(node) in ("add", "sub") and all(a in kind for a in node.args))):
            r = "masked"  # 0 * x = 0, 0 +- 0 = 0
        elif ins == {_MASKED} and _delta_layer(gm, node):
            r = "delta"
        elif ins == {_DENSE} and _elementwise(node) and sum(a in kind for a in node.args) == 1:
            r = "broadcast"
        else:
            r = "dense"
        kind[node], rule[node] = (_MASKED if r == "masked" else _DENSE), r
    return rule


def _plan(interp: graph.Interpreter, g: Group, chans: list[int]) -> _Plan:
    gm = interp.gm
    by_name = {n.target: n for n in interp.nodes if n.op == "call_module"}
    rule = _rules(interp, {interp.pos[by_name[m]] for m in set(g.outputs) | set(g.bns)})
    steps, absorbed = [], set()
    for node in rule:  # graph order; fuse chains
        if node in absorbed:
            continue
        r, chain, bn, zero = rule[node], (node,), None, rule[node] == "dense_zero"
        if r == "delta" and _is_conv(gm, node):
            # conv T -> BatchNorm -> + clean: still T(u) - (a one-channel conv), with the BN's scale
            nxt = _only_user(node)
            if nxt is not None and rule.get(nxt) == "dense" and _is_bn(gm, nxt):
                chain, bn, nxt = chain + (nxt,), nxt, _only_user(nxt)
            if nxt is not None and rule.get(nxt) == "broadcast" and _elementwise(nxt) == "add" and nxt not in absorbed:
                chain += (nxt,)
        elif r in ("dense", "dense_zero") and _is_conv(gm, node):
            # conv [-> BatchNorm] [-> + other] [-> ReLU], as one fused conv (an addition joins one chain)
            nxt = _only_user(node)
            if nxt is not None and rule.get(nxt) in ("dense", "dense_zero") and _is_bn(gm, nxt) and \
                    not (r == "dense_zero" and rule[nxt] == "dense"):  # BN(0) != 0: keep that conv alone
                chain, bn, zero, nxt = chain + (nxt,), nxt, zero or rule[nxt] == "dense_zero", _only_user(nxt)
            if nxt is not None and rule.get(nxt) in ("dense", "broadcast") and _elementwise(nxt) == "add" and \
                    nxt.args[0] is not nxt.args[1] and nxt not in absorbed:
                chain, nxt = chain + (nxt,), _only_user(nxt)
            if nxt is not None and rule.get(nxt) == "dense" and _is_relu(gm, nxt):
                chain += (nxt,)
            if len(chain) > 1:
                r = "conv"
        absorbed.update(chain)
        inside = set(chain)
        inputs = tuple(dict.fromkeys(a for n in chain for a in n.all_input_nodes if a not in inside))
        s = _Step(chain[-1], r, chain if r in ("conv", "delta") else (), zero and r == "conv", inputs=inputs,
                  module=graph.module_of(gm, node), bn=bn)
        if r == "conv":
            s.relu = _is_relu(gm, chain[-1])
            add = next((n for n in chain if _elementwise(n) == "add"), None)
            if add is not None:
                s.other = add.args[1] if add.args[0] in inside else add.args[0]
        steps.append(s)
    steps.sort(key=lambda s: interp.pos[s.node])  # a chain runs at its last node, once all its inputs exist
    last = {}  # the last step that reads each value
    for k, s in enumerate(steps):
        for a in s.inputs:
            last[a] = k
    for k, s in enumerate(steps):
        s.free = tuple(a for a in s.inputs if last[a] == k)
        if s.rule == "dense" and _is_relu(gm, s.node) and len(s.inputs) == 1:
            src = next((t for t in steps[:k] if t.node is s.inputs[0]), None)
            s.inplace = src is not None and src.rule in ("delta", "conv") and len(src.node.users) == 1
    masked = {s.node for s in steps if s.rule == "masked"}
    read = {a for s in steps if s.rule != "masked" for a in s.inputs if a in masked}
    watch = tuple(n for n in rule if n in read or rule[n] == "dense_zero")
    return _Plan(g, chans, steps, watch)


def _layout(v: torch.Tensor):
    return torch.channels_last if v.dim() == 4 and not v.is_contiguous() and \
        v.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format


def _batched(v, b: int) -> bool:
    return isinstance(v, torch.Tensor) and v.dim() >= 1 and v.shape[0] == b


@dataclass
class _Rows:
    """The rows of one pass: row ``r`` is image ``idx[r]`` of the chunk with channel
    ``chans[var[r]]`` silenced; the rows of variant ``k`` are ``spans[k]`` (contiguous). ``full``:
    every variant has all ``b`` images in order (row ``r`` is image ``r mod b``), so clean values are
    broadcast or copied K-fold instead of gathered."""

    chans: list[int]
    spans: list[tuple[int, int]]
    idx: torch.Tensor
    var: torch.Tensor
    crow: torch.Tensor  # the silenced channel of each row
    b: int
    full: bool

    @classmethod
    def build(cls, chans: list[int], images: list[torch.Tensor], b: int) -> "_Rows":
        counts = [len(i) for i in images]
        ends = list(itertools.accumulate(counts))
        dev = images[0].device
        count = torch.tensor(counts, device=dev)
        return cls(chans, list(zip([0, *ends[:-1]], ends)), torch.cat(images),
                   torch.repeat_interleave(torch.arange(len(chans), device=dev), count),
                   torch.repeat_interleave(torch.tensor(chans, device=dev), count), b, all(n == b for n in counts))

    def __len__(self) -> int:
        return len(self.idx)

    def gather(self, v: torch.Tensor) -> torch.Tensor:
        """``v[idx]`` (the rows' images of a clean value), in ``v``'s memory layout (always a new tensor)."""
        out = torch.empty((len(self), *v.shape[1:]), dtype=v.dtype, device=v.device, memory_format=_layout(v))
        if self.full:
            out.view(len(self.chans), *v.shape).copy_(v)
        else:
            torch.index_select(v, 0, self.idx, out=out)
        return out

    def images(self, k: int, v: torch.Tensor) -> torch.Tensor:
        """The images of variant ``k`` in the clean value ``v``."""
        s, e = self.spans[k]
        return v if self.full else v.index_select(0, self.idx[s:e])

    def zero_channels(self, value: torch.Tensor) -> torch.Tensor:
        """Set channel ``crow[r]`` (dim 1) of row ``r`` to 0 (in place)."""
        value[torch.arange(len(self), device=value.device), self.crow] = 0
        return value


def _bn_affine(bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """``(s, t)`` with ``bn(x) = s * x + t`` per channel (eval mode)."""
    s = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        s = s * bn.weight
    t = -bn.running_mean * s
    return s, (t + bn.bias if bn.bias is not None else t)


class _Folded(dict):
    """``{(conv node, BatchNorm node or None): (weight, bias)}``: the conv with its BatchNorm folded in;
    ``scale[BatchNorm node]``: the BatchNorm's per-channel scale."""

    def __init__(self, gm):
        super().__init__()
        self.gm, self.scale = gm, {}

    def __missing__(self, key):
        conv, bn = key
        w, b = graph.module_of(self.gm, conv).weight, graph.module_of(self.gm, conv).bias
        if bn is not None:
            s, t = _bn_affine(graph.module_of(self.gm, bn))
            w = (w * s.view(-1, 1, 1, 1)).contiguous(memory_format=_layout(w))
            b = t if b is None else b * s + t
        self[key] = w, b
        return w, b

    def bn_scale(self, bn) -> torch.Tensor | None:
        if bn is not None and bn not in self.scale:
            self.scale[bn] = _bn_affine(graph.module_of(self.gm, bn))[0]
        return self.scale.get(bn)


_FUSED_OK = None  # whether oneDNN's fused conv (a private op) is there and agrees with the eager ops


def _fused_conv(x, other, w, b, conv: nn.Conv2d, relu: bool) -> torch.Tensor:
    """``[relu](conv(x; w, b) [+ other])``: one oneDNN call on CPU where available, else eager."""
    global _FUSED_OK
    if x.device.type == "cpu" and x.dtype == torch.float32 and _FUSED_OK is not False:
        args = (list(conv.padding), list(conv.stride), list(conv.dilation), conv.groups)
        try:
            op = torch.ops.mkldnn._convolution_pointwise
            y = op.binary(x, other, w, b, *args, "add", None, "relu" if relu else None, [], None) \
                if other is not None else op(x, w, b, *args, "relu" if relu else "none", [], None)
        except (AttributeError, RuntimeError):
            _FUSED_OK = False
        else:
            if _FUSED_OK is None:  # check the private op once against the eager ops
                ref = _eager_conv(x, other, w, b, conv, relu)
                _FUSED_OK = ref.shape == y.shape and torch.allclose(ref, y, rtol=1e-4, atol=1e-4)
                return ref
            return y
    return _eager_conv(x, other, w, b, conv, relu)


def _eager_conv(x, other, w, b, conv, relu):
    y = F.conv2d(x, w, b, conv.stride, conv.padding, conv.dilation, conv.groups)
    if other is not None:
        y = y + other  # broadcast if other's shape differs
    return y.relu_() if relu else y


def _conv_step(s: _Step, x, other, folded: _Folded, rows: _Rows) -> torch.Tensor:
    """A fused conv chain (rule ``"conv"``) on the rows ``x``."""
    conv, relu = s.module, s.relu
    w, bias = folded[s.chain[0], s.bn]
    if other is not None:
        size = [(n + 2 * p - d * (k - 1) - 1) // st + 1 for n, p, d, k, st in
                zip(x.shape[2:], conv.padding, conv.dilation, conv.kernel_size, conv.stride)]
        if tuple(other.shape) != (x.shape[0], conv.out_channels, *size):
            if s.zero:
                raise AssertionError("a silenced conv with a broadcast addition")  # pragma: no cover (not fused)
            return _eager_conv(x, other, w, bias, conv, relu)
    if not s.zero:
        return _fused_conv(x, other, w, bias, conv, relu)
    out = []
    for c, (i, j) in zip(rows.chans, rows.spans):  # a silenced layer in the chain: its channel c_k is 0 in variant k
        wk, bk = w.clone(), (bias.clone() if bias is not None else w.new_zeros(w.shape[0]))
        wk[c], bk[c] = 0, 0
        out.append(_fused_conv(x[i:j], None if other is None else other[i:j], wk, bk, conv, relu))
    return out[0] if len(out) == 1 else torch.cat(out)


def _delta(layer: nn.Module, u: torch.Tensor, out: torch.Tensor, rows: _Rows,
           scale: torch.Tensor | None = None) -> torch.Tensor | None:
    """``layer(u with channel crow[r] zeroed)`` for each row ``r``, from the clean ``out = layer(u)``.

    With ``scale`` (a conv only): ``out - scale * (the zeroed channel's contribution)`` per output
    channel, for a per-channel affine map (and a clean addition) after the conv, ``out`` being the
    clean value after them.
    """
    if isinstance(layer, nn.Linear):
        if u.dim() != 2:
            return None
        uc = u[rows.idx, rows.crow]  # (R,)
        return out.index_select(0, rows.idx) - uc.unsqueeze(1) * layer.weight.t().index_select(0, rows.crow)
    O, kh, kw = out.shape[1], *layer.weight.shape[2:]
    res = torch.empty((len(rows), *out.shape[1:]), dtype=out.dtype, device=out.device,
                      memory_format=torch.channels_last)
    flat = res.permute(0, 2, 3, 1).view(len(rows), -1, O)  # (R, H*W, O): res is channels-last
    clean = out.permute(0, 2, 3, 1).reshape(out.shape[0], -1, O)
    for k, (c, (i, j)) in enumerate(zip(rows.chans, rows.spans)):  # im2col of one channel, times its weights
        cols = F.unfold(rows.images(k, u[:, c:c + 1]), (kh, kw), layer.dilation, layer.padding, layer.stride)
        w = layer.weight[:, c].reshape(O, kh * kw)
        if scale is not None:
            w = w * scale.view(O, 1)
        torch.baddbmm(rows.images(k, clean), cols.transpose(1, 2), w.t().expand(j - i, kh * kw, O), alpha=-1,
                      out=flat[i:j])
    return res


def _variant_losses(interp: graph.Interpreter, clean: dict, p: _Plan, rows: _Rows, y: torch.Tensor,
                    folded: _Folded) -> torch.Tensor:
    """The summed loss over the rows of variant ``k`` (channel ``chans[k]`` silenced), per ``k``."""
    b = rows.b
    vals, masked, full = {}, set(), {}  # row values (masked: the clean value); materialized ones

    def kfold(a):
        if a in full:
            return full[a]
        if a in vals and a not in masked:
            return vals[a]
        v = clean[a]
        if not _batched(v, b):
            return v
        if a in masked:
            v = rows.zero_channels(rows.gather(v))
        elif not (rows.full and len(rows.chans) == 1):
            v = rows.gather(v)
        full[a] = v
        return v

    for s in p.steps:
        node, value = s.node, None
        if s.rule == "masked":
            value = clean[node]
            masked.add(node)
        elif s.rule == "conv":
            value = _conv_step(s, kfold(s.chain[0].args[0]), None if s.other is None else kfold(s.other),
                               folded, rows)
        elif s.rule == "delta":
            head = s.chain[0]
            value = _delta(s.module, clean[head.args[0]], clean[node], rows, folded.bn_scale(s.bn))
        elif s.inplace:
            value = vals[s.inputs[0]].relu_()
        elif s.rule == "broadcast":
            a, c = node.args if node.args[0] in vals else node.args[::-1]
            d, cv = vals[a], clean[c]
            if _batched(cv, b) and cv.dim() == d.dim():
                if rows.full:  # broadcast the clean value over the K copies
                    d5 = d.view(len(rows.chans), b, *d.shape[1:])
                    value = node.target(d5, cv) if a is node.args[0] else node.target(cv, d5)
                    value = value.reshape(len(rows), *value.shape[2:])
                else:
                    cv = cv.index_select(0, rows.idx)
                    value = node.target(d, cv) if a is node.args[0] else node.target(cv, d)
        if value is None:  # dense; also a linear "delta" on an input that is not 2-D
            value = interp.run_node(node, {a: kfold(a) for a in s.inputs})
            if s.rule == "dense_zero":
                if any(isinstance(v, torch.Tensor) and v.untyped_storage().data_ptr() ==
                       value.untyped_storage().data_ptr() for v in map(kfold, s.inputs)):
                    value = value.clone()  # an op that returns its input (identity): do not zero a cached value
                rows.zero_channels(value)
        vals[node] = value
        for a in s.free:
            vals.pop(a, None)
            full.pop(a, None)
            masked.discard(a)
    loss = F.cross_entropy(kfold(interp.nodes[-1]).double(), y.index_select(0, rows.idx), reduction="none")
    if rows.full:
        return loss.view(len(rows.chans), b).sum(1)
    return torch.zeros(len(rows.chans), dtype=torch.float64, device=loss.device).index_add_(0, rows.var, loss)


def _changed(clean: dict, p: _Plan, b: int, dev: torch.device) -> torch.Tensor:
    """``(len(p.chans), b)`` booleans: whether silencing ``chans[k]`` can change image ``i`` at all, i.e.
    whether channel ``chans[k]`` of some watched value is non-zero on it in the clean pass."""
    out = torch.zeros(len(p.chans), b, dtype=torch.bool, device=dev)
    idx = torch.tensor(p.chans, device=dev)
    for node in p.watch:
        v = clean[node]
        if not (_batched(v, b) and v.dim() >= 2):
            return torch.ones_like(out)  # pragma: no cover (a watched value without a channel dimension)
        v = v.index_select(1, idx)
        out |= (v.ne(0).flatten(2).any(2) if v.dim() > 2 else v.ne(0)).t()
    return out


def _passes(changed: torch.Tensor, max_rows: int):
    """Group the variants into passes of at most ``max_rows`` (variant, image) rows (a variant whole):
    yields ``(variant positions, [image indices of each])``; variants that change no image are left out."""
    counts, batch, images, n = changed.sum(1).tolist(), [], [], 0
    for k, c in enumerate(counts):
        if c == 0:
            continue
        if batch and n + c > max_rows:
            yield batch, images
            batch, images, n = [], [], 0
        batch.append(k)
        images.append(changed[k].nonzero().flatten())
        n += c
    if batch:
        yield batch, images


@torch.no_grad()
def loss_increase_scores(model: nn.Module, ds, n_samples: int = 1024, seed: int = 0,
                         batch_size: int = 256, device=None, channels=None, include_linear: bool = False,
                         max_rows: int = 128) -> pd.DataFrame:
    """``delta_loss`` of every prunable channel, by cached clean activations and K-fold batched variants.

    Same arguments and result as :func:`loss_increase_scores_naive` (see the module docstring for
    the method). One forward pass runs at most ``max_rows`` rows: the images are taken in chunks of
    ``min(batch_size, max_rows)``, and the (channel variant, image) pairs that can change the loss are
    stacked, whole variants, up to ``max_rows`` rows (``max_rows // chunk`` variants when none is skipped).
    ``attrs["rows_run"]`` is the number of (variant, image) rows computed, of ``len(scores) * n_samples``.
    On a CPU (measured on ResNet-20, one thread) 64 to 256 rows per pass cost about the same per row,
    128 the least by a few per cent; raise ``max_rows`` on a GPU.
    """
    check_int("max_rows", max_rows, 1)
    device, x, y = _prepare(model, ds, n_samples, seed, device, batch_size, include_linear)
    groups = prunable_groups(model, x[:1], include_linear)
    gm = graph.trace(model).to(device).eval()
    layout = torch.channels_last if device.type == "cpu" else torch.contiguous_format
    gm = gm.to(memory_format=layout)
    interp = graph.Interpreter(gm)
    plans = [_plan(interp, g, c) for g, c in _channels(groups, channels) if c]
    sums = {p.group.name: torch.zeros(len(p.chans), dtype=torch.float64) for p in plans}
    loss0, keep, folded, rows_run = 0.0, set(interp.nodes), _Folded(gm), 0
    placeholder = next(n for n in interp.nodes if n.op == "placeholder")
    chunk = min(batch_size, max_rows)
    for i in range(0, len(y), chunk):
        xb, yb = x[i:i + chunk], y[i:i + chunk]
        with torch.inference_mode():
            clean = {placeholder: xb.contiguous(memory_format=layout) if xb.dim() == 4 else xb}
            interp.advance(clean, 0, len(interp.nodes), keep=keep)
            clean_loss = F.cross_entropy(clean[interp.nodes[-1]].double(), yb, reduction="none")
            loss0 += clean_loss.sum().item()
            for p in plans:
                changed = _changed(clean, p, len(yb), yb.device)
                # the images a variant leaves out add their clean loss (all of them: exactly this chunk's L0
                # term; none: exactly 0.0, so the computed sum is added unchanged)
                out = (clean_loss.unsqueeze(0) * ~changed).sum(1)
                out[~changed.any(1)] = clean_loss.sum()
                out = out.cpu()
                for ks, images in _passes(changed, max_rows):
                    rows = _Rows.build([p.chans[k] for k in ks], images, len(yb))
                    out[ks] += _variant_losses(interp, clean, p, rows, yb, folded).cpu()
                    rows_run += len(rows)
                sums[p.group.name] += out
    n = len(y)
    loss0 /= n
    rows = [(p.group.name, c, float(s) / n - loss0) for p in plans for c, s in zip(p.chans, sums[p.group.name])]
    order = {g.name: k for k, g in enumerate(groups)}
    rows.sort(key=lambda r: (order[r[0]], r[1]))
    df = _frame(rows, loss0, n, seed)
    df.attrs["rows_run"] = rows_run
    return df
