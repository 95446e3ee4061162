"""``cora_gcn``: a two-layer graph convolutional network on the Cora citation graph."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
