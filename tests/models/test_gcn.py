"""GCN layers under Keras 3: the mask fix, sparse dropout, and the model's .keras round trip.

Config round trips and mixed precision of each layer: tests/models/test_layers.py.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf
from spektral.layers import GCNConv as SpektralGCNConv

from advanced_dl.features.graph import to_sparse_tensor
from advanced_dl.models import hidden_activations_model
from advanced_dl.models.gcn import GCNConv, SparseDropout, build_gcn

N_NODES, N_FEATURES, N_CLASSES = 5, 4, 3


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(0)
    features = sp.csr_matrix((rng.random((N_NODES, N_FEATURES)) < 0.5).astype(np.float32))
    adjacency = sp.csr_matrix(
        np.array(
            [[0, 1, 0, 0, 1], [1, 0, 1, 0, 0], [0, 1, 0, 1, 0], [0, 0, 1, 0, 0], [1, 0, 0, 0, 0]],
            dtype=np.float32,
        )
    )
    return features, GCNConv.preprocess(adjacency)


def test_spektral_layer_needs_the_mask_fix_and_ours_computes_a_hat_x_w(inputs):
    features, graph_filter = inputs
    x, a = tf.constant(features.toarray()), to_sparse_tensor(graph_filter)
    with pytest.raises(ValueError):  # Keras 3 passes mask=[None, None]
        SpektralGCNConv(2, use_bias=False)([x, a])
    layer = GCNConv(2, use_bias=False)
    output = np.asarray(layer([x, a]))
    expected = graph_filter.toarray() @ features.toarray() @ np.asarray(layer.kernel)
    np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-6)


def test_sparse_dropout_drops_stored_values_only_and_scales_the_rest():
    keras.utils.set_random_seed(0)
    values = np.ones(4000, dtype=np.float32)
    indices = np.stack([np.arange(4000) // 40, np.arange(4000) % 40], axis=1)
    sparse = tf.SparseTensor(indices, values, dense_shape=(100, 40))
    dropped = SparseDropout(0.5)(sparse, training=True)
    kept = np.asarray(dropped.values)
    assert isinstance(dropped, tf.SparseTensor)
    assert set(np.unique(kept)) <= {0.0, 2.0}
    assert 0.45 < (kept == 0).mean() < 0.55
    assert SparseDropout(0.5)(sparse, training=False) is sparse
    dense = np.asarray(SparseDropout(0.5)(tf.ones((100, 40)), training=True))
    assert set(np.unique(dense)) <= {0.0, 2.0}


def test_model_saves_and_reloads_with_the_same_predictions(inputs, tmp_path):
    features, graph_filter = inputs
    keras.utils.set_random_seed(1)
    model = build_gcn(N_NODES, N_FEATURES, N_CLASSES, hidden_units=4)
    model_inputs = [to_sparse_tensor(features), to_sparse_tensor(graph_filter)]
    probabilities = np.asarray(model(model_inputs, training=False))
    assert probabilities.shape == (N_NODES, N_CLASSES)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert len(model.losses) == 1  # the L2 penalty of the first layer only

    model.optimizer.build(model.trainable_variables)  # as after training
    path = tmp_path / "gcn.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert isinstance(reloaded.get_layer("gcn_hidden"), GCNConv)
    assert isinstance(reloaded.get_layer("input_dropout"), SparseDropout)
    np.testing.assert_allclose(
        np.asarray(reloaded(model_inputs, training=False)), probabilities, rtol=1e-6
    )
    hidden = np.asarray(hidden_activations_model(reloaded)(model_inputs, training=False))
    assert hidden.shape == (N_NODES, 4) and (hidden >= 0).all()


def test_gcnii_layer_mixes_in_the_initial_representation_and_stays_near_the_identity():
    import numpy as np
    import tensorflow as tf

    from advanced_dl.models.gcnii import GCNIIConv

    h = np.random.default_rng(0).normal(size=(3, 2)).astype("float32")
    h0 = np.ones((3, 2), dtype="float32")
    a = tf.sparse.from_dense(np.eye(3, dtype="float32"))
    # beta 0: no weights at all, the output is relu((1 - alpha) A h + alpha h0).
    layer = GCNIIConv(0.25, 0.0)
    np.testing.assert_allclose(
        np.asarray(layer([h, h0, a])), np.maximum(0.75 * h + 0.25 * h0, 0), rtol=1e-6
    )
    assert GCNIIConv.beta_for(1, 0.5) > GCNIIConv.beta_for(64, 0.5) > 0


def test_gcnii_reference_initialisation_draws_every_weight_within_one_over_root_fan_in():
    import numpy as np
    import pytest

    from advanced_dl.models.gcnii import build_gcnii

    n_nodes, n_features, n_classes, hidden = 5, 100, 3, 16
    kwargs = {"layers": 2, "hidden_units": hidden, "sparse_features": False}
    reference = build_gcnii(n_nodes, n_features, n_classes, initialisation="reference", **kwargs)
    limits = {
        "input_dense": 1 / np.sqrt(n_features),
        "gcnii_1": 1 / np.sqrt(hidden),
        "gcnii_2": 1 / np.sqrt(hidden),
        "output_dense": 1 / np.sqrt(hidden),
    }
    for name, limit in limits.items():
        kernel, *bias = reference.get_layer(name).get_weights()
        assert np.abs(kernel).max() <= limit
        assert np.abs(kernel).max() > 0.8 * limit  # 48 or more draws come near the edge
        for values in bias:  # drawn from the same range, not zeros
            assert np.abs(values).max() <= limit and values.any()
    glorot = build_gcnii(n_nodes, n_features, n_classes, **kwargs)
    kernel, bias = glorot.get_layer("input_dense").get_weights()
    assert np.abs(kernel).max() > limits["input_dense"] and not bias.any()
    with pytest.raises(ValueError, match="initialisation must be one of"):
        build_gcnii(n_nodes, n_features, n_classes, initialisation="he", **kwargs)


def test_filter_product_and_its_gradient_match_the_dense_product_inside_a_traced_function():
    import numpy as np
    import scipy.sparse as sp
    import tensorflow as tf

    from advanced_dl.features.graph import to_sparse_tensor
    from advanced_dl.models.gcn import filter_product

    rng = np.random.default_rng(2)
    # Not symmetric, so a missing transpose in the gradient would show.
    matrix = sp.random(7, 7, density=0.4, random_state=3, format="csr", dtype=np.float32)
    h = tf.constant(rng.normal(size=(7, 3)).astype("float32"))
    upstream = tf.constant(rng.normal(size=(7, 3)).astype("float32"))

    @tf.function(reduce_retracing=True)  # as the training step: shapes relaxed
    def value_and_gradient(a, h):
        with tf.GradientTape() as tape:
            tape.watch(h)
            output = filter_product(a)(h)
            total = tf.reduce_sum(output * upstream)
        return output, tape.gradient(total, h)

    output, gradient = value_and_gradient(to_sparse_tensor(matrix), h)
    dense = matrix.toarray()
    np.testing.assert_allclose(np.asarray(output), dense @ np.asarray(h), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        np.asarray(gradient), dense.T @ np.asarray(upstream), rtol=1e-5, atol=1e-6
    )
