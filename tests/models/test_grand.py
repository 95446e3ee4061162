"""GRAND: random propagation, the consistency loss and the code's initial weights."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from advanced_dl.features.graph import gcn_filter, to_sparse_tensor
from advanced_dl.models.grand import (
    ProjectedRandomPropagation,
    RandomPropagation,
    build_grand,
    consistency_loss,
    hop_coefficients,
)

N_NODES, N_FEATURES = 6, 4


def _graph():
    rng = np.random.default_rng(0)
    features = rng.random((N_NODES, N_FEATURES)).astype("float32")
    ring = sp.csr_matrix(np.roll(np.eye(N_NODES), 1, axis=1) + np.roll(np.eye(N_NODES), -1, axis=1))
    a_hat = gcn_filter(ring.astype("float32"))
    return features, a_hat


def test_inference_propagation_is_the_scaled_average_of_the_filter_powers():
    features, a_hat = _graph()
    dense = a_hat.toarray()
    expected = (features + dense @ features + dense @ dense @ features) / 3 * (1 - 0.3)
    layer = RandomPropagation(order=2, rate=0.3)
    for x in (tf.constant(features), to_sparse_tensor(sp.csr_matrix(features))):
        output = layer([x, to_sparse_tensor(a_hat)], training=False)
        np.testing.assert_allclose(np.asarray(output), expected, rtol=1e-5)
    dense_filter = layer([tf.constant(features), tf.constant(dense)], training=False)
    np.testing.assert_allclose(np.asarray(dense_filter), expected, rtol=1e-5)


def test_personalized_pagerank_hop_weights_decay_geometrically_and_sum_to_one():
    features, a_hat = _graph()
    dense = a_hat.toarray()
    coefficients = hop_coefficients(2, 0.2)
    # 0.2, 0.16, 0.128 rescaled by their sum 0.488
    np.testing.assert_allclose(coefficients, [0.2 / 0.488, 0.16 / 0.488, 0.128 / 0.488])
    expected = (
        coefficients[0] * features
        + coefficients[1] * dense @ features
        + coefficients[2] * dense @ dense @ features
    ) * (1 - 0.3)
    layer = RandomPropagation(
        order=2, rate=0.3, hop_weights="personalized_pagerank", teleport_probability=0.2
    )
    output = layer([tf.constant(features), to_sparse_tensor(a_hat)], training=False)
    np.testing.assert_allclose(np.asarray(output), expected, rtol=1e-5)
    uniform = RandomPropagation(order=2, rate=0.3)([tf.constant(features), to_sparse_tensor(a_hat)])
    assert not np.allclose(np.asarray(uniform), expected)
    # Teleporting always is no propagation at all.
    assert hop_coefficients(3, 1.0) == [1.0, 0.0, 0.0, 0.0]
    model = build_grand(
        N_NODES, N_FEATURES, 2, hop_weights="personalized_pagerank", teleport_probability=0.2
    )
    assert model.get_layer("random_propagation").hop_weights == "personalized_pagerank"
    with pytest.raises(ValueError, match="hop_weights must be one of"):
        RandomPropagation(order=2, rate=0.3, hop_weights="heat")
    with pytest.raises(ValueError, match="teleport_probability must be in"):
        RandomPropagation(order=2, rate=0.3, teleport_probability=0.0)


def test_training_drops_whole_node_rows_without_rescaling_and_redraws_each_call():
    features = np.ones((400, 3), dtype="float32")
    identity = to_sparse_tensor(sp.identity(400, dtype="float32", format="csr"))
    layer = RandomPropagation(order=0, rate=0.5, seed=7)
    first = np.asarray(layer([tf.constant(features), identity], training=True))
    second = np.asarray(layer([tf.constant(features), identity], training=True))
    for output in (first, second):
        rows_kept = output[:, 0] == 1.0
        # a row is kept whole (values unscaled) or dropped whole
        np.testing.assert_array_equal(output, np.repeat(rows_kept[:, None], 3, axis=1) * 1.0)
        assert 0.4 < rows_kept.mean() < 0.6
    assert (first != second).any()  # each call draws its own nodes


def test_consistency_loss_pulls_predictions_to_their_sharpened_mean():
    p1 = np.array([[0.6, 0.4], [0.5, 0.5]], dtype="float32")
    p2 = np.array([[0.8, 0.2], [0.5, 0.5]], dtype="float32")
    mean = (p1 + p2) / 2
    sharpened = mean**2 / (mean**2).sum(axis=1, keepdims=True)  # temperature 0.5
    expected = (((p1 - sharpened) ** 2).sum(1).mean() + ((p2 - sharpened) ** 2).sum(1).mean()) / 2
    loss = consistency_loss([tf.constant(p1), tf.constant(p2)], temperature=0.5)
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)
    # Identical one-hot predictions are already consistent and sharp.
    one_hot = tf.constant([[1.0, 0.0], [0.0, 1.0]])
    assert float(consistency_loss([one_hot, one_hot], 0.3)) == pytest.approx(0.0, abs=1e-7)
    # The sharpened target is a constant: the gradient is 2 (p - target) / (S * N).
    variable = tf.Variable(p1)
    with tf.GradientTape() as tape:
        value = consistency_loss([variable, tf.constant(p2)], temperature=0.5)
    gradient = tape.gradient(value, variable)
    np.testing.assert_allclose(np.asarray(gradient), 2 * (p1 - sharpened) / (2 * 2), rtol=1e-5)
    with pytest.raises(ValueError, match="at least one"):
        consistency_loss([], 0.5)


def test_consistency_loss_with_confidence_counts_only_confident_nodes():
    # Averaged predictions: node 0 [0.8, 0.2] is confident, node 1 [0.45, 0.55] is not.
    p1 = np.array([[0.7, 0.3], [0.5, 0.5]], dtype="float32")
    p2 = np.array([[0.9, 0.1], [0.4, 0.6]], dtype="float32")
    mean = (p1 + p2) / 2
    sharpened = mean**2 / (mean**2).sum(axis=1, keepdims=True)
    node0 = (((p1[0] - sharpened[0]) ** 2).sum() + ((p2[0] - sharpened[0]) ** 2).sum()) / 2
    versions = [tf.constant(p1), tf.constant(p2)]
    confident = consistency_loss(versions, 0.5, confidence=0.7)
    assert float(confident) == pytest.approx(float(node0), rel=1e-5)
    # The average is judged, not the sharpened target: node 0's target (0.94) clears
    # 0.9 but its average (0.8) does not, and at temperature 0.05 node 1's target
    # (0.97) would clear 0.6 though its average (0.55) does not.
    assert float(consistency_loss(versions, 0.5, confidence=0.9)) == 0.0
    assert float(consistency_loss(versions, 0.05, confidence=0.6)) > 0.0
    mean_sharp = mean**20 / (mean**20).sum(axis=1, keepdims=True)
    node0_sharp = (((p1[0] - mean_sharp[0]) ** 2).sum() + ((p2[0] - mean_sharp[0]) ** 2).sum()) / 2
    assert float(consistency_loss(versions, 0.05, confidence=0.6)) == pytest.approx(
        float(node0_sharp), rel=1e-4
    )
    # Confidence 0 is GRAND's loss, over every node; no node above it gives 0, not NaN.
    every = consistency_loss(versions, 0.5)
    assert float(consistency_loss(versions, 0.5, confidence=0.0)) == float(every)
    assert float(every) != pytest.approx(float(node0), rel=1e-3)
    assert float(consistency_loss(versions, 0.5, confidence=0.99)) == 0.0


def test_build_grand_reference_initialisation_is_the_codes_shifted_normal():
    model = build_grand(
        50, 400, 3, hidden_units=32, sparse_features=False, initialisation="reference"
    )
    kernel, bias = model.get_layer("grand_hidden").get_weights()
    scale = 1 / np.sqrt(32)
    assert kernel.mean() == pytest.approx(-scale, abs=0.01)
    assert kernel.std() == pytest.approx(scale, rel=0.05)
    assert bias.any()
    glorot = build_grand(50, 400, 3, hidden_units=32, sparse_features=False)
    kernel, bias = glorot.get_layer("grand_hidden").get_weights()
    assert abs(kernel.mean()) < 0.01 and not bias.any()
    assert model.get_layer("grand_hidden").bias_regularizer is not None
    with pytest.raises(ValueError, match="initialisation must be one of"):
        build_grand(50, 400, 3, initialisation="he")
    with pytest.raises(ValueError, match="rate must be in"):
        RandomPropagation(order=2, rate=1.0)


def test_projecting_first_gives_the_propagate_then_dense_function():
    features, a_hat = _graph()
    x, a = to_sparse_tensor(sp.csr_matrix(features)), to_sparse_tensor(a_hat)
    projected = ProjectedRandomPropagation(order=2, rate=0.4, units=3, seed=5)
    plain = RandomPropagation(order=2, rate=0.4, seed=5)
    dense = keras.layers.Dense(3, activation="relu")
    projected([x, a])  # build
    dense.build((None, N_FEATURES))
    kernel = np.random.default_rng(1).normal(size=(N_FEATURES, 3)).astype("float32")
    bias = np.array([0.1, -0.2, 0.3], dtype="float32")
    projected.set_weights([kernel, bias])
    dense.set_weights([kernel, bias])
    for training in (False, True):  # same seed: the same nodes dropped in training
        expected = dense(plain([x, a], training=training))
        output = projected([x, a], training=training)
        np.testing.assert_allclose(np.asarray(output), np.asarray(expected), rtol=1e-5, atol=1e-6)
    # The kernel trains through the propagation.
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(projected([x, a], training=True))
    assert np.abs(np.asarray(tape.gradient(total, projected.kernel))).sum() > 0
    # build_grand projects first exactly when no dropout sits in between.
    assert isinstance(
        build_grand(N_NODES, N_FEATURES, 2, input_dropout_rate=0.0).get_layer("grand_hidden"),
        ProjectedRandomPropagation,
    )
    assert isinstance(
        build_grand(N_NODES, N_FEATURES, 2, input_dropout_rate=0.5).get_layer("grand_hidden"),
        keras.layers.Dense,
    )
    # ... and when the input dropout is moved before the propagation.
    early = build_grand(
        N_NODES, N_FEATURES, 2, input_dropout_rate=0.5, input_dropout_position="before_propagation"
    )
    assert early.get_layer("grand_hidden").feature_dropout_rate == 0.5
    assert "input_dropout" not in [layer.name for layer in early.layers]
    with pytest.raises(ValueError, match="input_dropout_position must be one of"):
        build_grand(N_NODES, N_FEATURES, 2, input_dropout_position="between")


def test_feature_dropout_before_projection_is_unbiased_and_off_at_inference():
    features, a_hat = _graph()
    x, a = tf.constant(features), to_sparse_tensor(a_hat)
    layer = ProjectedRandomPropagation(
        order=2, rate=0.0, units=3, activation=None, feature_dropout_rate=0.5, seed=3
    )
    reference = ProjectedRandomPropagation(order=2, rate=0.0, units=3, activation=None)
    layer([x, a])
    reference([x, a])
    reference.set_weights(layer.get_weights())
    expected = np.asarray(reference([x, a], training=True))
    np.testing.assert_allclose(np.asarray(layer([x, a], training=False)), expected, rtol=1e-6)
    draws = [np.asarray(layer([x, a], training=True)) for _ in range(400)]
    assert not np.allclose(draws[0], draws[1])  # each call draws its own features
    # Kept features are scaled by 1 / (1 - rate): linear up to here, so the mean is exact.
    np.testing.assert_allclose(np.mean(draws, axis=0), expected, atol=0.1 * np.abs(expected).max())
    with pytest.raises(ValueError, match="feature_dropout_rate must be in"):
        ProjectedRandomPropagation(order=2, rate=0.0, units=3, feature_dropout_rate=1.0)
