"""Notebook 09: which method when. The course's results in one table and a few sentences, read from the
committed result tables (``figures/tables/*.csv``, written by notebooks 03, 06, 07 and 08 at the ``default``
profile); nothing is trained or recomputed, so the recap says what the committed figures say.

- :func:`load`: the tables of :data:`TABLES`, by their short names;
- :func:`which_method`: one row per LeNet-5 family: where the course teaches it, its filters left and test error
  at the error target under the shared removal rule and under its own rule (notebook 07), the parameters and
  MACs the shared rule removed, and the measured speed-up of its compact network (notebook 08);
- :func:`verdict`: the sentences notebook 09 shows, computed from those tables; :func:`sources`: which tables.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..data import REPO
from ..errors import InvalidArgument
from . import budget as budget_stage
from . import families, filter_pruning, fronts, outer_functions

TABLES_DIR = REPO / "figures" / "tables"
# short name -> committed table (without .csv) and the notebook that writes it
TABLES = {"rules": "07_rules_compared", "shared": "07_lenet_table", "budget": "07_budget_table", "latency": "08_latency",
          "headline": "06_headline", "outer": "03_outer_function_matched"}
# headers for the columns of :func:`which_method` that the suite's vocabulary does not name
HEADERS = {"label": "method", "notebook": "taught in notebook",
           "speedup_b64": "speed-up at batch 64 of its compact network (×; notebook 08, registered λ)"}


def load(tables_dir: Path | str = TABLES_DIR) -> dict[str, pd.DataFrame]:
    """``{short name: table}`` for every table of :data:`TABLES`, read from ``tables_dir`` (default: the
    committed ``figures/tables``). A missing table raises InvalidArgument naming it and the notebook that
    writes it."""
    tables_dir = Path(tables_dir)
    missing = [f"{name}.csv (notebook {name[:2]})" for name in TABLES.values() if not (tables_dir / f"{name}.csv").exists()]
    if missing:
        raise InvalidArgument(f"tables_dir={str(tables_dir)!r} lacks {', '.join(missing)}: run those notebooks at the "
                              "default profile (make figures ONLY=...) or give the folder that holds them")
    return {short: pd.read_csv(tables_dir / f"{name}.csv") for short, name in TABLES.items()}


def _notebook_of(label: str) -> str:
    """The notebook that introduces the family labelled ``label`` (:data:`hgsr.study.families.FAMILIES`)."""
    return next((f.notebook for f in families.FAMILIES.values() if f.label == label), "—")


def which_method(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per LeNet-5 family of notebook 07, best first (rank under the shared rule, then under its own;
    families that miss the target last): label, the notebook that teaches it, filters left / test error / rank
    under the shared rule and under the family's own rule (``07_rules_compared``), the fractions of parameters
    and MACs the shared rule removed (``07_lenet_table``) and the speed-up at batch 64 of the family's compact
    network at its registered λ (``08_latency``; NaN for a family that notebook does not time)."""
    rules, shared, latency = tables["rules"], tables["shared"], tables["latency"]
    need = {"rules": ["label", "filters_left_shared", "error_shared", "rank_shared", "filters_left_own", "error_own",
                      "rank_own"], "shared": ["label", "params_removed", "macs_removed"],
            "latency": ["label", "speedup_b64"]}
    for short, cols in need.items():
        lacking = [c for c in cols if c not in tables[short].columns]
        if lacking:
            raise InvalidArgument(f"table {TABLES[short]!r} lacks the columns {lacking}; it has "
                                  f"{list(tables[short].columns)}")
    removed = shared[["label", "params_removed", "macs_removed"]].rename(
        columns={"params_removed": "params_removed_shared", "macs_removed": "macs_removed_shared"})
    speed = latency[["label", "speedup_b64"]].drop_duplicates("label")
    out = (rules[need["rules"]].merge(removed, on="label", how="left").merge(speed, on="label", how="left"))
    out.insert(1, "notebook", [_notebook_of(x) for x in out["label"]])
    out = out.sort_values(["rank_shared", "rank_own"], na_position="last", kind="stable").reset_index(drop=True)
    return out[["label", "notebook", "filters_left_shared", "error_shared", "rank_shared", "params_removed_shared",
                "macs_removed_shared", "filters_left_own", "error_own", "rank_own", "speedup_b64"]]


def _leaders(table: pd.DataFrame, rank: str, k: int = 3) -> pd.DataFrame:
    return table[table[rank].notna()].sort_values(rank, kind="stable").head(k)


def _lenet_sentences(table: pd.DataFrame) -> list[str]:
    target = f"{fronts.ERROR_TARGET:.2%}"
    text = []
    top = _leaders(table, "rank_shared")
    if top.empty:
        text.append(f"No LeNet-5 family reaches the {target} test-error target under the shared removal rule.")
    else:
        first, rest = top.iloc[0], top.iloc[1:]
        text.append(f"**LeNet-5 on MNIST** (notebook 07), every family judged by one shared removal rule at the {target} "
                    f"test-error target: the fewest filters are left by **{first['label']}** "
                    f"({first['filters_left_shared']:g} filters at {first['error_shared']:.2%} error)"
                    + ("" if rest.empty else ", then " + " and ".join(
                        f"{r['label']} ({r['filters_left_shared']:g} at {r['error_shared']:.2%})" for _, r in rest.iterrows()))
                    + f"; {int(table['rank_shared'].notna().sum())} of {len(table)} families reach the target.")
    own = _leaders(table, "rank_own", 1)
    if len(own) and len(top):
        same = own.iloc[0]["label"] == top.iloc[0]["label"]
        text.append(f"Under each family's own removal rule the first is **{own.iloc[0]['label']}** "
                    f"({own.iloc[0]['filters_left_own']:g} filters at {own.iloc[0]['error_own']:.2%} error)"
                    + (": the rule does not change the winner." if same else
                       ": the rule changes the winner, so a comparison must say which rule it uses."))
    ok = table[table["rank_shared"].notna()]
    if len(ok) and ok["params_removed_shared"].notna().any():
        p = ok.loc[ok["params_removed_shared"].idxmax()]
        m = ok.loc[ok["macs_removed_shared"].idxmax()]
        text.append(f"Among those at the target, the most parameters are removed by {p['label']} "
                    f"({p['params_removed_shared']:.0%}) and the most MACs by {m['label']} ({m['macs_removed_shared']:.0%}).")
    return text


def _speed_sentence(latency: pd.DataFrame, min_ratio: float = 1.05) -> str | None:
    lenet = latency[(latency.get("network", "LeNet-5") == "LeNet-5") & (latency["mac_ratio"] > min_ratio)]
    if lenet.empty:
        return None
    fast = lenet.loc[lenet["speedup_b64"].idxmax()]
    e64, e1 = lenet["efficiency_b64"].median(), lenet["efficiency_b1"].median()
    return (f"**Speed** (notebook 08): the fastest compact LeNet-5 at batch 64 comes from {fast['label']}, "
            f"{fast['speedup_b64']:.2f}× faster than the dense network for {fast['mac_ratio']:.1f}× fewer MACs; over the "
            f"{len(lenet)} compact networks with fewer MACs the median efficiency (speed-up / MAC ratio) is "
            f"{e64:.2f} at batch 64 and {e1:.2f} at batch 1"
            + (": removing filters buys speed, but less than the MAC count promises." if max(e64, e1) < 1 else
               ": at one batch size at least, the typical speed-up matches or beats the MAC ratio."))


def _resnet_sentence(headline: pd.DataFrame) -> str | None:
    ours = headline[headline["acc"].notna()]
    if ours.empty:
        return None
    r = ours.iloc[0]
    met = (r["params_removed"] >= filter_pruning.TARGET_PARAMS_REMOVED
           and r["acc_change_points"] >= -filter_pruning.TARGET_DROP_POINTS)
    return (f"**ResNet-20 on CIFAR-10** (notebook 06): HGSR filter pruning removed {r['params_removed']:.0%} of the "
            f"parameters for an accuracy change of {r['acc_change_points']:+.2f} points against an equally fine-tuned "
            f"dense control; the target (at least {filter_pruning.TARGET_PARAMS_REMOVED:.0%} removed for at most "
            f"{filter_pruning.TARGET_DROP_POINTS:g} point lost) is " + ("**met**." if met else "**not met** on this budget."))


def _outer_sentence(outer: pd.DataFrame) -> str | None:
    d = outer[outer["count"] == outer_functions.COUNT_NAMES["channels_left"]] if "count" in outer.columns else outer
    d = d.dropna(subset=["hsr_fewest", "hsq_fewest"])
    if d.empty:
        return None
    hsr, hsq = int((d["hsr_fewest"] < d["hsq_fewest"]).sum()), int((d["hsr_fewest"] > d["hsq_fewest"]).sum())
    ties = len(d) - hsr - hsq
    return (f"**Square root or square** (notebook 03, matched strength, absolute count): the square-rooted outer "
            f"function leaves fewer channels in {hsr} of the {len(d)} pairs where both reach the accuracy floor, the "
            f"squared one in {hsq}, and {ties} tie.")


def _budget_sentence(budget: pd.DataFrame) -> str | None:
    """The longest budget of notebook 07's budget stage: the fewest filters at the target (mean ± std, seeds)."""
    if budget is None or budget.empty:
        return None
    first, last = int(budget["epochs"].min()), int(budget["epochs"].max())
    at = budget_stage.at_target(budget, last)
    if at.empty:
        return (f"**A longer training** (notebook 07): trained {last} epochs instead of {first}, no leading family "
                f"reaches the {fronts.ERROR_TARGET:.2%} target.")
    r = at.iloc[0]
    std = "" if pd.isna(r["filters_left_std"]) else f" ± {r['filters_left_std']:.1f}"
    return (f"**A longer training** (notebook 07): trained {last} epochs instead of {first}, the fewest filters at the "
            f"{fronts.ERROR_TARGET:.2%} target are left by **{r['label']}**, {r['filters_left_mean']:.1f}{std} filters at "
            f"{r['error_finetuned']:.2%} test error (mean of {int(r['seeds'])} seeds).")


def verdict(tables: dict[str, pd.DataFrame]) -> str:
    """Markdown for notebook 09 from :func:`load`'s tables: the LeNet-5 ranking under the shared and the own
    rules with the most parameters and MACs removed, the longest budget's leader, the measured speed of the compact networks, the ResNet-20
    filter-pruning headline against its target and the outer-function comparison of notebook 03."""
    parts = _lenet_sentences(which_method(tables))
    for s in (_budget_sentence(tables.get("budget")), _speed_sentence(tables["latency"]), _resnet_sentence(tables["headline"]), _outer_sentence(tables["outer"])):
        if s:
            parts.append(s)
    return "\n\n".join(f"- {p}" for p in parts)


def sources() -> str:
    """One line: the committed tables the recap reads, each with the notebook that writes it."""
    return ("Read from the committed tables of the `default` profile in `figures/tables/`: "
            + ", ".join(f"`{name}` (notebook {name[:2]})" for name in TABLES.values()) + ".")
