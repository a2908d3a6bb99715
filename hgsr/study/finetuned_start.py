"""Fine-tune the headline networks of notebook 06 and commit them with cards:
``python -m hgsr.study.finetuned_start --seeds 0 1 2``.

Notebook 06 compares pruning protocols on the HGSR-trained ResNet-20 (:mod:`hgsr.study.regularized_start`)
with short fine-tunes, chosen on validation images that start never trained on. What two CPU cores cannot
redo inside the notebook is the **long fine-tuning of the headline**: the winning protocol's compact network
and the dense control, each with the same schedule (:data:`hgsr.study.pruning_starts.LONG_FINETUNE`: SGD, cosine from ``lr`` to 0 over
``epochs`` epochs, crop + flip, the training images minus the validation split), for every seed. Each one is
a file in ``data/pretrained/`` with a card (recipe, device, wall time, the protocol and the SHA-1 of its
removal plan, the per-epoch full-test-set accuracy: the budget curve of 06, the SHA-256 of the file).

- ``resnet20_cifar10_hgsr_pruned_seed<k>``: the winning protocol's plan applied to the HGSR start, then
  fine-tuned with seed ``k``; stored as a compact file (:func:`hgsr.prune.save_compact`).
- ``resnet20_cifar10_dense_finetuned_seed<k>``: the dense control: the dense start continued with the same
  schedule and seed, unpruned.

Fine-tuning checkpoints after every epoch under ``runs/pretrain/<name>/``: an interrupted run resumes.
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import torch

from .. import measure, prune, train
from ..errors import InvalidArgument
from ..io import file_digest
from ..pretrained import PRETRAINED_DIR, weights_path
from .pruning_starts import LONG_FINETUNE as RECIPE   # one home: the study states the schedule
from .dense_start import _git_commit, machine_record, runs_folder, write_card
from . import filter_pruning

KINDS = ("pruned", "dense")


def artifact_name(kind: str, seed: int) -> str:
    """The committed name of a headline network (:func:`hgsr.study.pruning_starts.pruned_name`, ``dense_name``)."""
    from . import pruning_starts

    if kind not in KINDS:
        raise InvalidArgument(f"kind={kind!r}; known: {', '.join(KINDS)}")
    return pruning_starts.pruned_name(seed) if kind == "pruned" else pruning_starts.dense_name(seed)




def dense_inputs() -> dict:
    """What the dense control needs: the dense start, the training images minus the validation split (with
    the full test split), the model's builder arguments and input shape."""
    from .. import data as hdata
    from .. import pretrained
    from .pruning_starts import DENSE, HOLDOUT

    card = pretrained.card(DENSE)
    ds, _ = hdata.load(card["dataset"]).holdout(HOLDOUT)
    return {"dense": pretrained.load(DENSE), "dense_name": DENSE, "train": ds, "val_images": HOLDOUT,
            "builder": {"name": card["model"], **card.get("model_kw", {})},
            "input_shape": (ds.in_channels, ds.image_size, ds.image_size)}


def make(kind: str, seed: int, inputs: dict, epochs: int | None = None, device=None, out_dir: Path | None = None,
         runs: Path | None = None, progress: bool = True) -> dict:
    """Fine-tune one headline network (``kind`` "pruned" or "dense", ``seed``) and write it with its card.

    ``inputs``: :func:`dense_inputs` for the dense control; for "pruned" also ``start`` (the HGSR-trained
    model), ``start_name``, ``plan``, ``protocol`` and ``fraction`` (what notebook 06 chose:
    :func:`hgsr.study.filter_pruning.headline_inputs`)."""
    recipe = dict(RECIPE, epochs=epochs or RECIPE["epochs"])
    name = artifact_name(kind, seed)
    device = torch.device(device) if device is not None else train.default_device()
    ds, shape = inputs["train"], inputs["input_shape"]
    if kind == "pruned":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # constants of padded consumers dropped: expected (surgery)
            model = prune.prune(inputs["start"], inputs["plan"], shape)
    else:
        import copy
        model = copy.deepcopy(inputs["dense"])
    folder = runs_folder(runs) / "pretrain" / f"{name}-e{recipe['epochs']}"
    t0 = time.perf_counter()
    history = prune.finetune(model, ds, recipe["epochs"], lr=recipe["lr"], momentum=recipe["momentum"],
                             weight_decay=recipe["weight_decay"], schedule=recipe["schedule"],
                             batch_size=recipe["batch_size"], seed=seed, device=device, progress=progress,
                             checkpoint=folder / "checkpoint.pt", eval_every=1)
    model.cpu().eval()
    acc = train.evaluate(model, ds)["accuracy"]
    out_dir = Path(out_dir or PRETRAINED_DIR)
    wpath = weights_path(name, out_dir)
    prune.save_compact(model, wpath, inputs["builder"])
    pruned = kind == "pruned"
    card = {
        "name": name, "format": "compact", "model": inputs["builder"]["name"], "dataset": ds.name,
        "kind": kind, "seed": seed, "protocol": inputs["protocol"] if pruned else None,
        "plan_sha1": filter_pruning.plan_digest(inputs["plan"]) if pruned else None,
        "fraction": inputs["fraction"] if pruned else None,
        "plan": {g: [int(c) for c in cs] for g, cs in inputs["plan"].items()} if pruned else None,
        "start": inputs["start_name"] if pruned else inputs["dense_name"],
        "params": measure.count_params(model), "macs": measure.count_macs(model, shape),
        "test_accuracy": acc, "test_images": int(len(ds.test_y)), "train_images": int(len(ds.train_y)),
        "val_images": inputs["val_images"], "recipe": recipe, "epochs": recipe["epochs"],
        "wall_seconds": round(float(history["seconds"].sum()), 1),
        "history": [{"epoch": int(r.epoch), "test_acc": float(r.test_acc), "train_loss": float(r.train_loss),
                     "seconds": float(r.seconds)} for r in history.itertuples()],
        "machine": machine_record(device),
        "commit": _git_commit(), "sha256": file_digest(wpath),
    }
    return write_card(card, out_dir, t0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m hgsr.study.finetuned_start", description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    p.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    p.add_argument("--profile", default="default", help="the study profile whose protocol choice is fine-tuned")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 … (default: CUDA when present)")
    p.add_argument("--out", default=None, help=f"folder for weights and cards (default {PRETRAINED_DIR})")
    a = p.parse_args(argv)
    inputs = dense_inputs()
    if "pruned" in a.kinds:
        inputs.update(filter_pruning.headline_inputs(a.profile))
    for seed in a.seeds:
        for kind in a.kinds:
            card = make(kind, seed, inputs, a.epochs, a.device, Path(a.out) if a.out else None)
            print(json.dumps({k: card[k] for k in ("name", "test_accuracy", "epochs", "wall_seconds")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
