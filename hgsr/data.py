"""Datasets held in memory as uint8 tensors, with batched augmentation on tensors.

``load(name)`` returns a :class:`Dataset` for ``mnist``, ``fashion_mnist``, ``cifar10``, ``digits``
(scikit-learn's bundled 8x8 digits, always offline) or ``synthetic`` (a tiny generated set for unit
tests). Images are ``(N, C, H, W)`` uint8, labels int64. The first load reads the archives
(torchvision for MNIST/Fashion-MNIST, the prepared ``cifar10.npz`` or torchvision for CIFAR-10) and
writes one tensor file per dataset to the cache; every later load reads that file.

Where archives are looked for: the ``root`` argument, else ``$HGSR_DATA_ROOT``, else
``../shared/data`` beside the repository; then the cache itself. The cache is ``$HGSR_CACHE`` or
``data/`` in the repository. Archives found elsewhere are linked into the cache before torchvision
unpacks them, so ``root`` may be read-only.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from .errors import (CorruptFile, HgsrError, InvalidArgument, InvalidType, check_bool, check_int,
                     check_nonneg_int, check_path, check_type)
from .io import atomic_save, file_digest

REPO = Path(__file__).resolve().parents[1]

# (mean, std) per channel, on the [0, 1] scale.
STATS = {
    "mnist": ((0.1307,), (0.3081,)),
    "fashion_mnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "digits": ((0.3050,), (0.3770,)),
    "synthetic": ((0.5,), (0.25,)),
}
NAMES = tuple(STATS)

# torchvision folder name and (file, md5) of each archive, as torchvision checks them.
TV_ARCHIVES = {
    "mnist": ("MNIST", {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}),
    "fashion_mnist": ("FashionMNIST", {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}),
}
# SHA-256 of each UNPACKED file (what torchvision reads): verified before use; a file that does not
# match (truncated, corrupted in the cache) is unpacked again from its verified archive.
UNPACKED_SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"},
    "fashion_mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"},
}
CIFAR_NPZ_SHA256 = "7ad5bcb75206214065b10a1241458283fe49422ac5e61f4033ae23c5b8027b53"
HOLDOUT_SEED = 12345   # the validation images held out of a training split: one set for every run
CACHE_VERSION = 2   # 2: the tensor file stores a SHA-256 digest of its tensors, checked on load


class DatasetNotFound(FileNotFoundError, HgsrError):
    """A dataset's archives are neither present nor downloadable."""


class CorruptArchive(CorruptFile):
    """An archive (or a file unpacked from it) fails its checksum."""


@dataclass
class Dataset:
    """Whole splits in memory: images uint8 (N, C, H, W), labels int64, normalization stats."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: list = field(default_factory=list)

    def __post_init__(self):
        if self.name not in STATS:
            raise InvalidArgument(f"unknown dataset name {self.name!r}; known: {', '.join(NAMES)}")
        for split in ("train", "test"):
            x, y = getattr(self, f"{split}_x"), getattr(self, f"{split}_y")
            check_type(f"{split}_x", x, torch.Tensor, "a (N, C, H, W) uint8 tensor")
            check_type(f"{split}_y", y, torch.Tensor, "a (N,) int64 tensor of labels")
            if x.dim() != 4 or y.dim() != 1 or len(x) != len(y):
                raise InvalidArgument(f"{split}_x must be (N, C, H, W) and {split}_y (N,) with the same N, "
                                      f"got {tuple(x.shape)} and {tuple(y.shape)}")

    @property
    def mean(self):
        return STATS[self.name][0]

    @property
    def std(self):
        return STATS[self.name][1]

    @property
    def in_channels(self) -> int:
        return self.train_x.shape[1]

    @property
    def image_size(self) -> int:
        return self.train_x.shape[-1]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def subset(self, train: int | None = None, test: int | None = None, seed: int = 0) -> "Dataset":
        """A stratified, seeded subset of each split (``None`` keeps the split whole)."""
        check_int("train", train, 1, optional=True)
        check_int("test", test, 1, optional=True)
        seed = check_nonneg_int("seed", seed)
        tr = stratified_indices(self.train_y, train, seed)
        te = stratified_indices(self.test_y, test, seed + 1)
        return Dataset(self.name, self.train_x[tr], self.train_y[tr], self.test_x[te],
                       self.test_y[te], list(self.classes))

    def holdout(self, n: int, seed: int = HOLDOUT_SEED) -> tuple["Dataset", "Dataset"]:
        """``(rest, validation)``: ``n`` training images set aside (stratified, seeded by ``seed``, by default
        the same images for every run) and the remaining training images. ``validation`` holds the set-aside
        images as its *test* split (its train split is empty), so :func:`hgsr.train.evaluate` reads it as is;
        ``rest`` keeps this dataset's test split."""
        n = check_int("n", n, 1)
        if n >= len(self.train_y):
            raise InvalidArgument(f"n={n} images cannot be held out of a training split of {len(self.train_y)} "
                                  f"(dataset {self.name!r}); hold out fewer")
        val = stratified_indices(self.train_y, n, check_nonneg_int("seed", seed))
        keep = torch.ones(len(self.train_y), dtype=torch.bool)
        keep[val] = False
        rest = Dataset(self.name, self.train_x[keep], self.train_y[keep], self.test_x, self.test_y, list(self.classes))
        held = Dataset(self.name, self.train_x[:0], self.train_y[:0], self.train_x[val], self.train_y[val],
                       list(self.classes))
        return rest, held

    def __repr__(self):
        return (f"Dataset({self.name!r}, train={tuple(self.train_x.shape)}, "
                f"test={tuple(self.test_x.shape)}, classes={self.num_classes})")


def stratified_indices(y: torch.Tensor, n: int | None, seed: int = 0) -> torch.Tensor:
    """``n`` indices with each class in proportion to its frequency in ``y``; seeded, sorted.

    Per-class counts use the largest-remainder rule, so they sum to exactly ``n``.
    """
    check_type("y", y, torch.Tensor, "a 1-D tensor of labels")
    n = check_int("n", n, 1, optional=True)
    seed = check_nonneg_int("seed", seed)
    if n is None or n >= len(y):
        return torch.arange(len(y))
    g = torch.Generator().manual_seed(seed)
    classes, counts = torch.unique(y, return_counts=True)
    exact = counts.double() * n / len(y)
    take = exact.floor().long()
    short = n - int(take.sum())
    take[torch.argsort(exact - take, descending=True)[:short]] += 1
    out = []
    for c, k in zip(classes.tolist(), take.tolist()):
        idx = (y == c).nonzero().flatten()
        out.append(idx[torch.randperm(len(idx), generator=g)[:k]])
    return torch.cat(out).sort().values


# ----------------------------------------------------------------------------- locations

def cache_dir() -> Path:
    return Path(os.environ.get("HGSR_CACHE", REPO / "data"))


def archive_roots(root: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched for archives: ``root`` if given, else ``$HGSR_DATA_ROOT`` if set, else
    ``../shared/data`` beside the repository; then the cache itself."""
    first = root or os.environ.get("HGSR_DATA_ROOT") or REPO.parent / "shared" / "data"
    cands = [first, cache_dir()]
    out = []
    for c in cands:
        if c and Path(c) not in out:
            out.append(Path(c))
    return out


# ----------------------------------------------------------------------------- loaders

def _gunzip(archive: Path) -> None:
    """Unpack ``x.gz`` to ``x`` beside it (atomically: a temporary file of this process, renamed into
    place, so that processes unpacking the same archive at once, e.g. the workers of a sweep on a fresh
    machine, neither clash nor leave a half-written ``x``)."""
    import gzip

    target = archive.with_suffix("")
    if target.exists():
        return
    tmp = target.with_name(f"{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
    try:
        with gzip.open(archive, "rb") as f, open(tmp, "wb") as g:
            shutil.copyfileobj(f, g)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _check_unpacked(target: Path, sha256: str, archive: Path | None) -> None:
    """Make ``target`` (an unpacked file) match its known SHA-256: a file that does not (truncated,
    corrupted) is removed with a warning naming it and unpacked again from ``archive`` (already
    verified) when there is one; a fresh unpacking that still fails raises :class:`CorruptArchive`."""
    if target.exists() or target.is_symlink():
        if target.exists() and file_digest(target) == sha256:
            return
        what = f"unpacking it again from {archive}" if archive is not None else "removing it"
        warnings.warn(f"{target} fails its SHA-256 check (expected {sha256}; truncated or corrupted in "
                      f"the cache): {what}", UserWarning, stacklevel=4)
        target.unlink()
    if archive is None:
        return
    _gunzip(archive)
    if file_digest(target) != sha256:
        target.unlink()
        raise CorruptArchive(f"{archive} (-> {archive.resolve()}) unpacks to {target.name}, which fails its "
                             f"SHA-256 check (expected {sha256}); replace the archive with the published one",
                             archive)


def _link_or_copy(src: Path, target: Path) -> None:
    """Make ``target`` a symlink to ``src`` (a copy where links are not allowed), safely when several
    processes do it at once (the workers of a sweep on a fresh machine): a link or copy another process
    made first is kept, and a copy is written to a temporary file of this process and renamed into place."""
    try:
        target.symlink_to(src.resolve())
        return
    except FileExistsError:
        return                   # another process linked or copied it first
    except OSError:
        pass                     # no symlinks here (e.g. some Windows or network filesystems): copy
    tmp = target.with_name(f"{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
    try:
        shutil.copy2(src, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _load_torchvision_mnist(name: str, roots: list[Path], download: bool):
    import torchvision

    folder, files = TV_ARCHIVES[name]
    cache = cache_dir()
    raw = cache / folder / "raw"
    for fname, md5 in files.items():
        target = raw / fname
        if not target.exists():
            src = next((r / folder / "raw" / fname for r in roots if (r / folder / "raw" / fname).exists()), None)
            if src is None:
                continue
            raw.mkdir(parents=True, exist_ok=True)
            _link_or_copy(src, target)
        if file_digest(target, "md5") != md5:
            raise CorruptArchive(f"{target} (-> {target.resolve()}) fails its MD5 check "
                                 f"(expected {md5}); replace it with the published archive", target)
    missing = [f for f in files if not (raw / f).exists()]
    if missing and not download:
        raise DatasetNotFound(_missing_message(name, [f"{folder}/raw/{f}" for f in missing], roots))
    # torchvision reads the unpacked files (and only unpacks archives when downloading): each is
    # checked against its known SHA-256 and unpacked again from its verified archive if it differs
    for fname, sha in UNPACKED_SHA256[name].items():
        archive = raw / f"{fname}.gz"
        _check_unpacked(raw / fname, sha, archive if archive.exists() else None)
    cls = torchvision.datasets.MNIST if name == "mnist" else torchvision.datasets.FashionMNIST
    try:
        tr = cls(str(cache), train=True, download=download and bool(missing))
        te = cls(str(cache), train=False, download=download and bool(missing))
    except Exception as e:  # no network, or a failed download
        if not missing:
            raise CorruptArchive(f"torchvision could not read the verified files of {name!r} under {raw} "
                                 f"({e}); delete {raw.parent} from the cache and load again", raw) from e
        raise DatasetNotFound(_missing_message(name, [f"{folder}/raw/{f}" for f in missing], roots)
                              + f"\n(torchvision said: {e})") from e
    for fname, sha in UNPACKED_SHA256[name].items() if missing else ():  # what torchvision downloaded
        _check_unpacked(raw / fname, sha, None)
        if not (raw / fname).exists():
            raise CorruptArchive(f"the downloaded {folder}/raw/{fname} fails its SHA-256 check "
                                 f"(expected {sha}); it was removed, load again to download it anew", raw)
    return (tr.data.unsqueeze(1).contiguous(), tr.targets.long(), te.data.unsqueeze(1).contiguous(),
            te.targets.long(), list(tr.classes))


def _load_cifar10(roots: list[Path], download: bool):
    npz = next((r / "cifar10.npz" for r in roots if (r / "cifar10.npz").exists()), None)
    if npz is not None:
        if file_digest(npz) != CIFAR_NPZ_SHA256:
            raise CorruptArchive(f"{npz} fails its SHA-256 check (expected {CIFAR_NPZ_SHA256})")
        with np.load(npz, allow_pickle=False) as z:
            def img(a):
                return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))
            return (img(z["train_x"]), torch.from_numpy(z["train_y"]).long(), img(z["test_x"]),
                    torch.from_numpy(z["test_y"]).long(), [str(c) for c in z["classes"]])
    import torchvision

    base = next((r for r in roots if (r / "cifar-10-batches-py").exists()), cache_dir())
    try:
        tr = torchvision.datasets.CIFAR10(str(base), train=True, download=download)
        te = torchvision.datasets.CIFAR10(str(base), train=False, download=download)
    except Exception as e:
        raise DatasetNotFound(_missing_message("cifar10", ["cifar10.npz (or cifar-10-batches-py/)"], roots)
                              + f"\n(torchvision said: {e})") from e

    def img(a):
        return torch.from_numpy(a).permute(0, 3, 1, 2).contiguous()
    return (img(tr.data), torch.tensor(tr.targets), img(te.data), torch.tensor(te.targets), list(tr.classes))


def _load_digits(seed: int = 0):
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.from_numpy((d.images * 16).clip(0, 255).astype(np.uint8)).unsqueeze(1)
    y = torch.from_numpy(d.target).long()
    te = stratified_indices(y, 360, seed)
    mask = torch.ones(len(y), dtype=torch.bool)
    mask[te] = False
    return x[mask], y[mask], x[te], y[te], [str(i) for i in range(10)]


def _make_synthetic(n_train: int = 512, n_test: int = 256, size: int = 16, classes: int = 4, seed: int = 0):
    """Each class is a fixed random binary template; images are templates with pixel noise."""
    g = torch.Generator().manual_seed(seed)
    templates = (torch.rand(classes, 1, size, size, generator=g) > 0.5).float()

    def split(n):
        y = torch.arange(n) % classes
        y = y[torch.randperm(n, generator=g)]
        x = templates[y] * 0.6 + 0.2 + 0.15 * torch.randn(n, 1, size, size, generator=g)
        return (x.clamp(0, 1) * 255).round().to(torch.uint8), y

    xtr, ytr = split(n_train)
    xte, yte = split(n_test)
    return xtr, ytr, xte, yte, [f"class{i}" for i in range(classes)]


def _missing_message(name: str, files: list[str], roots: list[Path]) -> str:
    where = "\n".join(f"  - {r}" for r in roots)
    need = "\n".join(f"  - {f}" for f in files)
    return (f"dataset {name!r} not found and could not be downloaded. Put these files\n{need}\n"
            f"under one of these folders (or pass root=..., or set HGSR_DATA_ROOT):\n{where}")


TENSORS = ("train_x", "train_y", "test_x", "test_y")


def tensor_digest(blob: dict) -> str:
    """SHA-256 over the dtype, shape and bytes of the four split tensors and the class names (what
    the tensor cache file stores and checks on load)."""
    h = hashlib.sha256()
    for k in TENSORS:
        t = blob[k]
        h.update(f"{k}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(memoryview(t.detach().cpu().contiguous().numpy()).cast("B"))
    h.update(repr(list(blob["classes"])).encode())
    return h.hexdigest()


def _read_tensor_cache(path: Path) -> dict | None:
    """The verified content of a tensor cache file, or None (with a warning naming ``path`` when it is
    unreadable or its tensors do not match the stored digest; silently for an older format)."""
    try:
        blob = torch.load(path, weights_only=True)
    except Exception as e:
        warnings.warn(f"{path} is unreadable ({type(e).__name__}: {e}); rebuilding it from the archives",
                      UserWarning, stacklevel=3)
        return None
    if not isinstance(blob, dict) or blob.get("version") != CACHE_VERSION:
        return None      # an older cache format: rebuilt below
    try:
        ok = all(isinstance(blob[k], torch.Tensor) for k in TENSORS) and blob["digest"] == tensor_digest(blob)
    except Exception:
        ok = False
    if not ok:
        warnings.warn(f"{path} fails its SHA-256 digest check (corrupted in the cache); rebuilding it "
                      f"from the archives", UserWarning, stacklevel=3)
        return None
    return blob


def dataset_key(name: str, argument: str = "name") -> str:
    """The dataset a name stands for, as :func:`load` reads it (case and ``-``/``_`` do not matter, e.g.
    ``"Fashion-MNIST"`` → ``"fashion_mnist"``); a named error listing :data:`NAMES` for any other name."""
    if not isinstance(name, str):
        raise InvalidType(f"{argument} must be a dataset name (a string; known: {', '.join(NAMES)}), got "
                          f"{name!r} ({type(name).__name__})")
    key = name.lower().replace("-", "_")
    if key == "fashionmnist":
        key = "fashion_mnist"
    if key not in STATS:
        raise InvalidArgument(f"unknown dataset {name!r}; known: {', '.join(NAMES)}")
    return key


def load(name: str, root: str | os.PathLike | None = None, download: bool = True,
         cache: bool = True) -> Dataset:
    """Load a whole dataset into memory (see the module docstring for where files are found).

    The tensor cache file ``<cache>/<name>.pt`` stores a SHA-256 digest of its tensors; a file that
    is unreadable or fails the digest is rebuilt from the (verified) archives, with a warning naming
    it."""
    key = dataset_key(name)
    check_path("root", root, optional=True)
    check_bool("download", download)
    check_bool("cache", cache)
    if key == "synthetic":
        return Dataset(key, *_make_synthetic())
    if key == "digits":
        return Dataset(key, *_load_digits())
    tensor_file = cache_dir() / f"{key}.pt"
    if cache and tensor_file.exists():
        blob = _read_tensor_cache(tensor_file)
        if blob is not None:
            return Dataset(key, blob["train_x"], blob["train_y"], blob["test_x"], blob["test_y"],
                           blob["classes"])
    roots = archive_roots(root)
    if key == "cifar10":
        parts = _load_cifar10(roots, download)
    else:
        parts = _load_torchvision_mnist(key, roots, download)
    ds = Dataset(key, *parts)
    if cache:
        cache_dir().mkdir(parents=True, exist_ok=True)
        blob = {"version": CACHE_VERSION, "train_x": ds.train_x, "train_y": ds.train_y,
                "test_x": ds.test_x, "test_y": ds.test_y, "classes": ds.classes}
        atomic_save({**blob, "digest": tensor_digest(blob)}, tensor_file)
    return ds


# ----------------------------------------------------------------------------- batches

@dataclass(frozen=True)
class Augment:
    """Batched train-time augmentation on uint8 tensors: random crop after zero padding, h-flip."""

    pad: int = 4
    flip: bool = True

    def __post_init__(self):
        check_nonneg_int("pad", self.pad)
        check_bool("flip", self.flip)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return augment(x, self.pad, self.flip, generator)


def augment(x: torch.Tensor, pad: int = 4, flip: bool = True,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Random crop of the original size from the zero-padded batch, then random horizontal flip.

    Random numbers are drawn on ``generator``'s device (the CPU without one), so a CUDA generator
    keeps a GPU-resident batch on the GPU."""
    _check_images("x", x)
    pad = check_nonneg_int("pad", pad)
    check_bool("flip", flip)
    B, C, H, W = x.shape
    rng = generator.device if generator is not None else "cpu"
    out = x
    if pad > 0:
        padded = F.pad(x, (pad, pad, pad, pad))
        dy = torch.randint(0, 2 * pad + 1, (B,), generator=generator, device=rng).to(x.device)
        dx = torch.randint(0, 2 * pad + 1, (B,), generator=generator, device=rng).to(x.device)
        rows = (dy[:, None] + torch.arange(H, device=x.device))[:, None, :, None]
        cols = (dx[:, None] + torch.arange(W, device=x.device))[:, None, None, :]
        b = torch.arange(B, device=x.device)[:, None, None, None]
        c = torch.arange(C, device=x.device)[None, :, None, None]
        out = padded[b, c, rows, cols]
    if flip:
        mask = (torch.rand(B, generator=generator, device=rng) < 0.5).to(x.device)[:, None, None, None]
        out = torch.where(mask, out.flip(-1), out)
    return out


def normalize(x: torch.Tensor, mean, std) -> torch.Tensor:
    """uint8 -> float: ``(x/255 - mean) / std`` per channel."""
    _check_images("x", x)
    _check_stats(x, mean, std)
    m = torch.tensor(mean, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, device=x.device).view(1, -1, 1, 1)
    return (x.float().div_(255) - m) / s


def batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, mean, std, shuffle: bool = False,
            augment_fn: Augment | None = None, generator: torch.Generator | None = None,
            device: torch.device | str = "cpu", drop_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield normalized float batches from uint8 tensors (augmented when ``augment_fn`` is given)."""
    _check_images("x", x)
    check_type("y", y, torch.Tensor, "a (N,) tensor of labels")
    if len(x) != len(y):
        raise InvalidArgument(f"x and y must have the same length, got {len(x)} and {len(y)}")
    batch_size = check_int("batch_size", batch_size, 1)
    _check_stats(x, mean, std)
    check_bool("shuffle", shuffle)
    check_bool("drop_last", drop_last)
    if augment_fn is not None and not callable(augment_fn):
        raise InvalidType(f"augment_fn must be None or a callable (e.g. Augment), got {augment_fn!r}")
    n = len(y)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        xb = x[idx]
        if augment_fn is not None:
            xb = augment_fn(xb, generator)
        yield normalize(xb.to(device, non_blocking=True), mean, std), y[idx].to(device, non_blocking=True)


def _check_images(name: str, x) -> None:
    check_type(name, x, torch.Tensor, "a (N, C, H, W) image tensor")
    if x.dim() != 4:
        raise InvalidArgument(f"{name} must be a (N, C, H, W) image tensor, got shape {tuple(x.shape)}")


def _check_stats(x: torch.Tensor, mean, std) -> None:
    """``mean`` and ``std``: one finite number per channel of ``x``; ``std`` > 0."""
    from .errors import check_positive, check_real

    for arg, vals in (("mean", mean), ("std", std)):
        if isinstance(vals, (str, bytes)) or not hasattr(vals, "__len__"):
            raise InvalidType(f"{arg} must be a sequence of {x.shape[1]} numbers (one per channel), got {vals!r}")
        if len(vals) != x.shape[1]:
            raise InvalidArgument(f"{arg} must have one entry per channel ({x.shape[1]}), got {vals!r}")
        for v in vals:
            (check_positive if arg == "std" else check_real)(arg, v)


def default_augment(name: str) -> Augment | None:
    """The usual recipe: crop(pad 4)+flip on CIFAR-10, none on the digit sets."""
    return Augment(4, True) if name == "cifar10" else None
