"""Notebook 06's protocol: candidates, one-shot vs iterative ΔL, criteria, validation choice, seeds, budgets."""
import math

import pandas as pd
import pytest
import torch

from hgsr import experiments, models, prune
from hgsr.viz import vocabulary
from hgsr.study import filter_pruning as fp
from hgsr.study import pruning_starts

BASE = experiments.Config(dataset="synthetic", model="resnet20", model_kw={"width": 0.25}, train_subset=96,
                          test_subset=64, epochs=1, lr=0.05, profile="smoke")
PROTOCOLS = (fp.Protocol("loss", "all"), fp.Protocol("loss", "internal", True), fp.Protocol("magnitude", "internal"))


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("HGSR_RUNS", str(tmp_path_factory.mktemp("fp_runs")))
    torch.set_num_threads(1)
    try:
        yield fp.study("smoke", PROTOCOLS, base=BASE.replace(regularizer=None))
    finally:
        mp.undo()


def test_default_configs_are_the_committed_starts_evaluated_on_the_held_out_split():
    c = fp.configs("default")
    assert c["dense"].pretrained == fp.PRETRAINED == pruning_starts.DENSE and c["dense"].regularizer is None
    assert c["hgsr"] == c["dense"].replace(pretrained=pruning_starts.HGSR)
    assert c["dense"].epochs == 0                              # nothing trained in the notebook
    assert c["dense"].val_images == pruning_starts.HOLDOUT     # the images the HGSR start never trained on
    assert c["dense"].test_subset is None and c["dense"].train_subset is None


def test_candidates_of_resnet20():
    m = models.build("resnet20")
    internal = fp.candidate_groups(m, (3, 32, 32), "internal")
    everything = fp.candidate_groups(m, (3, 32, 32), "all")
    assert len(internal) == 9 and all(g.endswith("conv1") for g in internal)
    assert everything - internal == {g.name for g in prune.prunable_groups(m, (3, 32, 32)) if g.coupled}
    with pytest.raises(ValueError, match="candidates='inner'"):
        fp.candidate_groups(m, (3, 32, 32), "inner")


def test_protocol_names_and_labels_keep_their_table_text():
    """Tables and cached curves are keyed by these strings: renaming the field changed none of them."""
    assert [p.name for p in fp.PROTOCOLS] == ["loss · all", "loss · internal", "loss · internal · iterative",
                                              "magnitude · all · per layer", "magnitude · internal · per layer",
                                              "bn_gamma · internal", "dead_inputs · internal · per layer",
                                              "magnitude · internal"]
    assert fp.Protocol("loss", "all", True).label == "loss increase ΔL, all, iterative"
    assert [p.ablation for p in fp.PROTOCOLS] == [False] * 7 + [True]   # scale-dependent, ranked globally
    with pytest.raises(ValueError, match="ranking='row'"):
        fp.Protocol("loss", ranking="row")


def test_the_study_budget_is_its_own_table():
    """The knobs only notebook 06 reads live in fp.BUDGETS, one table per profile with the same keys."""
    keys = set(fp.BUDGETS["default"])
    assert all(set(b) == keys for b in fp.BUDGETS.values()) and set(fp.BUDGETS) == set(experiments.PROFILES)
    assert not keys & set(experiments.PROFILES["default"])
    assert fp.budget("default")["val_images"] <= pruning_starts.HOLDOUT
    with pytest.raises(ValueError, match="unknown profile 'huge'; known: smoke, default, paper"):
        fp.budget("huge")


def test_curves_remove_candidate_channels_and_shrink_the_network(out):
    c = out["curves"]
    assert set(c["protocol"]) == {p.name for p in PROTOCOLS}
    for name, d in c.groupby("protocol"):
        d = d.sort_values("fraction")
        assert d["fraction"].tolist() == [0.0, 0.5]
        assert d["params"].iloc[1] < d["params"].iloc[0] and 0 < d["params_removed"].iloc[1] < 1
        assert 0 <= d["test_acc_recalibrated"].iloc[1] <= 1
        assert d["narrowest_kept"].iloc[1] >= fp.MIN_KEEP                  # the floor holds
        names = vocabulary.layer_names(out["runs"]["hgsr"].model)                  # named as a reader names them
        assert d["narrowest_layer"].iloc[1] in {vocabulary.group_name(g.name, names) for g in prune.prunable_groups(
            out["runs"]["hgsr"].model, out["input_shape"])}


def test_iterative_plans_are_nested_and_start_like_one_shot(out):
    run = out["runs"]["hgsr"]
    ds = experiments.dataset_for(run.config)
    shape = experiments.input_shape(ds)
    groups = fp.candidate_groups(run.model, shape, "internal")
    kw = {"n_samples": 16}
    plans = prune.iterative_plans(run.model, ds, shape, [0.25, 0.5], "loss", groups=groups, score_kw=kw)
    first = prune.loss_increase_scores(run.model, ds, n_samples=16)
    assert prune.iterative_plans(run.model, ds, shape, [0.25], "loss", groups=groups, first=first,
                                 score_kw=kw)[0.25] == plans[0.25]
    small, big = plans[0.25], plans[0.5]
    assert all(set(small.get(g, [])) <= set(big.get(g, [])) for g in small)
    assert set(small) <= groups and set(big) <= groups
    one_shot = fp._plan(prune.loss_increase_scores(run.model, ds, n_samples=16), groups, 0.25)
    assert small == one_shot                                   # the first chunk: the same scores


def test_validation_split_is_disjoint_from_the_training_subset():
    import hgsr.data as hdata
    val = fp.validation_split(BASE, 100)
    full = hdata.load("synthetic")
    train_idx = set(hdata.stratified_indices(full.train_y, BASE.train_subset, BASE.seed).tolist())
    train_imgs = {full.train_x[i].numpy().tobytes() for i in train_idx}
    assert len(val.test_y) == 100 and not any(x.numpy().tobytes() in train_imgs for x in val.test_x)


def test_winner_is_chosen_on_validation_and_headline_has_every_seed(out):
    ft = out["finetuned"]
    assert ft["ablation"].tolist() == [p.ablation for p in PROTOCOLS]
    eligible = ft[~ft["ablation"]]                        # the global-magnitude ablation is never the winner
    assert eligible.sort_values("val_acc", ascending=False).iloc[0]["protocol"] == out["winner"].name
    assert out["headline_source"] == "short"              # no committed long fine-tune in a test
    h = out["headline"]
    assert sorted(h["seed"]) == [0, 0, 1, 1] and (h["protocol"] == "dense control").sum() == 2
    best = fp.headline(out)
    assert best["seeds"] == 2 and best["test_images"] == 64
    assert set(fp.headline_table(best, "smoke").columns) >= {"params_removed", "macs_removed", "acc_dense", "acc",
                                                             "acc_change_points", "acc_std", "seeds", "test_images"}
    assert "dense" in fp.compact_models.__doc__


def _fake(pruned, dense, removed=0.55):
    rows = [{"protocol": "loss · all", "fraction": 0.5, "seed": s, "params_removed": removed, "macs_removed": 0.4,
             "test_acc": a, "test_images": 10000} for s, a in enumerate(pruned)]
    rows += [{"protocol": "dense control", "fraction": 0.0, "seed": s, "params_removed": 0.0, "macs_removed": 0.0,
              "test_acc": a, "test_images": 10000} for s, a in enumerate(dense)]
    return {"headline": pd.DataFrame(rows), "winner": fp.Protocol("loss", "all"), "headline_source": "committed",
            "budget": {"finetune_epochs": 2}}


def test_headline_statistics_and_verdict():
    best = fp.headline(_fake([0.915, 0.917, 0.913], [0.925, 0.923, 0.927]))
    assert best["acc_change_points"] == pytest.approx(-1.0)
    assert best["acc_std"] == pytest.approx(0.002) and best["seeds"] == 3
    assert best["acc_change_se_points"] == pytest.approx(100 * math.sqrt(2 * 0.002 ** 2 / 3))
    assert best["binomial_se_points"] == pytest.approx(100 * math.sqrt(0.915 * 0.085 / 10000))
    text = fp.verdict(best, "default")
    assert "inside two standard errors" in text and "−1.00" not in text and "-1.00 points" in text
    far = fp.headline(_fake([0.90, 0.901, 0.899], [0.93, 0.931, 0.929]))
    assert not far["meets_target"] and "is not met." in fp.verdict(far, "default")
    few = fp.headline(_fake([0.93, 0.93, 0.93], [0.93, 0.93, 0.93], removed=0.3))
    assert not few["meets_target"]                              # 30 % removed: not the target


def test_target_fraction():
    t = pd.DataFrame({"fraction": [0.0, 0.2, 0.35, 0.5], "params_removed": [0.0, 0.3, 0.52, 0.7]})
    assert fp.target_fraction(t) == 0.35
    assert fp.target_fraction(t, 0.9) == 0.5


def test_finetune_verdict_says_when_the_choice_is_inside_the_noise():
    ft = pd.DataFrame({"protocol": ["a", "b"], "label": ["A", "B"], "val_acc": [0.869, 0.8675],
                       "test_acc": [0.84, 0.83], "params_removed": [0.51, 0.51]})
    close = fp.finetune_verdict(ft, fp.Protocol("bn_gamma"), 2000)
    assert "decided by noise" in close and "runner-up, *B*" in close
    far = fp.finetune_verdict(ft.assign(val_acc=[0.95, 0.80]), fp.Protocol("bn_gamma"), 2000)
    assert "outside the noise" in far


def test_committed_long_fine_tunes_are_found_by_plan_remeasured_and_give_the_budget_curve(tmp_path, monkeypatch,
                                                                                          out):
    """The suite's maker writes a pruned network and a dense control with cards; the study finds them by the
    SHA-1 of the plan, re-measures them on the test split and reads the per-epoch budget curve."""
    from hgsr import pretrained
    from hgsr.study import finetuned_start
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    run = out["runs"]["hgsr"]
    ds = experiments.dataset_for(run.config)
    plan = out["plan"]
    inputs = {"start": run.model, "start_name": "tiny_hgsr", "plan": plan, "plan_sha1": fp.plan_digest(plan),
              "protocol": out["winner"].name, "fraction": 0.5, "dense": out["runs"]["dense"].model,
              "dense_name": "tiny_dense",
              "train": ds, "val_images": 100, "input_shape": out["input_shape"],
              "builder": {"name": "resnet20", "num_classes": ds.num_classes, "in_channels": ds.in_channels,
                          "image_size": ds.image_size, "width": 0.25}}
    for kind in ("pruned", "dense"):
        finetuned_start.make(kind, 0, inputs, epochs=2, out_dir=tmp_path, runs=tmp_path / "runs", progress=False)
    found = pruning_starts.committed_headline(out["winner"].name, 0.5, plan, ds)
    rows = found["rows"]
    assert sorted(rows["protocol"]) == sorted([out["winner"].name, "dense control"])
    assert (rows["test_acc"] == rows["card_test_acc"]).all()       # re-measured: the same network
    assert found["plan_differences"] == 0
    g = next(iter(plan))
    moved = {**plan, g: plan[g][1:]}                                # one channel fewer in one group
    assert pruning_starts.committed_headline(out["winner"].name, 0.5, moved, ds)["plan_differences"] == 1
    other = pruning_starts.committed_headline("bn_gamma · internal", 0.5, plan, ds)
    assert other["rows"].empty and other["other_protocols"] == [out["winner"].name]
    curve = pruning_starts.budget_curve(found["cards"])
    assert curve["epoch"].tolist() == [1, 2] and (curve["seeds"] == 1).all()
    assert curve["acc_change_points"].tolist() == pytest.approx(100 * (curve["acc"] - curve["acc_dense"]))



def test_breakdown_separates_the_penalty_phase_from_the_removal():
    from types import SimpleNamespace
    runs = {"dense": SimpleNamespace(metrics={"test_acc": 0.93}), "hgsr": SimpleNamespace(metrics={"test_acc": 0.66})}
    curves = pd.DataFrame([{"protocol": "bn_gamma · internal", "fraction": 0.65, "test_acc": 0.34,
                            "test_acc_recalibrated": 0.63}])
    best = {"protocol": "bn_gamma · internal", "fraction": 0.65, "finetune_epochs": 15, "acc": 0.88,
            "acc_dense": 0.925, "acc_change_points": -4.5, "params_removed": 0.63}
    t = fp.breakdown({"runs": runs, "curves": curves}, best)
    assert t["test_acc"].tolist() == [0.93, 0.66, 0.34, 0.63, 0.88, 0.925]
    assert t["change_points"].round(2).tolist()[1:] == [-27.0, -32.0, 29.0, 25.0, -0.5]   # control: from the start
    text = fp.breakdown_verdict(t, best)
    assert "(-27.00 points)" in text and "changed it by -3.00 points" in text and "mostly from the penalty phase" in text
    removal_heavy = t.assign(test_acc=[0.93, 0.92, 0.5, 0.6, 0.88, 0.925])
    assert "removal of channels the start still used" in fp.breakdown_verdict(removal_heavy, best)
