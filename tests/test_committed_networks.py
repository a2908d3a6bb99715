"""Every committed network in data/pretrained/ loads against its card's SHA-256 and gives its card's test accuracy
when re-measured here, on the CPU (the card may come from a GPU or another instruction set: a few of the 10,000
test images may flip, so the tolerance is 0.2 points); the HGSR start's card records what the penalty did."""
from __future__ import annotations

import pytest

from hgsr import data as hdata
from hgsr import pretrained, train
from hgsr.study import pruning_starts

NAMES = pretrained.available()
TOLERANCE = 0.002


def test_the_starts_of_notebook_06_are_committed():
    assert {pruning_starts.DENSE, pruning_starts.HGSR} <= set(NAMES)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_a_committed_network_gives_its_card_accuracy_on_the_cpu(name):
    card = pretrained.card(name)
    ds = hdata.load(card["dataset"])
    assert card["test_images"] == len(ds.test_y)
    acc = train.evaluate(pretrained.load(name), ds, device="cpu")["accuracy"]
    assert abs(acc - card["test_accuracy"]) <= TOLERANCE, f"{name}: {acc} here, {card['test_accuracy']} on its card"


def test_the_hgsr_start_card_records_the_penalty_and_its_effect_per_epoch():
    card = pretrained.card(pruning_starts.HGSR)
    assert card["start"] == pruning_starts.DENSE and card["val_images"] == pruning_starts.HOLDOUT
    assert card["recipe"]["regularizer"] == pruning_starts.HGSR_PENALTY
    assert card["train_images"] == 50000 - pruning_starts.HOLDOUT
    history = pruning_starts.channel_history()
    assert history["epoch"].tolist() == list(range(card["epochs"] + 1))
    assert history.filter(like="_below_").apply(lambda c: c.between(0, 1)).all().all()
