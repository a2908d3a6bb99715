"""Saving and loading compact (pruned) models.

A compact model is stored as the builder arguments of its dense architecture
(``hgsr.models.build(**builder)``), the shape of every conv, linear and BatchNorm layer, and the state
dict. Loading builds the dense model, replaces each stored layer by one of the stored width (same
kernel, stride, padding, ...; a bias where the stored layer had one), and loads the state dict
strictly; a file that does not fit the built architecture raises :class:`ArchitectureMismatch`
naming the first layer that differs.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .. import models
from ..io import atomic_save

FORMAT = "hgsr-compact"
VERSION = 1

class ArchitectureMismatch(ValueError):
    """A compact file does not fit the architecture it is loaded into."""


def layer_shapes(model: nn.Module) -> dict[str, dict]:
    """``{layer: {type, in, out, bias}}`` for every conv, linear and BatchNorm layer."""
    out = {}
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            out[name] = {"type": "Conv2d", "in": m.in_channels, "out": m.out_channels, "bias": m.bias is not None}
        elif isinstance(m, nn.Linear):
            out[name] = {"type": "Linear", "in": m.in_features, "out": m.out_features, "bias": m.bias is not None}
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            out[name] = {"type": type(m).__name__, "in": m.num_features, "out": m.num_features,
                         "bias": m.affine}
    return out


def save_compact(model: nn.Module, path, builder: dict) -> Path:
    """Write ``builder`` (``name`` plus keyword arguments of ``hgsr.models.build``), layer shapes and
    the state dict to ``path`` (atomically)."""
    if "name" not in builder:
        raise ValueError("builder needs 'name' (and the other hgsr.models.build arguments)")
    blob = {"format": FORMAT, "version": VERSION, "builder": dict(builder), "shapes": layer_shapes(model),
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}
    return atomic_save(blob, path)


def _resized(name: str, old: nn.Module, spec: dict) -> nn.Module:
    kind = type(old).__name__
    if kind != spec["type"]:
        raise ArchitectureMismatch(f"layer {name!r} is a {kind} in the built model but a {spec['type']} "
                                   f"in the file")
    if isinstance(old, nn.Conv2d):
        if old.groups != 1:
            raise ArchitectureMismatch(f"layer {name!r}: grouped convs cannot be resized")
        return nn.Conv2d(spec["in"], spec["out"], old.kernel_size, old.stride, old.padding, old.dilation,
                         1, spec["bias"], old.padding_mode)
    if isinstance(old, nn.Linear):
        return nn.Linear(spec["in"], spec["out"], spec["bias"])
    return type(old)(spec["in"], old.eps, old.momentum, old.affine, old.track_running_stats)


def load_compact(path, builder: dict | None = None, map_location="cpu") -> nn.Module:
    """Rebuild the compact model saved by :func:`save_compact` (``builder`` overrides the stored one).

    Raises :class:`ArchitectureMismatch` when the file's layers do not fit the built architecture.
    """
    blob = torch.load(path, map_location=map_location, weights_only=False)
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ArchitectureMismatch(f"{path} is not a compact-model file written by save_compact")
    spec = dict(builder if builder is not None else blob["builder"])
    name = spec.pop("name")
    model = models.build(name, **spec)
    shapes = blob["shapes"]
    built = layer_shapes(model)
    missing, extra = sorted(set(shapes) - set(built)), sorted(set(built) - set(shapes))
    if missing or extra:
        raise ArchitectureMismatch(
            f"{path} does not fit architecture {name!r}: layers in the file but not in the model: "
            f"{missing[:5]}; layers in the model but not in the file: {extra[:5]}")
    for layer, s in shapes.items():
        if s != built[layer]:
            parent, _, child = layer.rpartition(".")
            holder = model.get_submodule(parent) if parent else model
            setattr(holder, child, _resized(layer, model.get_submodule(layer), s))
    try:
        model.load_state_dict(blob["state_dict"], strict=True)
    except RuntimeError as e:
        raise ArchitectureMismatch(f"{path} does not fit architecture {name!r}: {e}") from e
    return model
