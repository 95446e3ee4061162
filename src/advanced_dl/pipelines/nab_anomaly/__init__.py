"""``nab_anomaly``: LSTM-VAE anomaly detection on NAB series, scored with the NAB score."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
