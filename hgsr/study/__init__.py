"""The study: the pipelines, tables and verdict sentences behind each notebook, built on the core.

One module per topic a notebook studies:

| module | notebook | studies |
|---|---|---|
| :mod:`.intro` | 00 | parameters and MACs per layer; zeroed weights vs removed filters |
| :mod:`.theory` | 01 | penalties and proximal operators checked numerically |
| :mod:`.families` | 02-05, 07 | every regularizer family as the LeNet-5/MNIST study runs it |
| :mod:`.dead_channels` | 02, 03 | removal rules: zero filters, dead inputs, BN γ |
| :mod:`.tables` | 02-07 | compact-network tables in the one results schema |
| :mod:`.hierarchical` | 03 | the HGSR variants on one grid |
| :mod:`.splitting`, :mod:`.splitting_plots` | 04 | W against V = prox(W) in the nonconvex SGL |
| :mod:`.ratio` | 05 | L1/L2 and the relative-threshold sweep |
| :mod:`.filter_pruning` | 06 | HGSR filter pruning of ResNet-20 on CIFAR-10 |
| :mod:`.comparison` | 07 | every family on one budget, against published numbers |
| :mod:`.speed` | 08 | measured latency of compact networks against their MAC ratio |
| :mod:`.grids` | — | named sweep grids, run with ``python -m hgsr.study.grids`` (every family × λ multipliers) |

The core (:mod:`hgsr` top level) never imports this package.
"""
