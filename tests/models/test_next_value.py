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
    with pytest.raises(ValueError, match="must be >= 1"):
        build_next_value_model(n_features=3, members=0)


def test_an_ensemble_trains_members_from_their_own_weights_and_reloads(tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    features = rng.normal(size=(256, 3)).astype("float32")
    targets = (features[:, 0] + 0.1 * rng.normal(size=256)).astype("float32")
    model = build_next_value_model(n_features=3, hidden_units=8, members=3, learning_rate=1e-2)
    before = model.predict(features, verbose=0)
    assert before.shape == (256, 3, 2) and (before[..., 1] >= 1e-2).all()
    assert not np.allclose(before[:, 0], before[:, 1])  # members start apart
    # The loss is each member's own likelihood, averaged over members.
    loss = float(model.compute_loss(y=targets, y_pred=before))
    members = [negative_log_likelihood(before[:, k], targets).mean() for k in range(3)]
    assert loss == pytest.approx(np.mean(members), rel=1e-5)

    history = model.fit(features, targets, epochs=10, batch_size=64, verbose=0).history["loss"]
    assert history[-1] < history[0]
    path = tmp_path / "ensemble.keras"
    model.save(path)
    prediction = model.predict(features, verbose=0)
    np.testing.assert_array_equal(
        keras.models.load_model(path).predict(features, verbose=0), prediction
    )
