"""Shared fixtures. Real datasets come from $HGSR_DATA_ROOT (default: shared/data in the repository's parent
folder, see hgsr/data.py); when one is absent
the tests that need it are skipped with a message naming the missing files — or fail, when
HGSR_REQUIRE_DATA=1 (CI sets it, so CI cannot go green on skipped data)."""
from __future__ import annotations

import os

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
# One intra-op thread: the suite's tensors are small, and on a shared 2-core machine more threads
# only thrash (measured: several times slower under load).
torch.set_num_threads(1)

from hgsr import data as hdata  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_runs(tmp_path_factory, monkeypatch):
    """Every test writes experiment caches to a temporary folder, never to runs/."""
    monkeypatch.setenv("HGSR_RUNS", str(tmp_path_factory.mktemp("runs")))


def load_or_skip(name: str) -> hdata.Dataset:
    try:
        return hdata.load(name, download=False)
    except hdata.DatasetNotFound as e:
        if os.environ.get("HGSR_REQUIRE_DATA") == "1":
            pytest.fail(f"required dataset missing:\n{e}")
        pytest.skip(f"dataset {name!r} not available offline:\n{e}")


@pytest.fixture(scope="session")
def mnist():
    return load_or_skip("mnist")
