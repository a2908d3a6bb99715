"""Notebook 07's budget lesson: does the front move when the leading families train longer?

The survey (:func:`hgsr.study.fronts.sweep`: every family at five λ, the profile's ``lenet_epochs``) is
short. This stage trains the families that matter longer and asks whether the answer changes:

1. :func:`leaders`: under the shared removal rule, the :data:`LEADERS` families with the fewest filters at
   the target (validation choice within the bound and test error ``<= ERROR_TARGET``) among the non-HGSR
   families, plus the better grouping of the HGSR reference mix (:data:`HGSR_FAMILIES`): the course's subject
   always has its best shot on the longer budget;
2. :func:`sweep`: for each budget of :data:`BUDGETS` (``lenet_budget_epochs``, epochs), seed 0: the first at each
   leader's survey choice of λ times :data:`STEPS` (one step of the survey's grid either side), each later one at
   the previous budget's choice times :data:`LATER_STEPS` (the same λ or one step down), with one more step past
   an edge where the budget's choice sits on one (:func:`hgsr.study.fronts.edge_extensions`), and the
   unregularized baseline (it anchors the budget's validation bound and its shared-rule allowance); at the
   longest budget, where the target is judged, one more λ per family halfway (geometrically) between its choice
   and the next larger λ tried (:func:`refinements`: the survey's grid is coarse near a front); then more
   seeds at the survey's and the longest budget's choices until each has :data:`SEEDS`, and as many for the
   longest budget's baseline (its validation bound, a mean over the baseline's seeds, is what every choice there
   is judged by: one seed's error would move it by about as much as the differences it decides);
3. :func:`table`: per (family, budget), the point chosen on validation under the shared rule
   (:func:`hgsr.study.fronts.chosen` with that budget's bounds), its filters and test error (mean, std over
   seeds); :func:`plot` draws filters left against epochs; :func:`verdict` states whether the longest budget
   meets the target, whether the last budget step still moved the front, and whether the ranking of the
   leaders changed from the survey (the condition under which a two-stage sweep is sound).

Every point is a :func:`hgsr.study.grids.front_row` (own rule and shared rule, fine-tuning as in the survey).

The longer budgets are more than two CPU cores can redo inside notebook 07 (a 20-epoch task takes 6-9 minutes
on one core), so at the ``default`` profile the stage is a committed artifact, like notebook 06's long runs:
``make lenet-budget`` (``python -m hgsr.study.budget``, :func:`make`) writes its rows to
``data/budget/lenet_budget_<profile>.csv`` with a card (``.json``: the stage's settings, the leaders, a digest of
the survey rows it started from, the machine, the commit, the wall time, the SHA-256 of the rows), each task
cached in the runs cache as it finishes (an interrupted ``make`` resumes). Notebook 07 reads it
(:func:`rows`, :func:`load`) after checking that its survey starts the same stage (the same leaders at the same
starting λ); where the survey's own rows differ by rounding (another thread count or instruction set), the
notebook shows this run's rows and :func:`survey_note` says so. The ``smoke`` profile runs
the stage live.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .. import experiments
from ..data import REPO
from ..errors import InvalidArgument
from ..io import atomic_write_json, file_digest
from ..sweep import Task
from ..viz.vocabulary import count_text
from . import filter_pruning, fronts, grids
from .families import FAMILIES
from .shared_rule import ERROR_TARGET

LEADERS = 2                    # non-HGSR families taken to the longer budgets
HGSR_FAMILIES = ("hgsr_ref", "hgsr_ref_output")   # the reference mix's two groupings: the better one goes on
STEPS = (1 / 2.83, 1.0, 2.83)  # λ multiples around the survey's choice (one step of grids.LAM_MULTS either side)
LATER_STEPS = (1 / 2.83, 1.0)  # a later budget, from the previous budget's choice: a longer training at the same λ
                               # only empties more filters, so the choice can only stay or move down
EXTEND_STEPS = 1               # at most one λ added past an edge where a budget's choice sits
SEEDS = 3                      # seeds at the survey's and the longest budget's choices (2 CPU cores: the budgets
                               # between get seed 0 only)
TARGET_FILTERS = 12           # the course's target at the longest budget: at most this many filters at <= ERROR_TARGET
MAX_ROUNDS = 2                 # seed rounds: a choice that moves when seeds are added gets its seeds too
# the columns a reader needs of the budget stage's runs (07_budget_runs); the rest goes to the appendix
RUNS_COLUMNS = ("epochs", *fronts.RUNS_COLUMNS, "lr_retries")
REFINE = math.sqrt(STEPS[2])  # at the longest budget: λ × this, halfway (geometrically) to the next larger λ tried
# per profile: the budgets (epochs) and whether the stage is a committed artifact (data/budget/) or run live
BUDGETS: dict[str, dict] = {"smoke": {"lenet_budget_epochs": (2,), "lenet_budget_artifact": False},
                            "default": {"lenet_budget_epochs": (10, 20), "lenet_budget_artifact": True},
                            "paper": {"lenet_budget_epochs": (), "lenet_budget_artifact": False}}
ARTIFACT_DIR = REPO / "data" / "budget"
# the survey columns an artifact's digest covers: the rows it started from, as results (a changed survey changes them)
SURVEY_RESULT_COLUMNS = ("filters_left", "error_finetuned", "val_error", "filters_left_shared", "error_finetuned_shared",
                         "val_error_shared")
SURVEY_DIGEST_COLUMNS = ("family", "lam_mult", "seed", "status", *SURVEY_RESULT_COLUMNS)


class BudgetArtifactError(FileNotFoundError):
    """The committed budget stage of a profile is missing, unreadable, or was made from another survey."""


def budget(profile: str) -> dict:
    """This study's budget at ``profile`` (:data:`BUDGETS`); an unknown name lists the known profiles."""
    experiments.profile(profile)
    return dict(BUDGETS[profile])


def leaders(shared_table: pd.DataFrame) -> list[str]:
    """The families to train longer, from the survey's :func:`hgsr.study.fronts.table` under the shared rule:
    the :data:`LEADERS` non-HGSR families at the target with the fewest filters, then the HGSR grouping of
    :data:`HGSR_FAMILIES` that leaves fewer filters at the target (else the lower test error)."""
    need = {"family", "filters_left_mean", "error_finetuned", "reaches_on_val", "meets_test"}
    if not need <= set(shared_table.columns):
        raise InvalidArgument(f"shared_table lacks columns {sorted(need - set(shared_table.columns))}: pass "
                              f"fronts.table(...) of the shared-rule points")
    ok = shared_table[shared_table["reaches_on_val"] & shared_table["meets_test"]]
    others = ok[~ok["family"].isin(HGSR_FAMILIES) & ok["family"].map(lambda f: FAMILIES[f].regularizer is not None)]
    lead = others.sort_values(["filters_left_mean", "error_finetuned"], kind="stable")["family"].head(LEADERS).tolist()
    h = shared_table[shared_table["family"].isin(HGSR_FAMILIES)]
    at = h[h["reaches_on_val"] & h["meets_test"]]
    if len(at):
        lead.append(at.sort_values(["filters_left_mean", "error_finetuned"], kind="stable")["family"].iloc[0])
    elif len(h):
        lead.append(h.sort_values("error_finetuned", kind="stable")["family"].iloc[0])
    return lead


def _task(name: str, profile: str, epochs: int, mult: float, seed: int) -> Task:
    """:func:`hgsr.study.grids.family_task` trained ``epochs`` epochs (tag ``epochs``)."""
    t = grids.family_task(name, profile, mult, seed)
    return Task(t.config.replace(epochs=epochs), fn=t.fn, tags={**t.tags, "epochs": epochs})


def _bounds(rows: pd.DataFrame) -> dict:
    """The validation bounds of one budget's rows: its own baseline, mean over its finished seeds (as notebook 07's
    survey table computes them, so that the leaders taken on are the ones its table shows)."""
    return fronts.validation_bounds(fronts.finished(rows))


def _choices(rows: pd.DataFrame, names) -> dict[str, float]:
    """``{family: λ multiple}`` chosen on validation under the shared rule (mean over the seeds so far)."""
    pts = fronts.under_shared(fronts.points(fronts.finished(rows)))
    c = fronts.chosen(pts[pts["family"].isin(names)], _bounds(rows))
    return dict(zip(c["family"], c["lam_mult"].astype(float)))


def refinements(rows: pd.DataFrame, names) -> list[tuple[str, float]]:
    """``(family, λ multiple)`` halfway between each family's validation choice (seed-0 rows of one budget) and
    the next larger λ among its rows, ``sqrt(m · m_up)``, rounded to 4 digits; none where no larger λ was tried
    or the two are already within a factor :data:`REFINE` (a grid refined once is not refined again)."""
    out = []
    d0 = rows[rows["seed"] == 0]
    for fam, m in _choices(d0, names).items():
        up = sorted(x for x in d0.loc[d0["family"] == fam, "lam_mult"].astype(float) if x > m)
        if up and up[0] / m > REFINE * 1.01:
            out.append((fam, round(math.sqrt(m * up[0]), 4)))
    return out


def _survey_table(survey: pd.DataFrame) -> pd.DataFrame:
    """The survey's :func:`hgsr.study.fronts.table` under the shared rule, at its own bounds: what the leaders and
    their starting λ are read from."""
    return fronts.table(fronts.under_shared(fronts.points(survey)), _bounds(survey))


def stage_inputs(survey: pd.DataFrame) -> dict[str, float]:
    """``{leader: λ multiple}``: the survey's :func:`leaders`, in their order, each with its validation choice
    under the shared rule, where the stage's first budget starts. The stage's tasks depend on the survey
    through these alone: two surveys with the same inputs run the same stage."""
    tab = _survey_table(survey)
    start = dict(zip(tab["family"], tab["lam_mult"].astype(float)))
    return {n: start[n] for n in leaders(tab)}


def _tried(choice: float, steps: tuple[float, ...]) -> list[float]:
    """The λ multiples a budget tries around a ``choice``: ``round(choice · s, 4)`` for each step ``s``."""
    return [round(choice * s, 4) for s in steps]


def sweep(survey: pd.DataFrame, profile: str = "default", progress: bool = True, workers: int | None = None,
          scheduler: str | None = None) -> pd.DataFrame:
    """Every point of the budget stage (module docstring), one row per (budget, family, λ, seed) with an
    ``epochs`` column; the survey's rows of the leaders and the baseline come first (``epochs`` = the
    profile's ``lenet_epochs``). Cached runs are read, not retrained."""
    P = experiments.profile(profile)
    short = P["lenet_epochs"]
    survey = survey.assign(epochs=short)
    start = stage_inputs(survey)
    names = list(start)
    keep = survey["family"].isin([fronts.BASELINE, *names])
    out = [survey[keep]]
    budgets = budget(profile)["lenet_budget_epochs"]

    def run(tasks):
        return fronts.run_tasks(tasks, progress, workers, scheduler, allow_divergence=True)

    for i, epochs in enumerate(budgets):
        steps = STEPS if i == 0 else LATER_STEPS     # later budgets: from the previous budget's choice, downward
        tasks = [_task(fronts.BASELINE, profile, epochs, 1.0, 0)]
        tasks += [_task(n, profile, epochs, m, 0) for n in names for m in _tried(start[n], steps)]
        rows = run(tasks)
        for _ in range(EXTEND_STEPS):
            more = fronts.edge_extensions(fronts.under_shared(rows), _bounds(rows), step=STEPS[2])
            more = [_task(f, profile, epochs, m, 0) for f, m in more if f in names]
            if not more:
                break
            rows = pd.concat([rows, run(more)], ignore_index=True)
        if i == len(budgets) - 1:
            more = [_task(f, profile, epochs, m, 0) for f, m in refinements(rows, names)]
            if more:
                rows = pd.concat([rows, run(more)], ignore_index=True)
        out.append(rows.assign(epochs=epochs))
        start = _choices(rows, names)
    rows = pd.concat(out, ignore_index=True)
    seeded = {short, *budgets[-1:]}              # the survey's and the longest budget's choices get SEEDS seeds
    for _ in range(MAX_ROUNDS):
        more = []
        for epochs, d in rows[rows["epochs"].isin(seeded)].groupby("epochs", sort=True):
            have = set(zip(d["family"], d["lam_mult"].astype(float), d["seed"]))
            done = fronts.finished(d)
            wanted = _choices(d, names)
            if epochs != short:       # the bound every choice of a trained budget is judged by: as many seeds
                wanted[fronts.BASELINE] = 1.0         # (the survey's baseline seeds are the survey's own)
            for fam, m in wanted.items():
                finished = int(((done["family"] == fam) & (done["lam_mult"].astype(float) == m)).sum())
                seeds = [s for s in range(fronts.MAX_SEED + 1) if (fam, m, s) not in have][:max(0, SEEDS - finished)]
                more += [_task(fam, profile, int(epochs), m, s) for s in seeds]
        if not more:
            break
        new = run(more)
        rows = pd.concat([rows, new.assign(epochs=new["epochs"].astype(int))], ignore_index=True)
    order = {f: i for i, f in enumerate(FAMILIES)}
    return rows.sort_values(["epochs", "family", "lam_mult", "seed"], kind="stable",
                            key=lambda c: c.map(order) if c.name == "family" else c).reset_index(drop=True)


def table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (budget, family): the point chosen on validation under the shared rule at that budget's bounds
    (:func:`hgsr.study.fronts.table`), with ``epochs``; the baseline is left out."""
    out = []
    for epochs, d in rows.groupby("epochs", sort=True):
        t = fronts.table(fronts.under_shared(fronts.points(fronts.finished(d))), _bounds(d))
        out.append(t[t["family"] != fronts.BASELINE].assign(epochs=int(epochs), test_images=int(d["test_images"].max())))
    cols = ["epochs", "label", "lam", "lam_mult", "seeds", "widths", "filters_left_mean", "filters_left_std",
            "params_removed", "val_error", "error_finetuned", "error_finetuned_std", "reaches_on_val", "meets_test",
            "test_images", "family"]
    return pd.concat(out, ignore_index=True)[cols]


def plot(tab: pd.DataFrame):
    """Filters left at each budget's validation choice (mean ± std over seeds) against training epochs, one
    line per family (its palette style); a hollow marker where the choice misses the target on test."""
    from ..viz import style
    from ..viz._common import new_axes, series_styles

    fig, ax = new_axes(figsize=(8, 4.5))
    styles = series_styles(list(tab["label"]), distinct=True)   # the leaders come from several notebooks
    for fam, d in tab.groupby("family", sort=False):
        d = d.sort_values("epochs")
        st = styles[d["label"].iloc[0]]
        ax.errorbar(d["epochs"], d["filters_left_mean"], yerr=d["filters_left_std"].fillna(0), label=d["label"].iloc[0],
                    color=st["color"], marker=st["marker"], capsize=3, linewidth=1.5)
        miss = d[~(d["reaches_on_val"] & d["meets_test"])]
        ax.scatter(miss["epochs"], miss["filters_left_mean"], s=140, facecolors="white", edgecolors=st["color"],
                   zorder=3, linewidths=1.5)
    ax.set_xticks(sorted(tab["epochs"].unique()))
    ax.set_xlabel("training epochs")
    ax.set_ylabel("filters left at the validation choice")
    ax.set_title(f"Does a longer training move the front? (shared rule, ≤ {style.percent(ERROR_TARGET, 2)} target; "
                 f"hollow: target missed)")
    ax.legend(loc="upper right")
    return fig


def at_target(tab: pd.DataFrame, epochs: int) -> pd.DataFrame:
    """The rows of :func:`table` (or its saved CSV) at budget ``epochs`` whose choice reaches the target on
    validation and on test, fewest filters first (ties: lower test error)."""
    d = tab[(tab["epochs"] == epochs) & tab["reaches_on_val"].astype(bool) & tab["meets_test"].astype(bool)]
    return d.sort_values(["filters_left_mean", "error_finetuned"], kind="stable")


def _epochs(n) -> str:
    return count_text(n, "epoch")


def verdict(tab: pd.DataFrame, rows: pd.DataFrame | None = None) -> str:
    """Markdown from :func:`table`: the family
    with the fewest filters at the target at the longest budget (mean ± std, seeds) against SSL's published
    point (the target: fewer filters than it at ``<= ERROR_TARGET``); how much the last budget step moved each
    leader (against the seeds' spread); whether the leaders' order changed between the survey and the longest
    budget; the HGSR reference mix's rank among them; with the stage's ``rows`` (:func:`rows`), where its
    longer budgets come from (:func:`survey_note`)."""
    from ..viz.style import percent
    from . import published

    pub = published.lenet_result(fronts.TARGET_KEY)
    budgets = sorted(tab["epochs"].unique())
    first, last = budgets[0], budgets[-1]
    L = tab[tab["epochs"] == last]
    ok = at_target(tab, last)
    text = []
    if ok.empty:
        text.append(f"At {_epochs(last)} no leader reaches the target (≤ {percent(ERROR_TARGET, 2)} test error at a "
                    f"validation choice within the bound).")
    else:
        b = ok.iloc[0]
        std = "" if np.isnan(b["filters_left_std"]) else f" ± {b['filters_left_std']:.1f}"
        beats = b["filters_left_mean"] < pub.filters_left
        met = b["filters_left_mean"] <= TARGET_FILTERS and b["seeds"] >= SEEDS
        text.append(f"**At {_epochs(last)}, fewest filters at ≤ {percent(ERROR_TARGET, 2)} test error: {b['label']}**, "
                    f"{b['filters_left_mean']:.1f}{std} filters ({b['widths']}) at {percent(b['error_finetuned'], 2)} "
                    f"test error, mean of {int(b['seeds'])} seeds; SSL's *published* result is {pub.filters_left} "
                    f"filters at {percent(pub.error_finetuned, 2)} (its own, longer budget), which it "
                    f"{'beats' if beats else 'does not beat'}. The course's target (at most {TARGET_FILTERS} filters, "
                    f"mean of at least {SEEDS} seeds) is **{'met' if met else 'not met'}**.")
        se = filter_pruning.binomial_se(ERROR_TARGET, int(b["test_images"]))   # the same for error and accuracy
        gap = ERROR_TARGET - b["error_finetuned"]
        spread = "" if np.isnan(b["error_finetuned_std"]) else f" (± {percent(b['error_finetuned_std'], 2)} over the seeds)"
        text.append(f"Its test error{spread} is {percent(gap, 2)} below the {percent(ERROR_TARGET, 2)} target: "
                    f"{'less' if gap < se else 'more'} than one sampling standard error of an error rate near the target "
                    f"on {int(b['test_images']):,} test images ({percent(se, 2)}; the seeds share those images, so it does "
                    f"not shrink with them).")
    if len(budgets) > 2:
        prev = tab[tab["epochs"] == budgets[-2]].set_index("family")
        moves = []
        for r in L.itertuples():
            if r.family in prev.index:
                p = prev.loc[r.family]
                d = r.filters_left_mean - p["filters_left_mean"]
                if np.isnan(p["filters_left_std"]) or np.isnan(r.filters_left_std):
                    moves.append(f"{r.label} {d:+.1f} (one seed at one of the two budgets: no spread to compare with)")
                else:
                    spread = p["filters_left_std"] + r.filters_left_std
                    moves.append(f"{r.label} {d:+.1f} ({'within' if abs(d) <= spread else 'beyond'} the sum of the "
                                 f"seed spreads, {spread:.1f})")
        text.append(f"From {budgets[-2]} to {_epochs(last)} the filters left at each choice moved: {'; '.join(moves)}.")
    at_first = at_target(tab, first)["label"].tolist()
    at_last = ok["label"].tolist()
    both = [x for x in at_first if x in at_last]
    same = both == [x for x in at_last if x in at_first]
    text.append(f"Order of the leaders at the target by filters left: at {_epochs(first)} {', '.join(at_first) or 'none'}; "
                f"at {_epochs(last)} {', '.join(at_last) or 'none'}. "
                + (f"Among the families at the target at both budgets the longer budget {'keeps' if same else 'changes'} "
                   f"the order" + (", so the short survey's choice of leaders stands." if same else
                                   ", so the short survey does not rank families reliably, and a family left out at "
                                   f"{_epochs(first)} might also gain.") if len(both) > 1 else ""))
    dropped = [x for x in at_first if x not in at_last]
    if dropped:
        text.append(f"At {_epochs(last)} the validation choice of {', '.join(dropped)} misses the target on the test set "
                    f"(within the bound on validation, above {percent(ERROR_TARGET, 2)} on test): the fewer filters a "
                    f"longer training reaches are not always worth their error.")
    h = L[L["family"].isin(HGSR_FAMILIES)]
    if len(h):
        r = h.iloc[0]
        where = (f"ranks {at_last.index(r['label']) + 1} of {len(at_last)} at the target" if r["label"] in at_last
                 else "is not at the target")
        gap = ""
        if r["label"] in at_last and at_last.index(r["label"]) > 0:
            lead = ok.iloc[0]
            d = r["filters_left_mean"] - lead["filters_left_mean"]
            spread = lead["filters_left_std"] + r["filters_left_std"]
            gap = (f": {d:.1f} filters behind {lead['label']}, "
                   + ("spread unknown (one seed)" if np.isnan(spread) else
                      f"{'within' if d <= spread else 'beyond'} the sum of the two seed spreads ({spread:.1f})"))
        text.append(f"{r['label']} {where} at {_epochs(last)} ({r['filters_left_mean']:.1f} filters at "
                    f"{percent(r['error_finetuned'], 2)}){gap}.")
    if rows is not None and (note := survey_note(rows)):
        text.append(note)
    return "\n\n".join(text)


# ----------------------------------------------------------------------------- the committed artifact

def artifact_path(profile: str) -> Path:
    """``data/budget/lenet_budget_<profile>.csv``: the committed rows of the stage at ``profile``."""
    return ARTIFACT_DIR / f"lenet_budget_{profile}.csv"


def card_path(profile: str) -> Path:
    return artifact_path(profile).with_suffix(".json")


def survey_digest(survey: pd.DataFrame) -> str:
    """SHA-256 of the survey rows the stage starts from (the baseline's and the leaders', :func:`leaders`), over
    :data:`SURVEY_DIGEST_COLUMNS`, numbers printed to 6 significant digits: the same survey gives the same digest."""
    keep = survey[survey["family"].isin([fronts.BASELINE, *leaders(_survey_table(survey))])]
    cols = [c for c in SURVEY_DIGEST_COLUMNS if c in keep.columns]
    d = keep[cols].sort_values(["family", "lam_mult", "seed"], kind="stable")
    text = d.to_csv(index=False, float_format="%.6g", lineterminator="\n")
    return hashlib.sha256(text.encode()).hexdigest()


def _fix(profile: str) -> str:
    return (f"make it with `make lenet-budget PROFILE={profile}` (python -m hgsr.study.budget --profile {profile}; "
            f"reads every run already in the runs cache), or restore the committed one with "
            f"`git checkout -- {artifact_path(profile).parent}`")


def _survey_lines(rows: pd.DataFrame) -> dict[tuple, str]:
    """``{(family, λ multiple, seed): line}``: each row's results (:data:`SURVEY_RESULT_COLUMNS`, numbers to 6
    significant digits, as :func:`survey_digest` prints them; not whether the run was trained or read)."""
    cols = [c for c in SURVEY_RESULT_COLUMNS if c in rows.columns]
    lines = rows[cols].to_csv(index=False, header=False, float_format="%.6g", lineterminator="\n").splitlines()
    return dict(zip(_row_keys(rows), lines))


def _row_keys(rows: pd.DataFrame) -> list[tuple]:
    """``(family, λ multiple, seed)`` of each row: what identifies a run of one budget."""
    return list(zip(rows["family"], rows["lam_mult"].astype(float).round(6), rows["seed"].astype(int)))


def _inputs_text(inputs: dict[str, float]) -> str:
    return ", ".join(f"{f} at λ × {m:g}" for f, m in inputs.items()) or "no leaders"


def load(survey: pd.DataFrame, profile: str = "default") -> pd.DataFrame:
    """The committed rows of the stage at ``profile`` (:func:`make`), checked against this ``survey``.

    The file must match the SHA-256 in its card, and ``survey`` must start the same stage: the card's leaders
    are its :func:`leaders`, and the first budget holds, for each, the runs at its starting λ times :data:`STEPS`
    (:func:`stage_inputs`), so the stage's longer runs are the ones this survey would train. Otherwise
    :class:`BudgetArtifactError` names the file and the fix.

    Where the survey rows themselves differ, compared row by row (a network trained with another number of threads
    or on another instruction set can end with a filter more or less), the returned rows hold this survey's rows
    in their place, so the stage's short budget is the one the notebook's other tables show.
    ``attrs["survey"]`` says what was compared: ``{"rows", "differing", "made", "machine"}``
    (:func:`survey_note`)."""
    path, cpath = artifact_path(profile), card_path(profile)
    for p in (path, cpath):
        if not p.exists():
            raise BudgetArtifactError(f"profile={profile!r}: the budget stage is not committed ({p} is missing); "
                                      f"{_fix(profile)}")
    try:
        card = json.loads(cpath.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise BudgetArtifactError(f"{cpath} cannot be read ({e}); {_fix(profile)}") from e
    if file_digest(path) != card.get("sha256"):
        raise BudgetArtifactError(f"{path} does not match the SHA-256 in its card {cpath} (edited or truncated); "
                                  f"{_fix(profile)}")
    try:
        stored = pd.read_csv(path)
    except (OSError, ValueError) as e:
        raise BudgetArtifactError(f"{path} cannot be read ({e}); {_fix(profile)}") from e
    short = card.get("survey_epochs", experiments.profile(profile)["lenet_epochs"])
    want = stage_inputs(survey)
    first = stored[(stored["epochs"] == budget(profile)["lenet_budget_epochs"][0]) & (stored["seed"] == 0)]
    missing = {f: sorted(set(_tried(want[f], STEPS)) - set(first.loc[first["family"] == f, "lam_mult"]))
               for f in want}
    lacking = "; ".join(f"it has no {f} at λ × {', '.join(f'{m:g}' for m in ms)}" for f, ms in missing.items() if ms)
    if set(want) != set(card.get("leaders", [])) or lacking:
        raise BudgetArtifactError(f"{path} was made from another survey than this one (its leaders: "
                                  f"{', '.join(card.get('leaders', [])) or 'none'}; this survey starts "
                                  f"{_inputs_text(want)}{'; ' + lacking if lacking else ''}: the code or the grid "
                                  f"changed since {card.get('made', 'it was made')}); {_fix(profile)}")
    current = survey[survey["family"].isin([fronts.BASELINE, *want])].assign(epochs=short)
    at_short = stored[stored["epochs"] == short]
    old, new = _survey_lines(at_short), _survey_lines(current)
    differing = sum(old.get(k) != line for k, line in new.items())
    out = stored
    if differing:     # this survey's rows in place of the stage's, which keeps its own extra seeds
        kept = at_short[[k not in new for k in _row_keys(at_short)]]
        out = pd.concat([current.reindex(columns=stored.columns), kept, stored[stored["epochs"] != short]],
                        ignore_index=True)
    out.attrs["survey"] = {"rows": len(current), "differing": differing, "made": card.get("made"),
                           "machine": card.get("machine")}
    return out


def survey_note(rows: pd.DataFrame) -> str:
    """Where the longer budgets of :func:`rows` come from: nothing for a stage run live; for the committed one
    (:func:`load`), that it was made from this very survey, or from one whose rows of the leaders and the
    baseline differ in *k* rows while its leaders and their starting λ are the same."""
    s = rows.attrs.get("survey")
    if not s:
        return ""
    m = s.get("machine") or {}
    where = f"made {str(s.get('made') or '?')[:10]} on {m.get('cpu_capability', '?')}"
    if not s["differing"]:
        return (f"The longer budgets are the committed stage ({where}), made from this very survey: the same rows "
                f"of the leaders and the baseline.")
    return (f"The longer budgets are the committed stage ({where}). Its survey differs from this run's in "
            f"{count_text(s['differing'], 'row')} of the {s['rows']} of the leaders and the baseline: a network "
            f"trained with another number of threads or on another instruction set rounds differently and can end "
            f"with a filter more or less. Its leaders and their starting λ are this survey's, so its longer runs are "
            f"the ones this survey would train; the short budget shown is this run's.")


def rows(survey: pd.DataFrame, profile: str = "default", progress: bool = True, workers: int | None = None,
         scheduler: str | None = None) -> pd.DataFrame:
    """The stage's rows at ``profile``: the committed artifact (:func:`load`) where :data:`BUDGETS` says so,
    else :func:`sweep` run now."""
    if budget(profile)["lenet_budget_artifact"]:
        return load(survey, profile)
    return sweep(survey, profile, progress, workers, scheduler)


def make(profile: str = "default", progress: bool = True, workers: int | None = None,
         scheduler: str | None = None) -> dict:
    """Run the survey (:func:`hgsr.study.fronts.sweep`, from the runs cache where it is there) and the stage,
    write the artifact and its card (:func:`artifact_path`), and return the card."""
    from .dense_start import _git_commit, machine_record
    import torch

    started = time.perf_counter()
    survey = fronts.sweep(profile, progress=progress, workers=workers, scheduler=scheduler)
    stage = sweep(survey, profile, progress, workers, scheduler)
    path = artifact_path(profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    stage.to_csv(path, index=False)
    trained = stage[stage["status"] == "trained"]     # sweep rows always carry a status
    card = {"name": path.stem, "profile": profile, "budgets": list(budget(profile)["lenet_budget_epochs"]),
            "survey_epochs": experiments.profile(profile)["lenet_epochs"],
            "leaders": [f for f in dict.fromkeys(stage["family"]) if f != fronts.BASELINE],
            "steps": list(STEPS), "later_steps": list(LATER_STEPS), "refine": REFINE, "seeds": SEEDS,
            "rows": len(stage), "tasks_trained_in_this_call": int(len(trained)),
            "tasks_read_from_cache": int((stage["status"] == "cached").sum()),
            "task_seconds_trained_in_this_call": round(float(trained["task_s"].sum()), 1),
            "wall_seconds_of_this_call": round(time.perf_counter() - started, 1),
            "note": "a task read from the runs cache was trained by an earlier call; its seconds are not counted here",
            "machine": machine_record(torch.device("cpu")), "commit": _git_commit(),
            "made": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "survey_digest": survey_digest(survey), "sha256": file_digest(path)}
    atomic_write_json(card, card_path(profile))
    print(f"{path}: {len(stage)} rows, {card['tasks_trained_in_this_call']} tasks trained in this call, "
          f"{card['wall_seconds_of_this_call']:.0f} s")
    return card


def main(argv: list[str] | None = None) -> int:
    """``python -m hgsr.study.budget [--profile default] [--workers N] [--scheduler ADDR] [--no-progress]``."""
    p = argparse.ArgumentParser(prog="python -m hgsr.study.budget", description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="default", choices=[k for k, v in BUDGETS.items() if v["lenet_budget_artifact"]])
    p.add_argument("--workers", type=int, default=None, help="local Dask workers (default: one per core)")
    p.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    make(a.profile, not a.no_progress, a.workers, a.scheduler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
