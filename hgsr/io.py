"""Atomic file writes (write to a temporary file in the same folder, then ``os.replace``), verified
reads and file digests.

A process killed mid-write leaves at most a stray ``*.tmp`` file, never a truncated target. A file
damaged afterwards (truncated, or bytes changed at the same size) is caught by :func:`verified_load`:
``torch.save`` writes a zip archive with a CRC-32 per record, which is checked before unpickling.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Iterable, Mapping

import torch

from .errors import CorruptFile


def file_digest(path, algorithm: str = "sha256") -> str:
    """The hex digest of a file's bytes (``hashlib.new(algorithm)``, read in 4 MiB chunks)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def state_digest(state) -> str:
    """SHA-256 hex digest of a state dict: each entry's name, dtype, shape and bytes, in sorted key order
    (a non-tensor entry by its ``repr``). Two state dicts have the same digest exactly when they hold the
    same tensors; stored beside a cached result's metrics, it ties them to the weights they measured."""
    h = hashlib.sha256()
    for name in sorted(state):
        value = state[name]
        h.update(str(name).encode() + b"\0")
        if isinstance(value, torch.Tensor):
            t = value.detach().cpu().contiguous()
            h.update(f"{t.dtype}{tuple(t.shape)}\0".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy())
        else:
            h.update(repr(value).encode() + b"\0")
    return h.hexdigest()


def _atomic(path, write):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_save(obj, path):
    """``torch.save`` to ``path`` atomically."""
    return _atomic(path, lambda f: torch.save(obj, f))


def atomic_write_text(text: str, path):
    return _atomic(path, lambda f: f.write(text.encode()))


def atomic_write_json(obj, path):
    return atomic_write_text(json.dumps(obj, indent=2, sort_keys=True, default=str), path)


def verified_load(path, what: str = "file", remedy: str = "delete it and run again", **kw):
    """``torch.load(path, **kw)`` after checking the archive's CRC-32 of every record.

    Raises :class:`~hgsr.errors.CorruptFile` naming ``path`` (and ``remedy``) when the file is not a
    torch archive, is truncated, fails a checksum or cannot be unpickled; FileNotFoundError when it
    does not exist. ``what`` names the kind of file in the message (e.g. ``"checkpoint"``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} {path} does not exist")
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
        if bad is not None:
            raise CorruptFile(f"record {bad} fails its CRC-32 check", path)
        return torch.load(path, **kw)
    except Exception as e:
        reason = "not a torch archive" if isinstance(e, zipfile.BadZipFile) else f"{type(e).__name__}: {e}"
        raise CorruptFile(f"{what} {path} is truncated or corrupt ({str(reason)[:300]}); {remedy}", path) from e


@contextlib.contextmanager
def environment(values: Mapping[str, str] | None = None, restore: Iterable[str] = ()):
    """Set ``values`` in ``os.environ`` for the block (a process started inside inherits them); afterwards
    every variable of ``values`` and of ``restore`` (ones something inside may set) is as before the
    block: its old value, or unset if it was unset."""
    values = dict(values or {})
    old = {k: os.environ.get(k) for k in [*values, *restore]}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
