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
