"""The committed networks behind notebook 06: the two starts and the long fine-tunes of the headline.

- **Starts** (:data:`DENSE`, :data:`HGSR`): the dense ResNet-20 and the HGSR-trained one
  (:mod:`hgsr.study.regularized_start`: the dense start continued with the reference code's penalty on the
  training images minus :data:`HOLDOUT` held-out images). :func:`premise_table` and :func:`plot_premise` show
  what the penalty did to the channels: the fraction of filters (and of input channels, the groups of the
  feature-wise penalty) whose L2 norm is below ``ρ`` times the largest of their layer, for both starts;
  :func:`channel_history` reads the per-epoch record from the HGSR start's card.
- **Steps** (:func:`steps_table`): the regularization and fine-tuning of this study beside the reference
  recipe's: epochs, optimizer steps, learning rates, and ``Σ_steps lr·λ`` (how far the penalty could move a
  weight, in the units of its subgradient).
- **Headline networks** (:mod:`hgsr.study.finetuned_start`): for each seed, the winner's compact network and
  the dense control, fine-tuned with the same long schedule. :func:`committed_headline` finds those whose
  removal plan is the one the study chose, re-measures each on the test split, and :func:`budget_curve`
  reads their per-epoch accuracy (accuracy change against fine-tuning epochs).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
from torch import nn

from .. import groups, pretrained, train
from ..viz import style, vocabulary

DENSE = "resnet20_cifar10"
HGSR = "resnet20_cifar10_hgsr"
HOLDOUT = 5000            # training images the HGSR start never trained on (its card: val_images)
RHOS = (0.01, 0.1)        # "small": below 1 % / 10 % of the largest norm of the layer
HGSR_PENALTY = {"key": "hgsr_ref", "lam": 1e-3, "lam2": 0.5, "grouping": "input"}   # the reference code's
# the long fine-tuning of the headline networks (hgsr.study.finetuned_start): the winner and the dense control alike
LONG_FINETUNE = dict(epochs=15, lr=0.01, momentum=0.9, weight_decay=5e-4, schedule="cosine", batch_size=128,
                     augment="crop4+flip")
REFERENCE = {"epochs": 100, "steps_per_epoch": 391, "lr": 0.01, "schedule": ("step", 33, 0.2), "lam": 1e-3}


def available(name: str) -> bool:
    """Whether the committed network ``name`` (weights and card) is in ``data/pretrained/``."""
    return name in pretrained.available()


def penalty_epochs() -> int:
    """Epochs of the HGSR start's penalty phase (its card)."""
    return int(pretrained.card(HGSR)["epochs"])


def relative_norms(model: nn.Module) -> pd.DataFrame:
    """One row per channel of every target conv: layer, kind ("filter": ``‖W[o]‖₂``, "input": ``‖W[:, i]‖₂``),
    index, norm, and ``relative`` = norm / the largest norm of that kind in the layer."""
    rows = []
    with torch.no_grad():
        for name, conv in groups.target_convs(model):
            W = conv.weight.detach().float()
            for kind, norms in (("filter", groups.filter_l2(W)), ("input", groups.channel_l2(W))):
                top = float(norms.max())
                rows += [{"layer": name, "kind": kind, "index": i, "norm": float(v),
                          "relative": float(v) / top if top > 0 else 0.0} for i, v in enumerate(norms)]
    return pd.DataFrame(rows)


def premise_table(models: dict[str, nn.Module], rhos=RHOS) -> pd.DataFrame:
    """Per start (``{label: model}``) and kind: the fraction of channels whose norm is below ``ρ`` of their
    layer's largest, over all target convs, for each ``ρ`` in ``rhos``; plus the median relative norm."""
    rows = []
    for label, m in models.items():
        t = relative_norms(m)
        for kind, d in t.groupby("kind", sort=False):
            rows.append({"start": label, "kind": kind, "channels": len(d),
                         **{f"below_{rho:g}": float((d["relative"] < rho).mean()) for rho in rhos},
                         "median_relative_norm": float(d["relative"].median())})
    return pd.DataFrame(rows)


def plot_premise(models: dict[str, nn.Module], kind: str = "filter"):
    """Histogram of the relative channel norms (norm / the layer's largest, log scale) of each start: the
    channels a pruning criterion would remove first sit at the left. Returns the Figure."""
    import matplotlib.pyplot as plt

    style.ensure()
    fig, ax = plt.subplots(figsize=(9, 5), layout="constrained")
    # the notebook's colours: black the HGSR start (as in the pruning curves), grey the dense network
    colors = {"dense start": style.REFERENCE, "HGSR start": "k"}
    st = style.series_styles([lab for lab in models if lab not in colors])
    bins = np.logspace(-6, 0, 49)
    for k, (label, m) in enumerate(models.items()):
        r = relative_norms(m)
        r = r[r["kind"] == kind]["relative"].clip(lower=1e-6)
        ax.hist(r, bins=bins, histtype="step", lw=2.0, ls=("-", "--")[k % 2],
                color=colors.get(label) or st[label]["color"], label=label)
    ax.set_xscale("log")
    for rho in RHOS:
        ax.axvline(rho, color="0.4", ls=":", lw=1)
    ax.set_xlabel(f"{kind} L2 norm / largest in its layer")
    ax.set_ylabel("channels (count)")
    ax.set_title(f"relative {kind} norms of the two starts (dotted: 1 % and 10 %)")
    style.legend(ax)
    return fig


def channel_history(name: str = HGSR) -> pd.DataFrame:
    """The HGSR start's per-epoch record (its card): epoch, test accuracy, and for filters and input
    channels the mean over target convs of the fraction below 1 % of the layer's largest norm, and the
    largest such fraction of one layer."""
    card = pretrained.card(name)
    small = card.get("small", 0.01)
    rows = []
    for r in card["channel_history"]:
        ch = r["channels"]
        rows.append({"epoch": r["epoch"], "test_acc": r.get("test_acc"),
                     **{f"{k}_below_{small:g}_mean": float(np.mean([v[k] for v in ch.values()]))
                        for k in ("filters", "inputs")},
                     **{f"{k}_below_{small:g}_max": float(np.max([v[k] for v in ch.values()]))
                        for k in ("filters", "inputs")}})
    return pd.DataFrame(rows)


def _lr_sum(epochs: int, steps: int, lr: float, schedule) -> float:
    """``Σ_steps lr_t`` of ``epochs`` epochs of ``steps`` steps under ``schedule`` (("step", every, γ) or
    "cosine": per epoch, as :func:`hgsr.train.make_schedule` steps it)."""
    total = 0.0
    for e in range(epochs):
        if schedule == "cosine":
            f = 0.5 * (1 + math.cos(math.pi * e / epochs))
        else:
            f = schedule[2] ** (e // schedule[1])
        total += steps * lr * f
    return total


def steps_table(short: dict, finetune_recipe: dict = LONG_FINETUNE) -> pd.DataFrame:
    """The phases of the study beside the reference recipe: epochs, steps, first learning rate, schedule,
    λ, and ``Σ lr·λ`` (the distance a subgradient of size 1 moves a weight) for the penalty phases.
    ``short``: the choice fine-tunes' budget (:func:`hgsr.study.filter_pruning.budget`); ``finetune_recipe``: the
    long fine-tuning's recipe."""
    card = pretrained.card(HGSR)
    rec = card["recipe"]
    steps = math.ceil(card["train_images"] / rec["batch_size"])
    lam = rec["regularizer"]["lam"]
    ref = REFERENCE
    rows = [
        {"phase": "reference recipe (HGSR code): penalty from scratch", "epochs": ref["epochs"],
         "steps": ref["epochs"] * ref["steps_per_epoch"], "lr": ref["lr"], "schedule": "×0.2 every 33 epochs",
         "lam": ref["lam"],
         "lr_lam_sum": ref["lam"] * _lr_sum(ref["epochs"], ref["steps_per_epoch"], ref["lr"], ref["schedule"])},
        {"phase": "this study: penalty continuing the dense start", "epochs": rec["epochs"],
         "steps": rec["epochs"] * steps, "lr": rec["lr"],
         "schedule": f"×{rec['schedule'][2]:g} every {rec['schedule'][1]} epochs", "lam": lam,
         "lr_lam_sum": lam * _lr_sum(rec["epochs"], steps, rec["lr"], tuple(rec["schedule"]))},
        {"phase": "choice of the protocol: short fine-tune of each", "epochs": short["finetune_epochs"],
         "steps": short["finetune_epochs"] * math.ceil(short["finetune_train"] / 128), "lr": short["finetune_lr"],
         "schedule": "cosine", "lam": 0.0, "lr_lam_sum": 0.0},
        {"phase": "headline: long fine-tune of the winner and the dense control", "epochs": finetune_recipe["epochs"],
         "steps": finetune_recipe["epochs"] * steps, "lr": finetune_recipe["lr"], "schedule": "cosine",
         "lam": 0.0, "lr_lam_sum": 0.0},
    ]
    return pd.DataFrame(rows)


def committed_headline(protocol: str, fraction: float, plan: dict, ds, max_seeds: int = 10) -> dict:
    """The committed long fine-tunes of ``protocol`` at ``fraction`` and the dense controls of the same seeds,
    re-measured on ``ds``'s test split: ``{"rows": DataFrame (protocol, seed, params, macs, test_acc,
    card_test_acc, test_images, epochs), "cards": {name: card}, "models": {name: network}, "plan_differences": channels in which a
    committed network's removal plan differs from ``plan`` (the most over seeds; scores computed on another
    instruction set can reorder near-ties), "other_protocols": protocols of committed networks made for
    another choice}``."""
    rows, cards, models, other, differ = [], {}, {}, [], 0
    for seed in range(max_seeds):
        pname, dname = pruned_name(seed), dense_name(seed)
        if not (available(pname) and available(dname)):
            continue
        pc, dc = pretrained.card(pname), pretrained.card(dname)
        if pc.get("protocol") != protocol or pc.get("fraction") != fraction:
            other.append(pc.get("protocol"))
            continue
        differ = max(differ, plan_difference(pc.get("plan", {}), plan))
        for name, card in ((pname, pc), (dname, dc)):
            model = pretrained.load(name)
            rows.append({"protocol": card["protocol"] if card["kind"] == "pruned" else "dense control",
                         "seed": seed, "params": card["params"], "macs": card["macs"],
                         "test_acc": train.evaluate(model, ds)["accuracy"], "card_test_acc": card["test_accuracy"],
                         "test_images": len(ds.test_y), "epochs": card["epochs"]})
            cards[name], models[name] = card, model
    return {"rows": pd.DataFrame(rows), "cards": cards, "models": models, "plan_differences": differ,
            "other_protocols": sorted(set(filter(None, other)))}


def plan_difference(a: dict, b: dict) -> int:
    """How many (group, channel) pairs are in one removal plan and not the other."""
    pa = {(g, int(c)) for g, cs in a.items() for c in cs}
    pb = {(g, int(c)) for g, cs in b.items() for c in cs}
    return len(pa ^ pb)


def pruned_name(seed: int) -> str:
    return f"{HGSR}_pruned_seed{seed}"


def dense_name(seed: int) -> str:
    return f"{DENSE}_dense_finetuned_seed{seed}"


def budget_curve(cards: dict) -> pd.DataFrame:
    """From the committed cards' per-epoch histories: for each fine-tuning epoch, the mean test accuracy of
    the pruned networks and of the dense controls over seeds, and the change in points."""
    per = {"pruned": {}, "dense": {}}
    for card in cards.values():
        for r in card["history"]:
            per[card["kind"]].setdefault(r["epoch"], []).append(r["test_acc"])
    epochs = sorted(set(per["pruned"]) & set(per["dense"]))
    return pd.DataFrame([{"epoch": e, "acc": float(np.mean(per["pruned"][e])),
                          "acc_dense": float(np.mean(per["dense"][e])),
                          "acc_change_points": 100 * (np.mean(per["pruned"][e]) - np.mean(per["dense"][e])),
                          "seeds": len(per["pruned"][e])} for e in epochs])


def plot_budget_curve(curve: pd.DataFrame, drop_target: float, label: str | None = None):
    """Accuracy change (points, winner − dense control) against fine-tuning epochs, with the target line; the
    curve in the colour of the winner's protocol ``label`` (its series colour), else black."""
    import matplotlib.pyplot as plt

    style.ensure()
    fig, ax = plt.subplots(figsize=(9, 5), layout="constrained")
    color = style.series_styles([label])[label]["color"] if label else "k"
    ax.plot(curve["epoch"], curve["acc_change_points"], marker="o", color=color,
            label=f"pruned ({label}) − dense control" if label else "pruned − dense control")
    ax.axhline(-drop_target, color=style.REFERENCE, ls="--", lw=1.2, label=f"target: −{drop_target:g} point")
    ax.axhline(0, color="0.5", lw=0.6)
    ax.set_xlabel("fine-tuning epochs")
    ax.set_ylabel("accuracy change (points)")
    ax.set_title(f"accuracy change against fine-tuning epochs (mean of {int(curve['seeds'].min())} seeds)")
    style.integer_ticks(ax, "x")
    style.legend(ax)
    return fig


def describe(profile: str, knobs: dict) -> str:
    """One paragraph (Markdown) naming the two starts from their cards and this profile's budget."""
    d, h = pretrained.card(DENSE), pretrained.card(HGSR)
    rec = h["recipe"]
    reg = rec["regularizer"]
    penalty = (f"{vocabulary.regularizer_name(reg.get('key', 'none'))} ({vocabulary.spec_text(reg)})"
               if isinstance(reg, dict) else str(reg))
    return (f"**Starts.** Dense: the committed dense ResNet-20, {d['epochs']} epochs on {d['train_images']:,} images "
            f"(every training image), {100 * d['test_accuracy']:.2f}% on {d['test_images']:,} test images, trained on "
            f"{d['machine']['device']}. HGSR: the committed HGSR-trained ResNet-20, the dense start continued "
            f"{h['epochs']} epochs with the penalty {penalty} at lr {rec['lr']:g} ({rec['schedule'][0]} "
            f"×{rec['schedule'][2]:g} every "
            f"{rec['schedule'][1]} epochs) on {h['train_images']:,} images, {100 * h['test_accuracy']:.2f}% on "
            f"{h['test_images']:,} test images, trained on {h['machine']['device']} in {h['wall_seconds'] / 60:.0f} min. "
            f"**Profile {profile}:** {knobs['score_samples']:,} scoring images, fractions "
            f"{', '.join(f'{f:g}' for f in knobs['prune_fractions'])} of the candidate channels, BatchNorm "
            f"recalibrated on {knobs['calibration_images']:,} images, short fine-tunes of {knobs['finetune_epochs']} "
            f"epoch(s) on {knobs['finetune_train']:,} images at lr {knobs['finetune_lr']:g}, the choice on "
            f"{knobs['val_images']:,} of the {h['val_images']:,} held-out images.")


def premise_verdict(table: pd.DataFrame, rho: float = RHOS[0]) -> str:
    """Markdown: the fraction of filters and of input channels below ``rho`` of their layer's largest norm in
    each start (from :func:`premise_table`), and whether the penalty made more of them small."""
    col = f"below_{rho:g}"
    t = table.set_index(["start", "kind"])[col]
    starts = list(dict.fromkeys(table["start"]))
    parts = [f"in the {s}, {t[(s, 'filter')]:.1%} of the filters and {t[(s, 'input')]:.1%} of the input channels"
             for s in starts]
    a, b = starts[0], starts[-1]
    more = t[(b, "input")] > t[(a, "input")] or t[(b, "filter")] > t[(a, "filter")]
    return (f"Below {rho:.0%} of the largest norm of their layer: " + "; ".join(parts) + ". "
            + (f"The penalty made channels small that the {a} had not: the premise of HGSR filter pruning holds "
               f"on this start." if more else
               f"The penalty made no more channels small than the {a} had: on this start the premise of HGSR "
               f"filter pruning does not hold, and the criteria below rank channels of similar size."))


def budget_verdict(curve: pd.DataFrame, drop_target: float) -> str:
    """Markdown: the accuracy change after the last fine-tuning epoch, where it first came within the target,
    and how much the last two epochs moved it (whether a longer fine-tuning would still help)."""
    if curve.empty:
        return "No committed long fine-tune has the chosen removal plan: there is no budget curve."
    last = curve.iloc[-1]
    ok = curve[curve["acc_change_points"] >= -drop_target]
    moved = (curve["acc_change_points"].iloc[-1] - curve["acc_change_points"].iloc[-3]) if len(curve) >= 3 else float("nan")
    return (f"After {int(last['epoch'])} fine-tuning epochs the pruned network is {last['acc_change_points']:+.2f} "
            f"points from the dense control (mean of {int(last['seeds'])} seed(s)); "
            + (f"it first came within −{drop_target:g} point after epoch {int(ok.iloc[0]['epoch'])}" if len(ok)
               else f"it never came within −{drop_target:g} point")
            + (f"; the last two epochs moved it by {moved:+.2f} points." if math.isfinite(moved) else "."))
