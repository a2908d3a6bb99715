"""Pruning: from a sparse-trained network to a compact, faster one (docs/methods.md sections 3 and 6).

- structure: :func:`prunable_groups` (coupled output channels; ResNet stages form one group)
- zeros: :func:`zero_structure`, :func:`zero_plan` (which channels are zero, what is left)
- scores: :func:`magnitude_scores`, :func:`bn_gamma_scores`, :func:`select` (lower score = removed first)
- loss: :func:`loss_increase_scores` (fast) and :func:`loss_increase_scores_naive` (reference)
- surgery: :func:`prune` (new compact model), :func:`masked_copy`, :func:`compact_size`
- masks: :func:`masks_from_zero`, :class:`MaskedFinetune`, :func:`finetune`
- compact_io: :func:`save_compact`, :func:`load_compact`
- bounded: :func:`largest_within` (as many channels as an error bound allows, in score order)
- iterative: :func:`iterative_prune` (physical, round by round), :func:`iterative_plans` (cumulative plans,
  re-scored on the silenced model)
- deploy: :func:`fuse_bn` (BatchNorm folded into convs, for inference timing)
"""
from .removal.compact_io import ArchitectureMismatch, load_compact, save_compact  # noqa: F401
from .removal.deploy import fuse_bn  # noqa: F401
from .removal.graph import UnsupportedModel  # noqa: F401
from .ranking import criteria  # noqa: F401
from .ranking.criteria import CRITERIA, dead_input_scores  # noqa: F401
from .ranking.bounded import largest_within  # noqa: F401
from .ranking.iterative import iterative_plans, iterative_prune  # noqa: F401
from .ranking.loss import SCORES_VERSION, loss_increase_scores, loss_increase_scores_naive, subset  # noqa: F401
from .removal.masks import MaskedFinetune, apply_masks, finetune, masks_from_zero  # noqa: F401
from .ranking.scores import bn_gamma_scores, magnitude_scores, plan_from_masks, score_table, select  # noqa: F401
from .removal.silence import silence  # noqa: F401
from .removal.structure import EmptyLayerError, Group, UnknownGroup, prunable_groups, widths  # noqa: F401
from .removal.surgery import compact_size, masked_copy, prune, validate_plan  # noqa: F401
from .ranking.zeros import zero_plan, zero_structure  # noqa: F401
