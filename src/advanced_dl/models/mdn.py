"""Mixture density network (Bishop 1994) with an isotropic Gaussian per component.

The network maps an input x to the parameters of
p(y | x) = sum_k pi_k(x) N(y | mu_k(x), sigma_k(x)^2 I). Its output is one
tensor of shape (batch, K*D + 2K), laid out as ``advanced_dl.features.mixture`` says.
The weights are kept in log space (log-softmax) so the loss never takes the
log of a weight that underflowed to zero.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from advanced_dl.features.mixture import split_mixture_parameters

_MAX_LOG_SCALE = 15.0  # exp(15) ~ 3e6: far above any sensible scale, keeps exp finite


@keras.saving.register_keras_serializable(package="advanced_dl")
class MixtureDensityHead(keras.layers.Layer):
    """Three linear heads -> means, scales (exp, floored at ``min_scale``) and log weights."""

    def __init__(self, num_components: int, output_dim: int, min_scale: float, **kwargs):
        super().__init__(**kwargs)
        self.num_components = int(num_components)
        self.output_dim = int(output_dim)
        self.min_scale = float(min_scale)
        self.means = keras.layers.Dense(self.num_components * self.output_dim, name="means")
        self.log_scales = keras.layers.Dense(self.num_components, name="log_scales")
        self.weight_logits = keras.layers.Dense(self.num_components, name="weight_logits")

    def build(self, input_shape):
        for head in (self.means, self.log_scales, self.weight_logits):
            head.build(input_shape)
        super().build(input_shape)

    def call(self, inputs):
        means = self.means(inputs)
        log_scales = keras.ops.clip(self.log_scales(inputs), -_MAX_LOG_SCALE, _MAX_LOG_SCALE)
        # The floor keeps the likelihood bounded: y takes only K distinct values,
        # so without it the optimum is a scale of exactly zero.
        scales = self.min_scale + keras.ops.exp(log_scales)
        log_weights = keras.ops.log_softmax(self.weight_logits(inputs), axis=-1)
        return keras.ops.concatenate([means, scales, log_weights], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.num_components * (self.output_dim + 2))

    def get_config(self):
        config = super().get_config()
        config.update(
            num_components=self.num_components,
            output_dim=self.output_dim,
            min_scale=self.min_scale,
        )
        return config


@keras.saving.register_keras_serializable(package="advanced_dl")
class MixtureNLL(keras.losses.Loss):
    """Mean negative log-likelihood of y (batch, D) under the predicted mixture.

    Computed in log space by ``tfp.distributions.MixtureSameFamily`` (a
    log-sum-exp over components), with no clipping: the reference added 1e-8
    inside the log and clipped the loss at 0, which hid the fit.
    """

    def __init__(self, num_components: int, output_dim: int, name: str = "mixture_nll", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_components = int(num_components)
        self.output_dim = int(output_dim)

    def call(self, y_true, y_pred):
        mixture = mixture_distribution(y_pred, self.num_components, self.output_dim)
        return -mixture.log_prob(tf.cast(y_true, y_pred.dtype))

    def get_config(self):
        config = super().get_config()
        config.update(num_components=self.num_components, output_dim=self.output_dim)
        return config


def mixture_distribution(params, num_components: int, output_dim: int):
    """The ``tfp`` mixture described by the network output ``params`` (batch, K*D + 2K)."""
    means, scales, log_weights = split_mixture_parameters(params, num_components, output_dim)
    return mixture_of_parts(means, scales, log_weights)


def mixture_of_parts(means, scales, log_weights):
    """sum_k w_k N(mu_k, s_k^2 I): means (batch, K, D), scales (batch, K), log weights (batch, K).

    The one definition of the mixture likelihood: the training loss and the
    evaluation's test NLL both use it (in float64 for evaluation).
    """
    tfd = tfp.distributions
    output_dim = means.shape[-1]
    scale_diag = tf.repeat(tf.convert_to_tensor(scales)[..., tf.newaxis], output_dim, axis=-1)
    return tfd.MixtureSameFamily(
        mixture_distribution=tfd.Categorical(logits=log_weights),
        components_distribution=tfd.MultivariateNormalDiag(loc=means, scale_diag=scale_diag),
    )


def _set_bias(dense: keras.layers.Dense, bias: np.ndarray, zero_kernel: bool = False) -> None:
    kernel, _ = dense.get_weights()
    if zero_kernel:
        kernel = np.zeros_like(kernel)
    dense.set_weights([kernel, bias.astype(kernel.dtype)])


def build_mdn(
    input_dim: int = 2,
    output_dim: int = 2,
    num_components: int = 4,
    hidden_units: int = 32,
    dropout_rate: float = 0.2,
    min_scale: float = 0.05,
    learning_rate: float = 1e-3,
    initial_means: list[list[float]] | None = None,
    initial_weights: list[float] | None = None,
    initial_scales: list[float] | None = None,
) -> keras.Model:
    """The reference MDN, compiled with Adam and the mixture NLL.

    ``Dense(h, relu) -> Dropout -> BatchNorm`` twice, then the mixture head.

    ``initial_means`` (K, D), ``initial_weights`` (K) and ``initial_scales`` (K)
    set the heads' biases, so training starts from a mixture fitted to the
    targets (Bishop's MDN initialisation, as in Netlab's ``mdninit``) instead
    of K identical components at the origin that must first break symmetry.
    The means' and scales' kernels then start at zero, so every input starts
    from that mixture; the weights' kernel keeps its random start.
    Output shape: (batch, K*D + 2K), see ``advanced_dl.features.mixture``.
    """
    inputs = keras.Input(shape=(input_dim,), name="x")
    hidden = inputs
    for block in (1, 2):
        hidden = keras.layers.Dense(hidden_units, activation="relu", name=f"dense_{block}")(hidden)
        hidden = keras.layers.Dropout(dropout_rate, name=f"dropout_{block}")(hidden)
        hidden = keras.layers.BatchNormalization(name=f"batch_norm_{block}")(hidden)
    head = MixtureDensityHead(num_components, output_dim, min_scale, name="mixture")
    outputs = head(hidden)
    if initial_means is not None:
        _set_bias(
            head.means, np.asarray(initial_means, dtype="float32").reshape(-1), zero_kernel=True
        )
    if initial_scales is not None:
        excess = np.maximum(np.asarray(initial_scales, dtype="float32") - min_scale, 1e-3)
        _set_bias(head.log_scales, np.log(excess), zero_kernel=True)
    if initial_weights is not None:
        _set_bias(head.weight_logits, np.log(np.asarray(initial_weights, dtype="float32")))
    model = keras.Model(inputs, outputs, name="mixture_density_network")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=MixtureNLL(num_components, output_dim),
    )
    return model
