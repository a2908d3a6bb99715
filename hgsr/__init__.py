"""hgsr: structured sparsity for convolutional networks, as a library and an interactive study.

The core library is this package's top level and its subpackages ``regularizers``, ``prune`` and ``viz``
(the list is :data:`hgsr.layers.CORE`); every module there is public API:

- :mod:`hgsr.errors`, :mod:`hgsr.io`: named exceptions and argument checks; atomic writes and verified loads.
- :mod:`hgsr.data`, :mod:`hgsr.models`: offline datasets and held-out splits; LeNet-5, ResNet-20, VGG.
- :mod:`hgsr.groups`, :mod:`hgsr.prox`: group norms of conv weights; proximal operators.
- :mod:`hgsr.regularizers`: every penalty family behind one registry (``regularizers.from_spec``).
- :mod:`hgsr.train`, :mod:`hgsr.measure`, :mod:`hgsr.timing`: training; sparsity, parameter and MAC counts;
  the latency protocol.
- :mod:`hgsr.prune`: physical, dependency-aware pruning (``prune.removal``) and channel ranking
  (``prune.ranking``).
- :mod:`hgsr.experiments`, :mod:`hgsr.pretrained`: configs, profiles and the ``runs/`` cache; committed
  starting points.
- :mod:`hgsr.compact`, :mod:`hgsr.results`: from a trained run to a compact fine-tuned network; the results
  schema.
- :mod:`hgsr.sweep`, :mod:`hgsr.progress`: λ sweeps on a local Dask cluster; progress bars (off in headless
  notebook runs).
- :mod:`hgsr.toy`: the one- and two-weight problems behind the penalty plots.
- :mod:`hgsr.viz`, :mod:`hgsr.widgets`: plots and the interactive explorers over them.
- :mod:`hgsr.layers`: the map of the three layers.

``hgsr.study`` (the pipelines, tables and verdicts behind each notebook, and the commands that make notebook
06's committed networks) and ``hgsr.suite`` (the notebook runner, manifest and README filler) build on the core;
the core never imports them.
"""
from . import data, experiments, groups, measure, models, regularizers, train  # noqa: F401

__version__ = "0.1.0"
