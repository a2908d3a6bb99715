"""The CNNs of the study, built by name with :func:`build`.

- ``lenet5``: the Caffe LeNet-5 (conv 20 5x5, pool, conv 50 5x5, pool, fc 500, fc classes).
- ``vgg``: VGG for CIFAR with BatchNorm, a configurable ``cfg`` (ints = conv widths, "M" = max-pool)
  and a width multiplier.
- ``resnet``: ResNet for CIFAR, depth 6n+2 (20/32/56/110), basic blocks, 1x1-conv projection
  shortcuts (named ``shortcut``) where the shape changes, and a width multiplier.
- ``alexnet``: the small AlexNet for 32x32 inputs of the HGSR reference code family.

Every model's layer widths are plain constructor arguments, so a compact (pruned) model is rebuilt
from its widths by the same builder (see :mod:`hgsr.prune`).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
import torch.nn.functional as F

from .errors import InvalidArgument, InvalidType, check_bool, check_int, check_positive

VGG_CFGS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}


def _flat_size(features: nn.Module, in_channels: int, image_size: int, model: str = "model") -> int:
    try:
        with torch.no_grad():
            return features(torch.zeros(1, in_channels, image_size, image_size)).numel()
    except RuntimeError as e:
        raise InvalidArgument(f"image_size={image_size} is too small for {model} ({e})") from None


def _check_common(num_classes, in_channels, image_size) -> None:
    check_int("num_classes", num_classes, 1)
    check_int("in_channels", in_channels, 1)
    check_int("image_size", image_size, 1)


def _check_widths(name: str, widths, n: int | None = None) -> list[int]:
    """A sequence of ``n`` positive integers (channel counts)."""
    what = f"a sequence of {n} positive integers" if n else "a sequence of positive integers"
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__"):
        raise InvalidType(f"{name} must be {what}, got {widths!r} ({type(widths).__name__})")
    out = list(widths)
    if n is not None and len(out) != n:
        raise InvalidArgument(f"{name} must be {what}, got {widths!r} ({len(out)} entries)")
    for w in out:
        check_int(f"{name} entry", w, 1)
    return [int(w) for w in out]


def _check_input(module: nn.Module, args) -> None:
    """Forward pre-hook: the input must be (N, C, H, W) with the (C, H, W) the model was built for."""
    x = args[0] if args else None
    want = (module.in_channels, module.image_size, module.image_size)
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or tuple(x.shape[1:]) != want:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise InvalidArgument(f"{type(module).__name__} was built for inputs (N, {want[0]}, {want[1]}, "
                              f"{want[2]}) (in_channels={want[0]}, image_size={want[1]}), got input "
                              f"{got}; build it with the in_channels and image_size of the data")


class LeNet5(nn.Module):
    """Caffe LeNet-5: conv(20,5x5)-pool-conv(50,5x5)-pool-fc(500)-relu-fc(classes).

    ``batchnorm=True`` puts a BatchNorm2d after each conv (no conv bias), which network slimming
    needs; the Caffe original has none.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, image_size: int = 28,
                 widths: Sequence[int] = (20, 50, 500), batchnorm: bool = False):
        super().__init__()
        _check_common(num_classes, in_channels, image_size)
        c1, c2, hidden = _check_widths("widths", widths, 3)
        check_bool("batchnorm", batchnorm)
        self.in_channels, self.image_size = in_channels, image_size

        def conv(i, o):
            if batchnorm:
                return [nn.Conv2d(i, o, 5, bias=False), nn.BatchNorm2d(o)]
            return [nn.Conv2d(i, o, 5)]

        self.features = nn.Sequential(
            *conv(in_channels, c1), nn.MaxPool2d(2),
            *conv(c1, c2), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(_flat_size(self.features, in_channels, image_size, "lenet5"), hidden),
            nn.ReLU(inplace=True), nn.Linear(hidden, num_classes),
        )
        self.register_forward_pre_hook(_check_input)

    def forward(self, x):
        return self.classifier(self.features(x))


class VGG(nn.Module):
    """VGG for CIFAR: 3x3 conv + BN + ReLU blocks, max-pool at "M", global pool, one linear layer."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, image_size: int = 32,
                 cfg: Sequence | str = "vgg16", width: float = 1.0):
        super().__init__()
        _check_common(num_classes, in_channels, image_size)
        width = check_positive("width", width)
        if isinstance(cfg, str):
            if cfg not in VGG_CFGS:
                raise InvalidArgument(f"unknown VGG cfg {cfg!r}; known: {sorted(VGG_CFGS)}")
            cfg = [v if v == "M" else max(1, int(round(v * width))) for v in VGG_CFGS[cfg]]
        elif isinstance(cfg, (list, tuple)) and cfg:
            for v in cfg:
                if v != "M":
                    check_int("cfg entry", v, 1)
        else:
            raise InvalidType(f"cfg must be a VGG name ({', '.join(sorted(VGG_CFGS))}) or a non-empty list of "
                              f"conv widths and 'M', got {cfg!r}")
        layers, c = [], in_channels
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(c, int(v), 3, padding=1, bias=False), nn.BatchNorm2d(int(v)),
                           nn.ReLU(inplace=True)]
                c = int(v)
        self.cfg = list(cfg)
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN, plus identity or 1x1-conv+BN projection shortcut, then ReLU."""

    def __init__(self, in_planes: int, mid_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, mid_planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid_planes)
        self.conv2 = nn.Conv2d(mid_planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False),
                                          nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNetCIFAR(nn.Module):
    """ResNet for CIFAR (He et al. 2016): depth 6n+2, three stages of n basic blocks.

    ``stage_widths`` are the residual widths of the stem and the three stages (default 16/32/64 times
    ``width``); ``mid_widths`` optionally gives each block's inner width (pruned models).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, image_size: int = 32,
                 depth: int = 20, width: float = 1.0, stage_widths: Sequence[int] | None = None,
                 mid_widths: Sequence[int] | None = None):
        super().__init__()
        _check_common(num_classes, in_channels, image_size)
        check_int("depth", depth)
        if (depth - 2) % 6 != 0 or depth < 8:
            raise InvalidArgument(f"ResNet depth must be 6n+2 (20, 32, 56, 110), got {depth}")
        width = check_positive("width", width)
        n = (depth - 2) // 6
        if stage_widths is None:
            stage_widths = [max(1, int(round(c * width))) for c in (16, 16, 32, 64)]
        stem, *stages = _check_widths("stage_widths", stage_widths, 4)
        if mid_widths is None:
            mid_widths = [w for w in stages for _ in range(n)]
        mid_widths = _check_widths("mid_widths", mid_widths)
        if len(mid_widths) != 3 * n:
            raise InvalidArgument(f"mid_widths needs {3 * n} entries for depth {depth}, got {len(mid_widths)}")
        self.conv1 = nn.Conv2d(in_channels, stem, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        blocks, c, k = [], stem, 0
        for s, planes in enumerate(stages):
            layer = []
            for b in range(n):
                stride = 2 if (s > 0 and b == 0) else 1
                layer.append(BasicBlock(c, mid_widths[k], planes, stride))
                c, k = planes, k + 1
            blocks.append(nn.Sequential(*layer))
        self.layer1, self.layer2, self.layer3 = blocks
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return self.fc(torch.flatten(self.pool(out), 1))


class AlexNetSmall(nn.Module):
    """AlexNet for 32x32 inputs: five convs (64-192-384-256-256) with BN, three pools, 3 FC layers."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, image_size: int = 32,
                 widths: Sequence[int] = (64, 192, 384, 256, 256, 1024, 1024)):
        super().__init__()
        _check_common(num_classes, in_channels, image_size)
        c1, c2, c3, c4, c5, f1, f2 = _check_widths("widths", widths, 7)
        self.in_channels, self.image_size = in_channels, image_size

        def block(i, o, k, p):
            return [nn.Conv2d(i, o, k, padding=p, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *block(in_channels, c1, 5, 2), nn.MaxPool2d(2),
            *block(c1, c2, 5, 2), nn.MaxPool2d(2),
            *block(c2, c3, 3, 1), *block(c3, c4, 3, 1), *block(c4, c5, 3, 1), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(_flat_size(self.features, in_channels, image_size, "alexnet"), f1),
            nn.ReLU(inplace=True), nn.Dropout(0.5), nn.Linear(f1, f2), nn.ReLU(inplace=True),
            nn.Dropout(0.5), nn.Linear(f2, num_classes),
        )
        self.register_forward_pre_hook(_check_input)

    def forward(self, x):
        return self.classifier(self.features(x))


MODELS = {"lenet5": LeNet5, "vgg": VGG, "resnet": ResNetCIFAR, "alexnet": AlexNetSmall}
ALIASES = {f"resnet{d}": ("resnet", {"depth": d}) for d in (20, 32, 56, 110)}
ALIASES.update({k: ("vgg", {"cfg": k}) for k in VGG_CFGS})


def names() -> list[str]:
    """Every name :func:`build` accepts."""
    return sorted(MODELS) + sorted(ALIASES)


def resolve(name: str, argument: str = "name") -> tuple[str, dict]:
    """``(key of MODELS, keyword arguments)`` that a model name stands for, case-insensitively (an alias such
    as ``"resnet20"`` → ``("resnet", {"depth": 20})``); a named error listing :func:`names` for any other."""
    if not isinstance(name, str):
        raise InvalidType(f"{argument} must be a model name (a string; known: {', '.join(names())}), got {name!r}")
    key = name.lower()
    key, extra = ALIASES.get(key, (key, {}))
    if key not in MODELS:
        raise InvalidArgument(f"unknown model {name!r}; known models: {', '.join(names())}")
    return key, dict(extra)


def build(name: str, num_classes: int = 10, in_channels: int = 3, image_size: int = 32,
          **kw) -> nn.Module:
    """Build a model by name, e.g. ``build("resnet20", 10, 3)`` or ``build("vgg", cfg="vgg11", width=0.5)``."""
    key, extra = resolve(name)
    kw = {**extra, **kw}
    _check_common(num_classes, in_channels, image_size)
    try:
        return MODELS[key](num_classes=num_classes, in_channels=in_channels, image_size=image_size, **kw)
    except TypeError as e:
        if isinstance(e, InvalidType):
            raise
        raise InvalidType(f"bad arguments for model {name!r}: {e}") from e


def is_shortcut(name: str, module: nn.Module) -> bool:
    """True for residual shortcut/projection convs (excluded from regularization by default)."""
    return "shortcut" in name or "downsample" in name
