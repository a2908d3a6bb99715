import pytest
import torch

from hgsr import experiments, train


def tiny(**kw):
    base = dict(dataset="synthetic", model="lenet5", epochs=2, lr=0.05, batch_size=64, profile="smoke")
    return experiments.Config(**{**base, **kw})


def test_second_call_loads_identical_result_without_training(monkeypatch):
    first = experiments.run(tiny(), progress=False)
    assert (first.path / "result.pt").exists() and not (first.path / "checkpoint.pt").exists()

    def no_training(*a, **k):
        raise AssertionError("a cached run must not train again")
    monkeypatch.setattr(train, "fit", no_training)
    second = experiments.run(tiny(), progress=False)
    assert second.metrics == first.metrics
    assert second.history.equals(first.history)
    for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values()):
        assert torch.equal(a, b)


def test_truncated_entry_is_ignored_and_recomputed():
    first = experiments.run(tiny(), progress=False)
    blob = (first.path / "result.pt").read_bytes()
    (first.path / "result.pt").write_bytes(blob[: len(blob) // 2])
    with pytest.warns(UserWarning, match=r"result\.pt is truncated or corrupt .*; recomputing it"):
        again = experiments.run(tiny(), progress=False)
    assert again.metrics == first.metrics  # deterministic retraining
    assert experiments.load_cached(again.path / "result.pt") is not None


def test_changed_config_never_hits_a_stale_entry():
    a, b = tiny(), tiny(lr=0.02)
    assert a.hash() != b.hash() and a.hash() == tiny().hash()
    ra, rb = experiments.run(a, progress=False), experiments.run(b, progress=False)
    assert ra.path != rb.path and ra.history.train_loss.tolist() != rb.history.train_loss.tolist()


def test_init_from_starts_from_the_parent_weights():
    parent = tiny()
    child = tiny(epochs=1, lr=0.0, momentum=0.0, weight_decay=0.0, init_from=parent)
    rp, rc = experiments.run(parent, progress=False), experiments.run(child, progress=False)
    for a, b in zip(rp.model.state_dict().values(), rc.model.state_dict().values()):
        assert torch.equal(a, b)  # lr 0: the child is exactly the parent


def test_metrics_and_profiles():
    r = experiments.run(tiny(), progress=False)
    for k in ("test_acc", "params", "macs", "weight_sparsity", "zero_filters", "tol"):
        assert k in r.metrics
    assert experiments.recipe("lenet5_mnist", "smoke").train_subset == 1024
    assert experiments.recipe("lenet5_mnist", "smoke", epochs=3).epochs == 3
    with pytest.raises(ValueError, match="smoke, default, paper"):
        experiments.profile("huge")
    with pytest.raises(ValueError, match="unknown task"):
        experiments.recipe("resnet18_imagenet")


def test_generic_cache_computes_once():
    calls = []

    def compute():
        calls.append(1)
        return {"x": 3}
    assert experiments.cached("demo", {"a": 1}, compute) == {"x": 3}
    assert experiments.cached("demo", {"a": 1}, compute) == {"x": 3}
    experiments.cached("demo", {"a": 2}, compute)
    assert len(calls) == 2


def test_pretrained_weights_are_checked_against_their_card(tmp_path):
    """The committed ResNet-20 loads and matches its card's SHA-256; a copy with one byte changed is a
    PretrainedError naming the file and the fix; a missing card names the available ones."""
    import shutil

    from hgsr import pretrained

    name = "resnet20_cifar10"
    for p in (pretrained.weights_path(name), pretrained.card_path(name)):
        shutil.copy(p, tmp_path / p.name)
    assert pretrained.load(name, folder=tmp_path).training is False
    blob = bytearray(pretrained.weights_path(name, tmp_path).read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    pretrained.weights_path(name, tmp_path).write_bytes(bytes(blob))
    with pytest.raises(pretrained.PretrainedError, match=r"has SHA-256 .* its card .* says .*git checkout"):
        pretrained.load(name, folder=tmp_path)
    with pytest.raises(pretrained.PretrainedError, match=r"no card .*available: resnet20_cifar10"):
        pretrained.load("resnet56_cifar10", folder=tmp_path)


def test_pretrain_writes_weights_and_a_card_that_load_accepts(tmp_path, monkeypatch):
    """One epoch of a LeNet-5 recipe on the synthetic set (4 classes, 1 channel, 16 px): the card records
    the model's shape, so load rebuilds it; the loaded network gives the card's test accuracy; a rerun
    resumes from the finished checkpoint instead of training again."""
    from hgsr import data as hdata
    from hgsr import pretrained, train
    from hgsr.study import dense_start

    recipe = dict(dense_start.RECIPES["resnet20_cifar10"], model="lenet5", dataset="synthetic", epochs=1, batch_size=64,
                  lr=0.05, warmup_epochs=0)
    monkeypatch.setitem(dense_start.RECIPES, "lenet5_synthetic", recipe)
    card = dense_start.pretrain("lenet5_synthetic", out_dir=tmp_path, runs=tmp_path / "runs", progress=False)
    assert card["model_kw"] == {"num_classes": 4, "in_channels": 1, "image_size": 16}
    assert card["epochs"] == 1 and len(card["history"]) == 1 and card["history"][0]["train_loss"] > 0
    model = pretrained.load("lenet5_synthetic", folder=tmp_path)
    assert train.evaluate(model, hdata.load("synthetic"))["accuracy"] == card["test_accuracy"]
    again = dense_start.pretrain("lenet5_synthetic", out_dir=tmp_path, runs=tmp_path / "runs", progress=False)
    assert again["history"] == card["history"] and again["sha256"] == card["sha256"]
    with pytest.raises(ValueError, match="epochs=0 must be a positive integer"):
        dense_start.pretrain("lenet5_synthetic", epochs=0, out_dir=tmp_path)
    with pytest.raises(ValueError, match="is not a pretrain recipe; known: "):
        dense_start.pretrain("vgg_imagenet", out_dir=tmp_path)


def test_a_run_of_zero_epochs_is_its_start_evaluated(tmp_path, monkeypatch):
    monkeypatch.setenv("HGSR_RUNS", str(tmp_path))
    base = experiments.Config(dataset="synthetic", model="lenet5", train_subset=128, test_subset=64, epochs=1)
    trained = experiments.run(base, progress=False)
    start = experiments.run(base.replace(epochs=0, init_from=base), progress=False)
    assert start.history.empty and start.metrics["test_acc"] == trained.metrics["test_acc"]
    for k, v in trained.model.state_dict().items():
        assert torch.equal(v, start.model.state_dict()[k])
    again = experiments.run(base.replace(epochs=0, init_from=base), progress=False)   # from the cache
    assert again.metrics == start.metrics
    from hgsr.errors import InvalidArgument
    with pytest.raises(InvalidArgument, match=r"epochs=0 .* needs a start: give pretrained= or init_from="):
        base.replace(epochs=0)


def test_regularized_start_continues_a_committed_start_with_its_penalty_and_records_channels(tmp_path, monkeypatch):
    """The HGSR-start maker on a tiny LeNet-5 start of the synthetic set: it trains on the training images minus
    the held-out ones, records the small-channel fractions per epoch (epoch 0 = the start), writes a card that
    load accepts, and a rerun resumes instead of training again."""
    from hgsr import data as hdata
    from hgsr import pretrained, train
    from hgsr.study import dense_start, regularized_start

    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    base = dict(dense_start.RECIPES["resnet20_cifar10"], model="lenet5", dataset="synthetic", epochs=1,
                batch_size=64, lr=0.05, warmup_epochs=0)
    monkeypatch.setitem(dense_start.RECIPES, "lenet5_synthetic", base)
    dense_start.pretrain("lenet5_synthetic", out_dir=tmp_path, runs=tmp_path / "runs", progress=False)
    recipe = dict(regularized_start.RECIPES["resnet20_cifar10_hgsr"], start="lenet5_synthetic", dataset="synthetic",
                  val_images=64, epochs=2, batch_size=64, schedule=("step", 1, 0.2))
    monkeypatch.setitem(regularized_start.RECIPES, "lenet5_synthetic_hgsr", recipe)
    card = regularized_start.make("lenet5_synthetic_hgsr", out_dir=tmp_path, runs=tmp_path / "runs", progress=False)
    assert card["train_images"] == len(hdata.load("synthetic").train_y) - 64 and card["val_images"] == 64
    assert [r["epoch"] for r in card["channel_history"]] == [0, 1, 2]
    assert set(card["channel_history"][0]["channels"]) == {"features.0", "features.2"}
    assert all(0 <= v <= 1 for r in card["channel_history"] for c in r["channels"].values() for v in c.values())
    model = pretrained.load("lenet5_synthetic_hgsr")
    rest, _ = hdata.load("synthetic").holdout(64)
    assert train.evaluate(model, rest)["accuracy"] == card["test_accuracy"]
    again = regularized_start.make("lenet5_synthetic_hgsr", out_dir=tmp_path, runs=tmp_path / "runs", progress=False)
    assert again["sha256"] == card["sha256"] and again["channel_history"] == card["channel_history"]
