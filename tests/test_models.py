import pytest
import torch

from hgsr import models

CASES = [
    ("lenet5", 1, 28, {}),
    ("lenet5", 3, 32, {}),
    ("lenet5", 1, 28, {"batchnorm": True}),
    ("vgg", 3, 32, {"cfg": "vgg11", "width": 0.25}),
    ("vgg16", 3, 32, {"width": 0.125}),
    ("resnet20", 3, 32, {}),
    ("resnet", 3, 32, {"depth": 32, "width": 0.5}),
    ("resnet56", 1, 28, {"width": 0.25}),
    ("alexnet", 3, 32, {}),
]


@pytest.mark.parametrize("name,c,size,kw", CASES)
def test_forward_backward(name, c, size, kw):
    torch.manual_seed(0)
    m = models.build(name, num_classes=10, in_channels=c, image_size=size, **kw)
    x = torch.randn(2, c, size, size)
    out = m(x)
    assert out.shape == (2, 10)
    out.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters() if p.requires_grad)


def test_resnet20_has_20_weight_layers_and_named_shortcuts():
    m = models.build("resnet20")
    convs = [n for n, mod in m.named_modules() if isinstance(mod, torch.nn.Conv2d)]
    main = [n for n in convs if not models.is_shortcut(n, None)]
    assert len(main) + 1 == 20  # 19 convs + the final linear layer
    assert sum(models.is_shortcut(n, None) for n in convs) == 2


def test_lenet5_is_the_caffe_variant():
    m = models.build("lenet5", 10, 1, 28)
    shapes = [tuple(p.shape) for n, p in m.named_parameters() if n.endswith("weight")]
    assert shapes == [(20, 1, 5, 5), (50, 20, 5, 5), (500, 800), (10, 500)]


def test_unknown_model_and_bad_depth():
    with pytest.raises(ValueError, match="known models: .*lenet5.*resnet20"):
        models.build("mobilenet")
    with pytest.raises(ValueError, match="6n\\+2"):
        models.build("resnet", depth=21)
    with pytest.raises(ValueError, match="unknown VGG cfg"):
        models.build("vgg", cfg="vgg99")
