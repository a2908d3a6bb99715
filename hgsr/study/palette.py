"""One colour and marker per series of the study, fixed for every figure (registered with
:func:`hgsr.viz.theme.register_styles` when :mod:`hgsr.study` is imported): a colour means one thing across a
notebook.

- :data:`FAMILY_STYLES`: every regularizer family of :data:`hgsr.study.families.FAMILIES` (by its label). The
  families one notebook shows together have distinct colours: notebook 02's eight, notebook 04's nine, notebook
  05's three, and each panel of notebook 07's fronts (:data:`hgsr.study.fronts.PANELS`); across panels a colour
  may return, with another marker. The nonconvex SGL's ``R = L1``, ``L0``, ... take the colour of their penalty
  (:data:`hgsr.viz.theme.PENALTY_COLORS`), and so do the splitting toy's curves ``R = L1``, ... (notebook 04).
- :data:`GROUPING_STYLES`, :data:`OUTER_STYLES`: notebook 03's groupings (feature-wise, neuron-wise, no penalty)
  and outer functions (square root, square).
- :data:`PROTOCOL_STYLES`: notebook 06's pruning protocols; black is the HGSR start, grey the dense network.

Colours are indices into :data:`hgsr.viz.theme.PALETTE` (0 blue, 1 orange, 2 green, 3 vermillion, 4 pink,
5 sky blue, 6 purple, 7 brown, 8 olive).
"""
from __future__ import annotations

from ..viz import theme
from ..viz.vocabulary import PENALTIES_R
from . import families

_P = {c: i for i, c in enumerate(theme.PALETTE)}
_R = {key: _P[theme.PENALTY_COLORS[key]] for key in ("l1", "l0", "tl1", "l1_l2")}

# family key -> (colour index, marker)
FAMILY_STYLES: dict[str, tuple[int, str]] = {
    # notebook 02 (and 07's "baselines" panel): eight colours
    "none": (7, "o"), "none_bn": (8, "s"), "l1": (0, "o"), "group_lasso_filter": (2, "s"),
    "group_lasso_filter_sw": (5, "^"), "group_lasso_channel": (6, "D"), "ssl": (3, "v"), "slimming": (1, "P"),
    # notebook 04 (with l1 and group_lasso_filter): nine colours; R = ... in its penalty's colour
    "nonconvex_l1": (_R["l1"], "o"), "nonconvex_l0": (_R["l0"], "s"), "nonconvex_tl1": (_R["tl1"], "^"),
    "nonconvex_l1_l2": (_R["l1_l2"], "D"), "prox_l1": (5, "v"), "prox_group_lasso": (8, "P"), "prox_sgl": (7, "X"),
    # 07's "nonconvex SGL" panel adds these two
    "nonconvex_tl1_fc": (0, "X"), "group_lasso_filter_fc": (2, "X"),
    # notebooks 03 and 05, 07's "hierarchical and L1/L2" panel
    "hsr_gl_output": (5, "h"), "hsr_gl_input": (2, "H"), "hgsr_ref": (3, "*"), "hgsr_ref_output": (4, "p"),
    "l1_over_l2": (1, "D"),
}
# notebook 03: the grid's groupings and the outer functions
GROUPING_STYLES: dict[str, tuple[int, str]] = {"feature-wise (input)": (0, "s"), "neuron-wise (output)": (1, "^"),
                                               "no penalty": (7, "o")}
OUTER_STYLES: dict[str, tuple[int, str]] = {"square root (HSR)": (2, "o"), "square (HSQ)": (4, "s")}


def penalty_label(R: str) -> str:
    """The series name of the nonconvex SGL's element penalty ``R`` (``"l1_l2"`` -> ``"R = L1-L2"``)."""
    return f"R = {PENALTIES_R.get(R, R)}"


PENALTY_STYLES: dict[str, tuple[int, str]] = {penalty_label(R): (_R[R], m)
                                              for R, m in zip(("l1", "l0", "tl1", "l1_l2"), ("o", "s", "^", "D"))}


def _protocol_styles() -> dict[str, tuple[int, str]]:
    from .filter_pruning import PROTOCOLS

    order = {("loss", "all", False): (0, "o"), ("loss", "internal", False): (5, "s"),
             ("loss", "internal", True): (6, "^"), ("magnitude", "all", False): (3, "D"),
             ("magnitude", "internal", False): (1, "v"), ("bn_gamma", "internal", False): (2, "P"),
             ("dead_inputs", "internal", False): (4, "X")}
    out = {}
    for p in PROTOCOLS:
        key = (p.criterion, p.candidates, bool(getattr(p, "iterative", False)))
        out[p.label] = (7, "<") if p.ablation else order.get(key, (8, "h"))
    return out


def styles() -> dict[str, dict]:
    """``{label: {"color", "marker"}}`` of every series above (family labels from the registry)."""
    out = {families.family(k).label: v for k, v in FAMILY_STYLES.items()}
    out.update(GROUPING_STYLES)
    out.update(OUTER_STYLES)
    out.update(PENALTY_STYLES)
    out.update(_protocol_styles())
    return {label: {"color": theme.PALETTE[c], "marker": m} for label, (c, m) in out.items()}


def register() -> None:
    """Register :func:`styles` with :func:`hgsr.viz.theme.register_styles` (done on import of :mod:`hgsr.study`)."""
    theme.register_styles(styles())
