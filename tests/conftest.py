"""Shared fixtures. Real datasets come from $HGSR_DATA_ROOT (default: shared/data in the repository's parent
folder, see hgsr/data.py) or from torchvision's download. When one is absent and cannot be downloaded,
the tests that need it **fail** with a message naming the missing files and both fixes (set
HGSR_DATA_ROOT to a folder that holds them, or allow the download); HGSR_ALLOW_MISSING_DATA=1 turns
those failures into skips for a machine that knowingly has no datasets."""
from __future__ import annotations

import os

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
# One intra-op thread: the suite's tensors are small, and on a shared 2-core machine more threads
# only thrash (measured: several times slower under load).
torch.set_num_threads(1)

from hgsr import data as hdata  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    """No figure outlives the test that drew it."""
    yield
    plt.close("all")


@pytest.fixture(autouse=True)
def _isolated_runs(tmp_path_factory, monkeypatch):
    """Every test writes experiment caches to a temporary folder, never to runs/."""
    monkeypatch.setenv("HGSR_RUNS", str(tmp_path_factory.mktemp("runs")))


MISSING_FIX = ("Two ways to fix this: set HGSR_DATA_ROOT to a folder with the files above (e.g. "
               "`HGSR_DATA_ROOT=/path/to/data make test`), or run once with network access so that "
               "torchvision downloads them (`python -c \"import hgsr; hgsr.data.load('mnist')\"`). "
               "HGSR_ALLOW_MISSING_DATA=1 skips these tests instead.")


def pipe_rows(md: str) -> list[list[str]]:
    """The cells of every pipe-table line (``|`` …) of Markdown ``md``, split on unescaped pipes only
    (a ``\\|`` inside a cell stays in it), header and ``---`` rule included."""
    out = []
    for line in md.splitlines():
        if not line.startswith("|"):
            continue
        cells, cur, esc = [], "", False
        for ch in line.strip()[1:-1]:
            if ch == "|" and not esc:
                cells.append(cur.strip())
                cur = ""
                continue
            esc = ch == "\\" and not esc
            cur += ch
        cells.append(cur.strip())
        out.append(cells)
    return out


def load_or_skip(name: str) -> hdata.Dataset:
    """The dataset, trying the offline folders and then torchvision's download; a named failure when
    neither works (a skip only with HGSR_ALLOW_MISSING_DATA=1)."""
    try:
        return hdata.load(name, download=True)
    except hdata.DatasetNotFound as e:
        if os.environ.get("HGSR_ALLOW_MISSING_DATA") == "1":
            pytest.skip(f"dataset {name!r} not available:\n{e}")
        pytest.fail(f"required dataset {name!r} missing:\n{e}\n{MISSING_FIX}")


@pytest.fixture(scope="session")
def mnist():
    return load_or_skip("mnist")


@pytest.fixture
def zero_filter_run():
    """A factory: a tiny trained LeNet-5 run on ``synthetic`` whose first ``n_zero[k]`` filters of conv k
    (weights and bias) are set to exactly zero."""
    from hgsr import experiments

    def make(n_zero=(5, 20)):
        cfg = experiments.Config(dataset="synthetic", model="lenet5", train_subset=256, test_subset=128, epochs=1,
                                 lr=0.05, profile="smoke")
        r = experiments.run(cfg, progress=False)
        convs = [m for m in r.model.modules() if isinstance(m, torch.nn.Conv2d)]
        with torch.no_grad():
            for conv, k in zip(convs, n_zero):
                conv.weight[:k] = 0
                conv.bias[:k] = 0
        return r
    return make


def sparse_lenet(seed: int = 0) -> torch.nn.Module:
    """LeNet-5 (MNIST shape) with 5 of 20 conv1 filters, 10 of 50 conv2 filters and 4 of conv2's 20 input
    channels (3-6) exactly zero."""
    from hgsr import models

    torch.manual_seed(seed)
    m = models.build("lenet5", 10, 1, 28)
    with torch.no_grad():
        m.features[0].weight[:5] = 0
        m.features[2].weight[:10] = 0
        m.features[2].weight[:, 3:7] = 0
    return m


@torch.no_grad()
def randomize_batchnorm(model: torch.nn.Module) -> torch.nn.Module:
    """Every BatchNorm2d of ``model`` with random running statistics (mean in ±0.5, var in [0.5, 2]) and
    affine parameters (γ in [0.5, 1.5], β in ±0.5, so β ≠ 0), so that surgery and scores see a
    non-trivial normalization; returns ``model``."""
    for mod in model.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.uniform_(0.5, 1.5)
            mod.bias.uniform_(-0.5, 0.5)
    return model


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """A function ``nb path -> (executed notebook, figures folder)`` that runs a notebook once per session in
    the ``smoke`` profile with its exercises' code blocks appended (:func:`hgsr.suite.exercises.with_exercises`).
    tests/test_notebooks.py checks the figures and tables from that run and tests/test_exercises.py its
    exercises, so no notebook runs twice. The notebooks share one run cache, as in ``make figures``; a failed
    run is remembered and raised again, not repeated."""
    from hgsr.io import environment
    from hgsr.suite import exercises, run_notebooks

    base = tmp_path_factory.mktemp("smoke")
    done: dict = {}

    def run(nb):
        if nb.stem not in done:
            try:
                with environment({"HGSR_RUNS": str(base / "runs"), "MPLBACKEND": "Agg"}):
                    source = exercises.with_exercises(nb, base / "with_exercises")
                    run_notebooks.execute(source, base / "executed", "smoke", base / "figures", timeout=600)
                done[nb.stem] = (base / "executed" / nb.name, base / "figures")
            except Exception as e:   # noqa: BLE001 - re-raised below, for every test that asks
                done[nb.stem] = e
        if isinstance(done[nb.stem], Exception):
            raise done[nb.stem]
        return done[nb.stem]

    return run
