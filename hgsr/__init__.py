from . import data, experiments, groups, measure, models, regularizers, train  # noqa: F401

__version__ = "0.1.0"
