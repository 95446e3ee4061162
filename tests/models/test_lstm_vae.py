"""LSTM-VAE: shapes, the likelihood it computes, its loss, and .keras round trips."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from advanced_dl.models.lstm_vae import (
    GaussianSampling,
    build_lstm_vae,
    gaussian_log_likelihood,
)

LOOK_BACK = 8


@pytest.fixture(scope="module")
def windows() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(size=(16, LOOK_BACK, 1)).astype("float32")


def small_model(**kwargs) -> keras.Model:
    keras.utils.set_random_seed(1)
    return build_lstm_vae(look_back=LOOK_BACK, intermediate_dim=4, **kwargs)


@pytest.fixture(scope="module")
def model() -> keras.Model:
    """One untrained model shared by the read-only checks (building one takes seconds)."""
    return small_model(scale_floor=0.01)


def test_output_is_log_likelihood_per_step(model, windows):
    log_likelihood = model.predict(windows, verbose=0)
    assert log_likelihood.shape == (16, LOOK_BACK)
    assert np.isfinite(log_likelihood).all()
    # Deterministic outside training (the posterior mean is decoded).
    np.testing.assert_allclose(log_likelihood, model.predict(windows, verbose=0))


def test_log_likelihood_matches_closed_form(model, windows):
    heads = keras.Model(
        model.input, [model.get_layer("loc").output, model.get_layer("scale").output]
    )
    loc, scale = heads.predict(windows, verbose=0)
    expected = keras.ops.convert_to_numpy(gaussian_log_likelihood(windows, loc, scale))
    np.testing.assert_allclose(model.predict(windows, verbose=0), expected, rtol=1e-4, atol=1e-4)


def test_scale_floor_bounds_scale(model, windows):
    scale_model = keras.Model(model.input, model.get_layer("scale").output)
    assert scale_model.predict(windows, verbose=0).min() >= 0.01


def test_loss_is_kl_minus_mean_log_likelihood(model, windows):
    z_model = keras.Model(
        model.input, [model.get_layer("z_mean").output, model.get_layer("z_log_var").output]
    )
    z_mean, z_log_var = z_model.predict(windows, verbose=0)
    kl = -0.5 * np.mean(1 + z_log_var - z_mean**2 - np.exp(z_log_var), axis=-1)
    # Evaluated outside training: z is the posterior mean, so the loss is deterministic.
    expected = kl.mean() - model.predict(windows, verbose=0).mean()
    assert model.evaluate(windows, verbose=0, batch_size=16) == pytest.approx(expected, rel=1e-4)


def test_softplus_log_variance_reproduces_reference_head(windows):
    model = small_model(softplus_log_variance=True)
    z_log_var = keras.Model(model.input, model.get_layer("z_log_var").output)
    assert z_log_var.predict(windows, verbose=0).min() >= 0  # variance >= 1, as in the reference


def test_sampling_layer_samples_only_in_training():
    layer = GaussianSampling(seed=3)
    mean, log_var = np.zeros((4, 2), "float32"), np.zeros((4, 2), "float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer([mean, log_var])), mean)
    sampled = keras.ops.convert_to_numpy(layer([mean, log_var], training=True))
    assert np.abs(sampled).sum() > 0
    always = GaussianSampling(sample_at_inference=True, seed=3)
    assert np.abs(keras.ops.convert_to_numpy(always([mean, log_var]))).sum() > 0


def test_model_keras_round_trip(tmp_path, windows):
    model = small_model(scale_floor=0.01)
    model.fit(windows, epochs=1, batch_size=8, verbose=0)
    path = tmp_path / "lstm_vae.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(windows, verbose=0), model.predict(windows, verbose=0), rtol=1e-5
    )
    assert loaded.get_layer("scale").floor == 0.01
    # The loaded model keeps its loss and trains on.
    assert np.isfinite(loaded.fit(windows, epochs=1, verbose=0).history["loss"][0])


def test_invalid_arguments():
    with pytest.raises(ValueError, match="scale_floor"):
        build_lstm_vae(scale_floor=0.0)
    with pytest.raises(ValueError, match="look_back"):
        build_lstm_vae(look_back=0)
