"""The data-flow graph of a model (``torch.fx``), as the pruning code needs it.

- :func:`trace`: a ``GraphModule`` of the model with every in-place op made out-of-place, so that
  cached activations are never overwritten when part of the network is run again.
- :func:`following_bn`: ``{conv/linear name: BatchNorm name}`` for layers whose only consumer is a
  BatchNorm (the "conv -> BN" pairs whose output channel c is ``BN(conv)[c]``).
- :func:`output_layers`: the conv/linear layers that produce the model output (the classifier; its
  output channels are never prunable).
- :class:`Interpreter`: runs a traced graph node by node, from any position, on cached values.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import fx, nn

from ...errors import InvalidArgument

LAYER_TYPES = (nn.Conv2d, nn.Linear)

# ops that act on each channel separately and map an all-zero channel to an all-zero channel
ZERO_PRESERVING_MODULES = (nn.ReLU, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d,
                           nn.AdaptiveMaxPool2d, nn.Dropout, nn.Identity)
ZERO_PRESERVING_FUNCTIONS = (F.relu, torch.relu, F.max_pool2d, F.avg_pool2d, F.adaptive_avg_pool2d,
                             F.dropout)


class UnsupportedModel(InvalidArgument):
    """The pruning code cannot trace or handle this model (the message names the layer)."""


def trace(model: nn.Module, copy_model: bool = True) -> fx.GraphModule:
    """``torch.fx.symbolic_trace`` of (a deep copy of) ``model`` with in-place ops disabled."""
    m = copy.deepcopy(model) if copy_model else model
    for mod in m.modules():
        if getattr(mod, "inplace", False):
            mod.inplace = False
    try:
        gm = fx.symbolic_trace(m)
    except Exception as e:  # data-dependent control flow and the like
        raise UnsupportedModel(f"{type(model).__name__} cannot be traced by torch.fx ({e}); "
                               f"the pruning tools need a traceable forward") from e
    for node in gm.graph.nodes:
        if node.kwargs.get("inplace"):
            node.kwargs = {**node.kwargs, "inplace": False}
    gm.recompile()
    return gm


def module_of(gm: fx.GraphModule, node: fx.Node) -> nn.Module | None:
    return gm.get_submodule(node.target) if node.op == "call_module" else None


def following_bn(gm: fx.GraphModule) -> dict[str, str]:
    """``{layer name: BatchNorm name}`` where the BatchNorm is the layer's only consumer."""
    out = {}
    for node in gm.graph.nodes:
        if node.op == "call_module" and isinstance(module_of(gm, node), LAYER_TYPES):
            users = list(node.users)
            if len(users) == 1 and isinstance(module_of(gm, users[0]), (nn.BatchNorm2d, nn.BatchNorm1d)):
                out[node.target] = users[0].target
    return out


def output_layers(gm: fx.GraphModule) -> set[str]:
    """Names of the conv/linear layers whose output reaches the model output with no layer between."""
    found, stack, seen = set(), [n for n in gm.graph.nodes if n.op == "output"], set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if node.op == "call_module" and isinstance(module_of(gm, node), LAYER_TYPES):
            found.add(node.target)
            continue
        stack.extend(node.all_input_nodes)
    return found


def is_zero_preserving(gm: fx.GraphModule, node: fx.Node) -> bool:
    """True for per-channel ops ``f`` with ``f(0) = 0`` (ReLU, pooling, dropout, identity)."""
    if node.op == "call_module":
        return isinstance(module_of(gm, node), ZERO_PRESERVING_MODULES)
    if node.op == "call_function":
        return node.target in ZERO_PRESERVING_FUNCTIONS
    if node.op == "call_method":
        return node.target in ("relu", "relu_")
    return False


class Interpreter:
    """Run a traced graph node by node; values live in an ``env`` dict keyed by node.

    ``last_use[node]`` is the position of the last node that reads it; :meth:`advance` frees a value
    after its last use unless the position is listed in ``keep``.
    """

    def __init__(self, gm: fx.GraphModule):
        self.gm = gm
        self.nodes = list(gm.graph.nodes)
        self.pos = {n: i for i, n in enumerate(self.nodes)}
        self.last_use = {n: max((self.pos[u] for u in n.users), default=self.pos[n]) for n in self.nodes}
        self.modules = dict(gm.named_modules())

    def run_node(self, node: fx.Node, env: dict):
        args = fx.node.map_arg(node.args, lambda a: env[a])
        kwargs = fx.node.map_arg(node.kwargs, lambda a: env[a])
        if node.op == "call_module":
            return self.modules[node.target](*args, **kwargs)
        if node.op == "call_function":
            return node.target(*args, **kwargs)
        if node.op == "call_method":
            return getattr(args[0], node.target)(*args[1:], **kwargs)
        if node.op == "get_attr":
            obj = self.gm
            for part in node.target.split("."):
                obj = getattr(obj, part)
            return obj
        if node.op == "output":
            return args[0]
        raise UnsupportedModel(f"cannot run graph node {node.name!r} ({node.op})")

    def advance(self, env: dict, start: int, stop: int, keep: set | None = None, after=None) -> None:
        """Compute nodes ``start .. stop-1`` into ``env``; free values no longer needed.

        ``after(i, value)`` may replace the value of node ``i`` (used to silence channels).
        """
        keep = keep or set()
        for i in range(start, stop):
            node = self.nodes[i]
            if node.op == "placeholder":
                continue
            value = self.run_node(node, env)
            if after is not None:
                value = after(i, value)
            env[node] = value
            for a in node.all_input_nodes:
                if self.last_use[a] <= i and a not in keep:
                    env.pop(a, None)
