"""Frozen experiment configs, profiles, and a result cache keyed by config hash.

    cfg = recipe("lenet5_mnist", "default", regularizer={"key": "hsq_gl12", "lam": 1e-3})
    run_ = run(cfg)             # trains once; every later call loads runs/<hash>/ instantly
    run_.model, run_.history, run_.metrics

Cache layout ``runs/<hash>/``: ``config.json``, ``checkpoint.pt`` while training (an interrupted run
resumes after its last finished epoch) and ``result.pt`` written atomically last. An entry without a
readable ``result.pt`` is ignored and recomputed; a changed config has a different hash. ``result.pt``
stores the SHA-256 of its weights beside their metrics: an entry whose weights no longer match (edited
after caching) is reported and recomputed; an entry written before the digest is trusted once its
weights reproduce its metrics.
Override the folder with ``$HGSR_RUNS``.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import torch

from . import data as hdata
from . import layers, measure, models, regularizers, train
from . import pretrained as hpretrained
from .errors import (CheckpointMismatch, CorruptFile, InvalidArgument, InvalidType, check_bool, check_choice,
                     check_int, check_nonneg, check_range, check_str, check_type)
from .io import atomic_save, atomic_write_json, state_digest, verified_load
from .regularizers.common import adopt_buffers

CACHE_VERSION = 1
# the key under which a cached run stores the SHA-256 of its weights (hgsr.io.state_digest): its metrics
# are those of exactly these weights, and an entry whose weights no longer match is recomputed
WEIGHTS_DIGEST = "weights_sha256"

# Budgets per profile: the knobs the core reads and the ones several studies share. A knob that one study
# alone reads lives in that study's own table (``hgsr.study.filter_pruning.BUDGETS`` for notebook 06,
# ``hgsr.study.hgsr_variants.BUDGETS`` for notebook 03); ``hgsr.suite.profiles`` merges them all into the
# README's profile table. Read by :data:`RECIPES` (the core): ``*_train``/``*_test``: subset sizes (None =
# all), ``lenet_epochs``/``resnet_epochs``: schedules, ``mnist_val``: MNIST training images held out for
# validation (choosing λ in notebook 07), never trained on; ``cifar_test`` also by notebook 06. Shared by
# several studies: ``lenet_finetune_epochs``, the fine-tuning of every compact LeNet-5 (notebooks 02-05, 07,
# 08 and ``hgsr.study.grids``); ``latency``, the timing protocol (notebooks 00 and 08).
# Cached results are keyed by configs built from these values.
PROFILES: dict[str, dict[str, Any]] = {
    "smoke": {"mnist_train": 1024, "mnist_test": 512, "cifar_train": 512, "cifar_test": 256,
              "lenet_epochs": 1, "lenet_finetune_epochs": 1, "resnet_epochs": 1, "mnist_val": 256,
              "latency": {"repeats": 3, "warmup": 1, "rounds": 3}},
    "default": {"mnist_train": None, "mnist_test": None, "cifar_train": 8000, "cifar_test": None,
                "lenet_epochs": 3, "lenet_finetune_epochs": 4, "resnet_epochs": 8, "mnist_val": 5000,
                "latency": {"repeats": 30, "warmup": 5, "rounds": 3}},
    "paper": {"mnist_train": None, "mnist_test": None, "cifar_train": None, "cifar_test": None,
              "lenet_epochs": 200, "lenet_finetune_epochs": 40, "resnet_epochs": 100, "mnist_val": 5000,
              "latency": {"repeats": 30, "warmup": 5, "rounds": 3}},
}


# The `paper` profile follows the authors' reference recipes (docs/methods.md, "Reference recipes"). A value
# of None means our sources do not state it: the run then keeps our default and the README says so.
PAPER_RECIPES: dict[str, dict[str, Any]] = {
    "hgsr": {"source": "HGSR reference code (Mitsuno, Miyao & Kurita)", "model": "resnet / vgg / alexnet",
             "dataset": "cifar10", "optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4,
             "schedule": ("step", 33, 0.2), "batch_size": 128, "epochs": 100, "warmup_steps": 0,
             "regularizer": {"key": "hgsr_ref", "lam": 1e-3, "lam2": 0.5, "grouping": "input"}},
    "hgsr_filter_pruning": {"source": "Mitsuno & Kurita, ICPR 2020 (abstract only)", "model": "resnet",
                            "dataset": "cifar10", "optimizer": None, "lr": None, "momentum": None,
                            "weight_decay": None, "schedule": None, "batch_size": None, "epochs": None,
                            "warmup_steps": None, "regularizer": "as hgsr"},
    "nonconvex_sgl": {"source": "nonconvex SGL reference code (Bui et al.)", "model": "lenet5", "dataset": "mnist",
                      "optimizer": "adam", "lr": 1e-3, "momentum": None, "weight_decay": None,
                      "schedule": ("multistep", (40, 80, 120, 160), 0.1), "batch_size": 100, "epochs": 200,
                      "warmup_steps": 0,
                      "regularizer": {"key": "nonconvex_sgl", "lam": 0.1, "beta": 2.5, "period": 40,
                                      "growth": 1.25, "n_train": 60000}},
    "l1_over_l2": {"source": "Berthelier et al. (no public code)", "model": "lenet5", "dataset": "mnist",
                   "optimizer": None, "lr": None, "momentum": None, "weight_decay": None, "schedule": None,
                   "batch_size": None, "epochs": None, "warmup_steps": None, "regularizer": None},
    "baselines": {"source": "SSL, network slimming (no LeNet-5 recipe in our sources)", "model": "lenet5",
                  "dataset": "mnist", "optimizer": None, "lr": None, "momentum": None, "weight_decay": None,
                  "schedule": None, "batch_size": None, "epochs": None, "warmup_steps": None, "regularizer": None},
}
TRAINING_FIELDS = ("optimizer", "lr", "momentum", "weight_decay", "schedule", "batch_size", "epochs", "warmup_steps")


def paper_overrides(method: str) -> dict[str, Any]:
    """Config fields the ``paper`` profile takes from :data:`PAPER_RECIPES` for ``method`` (only the known ones)."""
    if method not in PAPER_RECIPES:
        raise InvalidArgument(f"method={method!r} has no paper recipe; known: {', '.join(PAPER_RECIPES)}")
    r = PAPER_RECIPES[method]
    return {k: r[k] for k in TRAINING_FIELDS if r[k] is not None}


def profile(name: str) -> dict[str, Any]:
    """The budget dictionary of a profile; an unknown name lists the known ones."""
    if not isinstance(name, str) or name not in PROFILES:
        raise InvalidArgument(f"unknown profile {name!r}; known: {', '.join(PROFILES)}")
    return dict(PROFILES[name])


@dataclass(frozen=True)
class Config:
    """Everything that determines a training run. Two equal configs give the same cached result."""

    dataset: str = "mnist"
    model: str = "lenet5"
    model_kw: dict = field(default_factory=dict)
    train_subset: int | None = None
    test_subset: int | None = None
    regularizer: Any = None            # a spec for hgsr.regularizers.from_spec
    epochs: int = 1
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: Any = "cosine"
    augment: bool = False
    seed: int = 0
    profile: str = "default"
    init_from: "Config | None" = None  # start from this run's trained weights (fine-tuning)
    pretrained: str | None = None      # start from committed weights (hgsr.pretrained), e.g. "resnet20_cifar10"
    val_images: int | None = None      # training images held out for validation (never trained on; same for every seed)
    warmup_steps: int = 0              # linear learning-rate warm-up over the first optimizer steps (hgsr.train.fit)

    def __post_init__(self):
        """Every field checked when the config is made (named errors; nothing is coerced)."""
        hdata.dataset_key(self.dataset, "dataset")     # an unknown name fails here, not when the run starts
        models.resolve(self.model, "model")
        check_type("model_kw", self.model_kw, dict, "a dict of keyword arguments for hgsr.models.build")
        check_int("train_subset", self.train_subset, 1, optional=True)
        check_int("test_subset", self.test_subset, 1, optional=True)
        regularizers.from_spec(self.regularizer)          # a spec that cannot be built fails here
        check_int("epochs", self.epochs, 0)
        check_int("batch_size", self.batch_size, 1)
        check_choice("optimizer", self.optimizer, train.OPTIMIZERS)
        check_nonneg("lr", self.lr)
        check_range("momentum", self.momentum, 0.0, 1.0, high_open=True)
        check_nonneg("weight_decay", self.weight_decay)
        train.check_schedule(_schedule(self.schedule))
        check_bool("augment", self.augment)
        check_int("seed", self.seed, 0)
        check_str("profile", self.profile)
        check_choice("profile", self.profile, PROFILES)    # a typo ("fast") fails here, not mid-notebook
        check_type("init_from", self.init_from, Config, "a Config (the run to start from)", optional=True)
        check_type("pretrained", self.pretrained, str, "the name of a committed pretrained network", optional=True)
        check_int("val_images", self.val_images, 1, optional=True)
        check_int("warmup_steps", self.warmup_steps, 0)
        if self.pretrained is not None and self.init_from is not None:
            raise InvalidArgument("give at most one of init_from= and pretrained= (the start of the run)")
        if self.epochs == 0 and self.pretrained is None and self.init_from is None:
            raise InvalidArgument("epochs=0 (no training: the run is its start, evaluated) needs a start: give "
                                  "pretrained= or init_from=; a fresh initialization trains at least 1 epoch")

    def __hash__(self) -> int:
        """Consistent with ``==`` (field by field), dict fields (``model_kw``, a dict ``regularizer``)
        included, so configs can be set members and dict keys; equal configs hash equal."""
        return hash(tuple(_hashable(getattr(self, f.name)) for f in dataclasses.fields(self)))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def hash(self) -> str:
        """Digest of every field; ``pretrained`` enters with the SHA-256 of its weights (so retrained
        weights give new runs); ``pretrained`` and ``val_images`` are left out when None and ``warmup_steps`` when 0 (hashes of older
        configs stay valid)."""
        d = self.to_dict()
        if d["val_images"] is None:
            del d["val_images"]
        if d["warmup_steps"] == 0:
            del d["warmup_steps"]
        if d.pop("pretrained") is not None:
            d["pretrained"] = {"name": self.pretrained, "sha256": hpretrained.card(self.pretrained)["sha256"]}
        blob = json.dumps({"v": CACHE_VERSION, **d}, sort_keys=True, default=str)
        return hashlib.sha1(blob.encode()).hexdigest()[:16]

    def replace(self, **kw) -> "Config":
        return dataclasses.replace(self, **kw)


def _hashable(value):
    """``value`` as a hashable object that is equal (hence hashes equal) whenever ``value`` is: a dict
    as a frozenset of its items, a list or tuple as a tuple, a set as a frozenset, recursively."""
    if isinstance(value, dict):
        return frozenset((k, _hashable(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(_hashable(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


# LeNet-5 warms its learning rate up over its first 200 steps (about half an epoch): at lr 0.05 with
# momentum 0.9 and no warm-up, seed 1's initialization gave a non-finite loss at step 23 (seeds 0, 2-4 did not).
RECIPES: dict[str, Callable[[dict], dict]] = {
    "lenet5_mnist": lambda p: dict(dataset="mnist", model="lenet5", train_subset=p["mnist_train"],
                                   test_subset=p["mnist_test"], epochs=p["lenet_epochs"], lr=0.05,
                                   batch_size=128, schedule="cosine", val_images=p["mnist_val"], warmup_steps=200),
    "resnet20_cifar10": lambda p: dict(dataset="cifar10", model="resnet20", train_subset=p["cifar_train"],
                                       test_subset=p["cifar_test"], epochs=p["resnet_epochs"], lr=0.1,
                                       schedule="cosine", augment=True),
}


def recipe(task: str, profile_name: str = "default", **overrides) -> Config:
    """A config for a named task (``lenet5_mnist``, ``resnet20_cifar10``)
    at a profile's budget; keyword arguments override any field."""
    if not isinstance(task, str) or task not in RECIPES:
        raise InvalidArgument(f"unknown task {task!r}; known: {', '.join(RECIPES)}")
    return Config(profile=profile_name, **{**RECIPES[task](profile(profile_name)), **overrides})


@dataclass
class Run:
    config: Config
    model: torch.nn.Module
    history: pd.DataFrame
    metrics: dict
    path: Path
    weights_sha256: str | None = None   # state_digest of the weights ``metrics`` were measured on

    def measured_as_is(self) -> bool:
        """True when ``model`` still holds the weights ``metrics`` were measured on (its state digest equals
        ``weights_sha256``): a caller that edited the weights after the run must measure them again."""
        return self.weights_sha256 is not None and state_digest(self.model.state_dict()) == self.weights_sha256


def fingerprint_files() -> list[Path]:
    """The source files of the core entries that can change a result (:func:`hgsr.layers.result_entries`)."""
    root = Path(__file__).resolve().parent
    entries = set(layers.result_entries())
    return [p for p in sorted(root.rglob("*.py")) if p.relative_to(root).parts[0].removesuffix(".py") in entries]


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-1 (16 hex digits) of the source of every core module that can change a result
    (:func:`fingerprint_files`); stored with each cached entry (``meta.json``) so that the manifest can tell
    runs that predate the code. Read once per process: the modules in use are the ones imported at its start."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha1()
    for path in fingerprint_files():
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def write_meta(folder: Path) -> Path:
    """``folder/meta.json``: the code fingerprint, torch version, intra-op threads and CPU instruction set
    (``torch.backends.cpu.get_cpu_capability()``, e.g. ``AVX2``) the entry was made with: the four things a
    result is bit-for-bit reproducible under; the same config on another instruction set sums in another
    order and trains to slightly different weights."""
    return atomic_write_json({"code": code_fingerprint(), "torch": torch.__version__,
                              "threads": torch.get_num_threads(),
                              "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                              "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, folder / "meta.json")


def runs_dir() -> Path:
    return Path(os.environ.get("HGSR_RUNS", hdata.REPO / "runs"))


_DATA: dict[tuple, tuple[hdata.Dataset, hdata.Dataset | None]] = {}


def _splits(config: Config) -> tuple[hdata.Dataset, hdata.Dataset | None]:
    """``(training/test dataset, validation or None)``, memoized in-process: ``val_images`` training images
    are held out first (:meth:`hgsr.data.Dataset.holdout`, the same images for every seed), then
    ``train_subset`` is drawn from the rest and ``test_subset`` from the test split."""
    key = (config.dataset, config.train_subset, config.test_subset, config.seed, config.val_images)
    if key not in _DATA:
        full, val = hdata.load(config.dataset), None
        if config.val_images is not None:
            full, val = full.holdout(config.val_images)
        _DATA[key] = (full.subset(config.train_subset, config.test_subset, config.seed), val)
    return _DATA[key]


def dataset_for(config: Config) -> hdata.Dataset:
    """The config's dataset: its training subset (without the validation images) and its test subset."""
    return _splits(config)[0]


def validation_for(config: Config) -> hdata.Dataset:
    """The config's held-out validation images as the *test* split of a Dataset (for
    :func:`hgsr.train.evaluate`); an error when the config holds none out."""
    val = _splits(config)[1]
    if val is None:
        raise InvalidArgument(f"config {config.hash()} holds out no validation images (val_images=None); "
                              f"give val_images=N to set N training images aside")
    return val


def build_model(config: Config, ds: hdata.Dataset) -> torch.nn.Module:
    """The config's model, freshly initialized (seeded), or with the committed ``pretrained`` weights."""
    torch.manual_seed(config.seed)
    model = models.build(config.model, ds.num_classes, ds.in_channels, ds.image_size, **config.model_kw)
    if config.pretrained is not None:
        model.load_state_dict(hpretrained.load(config.pretrained).state_dict())
    return model


def input_shape(ds: hdata.Dataset) -> tuple[int, int, int]:
    return (ds.in_channels, ds.image_size, ds.image_size)


def summarize(model: torch.nn.Module, ds: hdata.Dataset, tol: float = measure.WEIGHT_TOL) -> dict:
    """Test accuracy, parameters, MACs and sparsity totals of a trained model."""
    table = measure.sparsity_table(model, tol=tol)
    total = table.iloc[-1]
    return {"test_acc": train.evaluate(model, ds)["accuracy"], "params": measure.count_params(model),
            "macs": measure.count_macs(model, input_shape(ds)), "tol": tol,
            "weight_sparsity": float(total["weights_sparsity"]), "zero_filters": int(total["zero_filters"]),
            "filters": int(total["filters"]), "zero_channels": int(total["zero_channels"])}


def load_cached(path: Path) -> dict | None:
    """The stored result at ``path``, or None if it is absent; None with a warning naming the path
    if it is unreadable (truncated, a checksum fails: :func:`hgsr.io.verified_load`), so the caller
    recomputes it."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        blob = verified_load(path, "cached result", "recomputing it", weights_only=False, map_location="cpu")
    except CorruptFile as e:
        warnings.warn(str(e), UserWarning, stacklevel=2)
        return None
    if not isinstance(blob, dict):
        warnings.warn(f"cached result {path} does not hold a result dict; recomputing it", UserWarning,
                      stacklevel=2)
        return None
    if WEIGHTS_DIGEST in blob:      # a run's metrics belong to the weights they were measured on
        try:
            same = blob[WEIGHTS_DIGEST] == state_digest(blob["model"])
        except Exception:           # no (readable) model beside the digest
            same = False
        if not same:
            warnings.warn(f"cached result {path}: its weights do not match the digest stored with its metrics "
                          f"(edited after the run was cached?); recomputing it", UserWarning, stacklevel=2)
            return None
    return blob


def _same_metrics(a: dict, b: dict) -> bool:
    """``a == b``, with NaN equal to NaN."""
    def same(x, y):
        return x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
    return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)


def _metrics_of(model: torch.nn.Module, ds: hdata.Dataset, config: Config, tol: float = measure.WEIGHT_TOL) -> dict:
    """What a run stores as its metrics: :func:`summarize` and, when the config holds images out, ``val_acc``."""
    metrics = summarize(model, ds, tol)
    if config.val_images is not None:
        metrics["val_acc"] = train.evaluate(model, validation_for(config))["accuracy"]
    return metrics


def _old_entry_reproduces(blob: dict, path: Path, model: torch.nn.Module, ds: hdata.Dataset, config: Config) -> bool:
    """An entry written before runs stored the digest of their weights is trusted only if its weights
    (loaded into ``model``) reproduce its metrics, evaluated now; the digest is then added to the file
    (so this happens once). Otherwise a warning naming the path, and False (the run is recomputed)."""
    try:
        fresh = _metrics_of(model, ds, config, blob["metrics"]["tol"])
    except Exception as e:
        fresh = f"{type(e).__name__}: {e}"
    if not _same_metrics(fresh, blob.get("metrics")):
        warnings.warn(f"cached result {path} stores no digest of its weights, and its weights do not reproduce "
                      f"its metrics (stored {blob.get('metrics')}, evaluated now {fresh}); recomputing it",
                      UserWarning, stacklevel=3)
        return False
    try:
        atomic_save({**blob, WEIGHTS_DIGEST: state_digest(blob["model"])}, path)
    except OSError:                 # a read-only cache: checked again next time
        pass
    return True


def _valid_run(blob: dict, path: Path) -> bool:
    """A cached run is used only if its history ends with a finite test loss and its weights are
    finite (a run cached before divergence was checked is recomputed, with a warning)."""
    try:
        history = pd.DataFrame(blob["history"])
        trained = blob["config"]["epochs"] > 0        # epochs=0: no history, the start evaluated
        finite = (not trained or math.isfinite(float(history.iloc[-1]["test_loss"]))) and all(
            bool(torch.isfinite(v).all()) for v in blob["model"].values() if v.is_floating_point())
    except Exception as e:
        warnings.warn(f"cached result {path} is incomplete ({type(e).__name__}: {e}); recomputing it",
                      UserWarning, stacklevel=3)
        return False
    if not finite:
        warnings.warn(f"cached result {path} holds a diverged run (non-finite test loss or weights); "
                      f"recomputing it", UserWarning, stacklevel=3)
    return finite


def run(config: Config, progress: bool = True, device=None) -> Run:
    """Train (or load) the run of ``config``; see the module docstring for the cache.

    A run that diverges raises :class:`hgsr.train.NonFiniteLoss` naming the config, and nothing is
    cached. A cached result or checkpoint that is unreadable is reported (a warning naming its path)
    and recomputed; a checkpoint written with other training arguments (e.g. a default changed in
    the code) is discarded with a warning."""
    check_type("config", config, Config, "an hgsr.experiments.Config")
    check_bool("progress", progress)
    train.check_device(device)
    folder = runs_dir() / config.hash()
    ds = dataset_for(config)
    model = build_model(config, ds)
    cached = load_cached(folder / "result.pt")
    if cached is not None and cached.get("config") == config.to_dict() and _valid_run(cached, folder / "result.pt"):
        adopt_buffers(model, cached["model"])
        model.load_state_dict(cached["model"])
        if WEIGHTS_DIGEST in cached or _old_entry_reproduces(cached, folder / "result.pt", model, ds, config):
            return Run(config, model, pd.DataFrame(cached["history"]), cached["metrics"], folder,
                       cached.get(WEIGHTS_DIGEST) or state_digest(cached["model"]))   # verified on loading
        model = build_model(config, ds)     # the cached weights are not trusted: train afresh
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(config.to_dict(), folder / "config.json")
    if config.init_from is not None:
        parent = run(config.init_from, progress=progress, device=device)
        adopt_buffers(model, parent.model.state_dict())
        model.load_state_dict(parent.model.state_dict())
    start = {k: v.clone() for k, v in model.state_dict().items()}

    def fit():
        return train.fit(model, ds, epochs=config.epochs, lr=config.lr, optimizer=config.optimizer,
                         momentum=config.momentum, weight_decay=config.weight_decay,
                         schedule=_schedule(config.schedule), batch_size=config.batch_size,
                         regularizer=regularizers.from_spec(config.regularizer),
                         augment=hdata.default_augment(config.dataset) if config.augment else None,
                         seed=config.seed, device=device, checkpoint=folder / "checkpoint.pt",
                         progress=progress, warmup_steps=config.warmup_steps)
    try:
        try:
            history = fit() if config.epochs else pd.DataFrame()   # epochs=0: the start itself, evaluated
        except CheckpointMismatch as exc:   # the config is the authority: start this run again
            warnings.warn(f"{exc}; run {config.hash()} trains again from the start", UserWarning, stacklevel=2)
            (folder / "checkpoint.pt").unlink(missing_ok=True)
            model.load_state_dict(start)
            history = fit()
    except train.NonFiniteLoss as exc:   # say which run diverged: notebooks train many
        raise train.NonFiniteLoss(f"run {config.hash()} ({config.model} on {config.dataset}, regularizer "
                                  f"{config.regularizer}, lr {config.lr}; nothing cached): {exc}") from exc
    model.cpu()
    metrics = _metrics_of(model, ds, config)
    state = model.state_dict()
    digest = state_digest(state)
    atomic_save({"config": config.to_dict(), "model": state, "history": history.to_dict("list"),
                 "metrics": metrics, WEIGHTS_DIGEST: digest}, folder / "result.pt")
    write_meta(folder)
    (folder / "checkpoint.pt").unlink(missing_ok=True)
    return Run(config, model, history, metrics, folder, digest)


def _schedule(s):
    return tuple(s) if isinstance(s, list) else s


def cached(name: str, params: dict, compute: Callable[[], Any]) -> Any:
    """Generic result cache: ``compute()`` once per ``(name, params)``, stored atomically under
    ``runs/<name>-<hash>/result.pt``; for pipelines built on runs (pruning, fine-tuning, sweeps).
    An unreadable entry is reported (a warning naming its path) and recomputed."""
    check_str("name", name)
    check_type("params", params, dict, "a dict of the parameters that identify the result")
    if not callable(compute):
        raise InvalidType(f"compute must be a callable () -> value, got {compute!r}")
    blob = json.dumps({"v": CACHE_VERSION, "name": name, **params}, sort_keys=True, default=str)
    folder = runs_dir() / f"{name}-{hashlib.sha1(blob.encode()).hexdigest()[:16]}"
    path = folder / "result.pt"
    hit = load_cached(path)
    if hit is not None and "value" in hit:
        return hit["value"]
    value = compute()
    atomic_write_json(json.loads(blob), folder / "params.json")
    atomic_save({"value": value}, path)
    write_meta(folder)
    return value
