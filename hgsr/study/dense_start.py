"""Train a dense starting point and commit it with a card: ``python -m hgsr.study.dense_start resnet20_cifar10``.

Evidence header (the recipe is :data:`RECIPES`; the measured figures are in the card,
``data/pretrained/<name>.json``, next to the weights):

- ResNet-20 on the full CIFAR-10 training set (50,000 images), random crop (pad 4) + horizontal
  flip, SGD with Nesterov momentum 0.9, weight decay 5e-4 on every parameter, batch 128, learning
  rate 0.1 with a linear warm-up over the first epoch then cosine to zero, no label smoothing.
- Evaluated once, at the end, on the full 10,000-image test set.

The loop keeps the uint8 images on the device and augments them there (the airbench habit), so a
GPU is not starved by the host; on a CPU it is the same code. A checkpoint is written atomically
after every epoch under ``runs/pretrain/<name>-seed<k>/``: an interrupted run resumes after its last
finished epoch. :mod:`hgsr.pretrained` loads the committed result and checks its hash.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from .. import data as hdata
from .. import models, train
from ..errors import InvalidArgument, InvalidType, is_int
from ..io import atomic_save, atomic_write_json, file_digest
from ..progress import progress_bar
from ..pretrained import PRETRAINED_DIR, card_path, weights_path
from ..train import default_device

RECIPES: dict[str, dict] = {
    "resnet20_cifar10": dict(model="resnet20", dataset="cifar10", epochs=160, batch_size=128, lr=0.1,
                             momentum=0.9, nesterov=True, weight_decay=5e-4, warmup_epochs=1,
                             schedule="cosine", label_smoothing=0.0, augment="crop4+flip"),
}


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).resolve().parents[2]).stdout.strip()
    except Exception:  # no git (a copied tree): the caller may say which commit it is
        return os.environ.get("HGSR_COMMIT")


def machine_record(device: torch.device) -> dict:
    """What a card records of the machine that made an artifact: the GPU's name or the CPU architecture, the
    CPU instruction set torch used, torch's intra-op threads, and the torch and Python versions."""
    return {"device": (torch.cuda.get_device_name(device) if device.type == "cuda"
                       else platform.processor() or platform.machine()),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version()}


def write_card(card: dict, out_dir: Path, started: float) -> dict:
    """Write ``card`` next to its weights (``<out_dir>/<name>.json``, atomically), say so with the time this
    call took and the card's test accuracy, and return it."""
    atomic_write_json(card, card_path(card["name"], out_dir))
    print(f"{card['name']}: {time.perf_counter() - started:.0f} s in this call, test accuracy "
          f"{card['test_accuracy']:.4f}")
    return card


def runs_folder(runs: Path | None = None) -> Path:
    """``runs`` if given, else ``$HGSR_RUNS``, else ``runs/`` at the repository root."""
    return Path(runs or os.environ.get("HGSR_RUNS", Path(__file__).resolve().parents[2] / "runs"))


def _lr_at(step: int, total: int, warmup: int, base: float) -> float:
    """Linear warm-up over ``warmup`` steps, then ``base · ½(1 + cos(π·t))`` with t the remaining fraction."""
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1.0 + math.cos(math.pi * t))


def pretrain(name: str, seed: int = 0, epochs: int | None = None, device=None, out_dir: Path | None = None,
             runs: Path | None = None, progress: bool = True, data_root=None) -> dict:
    """Train ``RECIPES[name]`` from scratch (resuming a checkpoint), write weights + card; return the card."""
    if name not in RECIPES:
        raise InvalidArgument(f"name={name!r} is not a pretrain recipe; known: {', '.join(RECIPES)}")
    recipe = dict(RECIPES[name])
    if epochs is not None:
        if not is_int(epochs):
            raise InvalidType(f"epochs={epochs!r} must be a positive integer, not a {type(epochs).__name__}")
        if epochs < 1:
            raise InvalidArgument(f"epochs={epochs!r} must be a positive integer")
        recipe["epochs"] = int(epochs)
    device = torch.device(device) if device is not None else default_device()
    ds = hdata.load(recipe["dataset"], root=data_root)
    torch.manual_seed(seed)
    model = models.build(recipe["model"], ds.num_classes, ds.in_channels, ds.image_size).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=recipe["lr"], momentum=recipe["momentum"],
                          nesterov=recipe["nesterov"], weight_decay=recipe["weight_decay"])
    xtr, ytr = ds.train_x.to(device), ds.train_y.to(device)
    gen = torch.Generator(device=device).manual_seed(seed)
    bs, E = recipe["batch_size"], recipe["epochs"]
    steps = len(ytr) // bs                                  # drop the last partial batch
    total, warmup = E * steps, recipe["warmup_epochs"] * steps
    ck = runs_folder(runs) / "pretrain" / f"{name}-seed{seed}-e{E}" / "checkpoint.pt"
    start, history, elapsed = 0, [], 0.0
    if ck.exists():
        try:
            state = torch.load(ck, map_location=device, weights_only=False)
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            gen.set_state(state["generator"].to(gen.get_state().device) if hasattr(state["generator"], "to")
                          else state["generator"])
            start, history, elapsed = state["epoch"], state["history"], state["seconds"]
        except Exception as e:  # a half-written or foreign file: say so and start again
            print(f"warning: checkpoint {ck} could not be read ({type(e).__name__}: {e}); starting from epoch 0")
            start, history, elapsed = 0, [], 0.0
    bar = progress_bar(range(start, E), desc=f"pretrain {name} seed {seed}", enabled=progress, dynamic_ncols=True)
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(len(ytr), device=device, generator=gen)
        loss_sum = torch.zeros((), device=device)
        for k in range(steps):
            for g in opt.param_groups:
                g["lr"] = _lr_at(epoch * steps + k, total, warmup, recipe["lr"])
            idx = order[k * bs:(k + 1) * bs]
            xb = hdata.normalize(hdata.augment(xtr[idx], 4, True, gen), ds.mean, ds.std)
            out = model(xb)
            loss = F.cross_entropy(out, ytr[idx], label_smoothing=recipe["label_smoothing"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach()
        train_loss = loss_sum.item() / steps
        if not math.isfinite(train_loss):
            raise FloatingPointError(f"pretrain {name}: non-finite training loss in epoch {epoch + 1}")
        elapsed += time.perf_counter() - t0
        row = {"epoch": epoch + 1, "train_loss": train_loss, "seconds": elapsed}
        if (epoch + 1) % 20 == 0 or epoch + 1 == E:
            row["test_acc"] = train.evaluate(model, ds, device=device)["accuracy"]
        history.append(row)
        bar.set_postfix(loss=f"{train_loss:.3f}", **({"test": f"{row['test_acc']:.4f}"} if "test_acc" in row else {}))
        atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "generator": gen.get_state(),
                     "epoch": epoch + 1, "history": history, "seconds": elapsed}, ck)
    acc = train.evaluate(model, ds, device=device)["accuracy"]
    out_dir = Path(out_dir or PRETRAINED_DIR)
    wpath = weights_path(name, out_dir)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_save(state, wpath)
    card = {
        "name": name, "model": recipe["model"], "dataset": recipe["dataset"],
        "model_kw": {"num_classes": ds.num_classes, "in_channels": ds.in_channels, "image_size": ds.image_size},
        "test_accuracy": acc, "test_images": int(len(ds.test_y)), "train_images": int(len(ytr)),
        "seed": seed, "recipe": recipe, "epochs": E, "wall_seconds": round(elapsed, 1),
        "history": history,
        "machine": machine_record(device),
        "commit": _git_commit(), "sha256": file_digest(wpath),
    }
    atomic_write_json(card, card_path(name, out_dir))
    return card


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m hgsr.study.dense_start", description=__doc__.splitlines()[0])
    p.add_argument("name", choices=sorted(RECIPES))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 … (default: CUDA when present)")
    p.add_argument("--out", default=None, help=f"folder for weights and card (default {PRETRAINED_DIR})")
    a = p.parse_args(argv)
    card = pretrain(a.name, a.seed, a.epochs, a.device, Path(a.out) if a.out else None)
    print(json.dumps({k: card[k] for k in ("name", "test_accuracy", "epochs", "wall_seconds", "sha256")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
