"""Nothing silently wrong (issue 13): bad inputs raise named errors, damaged files are never trusted.

1. A table of bad arguments (one row: function, keyword arguments, expected error type, a regex the
   message must match, which names the argument) over the public functions of data, models,
   regularizers, prox, train, experiments, prune, measure, widgets and the notebook runner: each
   argument wrong in type, out of range, NaN/inf, empty. Every row must raise an
   :class:`hgsr.errors.HgsrError` of the expected type whose message names the argument.
2. Property tests (hypothesis) of the same rules over generated values.
3. One test per reproduction of an earlier probe, named after what it checks.
4. Fault tests: half-written and same-size-corrupted checkpoint.pt, result.pt, compact files and
   dataset cache files: the run recomputes, nothing wrong is returned or cached.

Tiny models and the ``synthetic`` dataset only (plus a generated 20-image MNIST for the unpacked
files), so the file runs in seconds.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from hgsr import data as hdata
from hgsr import errors, experiments, groups, measure, models, prox, train, widgets
from hgsr import prune as P
from hgsr import regularizers as R
from hgsr.errors import CheckpointMismatch, CorruptFile, HgsrError, InvalidArgument, InvalidType
from hgsr.suite import run_notebooks

IA, IT = InvalidArgument, InvalidType
NAN, INF = float("nan"), float("inf")
SHAPE = (1, 16, 16)
WIDTHS = (4, 8, 16)
BUILDER = {"name": "lenet5", "num_classes": 4, "in_channels": 1, "image_size": 16, "widths": WIDTHS}
HYP = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# --------------------------------------------------------------------------- shared tiny objects
@functools.lru_cache(maxsize=None)
def ds() -> hdata.Dataset:
    return hdata.load("synthetic").subset(64, 32)


def lenet(batchnorm: bool = False) -> nn.Module:
    torch.manual_seed(0)
    return models.build("lenet5", 4, 1, 16, widths=WIDTHS, batchnorm=batchnorm)


@functools.lru_cache(maxsize=None)
def net() -> nn.Module:
    return lenet()


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(256, 16), nn.ReLU(), nn.Linear(16, 4))


@functools.lru_cache(maxsize=None)
def scores() -> pd.DataFrame:
    return P.magnitude_scores(net(), SHAPE)


def empty_ds() -> hdata.Dataset:
    d = ds()
    return hdata.Dataset("synthetic", d.train_x[:0], d.train_y[:0], d.test_x, d.test_y, d.classes)


def tiny_config(**kw) -> experiments.Config:
    base = dict(dataset="synthetic", model="lenet5", model_kw={"widths": WIDTHS}, train_subset=64,
                test_subset=32, epochs=1, batch_size=32, lr=0.05, profile="smoke")
    return experiments.Config(**{**base, **kw})


# --------------------------------------------------------------------------- bad values per kind
def bad_int(optional=False, minimum=1):
    """(value, error) pairs for an integer argument >= ``minimum`` (None allowed when optional)."""
    out = [(minimum - 1, IA), (-5, IA), (2.5, IT), (True, IT), ("3", IT), (NAN, IT)]
    if minimum - 1 == -5:
        out = out[1:]
    return out if optional else out + [(None, IT)]


def bad_nonneg(optional=False):
    out = [(-1.0, IA), (NAN, IA), (INF, IA), ("1e-3", IT), (True, IT)]
    return out if optional else out + [(None, IT)]


def bad_positive():
    return [(0, IA), (-1.0, IA), (NAN, IA), (INF, IA), ("1", IT), (True, IT)]


def bad_fraction():
    return [(-0.1, IA), (1.5, IA), (NAN, IA), ("0.5", IT), (True, IT)]


def bad_bool():
    return [("yes", IT), (1, IT), (None, IT)]


ROWS: list = []


def rows(fid: str, fn, arg: str, bads, pattern: str | None = None, base: dict | None = None):
    """Add one table row per bad value of ``arg`` for ``fn(**{**base, arg: value})``."""
    for value, exc in bads:
        kw = {**(base or {}), arg: value}
        ROWS.append(pytest.param(fn, kw, exc, pattern or re.escape(arg), id=f"{fid}-{arg}={value!r}"[:90]))


def one(fid: str, fn, exc, pattern: str, **kw):
    ROWS.append(pytest.param(fn, kw, exc, pattern, id=fid))


# ---- data
def _load(**kw):
    return hdata.load(**{"name": "synthetic", **kw})


rows("data.load", _load, "name", [(None, IT), (5, IT), ("imagenet", IA), ("", IA)],
     pattern=r"name|dataset")
rows("data.load", _load, "download", bad_bool())
rows("data.load", _load, "cache", [(1, IT), ("no", IT)])
rows("data.load", _load, "root", [(5, IT), ("", IA)])
rows("Dataset.subset", lambda **kw: ds().subset(**kw), "train", bad_int(optional=True))
rows("Dataset.subset", lambda **kw: ds().subset(**kw), "test", [(0, IA), (2.5, IT), ("8", IT)])
rows("Dataset.subset", lambda **kw: ds().subset(**kw), "seed", bad_int(minimum=0))
rows("stratified_indices", lambda **kw: hdata.stratified_indices(**{"y": ds().train_y, "n": 8, **kw}), "n",
     [(0, IA), (-3, IA), (1.5, IT), ("8", IT)])
rows("stratified_indices", lambda **kw: hdata.stratified_indices(**{"y": ds().train_y, "n": 8, **kw}), "y",
     [([0, 1, 2], IT)])


def _batches(**kw):
    d = ds()
    args = {"x": d.train_x, "y": d.train_y, "batch_size": 8, "mean": d.mean, "std": d.std, **kw}
    return next(hdata.batches(**args))


rows("data.batches", _batches, "batch_size", bad_int())
rows("data.batches", _batches, "mean", [((NAN,), IA), ((0.5, 0.5), IA), ("0.5", IT), ((INF,), IA)])
rows("data.batches", _batches, "std", [((0.0,), IA), ((-1.0,), IA), ((INF,), IA), (("1",), IT)])
rows("data.batches", _batches, "shuffle", [("yes", IT)])
rows("data.batches", _batches, "x", [(torch.zeros(3, 3), IA), ([1, 2], IT)])
rows("data.augment", lambda **kw: hdata.augment(**{"x": ds().train_x[:4], **kw}), "pad",
     [(-1, IA), (1.5, IT), (True, IT)])
rows("data.augment", lambda **kw: hdata.augment(**{"x": ds().train_x[:4], **kw}), "flip", [("yes", IT)])
rows("data.Augment", lambda **kw: hdata.Augment(**kw), "pad", [(-2, IA), ("4", IT)])
rows("data.normalize", lambda **kw: hdata.normalize(**{"x": ds().train_x[:2], "mean": (0.5,), "std": (0.25,), **kw}),
     "std", [((0,), IA), ((NAN,), IA)])

# ---- models
def _build(**kw):
    return models.build(**{**BUILDER, **kw})


rows("models.build", _build, "name", [(None, IT), ("lenet6", IA), (5, IT)], pattern=r"name|model")
rows("models.build", _build, "num_classes", bad_int())
rows("models.build", _build, "in_channels", bad_int())
rows("models.build", _build, "image_size", bad_int() + [(4, IA)])
rows("models.build", _build, "widths", [((4, 8), IA), ((4, 0, 16), IA), ((4, 8.5, 16), IT), ("abc", IT),
                                        (None, IT)])
rows("models.build", _build, "batchnorm", bad_bool())
rows("models.build vgg", lambda **kw: models.build("vgg11", **kw), "width", bad_positive())
rows("models.build vgg", lambda **kw: models.build("vgg", **kw), "cfg", [("vgg99", IA), ([], IT), ([8, "X"], IT)])
rows("models.build resnet", lambda **kw: models.build("resnet", **kw), "depth", [(21, IA), ("20", IT), (2.5, IT)])
rows("models.build resnet", lambda **kw: models.build("resnet20", **kw), "width", [(0, IA), (-1, IA), (NAN, IA)])
rows("models.build resnet", lambda **kw: models.build("resnet20", **kw), "mid_widths", [([1, 2], IA), ([0] * 9, IA)])
rows("models.build resnet", lambda **kw: models.build("resnet20", **kw), "stage_widths", [((16, 16, 32), IA)])
one("lenet5-wrong-image-size", lambda: net()(torch.zeros(2, 1, 28, 28)), IA, "image_size")
one("lenet5-wrong-channels", lambda: net()(torch.zeros(2, 3, 16, 16)), IA, "in_channels")

# ---- regularizers
LAM_KEYS = ("l1", "l2", "group_lasso", "hsq_gl12", "prox_l1", "l1_over_l2", "nonconvex_sgl", "slimming")
for key in LAM_KEYS:
    rows(f"R.build {key}", functools.partial(R.build, key), "lam", bad_nonneg())
rows("R.build", lambda **kw: R.build(**kw), "key", [(5, IT), ("nope", IA), (["l1"], IT)],
     pattern=r"regularizer")
one("R.build-unknown-param", lambda: R.build("l1", lam=1e-3, lamb=1.0), IT, "lamb")
NSGL = functools.partial(R.build, "nonconvex_sgl", lam=0.1)
rows("nonconvex_sgl", NSGL, "beta", [(0, IA), (-1, IA), (NAN, IA), ("2", IT)])
rows("nonconvex_sgl", NSGL, "alpha", [(0, IA), (1.5, IA), (NAN, IA), ("0.5", IT)])
rows("nonconvex_sgl", NSGL, "period", [(0, IA), (1.5, IT), (True, IT)])
rows("nonconvex_sgl", NSGL, "growth", [(0.5, IA), (NAN, IA), ("2", IT)])
rows("nonconvex_sgl", NSGL, "n_train", [(0, IA), (2.5, IT)])
rows("nonconvex_sgl", NSGL, "R", [("scad", IA), (None, IA)])
rows("nonconvex_sgl", NSGL, "a", [(0, IA), (-1, IA)])
GL = functools.partial(R.build, "group_lasso", lam=0.1)
rows("group_lasso", GL, "size_weighted", [("no", IT), (1, IT)])
rows("group_lasso", GL, "group", [("row", IA)])
rows("group_lasso", GL, "eps", [(0, IA), (-1, IA), (NAN, IA)])
rows("group_lasso", GL, "predicate", [(3, IT), ("conv", IT)])
for shape in ("list", "dict"):
    def _spec(weight, shape=shape):
        part = {"key": "l1", "lam": 1e-3, "weight": weight}
        return R.from_spec([part] if shape == "list" else part)
    rows(f"from_spec {shape}", _spec, "weight", bad_nonneg())
rows("from_spec", lambda **kw: R.from_spec(**kw), "spec", [(5, IT), ([], IA), ({"lam": 1.0}, IA), ([5], IT)],
     pattern=r"spec")
one("Combined-negative-weight", lambda: R.Combined([(-1.0, R.Regularizer())]), IA, "weight")
one("Combined-not-a-pair", lambda: R.Combined([(1.0, "l1")]), IT, "parts")

# ---- groups (a conv weight is (O, I, kh, kw), or a stack (L, O, I, kh, kw))
for fname in ("kernel_l1", "kernel_l2", "filter_l2", "channel_l2", "shape_l2", "layer_l2"):
    one(f"groups.{fname}-linear-weight", functools.partial(getattr(groups, fname), torch.ones(4, 8)), IA,
        r"W must be a conv weight \(O, I, kh, kw\).*got shape \(4, 8\)")
one("groups.group_size-linear-weight", lambda: groups.group_size(torch.ones(4, 8), "filter"), IA,
    r"W must be a conv weight \(O, I, kh, kw\).*got shape \(4, 8\)")
one("groups.group_size-not-a-tensor", lambda: groups.group_size([[1.0]], "filter"), IT, r"W must be a conv weight")
one("groups.group_norms-unknown-kind", lambda: groups.group_norms(torch.ones(2, 2, 3, 3), "row"), IA,
    r"unknown group kind 'row'; valid: filter")

# ---- prox
Y = torch.linspace(-2, 2, 9)
rows("prox.soft_threshold", lambda **kw: prox.soft_threshold(**{"y": Y, **kw}), "t", bad_nonneg(),
     pattern="threshold t")
rows("prox.soft_threshold", lambda **kw: prox.soft_threshold(**{"t": 0.1, **kw}), "y",
     [([1.0, 2.0], IT), (torch.arange(3), IT)])
rows("prox.hard_threshold", lambda **kw: prox.hard_threshold(**{"y": Y, **kw}), "t",
     [(NAN, IA), (-1.0, IA), (torch.tensor([-1.0]), IA)], pattern="threshold t")
rows("prox.tl1_prox", lambda **kw: prox.tl1_prox(**{"y": Y, "t": 0.1, **kw}), "a", bad_positive())
rows("prox.tl1_prox", lambda **kw: prox.tl1_prox(**{"y": Y, **kw}), "t", [(-1.0, IA), (torch.ones(3), IT)],
     pattern="threshold t")
rows("prox.tl1_threshold", lambda **kw: prox.tl1_threshold(**{"t": 0.1, **kw}), "a", [(0, IA), ("1", IT)])
rows("prox.l1_minus_l2_prox", lambda **kw: prox.l1_minus_l2_prox(**{"y": Y, "t": 0.1, **kw}), "alpha",
     [(0, IA), (1.5, IA), (NAN, IA), ("0.5", IT)])
rows("prox.group_soft_threshold", lambda **kw: prox.group_soft_threshold(**{"y": torch.ones(2, 3), "t": 0.1, **kw}),
     "dim", [(5, IA), ("x", IT), ((0, 0), IA), (1.5, IT)])
rows("prox.sparse_group_prox", lambda **kw: prox.sparse_group_prox(**{"y": Y, "t1": 0.1, "t2": 0.1, "dim": 0, **kw}),
     "t2", [(NAN, IA), (-1.0, IA)], pattern="threshold t")

# ---- train
def _evaluate(**kw):
    return train.evaluate(**{"model": net(), "ds": ds(), **kw})


def _fit(**kw):
    return train.fit(**{"model": lenet(), "ds": ds(), "progress": False, **kw})


rows("train.evaluate", _evaluate, "split", [("val", IA), ("Test", IA), (None, IA), (1, IA)])
rows("train.evaluate", _evaluate, "batch_size", bad_int())
rows("train.evaluate", _evaluate, "ds", [("synthetic", IT)])
rows("train.evaluate", _evaluate, "model", [("lenet5", IT)])
rows("train.evaluate", _evaluate, "device", [("gpu0", IA), (5, IT)])
rows("train.fit", _fit, "epochs", bad_int())
rows("train.fit", _fit, "lr", [(-1.0, IA), (NAN, IA), (INF, IA), ("1e-3", IT), (True, IT)])
rows("train.fit", _fit, "batch_size", bad_int())
rows("train.fit", _fit, "eval_every", bad_int())
rows("train.fit", _fit, "schedule", [(("step", 0, 0.1), IA), (("step", 1, 0.0), IA), (("step", 1.5, 0.1), IT),
                                     ("warmup", IA), (("step",), IA)], pattern="schedule")
rows("train.fit", _fit, "optimizer", [("lion", IA), (None, IA), ("SGD", IA)])
rows("train.fit", _fit, "momentum", [(-0.1, IA), (1.0, IA), (NAN, IA), ("0.9", IT)])
rows("train.fit", _fit, "weight_decay", [(-1.0, IA), (NAN, IA), ("0", IT)])
rows("train.fit", _fit, "seed", [(-1, IA), (1.5, IT), (True, IT)])
rows("train.fit", _fit, "sparsity_tol", [(-1.0, IA), (NAN, IA), ("1e-3", IT)])
rows("train.fit", _fit, "regularizer", [("l1", IT), (5, IT)])
rows("train.fit", _fit, "augment", [("yes", IT)])
rows("train.fit", _fit, "checkpoint", [(5, IT), ("", IA)])
rows("train.fit", _fit, "progress", [("no", IT)])
rows("train.fit", _fit, "ds", [(None, IT)])
one("train.fit-empty-train-split", lambda: _fit(ds=empty_ds()), IA, r"ds has an empty train split")
one("train.fit-model-for-other-images", lambda: _fit(model=models.build("lenet5", 4, 1, 28)), IA, r"model .*ds")
one("train.fit-model-for-other-classes", lambda: _fit(model=models.build("lenet5", 10, 1, 16)), IA,
    r"model .*num_classes=4")
rows("train.make_optimizer", lambda **kw: train.make_optimizer(**{"model": net(), **kw}), "optimizer", [("lion", IA)])
rows("train.make_schedule", lambda **kw: train.make_schedule(**{"opt": train.make_optimizer(net()), "schedule": "cosine",
                                                                 **kw}), "epochs", [(0, IA), (1.5, IT)])

# ---- experiments
rows("Config", tiny_config, "dataset", [(5, IT), (None, IT), ("", IA), ("mnst", IA)], pattern=r"dataset")
rows("Config", tiny_config, "model", [(5, IT), (None, IT), ("lenet6", IA)], pattern=r"model")
rows("Config", tiny_config, "model_kw", [([1], IT)])
rows("Config", tiny_config, "train_subset", bad_int(optional=True))
rows("Config", tiny_config, "epochs", bad_int())
rows("Config", tiny_config, "batch_size", [(0, IA), (2.5, IT)])
rows("Config", tiny_config, "lr", [(-1.0, IA), (NAN, IA), ("0.1", IT)])
rows("Config", tiny_config, "schedule", [(("step", 0, 0.1), IA), ("warm", IA)], pattern="schedule")
rows("Config", tiny_config, "augment", [("yes", IT)])
rows("Config", tiny_config, "seed", [(-1, IA), (0.5, IT)])
rows("Config", tiny_config, "regularizer", [({"key": "l1", "lam": -1.0}, IA), ({"key": "l1", "lam": "1e-3"}, IT)],
     pattern="lam")
rows("Config", tiny_config, "init_from", [("parent", IT)])
rows("Config", tiny_config, "profile", [("fast", IA), ("Smoke", IA), ("", IA), (5, IT), (None, IT)])
rows("experiments.profile", lambda **kw: experiments.profile(**kw), "name", [("nope", IA), (None, IA)],
     pattern="profile")
rows("experiments.recipe", lambda **kw: experiments.recipe(**kw), "task", [("nope", IA), (None, IA)])
rows("experiments.run", lambda **kw: experiments.run(**{"progress": False, **kw}), "config", [("cfg", IT)])
rows("experiments.cached", lambda **kw: experiments.cached(**{"name": "x", "params": {}, "compute": int, **kw}),
     "name", [(5, IT), ("", IA)])
rows("experiments.cached", lambda **kw: experiments.cached(**{"name": "x", "params": {}, "compute": int, **kw}),
     "compute", [(5, IT)])

# ---- prune
def _prune(**kw):
    return P.prune(**{"model": net(), "plan": {"features.0": [1]}, "input_shape": SHAPE, **kw})


one("prune.magnitude_scores-no-convs", lambda: P.magnitude_scores(mlp(), SHAPE), P.UnsupportedModel, r"model")
one("prune.bn_gamma_scores-no-bn", lambda: P.bn_gamma_scores(net(), SHAPE), IA, r"features\.0.*BatchNorm")
rows("prune.select", lambda **kw: P.select(**{"scores": scores(), **kw}), "fraction", bad_fraction())
rows("prune.select", lambda **kw: P.select(**{"scores": scores(), **kw}), "threshold", [(NAN, IA), ("1", IT)])
rows("prune.select", lambda **kw: P.select(**{"scores": scores(), "fraction": 0.2, **kw}), "scope",
     [("x", IA), (None, IA)])
rows("prune.select", lambda **kw: P.select(**{"scores": scores(), "fraction": 0.2, **kw}), "on_empty", [("x", IA)])
rows("prune.select", lambda **kw: P.select(**{"fraction": 0.2, **kw}), "scores",
     [("x", IT), (pd.DataFrame({"group": [], "channel": [], "score": []}), IA)])
rows("prune.select", lambda **kw: P.select(**{"scores": scores(), "fraction": 0.2, **kw}), "score_col",
     [("nope", IA), (5, IT)], pattern="nope|score_col")
rows("prune.prune", _prune, "plan", [({"features.0": [1.7]}, IT), ({"features.0": "01"}, IT),
                                     ({"features.0": [True]}, IT), ({"features.0": [-1]}, IA),
                                     ({"features.0": [99]}, IA), ({"features.0": [1, 1]}, IA),
                                     ({"features.0": 1}, IT), ([1], IT), ({5: [1]}, IT),
                                     ({"features.0": torch.tensor([1.0])}, IT), ({"nope": [1]}, IA)],
     pattern="plan")
one("prune.prune-empties-layer", lambda: _prune(plan={"features.0": [0, 1, 2, 3]}), P.EmptyLayerError, "features.0")
rows("prune.prune", _prune, "fold", [("x", IA), (None, IA)])
rows("prune.prune", _prune, "input_shape", [((1, 16), IA), ((0, 16, 16), IA), ("abc", IT), ((1, 16.0, 16), IT)])
rows("prune.prune", _prune, "model", [("lenet5", IT)])
rows("prune.compact_size", lambda **kw: P.compact_size(**{"model": net(), "input_shape": SHAPE, **kw}), "plan",
     [({"features.0": [0.5]}, IT)])
rows("prune.zero_plan", lambda **kw: P.zero_plan(**{"model": net(), "input_shape": SHAPE, **kw}), "tol",
     bad_nonneg())
rows("prune.zero_plan", lambda **kw: P.zero_plan(**{"model": net(), "input_shape": SHAPE, **kw}), "rel",
     bad_nonneg(optional=True))
rows("prune.masks_from_zero", lambda **kw: P.masks_from_zero(**{"model": net(), **kw}), "tol", bad_nonneg())
rows("prune.masks_from_zero", lambda **kw: P.masks_from_zero(**{"model": net(), **kw}), "kinds",
     [(("column",), IA), ("filter", IT), (None, IT)])
rows("prune.masks_from_zero", lambda **kw: P.masks_from_zero(**{"model": net(), **kw}), "affine", [("yes", IT)])
rows("prune.masks_from_zero", lambda **kw: P.masks_from_zero(**kw), "model", [("lenet5", IT)])
rows("prune.zero_structure", lambda **kw: P.zero_structure(**{"model": net(), "input_shape": SHAPE, **kw}), "tol",
     [(NAN, IA), (-0.5, IA)])
rows("prune.save_compact", lambda **kw: P.save_compact(**{"model": net(), "path": "/nonexistent/x.pt",
                                                          "builder": BUILDER, **kw}),
     "builder", [({}, IA), ("lenet5", IT), ({"name": "lenet6"}, IA)], pattern="builder|lenet6")
rows("prune.save_compact", lambda **kw: P.save_compact(**{"model": net(), "path": "/nonexistent/x.pt",
                                                          "builder": BUILDER, **kw}), "path", [(5, IT)])
rows("prune.load_compact", lambda **kw: P.load_compact(**kw), "path", [(None, IT), (3.5, IT)])
rows("prune.iterative_prune", lambda **kw: P.iterative_prune(**{"model": net(), "ds": ds(), "input_shape": SHAPE,
                                                                  "scorer": "magnitude", **kw}),
     "rounds", [(0, IA), (1.5, IT)])
rows("prune.iterative_prune", lambda **kw: P.iterative_prune(**{"model": net(), "ds": ds(), "input_shape": SHAPE,
                                                                  "scorer": "magnitude", **kw}),
     "fraction", [(1.5, IA), (NAN, IA)])
rows("prune.iterative_prune", lambda **kw: P.iterative_prune(**{"model": net(), "ds": ds(), "input_shape": SHAPE,
                                                                  **kw}), "scorer", [("x", IA), (None, IA)],
     pattern="criterion")
rows("prune.loss_increase_scores", lambda **kw: P.loss_increase_scores(**{"model": net(), "ds": ds(), **kw}),
     "n_samples", [(0, IA), (-1, IA), (1.5, IT)])
rows("prune.loss_increase_scores", lambda **kw: P.loss_increase_scores(**{"model": net(), "ds": ds(), **kw}),
     "batch_size", [(0, IA)])
rows("prune.loss_increase_scores", lambda **kw: P.loss_increase_scores(**{"model": net(), "ds": ds(), **kw}),
     "channels", [({"features.0": [1.7]}, IT), ("features.0", IT)])
rows("prune.loss_increase_scores", lambda **kw: P.loss_increase_scores(**{"model": net(), "ds": ds(), **kw}),
     "channels", [({"nope": [0]}, P.UnknownGroup), (["nope"], P.UnknownGroup)],
     pattern=r"unknown group 'nope'; prunable groups: features\.0, features\.2")

# ---- measure
rows("measure.count_params", lambda **kw: measure.count_params(**kw), "model", [("lenet5", IT)])
rows("measure.count_macs", lambda **kw: measure.count_macs(**{"model": net(), **kw}), "input_shape",
     [((3, 32), IA), ("abc", IT), ((0, 16, 16), IA), ((1, 16.5, 16), IT)])
rows("measure.sparsity_table", lambda **kw: measure.sparsity_table(**{"model": net(), **kw}), "tol", bad_nonneg())
rows("measure.sparsity_table", lambda **kw: measure.sparsity_table(**{"model": net(), **kw}), "rel",
     [(-1.0, IA), (NAN, IA)])
rows("measure.sparsity_table", lambda **kw: measure.sparsity_table(**{"model": net(), **kw}), "predicate", [(3, IT)])
one("measure.sparsity_table-no-convs", lambda: measure.sparsity_table(mlp()), IA, r"model .*no target conv")
rows("measure.weight_sparsity", lambda **kw: measure.weight_sparsity(**{"model": net(), **kw}), "tol",
     [(NAN, IA), (-1.0, IA)])
rows("measure.latency", lambda **kw: measure.latency(**{"model": net(), "input_shape": SHAPE, **kw}), "repeats",
     [(0, IA)])
rows("measure.latency", lambda **kw: measure.latency(**{"model": net(), "input_shape": SHAPE, **kw}), "batch",
     [(0, IA), (1.5, IT)])
rows("measure.latency", lambda **kw: measure.latency(**{"model": net(), "input_shape": SHAPE, **kw}), "threads",
     [(0, IA)])

# ---- widgets
rows("widgets.thresholding_playground", lambda **kw: widgets.thresholding_playground(**kw), "lam",
     [(0, IA), (-1.0, IA), (NAN, IA), (100.0, IA), ("1", IT)])
rows("widgets.thresholding_playground", lambda **kw: widgets.thresholding_playground(**kw), "a", [(0, IA), (1e4, IA)])
rows("widgets.thresholding_playground", lambda **kw: widgets.thresholding_playground(**kw), "alpha",
     [(0, IA), (2.0, IA), (NAN, IA)])
FNE = lambda **kw: widgets.filter_norm_explorer(**{"runs": {"a": net()}, "input_shape": SHAPE, **kw})  # noqa: E731
rows("widgets.filter_norm_explorer", FNE, "runs", [({}, IA), ([net()], IT), ({"a": 5}, IT), ({5: net()}, IT)])
rows("widgets.filter_norm_explorer", FNE, "tol", [(0, IA), (-1.0, IA), (NAN, IA), (100.0, IA), ("1e-3", IT)])
rows("widgets.filter_norm_explorer", FNE, "input_shape", [((1, 16), IA)])
rows("widgets.filter_norm_explorer", FNE, "rel", [(-1.0, IA)])
rows("widgets.sparsity_pattern_viewer", lambda **kw: widgets.sparsity_pattern_viewer(**{"runs": {"a": net()}, **kw}),
     "tol", [(-1.0, IA), (NAN, IA)])
PE = lambda **kw: widgets.pruning_explorer(**{"model": net(), "scores_df": scores(), "input_shape": SHAPE, **kw})  # noqa: E731
rows("widgets.pruning_explorer", PE, "fraction", [(1.5, IA), (-0.1, IA), (NAN, IA)])
rows("widgets.pruning_explorer", PE, "scope", [("x", IA)])
rows("widgets.pruning_explorer", PE, "scores_df", [("x", IT), (pd.DataFrame(), IA)])

# ---- notebook runner
rows("run_notebooks.notebook_paths", lambda **kw: run_notebooks.notebook_paths(**kw), "only",
     [(["0"], IA), ([], IA), (["3"], IA), ("03", IT), (["99"], IA), ([3], IA)])


@pytest.mark.parametrize("fn, kwargs, exc, pattern", ROWS)
def test_bad_input_raises_a_named_error(fn, kwargs, exc, pattern):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc, match=pattern) as info:
            fn(**kwargs)
    assert isinstance(info.value, HgsrError), f"{type(info.value).__name__} is not an hgsr.errors.HgsrError"


def test_the_table_is_large_enough():
    assert len(ROWS) >= 150, len(ROWS)


@pytest.mark.parametrize("cls, builtin", [
    (hdata.DatasetNotFound, FileNotFoundError), (hdata.CorruptArchive, ValueError),
    (train.NonFiniteLoss, FloatingPointError), (P.ArchitectureMismatch, ValueError),
    (P.EmptyLayerError, ValueError), (P.UnsupportedModel, ValueError), (CheckpointMismatch, ValueError),
    (P.UnknownGroup, KeyError), (P.UnknownGroup, ValueError),
    (CorruptFile, ValueError), (IA, ValueError), (IT, TypeError)])
def test_every_named_error_is_an_hgsr_error_and_keeps_its_builtin_base(cls, builtin):
    assert issubclass(cls, HgsrError) and issubclass(cls, builtin)


def test_one_place_for_each_check():
    from hgsr.regularizers import common

    for name in ("check_nonneg", "check_positive", "check_choice", "check_predicate"):
        assert getattr(common, name) is getattr(errors, name)


# --------------------------------------------------------------------------- properties (hypothesis)
not_numbers = st.one_of(st.text(max_size=5), st.booleans(), st.none(), st.lists(st.integers(), max_size=2),
                        st.dictionaries(st.text(max_size=2), st.integers(), max_size=1))


@HYP
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_check_nonneg_accepts_exactly_finite_nonnegative_floats(x):
    if math.isfinite(x) and x >= 0:
        assert errors.check_nonneg("lam", x) == x
    else:
        with pytest.raises(IA, match="lam"):
            errors.check_nonneg("lam", x)


@HYP
@given(not_numbers)
def test_no_coercion_of_non_numbers(x):
    for check in (errors.check_nonneg, errors.check_positive, errors.check_fraction, errors.check_real):
        with pytest.raises(IT, match="weight"):
            check("weight", x)
    with pytest.raises(IT, match="batch_size"):
        errors.check_int("batch_size", x, 1)


@functools.lru_cache(maxsize=None)
def net_groups():
    return P.prunable_groups(net(), SHAPE)


@HYP
@given(st.floats(allow_nan=True) | not_numbers.filter(lambda v: v is not None))
def test_non_integers_are_never_subset_sizes_or_channels(x):
    with pytest.raises(IT, match="train"):
        ds().subset(train=x)
    with pytest.raises(IT, match="plan"):
        P.validate_plan(net_groups(), {"features.0": [x]})


@HYP
@given(st.floats(max_value=-1e-12) | st.just(NAN) | st.just(INF))
def test_bad_spec_weights_are_named(w):
    with pytest.raises(IA, match="weight"):
        R.from_spec([{"key": "l1", "lam": 1e-3, "weight": w}])


@HYP
@given(st.floats(allow_nan=True, allow_infinity=True, width=32))
def test_prox_thresholds_either_work_or_raise(t):
    y = torch.linspace(-3, 3, 13)
    if math.isfinite(t) and t >= 0:
        for out in (prox.soft_threshold(y, t), prox.hard_threshold(y, t), prox.tl1_prox(y, t)):
            assert torch.isfinite(out).all()
    else:
        with pytest.raises(IA, match="threshold t"):
            prox.soft_threshold(y, t)


@HYP
@given(st.text(min_size=1, max_size=8).filter(lambda s: s.lower().replace("-", "_") not in
                                                  hdata.NAMES + ("fashionmnist",)))
def test_unknown_dataset_names_are_named(name):
    with pytest.raises(IA, match="dataset"):
        hdata.load(name)


@HYP
@given(st.lists(st.sampled_from(["0", "3", "9", "1", "007", "00_x", "abc", ""]), max_size=3))
def test_notebook_selection_never_falls_back_to_all(only):
    try:
        chosen = run_notebooks.notebook_paths(only)
    except IA as e:
        assert "only" in str(e) and "00, 01" in str(e)
    else:   # pragma: no cover - none of the generated entries names a notebook
        assert len(chosen) == len(set(only)) and only


# --------------------------------------------------------------------------- the probe's reproductions
def test_evaluate_rejects_a_split_that_is_not_train_or_test():
    for split in ("val", "Test", "TRAIN"):
        with pytest.raises(IA, match=r"split.*valid: train, test"):
            train.evaluate(net(), ds(), split=split)
    assert train.evaluate(net(), ds(), split="train") != train.evaluate(net(), ds(), split="test")


def test_a_checkpoint_written_with_other_arguments_is_refused(tmp_path):
    ck = tmp_path / "ck.pt"
    kw = dict(ds=ds(), checkpoint=ck, progress=False, batch_size=32)
    train.fit(lenet(), epochs=2, lr=0.05, _stop_after=1, **kw)
    with pytest.raises(CheckpointMismatch, match=r"epochs=2.*epochs=3.*delete the checkpoint"):
        train.fit(lenet(), epochs=3, lr=0.05, **kw)
    with pytest.raises(CheckpointMismatch, match=r"lr=0.05.*lr=0.5"):
        train.fit(lenet(), epochs=2, lr=0.5, **kw)
    with pytest.raises(CheckpointMismatch, match=r"regularizer"):
        train.fit(lenet(), epochs=2, lr=0.05, regularizer=R.build("l1", lam=1e-3), **kw)
    h = train.fit(lenet(), epochs=2, lr=0.05, **kw)              # same arguments: resumes
    assert h.epoch.tolist() == [1, 2]
    full = train.fit(lenet(), ds(), epochs=2, lr=0.05, batch_size=32, progress=False)
    assert h.train_loss.tolist() == pytest.approx(full.train_loss.tolist(), rel=1e-6)


def test_experiments_discard_a_stale_checkpoint():
    cfg = tiny_config(epochs=2)
    folder = experiments.runs_dir() / cfg.hash()
    folder.mkdir(parents=True)
    train.fit(lenet(), ds(), epochs=5, lr=0.05, batch_size=32, checkpoint=folder / "checkpoint.pt",
              progress=False, _stop_after=1)                       # a checkpoint of other arguments
    with pytest.warns(UserWarning, match="checkpoint.pt"):
        run = experiments.run(cfg, progress=False)
    assert run.history.epoch.tolist() == [1, 2]


def test_a_diverging_run_is_never_cached():
    cfg = tiny_config(lr=1e6)
    with pytest.raises(train.NonFiniteLoss, match=rf"run {cfg.hash()}.*nothing cached"):
        experiments.run(cfg, progress=False)
    assert not (experiments.runs_dir() / cfg.hash() / "result.pt").exists()


def test_nonfinite_weights_after_an_epoch_stop_training():
    class PoisonAfterStep(R.Regularizer):
        def after_step(self, model, lr):
            with torch.no_grad():
                model.classifier[3].bias.fill_(INF)

    with pytest.raises(train.NonFiniteLoss, match="classifier.3.bias|test loss"):
        train.fit(lenet(), ds(), epochs=1, batch_size=64, regularizer=PoisonAfterStep(), progress=False)


# a 20-image MNIST in torchvision's layout, written for the test (the real one needs 50 MB of reads)
def _idx(kind: str, arr: np.ndarray) -> bytes:
    magic = 0x0801 if kind == "labels" else 0x0803
    dims = b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return magic.to_bytes(4, "big") + dims + arr.astype(np.uint8).tobytes()


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    raw = tmp_path / "root" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    truth, md5s, shas = {}, {}, {}
    for split, n in (("train", 20), ("t10k", 10)):
        imgs, labels = rng.integers(0, 256, (n, 28, 28)), rng.integers(0, 10, n)
        truth[split] = labels
        for kind, arr in (("images", imgs), ("labels", labels)):
            name = f"{split}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
            blob = _idx(kind, arr)
            shas[name] = hashlib.sha256(blob).hexdigest()
            (raw / f"{name}.gz").write_bytes(gzip.compress(blob, mtime=0))
            md5s[f"{name}.gz"] = hashlib.md5((raw / f"{name}.gz").read_bytes()).hexdigest()
    monkeypatch.setitem(hdata.TV_ARCHIVES, "mnist", ("MNIST", md5s))
    monkeypatch.setitem(hdata.UNPACKED_SHA256, "mnist", shas)
    monkeypatch.setenv("HGSR_CACHE", str(tmp_path / "cache"))
    return tmp_path / "root", tmp_path / "cache", truth


def test_corrupted_unpacked_dataset_files_are_unpacked_again(fake_mnist):
    root, cache, truth = fake_mnist
    first = hdata.load("mnist", root=root, download=False)
    assert first.test_y.tolist() == truth["t10k"].tolist()
    labels = cache / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    blob = bytearray(labels.read_bytes())
    for i in range(8, len(blob)):
        blob[i] = (blob[i] + 1) % 10                              # same size, every label wrong
    labels.write_bytes(bytes(blob))
    (cache / "mnist.pt").unlink()
    with pytest.warns(UserWarning, match="t10k-labels-idx1-ubyte fails its SHA-256"):
        again = hdata.load("mnist", root=root, download=False)
    assert again.test_y.tolist() == truth["t10k"].tolist()
    assert hdata.load("mnist", root=root, download=False).test_y.tolist() == truth["t10k"].tolist()  # cache


def test_a_truncated_unpacked_file_is_not_a_missing_dataset(fake_mnist):
    root, cache, truth = fake_mnist
    hdata.load("mnist", root=root, download=False)
    images = cache / "MNIST" / "raw" / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:100])
    (cache / "mnist.pt").unlink()
    with pytest.warns(UserWarning, match="train-images-idx3-ubyte"):
        again = hdata.load("mnist", root=root, download=False)
    assert again.train_y.tolist() == truth["train"].tolist() and again.train_x.shape == (20, 1, 28, 28)


@pytest.mark.parametrize("damage", ["truncate", "same-size"])
def test_the_dataset_cache_file_is_self_verifying(fake_mnist, damage):
    root, cache, truth = fake_mnist
    first = hdata.load("mnist", root=root, download=False)
    path = cache / "mnist.pt"
    _damage(path, damage)
    with pytest.warns(UserWarning, match=re.escape(str(path))):
        again = hdata.load("mnist", root=root, download=False)
    assert torch.equal(again.train_x, first.train_x) and torch.equal(again.test_y, first.test_y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                              # rebuilt: loads cleanly now
        assert torch.equal(hdata.load("mnist", root=root, download=False).train_x, first.train_x)


def test_regularizer_spec_weights_are_checked():
    for weight, exc in ((-5, IA), (NAN, IA), ("2", IT)):
        with pytest.raises(exc, match="weight"):
            R.from_spec([{"key": "l1", "lam": 1e-3, "weight": weight}])
    for lam, exc in (("1e-3", IT), (True, IT)):
        with pytest.raises(exc, match="lam"):
            R.from_spec({"key": "l1", "lam": lam})
    assert R.from_spec([{"key": "l1", "lam": 1e-3, "weight": 2}]).parts[0][0] == 2.0


@pytest.mark.parametrize("damage", ["truncate", "same-size"])
def test_a_damaged_checkpoint_is_recomputed(damage):
    cfg = tiny_config(epochs=2)
    clean = experiments.run(cfg, progress=False)
    folder = clean.path
    (folder / "result.pt").unlink()
    train.fit(lenet(), ds(), epochs=2, lr=0.05, batch_size=32, schedule="cosine", checkpoint=folder / "checkpoint.pt",
              progress=False, _stop_after=1)
    _damage(folder / "checkpoint.pt", damage)
    with pytest.warns(UserWarning, match=re.escape(str(folder / "checkpoint.pt"))):
        again = experiments.run(cfg, progress=False)
    assert again.metrics == clean.metrics
    assert again.history.drop(columns="seconds").equals(clean.history.drop(columns="seconds"))
    assert experiments.load_cached(folder / "result.pt") is not None


@pytest.mark.parametrize("damage", ["truncate", "same-size"])
def test_a_damaged_result_is_recomputed(damage):
    cfg = tiny_config()
    clean = experiments.run(cfg, progress=False)
    _damage(clean.path / "result.pt", damage)
    with pytest.warns(UserWarning, match=re.escape(str(clean.path / "result.pt"))):
        again = experiments.run(cfg, progress=False)
    assert again.metrics == clean.metrics
    for a, b in zip(clean.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert experiments.load_cached(clean.path / "result.pt")["metrics"] == clean.metrics


def test_a_cached_diverged_run_is_recomputed():
    cfg = tiny_config()
    clean = experiments.run(cfg, progress=False)
    blob = torch.load(clean.path / "result.pt", weights_only=False)
    blob["history"]["test_loss"][-1] = NAN
    torch.save(blob, clean.path / "result.pt")
    with pytest.warns(UserWarning, match="diverged"):
        again = experiments.run(cfg, progress=False)
    assert math.isfinite(again.history.test_loss.iloc[-1])


@pytest.mark.parametrize("damage", ["truncate", "same-size"])
def test_a_damaged_generic_cache_entry_is_recomputed(damage):
    calls = []

    def compute():
        calls.append(1)
        return {"x": torch.arange(1000.0)}
    first = experiments.cached("bad-inputs", {"a": 1}, compute)
    path = next(experiments.runs_dir().glob("bad-inputs-*/result.pt"))
    _damage(path, damage)
    with pytest.warns(UserWarning, match=re.escape(str(path))):
        again = experiments.cached("bad-inputs", {"a": 1}, compute)
    assert len(calls) == 2 and torch.equal(again["x"], first["x"])


def test_a_pruned_nonconvex_sgl_model_saves_and_loads(tmp_path):
    m = lenet()
    R.build("nonconvex_sgl", lam=0.3, beta=2.0).penalty(m)          # creates the hgsr_V buffers
    V0, V2 = m.features[0].hgsr_V.clone(), m.features[2].hgsr_V.clone()
    compact = P.prune(m, {"features.0": [1], "features.2": [0, 5]}, SHAPE)
    assert torch.equal(compact.features[0].hgsr_V, V0[[0, 2, 3]])
    assert torch.equal(compact.features[2].hgsr_V, V2[[1, 2, 3, 4, 6, 7]][:, [0, 2, 3]])
    back = P.load_compact(P.save_compact(compact, tmp_path / "c.pt", BUILDER))
    for (k, a), (k2, b) in zip(compact.state_dict().items(), back.state_dict().items()):
        assert k == k2 and torch.equal(a, b)


def test_degenerate_training_arguments_are_named():
    for kw, arg in ((dict(batch_size=-1), "batch_size"), (dict(batch_size=0), "batch_size"),
                    (dict(eval_every=0), "eval_every"), (dict(schedule=("step", 0, 0.5)), "schedule")):
        with pytest.raises(IA, match=arg):
            train.fit(lenet(), ds(), progress=False, **kw)
    with pytest.raises(IA, match="empty train split"):
        train.fit(lenet(), empty_ds(), progress=False)
    with pytest.raises(IA, match="empty test split"):
        d = ds()
        train.evaluate(net(), hdata.Dataset("synthetic", d.train_x, d.train_y, d.test_x[:0], d.test_y[:0], d.classes))


def test_models_without_convs_are_named_unprunable():
    with pytest.raises(P.UnsupportedModel, match="no prunable channels"):
        P.magnitude_scores(mlp(), SHAPE)
    assert len(P.magnitude_scores(mlp(), SHAPE, include_linear=True)) == 16
    h = train.fit(mlp(), ds(), epochs=1, batch_size=32, progress=False)
    assert math.isnan(h.weight_sparsity.iloc[-1]) and math.isfinite(h.test_loss.iloc[-1])


@pytest.mark.parametrize("damage", ["truncate", "same-size", "garbage"])
def test_corrupt_compact_files_name_their_path(tmp_path, damage):
    path = P.save_compact(lenet(), tmp_path / "c.pt", BUILDER)
    _damage(path, damage)
    with pytest.raises(CorruptFile, match=re.escape(str(path)) + ".*save the model again"):
        P.load_compact(path)


def test_an_unknown_compact_file_version_is_named(tmp_path):
    path = P.save_compact(lenet(), tmp_path / "c.pt", BUILDER)
    blob = torch.load(path, weights_only=False)
    blob["version"] = 99
    torch.save(blob, path)
    with pytest.raises(CorruptFile, match=re.escape(str(path)) + ".*version 99.*update hgsr"):
        P.load_compact(path)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        P.load_compact(tmp_path / "missing.pt")


def test_compact_round_trip_keeps_dtype_batchnorm_and_prune_info(tmp_path):
    m = lenet(batchnorm=True).double()
    m.features[1].eps, m.features[1].momentum = 1e-3, 0.3
    compact = P.prune(m, {"features.0": [2]}, SHAPE)
    back = P.load_compact(P.save_compact(compact, tmp_path / "c.pt", {**BUILDER, "batchnorm": True}))
    assert back.features[0].weight.dtype == torch.float64
    assert (back.features[1].eps, back.features[1].momentum) == (1e-3, 0.3)
    assert back.prune_info == compact.prune_info
    x = torch.randn(2, *SHAPE, dtype=torch.float64)
    assert torch.equal(back.eval()(x), compact.eval()(x))


def test_the_notebook_runner_checks_only(capsys):
    for argv in (["--only", "0"], ["--only"], ["--only", "3"]):
        with pytest.raises(SystemExit) as e:
            run_notebooks.main(argv)
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert "--only" in err and "00, 01, 02" in err
    assert [p.name[:2] for p in run_notebooks.notebook_paths(["03", "00_introduction"])] == ["00", "03"]


def test_no_silent_coercion_of_plans():
    with pytest.raises(IT, match=r"plan\['features.0'\] has channel 1.7"):
        _prune(plan={"features.0": [1.7]})
    with pytest.raises(IT, match=r"plan\['features.0'\] must be a list"):
        _prune(plan={"features.0": "01"})
    for kw, arg in ((dict(name="vgg11", width=0), "width"), (dict(name="resnet20", width=-1), "width"),
                    (dict(name="lenet5", num_classes=0), "num_classes")):
        with pytest.raises(IA, match=arg):
            models.build(**kw)
    for call in (lambda t: measure.sparsity_table(net(), tol=t), lambda t: measure.weight_sparsity(net(), tol=t),
                 lambda t: P.zero_plan(net(), SHAPE, tol=t), lambda t: train.fit(lenet(), ds(), sparsity_tol=t),
                 lambda t: experiments.summarize(net(), ds(), tol=t)):
        for t in (-1e-3, NAN):
            with pytest.raises(IA, match="tol"):
                call(t)
    with pytest.raises(IT, match="name"):
        hdata.load(None)
    with pytest.raises(IT, match="train"):
        ds().subset(train=2.5)
    with pytest.raises(IA, match="image_size=28"):
        models.build("lenet5", 4, 1, 28)(torch.zeros(1, 1, 16, 16))


# --------------------------------------------------------------------------- the last bad inputs (issue 26, item 7)
def test_group_functions_name_a_weight_that_is_not_a_conv_weight():
    linear = nn.Linear(8, 4).weight.detach()
    with pytest.raises(IA, match=r"W must be a conv weight \(O, I, kh, kw\) or a stack of them \(L, O, I, kh, kw\), "
                                 r"got shape \(4, 8\) \(2-D\)"):
        groups.group_size(linear, "filter")
    with pytest.raises(IA, match=r"W must be a conv weight .*got shape \(4, 8\)"):
        groups.filter_l2(linear)
    with pytest.raises(IA, match=r"got shape \(2, 3, 4, 5, 6, 7\) \(6-D\)"):
        groups.filter_l2(torch.ones(2, 3, 4, 5, 6, 7))
    # a conv weight, a stack of conv weights (the regularizers' fused path) and a linear layer's rows still work
    W = torch.randn(2, 5, 3, 3, 3)
    assert torch.equal(groups.filter_l2(W)[1], groups.filter_l2(W[1]))
    assert groups.group_size(W, "filter") == groups.group_size(W[0], "filter") == 27
    lin = nn.Linear(8, 4)
    assert torch.allclose(groups.layer_filter_norms(lin), lin.weight.detach().norm(dim=1))


def test_configs_with_dict_fields_are_set_members_and_dict_keys():
    a, b = tiny_config(regularizer={"key": "l1", "lam": 1e-3}), tiny_config(regularizer={"lam": 1e-3, "key": "l1"})
    assert a == b and a is not b and isinstance(a.model_kw, dict)
    assert hash(a) == hash(b) and {a, b} == {a} and {a: 1}[b] == 1
    other = tiny_config(regularizer={"key": "l1", "lam": 1e-2})
    assert other != a and len({a, b, other}) == 2
    child = tiny_config(init_from=a, lr=0.01)
    assert hash(child) == hash(tiny_config(init_from=b, lr=0.01)) and child in {child}
    one_, one_f = tiny_config(lr=1), tiny_config(lr=1.0)      # equal configs hash equal, whatever their types
    assert one_ == one_f and hash(one_) == hash(one_f)


def test_an_unknown_profile_is_refused_with_the_known_ones():
    with pytest.raises(IA, match=r"unknown profile 'fast'; valid: smoke, default, paper"):
        tiny_config(profile="fast")
    for name in experiments.PROFILES:
        assert tiny_config(profile=name).profile == name


def test_masks_from_zero_checks_tol_as_zero_plan_does():
    for tol in (-1, -1e-3, NAN, INF):
        with pytest.raises(IA) as masks_error:
            P.masks_from_zero(net(), tol=tol)
        with pytest.raises(IA) as plan_error:
            P.zero_plan(net(), SHAPE, tol=tol)
        assert str(masks_error.value) == str(plan_error.value) and "tol" in str(masks_error.value)
    with pytest.raises(IT, match="tol"):
        P.masks_from_zero(net(), tol="1e-3")
    assert set(P.masks_from_zero(net(), tol=0)) == {"features.0.weight", "features.0.bias", "features.2.weight",
                                                    "features.2.bias"}


@pytest.mark.parametrize("key", ["shapes", "state_dict", "builder"])
def test_a_compact_file_missing_a_part_names_it(tmp_path, key):
    path = P.save_compact(lenet(), tmp_path / "c.pt", BUILDER)
    blob = torch.load(path, weights_only=False)
    del blob[key]
    torch.save(blob, path)
    with pytest.raises(CorruptFile, match=re.escape(str(path)) + f".*lacks '{key}'.*save the model again"):
        P.load_compact(path)
    if key == "builder":                                    # the caller can supply it
        assert isinstance(P.load_compact(path, builder=BUILDER), nn.Module)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_loading_onto_a_missing_cuda_device_names_the_cause(tmp_path):
    path = P.save_compact(lenet(), tmp_path / "c.pt", BUILDER)
    for location in ("cuda", "cuda:0", torch.device("cuda")):
        with pytest.raises(IA, match=r"map_location=.*cuda.* no CUDA device.*use map_location='cpu'") as info:
            P.load_compact(path, map_location=location)
        assert not isinstance(info.value, CorruptFile) and "corrupt" not in str(info.value)
    with pytest.raises(IA, match=r"map_location='gpu0' is not a device"):
        P.load_compact(path, map_location="gpu0")
    assert isinstance(P.load_compact(path, map_location="cpu"), nn.Module)


def test_a_compact_file_with_a_nan_statistic_is_refused(tmp_path):
    spec = {**BUILDER, "batchnorm": True}
    path = P.save_compact(lenet(batchnorm=True), tmp_path / "c.pt", spec)
    blob = torch.load(path, weights_only=False)
    blob["state_dict"]["features.1.running_var"][2] = NAN
    torch.save(blob, path)
    with pytest.raises(CorruptFile, match=re.escape(str(path)) + r".*'features\.1\.running_var' holds 1 non-finite"):
        P.load_compact(path)
    blob["state_dict"]["features.1.running_var"][2] = 1.0
    blob["state_dict"]["classifier.3.bias"][0] = -INF
    torch.save(blob, path)
    with pytest.raises(CorruptFile, match=r"'classifier\.3\.bias' holds 1 non-finite"):
        P.load_compact(path)


def _edit_result(path, edit) -> dict:
    blob = torch.load(path, weights_only=False)
    edit(blob)
    torch.save(blob, path)                               # a valid archive: only the digest can tell
    return blob


def test_weights_edited_in_a_cached_run_are_not_returned_with_its_metrics():
    cfg = tiny_config()
    clean = experiments.run(cfg, progress=False)
    path = clean.path / "result.pt"
    key = "features.0.weight"

    def nudge(blob):
        blob["model"][key][0, 0, 0, 0] += 0.5
    edited = _edit_result(path, nudge)["model"][key]
    assert not torch.equal(edited, clean.model.state_dict()[key])
    with pytest.warns(UserWarning, match=re.escape(str(path)) + ".*do not match the digest"):
        again = experiments.run(cfg, progress=False)
    for k, v in clean.model.state_dict().items():           # recomputed: the trained weights, not the edited ones
        assert torch.equal(again.model.state_dict()[k], v), k
    assert again.metrics == clean.metrics == experiments.summarize(again.model, experiments.dataset_for(cfg))
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # rewritten with a matching digest: loads cleanly
        assert experiments.run(cfg, progress=False).metrics == clean.metrics


def test_a_cached_run_without_a_weights_digest_is_trusted_only_if_its_weights_reproduce_its_metrics():
    cfg = tiny_config()
    clean = experiments.run(cfg, progress=False)
    path = clean.path / "result.pt"
    _edit_result(path, lambda blob: blob.pop(experiments.WEIGHTS_DIGEST))      # an entry of older code
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert experiments.run(cfg, progress=False).metrics == clean.metrics     # its weights reproduce them
    assert experiments.WEIGHTS_DIGEST in torch.load(path, weights_only=False)  # and the digest is added

    def zero_first_conv(blob):
        blob.pop(experiments.WEIGHTS_DIGEST)
        blob["model"]["features.0.weight"].zero_()
    _edit_result(path, zero_first_conv)
    with pytest.warns(UserWarning, match=re.escape(str(path)) + ".*stores no digest.*do not reproduce"):
        again = experiments.run(cfg, progress=False)
    assert torch.equal(again.model.features[0].weight, clean.model.features[0].weight)
    assert again.metrics == clean.metrics


# --------------------------------------------------------------------------- helpers
def _damage(path, how: str) -> None:
    """Damage a file: ``truncate`` to half, ``same-size`` (flip bytes in the middle), ``garbage``."""
    blob = bytearray(path.read_bytes())
    if how == "truncate":
        blob = blob[: len(blob) // 2]
    elif how == "same-size":
        mid = len(blob) // 2
        for i in range(mid, min(mid + 8, len(blob))):
            blob[i] ^= 0xFF
    else:
        blob = bytearray(b"not a torch file" * 4)
    path.write_bytes(bytes(blob))
