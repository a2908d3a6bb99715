"""The study: the pipelines, tables and verdict sentences behind each notebook, built on the core.

One module per topic a notebook studies:

| module | notebook | studies |
|---|---|---|
| :mod:`.intro` | 00 | parameters and MACs per layer; zeroed weights vs removed filters |
| :mod:`.theory_checks` | 01 | penalties and proximal operators checked numerically |
| :mod:`.families` | 02-05, 07 | every regularizer family as the LeNet-5/MNIST study runs it |
| :mod:`.dead_channels` | 02, 03 | removal rules: zero filters, dead inputs, BN γ |
| :mod:`.tables` | 02-07 | compact-network tables in the one results schema |
| :mod:`.hgsr_variants` | 03 | the HGSR variants on one grid |
| :mod:`.outer_functions` | 03 | square root against square at matched strength (a λ sweep per pair) |
| :mod:`.tolerance_trap` | 03 | small kernels, filters above an absolute tolerance |
| :mod:`.splitting`, :mod:`.splitting_plots`, :mod:`.fc_layers` | 04 | W against V = prox(W) in the nonconvex SGL; fc layers |
| :mod:`.l1_over_l2` | 05 | L1/L2 and the relative-threshold sweep |
| :mod:`.filter_pruning`, :mod:`.pruning_starts` | 06 | HGSR filter pruning of ResNet-20 on CIFAR-10; its committed starts |
| :mod:`.dense_start`, :mod:`.regularized_start`, :mod:`.finetuned_start` | 06 | the commands that make 06's committed networks |
| :mod:`.fronts`, :mod:`.shared_rule`, :mod:`.comparison`, :mod:`.published` | 07 | λ sweeps as fronts, one shared removal rule, every family against published numbers |
| :mod:`.budget` | 07 | the leaders and HGSR's better grouping trained longer: does the budget move the front? |
| :mod:`.speed` | 08 | measured latency of compact networks against their MAC ratio |
| :mod:`.recap` | 09 | which method when: the committed result tables side by side, and what they say |
| :mod:`.palette` | 02-08 | one colour and marker per family, protocol and penalty in every figure |
| :mod:`.grids` | — | named sweep grids, run with ``python -m hgsr.study.grids`` (every family × λ multipliers) |

The core (:mod:`hgsr` top level) never imports this package.
"""

from . import palette as _palette

_palette.register()   # every family, protocol and penalty keeps one colour and marker in every figure
