"""A network that predicts the distribution of a series' next value (docs/algorithms.md, 6).

Input: one feature vector per row, made from earlier rows only
(``advanced_dl.nab.next_value``), shape ``(batch, features)``. Output: the location
and the scale of a Laplace distribution over the row's change from the row
before, shape ``(batch, 2)``. Trained by its negative log-likelihood
(:func:`laplace_negative_log_likelihood`): its linear tails let a few large
changes cost less than a Gaussian's square would, so they bend the fit less
(on NAB's corpus the Gaussian scored lower). With ``members`` > 1 the model is a
deep ensemble: that many networks side by side, each from its own initial weights
and trained on its own likelihood (one dense layer holds every member's weights),
output ``(batch, members, 2)``; a row is scored
by the mixture of their distributions (``advanced_dl.nab.next_value``). No Kedro here.
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
    ``(batch, 2)``: ``|y - location| / scale + log(2 scale)``; or ``(batch, members,
    2)``: the mean over members too, so each member is trained on its own likelihood."""
    if len(y_pred.shape) == 3:
        target = ops.reshape(ops.cast(y_true, y_pred.dtype), (-1, 1))
    else:
        target = ops.reshape(ops.cast(y_true, y_pred.dtype), (-1,))
    location, scale = y_pred[..., 0], y_pred[..., 1]
    return ops.mean(ops.abs(target - location) / scale + ops.log(scale) + _LOG_2)


def build_next_value_model(
    *,
    n_features: int,
    hidden_units: int = 64,
    hidden_layers: int = 2,
    scale_floor: float = 1e-2,
    learning_rate: float = 1e-3,
    members: int = 1,
) -> keras.Model:
    """Build and compile the next-value network (Adam, Laplace negative log-likelihood).

    Args:
        n_features: inputs per row.
        hidden_units, hidden_layers: the ReLU layers between input and the two heads.
        scale_floor: added to the softplus scale head, so the likelihood stays finite.
        learning_rate: Adam's learning rate.
        members: networks in the ensemble; 1: a single network.

    Returns:
        A compiled model ``(batch, n_features) -> (batch, 2)``: location, scale;
        with ``members`` > 1, ``(batch, members, 2)``.
    """
    if min(n_features, hidden_units, hidden_layers, members) < 1:
        raise ValueError(
            "n_features, hidden_units, hidden_layers and members must be >= 1, got "
            f"{n_features}, {hidden_units}, {hidden_layers}, {members}"
        )
    features = keras.Input(shape=(n_features,), name="features")
    if members == 1:
        hidden = features
        for index in range(hidden_layers):
            hidden = layers.Dense(hidden_units, activation="relu", name=f"hidden_{index}")(hidden)
        location = layers.Dense(1, name="location")(hidden)
        raw_scale = layers.Dense(1, activation="softplus", name="raw_scale")(hidden)
    else:
        hidden = _members_dense(members, hidden_units, "bf,kfh->bkh", "relu", "hidden_0")(features)
        for index in range(1, hidden_layers):
            hidden = _members_dense(
                members, hidden_units, "bkf,kfh->bkh", "relu", f"hidden_{index}"
            )(hidden)
        location = _members_dense(members, 1, "bkf,kfh->bkh", None, "location")(hidden)
        raw_scale = _members_dense(members, 1, "bkf,kfh->bkh", "softplus", "raw_scale")(hidden)
    scale = ScaleFloor(scale_floor, name="scale")(raw_scale)
    distribution = layers.Concatenate(name="location_and_scale")([location, scale])
    model = keras.Model(features, distribution, name="next_value")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=laplace_negative_log_likelihood,
    )
    return model


def _members_dense(
    members: int, units: int, equation: str, activation: str | None, name: str
) -> layers.EinsumDense:
    """A dense layer for every member at once: kernel ``(members, inputs, units)``,
    output ``(batch, members, units)``. One einsum instead of a layer per member,
    so an ensemble costs about as many operations per step as one network."""
    return layers.EinsumDense(
        equation,
        output_shape=(members, units),
        activation=activation,
        bias_axes="kh",
        # Glorot's limit of one member's (inputs, units) kernel: the default would
        # count the members in the fan and start every member members**0.5 smaller.
        kernel_initializer=keras.initializers.VarianceScaling(
            scale=float(members), mode="fan_avg", distribution="uniform"
        ),
        name=name,
    )
