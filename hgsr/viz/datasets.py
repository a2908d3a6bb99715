"""A grid of sample images per dataset, one row per dataset."""
from __future__ import annotations

from typing import Mapping



def image_grid(datasets: Mapping[str, "object"], per_row: int = 10, seed: int = 0):
    """One row per dataset: the first training image of each of up to ``per_row`` classes."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(datasets), per_row, figsize=(per_row * 0.9, len(datasets) * 1.05),
                             squeeze=False, layout="constrained")
    for r, (name, ds) in enumerate(datasets.items()):
        for c in range(per_row):
            ax = axes[r, c]
            ax.set_axis_off()
            idx = (ds.train_y == c).nonzero().flatten()
            if len(idx) == 0:
                continue
            img = ds.train_x[idx[0]]
            img = img[0] if img.shape[0] == 1 else img.permute(1, 2, 0)
            ax.imshow(img.numpy(), cmap="gray" if img.dim() == 2 else None)
            label = ds.classes[c] if ds.classes else str(c)
            ax.set_title(label[:9], fontsize=7)
        axes[r, 0].text(-0.15, 0.5, name, transform=axes[r, 0].transAxes, ha="right", va="center", fontsize=9)
    return fig
