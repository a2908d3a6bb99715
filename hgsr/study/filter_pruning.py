"""HGSR filter pruning on ResNet-20 / CIFAR-10 (docs/methods.md section 3), as notebook 06 runs it.

    out = study("default")          # every step cached; notebooks 07 and 08 call the same thing
    out["sweep"]                    # accuracy vs parameters removed per criterion, before fine-tuning
    out["finetuned"]                # the fine-tuned points; out["models"] the compact networks

The pipeline:

1. two runs on the same budget (:func:`configs`): a dense baseline (weight decay only) and an
   HGSR-regularized run (default :data:`HGSR_SPEC`, the reference code's mix
   ``λ·[λ2·HSQ-GL1/2 + (1−λ2)·L1]``, λ2 = 0.5, feature-wise grouping, at λ = 3e-5: the reference
   code's λ = 1e-3 (tuned for lr 0.01, 100 epochs) left ResNet-20 at chance accuracy after the first
   of our 8 epochs at lr 0.1 (penalty ≈ 91 against a cross-entropy ≈ 2.3));
2. on the same trained model, three channel scores (lower = removed first, :func:`channel_scores`):
   loss increase ``ΔL_c = L(c removed) − L0`` on ``n_samples`` training images, filter magnitude
   ``sqrt(Σ_coupled ||F[c]||²)`` and BatchNorm ``sqrt(Σ_coupled γ_c²)``;
3. for each fraction ``f`` of all prunable channels (global scope), the ``round(f·n)`` lowest-scored
   channels are removed physically (:func:`hgsr.prune.select` with ``on_empty="keep"``, then
   :func:`hgsr.prune.prune`) and the compact network is evaluated (:func:`sweep`);
4. a few compact networks are fine-tuned (:func:`finetune_point`, a fresh SGD at a tenth of the
   training lr, cosine schedule, the training augmentation).

Every number comes from :func:`hgsr.experiments.run` (training) or :func:`hgsr.experiments.cached`
(everything derived), keyed by the run's config hash and every argument.
"""
from __future__ import annotations

import hashlib
import math
import warnings
from typing import Sequence

import pandas as pd
import torch
from torch import nn

from .. import experiments, measure, prune, train
from . import published

TASK = "resnet20_cifar10"
HGSR_SPEC = {"key": "hgsr_ref", "lam": 3e-5}
CRITERIA = ("loss", "magnitude", "bn_gamma")   # the registered criteria (hgsr.prune.criteria) this study compares
FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)   # default of :func:`sweep`; :func:`study` uses the profile's
TARGET_PARAMS_REMOVED = 0.5   # issue #6: ≥ 50 % of the parameters removed ...
TARGET_DROP_POINTS = 1.0      # ... for ≤ 1.0 point of accuracy
PUBLISHED_KEY = "hgsr_resnet_cifar10"   # the paper's headline (data/published.csv)


def series(df: pd.DataFrame) -> pd.Series:
    """Plot label of each row of a sweep or fine-tuned table: ``"<model> · <criterion label>"``."""
    return df["model"] + " · " + df["criterion"].map(prune.criteria.label)


def configs(profile: str, regularizer=HGSR_SPEC, base: experiments.Config | None = None
            ) -> dict[str, experiments.Config]:
    """``{"dense": ..., "hgsr": ...}``: the same config (task :data:`TASK` at ``profile``'s budget, or
    ``base``) without and with ``regularizer``."""
    base = base if base is not None else experiments.recipe(TASK, profile)
    return {"dense": base.replace(regularizer=None), "hgsr": base.replace(regularizer=regularizer)}


def _shape(run: experiments.Run) -> tuple[int, int, int]:
    return experiments.input_shape(experiments.dataset_for(run.config))


def channel_scores(run: experiments.Run, n_samples: int, seed: int = 0,
                   criteria: Sequence[str] = CRITERIA) -> dict[str, pd.DataFrame]:
    """``{criterion: score table}`` (``group, channel, score``; lower = removed first) of ``run``'s
    model, for criteria among :data:`CRITERIA` (cached). ``loss`` is
    :func:`hgsr.prune.loss_increase_scores` on ``n_samples`` training images drawn with ``seed``."""
    bad = [c for c in criteria if c not in prune.criteria.CRITERIA]
    if bad:
        raise ValueError(f"unknown criteria {bad}; known: {', '.join(prune.criteria.CRITERIA)}")

    def compute():
        ds, shape = experiments.dataset_for(run.config), _shape(run)
        kw = {"n_samples": n_samples, "seed": seed}
        return {c: prune.criteria.score(run.model, c, shape, ds, **(kw if c == "loss" else {})) for c in criteria}

    return experiments.cached("fp_scores", {"run": run.config.hash(), "n_samples": n_samples, "seed": seed,
                                            "criteria": list(criteria)}, compute)


def _digest(scores: pd.DataFrame) -> str:
    """A short hash of a score table's contents (cache keys)."""
    cols = scores[["channel", "score"]].to_numpy(dtype="float64").tobytes() + "|".join(scores["group"]).encode()
    return hashlib.sha1(cols).hexdigest()[:16]


def _compact(model: nn.Module, scores: pd.DataFrame, fraction: float, shape) -> tuple[nn.Module, dict]:
    """Remove the ``fraction`` of channels with the lowest scores (global, no layer emptied)."""
    plan = prune.select(scores, fraction=fraction, scope="global", on_empty="keep")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dropped constants of padded consumers: expected, see surgery
        return prune.prune(model, plan, shape), plan


def _row(model: nn.Module, compact: nn.Module, ds, shape, acc_dense: float) -> dict:
    p0, p1 = measure.count_params(model), measure.count_params(compact)
    m0, m1 = measure.count_macs(model, shape), measure.count_macs(compact, shape)
    acc = train.evaluate(compact, ds)["accuracy"]
    return {"params": p1, "macs": m1, "params_removed": 1 - p1 / p0, "macs_removed": 1 - m1 / m0,
            "test_acc": acc, "acc_change_points": 100 * (acc - acc_dense)}


def sweep(run: experiments.Run, scores: dict[str, pd.DataFrame], fractions: Sequence[float] = FRACTIONS,
          reference_acc: float | None = None) -> pd.DataFrame:
    """Accuracy of the compact network, without fine-tuning, for every criterion and fraction.

    Columns: criterion, fraction, channels_removed, channels, params, macs, params_removed,
    macs_removed, test_acc, acc_change_points (``100·(acc − reference_acc)``, the reference being
    the unpruned model's accuracy unless given, e.g. the dense baseline's). Fraction 0 is the
    unpruned model. Cached by the run, the criteria, the score settings and the fractions.
    """
    key = {"run": run.config.hash(), "fractions": [float(f) for f in fractions], "reference": reference_acc,
           "scores": {c: _digest(s) for c, s in scores.items()}}

    def compute():
        ds, shape = experiments.dataset_for(run.config), _shape(run)
        acc0 = train.evaluate(run.model, ds)["accuracy"]
        ref = acc0 if reference_acc is None else reference_acc
        rows = []
        for crit, table in scores.items():
            rows.append({"criterion": crit, "fraction": 0.0, "channels_removed": 0, "channels": len(table),
                         "params": measure.count_params(run.model), "macs": measure.count_macs(run.model, shape),
                         "params_removed": 0.0, "macs_removed": 0.0, "test_acc": acc0,
                         "acc_change_points": 100 * (acc0 - ref)})
            for f in fractions:
                compact, plan = _compact(run.model, table, f, shape)
                rows.append({"criterion": crit, "fraction": float(f),
                             "channels_removed": sum(len(v) for v in plan.values()), "channels": len(table),
                             **_row(run.model, compact, ds, shape, ref)})
        return pd.DataFrame(rows)

    return experiments.cached("fp_sweep", key, compute)


def finetune_point(run: experiments.Run, scores: pd.DataFrame, fraction: float, epochs: int,
                   lr: float | None = None, reference_acc: float | None = None) -> dict:
    """Prune ``fraction`` of the channels by ``scores``, fine-tune ``epochs`` epochs (cached).

    Fine-tuning: :func:`hgsr.prune.finetune` with the run's optimizer settings at ``lr`` (default a
    tenth of the run's lr), cosine schedule, the dataset's usual augmentation. Returns ``{"row": dict
    (fraction, channels_removed, params, macs, params_removed, macs_removed, acc_pruned, test_acc =
    after fine-tuning, acc_change_points vs ``reference_acc`` or the unpruned model),
    "widths": {group: channels left}, "model": compact nn.Module, "history": DataFrame}``.
    """
    cfg = run.config
    lr = lr if lr is not None else cfg.lr / 10
    key = {"run": cfg.hash(), "scores": _digest(scores), "fraction": float(fraction), "epochs": epochs, "lr": lr,
           "reference": reference_acc}

    def compute():
        ds, shape = experiments.dataset_for(cfg), _shape(run)
        acc0 = train.evaluate(run.model, ds)["accuracy"]
        ref = acc0 if reference_acc is None else reference_acc
        compact, plan = _compact(run.model, scores, fraction, shape)
        acc_pruned = train.evaluate(compact, ds)["accuracy"]
        history = None
        if epochs:
            history = prune.finetune(compact, ds, epochs, lr=lr, optimizer=cfg.optimizer, momentum=cfg.momentum,
                                     weight_decay=cfg.weight_decay, schedule="cosine",
                                     batch_size=cfg.batch_size, seed=cfg.seed, progress=False)
            compact.cpu()
        row = {"fraction": float(fraction), "channels_removed": sum(len(v) for v in plan.values()),
               **_row(run.model, compact, ds, shape, ref), "acc_pruned": acc_pruned, "finetune_epochs": epochs}
        return {"row": row, "widths": prune.widths(compact, shape), "model": compact, "history": history}

    return experiments.cached("fp_finetune", key, compute)


def bracket(sweep_df: pd.DataFrame, criterion: str = "loss", target: float = TARGET_PARAMS_REMOVED,
            n: int = 2) -> list[float]:
    """Fractions to fine-tune: the smallest swept fraction of ``criterion`` that removes at least
    ``target`` of the parameters, and the ``n − 1`` swept fractions just below it (all of the
    largest ones when none reaches the target)."""
    d = sweep_df[(sweep_df["criterion"] == criterion) & (sweep_df["fraction"] > 0)].sort_values("fraction")
    if d.empty:
        raise ValueError(f"the sweep has no rows for criterion {criterion!r}; "
                         f"criteria: {sorted(set(sweep_df['criterion']))}")
    fr = d["fraction"].tolist()
    hit = [f for f, p in zip(fr, d["params_removed"]) if p >= target]
    k = fr.index(hit[0]) if hit else len(fr) - 1
    return fr[max(0, k - n + 1):k + 1]


def study(profile: str, regularizer=HGSR_SPEC, fractions: Sequence[float] | None = None,
          finetune_criteria: Sequence[str] = ("loss", "magnitude"), dense_criteria: Sequence[str] = ("loss",),
          base: experiments.Config | None = None, progress: bool = False) -> dict:
    """The whole pipeline at ``profile``'s budget (every step cached); ``fractions`` defaults to the
    profile's ``prune_fractions``.

    Returns ``{"runs": {"dense", "hgsr"}, "scores": {criterion: table} (HGSR model), "sweep": DataFrame
    (column ``model``: "hgsr" for the HGSR run, all criteria, and "dense" for the baseline with
    ``dense_criteria``; accuracy change vs the dense baseline), "finetuned": DataFrame (criterion,
    model, the :func:`finetune_point` row; fine-tuned at the :func:`bracket` fractions of the
    ``loss`` sweep of the HGSR model, for each of ``finetune_criteria`` on the HGSR model, and with
    the loss criterion on the dense model at the larger one), "models": {name: compact model},
    "widths": {name: widths}, "widths_dense": {group: channels}, "histories": {name: fine-tuning history}}``.
    """
    P = experiments.profile(profile)
    fractions = tuple(P["prune_fractions"]) if fractions is None else tuple(fractions)
    cfgs = configs(profile, regularizer, base)
    runs = {k: experiments.run(c, progress=progress) for k, c in cfgs.items()}
    ds = experiments.dataset_for(cfgs["dense"])
    acc_dense = train.evaluate(runs["dense"].model, ds)["accuracy"]
    scores = channel_scores(runs["hgsr"], P["score_samples"])
    parts = [sweep(runs["hgsr"], scores, fractions, acc_dense).assign(model="hgsr")]
    dense_scores = channel_scores(runs["dense"], P["score_samples"], criteria=dense_criteria) if dense_criteria else {}
    if dense_scores:
        parts.append(sweep(runs["dense"], dense_scores, fractions, acc_dense).assign(model="dense"))
    sweep_df = pd.concat(parts, ignore_index=True)
    fts = bracket(sweep_df[sweep_df["model"] == "hgsr"], "loss")
    jobs = [("hgsr", c, f) for c in finetune_criteria for f in fts]
    if "loss" in dense_scores:
        jobs.append(("dense", "loss", fts[-1]))
    rows, models, widths, histories = [], {"dense": runs["dense"].model}, {}, {}
    for model_name, crit, f in jobs:
        src = runs[model_name]
        table = (scores if model_name == "hgsr" else dense_scores)[crit]
        out = finetune_point(src, table, f, P["finetune_epochs"], reference_acc=acc_dense)
        name = model_key(model_name, crit, f)
        rows.append({"name": name, "model": model_name, "criterion": crit, **out["row"]})
        models[name], widths[name], histories[name] = out["model"], out["widths"], out["history"]
    return {"runs": runs, "acc_dense": acc_dense, "scores": scores, "dense_scores": dense_scores,
            "sweep": sweep_df, "finetuned": pd.DataFrame(rows), "models": models, "widths": widths,
            "histories": histories, "input_shape": experiments.input_shape(ds),
            "widths_dense": prune.widths(runs["dense"].model, experiments.input_shape(ds))}


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


def plot_scores(scores: dict[str, pd.DataFrame], reference: str = "loss"):
    """Scatter of every other criterion's score against ``reference``'s (one point per channel,
    coloured by group, log scale where positive). Returns the Figure."""
    import matplotlib.pyplot as plt

    others = [c for c in scores if c != reference]
    fig, axes = plt.subplots(1, max(1, len(others)), figsize=(4.5 * max(1, len(others)), 3.8),
                             layout="constrained", squeeze=False)
    ref = scores[reference]
    for ax, c in zip(axes[0], others):
        m = ref.merge(scores[c], on=["group", "channel"], suffixes=("_ref", "_other"))
        for g, d in m.groupby("group", sort=False):
            ax.scatter(d["score_other"], d["score_ref"], s=10, label=g)
        if (m["score_other"] > 0).all():
            ax.set_xscale("log")
        ax.set_xlabel(f"{prune.criteria.label(c)} score")
        ax.set_ylabel(f"{prune.criteria.label(reference)} score")
        ax.axhline(0, color="k", lw=0.6)
        ax.set_title(f"{reference} vs {c}, one point per channel", fontsize=9)
    axes[0][0].legend(fontsize=6, ncol=2, title="group", title_fontsize=7)
    return fig


def model_key(model: str, criterion: str, fraction: float) -> str:
    """Name of a fine-tuned compact network, e.g. ``"hgsr loss 40%"``."""
    return f"{model} {criterion} {fraction:.0%}"


def headline(out: dict, target_params: float = TARGET_PARAMS_REMOVED,
             target_drop: float = TARGET_DROP_POINTS) -> dict:
    """The best fine-tuned HGSR point against the target: the one removing the most parameters
    among those within ``target_drop`` points of the dense baseline (else the most accurate one).
    Adds ``meets_target`` (params removed ≥ ``target_params`` and drop ≤ ``target_drop``)."""
    ft = out["finetuned"]
    ft = ft[ft["model"] == "hgsr"]
    if ft.empty:
        raise ValueError("no fine-tuned HGSR point in the study")
    ok = ft[ft["acc_change_points"] >= -target_drop]
    best = (ok.sort_values("params_removed").iloc[-1] if len(ok) else
            ft.sort_values("acc_change_points").iloc[-1]).to_dict()
    best["acc_dense"] = out["acc_dense"]
    best["meets_target"] = bool(best["params_removed"] >= target_params
                                and best["acc_change_points"] >= -target_drop)
    return best


def verdict(best: dict, profile: str) -> str:
    """Markdown: the headline point of :func:`headline` against the ≥ 50 % / ≤ 1 point target, with the
    published HGSR result (``data/published.csv``) beside it."""
    pub = published.row(PUBLISHED_KEY)
    return (f"**ResNet-20 / CIFAR-10 ({profile} profile):** `{best['name']}` removes {best['params_removed']:.1%} "
            f"of the parameters and {best['macs_removed']:.1%} of the MACs with an accuracy change of "
            f"{best['acc_change_points']:+.2f} points against the dense baseline ({100 * best['acc_dense']:.2f}%); "
            f"the target (≥ {TARGET_PARAMS_REMOVED:.0%} removed for ≤ {TARGET_DROP_POINTS:.1f} point drop) is "
            f"{'met' if best['meets_target'] else 'not met'}. *Published* ({pub['source']}): {pub['result']}, "
            f"with {pub['setting'].split(', ')[-1]}.")


def compact_models(profile: str) -> dict[str, nn.Module]:
    """``{"dense": the dense baseline ResNet-20, "<model> <criterion> <fraction>": fine-tuned compact
    ResNet-20, ...}`` of :func:`study` at ``profile`` with its defaults (cached; for notebook 08)."""
    return dict(study(profile)["models"])

