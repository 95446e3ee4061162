"""The MDN's layer, loss and save/load round trip."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from advanced_dl.features.mixture import split_mixture_parameters
from advanced_dl.models.mdn import MixtureDensityHead, MixtureNLL, build_mdn
from advanced_dl.pipelines.mdn_synthetic.nodes import mixture_nll

K, D = 3, 2


def _random_params(rng: np.random.Generator, n: int) -> np.ndarray:
    means = rng.normal(size=(n, K * D))
    scales = rng.uniform(0.2, 1.5, size=(n, K))
    logits = rng.normal(size=(n, K))
    log_weights = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return np.hstack([means, scales, log_weights]).astype("float64")


def _direct_nll(y, params):
    """-log sum_k w_k N(y | mu_k, s_k^2 I), evaluated density by density."""
    means, scales, log_weights = split_mixture_parameters(params, K, D)
    total = 0.0
    for i in range(len(y)):
        density = sum(
            np.exp(log_weights[i, k])
            * multivariate_normal(means[i, k], scales[i, k] ** 2 * np.eye(D)).pdf(y[i])
            for k in range(K)
        )
        total -= np.log(density)
    return total / len(y)


def test_evaluation_nll_matches_direct_density_computation():
    rng = np.random.default_rng(0)
    params, y = _random_params(rng, 16), rng.normal(size=(16, D))
    means, scales, log_weights = split_mixture_parameters(params, K, D)
    assert mixture_nll(y, np.exp(log_weights), means, scales) == pytest.approx(
        _direct_nll(y, params)
    )


def test_float32_training_loss_matches_float64_evaluation_nll():
    rng = np.random.default_rng(1)
    params, y = _random_params(rng, 32), rng.normal(size=(32, D))
    means, scales, log_weights = split_mixture_parameters(params, K, D)
    loss = MixtureNLL(K, D)(y.astype("float32"), params.astype("float32"))
    assert float(loss) == pytest.approx(
        mixture_nll(y, np.exp(log_weights), means, scales), rel=1e-4
    )


def test_loss_is_finite_far_from_every_component():
    # Direct densities underflow to 0 here (log 0 = -inf); log space does not.
    params = _random_params(np.random.default_rng(2), 4).astype("float32")
    params[:, K * D : K * D + K] = 0.05
    y = np.full((4, D), 60.0, dtype="float32")
    assert np.isfinite(float(MixtureNLL(K, D)(y, params)))


def test_head_floors_the_scales_and_normalises_weights():
    head = MixtureDensityHead(K, D, min_scale=0.3)
    out = keras.ops.convert_to_numpy(
        head(np.random.default_rng(3).normal(size=(8, 5)).astype("float32") * 50)
    )
    _, scales, log_weights = split_mixture_parameters(out, K, D)
    assert (scales >= 0.3).all()
    np.testing.assert_allclose(np.exp(log_weights).sum(axis=1), 1.0, rtol=1e-5)


def test_model_save_load_round_trip(tmp_path):
    model = build_mdn(
        num_components=K,
        initial_means=[[1, 1], [-1, 0], [0, 2]],
        initial_scales=[0.5] * K,
        initial_weights=[0.2, 0.3, 0.5],
    )
    x = np.random.default_rng(4).normal(size=(5, 2)).astype("float32")
    path = tmp_path / "mdn.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        reloaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6
    )
    assert isinstance(reloaded.loss, MixtureNLL)


def test_initial_mixture_sets_the_starting_point():
    model = build_mdn(
        num_components=K,
        initial_means=[[1, 1], [-1, 0], [0, 2]],
        initial_scales=[0.5] * K,
        initial_weights=[0.2, 0.3, 0.5],
        min_scale=0.1,
    )
    out = model.predict(np.zeros((1, 2), dtype="float32"), verbose=0)
    means, scales, _ = split_mixture_parameters(out, K, D)
    np.testing.assert_allclose(means[0], [[1, 1], [-1, 0], [0, 2]], atol=1e-5)
    np.testing.assert_allclose(scales[0], [0.5] * K, rtol=1e-4)
