import pytest
import torch
from torch import nn

from hgsr import measure, models


def test_lenet5_macs_match_hand_count():
    m = models.build("lenet5", 10, 1, 28)
    conv1 = 24 * 24 * 20 * (1 * 5 * 5)
    conv2 = 8 * 8 * 50 * (20 * 5 * 5)
    fc = 800 * 500 + 500 * 10
    assert measure.count_macs(m, (1, 28, 28)) == conv1 + conv2 + fc == 2_293_000
    assert measure.count_params(m) == 20 * 26 + 50 * 501 + 800 * 500 + 500 + 500 * 10 + 10
    assert measure.macs_by_layer(m, (1, 28, 28))["macs"].sum() == 2_293_000


@pytest.mark.parametrize("name,shape", [("lenet5", (1, 28, 28)), ("resnet20", (3, 32, 32)),
                                        ("vgg11", (3, 32, 32))])
def test_macs_agree_with_torch_pruning(name, shape):
    import torch_pruning as tp

    m = models.build(name, 10, shape[0], shape[1]).eval()
    macs, params = tp.utils.count_ops_and_params(m, torch.zeros(1, *shape))
    ours = measure.count_macs(m, shape)
    # torch-pruning also counts BatchNorm / pooling / elementwise ops; conv+linear MACs dominate
    assert params == measure.count_params(m)
    assert ours == measure.macs_by_layer(m, shape)["macs"].sum()
    assert 0.97 * macs <= ours <= macs


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3)
        self.b = nn.Conv2d(4, 6, 3)

    def forward(self, x):
        return self.b(self.a(x))


def test_sparsity_table_counts_known_zero_structure():
    net = Net()
    with torch.no_grad():
        net.a.weight.fill_(1.0)
        net.a.weight[1] = 0            # one zero filter of a (and so 3 zero kernels)
        net.a.weight[2, 0] = 0         # one more zero kernel
        net.b.weight.fill_(0.5)
        net.b.weight[:, 3] = 0         # one zero input channel of b (6 zero kernels)
        net.b.weight[0] = 1e-5         # a filter below tol, not exactly zero
        net.b.weight[5, 0, 0, 0] = 0   # one more zero weight
    t = measure.sparsity_table(net, tol=1e-3, rel=0.01)
    a, b, total = t.iloc[0], t.iloc[1], t.iloc[2]
    assert (a.zero_filters, a.zero_kernels, a.zero_channels, a.zero_weights) == (1, 4, 0, 36)
    # b: filter 0 (all 1e-5) and channel 3 are zero; kernels: 4 of channel 3 + 4 others in filter 0... count:
    # filter 0 has 4 kernels (all tiny) ; channel 3 has 6 kernels, one of them in filter 0 -> 4 + 6 - 1 = 9
    assert (b.zero_filters, b.zero_channels, b.zero_kernels) == (1, 1, 9)
    assert b.zero_weights == 36 + 5 * 9 + 1
    assert total.zero_filters == 2 and total.filters == 10 and total.layer == "total"
    assert total.weights_sparsity == pytest.approx((36 + 82) / (108 + 216))
    assert t.attrs["tol"] == 1e-3
    # relative threshold: in a, filter 1 is 0 <= 0.01 * max
    assert a.rel_zero_filters == 1


def test_latency_is_positive_and_restores_threads():
    m = models.build("lenet5", 10, 1, 28)
    threads = torch.get_num_threads()
    t = measure.latency(m, (1, 28, 28), batch=2, repeats=3, warmup=1, threads=1)
    assert t > 0 and torch.get_num_threads() == threads and m.training
