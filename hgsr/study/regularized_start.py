"""Continue a committed dense start with a sparsity penalty and commit the result with a card:
``python -m hgsr.study.regularized_start resnet20_cifar10_hgsr``.

The HGSR filter-pruning paper prunes a network that the HGSR penalty has *already* trained: its premise is
that the penalty drives the channels to be removed toward zero first. On two CPU cores the reference recipe
(100 epochs from scratch) is out of reach, so :data:`RECIPES` continues the committed dense ResNet-20
(:mod:`hgsr.pretrained`) with the reference code's penalty ``λ·[λ2·HSQ-GL1/2 + (1 − λ2)·L1]``
(feature-wise, every conv but the residual shortcuts) at the reference learning rate, momentum, weight
decay and batch size, with the reference step schedule (×0.2) compressed to the epochs given.

Training uses the training images **minus** ``val_images`` held out with :meth:`hgsr.data.Dataset.holdout`
(the same images for every run), so notebook 06 can choose on images this start never trained on. (The
dense start itself trained on all 50,000 training images: its card says so.)

After every epoch the card's ``channel_history`` records, per target conv, the fraction of output filters
whose L2 norm is below ``SMALL`` (1 %) of the layer's largest filter norm, and the same for input channels
(the groups the feature-wise penalty acts on): the evidence that the penalty made channels small.
Training goes through :func:`hgsr.train.fit` with a checkpoint under ``runs/pretrain/<name>/``: an
interrupted run resumes after its last finished epoch.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from .. import data as hdata
from .. import groups, pretrained, regularizers, train
from ..errors import InvalidArgument, check_int
from ..io import atomic_save, atomic_write_json, file_digest
from ..pretrained import PRETRAINED_DIR, weights_path
from .pruning_starts import HGSR_PENALTY
from .dense_start import _git_commit, machine_record, runs_folder, write_card

SMALL = 0.01   # a channel is "small" when its L2 norm is below 1 % of its layer's largest

RECIPES: dict[str, dict] = {
    "resnet20_cifar10_hgsr": dict(
        start="resnet20_cifar10", dataset="cifar10", val_images=5000, epochs=15, batch_size=128, lr=0.01,
        momentum=0.9, weight_decay=5e-4, schedule=("step", 5, 0.2), augment="crop4+flip",
        regularizer=dict(HGSR_PENALTY)),
}


def small_fractions(model: torch.nn.Module, small: float = SMALL) -> dict[str, dict[str, float]]:
    """``{conv name: {"filters": f, "inputs": g}}``: the fraction of output filters ``o`` with
    ``‖W[o]‖₂ < small · max_o' ‖W[o']‖₂``, and of input channels ``i`` with
    ``‖W[:, i]‖₂ < small · max_i' ‖W[:, i']‖₂``, for every target conv of ``model``."""
    out = {}
    with torch.no_grad():
        for name, conv in groups.target_convs(model):
            W = conv.weight.detach().float()
            f, i = groups.filter_l2(W), groups.channel_l2(W)
            out[name] = {"filters": float((f < small * f.max()).float().mean()),
                         "inputs": float((i < small * i.max()).float().mean())}
    return out


def make(name: str, epochs: int | None = None, device=None, out_dir: Path | None = None, runs: Path | None = None,
         progress: bool = True) -> dict:
    """Continue ``RECIPES[name]["start"]`` with its penalty (resuming a checkpoint); write weights + card."""
    if name not in RECIPES:
        raise InvalidArgument(f"name={name!r} is not a regularized-start recipe; known: {', '.join(RECIPES)}")
    recipe = dict(RECIPES[name])
    if epochs is not None:
        recipe["epochs"] = check_int("epochs", epochs, 1)
    device = torch.device(device) if device is not None else train.default_device()
    rest, _ = hdata.load(recipe["dataset"]).holdout(recipe["val_images"])
    model = pretrained.load(recipe["start"])
    reg = regularizers.from_spec(recipe["regularizer"])
    folder = runs_folder(runs) / "pretrain" / f"{name}-e{recipe['epochs']}"
    folder.mkdir(parents=True, exist_ok=True)
    stats_path = folder / "channel_history.json"
    history = json.loads(stats_path.read_text()) if stats_path.exists() else []
    kw = dict(epochs=recipe["epochs"], lr=recipe["lr"], momentum=recipe["momentum"],
              weight_decay=recipe["weight_decay"], schedule=tuple(recipe["schedule"]),
              batch_size=recipe["batch_size"], regularizer=reg, augment=hdata.Augment(4, True), seed=0,
              device=device, checkpoint=folder / "checkpoint.pt", progress=progress)
    t0 = time.perf_counter()
    if not history:
        history = [{"epoch": 0, "channels": small_fractions(model)}]
    done = len(history) - 1
    resumed_finished = done >= recipe["epochs"]
    while done < recipe["epochs"]:
        table = train.fit(model, rest, _stop_after=done + 1, **kw)
        done = len(table)
        row = table.iloc[-1].to_dict()
        history.append({"epoch": done, "test_acc": row["test_acc"], "train_loss": row["train_loss"],
                        "penalty": row["penalty"], "seconds": row["seconds"],
                        "channels": small_fractions(model)})
        atomic_write_json(history, stats_path)
    if resumed_finished:   # nothing trained in this call: the finished checkpoint holds the last epoch's weights
        train.fit(model, rest, **kw)
    acc = train.evaluate(model, rest, device=device)["accuracy"]
    out_dir = Path(out_dir or PRETRAINED_DIR)
    wpath = weights_path(name, out_dir)
    atomic_save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, wpath)
    start_card = pretrained.card(recipe["start"])
    card = {
        "name": name, "model": start_card["model"], "dataset": recipe["dataset"],
        "model_kw": start_card.get("model_kw", {}), "start": recipe["start"],
        "test_accuracy": acc, "test_images": int(len(rest.test_y)), "train_images": int(len(rest.train_y)),
        "val_images": recipe["val_images"], "holdout_seed": hdata.HOLDOUT_SEED, "recipe": recipe,
        "epochs": recipe["epochs"], "small": SMALL,
        "wall_seconds": round(sum(r.get("seconds", 0.0) for r in history), 1),
        "channel_history": history,
        "machine": machine_record(device),
        "commit": _git_commit(), "sha256": file_digest(wpath),
    }
    return write_card(card, out_dir, t0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m hgsr.study.regularized_start", description=__doc__.splitlines()[0])
    p.add_argument("name", choices=sorted(RECIPES))
    p.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 … (default: CUDA when present)")
    p.add_argument("--out", default=None, help=f"folder for weights and card (default {PRETRAINED_DIR})")
    a = p.parse_args(argv)
    card = make(a.name, a.epochs, a.device, Path(a.out) if a.out else None)
    print(json.dumps({k: card[k] for k in ("name", "test_accuracy", "epochs", "wall_seconds", "sha256")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
