"""Keras models and layers (no Kedro). Importing this package registers every custom layer."""

from advanced_dl.models import (
    gcn,  # noqa: F401
    lstm_vae,  # noqa: F401
    mdn,  # noqa: F401
    transformer,  # noqa: F401
)
