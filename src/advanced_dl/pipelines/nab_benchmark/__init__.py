"""``nab_benchmark``: the LSTM-VAE detector over NAB's whole corpus, scored as NAB scores."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
