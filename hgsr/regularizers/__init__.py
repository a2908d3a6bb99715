"""Every regularizer family of docs/methods.md behind one interface, built by name.

    reg = hgsr.regularizers.build("hsq_gl12", lam=1e-3, grouping="input")
    reg = hgsr.regularizers.from_spec([{"key": "hsq_gl12", "lam": 5e-4}, {"key": "l1", "lam": 5e-4}])

``names()`` lists every registered key. A new family subclasses :class:`Regularizer`, decorates
itself with ``@register("key")`` and adds a row to the test table in ``tests/test_regularizers.py``.
"""
from __future__ import annotations

from .base import Regularizer
from .registry import REGISTRY, Combined, build, from_spec, names, register  # noqa: F401

# importing the family modules runs their @register decorators (the registry imports none of them)
from . import baselines, hierarchical, nonconvex, proximal, ratio  # noqa: F401,E402
