"""Committed dense starting points: ``data/pretrained/<name>.pt`` with a card ``<name>.json``.

The card records the test accuracy on the full test set, the recipe, the model's input and output
shape (``model_kw``), the machine, the commit and the SHA-256 of the weights file. :func:`load`
rebuilds the model, checks the hash against the card and names the file and the fix when it does not
match. Weights are trained by :mod:`hgsr.study.dense_start` (dense) and :mod:`hgsr.study.regularized_start`.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from . import models
from .io import file_digest

PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "data" / "pretrained"


class PretrainedError(FileNotFoundError):
    """A pretrained file is missing, unreadable or does not match its card."""


def weights_path(name: str, folder: Path | None = None) -> Path:
    return Path(folder or PRETRAINED_DIR) / f"{name}.pt"


def card_path(name: str, folder: Path | None = None) -> Path:
    return Path(folder or PRETRAINED_DIR) / f"{name}.json"


def available(folder: Path | None = None) -> list[str]:
    """Names with both a weights file and a card."""
    folder = Path(folder or PRETRAINED_DIR)
    return sorted(p.stem for p in folder.glob("*.json") if weights_path(p.stem, folder).exists())


def card(name: str, folder: Path | None = None) -> dict:
    """The card of a pretrained network (a dict read from its JSON file)."""
    path = card_path(name, folder)
    if not path.exists():
        known = ", ".join(available(folder)) or "none"
        raise PretrainedError(f"name={name!r}: no card {path}; available: {known}. "
                              f"Train one with `python -m hgsr.study.dense_start {name}`.")
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise PretrainedError(f"{path} cannot be read ({e}); restore it with `git checkout -- {path}`") from e


def load(name: str, device=None, folder: Path | None = None) -> torch.nn.Module:
    """The pretrained model ``name`` in eval mode, after checking its weights against the card's SHA-256."""
    c = card(name, folder)
    path = weights_path(name, folder)
    fix = (f"restore it with `git checkout -- {path}` (or `git lfs pull`), or retrain it with "
           f"`python -m hgsr.study.dense_start {name}`")
    if not path.exists():
        raise PretrainedError(f"weights file {path} is missing; {fix}")
    digest = file_digest(path)
    if digest != c["sha256"]:
        raise PretrainedError(f"{path} has SHA-256 {digest[:12]}…, its card {card_path(name, folder)} "
                              f"says {c['sha256'][:12]}…; {fix}")
    if c.get("format") == "compact":          # a pruned network: its own layer widths (hgsr.prune.save_compact)
        from .prune import load_compact
        return load_compact(path).to(device or "cpu").eval()
    model = models.build(c["model"], **c.get("model_kw", {}))   # cards without model_kw: the builder's defaults
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.to(device or "cpu").eval()
