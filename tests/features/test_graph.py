"""Citation graph -> GCN inputs, shared by the cora_gcn pipeline and its served model."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from advanced_dl.features.graph import (
    gcn_filter,
    model_inputs,
    node_probabilities,
    to_sparse_tensor,
)

ADJACENCY = sp.csr_matrix(
    np.array([[0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0]], dtype=np.float32)
)


def test_gcn_filter_is_the_symmetric_normalisation_with_self_loops():
    a_plus_i = ADJACENCY.toarray() + np.eye(4)
    d_inv_sqrt = np.diag(1 / np.sqrt(a_plus_i.sum(axis=1)))
    result = gcn_filter(ADJACENCY)
    assert isinstance(result, sp.csr_matrix) and result.dtype == np.float32
    np.testing.assert_allclose(result.toarray(), d_inv_sqrt @ a_plus_i @ d_inv_sqrt, rtol=1e-6)
    with pytest.raises(ValueError, match="no self-loops"):
        gcn_filter(ADJACENCY + sp.eye(4, dtype=np.float32))


def test_sparse_tensors_keep_every_value_in_row_major_order():
    matrix = sp.csr_matrix(np.array([[0, 2.5], [1.0, 0]], dtype=np.float64))
    tensor = to_sparse_tensor(matrix.tocsc())  # any sparse layout in
    assert isinstance(tensor, tf.SparseTensor) and tensor.dtype == tf.float32
    assert np.asarray(tensor.indices).tolist() == [[0, 1], [1, 0]]
    np.testing.assert_array_equal(np.asarray(tf.sparse.to_dense(tensor)), matrix.toarray())
    features, graph = model_inputs(sp.eye(4, format="csr"), gcn_filter(ADJACENCY))
    assert tuple(features.dense_shape) == (4, 4) and tuple(graph.dense_shape) == (4, 4)


def test_node_probabilities_average_training_mode_passes_only_when_asked():
    import keras

    from advanced_dl.models.grand import build_grand

    rng = np.random.default_rng(0)
    features = sp.csr_matrix(rng.random((8, 5)).astype(np.float32))
    ring = sp.csr_matrix(np.roll(np.eye(8), 1, axis=1) + np.roll(np.eye(8), -1, axis=1))
    graph_filter = gcn_filter(ring.astype(np.float32))
    keras.utils.set_random_seed(0)
    model = build_grand(8, 5, 3, order=2, hidden_units=4, sparse_features=True)
    inference = np.asarray(model(model_inputs(features, graph_filter), training=False))
    np.testing.assert_array_equal(node_probabilities(model, features, graph_filter), inference)
    # One random version is not the inference pass; the mean of many is a distribution
    # per node, closer to the inference pass than a single version is.
    single = node_probabilities(model, features, graph_filter, inference_samples=1)
    many = node_probabilities(model, features, graph_filter, inference_samples=200)
    assert not np.allclose(single, inference)
    np.testing.assert_allclose(many.sum(axis=1), 1.0, rtol=1e-5)
    assert np.abs(many - inference).mean() < np.abs(single - inference).mean()
    with pytest.raises(ValueError, match="inference_samples must be >= 0"):
        node_probabilities(model, features, graph_filter, inference_samples=-1)
    # The traced passes draw what eager training-mode calls of the same model draw.
    keras.utils.set_random_seed(0)
    twin = build_grand(8, 5, 3, order=2, hidden_units=4, sparse_features=True)
    eager = np.mean(
        [np.asarray(twin(model_inputs(features, graph_filter), training=True)) for _ in range(3)],
        axis=0,
    )
    keras.utils.set_random_seed(0)
    model = build_grand(8, 5, 3, order=2, hidden_units=4, sparse_features=True)
    traced = node_probabilities(model, features, graph_filter, inference_samples=3)
    np.testing.assert_allclose(traced, eager, rtol=1e-5, atol=1e-7)
