"""Imports every family module so that their ``@register`` decorators run."""
from . import baselines, hierarchical, nonconvex, proximal, ratio  # noqa: F401
