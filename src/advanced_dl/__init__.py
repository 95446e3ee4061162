"""advanced-dl: four advanced deep-learning algorithms as tracked Kedro pipelines."""

__version__ = "0.1.0"
