"""The compiled full-batch training loop: schedule, early stopping, restored weights."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import scipy.sparse as sp

from advanced_dl.features.graph import to_sparse_tensor
from advanced_dl.models.gcn import GCNConv, build_gcn
from advanced_dl.models.grand import build_grand
from advanced_dl.pipelines.cora_gcn.full_batch import (
    ConsistencyConfig,
    EarlyStoppingConfig,
    train_full_batch,
)

N_NODES, N_FEATURES, N_CLASSES = 30, 6, 3


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    classes = np.arange(N_NODES) % N_CLASSES
    features = (rng.random((N_NODES, N_FEATURES)) < 0.3).astype(np.float32)
    features[np.arange(N_NODES), classes] = 1.0
    adjacency = sp.random(N_NODES, N_NODES, density=0.1, random_state=1, format="csr")
    adjacency = ((adjacency + adjacency.T) > 0).astype(np.float32).tolil()
    adjacency.setdiag(0)
    graph_filter = GCNConv.preprocess(adjacency.tocsr())
    labels = np.eye(N_CLASSES, dtype=np.float32)[classes]
    train = np.arange(N_NODES) < 12
    val = ~train
    return (
        to_sparse_tensor(sp.csr_matrix(features)),
        to_sparse_tensor(graph_filter),
        labels,
        train,
        val,
    )


def _model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return build_gcn(N_NODES, N_FEATURES, N_CLASSES, hidden_units=4, learning_rate=0.05)


def _fit(model, problem, epochs: int, patience: int | None = None, monitor="val_loss", **options):
    """``train_full_batch`` on ``problem`` for at most ``epochs`` epochs."""
    x, a, labels, train, val = problem
    return train_full_batch(
        model,
        x,
        a,
        labels,
        train_mask=train,
        val_mask=val,
        epochs=epochs,
        early_stopping=EarlyStoppingConfig(patience=patience, monitor=monitor),
        **options,
    )


def test_constant_rate_or_hold_then_decay_and_every_epoch_timed(problem):
    x, a, labels, train, val = problem
    result = train_full_batch(
        _model(),
        x,
        a,
        labels,
        train_mask=train,
        val_mask=val,
        epochs=6,
        early_stopping=EarlyStoppingConfig(patience=None),
        hold_epochs=2,
        decay_rate=0.1,
    )
    assert result.epochs_trained == 6 == len(result.epoch_seconds)
    expected = [0.05, 0.05] + [0.05 * math.exp(-0.1 * k) for k in range(1, 5)]
    np.testing.assert_allclose(result.history["learning_rate"], expected, rtol=1e-5)
    assert result.compile_seconds > 0 and result.fit_seconds >= sum(result.epoch_seconds)
    constant = train_full_batch(
        _model(),
        x,
        a,
        labels,
        train_mask=train,
        val_mask=val,
        epochs=3,
        early_stopping=EarlyStoppingConfig(patience=None),
    )
    assert constant.history["learning_rate"] == pytest.approx([0.05] * 3)
    assert constant.best_epoch == 2  # no early stopping: the last epoch's weights are kept


def _stopped_early(model, problem, monitor: str):
    """``model`` trained for at most 300 epochs with patience 3 on ``monitor``."""
    return _fit(model, problem, epochs=300, patience=3, monitor=monitor)


def test_early_stopping_restores_the_best_validation_loss_weights(problem):
    x, a, labels, _, val = problem
    model = _model()
    result = _stopped_early(model, problem, "val_loss")
    val_losses = result.history["val_loss"]
    assert result.epochs_trained < 300
    assert result.best_epoch == int(np.argmin(val_losses))
    assert result.epochs_trained == result.best_epoch + 1 + 3
    probabilities = np.asarray(model([x, a], training=False))
    cross_entropy = -np.log(probabilities[labels.astype(bool)])
    restored_loss = (cross_entropy * val).sum() / N_NODES + float(sum(model.losses))
    assert restored_loss == pytest.approx(min(val_losses), rel=1e-4)
    assert min(val_losses) < val_losses[0]  # it learned something before stopping


def test_val_data_loss_stopping_ignores_the_regularisation_terms(problem):
    x, a, labels, _, val = problem
    keras.utils.set_random_seed(0)
    # A heavy penalty, so the two losses rank epochs differently.
    model = build_gcn(
        N_NODES, N_FEATURES, N_CLASSES, hidden_units=4, learning_rate=0.05, l2_factor=0.05
    )
    result = _stopped_early(model, problem, "val_data_loss")
    data_losses, losses = result.history["val_data_loss"], result.history["val_loss"]
    assert len(data_losses) == len(losses) == result.epochs_trained
    assert result.best_epoch == int(np.argmin(data_losses))
    penalties = np.subtract(losses, data_losses)
    assert np.all(penalties > 0)  # val_loss carries the penalty, val_data_loss does not
    probabilities = np.asarray(model([x, a], training=False))
    cross_entropy = -np.log(probabilities[labels.astype(bool)])
    assert (cross_entropy * val).sum() / N_NODES == pytest.approx(min(data_losses), rel=1e-4)


def test_val_data_loss_or_accuracy_waits_on_either_and_keeps_the_lowest_loss(problem):
    result = _stopped_early(_model(), problem, "val_data_loss_or_accuracy")
    losses, accuracies = result.history["val_data_loss"], result.history["val_accuracy"]
    assert result.epochs_trained < 300
    # The kept epoch is the last one at the lowest cross-entropy (ties count).
    assert result.best_epoch == len(losses) - 1 - int(np.argmin(losses[::-1]))
    # The wait restarts at every new low of the loss or new high of the accuracy.
    resets = [
        epoch
        for epoch in range(len(losses))
        if losses[epoch] <= min(losses[: epoch + 1])
        or accuracies[epoch] >= max(accuracies[: epoch + 1])
    ]
    assert result.epochs_trained == resets[-1] + 1 + 3


def _grand_epochs(problem, consistency: ConsistencyConfig | None, epochs: int):
    keras.utils.set_random_seed(0)
    model = build_grand(N_NODES, N_FEATURES, N_CLASSES, order=2, hidden_units=8, learning_rate=0.05)
    return _fit(model, problem, epochs, loss_average="masked_nodes", consistency=consistency)


def test_consistency_training_adds_the_weighted_consistency_term_and_learns(problem):
    unweighted = _grand_epochs(problem, ConsistencyConfig(samples=3, weight=0.0), epochs=1)
    weighted = _grand_epochs(problem, ConsistencyConfig(samples=3, weight=1.0), epochs=40)
    # Same seed, same weights and random versions at epoch 1: the difference is the term
    # (small there: near-uniform first predictions are already nearly consistent).
    assert weighted.history["loss"][0] > unweighted.history["loss"][0]
    # The term grows as predictions sharpen; the supervised part still learns.
    assert weighted.history["val_accuracy"][-1] > 1 / N_CLASSES + 0.2
    with pytest.raises(ValueError, match="samples must be >= 1"):
        ConsistencyConfig(samples=0)
    with pytest.raises(ValueError, match="temperature must be in"):
        ConsistencyConfig(temperature=0.0)
    with pytest.raises(ValueError, match="confidence must be in"):
        ConsistencyConfig(confidence=1.0)


def test_consistency_warmup_ramps_the_weight_from_zero(problem):
    ramp = ConsistencyConfig(samples=3, weight=1.5, warmup_epochs=4)
    assert [ramp.weight_at(epoch) for epoch in (0, 2, 4, 9)] == [0.0, 0.75, 1.5, 1.5]
    assert ConsistencyConfig(weight=1.5).weight_at(0) == 1.5
    unweighted = _grand_epochs(problem, ConsistencyConfig(samples=3, weight=0.0), epochs=1)
    full = _grand_epochs(problem, ConsistencyConfig(samples=3, weight=1.5), epochs=1)
    warming = _grand_epochs(problem, ramp, epochs=1)
    # Epoch 1 of the ramp carries no consistency term; without the ramp it does.
    assert warming.history["loss"][0] == pytest.approx(unweighted.history["loss"][0], rel=1e-6)
    assert full.history["loss"][0] > unweighted.history["loss"][0]
    with pytest.raises(ValueError, match="warmup_epochs must be >= 0"):
        ConsistencyConfig(warmup_epochs=-1)


def _restored_val_loss(model, problem) -> float:
    """The validation loss (``val_loss``'s definition) of ``model``'s current weights."""
    x, a, labels, _, val = problem
    probabilities = np.asarray(model([x, a], training=False))
    cross_entropy = -np.log(probabilities[labels.astype(bool)])
    return (cross_entropy * val).sum() / N_NODES + float(sum(model.losses))


def test_ema_validates_and_keeps_the_moving_average_while_training_goes_on_raw(problem):
    momentum, epochs = 0.6, 5
    reference = _model()
    average = [np.array(w) for w in reference.trainable_weights]  # starts at the initial weights
    for _ in range(epochs):  # one epoch per call: the raw weights after each
        _fit(reference, problem, epochs=1)
        weights = [np.array(w) for w in reference.trainable_weights]
        average = [momentum * m + (1 - momentum) * w for m, w in zip(average, weights, strict=True)]
    averaged = _model()
    result = _fit(averaged, problem, epochs=epochs, ema_momentum=momentum)
    # The same raw trajectory (averaging never feeds back into training); the model
    # ends with the average of it, and the last validation loss is the average's.
    for kept, expected in zip(averaged.trainable_weights, average, strict=True):
        np.testing.assert_allclose(np.array(kept), expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(np.array(reference.trainable_weights[0]), average[0])
    assert _restored_val_loss(averaged, problem) == pytest.approx(
        result.history["val_loss"][-1], rel=1e-4
    )
    with pytest.raises(ValueError, match="ema_momentum must be in"):
        _fit(_model(), problem, epochs=1, ema_momentum=1.0)


def test_ema_early_stopping_restores_the_best_epochs_average(problem):
    model = _model()
    result = _fit(model, problem, epochs=300, patience=3, ema_momentum=0.5)
    val_losses = result.history["val_loss"]
    assert result.best_epoch == int(np.argmin(val_losses)) < result.epochs_trained - 1
    assert _restored_val_loss(model, problem) == pytest.approx(min(val_losses), rel=1e-4)
