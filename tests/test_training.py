"""The "hold then decay" schedule (docs/algorithms.md)."""

import math

import numpy as np
import pytest

from advanced_dl.training import fit_model, hold_then_decay


def test_hold_then_decay_matches_the_reference():
    schedule = hold_then_decay()
    rate, rates = 1e-3, []
    for epoch in range(7):
        rate = schedule(epoch, rate)
        rates.append(rate)
    assert rates[:4] == [1e-3] * 4
    assert rates[4] == pytest.approx(1e-3 * math.exp(-0.1))
    assert rates[6] == pytest.approx(1e-3 * math.exp(-0.3))


def test_hold_then_decay_rejects_negative_values():
    with pytest.raises(ValueError, match="hold_epochs"):
        hold_then_decay(hold_epochs=-1)


def _fit_line(**options):
    """Fit y = 3x + 1 with one Dense unit; returns (model, x, y, TrainingResult)."""
    import keras

    keras.utils.set_random_seed(0)
    x = np.linspace(-1, 1, 64, dtype="float32")[:, None]
    y = 3 * x + 1
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    result = fit_model(model, x, y, validation_data=(x, y), batch_size=16, verbose=0, **options)
    return model, x, y, result


def test_fit_model_records_curves_and_restores_best_weights():
    model, x, y, result = _fit_line(epochs=6, early_stopping_patience=2)
    assert result.epochs_trained == len(result.history["loss"]) == len(result.epoch_seconds)
    assert result.history["learning_rate"][0] == pytest.approx(0.05)
    assert result.fit_seconds > 0
    best = min(result.history["val_loss"])
    assert model.evaluate(x, y, verbose=0) == pytest.approx(best, rel=1e-4)
    metrics = result.as_metrics()
    assert metrics["epochs_trained"] == result.epochs_trained
    assert metrics["best_epoch"] == result.history["val_loss"].index(best)


def test_best_epoch_is_the_one_early_stopping_restores():
    # No epoch improves on the first by min_delta=100: Keras keeps epoch 0.
    model, x, y, result = _fit_line(
        epochs=4, early_stopping_patience=2, early_stopping_min_delta=100.0
    )
    assert result.best_epoch == 0
    assert min(result.history["val_loss"]) < result.history["val_loss"][0]
    assert model.evaluate(x, y, verbose=0) == pytest.approx(result.history["val_loss"][0], rel=1e-4)
