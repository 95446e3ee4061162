"""``mdn_synthetic``: a mixture density network on a synthetic 2-D Gaussian mixture."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
