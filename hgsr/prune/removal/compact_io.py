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

from ... import models
from ...errors import CorruptFile, HgsrError, InvalidArgument, InvalidType, check_module, check_path
from ...io import atomic_save, verified_load
from ...regularizers.common import adopt_buffers

FORMAT = "hgsr-compact"
VERSION = 2        # 2: BatchNorm eps/momentum and prune_info stored; tensors keep their dtype
READABLE = (1, 2)


class ArchitectureMismatch(ValueError, HgsrError):
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
    the state dict to ``path`` (atomically); also each BatchNorm's ``eps`` and ``momentum`` and the
    model's ``prune_info``. Tensors keep their dtype (a float64 model loads as float64)."""
    check_module("model", model)
    path = check_path("path", path)
    _check_builder(builder)
    bn = {n: {"eps": m.eps, "momentum": m.momentum} for n, m in model.named_modules()
          if isinstance(m, nn.modules.batchnorm._BatchNorm)}
    blob = {"format": FORMAT, "version": VERSION, "builder": dict(builder), "shapes": layer_shapes(model),
            "batchnorm": bn, "prune_info": getattr(model, "prune_info", None),
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}
    return atomic_save(blob, path)


def _check_builder(builder) -> None:
    """``builder``: a dict with ``name`` (a model name) and the other :func:`hgsr.models.build`
    arguments; checked by building the dense model once."""
    if not isinstance(builder, dict):
        raise InvalidType(f"builder must be a dict {{'name': model name, **hgsr.models.build arguments}}, "
                          f"got {builder!r} ({type(builder).__name__})")
    if "name" not in builder:
        raise InvalidArgument(f"builder needs 'name' (and the other hgsr.models.build arguments), got {builder!r}")
    spec = dict(builder)
    models.build(spec.pop("name"), **spec)


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


def _check_map_location(map_location) -> None:
    """InvalidArgument naming ``map_location`` when it names a device this machine lacks (a CUDA device
    without CUDA, or a CUDA index past the last GPU), so that loading does not fail as if the file were
    corrupt; a dict's target devices are checked too, a callable is left to torch."""
    if map_location is None or callable(map_location):
        return
    targets = list(map_location.values()) if isinstance(map_location, dict) else [map_location]
    for target in targets:
        if not isinstance(target, (str, torch.device)):
            raise InvalidType(f"map_location must be None, a device (e.g. 'cpu'), a dict or a callable, got "
                              f"{map_location!r} ({type(map_location).__name__})")
        try:
            device = torch.device(target)
        except RuntimeError as e:
            raise InvalidArgument(f"map_location={map_location!r} is not a device torch knows ({e}); use "
                                  f"map_location='cpu'") from None
        if device.type != "cuda":
            continue
        if not torch.cuda.is_available():
            raise InvalidArgument(f"map_location={map_location!r} names a CUDA device, but this machine has no "
                                  f"CUDA device (torch.cuda.is_available() is False); use map_location='cpu'")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InvalidArgument(f"map_location={map_location!r} names CUDA device {device.index}, but this "
                                  f"machine has {torch.cuda.device_count()}; use map_location='cuda:0' or 'cpu'")


def _check_contents(blob: dict, path: Path, need_builder: bool) -> None:
    """CorruptFile naming ``path`` unless the blob holds the keys :func:`save_compact` writes (with a
    builder dict that has a ``name`` when ``need_builder``) and every floating tensor of its state dict
    is finite (a NaN in a BatchNorm's running_var would make every output NaN)."""
    fix = "save the model again with save_compact"
    missing = [k for k in (("builder",) if need_builder else ()) + ("shapes", "state_dict") if k not in blob]
    if missing:
        raise CorruptFile(f"compact-model file {path} lacks {', '.join(map(repr, missing))} (it has "
                          f"{', '.join(map(repr, sorted(blob)))}); {fix}", path)
    if need_builder and not (isinstance(blob["builder"], dict) and "name" in blob["builder"]):
        raise CorruptFile(f"compact-model file {path} has builder {blob['builder']!r}, not a dict with 'name'; "
                          f"{fix}, or give builder= to load_compact", path)
    for key in ("shapes", "state_dict"):
        if not isinstance(blob[key], dict):
            raise CorruptFile(f"compact-model file {path}: {key!r} is a {type(blob[key]).__name__}, not a dict; "
                              f"{fix}", path)
    for name, t in blob["state_dict"].items():
        if not isinstance(t, torch.Tensor):
            raise CorruptFile(f"compact-model file {path}: state_dict[{name!r}] is a {type(t).__name__}, not a "
                              f"tensor; {fix}", path)
        if (t.is_floating_point() or t.is_complex()) and not bool(torch.isfinite(t).all()):
            bad = int((~torch.isfinite(t)).sum())
            raise CorruptFile(f"compact-model file {path}: tensor {name!r} holds {bad} non-finite value(s) "
                              f"(NaN or inf) of {t.numel()}; the model would output NaN. Save it again from a "
                              f"model with finite weights and statistics", path)


def load_compact(path, builder: dict | None = None, map_location="cpu") -> nn.Module:
    """Rebuild the compact model saved by :func:`save_compact` (``builder`` overrides the stored one).

    Raises :class:`ArchitectureMismatch` when the file's layers do not fit the built architecture,
    :class:`~hgsr.errors.CorruptFile` naming the path when the file is truncated or corrupt, of a
    format version this code cannot read, lacks a part ``save_compact`` writes, or holds a non-finite
    tensor (the message names it), :class:`~hgsr.errors.InvalidArgument` when ``map_location`` names a
    device this machine lacks (e.g. ``"cuda"`` without a GPU), FileNotFoundError when it does not exist.
    """
    path = check_path("path", path)
    if builder is not None:
        _check_builder(builder)
    _check_map_location(map_location)
    blob = verified_load(path, "compact-model file", "save the model again with save_compact",
                         map_location=map_location, weights_only=False)
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ArchitectureMismatch(f"{path} is not a compact-model file written by save_compact")
    if blob.get("version") not in READABLE:
        raise CorruptFile(f"compact-model file {path} has format version {blob.get('version')!r}; this hgsr "
                          f"reads versions {', '.join(map(str, READABLE))}: update hgsr, or save the model "
                          f"again with this version's save_compact", path)
    _check_contents(blob, path, need_builder=builder is None)
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
    for layer, hyper in blob.get("batchnorm", {}).items():
        try:
            bn = model.get_submodule(layer)
        except AttributeError:
            raise ArchitectureMismatch(f"{path} does not fit architecture {name!r}: no BatchNorm {layer!r}") from None
        bn.eps, bn.momentum = hyper["eps"], hyper["momentum"]
    state = blob["state_dict"]
    adopt_buffers(model, state)     # regularizer buffers (nonconvex SGL's hgsr_V), cut with the weights
    try:
        model.load_state_dict(state, strict=True, assign=True)   # assign: tensors keep their dtype
    except RuntimeError as e:
        raise ArchitectureMismatch(f"{path} does not fit architecture {name!r}: {e}") from e
    if blob.get("prune_info") is not None:
        model.prune_info = blob["prune_info"]
    return model
