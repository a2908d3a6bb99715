"""The suite's figure style in one import: ``from hgsr.viz import style`` gives the theme (:mod:`.theme`),
the words and units of quantities and layers (:mod:`.vocabulary`), units on axes (:mod:`.axes`) and legends
and labels without overlap (:mod:`.layout`). Each name has its one home in those modules; this module only
gathers them for the plotting code and the notebooks."""
from __future__ import annotations

from .theme import (PALETTE, MARKERS, CMAP, LEGEND_INSIDE_MAX, RC, FONT_MIN, SLIDE, REFERENCE, OTHER, PENALTY_COLORS, apply, ensure,  # noqa: F401
                    slide_size, series_styles, label_cycle, register_styles, registered_style)
from .vocabulary import (QUANTITIES, QUANTITY_PATTERNS, Quantity, pct, quantity, axis_label, percent, fmt_count, ordinal_layer_names, layer_names)  # noqa: F401
from .axes import (percent_formatter, count_formatter, format_axis, LOG_SPAN, spans_decades, integer_ticks, log_ticks, matrix_aspect)  # noqa: F401
from .layout import (legend, tidy_legends, declutter, annotate_points, tidy, label_outer, pin)  # noqa: F401
