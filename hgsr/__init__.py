from . import data, groups, measure, models, train  # noqa: F401

__version__ = "0.1.0"
