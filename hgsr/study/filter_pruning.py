"""HGSR filter pruning of a ResNet-20 on CIFAR-10 (docs/methods.md section 3), as notebook 06 runs it.

    out = study("default")      # every step cached; notebooks 07 and 08 call the same thing
    out["curves"]               # accuracy vs parameters removed per protocol, before fine-tuning
    out["finetuned"]            # each protocol fine-tuned briefly; out["headline"] the winner over seeds

The pipeline:

1. **Starts** (:mod:`hgsr.study.pruning_starts`): the committed dense ResNet-20 and the committed
   HGSR-trained one (the dense start continued with the reference code's penalty ``λ·[½·HSQ-GL1/2 + ½·L1]``,
   feature-wise, on the training images minus :data:`~hgsr.study.pruning_starts.HOLDOUT` held-out images).
   Both enter the cache as runs of 0 epochs (:func:`configs`): nothing is trained here.
2. **Scores** on the HGSR start from every registered criterion (:mod:`hgsr.prune.ranking.criteria`):
   loss increase ΔL on ``score_samples`` training images, filter magnitude, BN γ, dead inputs.
3. **Protocols** (:data:`PROTOCOLS`): criterion × candidates × ranking × one-shot/iterative. Candidates
   ``"internal"``: only block-internal channels (each block's ``conv1``) may go; ``"all"``: the
   residual-stream channels of each stage too, coupled across every block of the stage (one group).
   Ranking ``"global"`` compares scores across layers (ΔL is in units of the loss, comparable everywhere);
   ``"layer"`` removes the same fraction of every layer (scale-dependent scores: filter norms before
   BatchNorm, dead inputs); the global ranking of a scale-dependent score is kept as a labelled ablation.
   Every layer keeps at least :data:`MIN_KEEP` of its channels. ``iterative`` re-scores after each chunk
   is silenced (:func:`hgsr.prune.iterative_plans`). For each fraction of the candidate channels the
   lowest-scored ones are removed physically; the compact network is evaluated on the test split with its
   stale BatchNorm statistics and after recalibrating them on ``calibration_images`` training images
   (:func:`curve`).
4. **Choice**: every protocol's compact network at the smallest fraction that removes
   ``≥ TARGET_PARAMS_REMOVED`` of the parameters is fine-tuned briefly; the winner is chosen on the
   held-out **validation** images, which the HGSR start never trained on (the dense start it continued
   did: its card says so, and the notebook too).
5. **Headline** (:func:`headline`): the winner and the dense control after the long fine-tuning of
   :mod:`hgsr.study.finetuned_start` (committed, one pair per seed), re-measured on the test split; when no
   committed pair has the chosen plan (another profile, a changed pipeline), the short fine-tunes of
   ``fp_seeds`` seeds stand in and the verdict says so.

Budgets: the shared ones of the profile (:data:`hgsr.experiments.PROFILES`: ``cifar_test``) and this study's
own, :data:`BUDGETS` (read once per pipeline by :func:`budget` and passed down).

Every trained number comes from :func:`hgsr.experiments.run`, :func:`hgsr.experiments.cached` or a
committed network with a card.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import json
import math
import re
import textwrap
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd
import torch
from torch import nn

from .. import compact, experiments, measure, prune, results, train, viz
from .. import pretrained as hpretrained
from ..errors import InvalidArgument
from ..viz import style, vocabulary
from .. import data as hdata
from . import published, pruning_starts

TASK = "resnet20_cifar10"
PRETRAINED = pruning_starts.DENSE
MIN_KEEP = 0.25               # every layer keeps at least a quarter of its channels
RANKINGS = ("global", "layer")
TARGET_PARAMS_REMOVED = 0.5   # the paper's headline: > 50 % of the parameters removed ...
TARGET_DROP_POINTS = 1.0      # ... for at most this many points of accuracy (ours; the paper reports 0.3)
PUBLISHED_KEY = "hgsr_resnet_cifar10"
CANDIDATES = ("internal", "all")   # which channels may be removed: block-internal ones, or the residual stream too

# This study's budget per profile (the profiles are those of hgsr.experiments.PROFILES). ``train_images``: the
# training images (of those the HGSR start trained on; None: all) that scores and short fine-tunes draw from;
# ``score_samples``: images for loss-increase scoring; ``prune_fractions``: fractions of the candidate channels
# removed; ``calibration_images``: training images that re-estimate BatchNorm statistics after pruning;
# ``finetune_epochs``, ``finetune_train``, ``finetune_lr``: the short fine-tune of each protocol (the choice);
# ``val_images``: held-out images that choose the protocol (of the HGSR start's held-out ones); ``fp_seeds``:
# seeds of the short fine-tunes that stand in for the headline when no committed long fine-tune fits.
# Cached results are keyed by these values.
BUDGETS: dict[str, dict[str, Any]] = {
    "smoke": {"train_images": 512, "score_samples": 16, "prune_fractions": (0.5,), "calibration_images": 256,
              "finetune_epochs": 1, "finetune_train": 256, "finetune_lr": 0.002, "val_images": 256, "fp_seeds": 2},
    "default": {"train_images": None, "score_samples": 1024, "prune_fractions": (0.3, 0.5, 0.65),
                "calibration_images": 2000, "finetune_epochs": 2, "finetune_train": 10000, "finetune_lr": 0.01,
                "val_images": 5000, "fp_seeds": 3},
    "paper": {"train_images": None, "score_samples": 1024, "prune_fractions": (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8),
              "calibration_images": 2000, "finetune_epochs": 40, "finetune_train": 45000, "finetune_lr": 0.001,
              "val_images": 5000, "fp_seeds": 3},
}


def budget(profile: str) -> dict[str, Any]:
    """This study's budget at ``profile`` (:data:`BUDGETS`); an unknown name lists the known profiles."""
    experiments.profile(profile)
    return dict(BUDGETS[profile])


@dataclass(frozen=True)
class Protocol:
    criterion: str                # a registered criterion (hgsr.prune.ranking.criteria)
    candidates: str = "internal"  # "internal": block-internal channels only; "all": the residual stream too
    iterative: bool = False       # re-score after each chunk is silenced
    ranking: str = "global"       # "global": one ranking across layers; "layer": the same fraction of each layer

    def __post_init__(self):
        if self.candidates not in CANDIDATES:
            raise InvalidArgument(f"candidates={self.candidates!r}; known: {', '.join(CANDIDATES)}")
        if self.ranking not in RANKINGS:
            raise InvalidArgument(f"ranking={self.ranking!r}; known: {', '.join(RANKINGS)}")

    @property
    def name(self) -> str:
        return (f"{self.criterion} · {self.candidates}" + (" · per layer" if self.ranking == "layer" else "")
                + (" · iterative" if self.iterative else ""))

    @property
    def label(self) -> str:
        return (f"{prune.criteria.label(self.criterion)}, {self.candidates}"
                + (", per layer" if self.ranking == "layer" else "")
                + (", iterative" if self.iterative else ""))

    @property
    def ablation(self) -> bool:
        """A scale-dependent score ranked across layers: kept to show why it is not the protocol."""
        return self.ranking == "global" and self.criterion in SCALE_DEPENDENT


SCALE_DEPENDENT = ("magnitude", "dead_inputs")   # filter norms before BatchNorm: not comparable across layers
PROTOCOLS = (Protocol("loss", "all"), Protocol("loss", "internal"), Protocol("loss", "internal", True),
             Protocol("magnitude", "all", ranking="layer"), Protocol("magnitude", "internal", ranking="layer"),
             Protocol("bn_gamma", "internal"), Protocol("dead_inputs", "internal", ranking="layer"),
             Protocol("magnitude", "internal"))   # the last: the global-ranking ablation


def configs(profile: str, base: experiments.Config | None = None,
            knobs: dict | None = None) -> dict[str, experiments.Config]:
    """``{"dense": dense start, "hgsr": HGSR-trained start}`` as runs of 0 epochs of the committed networks
    (:mod:`hgsr.study.pruning_starts`), on the budget's ``train_images`` of the images the HGSR start trained on
    (``val_images`` = its held-out images) and the profile's ``cifar_test`` test images. ``base`` (tests): a
    config to train instead, ``"hgsr"`` with the HGSR start's penalty. ``knobs``: :func:`budget` if read."""
    if base is not None:
        return {"dense": base, "hgsr": base.replace(regularizer=dict(pruning_starts.HGSR_PENALTY))}
    B = budget(profile) if knobs is None else knobs
    common = dict(dataset="cifar10", model="resnet20", epochs=0, train_subset=B["train_images"],
                  test_subset=experiments.profile(profile)["cifar_test"], val_images=pruning_starts.HOLDOUT,
                  augment=True, profile=profile)
    return {"dense": experiments.Config(pretrained=pruning_starts.DENSE, **common),
            "hgsr": experiments.Config(pretrained=pruning_starts.HGSR, **common)}


def validation_split(config: experiments.Config, n: int) -> hdata.Dataset:
    """``n`` training images ``config``'s start never trained on, as the *test* split of a Dataset: the split
    on which protocols are compared. With ``val_images`` (the committed starts): a stratified draw of ``n``
    of its held-out images; otherwise ``n`` images disjoint from its ``train_subset``."""
    if config.val_images is not None:
        val = experiments.validation_for(config)
        return val if n >= len(val.test_y) else val.subset(None, n)
    return _validation_split(config.dataset, config.train_subset, config.seed, n)


@functools.lru_cache(maxsize=4)
def _validation_split(dataset: str, train_subset: int | None, seed: int, n: int) -> hdata.Dataset:
    """:func:`validation_split`, memoized: every fine-tuning of a study reads the same split (one load of
    the whole dataset, not one per fine-tuning)."""
    full = hdata.load(dataset)
    used = set(hdata.stratified_indices(full.train_y, train_subset, seed).tolist())
    free = torch.tensor([i for i in range(len(full.train_y)) if i not in used])
    pick = free[hdata.stratified_indices(full.train_y[free], n, seed + 7)]
    return hdata.Dataset(full.name, full.train_x[:0], full.train_y[:0], full.train_x[pick], full.train_y[pick],
                         list(full.classes))


def _shape(config: experiments.Config) -> tuple[int, int, int]:
    return experiments.input_shape(experiments.dataset_for(config))


def _digest(table: pd.DataFrame) -> str:
    blob = table[["channel", "score"]].to_numpy(dtype="float64").tobytes() + "|".join(table["group"]).encode()
    return hashlib.sha1(blob).hexdigest()[:16]


def candidate_groups(model: nn.Module, shape, candidates: str) -> set[str]:
    """Names of the prunable groups whose channels may be removed: ``"all"`` = every group, ``"internal"`` =
    the groups that are not residual-coupled."""
    if candidates not in CANDIDATES:
        raise InvalidArgument(f"candidates={candidates!r} is not a candidate set; known: {', '.join(CANDIDATES)}")
    return {g.name for g in prune.prunable_groups(model, shape) if candidates == "all" or not g.coupled}


def _score_kw(n_samples: int, seed: int = 0) -> dict:
    """The options every criterion is given (each takes the ones it uses: ``loss`` both)."""
    return {"n_samples": n_samples, "seed": seed}


def channel_scores(run: experiments.Run, n_samples: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """``{criterion: score table}`` of ``run``'s model for every registered criterion (cached); those that
    read images (``loss``) on ``n_samples`` training images drawn with ``seed``."""
    def compute():
        ds, shape = experiments.dataset_for(run.config), _shape(run.config)
        return {c: prune.criteria.score(run.model, c, shape, ds, **_score_kw(n_samples, seed))
                for c in prune.criteria.names()}

    return experiments.cached("fp_scores", {"run": run.config.hash(), "n_samples": n_samples, "seed": seed,
                                            "criteria": prune.criteria.names(),
                                            "loss_scores": prune.SCORES_VERSION}, compute)


def _plan(scores: pd.DataFrame, groups: set[str], fraction: float, ranking: str = "global") -> dict:
    """Remove ``fraction`` of the candidate channels with the lowest scores, ranked across layers or within
    each (``ranking``), every group keeping at least :data:`MIN_KEEP` of its channels."""
    return prune.select(scores[scores["group"].isin(groups)], fraction=fraction, scope=ranking,
                        on_empty="keep", min_keep=MIN_KEEP)


def narrowest(plan: dict, sizes: dict[str, int]) -> tuple[str, float]:
    """``(group, fraction kept)`` of the group ``plan`` leaves narrowest, relative to its width (``sizes``:
    channels per prunable group)."""
    kept = {g: (n - len(plan.get(g, []))) / n for g, n in sizes.items()}
    g = min(kept, key=lambda k: (kept[k], k))
    return g, kept[g]


def curve(run: experiments.Run, protocol: Protocol, scores: dict[str, pd.DataFrame], fractions: Sequence[float],
          n_samples: int, calibration_images: int) -> dict:
    """Accuracy on the test split without fine-tuning, one row per fraction of the candidate channels
    (0 = unpruned): ``{"table": protocol, fraction, channels_removed, params, macs, params_removed,
    macs_removed, test_acc (stale BatchNorm statistics), test_acc_recalibrated (statistics re-estimated on
    ``calibration_images`` training images), narrowest_layer, narrowest_kept; "plans": {fraction: plan}}``.
    Cached by the run, the protocol, the scores, the fractions and the floor."""
    fractions = sorted(float(f) for f in fractions)
    key = {"run": run.config.hash(), "protocol": protocol.name, "fractions": fractions, "n_samples": n_samples,
           "scores": _digest(scores[protocol.criterion]), "schema": results.SCHEMA_VERSION,
           "min_keep": MIN_KEEP, "calibration_images": calibration_images}

    def compute():
        ds, shape = experiments.dataset_for(run.config), _shape(run.config)
        groups = candidate_groups(run.model, shape, protocol.candidates)
        if protocol.iterative:   # re-scored on the silenced model between chunks; the first chunk: ``scores``
            plans = prune.iterative_plans(run.model, ds, shape, fractions, protocol.criterion, groups=groups,
                                          first=scores[protocol.criterion], score_kw=_score_kw(n_samples),
                                          scope=protocol.ranking, min_keep=MIN_KEEP)
        else:
            plans = {f: _plan(scores[protocol.criterion], groups, f, protocol.ranking) for f in fractions}
        acc0 = run.metrics["test_acc"]        # the unpruned model on the same test split
        sizes = {g.name: g.size for g in prune.prunable_groups(run.model, shape)}
        rows = [{"fraction": 0.0, "channels_removed": 0, "params": measure.count_params(run.model),
                 "macs": measure.count_macs(run.model, shape), "params_removed": 0.0, "macs_removed": 0.0,
                 "test_acc": acc0, "test_acc_recalibrated": acc0, "narrowest_layer": None, "narrowest_kept": 1.0}]
        for f, plan in plans.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")   # dropped constants of padded consumers: expected (surgery)
                small, m = compact.prune_and_measure(run.model, plan, ds, shape, acc0)
            train.recalibrate_batchnorm(small, ds, calibration_images)
            g, kept = narrowest(plan, sizes)
            rows.append({"fraction": f, "channels_removed": sum(len(v) for v in plan.values()),
                         "params": m["params"], "macs": m["macs"], "params_removed": m["params_removed"],
                         "macs_removed": m["macs_removed"], "test_acc": m["acc_pruned"],
                         "test_acc_recalibrated": train.evaluate(small, ds)["accuracy"],
                         "narrowest_layer": g, "narrowest_kept": kept})
        return {"table": pd.DataFrame(rows).assign(protocol=protocol.name, label=protocol.label), "plans": plans}

    return experiments.cached("fp_curve", key, compute)


def plan_digest(plan: dict) -> str:
    return hashlib.sha1(json.dumps(plan, sort_keys=True).encode()).hexdigest()[:16]


def target_fraction(table: pd.DataFrame, target: float = TARGET_PARAMS_REMOVED) -> float:
    """The smallest fraction of a :func:`curve` that removes ``>= target`` of the parameters (the
    largest fraction when none does)."""
    d = table[table["fraction"] > 0].sort_values("fraction")
    hit = d[d["params_removed"] >= target]
    return float((hit if len(hit) else d).iloc[0 if len(hit) else -1]["fraction"])


def finetune(run: experiments.Run, name: str, plan: dict | None, fraction: float, knobs: dict,
             seed: int) -> dict:
    """Prune ``run``'s model by ``plan`` (the protocol ``name``'s choice at ``fraction``; None: no
    pruning, the dense control),
    fine-tune ``finetune_epochs`` on ``finetune_train`` images with ``seed`` (SGD at ``finetune_lr``,
    cosine, crop + flip; ``knobs``: a profile's :func:`budget`), and evaluate on the test and
    ``val_images`` validation images (cached).

    Returns ``{"row": dict, "model": the fine-tuned network, "widths": {group: channels}}``."""
    cfg = run.config
    lr = knobs["finetune_lr"]
    key = {"run": cfg.hash(), "plan": None if plan is None else plan_digest(plan), "fraction": float(fraction),
           "epochs": knobs["finetune_epochs"], "train": knobs["finetune_train"], "val": knobs["val_images"],
           "seed": seed, "lr": lr, "schema": results.SCHEMA_VERSION}

    def compute():
        ds, shape = experiments.dataset_for(cfg), _shape(cfg)
        model = run.model
        if plan is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model, m = compact.prune_and_measure(model, plan, ds, shape, run.metrics["test_acc"])
        else:
            model = copy.deepcopy(model)
            m = {"params_removed": 0.0, "macs_removed": 0.0, "acc_pruned": None,
                 "params": measure.count_params(model), "macs": measure.count_macs(model, shape)}
        part = ds.subset(min(knobs["finetune_train"], len(ds.train_y)), None, seed)   # from the run's own images
        val = validation_split(cfg, knobs["val_images"])        # never trained on: the protocols' referee
        tune = hdata.Dataset(part.name, part.train_x, part.train_y, val.test_x, val.test_y, list(ds.classes))
        history = prune.finetune(model, tune, knobs["finetune_epochs"], lr=lr, optimizer=cfg.optimizer,
                                 momentum=cfg.momentum, weight_decay=cfg.weight_decay, schedule="cosine",
                                 batch_size=cfg.batch_size, seed=seed, progress=False,
                                 eval_every=knobs["finetune_epochs"])
        model.cpu().eval()
        row = {"protocol": name, "fraction": float(fraction),
               "seed": seed, "params": m["params"], "macs": m["macs"], "params_removed": m["params_removed"],
               "macs_removed": m["macs_removed"], "acc_pruned": m["acc_pruned"],
               "test_acc": train.evaluate(model, ds)["accuracy"], "val_acc": float(history["test_acc"].iloc[-1]),
               "test_images": len(ds.test_y)}
        return {"row": row, "model": model, "widths": prune.widths(model, shape)}

    return experiments.cached("fp_finetune", key, compute)


def binomial_se(acc: float, n: int) -> float:
    """Standard error of an accuracy measured on ``n`` independent test images: ``sqrt(p(1−p)/n)``."""
    return math.sqrt(max(acc * (1 - acc), 0.0) / n)


def study(profile: str, protocols: Sequence[Protocol] = PROTOCOLS, base: experiments.Config | None = None,
          progress: bool = False) -> dict:
    """The whole pipeline at ``profile``'s budget (every step cached).

    Returns ``{"runs", "scores", "curves" (one table, all protocols), "finetuned" (one short fine-tune per
    protocol, seed 0), "winner" (Protocol), "plan" (its removal plan), "headline" (rows of the winner and the
    dense control for every seed), "headline_source" ("committed" long fine-tunes or "short" fine-tunes),
    "headline_cards", "plan_differences", "other_protocols", "models" ({name: fine-tuned network}), "widths", "widths_dense",
    "input_shape", "pretrained_acc", "budget"}``."""
    B = budget(profile)          # read once, passed down
    chosen_out = choose(profile, protocols, base, progress, B)
    cfgs, runs, winner = chosen_out["configs"], chosen_out["runs"], chosen_out["winner"]
    shape, plan_win, f_win = chosen_out["input_shape"], chosen_out["plan"], chosen_out["fraction"]
    committed = (pruning_starts.committed_headline(winner.name, f_win, plan_win, experiments.dataset_for(cfgs["hgsr"]))
                 if base is None else {"rows": pd.DataFrame(), "cards": {}, "models": {}, "plan_differences": 0,
                                       "other_protocols": []})
    if len(committed["rows"]):
        head, source = committed["rows"].assign(fraction=f_win), "committed"
        dense_model = committed["models"][pruning_starts.dense_name(int(head["seed"].min()))]
        for col in ("params_removed", "macs_removed"):
            head[col] = _removed(head, runs["dense"].model, shape, col)
    else:
        rows, source, dense_model = [], "short", None
        for s in range(B["fp_seeds"]):
            rows.append({**finetune(runs["hgsr"], winner.name, plan_win, f_win, B, s)["row"], "protocol": winner.name})
            ctrl = finetune(runs["dense"], "dense control", None, 0.0, B, s)
            rows.append(ctrl["row"])
            dense_model = ctrl["model"] if dense_model is None else dense_model
        head = pd.DataFrame(rows)
    models = {**chosen_out["models"], "dense": dense_model}
    return {**{k: chosen_out[k] for k in ("runs", "scores", "curves", "finetuned", "winner", "plan", "widths",
                                          "input_shape")},
            "headline": head, "headline_source": source, "headline_cards": committed["cards"],
            "plan_differences": committed["plan_differences"], "other_protocols": committed["other_protocols"],
            "models": models, "widths_dense": prune.widths(runs["dense"].model, shape), "budget": B,
            "pretrained_acc": hpretrained.card(PRETRAINED)["test_accuracy"] if base is None else None}


def choose(profile: str, protocols: Sequence[Protocol] = PROTOCOLS, base: experiments.Config | None = None,
           progress: bool = False, knobs: dict | None = None) -> dict:
    """Steps 1-4 of :func:`study`: the starts, the scores, the curves, one short fine-tune per protocol and the
    winner on the validation images. Returns ``{"configs", "runs", "scores", "curves", "finetuned", "winner",
    "plan", "fraction" (the winner's), "models", "widths", "input_shape"}``."""
    B = budget(profile) if knobs is None else knobs
    cfgs = configs(profile, base, B)
    runs = {k: experiments.run(c, progress=progress) for k, c in cfgs.items()}
    shape = _shape(cfgs["hgsr"])
    n = B["score_samples"]
    scores = channel_scores(runs["hgsr"], n)
    done = {p.name: curve(runs["hgsr"], p, scores, B["prune_fractions"], n, B["calibration_images"])
            for p in protocols}
    curves = pd.concat([d["table"] for d in done.values()], ignore_index=True)
    curves["ablation"] = curves["protocol"].map({p.name: p.ablation for p in protocols})
    names = vocabulary.layer_names(runs["hgsr"].model)      # layer1.0.conv1 -> conv2, layer1 -> its residual stream
    curves["narrowest_layer"] = curves["narrowest_layer"].map(lambda g: vocabulary.group_name(g, names))
    curves = curves[["label"] + [c for c in curves.columns if c != "label"]]      # a reader reads the protocol first
    points, models, widths, chosen = [], {}, {}, {}
    for p in protocols:
        f = target_fraction(done[p.name]["table"])
        chosen[p.name] = (done[p.name]["plans"][f], f)
        out = finetune(runs["hgsr"], p.name, chosen[p.name][0], f, B, 0)
        points.append({**out["row"], "protocol": p.name, "label": p.label, "ablation": p.ablation})
        models[model_key(p, f)] = out["model"]
        widths[model_key(p, f)] = out["widths"]
    finetuned = pd.DataFrame(points)
    finetuned = finetuned[["label"] + [c for c in finetuned.columns if c != "label"]]
    eligible = finetuned[~finetuned["ablation"]]
    winner = next(p for p in protocols if p.name == eligible.sort_values("val_acc", ascending=False,
                                                                          kind="stable").iloc[0]["protocol"])
    plan_win, f_win = chosen[winner.name]
    return {"configs": cfgs, "runs": runs, "scores": scores, "curves": curves, "finetuned": finetuned,
            "winner": winner, "plan": plan_win, "fraction": f_win, "models": models, "widths": widths,
            "input_shape": shape}


def _removed(head: pd.DataFrame, dense: nn.Module, shape, col: str) -> list[float]:
    """``params_removed`` / ``macs_removed`` of each headline row against the dense network."""
    total = measure.count_params(dense) if col == "params_removed" else measure.count_macs(dense, shape)
    key = "params" if col == "params_removed" else "macs"
    return [1 - v / total for v in head[key]]


def headline_inputs(profile: str = "default") -> dict:
    """What :mod:`hgsr.study.finetuned_start` needs to fine-tune the winner of ``profile``'s choice: the HGSR
    start, the winner's plan, its SHA-1 and protocol name (cached study steps)."""
    out = choose(profile)
    return {"start": out["runs"]["hgsr"].model, "start_name": pruning_starts.HGSR, "plan": out["plan"],
            "protocol": out["winner"].name, "fraction": out["fraction"]}


def model_key(protocol: Protocol, fraction: float) -> str:
    """Name of a fine-tuned compact network, e.g. ``"loss · internal 50%"``."""
    return f"{protocol.name} {fraction:.0%}"


def model_label(key: str, protocols: Sequence[Protocol] = PROTOCOLS) -> str:
    """A :func:`model_key` as a reader names it, by its protocol's label: ``"bn_gamma · internal 65%"`` ->
    ``"BN |γ|, internal, 65% of the candidates"``; ``"dense"`` -> ``"dense control"``; any other name as it is."""
    if key == "dense":
        return "dense control"
    name, _, fraction = str(key).rpartition(" ")
    p = next((p for p in protocols if p.name == name), None)
    return f"{p.label}, {fraction} of the candidates" if p is not None and fraction.endswith("%") else key


def headline(out: dict) -> dict:
    """The winner against the dense control, over seeds: mean and std of the test accuracy of each,
    the change in points (mean pruned − mean control), its standard error over seeds
    ``sqrt(s_p²/k + s_c²/k)``, the binomial standard error of one accuracy on the test set, the
    fractions removed, the source (committed long fine-tunes or short ones) and ``meets_target``."""
    h = out["headline"]
    pr, ctrl = h[h["protocol"] != "dense control"], h[h["protocol"] == "dense control"]
    k = len(pr)
    acc, acc_dense = float(pr["test_acc"].mean()), float(ctrl["test_acc"].mean())
    sd = float(pr["test_acc"].std(ddof=1)) if k > 1 else float("nan")
    sd_dense = float(ctrl["test_acc"].std(ddof=1)) if len(ctrl) > 1 else float("nan")
    change = 100 * (acc - acc_dense)
    se_change = 100 * math.sqrt(sd ** 2 / k + sd_dense ** 2 / len(ctrl)) if k > 1 else float("nan")
    n = int(pr["test_images"].iloc[0])
    row = pr.iloc[0]
    epochs = int(row["epochs"]) if "epochs" in pr.columns and pd.notna(row.get("epochs")) else None
    return {"name": model_key(out["winner"], row["fraction"]), "protocol": out["winner"].name,
            "label": out["winner"].label, "fraction": float(row["fraction"]),
            "params_removed": float(row["params_removed"]), "macs_removed": float(row["macs_removed"]),
            "acc": acc, "acc_std": sd, "acc_dense": acc_dense, "acc_dense_std": sd_dense,
            "acc_change_points": change, "acc_change_se_points": se_change, "seeds": k, "test_images": n,
            "binomial_se_points": 100 * binomial_se(acc, n), "source": out.get("headline_source", "short"),
            "plan_differences": out.get("plan_differences", 0),
            "finetune_epochs": epochs if epochs is not None else out.get("budget", {}).get("finetune_epochs"),
            "meets_target": bool(row["params_removed"] >= TARGET_PARAMS_REMOVED and change >= -TARGET_DROP_POINTS)}


def headline_table(best: dict, profile: str) -> pd.DataFrame:
    """``06_headline``: ours (mean over seeds, std, seeds, test images) and the published row."""
    pub = published.row(PUBLISHED_KEY)
    return pd.DataFrame([
        {"setting": f"ours: ResNet-20, CIFAR-10, profile {profile}", "model": model_label(best["name"]),
         "params_removed": best["params_removed"], "macs_removed": best["macs_removed"],
         "acc_dense": best["acc_dense"], "acc": best["acc"], "acc_change_points": best["acc_change_points"],
         "acc_std": best["acc_std"], "acc_dense_std": best["acc_dense_std"], "seeds": best["seeds"],
         "finetune_epochs": best["finetune_epochs"], "test_images": best["test_images"],
         "binomial_se_points": best["binomial_se_points"]},
        {"setting": f"published: {pub['setting']}", "model": pub["source"], "params_removed": pub["params_removed"],
         "macs_removed": None, "acc_dense": None, "acc": None, "acc_change_points": pub["acc_change_points"],
         "acc_std": None, "acc_dense_std": None, "seeds": None, "finetune_epochs": None, "test_images": None,
         "binomial_se_points": None}])


def verdict(best: dict, profile: str) -> str:
    """Markdown: the headline against the ≥ 50 % / ≤ 1 point target, with its uncertainty, how it was
    fine-tuned, and the published HGSR result (``data/published.csv``) beside it."""
    pub = published.row(PUBLISHED_KEY)
    noise = (f"± {best['acc_change_se_points']:.2f} (standard error over {best['seeds']} seeds; one accuracy on "
             f"{best['test_images']:,} test images has a binomial standard error of "
             f"{best['binomial_se_points']:.2f} points)" if best["seeds"] > 1 else "(one seed: no spread)")
    inside = (best["seeds"] > 1 and abs(best["acc_change_points"] + TARGET_DROP_POINTS) < 2 * best["acc_change_se_points"])
    how = (f"both fine-tuned {best['finetune_epochs']} epochs with the same schedule (the committed long "
           f"fine-tunes, re-measured here"
           + (f"; their removal plan differs from this run's in {best['plan_differences']} channel(s)"
              if best.get("plan_differences") else "") + ")" if best["source"] == "committed" else
           f"both fine-tuned {best['finetune_epochs']} epoch(s) with this profile's short schedule (no committed "
           f"long fine-tune has this removal plan)")
    return (f"**ResNet-20 / CIFAR-10 ({profile} profile):** the winning protocol on the validation split, "
            f"*{best['label']}*, removes {best['params_removed']:.1%} of the parameters and {best['macs_removed']:.1%} "
            f"of the MACs; it reaches {100 * best['acc']:.2f}% against {100 * best['acc_dense']:.2f}% "
            f"for the dense control, {how}: {best['acc_change_points']:+.2f} points {noise}. "
            f"The target (≥ {TARGET_PARAMS_REMOVED:.0%} removed for ≥ −{TARGET_DROP_POINTS:.1f} point) is "
            f"{'met' if best['meets_target'] else 'not met'}"
            + (", but the margin is inside two standard errors: the seeds do not decide it" if inside else "")
            + f". *Published* ({pub['source']}): {pub['result']}, with {pub['setting'].split(', ')[-1]}.")


def compact_models(profile: str) -> dict[str, nn.Module]:
    """``{"dense": the fine-tuned dense control, "<protocol> <fraction>": fine-tuned compact ResNet-20, ...}``
    of :func:`study` at ``profile`` (cached; for notebook 08)."""
    return dict(study(profile)["models"])


def score_agreement(scores: dict[str, pd.DataFrame], bottom: float = 0.3) -> pd.DataFrame:
    """For each pair of criteria: the Spearman rank correlation of their scores over the same channels,
    and the overlap ``|B_a ∩ B_b| / |B_a|`` of the ``bottom`` fraction each ranks lowest (what a
    global selection at that fraction removes first, ignoring the never-empty rule)."""
    names = list(scores)
    merged = None
    for c in names:
        t = scores[c][["group", "channel", "score"]].rename(columns={"score": c})
        merged = t if merged is None else merged.merge(t, on=["group", "channel"])
    k = int(math.floor(bottom * len(merged) + 0.5))
    low = {c: set(merged.nsmallest(k, c, keep="first").index) for c in names}
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            rows.append({"criterion_a": a, "criterion_b": b,
                         "spearman": float(merged[a].rank().corr(merged[b].rank())),
                         f"overlap_lowest_{bottom:.0%}": len(low[a] & low[b]) / max(k, 1)})
    return pd.DataFrame(rows)


def residual_share(scores: pd.DataFrame, model: nn.Module, shape, bottom: float = 0.1) -> dict:
    """How many of the ``bottom`` fraction of channels a global ranking removes first are residual-stream
    channels, against their share of all channels: ``{"residual_in_bottom", "bottom", "residual_share"}``."""
    coupled = {g.name for g in prune.prunable_groups(model, shape) if g.coupled}
    k = int(math.floor(bottom * len(scores) + 0.5))
    low = scores.nsmallest(k, "score", keep="first")
    return {"residual_in_bottom": int(low["group"].isin(coupled).sum()), "bottom": k,
            "residual_share": float(scores["group"].isin(coupled).mean())}


# channel groups of ResNet-20 by stage (colour, dark to light: none of the protocols' colours) and kind (marker)
_STAGE_GREYS = ("0.05", "0.4", "0.68")


def _stage_kind(group: str) -> tuple[int, str]:
    """``("layer2" -> (2, "residual stream"), "layer2.1.conv1" -> (2, "block-internal"))``; (0, group) otherwise."""
    m = re.match(r"layer(\d+)(\.|$)", group)
    if not m:
        return 0, group
    return int(m[1]), ("residual stream" if m[2] == "" else "block-internal")


def plot_scores(scores: dict[str, pd.DataFrame], reference: str = "loss"):
    """Scatter of ``reference``'s score (the loss increase ΔL) against every other criterion's, one point per
    channel: shade = the channel's stage, marker = residual-stream or block-internal channel (ResNet-20's
    groups, :func:`_stage_kind`); a log x axis where the scores are positive, a symlog y axis (linear within
    ±0.1, logarithmic beyond) so that one large ΔL does not flatten every other point. Returns the Figure."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter

    style.ensure()
    others = [c for c in scores if c != reference]
    fig, axes = plt.subplots(1, max(1, len(others)), figsize=(min(13.2, 4.4 * max(1, len(others))), 5.0),
                             layout="constrained", squeeze=False, sharey=True)
    ref = scores[reference]
    kinds = {g: _stage_kind(g) for g in dict.fromkeys(ref["group"])}
    stages = sorted({k[0] for k in kinds.values()})
    shade = {st: _STAGE_GREYS[i % len(_STAGE_GREYS)] for i, st in enumerate(stages)}
    marker = {"residual stream": "D", "block-internal": "o"}
    for ax, c in zip(axes[0], others):
        m = ref.merge(scores[c], on=["group", "channel"], suffixes=("_ref", "_other"))
        m = m[m["score_other"].abs() < float("inf")]
        m = m.assign(stage=[kinds[g][0] for g in m["group"]], kind=[kinds[g][1] for g in m["group"]])
        for (st, kind), d in m.groupby(["stage", "kind"], sort=True):
            ax.scatter(d["score_other"], d["score_ref"], s=28 if kind == "block-internal" else 40,
                       color=shade[st], marker=marker.get(kind, "s"), edgecolors="white", linewidths=0.4,
                       label=f"stage {st}, {kind}" if st else kind)
        if (m["score_other"] > 0).all():
            ax.set_xscale("log")
            style.log_ticks(ax, "x")
        ax.set_yscale("symlog", linthresh=0.1, linscale=0.6)
        ax.set_xlabel(f"{prune.criteria.label(c)}")
        ax.axhline(0, color="0.6", lw=0.8, zorder=0)
        ax.set_title(f"ΔL against {prune.criteria.label(c)}")
    axes[0][0].set_ylabel(f"{prune.criteria.label(reference)} (symlog)")
    axes[0][0].yaxis.set_major_locator(FixedLocator([-1, -0.1, 0, 0.1, 1, 10, 100]))
    axes[0][0].yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(3, len(labels)))
    fig.suptitle("one point per channel of the HGSR start")
    return fig


def scores_verdict(share: dict, bottom: float = 0.1) -> str:
    """Markdown: how many residual-stream channels a global ΔL ranking puts in its lowest ``bottom``."""
    return (f"Of the {share['bottom']} channels a global loss-increase ranking removes first (the lowest "
            f"{bottom:.0%}), {share['residual_in_bottom']} are residual-stream channels, which make up "
            f"{share['residual_share']:.0%} of all prunable channels.")


def curves_verdict(curves: pd.DataFrame, target: float = TARGET_PARAMS_REMOVED) -> str:
    """Markdown: before fine-tuning, the protocol with the highest test accuracy among the points that
    remove at least ``target`` of the parameters, and the one with the lowest."""
    d = curves[curves["params_removed"] >= target]
    if d.empty:
        return f"No protocol removes {target:.0%} of the parameters at the fractions tried."
    first = d.sort_values("fraction").groupby("protocol", sort=False).head(1).sort_values("test_acc")
    hi, lo = first.iloc[-1], first.iloc[0]
    return (f"Before fine-tuning, at the first fraction that removes ≥ {target:.0%} of the parameters, "
            f"*{hi['label']}* keeps the most accuracy ({100 * hi['test_acc']:.2f}% with "
            f"{hi['params_removed']:.0%} removed) and *{lo['label']}* the least ({100 * lo['test_acc']:.2f}% "
            f"with {lo['params_removed']:.0%} removed).")


def finetune_verdict(finetuned: pd.DataFrame, winner: Protocol, val_images: int) -> str:
    """Markdown: the protocol chosen on the validation split after one fine-tuning, the spread, and
    whether the runner-up is within two standard errors of it (``sqrt(p(1−p)/n)`` per accuracy on
    ``val_images`` images): then the choice is inside the noise and the sentence says so."""
    d = finetuned.sort_values("val_acc", ascending=False)
    w, r = d.iloc[0], (d.iloc[1] if len(d) > 1 else None)
    text = (f"After fine-tuning (one seed), *{winner.label}* has the best **validation** accuracy "
            f"({100 * w['val_acc']:.2f}%; test {100 * w['test_acc']:.2f}%, {w['params_removed']:.0%} of the "
            f"parameters removed); the validation accuracies of the {len(d)} protocols span "
            f"{100 * d['val_acc'].min():.2f}–{100 * d['val_acc'].max():.2f}%.")
    if r is not None:
        se = 100 * math.sqrt(binomial_se(w["val_acc"], val_images) ** 2 + binomial_se(r["val_acc"], val_images) ** 2)
        gap = 100 * (w["val_acc"] - r["val_acc"])
        text += (f" The runner-up, *{r['label']}*, is {gap:.2f} points behind"
                 + (f", inside two standard errors of the difference (±{se:.2f} points on {val_images:,} images): "
                    f"the choice between them is decided by noise." if gap < 2 * se else
                    f" (standard error of the difference ±{se:.2f} points): the choice is outside the noise."))
    return text + " The headline below uses the chosen protocol."


CHANCE = 0.1   # CIFAR-10: ten classes


def _reference_lines(ax, start_acc: float | None = None, dense: float | None = None):
    """The unpruned HGSR start (black, dotted), chance (grey, dash-dot) and the dense control (grey, dashed)."""
    if start_acc is not None:
        ax.axhline(start_acc, color="k", ls=":", lw=1.4, label="unpruned HGSR start")
    ax.axhline(CHANCE, color=style.REFERENCE, ls="-.", lw=1.2, label="chance (10 classes)")
    if dense is not None:
        ax.axhline(dense, color=style.REFERENCE, ls="--", lw=1.4, label="dense control, fine-tuned")


def _protocol_lines(ax, curves: pd.DataFrame, y: str, styles: dict) -> None:
    for label, d in curves.groupby("label", sort=False):
        d = d.sort_values("params_removed")
        ablation = bool(d["ablation"].iloc[0])
        ax.plot(d["params_removed"], d[y], marker=styles[label]["marker"], color=styles[label]["color"],
                ls="--" if ablation else "-", label=label + (" (ablation)" if ablation else ""))


def plot_curves(curves: pd.DataFrame, start_acc: float):
    """Accuracy before fine-tuning against the parameters removed, one line per protocol (its colour in every
    figure of the notebook): top row with the stale BatchNorm statistics, bottom row recalibrated; left the
    loss-increase protocols, right the others (ablations dashed); the unpruned start and chance as reference
    lines; one legend for all panels. Returns the Figure."""
    import matplotlib.pyplot as plt

    style.ensure()
    fig, axes = plt.subplots(2, 2, figsize=(12.5, 7.4), layout="constrained", sharex=True, sharey=True)
    st = style.series_styles(list(dict.fromkeys(curves["label"])))
    loss_like = curves["protocol"].str.startswith("loss")
    for row, y in enumerate(("test_acc", "test_acc_recalibrated")):
        for col, part in enumerate((curves[loss_like], curves[~loss_like])):
            ax = axes[row][col]
            _protocol_lines(ax, part, y, st)
            _reference_lines(ax, start_acc)
            style.format_axis(ax, "x", "params_removed")
            style.format_axis(ax, "y", "test_acc")
            same = viz.tradeoffs.coinciding({lab: d.sort_values("params_removed")
                                             for lab, d in part.groupby("label", sort=False)}, "params_removed", y)
            ax.set_title(("loss increase ΔL" if col == 0 else "other criteria")
                         + (", stale BatchNorm" if row == 0 else ", BatchNorm recalibrated")
                         + "".join("\n" + textwrap.fill(f"{' and '.join(g)}: one curve", 40) for g in same))
            if col:
                ax.set_ylabel("")
            if not row:
                ax.set_xlabel("")
    seen, refs = {}, {}
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            (seen if lab in st or lab.endswith("(ablation)") else refs).setdefault(lab, h)
    seen.update(refs)                                   # the protocols, then the reference lines
    fig.legend(list(seen.values()), list(seen), loc="outside right upper")
    return fig


def plot_finetuned(curves: pd.DataFrame, finetuned: pd.DataFrame, dense_control: float | None = None,
                   start_acc: float | None = None):
    """Left, the recalibrated curves (before fine-tuning) of every protocol; right, one row per protocol (best
    first) with its accuracy after the short fine-tune (filled) and before it at the same fraction (open,
    BatchNorm recalibrated), joined: what fine-tuning recovered. Reference lines: the dense control fine-tuned
    (``dense_control``), the unpruned HGSR start (``start_acc``), chance. Colours are the protocols'.
    Returns the Figure."""
    import matplotlib.pyplot as plt

    style.ensure()
    fig, (left, right) = plt.subplots(1, 2, figsize=(13.2, 6.2), layout="constrained",
                                      gridspec_kw={"width_ratios": [1.0, 1.25]})
    st = style.series_styles(list(dict.fromkeys(list(curves["label"]) + list(finetuned["label"]))))
    _protocol_lines(left, curves, "test_acc_recalibrated", st)
    _reference_lines(left, start_acc, dense_control)
    style.format_axis(left, "x", "params_removed")
    style.format_axis(left, "y", "test_acc")
    left.set_title("before fine-tuning (BatchNorm recalibrated)")
    d = finetuned.sort_values("test_acc", ascending=True).reset_index(drop=True)
    for k, r in d.iterrows():
        before = curves[(curves["protocol"] == r["protocol"]) & (curves["fraction"] == r["fraction"])]
        s_ = st[r["label"]]
        if len(before):
            b = float(before["test_acc_recalibrated"].iloc[0])
            right.plot([b, r["test_acc"]], [k, k], color=s_["color"], lw=1.6, zorder=2)
            right.scatter([b], [k], marker=s_["marker"], s=70, facecolors="white", edgecolors=s_["color"],
                          linewidths=1.6, zorder=3)
        right.scatter([r["test_acc"]], [k], marker=s_["marker"], s=90, color=s_["color"], zorder=4)
    for x, ls, color, lab in ((dense_control, "--", style.REFERENCE, "dense control, fine-tuned"),
                              (start_acc, ":", "k", "unpruned HGSR start")):
        if x is not None:
            right.axvline(x, color=color, ls=ls, lw=1.4)
            right.annotate(lab, (x, len(d) - 0.5), xytext=(-4, 0), textcoords="offset points", ha="right",
                           va="center", fontsize=style.FONT_MIN, color=color)
    names = [f"{lab}{' (ablation)' if abl else ''}, {pr:.0%} removed"
             for lab, abl, pr in zip(d["label"], d["ablation"], d["params_removed"])]
    right.set_yticks(range(len(d)), [textwrap.fill(n, 30) for n in names])
    right.set_ylim(-0.6, len(d) - 0.2)
    style.format_axis(right, "x", "test_acc")
    right.grid(False, axis="y")
    right.set_title("after the short fine-tune (filled; open: before it)")
    handles, labels = left.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3)
    fig.suptitle("ResNet-20 / CIFAR-10: the pruning protocols before and after fine-tuning")
    return fig


def plot_layer_widths(out: dict, best: dict):
    """The winner's channels per group against the dense network's (:func:`hgsr.viz.layer_widths`), the
    groups named as a reader names them (:func:`hgsr.viz.vocabulary.group_name`: ``conv2``, ``stage 1
    residual stream``), the bars in the winning protocol's colour. Returns the Figure."""
    names = vocabulary.layer_names(out["runs"]["hgsr"].model)
    before = out["widths_dense"]
    return viz.layer_widths(before, out["widths"][best["name"]],
                            title=f"{best['label']}: {best['fraction']:.0%} of the candidate channels removed",
                            label=best["label"], names={g: vocabulary.group_name(g, names) for g in before})


def breakdown(out: dict, best: dict) -> pd.DataFrame:
    """Where the headline's accuracy went, step by step on the test split: the dense start, the HGSR start
    (the penalty phase), the winner's compact network before fine-tuning (stale and recalibrated BatchNorm),
    after fine-tuning, and the dense control after the same fine-tuning; ``change_points`` is each step's
    change from the previous row (the dense control's: from the dense start)."""
    runs, curves = out["runs"], out["curves"]
    row = curves[(curves["protocol"] == best["protocol"]) & (curves["fraction"] == best["fraction"])].iloc[0]
    steps = [("dense start", runs["dense"].metrics["test_acc"]),
             ("HGSR start (after the penalty phase)", runs["hgsr"].metrics["test_acc"]),
             ("winner pruned, stale BatchNorm", row["test_acc"]),
             ("winner pruned, BatchNorm recalibrated", row["test_acc_recalibrated"]),
             (f"winner fine-tuned ({best['finetune_epochs']} epochs)", best["acc"]),
             (f"dense control fine-tuned ({best['finetune_epochs']} epochs)", best["acc_dense"])]
    t = pd.DataFrame(steps, columns=["step", "test_acc"])
    prev = t["test_acc"].shift(1)
    prev.iloc[-1] = t["test_acc"].iloc[0]
    return t.assign(change_points=100 * (t["test_acc"] - prev))


def breakdown_verdict(table: pd.DataFrame, best: dict) -> str:
    """Markdown: whether the gap to the dense control comes from the penalty phase (the start) or from the
    removal and fine-tuning (the pruning), from a :func:`breakdown` table."""
    acc = dict(zip(table["step"], table["test_acc"]))
    steps = list(acc)
    penalty = 100 * (acc[steps[1]] - acc[steps[0]])
    removal = 100 * (acc[steps[3]] - acc[steps[1]])
    recovered = 100 * (acc[steps[4]] - acc[steps[3]])
    gap = best["acc_change_points"]
    cause = ("the penalty phase, not the removal: the channels removed were already near zero, so the pruning "
             "itself cost little; what the compact network lacks is what the HGSR start had already lost"
             if abs(penalty) > abs(removal) else
             "the removal of channels the start still used, more than the penalty phase")
    return (f"The penalty phase took the network from {100 * acc[steps[0]]:.2f}% to {100 * acc[steps[1]]:.2f}% "
            f"({penalty:+.2f} points); removing {best['params_removed']:.1%} of the parameters changed it by "
            f"{removal:+.2f} points (BatchNorm recalibrated); fine-tuning recovered {recovered:+.2f} points, ending "
            f"{gap:+.2f} points from the dense control. The gap comes mostly from {cause}. This is the protocol "
            f"of this study (the reference λ in a {pruning_starts.penalty_epochs()}-epoch continuation of the dense "
            f"start), not a measurement of the method under its own 100-epoch recipe.")
