"""Which output channels can be pruned, and which layers are coupled (docs/methods.md section 6, "Physical removal").

A :class:`Group` is one set of output channels that must be removed together: the output channels
of one conv (with its BatchNorm), or, where a residual add couples them, the channels of every conv
feeding the same residual stream (the stem conv, each block's last conv and the projection
shortcuts of one ResNet stage). Removing channel ``c`` of a group removes filter ``c`` of every conv
in ``convs``, entry ``c`` of every BatchNorm in ``bns``, and input channel ``c`` (or the flattened
columns of ``c``) of every layer in ``consumers``.

The dependencies come from torch-pruning's ``DependencyGraph``; the layer the group's output is read
from (the BatchNorm after a conv, else the conv) comes from a ``torch.fx`` trace. The classifier
(every layer whose output is the model output) is never prunable.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch_pruning as tp
from torch import nn

from ...errors import InvalidArgument, check_bool, check_module, check_shape
from . import graph


class EmptyLayerError(InvalidArgument):
    """A pruning plan would remove every channel of a layer."""


class UnknownGroup(KeyError, InvalidArgument):
    """A group name the model does not have (the message lists the valid ones); a ``KeyError`` too."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""



@dataclass(frozen=True)
class Group:
    """One prunable set of coupled output channels.

    ``name``: the conv that defines it, or for a residual-coupled group the common prefix of its
    block convs (the stage, e.g. ``"layer2"``); ``convs``: every layer whose output channels are
    coupled (model order); ``size``: number of channels; ``bns``: coupled BatchNorms;
    ``consumers``: layers whose input channels are removed with them; ``outputs``: for each conv,
    the module whose output carries the channel (its BatchNorm, or the conv itself); ``root``: the
    conv used as the root of the torch-pruning group.
    """

    name: str
    convs: tuple[str, ...]
    size: int
    bns: tuple[str, ...] = ()
    consumers: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    root: str = ""

    @property
    def coupled(self) -> bool:
        return len(self.convs) > 1


def example_input(model: nn.Module, example) -> torch.Tensor:
    """A tensor from ``example``: a tensor (used as is) or an input shape ``(C, H, W)``."""
    check_module("model", model)
    if isinstance(example, torch.Tensor):
        _check_example_tensor(example)
        return example
    shape = check_shape("input_shape", example, (3, 4))
    if len(shape) == 3:
        shape = (1,) + shape
    p = next(model.parameters())
    return torch.randn(*shape, generator=torch.Generator().manual_seed(0)).to(p.device, p.dtype)


def input_shape(example) -> tuple[int, int, int]:
    """``(C, H, W)`` of an example tensor or shape."""
    if isinstance(example, torch.Tensor):
        _check_example_tensor(example)
        return tuple(example.shape[1:])[-3:]
    return check_shape("input_shape", example, (3, 4))[-3:]


def _check_example_tensor(x: torch.Tensor) -> None:
    if x.dim() != 4 or not x.is_floating_point():
        raise InvalidArgument(f"input_shape given as a tensor must be a float batch (N, C, H, W), got "
                              f"{x.dtype} of shape {tuple(x.shape)}")


def dependency_graph(model: nn.Module, example) -> tp.DependencyGraph:
    """torch-pruning's dependency graph of ``model`` (training flags are restored afterwards)."""
    flags = {m: m.training for m in model.modules()}
    try:
        with torch.enable_grad():
            return tp.DependencyGraph().build_dependency(model, example_inputs=example_input(model, example),
                                                         verbose=False)
    except Exception as e:
        raise graph.UnsupportedModel(f"torch-pruning cannot trace {type(model).__name__}: {e}") from e
    finally:
        for m, t in flags.items():
            m.training = t


def _group_name(convs: list[str], taken: set[str]) -> str:
    if len(convs) == 1:
        name = convs[0]
    else:
        inner = [c.split(".") for c in convs if "." in c] or [c.split(".") for c in convs]
        prefix = os.path.commonprefix(inner)
        name = ".".join(prefix) if prefix else convs[0]
    base, k = name, 2
    while name in taken:
        name, k = f"{base}#{k}", k + 1
    return name


def groups_from_graph(model: nn.Module, DG: tp.DependencyGraph, gm=None,
                      include_linear: bool = False) -> list[Group]:
    """Build the :class:`Group` list from a dependency graph (and an fx trace of the same model)."""
    gm = gm if gm is not None else graph.trace(model)
    names = {m: n for n, m in model.named_modules()}
    after = graph.following_bn(gm)
    classifier = [model.get_submodule(n) for n in graph.output_layers(gm)]
    order = {n: i for i, (n, _) in enumerate(model.named_modules())}
    roots = (nn.Conv2d, nn.Linear) if include_linear else (nn.Conv2d,)
    found, taken = [], set()
    for g in DG.get_all_groups(ignored_layers=classifier, root_module_types=roots):
        convs, bns, consumers = set(), set(), set()
        for dep, _ in g:
            mod, fn = dep.target.module, dep.handler
            if not isinstance(mod, nn.Module) or mod not in names:
                continue
            if DG.is_out_channel_pruning_fn(fn):
                if isinstance(mod, (nn.Conv2d, nn.Linear)):
                    convs.add(names[mod])
                elif isinstance(mod, (nn.BatchNorm2d, nn.BatchNorm1d)):
                    bns.add(names[mod])
                else:
                    raise graph.UnsupportedModel(
                        f"layer {names[mod]!r} ({type(mod).__name__}) is coupled to the output channels "
                        f"of {names[g[0].dep.target.module]!r}; the pruning tools support conv, linear "
                        f"and BatchNorm layers only")
            elif DG.is_in_channel_pruning_fn(fn) and isinstance(mod, (nn.Conv2d, nn.Linear)):
                consumers.add(names[mod])
        convs = sorted(convs, key=order.get)
        for c in convs:
            m = model.get_submodule(c)
            if isinstance(m, nn.Conv2d) and m.groups != 1:
                raise graph.UnsupportedModel(f"layer {c!r} is a grouped conv (groups={m.groups}); "
                                             f"only groups=1 is supported")
        root = names[g[0].dep.target.module]
        size = DG.get_out_channels(g[0].dep.target.module)
        name = _group_name(convs, taken)
        taken.add(name)
        found.append(Group(name=name, convs=tuple(convs), size=int(size), bns=tuple(sorted(bns, key=order.get)),
                           consumers=tuple(sorted(consumers, key=order.get)),
                           outputs=tuple(after.get(c, c) for c in convs), root=root))
    found.sort(key=lambda g: order[g.convs[0]])
    return found


def prunable_groups(model: nn.Module, example_input, include_linear: bool = False) -> list[Group]:
    """The prunable output-channel groups of ``model``, in model order.

    ``example_input``: a tensor or an input shape ``(C, H, W)``. With ``include_linear`` the hidden
    units of linear layers are groups too (never the classifier's outputs). A model with no prunable
    group (no conv layer besides the classifier, and ``include_linear=False``) raises
    :class:`~hgsr.prune.UnsupportedModel`.
    """
    check_module("model", model)
    check_bool("include_linear", include_linear)
    DG = dependency_graph(model, example_input)
    found = groups_from_graph(model, DG, include_linear=include_linear)
    if not found:
        raise graph.UnsupportedModel(
            f"model {type(model).__name__} has no prunable channels: no conv layer besides the classifier"
            + ("" if include_linear else " (pass include_linear=True to prune hidden linear units)"))
    return found


def find_group(groups: list[Group], name: str) -> Group:
    """The group called ``name``, or :class:`UnknownGroup` (a ``KeyError``) listing the valid names."""
    for g in groups:
        if g.name == name:
            return g
    raise UnknownGroup(f"unknown group {name!r}; prunable groups: {', '.join(g.name for g in groups)}")


def widths(model: nn.Module, example_input, include_linear: bool = False) -> dict[str, int]:
    """``{group name: number of channels}`` of a (dense or compact) model."""
    return {g.name: g.size for g in prunable_groups(model, example_input, include_linear)}
