"""A grid of sample images per dataset, one row per dataset, named as a reader names it (``MNIST``,
``Fashion-MNIST``: :func:`hgsr.viz.vocabulary.dataset_name`), every class name whole."""
from __future__ import annotations

import textwrap
from typing import Mapping

from .theme import FONT_MIN, SLIDE, ensure
from .vocabulary import dataset_name


def _class_name(name: str, width: int = 11) -> str:
    """A class name on at most two lines of ``width`` characters (``"T-shirt/top"``, ``"Ankle boot"``), never cut."""
    lines = textwrap.wrap(str(name), width, break_long_words=False)
    return "\n".join([lines[0], " ".join(lines[1:])]) if len(lines) > 2 else "\n".join(lines)


def image_grid(datasets: Mapping[str, "object"], per_row: int = 10, seed: int = 0):
    """One row per dataset of ``{key: hgsr.data.Dataset}``: the first training image of each of up to
    ``per_row`` classes, titled with its whole class name, the row named by the dataset's reader name.
    The figure fits a 16:9 slide (:data:`hgsr.viz.theme.SLIDE`)."""
    import matplotlib.pyplot as plt

    ensure()
    cell = min(1.15, (SLIDE[0] - 1.6) / per_row, (SLIDE[1] - 0.3) / (1.55 * len(datasets)))
    fig, axes = plt.subplots(len(datasets), per_row, figsize=(per_row * cell + 1.6, len(datasets) * cell * 1.55),
                             squeeze=False, layout="constrained")
    for r, (name, ds) in enumerate(datasets.items()):
        for c in range(per_row):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            ax.grid(False)
            idx = (ds.train_y == c).nonzero().flatten()
            if len(idx) == 0:
                continue
            img = ds.train_x[idx[0]]
            img = img[0] if img.shape[0] == 1 else img.permute(1, 2, 0)
            ax.imshow(img.numpy(), cmap="gray" if img.dim() == 2 else None)
            label = ds.classes[c] if ds.classes else str(c)
            ax.set_title(_class_name(label), fontsize=FONT_MIN)
        axes[r, 0].set_ylabel(dataset_name(name), rotation=0, ha="right", va="center", labelpad=8)
    return fig
