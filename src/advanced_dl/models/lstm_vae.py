"""LSTM variational autoencoder scoring each step of a window (docs/algorithms.md, section 1).

The model maps a window ``(batch, look_back, input_dim)`` to the log-likelihood
of every time step under the decoder's diagonal Gaussian, ``(batch, look_back)``.
Its training loss (added by :class:`VaeObjective`) is the KL divergence of the
posterior from N(0, I), averaged over latent dimensions, minus the mean
log-likelihood: eq. 11.3 of the reference. No Kedro here.

Fixes against the reference, each a constructor argument:
- ``softplus_log_variance=False``: the posterior log-variance head is linear;
  ``True`` restores the reference's softplus head, whose variance can never go below 1.
- ``scale_floor``: added to the softplus scale head so the likelihood stays finite.
- ``sample_at_inference=False``: outside training the latent code is the
  posterior mean, so scoring a window is deterministic (the reference samples).
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

_LOG_2PI = math.log(2.0 * math.pi)


@keras.saving.register_keras_serializable(package="advanced_dl")
class GaussianSampling(layers.Layer):
    """z = z_mean + exp(0.5 * z_log_var) * eps while training; z_mean otherwise (by default).

    Inputs: ``[z_mean, z_log_var]``, each ``(batch, latent_dim)``. Output ``(batch, latent_dim)``.
    """

    def __init__(self, sample_at_inference: bool = False, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.sample_at_inference = bool(sample_at_inference)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        z_mean, z_log_var = inputs
        if not training and not self.sample_at_inference:
            return z_mean
        epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {
            **super().get_config(),
            "sample_at_inference": self.sample_at_inference,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="advanced_dl")
class ScaleFloor(layers.Layer):
    """Adds a positive floor to a non-negative scale, so a log-likelihood never becomes infinite.

    Input and output: any shape, e.g. ``(batch, steps, input_dim)``.
    """

    def __init__(self, floor: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        if not floor > 0:
            raise ValueError(f"scale floor must be > 0, got {floor}")
        self.floor = float(floor)

    def call(self, inputs):
        return inputs + self.floor

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "floor": self.floor}


@keras.saving.register_keras_serializable(package="advanced_dl")
class VaeObjective(layers.Layer):
    """Per-step Gaussian log-likelihood of the input; adds the VAE loss of eq. 11.3.

    Inputs: ``[x, loc, scale, z_mean, z_log_var]`` with ``x, loc, scale`` of shape
    ``(batch, steps, input_dim)`` and the posterior parameters ``(batch, latent_dim)``.
    Output: ``log N(x_t | loc_t, diag(scale_t^2))`` per step, shape ``(batch, steps)``,
    computed with ``tfp.distributions.MultivariateNormalDiag(loc, scale).log_prob(x)``.
    Loss added: ``mean_latent(KL(q(z|x) || N(0, I))) - mean_steps(log-likelihood)``,
    averaged over the batch.
    """

    def call(self, inputs):
        import tensorflow_probability as tfp

        x, loc, scale, z_mean, z_log_var = inputs
        distribution = tfp.distributions.MultivariateNormalDiag(loc=loc, scale_diag=scale)
        log_likelihood = distribution.log_prob(x)
        kl = -0.5 * ops.mean(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)
        self.add_loss(ops.mean(kl) - ops.mean(log_likelihood))
        return log_likelihood

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1])


def gaussian_log_likelihood(x, loc, scale):
    """Closed form of the per-step log-likelihood (NumPy or tensors), for tests and checks."""
    z = (x - loc) / scale
    return ops.sum(-0.5 * z * z - ops.log(scale) - 0.5 * _LOG_2PI, axis=-1)


def build_lstm_vae(
    *,
    look_back: int = 64,
    input_dim: int = 1,
    intermediate_dim: int = 16,
    latent_dim: int = 2,
    scale_floor: float = 1e-3,
    softplus_log_variance: bool = False,
    sample_at_inference: bool = False,
    seed: int | None = None,
    learning_rate: float = 1e-3,
) -> keras.Model:
    """Build and compile the LSTM-VAE (Adam; its loss comes from :class:`VaeObjective`).

    Args:
        look_back: time steps per window.
        input_dim: signals per time step.
        intermediate_dim: units of the encoder and decoder LSTMs.
        latent_dim: size of the latent code z.
        scale_floor: lower bound added to the decoder's softplus scale (> 0).
        softplus_log_variance: reproduce the reference's softplus log-variance head.
        sample_at_inference: sample z outside training too (the reference does).
        seed: seed of the sampling noise (None: from Keras' global seed).
        learning_rate: Adam's initial learning rate.

    Returns:
        A compiled model ``(batch, look_back, input_dim) -> (batch, look_back)``
        giving each step's log-likelihood.
    """
    if look_back < 1 or input_dim < 1 or intermediate_dim < 1 or latent_dim < 1:
        raise ValueError(
            "look_back, input_dim, intermediate_dim and latent_dim must be >= 1, got "
            f"{look_back}, {input_dim}, {intermediate_dim}, {latent_dim}"
        )
    if not scale_floor > 0:
        raise ValueError(f"scale_floor must be > 0, got {scale_floor}")

    window = keras.Input(shape=(look_back, input_dim), name="window")
    encoded = layers.LSTM(intermediate_dim, name="encoder_lstm")(window)
    z_mean = layers.Dense(latent_dim, name="z_mean")(encoded)
    z_log_var = layers.Dense(
        latent_dim,
        activation="softplus" if softplus_log_variance else None,
        name="z_log_var",
    )(encoded)
    z = GaussianSampling(sample_at_inference=sample_at_inference, seed=seed, name="z")(
        [z_mean, z_log_var]
    )
    repeated = layers.RepeatVector(look_back, name="repeat_z")(z)
    decoded = layers.LSTM(intermediate_dim, return_sequences=True, name="decoder_lstm")(repeated)
    loc = layers.LSTM(input_dim, return_sequences=True, name="loc")(decoded)
    raw_scale = layers.LSTM(
        input_dim, activation="softplus", return_sequences=True, name="raw_scale"
    )(decoded)
    scale = ScaleFloor(scale_floor, name="scale")(raw_scale)
    log_likelihood = VaeObjective(name="log_likelihood")([window, loc, scale, z_mean, z_log_var])
    model = keras.Model(window, log_likelihood, name="lstm_vae")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate))
    return model
