"""Atomic file writes: write to a temporary file in the same folder, then ``os.replace``.

A process killed mid-write leaves at most a stray ``*.tmp`` file, never a truncated target.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch


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
