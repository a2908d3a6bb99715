"""Notebook 07's LeNet-5 comparison as accuracy-vs-size fronts, with λ chosen on validation.

The plan (every number below is a module constant, so the notebook and the docs read them from here):

1. :func:`sweep` runs the ``lenet_families`` grid of :mod:`hgsr.study.grids` (every family at λ × each
   of ``LAM_MULTS``, seed 0) on :func:`hgsr.sweep.run_sweep`: each point is trained on the training
   images minus the profile's ``mnist_val`` held-out ones, compacted by its family's rule, fine-tuned,
   and measured on the held-out validation images and on the test set;
2. it then reruns with more seeds (:data:`SEEDS`) every point that may decide a result
   (:func:`near_front`): a point whose validation error is within the near-front bound and that lies
   on a validation front (error vs parameters or vs MACs), or is its family's validation choice;
3. :func:`points` averages the seeds of each (family, λ); :func:`chosen` picks, per family, **on
   validation**: the fewest filters among the λ whose mean validation error is within the target bound
   (ties: lower validation error), or, where no λ gets there, the lowest validation error;
4. :func:`table` reports the chosen point's *test* figures (mean and std over seeds), and
   :func:`verdict` states which family leaves the fewest filters at ``<= ERROR_TARGET`` test error
   against SSL's published 3-12, and whether the gap is larger than the seeds' spread.

The bounds on validation are relative to the unregularized baseline (:func:`validation_bounds`): the
held-out training images are not the test set (on MNIST they are harder), so "≤ 1.00 % test error"
becomes "at most the baseline's validation error plus the error the target allows above the baseline's
test error", ``val_bound = val(baseline) + (ERROR_TARGET − test(baseline))``, and the same with
:data:`NEAR_ERROR`. The baseline's test error is the only test figure a choice reads.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import InvalidArgument
from ..results import widths_text
from ..sweep import run_sweep
from ..train import NonFiniteLoss
from ..viz import pareto_front, vocabulary
from . import filter_pruning, grids, published
from .families import FAMILIES

from .shared_rule import ERROR_TARGET   # "≤ 1.00 % error after fine-tuning": one home, the shared rule's bound
NEAR_ERROR = 0.012        # points up to this error (carried to validation like ERROR_TARGET) may be near the front
BASELINE = "none"         # the family whose validation and test errors anchor the validation bounds
SEEDS = (0, 1)            # seeds of the points near the front (seed 0 for every other point)
MAX_SEED = 4              # a seed whose run diverges is recorded and replaced by the next one, up to this seed
EXTEND_STEPS = 2          # at most this many λ added past an edge of the grid where a family's choice sits
TARGET_KEY = "ssl_lenet_3_12"   # the published point to beat (data/published.csv)
RULE_TEXT = vocabulary.REMOVAL_RULES   # rule key -> the words a reader reads (one home: the vocabulary)
SHARED = "_shared"        # suffix of the shared rule's columns in a sweep row (hgsr.study.grids.front_row)
SHARED_COLUMNS = tuple(c + SHARED for c in (
    "widths_dense", "widths", "filters_left", "linear_units", "params_dense", "params", "macs_dense", "macs",
    "error_dense", "error_pruned", "error_finetuned", "val_error")) + ("val_error_unpruned_shared", "val_error_pruned_shared")

# the columns a reader needs of the sweep's saved tables (07_sweep_runs, 07_sweep_points): the main tables of
# hgsr.suite.report.split; every other column (keys, dense references, spreads of sizes, timings, error messages)
# goes to the table's appendix
RUNS_COLUMNS = ("label", "lam_mult", "lam", "seed", "rule", "widths", "filters_left", "params", "macs",
                "error_finetuned", "val_error", "filters_left_shared", "error_finetuned_shared", "val_error_shared")
POINTS_COLUMNS = ("label", "lam_mult", "lam", "seeds", "widths", "filters_left", "filters_left_std", "params_removed",
                  "macs_removed", "error_finetuned", "error_finetuned_std", "val_error", "filters_left_shared",
                  "error_finetuned_shared")

# related families side by side in the figure (every family of the registry in exactly one panel)
PANELS = {
    "baselines": ["none", "none_bn", "l1", "group_lasso_filter", "group_lasso_filter_sw", "group_lasso_channel", "ssl",
                  "slimming"],
    "hierarchical and L1/L2": ["hsr_gl_output", "hsr_gl_input", "hgsr_ref", "hgsr_ref_output", "l1_over_l2"],
    "proximal": ["prox_l1", "prox_group_lasso", "prox_sgl"],
    "nonconvex SGL": ["nonconvex_l1", "nonconvex_l0", "nonconvex_tl1", "nonconvex_l1_l2", "nonconvex_tl1_fc",
                      "group_lasso_filter_fc"],
}


def run_tasks(tasks, progress: bool, workers, scheduler, allow_divergence: bool = False) -> pd.DataFrame:
    """The rows of a sweep; with ``allow_divergence`` a run that diverged (non-finite loss) becomes a row with
    ``status = "diverged"`` (its tags, seed and error; no metrics); any other failure raises, naming its config."""
    result = run_sweep(tasks, progress=progress, workers=workers, scheduler=scheduler)
    by_hash = {t.hash: t for t in tasks}
    diverged = [f for f in result.failures if allow_divergence and f["error_type"] == NonFiniteLoss.__name__]
    other = [f for f in result.failures if f not in diverged]
    if other:
        lines = "; ".join(f"{f['hash']} ({f['description']}): {f['error']}" for f in other)
        raise RuntimeError(f"{len(other)} sweep task(s) failed: {lines}")
    extra = [{"hash": f["hash"], "status": "diverged", **by_hash[f["hash"]].tags, "seed": by_hash[f["hash"]].config.seed,
              "error": f["error"]} for f in diverged]
    return pd.concat([result.rows, pd.DataFrame(extra)], ignore_index=True) if extra else result.rows


def edge_extensions(rows: pd.DataFrame, bounds: dict, step: float | None = None) -> list[tuple[str, float]]:
    """``(family, λ multiple)`` to run next so that each family's validation choice (seed-0 rows, :func:`_choose`
    with ``bounds``) is bracketed: a family whose choice is its smallest λ gets λ / ``step``, one whose choice is
    its largest λ gets λ × ``step`` (``step``: the grid's ratio, :data:`hgsr.study.grids.LAM_MULTS`); a largest
    λ that diverged is never chosen, so it is never extended past. Unregularized families (``lam`` "—") are not
    extended."""
    step = step or grids.LAM_MULTS[1] / grids.LAM_MULTS[0]
    d0 = rows[rows["seed"] == 0]
    out = []
    for fam, d in d0.groupby("family", sort=False):
        ok = finished(d)
        if ok.empty or (ok["lam"] == "—").all():     # nothing finished, or no regularizer (no λ to extend)
            continue
        m = float(_choose(ok, "val_error", "filters_left", bounds["target"])["lam_mult"])
        mults = d["lam_mult"].astype(float)
        if m == float(mults.min()):
            out.append((fam, round(m / step, 4)))
        elif m == float(mults.max()):          # (a largest λ that diverged is never the choice: no extension)
            out.append((fam, round(m * step, 4)))
    return out


def sweep(profile: str = "default", progress: bool = True, workers: int | None = None,
          scheduler: str | None = None, grid: str = "lenet_families") -> pd.DataFrame:
    """Every point of the fronts: a grid of :mod:`hgsr.study.grids` (``lenet_families``: seed 0; or
    ``lenet_families_full``, a cluster's grid), extended past its edges where a family's validation choice
    (under the shared rule) sits on one (:func:`edge_extensions`, up to :data:`EXTEND_STEPS` times), then the other seeds of :data:`SEEDS` for the points
    :func:`near_front` selects (those a grid already ran are read from the cache). One row per
    (family, λ, seed); cached runs are read, not retrained. A run whose training or fine-tuning diverged
    (λ at the collapsing end of a grid) is a row with ``status = "diverged"``; any other failed task raises,
    naming its config."""
    first = run_tasks(grids.grid(grid, profile), progress, workers, scheduler, allow_divergence=True)
    bounds = validation_bounds(finished(first)[lambda t: t["seed"] == 0])
    for _ in range(EXTEND_STEPS):              # bracket each family's choice: one more λ past an edge it sits on
        more = [grids.family_task(f, profile, m, 0) for f, m in edge_extensions(under_shared(first), bounds)]
        if not more:
            break
        first = pd.concat([first, run_tasks(more, progress, workers, scheduler, allow_divergence=True)], ignore_index=True)
    near = sorted(set(near_front(first)) | set(near_front(under_shared(first), bounds)),   # near under either rule
                  key=lambda k: (list(FAMILIES).index(k[0]), k[1]))
    rows = first
    for seed in range(1, MAX_SEED + 1):        # the next seed for every point near the front still short of SEEDS
        done = finished(rows).groupby(["family", "lam_mult"]).size()
        want = [(f, m) for f, m in near if done.get((f, m), 0) < len(SEEDS)]
        have = set(zip(rows["family"], rows["lam_mult"].astype(float), rows["seed"]))
        more = [grids.family_task(f, profile, m, seed) for f, m in want if (f, m, seed) not in have]
        if more:
            rows = pd.concat([rows, run_tasks(more, progress, workers, scheduler, allow_divergence=True)], ignore_index=True)
    order = {f: i for i, f in enumerate(FAMILIES)}
    return rows.sort_values(["family", "lam_mult", "seed"], key=lambda c: c.map(order) if c.name == "family" else c,
                            kind="stable").reset_index(drop=True)


def finished(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of runs that finished (every row but those with ``status == "diverged"``)."""
    return rows[rows["status"] != "diverged"] if "status" in rows.columns else rows


def validation_bounds(frame: pd.DataFrame) -> dict:
    """The validation errors that stand for the test-error thresholds, anchored on the :data:`BASELINE`
    family (mean over its finished rows): ``target = val_b + (ERROR_TARGET − test_b)`` and
    ``near = val_b + (NEAR_ERROR − test_b)``, with ``val_b``, ``test_b`` the baseline's validation and
    (fine-tuned) test error. Returns those four numbers; a frame without the baseline raises."""
    base = finished(frame)[lambda t: t["family"] == BASELINE] if "family" in frame.columns else frame.iloc[:0]
    if base.empty:
        raise InvalidArgument(f"the sweep has no finished run of the baseline family {BASELINE!r}: the validation "
                              f"bounds are relative to it; include it in the grid")
    val_b, test_b = float(base["val_error"].mean()), float(base["error_finetuned"].mean())
    return {"baseline_val": val_b, "baseline_test": test_b,
            "target": val_b + (ERROR_TARGET - test_b), "near": val_b + (NEAR_ERROR - test_b)}


def under_shared(frame: pd.DataFrame) -> pd.DataFrame:
    """The same sweep rows or points judged by the shared rule (:mod:`hgsr.study.shared_rule`): every column
    ``X_shared`` (and ``X_shared_std``) becomes ``X``, the family's own-rule columns are dropped, and ``rule``
    reads ``"shared"``; every function of this module then applies unchanged (give :func:`chosen`,
    :func:`table` and :func:`verdict` the ``bounds`` of the own-rule frame, so that one bound serves both)."""
    renamed = {c: c.replace(SHARED, "") for c in frame.columns if SHARED in c}
    if not renamed:
        raise InvalidArgument(f"the frame has no shared-rule columns (ending {SHARED!r}); its columns: "
                              f"{list(frame.columns)[:12]}")
    out = frame.drop(columns=[v for v in renamed.values() if v in frame.columns]).rename(columns=renamed)
    if "rule" in out.columns:
        out["rule"] = "shared"
    if "test_acc" in frame.columns:            # points: the derived columns follow the renamed ones
        out["test_acc"], out["test_acc_std"] = 1 - out["error_finetuned"], out["error_finetuned_std"]
        out["params_removed"] = 1 - out["params"] / out["params_dense"]
        out["macs_removed"] = 1 - out["macs"] / out["macs_dense"]
    return out


def divergence_text(rows: pd.DataFrame) -> str:
    """Markdown: the runs of a sweep that diverged (non-finite loss in training or in fine-tuning the compact
    network), by family, λ multiple and seed; which (family, λ) points are left out of the fronts because no
    seed finished, and that an extra seed that diverged was replaced by the next one; or that none diverged."""
    if "status" not in rows.columns or not (rows["status"] == "diverged").any():
        return f"No run of the sweep diverged ({len(rows)} runs)."
    bad = rows[rows["status"] == "diverged"].assign(lam_mult=lambda t: t["lam_mult"].astype(float))
    ok = finished(rows)
    done = set(zip(ok["family"], ok["lam_mult"].astype(float)))
    runs = ", ".join(f"{r.label} at λ × {r.lam_mult:g}, seed {int(r.seed)}" for r in bad.itertuples())
    diverged_points = {(r.family, r.lam_mult): r.label for r in bad.itertuples()}
    gone = sorted((label, m) for (fam, m), label in diverged_points.items() if (fam, m) not in done)
    text = f"{len(bad)} run(s) diverged (non-finite loss; each error message is in the sweep's appendix table): {runs}."
    if gone:
        text += (f" No seed of {len(gone)} point(s) finished ({', '.join(f'{l} at λ × {m:g}' for l, m in gone)}): "
                 f"they are not on the fronts.")
    if len(gone) < len(diverged_points):
        text += f" A diverged extra seed was replaced by the next seed, up to seed {MAX_SEED}."
    return text


def _choose(d: pd.DataFrame, error: str, filters: str, bound: float) -> pd.Series:
    """The row of one family's points chosen by ``error``: fewest ``filters`` at ``error <= bound``
    (ties: lower error), else the lowest error."""
    ok = d[d[error] <= bound]
    if len(ok):
        return ok.sort_values([filters, error], kind="stable").iloc[0]
    return d.sort_values(error, kind="stable").iloc[0]


def near_front(rows: pd.DataFrame, bounds: dict | None = None) -> list[tuple[str, float]]:
    """``(family, lam_mult)`` of the seed-0 points that decide results: validation error within the near
    bound of :func:`validation_bounds` (``bounds``; default: those of ``rows``) and on a validation front
    (error vs parameters or vs MACs), or the family's validation choice (if within that bound)."""
    d = finished(rows)[lambda t: t["seed"] == 0].assign(val_acc=lambda t: 1 - t["val_error"])
    bounds = bounds or validation_bounds(d)
    keys = set()
    close = d[d["val_error"] <= bounds["near"]]
    for x in ("params", "macs"):
        if len(close):
            on = close[pareto_front(close, x, "val_acc")]
            keys |= {(f, float(m)) for f, m in zip(on["family"], on["lam_mult"])}
    for _, fam in d.groupby("family", sort=False):
        c = _choose(fam, "val_error", "filters_left", bounds["target"])
        if c["val_error"] <= bounds["near"]:
            keys.add((c["family"], float(c["lam_mult"])))
    order = list(dict.fromkeys(d["family"]))
    return sorted(keys, key=lambda k: (order.index(k[0]), k[1]))


def points(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (family, λ): means over its finished seeds of filters, parameters, MACs, test and
    validation error, their std (NaN for one seed), the seeds, the seeds whose run diverged (rows with
    ``status == "diverged"``, left out of every mean) and the widths per seed. A (family, λ) whose every
    seed diverged has no row."""
    if rows.empty:
        raise InvalidArgument("rows is empty: no sweep point to average")
    out = []
    for (fam, mult), d_all in rows.groupby(["family", "lam_mult"], sort=False):
        d = finished(d_all)
        if d.empty:          # every seed diverged: no point to draw (:func:`divergence_text` lists it)
            continue
        r = {"family": fam, "label": d["label"].iloc[0], "rule": d["rule"].iloc[0], "lam_mult": mult,
             "lam": d["lam"].iloc[0], "seeds": len(d), "diverged_seeds": len(d_all) - len(d),
             # as text: rows read back from a sweep's CSV hold a lone width such as "500" as a number
             "widths": ", ".join(d["widths"].astype(str)), "linear_units": ", ".join(d["linear_units"].astype(str))}
        shared = [c for c in SHARED_COLUMNS if c in d.columns]
        r.update({c: ", ".join(d[c].astype(str)) for c in shared if c.startswith(("widths", "linear_units"))})
        for c in ("filters_left", "params", "macs", "error_finetuned", "val_error", "error_dense", "params_dense",
                  "macs_dense", "test_images", "val_images", *(c for c in shared if not c.startswith(("widths", "linear")))):
            r[c] = float(d[c].mean())
            if c.removesuffix(SHARED) in ("filters_left", "params", "macs", "error_finetuned", "val_error"):
                r[c + "_std"] = float(d[c].std(ddof=1)) if len(d) > 1 else math.nan
        out.append(r)
    df = pd.DataFrame(out)
    df["test_acc"], df["test_acc_std"] = 1 - df["error_finetuned"], df["error_finetuned_std"]
    df["params_removed"], df["macs_removed"] = 1 - df["params"] / df["params_dense"], 1 - df["macs"] / df["macs_dense"]
    return df


def chosen(pts: pd.DataFrame, bounds: dict | None = None) -> pd.DataFrame:
    """Per family, the point chosen on validation (:func:`_choose` on mean validation error and mean
    filters, bound ``target`` of :func:`validation_bounds`: ``bounds``, default those of ``pts``), with
    ``reaches_on_val`` (its mean validation error is within that bound) and ``meets_test`` (its mean test
    error is ``<= ERROR_TARGET``)."""
    bound = (bounds or validation_bounds(pts))["target"]
    rows = [_choose(d, "val_error", "filters_left", bound) for _, d in pts.groupby("family", sort=False)]
    df = pd.DataFrame(rows).reset_index(drop=True)
    df["reaches_on_val"] = df["val_error"] <= bound
    df["meets_test"] = df["error_finetuned"] <= ERROR_TARGET
    return df


def table(pts: pd.DataFrame, bounds: dict | None = None) -> pd.DataFrame:
    """The per-family table of the notebook: the validation-chosen point's λ, seeds, widths per seed,
    filters (mean and std over seeds), parameters and MACs removed, validation and test error (mean,
    std), whether it reaches the target on validation and on test; ``family`` is the registry key.
    ``bounds``: :func:`validation_bounds` to choose with (default: those of ``pts``)."""
    c = chosen(pts, bounds)
    return pd.DataFrame({
        "label": c["label"], "rule": c["rule"].map(RULE_TEXT), "lam": c["lam"], "lam_mult": c["lam_mult"],
        "seeds": c["seeds"].astype(int), "diverged_seeds": c["diverged_seeds"].astype(int), "widths": c["widths"], "linear_units": c["linear_units"],
        "filters_left_mean": c["filters_left"], "filters_left_std": c["filters_left_std"],
        "params_removed": c["params_removed"], "macs_removed": c["macs_removed"], "val_error": c["val_error"],
        "error_finetuned": c["error_finetuned"], "error_finetuned_std": c["error_finetuned_std"],
        "reaches_on_val": c["reaches_on_val"], "meets_test": c["meets_test"], "family": c["family"]})


def verdict(tab: pd.DataFrame, pts: pd.DataFrame, bounds: dict | None = None) -> str:
    """Markdown: the family with the fewest filters at ≤ ``ERROR_TARGET`` test error (λ chosen on
    validation, means over seeds) against SSL's published point, and whether the runner-up differs
    by more than the seeds' spread and the test set's sampling error."""
    target = published.lenet_result(TARGET_KEY)
    pub = f"{widths_text(target.widths)} ({target.filters_left} filters) at {target.error_finetuned:.2%}"
    n_test = float(pts["test_images"].iloc[0])
    se = filter_pruning.binomial_se(ERROR_TARGET, n_test)   # sqrt(e(1 − e)/n), the same for error and accuracy
    # a family counts only where its choice is within the validation bound *and* at <= ERROR_TARGET on test
    ok = tab[tab["reaches_on_val"] & tab["meets_test"]].sort_values(["filters_left_mean", "error_finetuned"], kind="stable")
    lo, hi = int(tab["seeds"].min()), int(tab["seeds"].max())
    seeds = f"{lo}–{hi} seeds" if lo != hi else f"{lo} seed{'s' if lo > 1 else ''}"
    vb = bounds or validation_bounds(pts)
    text = [f"λ was chosen per family on {int(pts['val_images'].iloc[0]):,} held-out training images: the fewest filters "
            f"at ≤ {vb['target']:.2%} validation error (the baseline's {vb['baseline_val']:.2%} on validation plus the "
            f"{ERROR_TARGET - vb['baseline_test']:.2%} that the {ERROR_TARGET:.2%} target leaves above its "
            f"{vb['baseline_test']:.2%} test error). Test figures are means over {seeds}. One error rate near "
            f"{ERROR_TARGET:.2%} on {int(n_test):,} test images has a sampling standard error of {se:.2%}."]
    if ok.empty:
        best = tab.sort_values("error_finetuned").iloc[0]
        text.append(f"**No family reaches ≤ {ERROR_TARGET:.2%} test error** at a validation choice within the bound; the lowest is "
                    f"{best['label']} at {best['error_finetuned']:.2%}. SSL's *published* result is {pub}; the target "
                    f"(fewer than {target.filters_left} filters at ≤ {ERROR_TARGET:.2%}) is not met.")
        return "\n\n".join(text)
    b = ok.iloc[0]
    std = "" if np.isnan(b["filters_left_std"]) else f" ± {b['filters_left_std']:.1f}"
    estd = "" if np.isnan(b["error_finetuned_std"]) else f" ± {b['error_finetuned_std']:.2%}"
    met = b["filters_left_mean"] < target.filters_left
    text.append(f"**Fewest filters at ≤ {ERROR_TARGET:.2%} test error: {b['label']}**, {b['filters_left_mean']:.1f}{std} "
                f"filters ({b['widths']}) at {b['error_finetuned']:.2%}{estd} test error, "
                f"{b['params_removed']:.1%} of the parameters removed; SSL's *published* result is {pub}. "
                f"The target (fewer than {target.filters_left} filters at ≤ {ERROR_TARGET:.2%}) is "
                f"**{'met' if met else 'not met'}**.")
    if len(ok) > 1:
        r = ok.iloc[1]
        gap = r["filters_left_mean"] - b["filters_left_mean"]
        close_err = abs(r["error_finetuned"] - b["error_finetuned"]) <= 2 * se
        if np.isnan(b["filters_left_std"]) or np.isnan(r["filters_left_std"]):
            spread_text = "one of the two has a single seed, so its spread is unknown"
        else:
            spread = b["filters_left_std"] + r["filters_left_std"]
            spread_text = f"{'within' if gap <= spread else 'larger than'} the sum of the two seed spreads ({spread:.1f})"
        text.append(f"Runner-up: {r['label']}, {r['filters_left_mean']:.1f} filters at {r['error_finetuned']:.2%}. The gap of "
                    f"{gap:.1f} filters: {spread_text}" + ("; their test errors differ by less than two sampling "
                                                            "standard errors." if close_err else "."))
    missed = tab[tab["reaches_on_val"] & ~tab["meets_test"]]["label"].tolist()
    if missed:
        text.append(f"Families whose choice is within {vb['target']:.2%} on validation but above {ERROR_TARGET:.2%} on "
                    f"the test set: {', '.join(missed)}.")
    never = tab[~tab["reaches_on_val"]]["label"].tolist()
    if never:
        text.append(f"Families with no λ at ≤ {vb['target']:.2%} validation error (their lowest-error λ is shown): "
                    f"{', '.join(never)}.")
    return "\n\n".join(text)


def _ranks(tab: pd.DataFrame) -> pd.Series:
    """Rank (1 = fewest filters) of each family of a :func:`table` among those at the target on validation
    and on test; NaN for the others."""
    ok = tab["reaches_on_val"] & tab["meets_test"]
    r = tab.loc[ok, "filters_left_mean"].rank(method="min")
    return r.reindex(tab.index)


def rules_compared(own: pd.DataFrame, shared: pd.DataFrame) -> pd.DataFrame:
    """One row per family: its validation choice under its own rule (:func:`table` of the sweep points)
    and under the shared rule (:func:`table` of :func:`under_shared` points, same bounds): filters left,
    test error, whether it reaches the target (on validation and on test) and its rank among the
    families that do (1 = fewest filters)."""
    a, b = own.set_index("family"), shared.set_index("family").reindex(own["family"])
    ra, rb = _ranks(a), _ranks(b)
    return pd.DataFrame({
        "label": a["label"], "rule": a["rule"], "filters_left_own": a["filters_left_mean"],
        "error_own": a["error_finetuned"], "target_own": a["reaches_on_val"] & a["meets_test"], "rank_own": ra,
        "filters_left_shared": b["filters_left_mean"], "error_shared": b["error_finetuned"],
        "target_shared": b["reaches_on_val"] & b["meets_test"], "rank_shared": rb}).reset_index()


def rules_verdict(cmp: pd.DataFrame, family: str = "hgsr_ref") -> str:
    """Markdown from :func:`rules_compared`: how many families reach the target under each rule and which
    leaves the fewest filters; then ``family``'s rank under each rule and its filters, with the direction of
    the change (the shared rule removing more of its filters means filters that cost the loss little but
    stay above an absolute tolerance: the tolerance trap of notebook 03)."""
    def best(col, ok):
        d = cmp[cmp[ok]].sort_values(col, kind="stable")
        return (f"{int(cmp[ok].sum())} of {len(cmp)} families reach the target; fewest filters: "
                f"{d['label'].iloc[0]} ({d[col].iloc[0]:.1f})" if len(d) else f"no family reaches the target")
    text = [f"Under each family's own rule, {best('filters_left_own', 'target_own')}. Under the shared rule "
            f"(ΔL order within the validation allowance), {best('filters_left_shared', 'target_shared')}."]
    if family in set(cmp["family"]):
        r = cmp.set_index("family").loc[family]

        def rank(which):
            n = int(cmp[f"target_{which}"].sum())
            return f"rank {int(r[f'rank_{which}'])} of {n}" if r[f"target_{which}"] else "not at the target"
        fo, fs = r["filters_left_own"], r["filters_left_shared"]
        why = (f"the shared rule removes {fo - fs:.1f} more of its filters: filters that cost the loss little yet stay "
               f"above its own rule's tolerance (the tolerance trap of notebook 03)" if fs < fo else
               f"its own rule removes {fs - fo:.1f} more filters than the shared rule, which stops where the validation "
               f"error reaches the bound" if fs > fo else "both rules leave as many filters")
        text.append(f"**{r['label']}**: {rank('own')} under its own rule ({r['rule']}, {fo:.1f} filters at "
                    f"{r['error_own']:.2%} test error), {rank('shared')} under the shared rule ({fs:.1f} filters at "
                    f"{r['error_shared']:.2%}): {why}.")
    return " ".join(text)
