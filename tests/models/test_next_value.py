"""The next-value network: its loss, training, and a .keras round trip."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from advanced_dl.models.next_value import (
    build_next_value_model,
    laplace_negative_log_likelihood,
)
from advanced_dl.nab.next_value import negative_log_likelihood


def test_loss_matches_the_per_row_score():
    prediction = np.array([[0.0, 1.0], [1.0, 0.5], [-2.0, 3.0]], dtype="float32")
    targets = np.array([0.5, 3.0, -2.0], dtype="float32")
    loss = float(laplace_negative_log_likelihood(targets, prediction))
    assert loss == pytest.approx(negative_log_likelihood(prediction, targets).mean(), rel=1e-6)


def test_model_learns_a_predictable_change_and_reloads(tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    features = rng.normal(size=(512, 3)).astype("float32")
    targets = (2.0 * features[:, 0] + 0.05 * rng.normal(size=512)).astype("float32")
    model = build_next_value_model(
        n_features=3, hidden_units=16, hidden_layers=2, learning_rate=1e-2
    )
    history = model.fit(features, targets, epochs=30, batch_size=64, verbose=0).history["loss"]
    assert history[-1] < history[0] - 1.0
    prediction = model.predict(features, verbose=0)
    assert prediction.shape == (512, 2) and (prediction[:, 1] >= 1e-2).all()
    assert np.mean(np.abs(prediction[:, 0] - targets)) < 0.3

    path = tmp_path / "next_value.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_array_equal(reloaded.predict(features, verbose=0), prediction)
    with pytest.raises(ValueError, match="must be >= 1"):
        build_next_value_model(n_features=0)
