"""The package's three layers, listed once: the layer test (``tests/test_layers.py``) and the code
fingerprint of cached results (:func:`hgsr.experiments.code_fingerprint`) both read this module.

- **core**: the reusable library, every entry of :data:`CORE` (a top-level module or a subpackage of
  ``hgsr/``). It never imports the study or the suite.
- **study**: ``hgsr/study/``, the pipelines, tables and verdict sentences behind each notebook. It never
  imports the suite's notebook runner.
- **suite**: ``hgsr/suite/``, the tooling around the notebooks: the papermill runner, the manifest, the
  README filler.

:data:`CORE` maps each core entry to whether its source can change a trained or derived (cached) result:
``True`` entries make up the code fingerprint stored with every cache entry; ``False`` entries present
results (plots, widgets) or schedule work (the sweep) without changing any number.
"""
from __future__ import annotations

CORE: dict[str, bool] = {
    "__init__": False,
    "layers": False,       # this map
    "errors": True,        # named exceptions and argument checks
    "io": True,            # atomic writes, verified loads, file digests
    "data": True,          # datasets, splits, augmentation, batches
    "models": True,        # LeNet-5, ResNet-20, VGG builders
    "groups": True,        # group norms of conv weights (kernel, filter, channel, ...)
    "prox": True,          # proximal operators and thresholding functions
    "regularizers": True,  # the penalty families and their registry
    "train": True,         # the training loop
    "measure": True,       # sparsity, parameter and MAC counts, tolerances
    "prune": True,         # pruning: removal (mechanism) and ranking (policy)
    "pretrained": True,    # committed starting points with cards
    "experiments": True,   # configs, profiles, the runs/ cache
    "compact": True,       # a trained run -> a compact, fine-tuned network (cached)
    "results": True,       # the one results schema of compact networks
    "timing": True,        # the one latency protocol
    "toy": True,           # one- and two-weight problems behind the penalty plots
    "sweep": False,        # λ sweeps on a Dask cluster (schedules runs, changes no result)
    "progress": False,     # progress bars (tqdm), off in headless notebook runs
    "viz": False,          # plots
    "widgets": False,      # interactive explorers over viz
}
STUDY = "study"
SUITE = "suite"
# the suite module that executes notebooks: study code never imports it
RUNNER = "hgsr.suite.run_notebooks"


def layer_of(entry: str) -> str:
    """``"core"``, ``"study"`` or ``"suite"`` for a top-level entry of ``hgsr/`` (a module stem or a
    subpackage name); a KeyError names an entry this map does not list."""
    if entry in (STUDY, SUITE):
        return entry
    if entry in CORE:
        return "core"
    raise KeyError(f"hgsr/{entry} is in no layer: add it to hgsr.layers.CORE (library API) or move it "
                   f"into hgsr/{STUDY}/ or hgsr/{SUITE}/")


def result_entries() -> tuple[str, ...]:
    """The core entries whose source is part of the code fingerprint."""
    return tuple(k for k, v in CORE.items() if v)
