"""A network that predicts the distribution of a series' next value (docs/algorithms.md, 6).

Input: one feature vector per row, made from earlier rows only
(``advanced_dl.nab.next_value``), shape ``(batch, features)``. Output: the location
and the scale of a Laplace distribution over the row's change from the row
before, shape ``(batch, 2)``. Trained by its negative log-likelihood
(:func:`laplace_negative_log_likelihood`): its linear tails let a few large
changes cost less than a Gaussian's square would, so they bend the fit less
(on NAB's corpus the Gaussian scored lower). No Kedro here.
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

from advanced_dl.models.lstm_vae import ScaleFloor

_LOG_2 = math.log(2.0)


@keras.saving.register_keras_serializable(package="advanced_dl")
def laplace_negative_log_likelihood(y_true, y_pred):
    """Mean over the batch of ``-log Laplace(y | location, scale)``; ``y_pred`` is
    ``(batch, 2)``: ``|y - location| / scale + log(2 scale)``."""
    target = ops.reshape(ops.cast(y_true, y_pred.dtype), (-1,))
    location, scale = y_pred[:, 0], y_pred[:, 1]
    return ops.mean(ops.abs(target - location) / scale + ops.log(scale) + _LOG_2)


def build_next_value_model(
    *,
    n_features: int,
    hidden_units: int = 64,
    hidden_layers: int = 2,
    scale_floor: float = 1e-2,
    learning_rate: float = 1e-3,
) -> keras.Model:
    """Build and compile the next-value network (Adam, Laplace negative log-likelihood).

    Args:
        n_features: inputs per row.
        hidden_units, hidden_layers: the ReLU layers between input and the two heads.
        scale_floor: added to the softplus scale head, so the likelihood stays finite.
        learning_rate: Adam's learning rate.

    Returns:
        A compiled model ``(batch, n_features) -> (batch, 2)``: location, scale.
    """
    if n_features < 1 or hidden_units < 1 or hidden_layers < 1:
        raise ValueError(
            "n_features, hidden_units and hidden_layers must be >= 1, got "
            f"{n_features}, {hidden_units}, {hidden_layers}"
        )
    features = keras.Input(shape=(n_features,), name="features")
    hidden = features
    for index in range(hidden_layers):
        hidden = layers.Dense(hidden_units, activation="relu", name=f"hidden_{index}")(hidden)
    location = layers.Dense(1, name="location")(hidden)
    raw_scale = layers.Dense(1, activation="softplus", name="raw_scale")(hidden)
    scale = ScaleFloor(scale_floor, name="scale")(raw_scale)
    distribution = layers.Concatenate(name="location_and_scale")([location, scale])
    model = keras.Model(features, distribution, name="next_value")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=laplace_negative_log_likelihood,
    )
    return model
