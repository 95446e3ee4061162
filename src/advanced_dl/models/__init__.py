"""Keras models, layers and optimizers (no Kedro). Importing this package registers each."""

from __future__ import annotations

import keras

from advanced_dl.models import (
    ensemble,
    gat,  # noqa: F401
    gcn,  # noqa: F401
    gcnii,  # noqa: F401
    grand,  # noqa: F401
    lstm_vae,  # noqa: F401
    mdn,  # noqa: F401
    next_value,  # noqa: F401
    optimizers,  # noqa: F401
    transformer,  # noqa: F401
)

# The first graph layer of each node classifier, by model name.
HIDDEN_GRAPH_LAYERS = {
    "gcn": "gcn_hidden",
    "gat": "gat_hidden",
    "gcnii": "gcnii_1",
    "grand": "grand_hidden",  # the perceptron's hidden layer, after the propagation
}


def hidden_activations_model(model: keras.Model) -> keras.Model:
    """A model sharing ``model``'s weights that outputs its first graph layer's activations
    (an ensemble's: its first member's)."""
    model = ensemble.ensemble_members(model)[0]
    layer = model.get_layer(HIDDEN_GRAPH_LAYERS[model.name])
    return keras.Model(model.inputs, layer.output)
