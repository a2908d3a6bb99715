"""hgsr.prune.largest_within: as many channels as an error bound allows, in score order."""
import pandas as pd
import pytest
import torch

from hgsr import models, prune
from hgsr.errors import InvalidArgument
from hgsr.prune.ranking import bounded

SHAPE = (1, 28, 28)


def _net():
    torch.manual_seed(0)
    return models.build("lenet5", 10, 1, 28)


def _zeroed_filters(net) -> int:
    """A stand-in error that grows with every silenced filter: the count of all-zero conv filters."""
    return sum(int((m.weight.detach().flatten(1).abs().sum(1) == 0).sum())
               for m in net.modules() if isinstance(m, torch.nn.Conv2d))


def _scores(net):
    rows = [(g.name, c, float(c + 100 * i)) for i, g in enumerate(prune.prunable_groups(net, torch.zeros(1, *SHAPE)))
            for c in range(g.size)]
    return pd.DataFrame(rows, columns=["group", "channel", "score"])


def test_removes_the_largest_count_within_the_bound_in_score_order():
    net = _net()
    out = prune.largest_within(net, _scores(net), SHAPE, _zeroed_filters, bound=7)
    assert out["removed"] == 7 and out["error"] == 7
    assert sum(len(c) for c in out["plan"].values()) == 7
    first = next(iter(out["plan"]))                     # the lowest scores: conv1's channels 0..6
    assert out["plan"] == {first: list(range(7))}
    assert len(out["probes"]) <= 10                      # bisection, not a scan of 68 counts


def test_floor_keeps_every_group_and_bound_above_everything_takes_all_removable():
    net = _net()
    scores = _scores(net)
    out = prune.largest_within(net, scores, SHAPE, _zeroed_filters, bound=1e9, min_keep=0.25)
    sizes = scores.groupby("group").size()
    assert out["removable"] == sum(n - -(-n // 4) for n in sizes) == out["removed"]
    for g, n in sizes.items():
        assert n - len(out["plan"].get(g, [])) >= -(-n // 4)


def test_nothing_goes_when_the_dense_network_is_already_above_the_bound():
    net = _net()
    out = prune.largest_within(net, _scores(net), SHAPE, lambda m: 0.5, bound=0.1)
    assert out["removed"] == 0 and out["plan"] == {}


def test_ranked_leaves_one_channel_per_group_and_refuses_a_table_without_scores():
    net = _net()
    order = bounded.ranked(_scores(net), "score", 0.0)
    assert len(order) == len(_scores(net)) - 2
    with pytest.raises(InvalidArgument, match="delta_loss"):
        bounded.ranked(_scores(net), "delta_loss", 0.0)
    with pytest.raises(InvalidArgument, match="error_of"):
        prune.largest_within(net, _scores(net), SHAPE, "error", bound=0.1)
