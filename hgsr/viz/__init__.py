"""Pure plotting functions: each takes data (models, tensors, DataFrames), an optional ``ax``, and
returns the matplotlib Figure; no saving (notebooks save with :func:`hgsr.suite.report.save_figure`).
:mod:`hgsr.widgets` wraps these same functions interactively.

- :mod:`.style`: the suite's one figure style (fonts of at least 11 pt on figures that fit a 16:9 slide,
  a colour-blind-safe palette of strong colours with a marker per series and a fixed style per registered
  series, % for fractions, ``conv1``/``fc1`` layer names, legends and labels that cover no data).
  Importing this package applies it to matplotlib (its one global effect; ``hgsr.viz.style.apply(False)``
  undoes it);
- :mod:`.datasets`: sample images per class;
- :mod:`.weights`: kernel-norm heatmaps, filter-norm histograms (one network, or many on shared axes),
  sparsity patterns and the overlay of two networks' patterns;
- :mod:`.penalties`: proximal (thresholding) maps, 2-D penalty level sets, subgradient vs prox, L1/L2;
- :mod:`.tradeoffs`: cost per layer, filters per layer, training curves, Pareto, speedup, sweeps;
- :mod:`.sweep_point`: one λ of a family on the front of all sweep points.
"""
from . import style  # noqa: F401
from .datasets import image_grid  # noqa: F401
from .tradeoffs import (filters_per_layer, latency_vs_macs, layer_widths, pareto, pareto_front, pareto_panels,  # noqa: F401
                      params_macs_by_layer, pruning_curve, threshold_sweep, threshold_sweeps, training_curves)
from .style import annotate_points, label_cycle, layer_names, series_styles  # noqa: F401
from .penalties import (penalty_contours, scale_invariance, subgradient_vs_prox_path,  # noqa: F401
                     threshold_curves, thresholding_functions)
from .weights import (compare_sparsity_patterns, filter_norm_histogram, filter_norm_histograms,  # noqa: F401
                      filter_norm_view, kernel_norm_heatmap, kernel_norm_heatmaps, norm_histograms, sparsity_overlay,
                      sparsity_pattern)

style.ensure()
