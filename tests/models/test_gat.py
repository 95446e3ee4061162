"""The GAT layer under Keras 3: attention confined to each neighbourhood, dropout, the model.

Config round trips, .keras save/load and mixed precision of the layer:
tests/models/test_layers.py.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf
from spektral.layers import GATConv as SpektralGATConv

from advanced_dl.features.graph import attention_support, to_sparse_tensor
from advanced_dl.models import hidden_activations_model
from advanced_dl.models.gat import GATConv, build_gat

N_NODES, N_FEATURES, N_CLASSES = 6, 5, 3
# A path 0-1-2-3 plus an edge 4-5: two components, so nodes 0..3 never see 4 or 5.
EDGES = [(0, 1), (1, 2), (2, 3), (4, 5)]


@pytest.fixture(scope="module")
def graph():
    rng = np.random.default_rng(0)
    features = (rng.random((N_NODES, N_FEATURES)) < 0.5).astype(np.float32)
    dense = np.zeros((N_NODES, N_NODES), dtype=np.float32)
    for i, j in EDGES:
        dense[i, j] = dense[j, i] = 1.0
    return features, sp.csr_matrix(dense)


def _dense_attention(layer: GATConv, features: np.ndarray, support: sp.csr_matrix) -> np.ndarray:
    edges, coefficients = layer.attention([tf.constant(features), to_sparse_tensor(support)])
    edges, coefficients = np.asarray(edges), np.asarray(coefficients)
    attention = np.zeros((layer.attn_heads, N_NODES, N_NODES))
    for (target, source), weights in zip(edges, coefficients, strict=True):
        attention[:, target, source] = weights
    return attention


def test_attention_is_zero_outside_each_neighbourhood_and_sums_to_one(graph):
    features, adjacency = graph
    support = attention_support(adjacency)
    layer = GATConv(4, attn_heads=3, add_self_loops=False)
    layer([tf.constant(features), to_sparse_tensor(support)])
    attention = _dense_attention(layer, features, support)
    outside = support.toarray() == 0
    assert (attention[:, outside] == 0).all()
    assert (attention[:, ~outside] > 0).all()
    np.testing.assert_allclose(attention.sum(axis=2), 1.0, rtol=1e-5)
    # Without the precomputed self-loops, the layer adds them itself: same attention.
    own_loops = GATConv(4, attn_heads=3, add_self_loops=True)
    own_loops([tf.constant(features), to_sparse_tensor(adjacency)])
    own_loops.set_weights(layer.get_weights())
    np.testing.assert_allclose(
        _dense_attention(own_loops, features, adjacency), attention, rtol=1e-6
    )


def test_output_is_the_attention_weighted_sum_of_projected_neighbours(graph):
    features, adjacency = graph
    support = attention_support(adjacency)
    layer = GATConv(2, attn_heads=2, concat_heads=True, add_self_loops=False, use_bias=False)
    output = np.asarray(layer([tf.constant(features), to_sparse_tensor(support)]))
    attention = _dense_attention(layer, features, support)
    kernel = np.asarray(layer.kernel)  # (features, heads, channels)
    expected = np.concatenate([attention[h] @ features @ kernel[:, h, :] for h in range(2)], axis=1)
    np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-6)
    # A node only moves when its own neighbourhood changes.
    changed = features.copy()
    changed[5] = 1.0 - changed[5]
    moved = np.asarray(layer([tf.constant(changed), to_sparse_tensor(support)]))
    np.testing.assert_allclose(moved[:4], output[:4], rtol=1e-6)
    assert not np.allclose(moved[4:], output[4:])


def test_sparse_features_give_the_dense_outputs_and_kernel_gradients(graph):
    # Sparse features take the CSR product, whose gradient reaches the kernel only.
    features, adjacency = graph
    support = to_sparse_tensor(attention_support(adjacency))
    layer = GATConv(3, attn_heads=2, add_self_loops=False)
    layer([tf.constant(features), support])

    def output_and_gradients(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer([x, support]) ** 2)
        return loss, tape.gradient(loss, layer.trainable_weights)

    dense_loss, dense_gradients = output_and_gradients(tf.constant(features))
    sparse_loss, sparse_gradients = output_and_gradients(to_sparse_tensor(sp.csr_matrix(features)))
    np.testing.assert_allclose(float(sparse_loss), float(dense_loss), rtol=1e-5)
    for sparse_gradient, dense_gradient in zip(sparse_gradients, dense_gradients, strict=True):
        np.testing.assert_allclose(sparse_gradient, dense_gradient, rtol=1e-4, atol=1e-6)


def test_spektral_layer_needs_the_mask_fix(graph):
    features, adjacency = graph
    inputs = [tf.constant(features), to_sparse_tensor(adjacency)]
    with pytest.raises((TypeError, ValueError)):  # Keras 3 passes mask=[None, None]
        SpektralGATConv(2)(inputs)
    assert GATConv(2)(inputs).shape == (N_NODES, 2)


def test_dropout_acts_in_training_only(graph):
    features, adjacency = graph
    inputs = [tf.constant(features), to_sparse_tensor(attention_support(adjacency))]
    keras.utils.set_random_seed(0)
    layer = GATConv(
        4, attn_heads=2, dropout_rate=0.5, projection_dropout_rate=0.5, add_self_loops=False
    )
    inference = [np.asarray(layer(inputs, training=False)) for _ in range(2)]
    np.testing.assert_array_equal(*inference)
    training = [np.asarray(layer(inputs, training=True)) for _ in range(2)]
    assert not np.allclose(*training)


def test_model_learns_saves_and_reloads_with_the_same_predictions(graph, tmp_path):
    features, adjacency = graph
    keras.utils.set_random_seed(1)
    model = build_gat(N_NODES, N_FEATURES, N_CLASSES, hidden_units=4, attention_heads=2)
    inputs = [
        to_sparse_tensor(sp.csr_matrix(features)),
        to_sparse_tensor(attention_support(adjacency)),
    ]
    probabilities = np.asarray(model(inputs, training=False))
    assert probabilities.shape == (N_NODES, N_CLASSES)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    # L2 on the feature and both attention kernels of both layers (biases are not decayed).
    assert len(model.losses) == 6

    model.optimizer.build(model.trainable_variables)  # as after training
    path = tmp_path / "gat.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert isinstance(reloaded.get_layer("gat_hidden"), GATConv)
    assert reloaded.get_layer("gat_hidden").add_self_loops is False
    np.testing.assert_allclose(
        np.asarray(reloaded(inputs, training=False)), probabilities, rtol=1e-6
    )
    hidden = np.asarray(hidden_activations_model(reloaded)(inputs, training=False))
    assert hidden.shape == (N_NODES, 8) and (hidden >= -1).all()  # ELU
