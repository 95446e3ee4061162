"""Two-layer graph convolutional network (Kipf & Welling) on spektral's ``GCNConv``.

spektral 1.3 was written for Keras 2. Under Keras 3 a layer called on a list
``[x, a]`` receives ``mask=[None, None]`` rather than ``None``, and spektral's
``GCNConv.call`` then multiplies its output by ``mask[0]`` (``None``) and fails.
:class:`ListMaskFix` collapses an all-None mask to None (``GATConv`` uses it
too), and :class:`GCNConv` is registered so
a saved model reloads without ``custom_objects``.
"""

from __future__ import annotations

from typing import Any

import keras
from spektral.layers import GCNConv as SpektralGCNConv


class ListMaskFix:
    """Keras 3 calls a layer on ``[x, a]`` with ``mask=[None, None]``; spektral's
    convolutions expect None there. Placed before the spektral class in the bases."""

    def call(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, list | tuple) and all(m is None for m in mask):
            mask = None
        return super().call(inputs, mask=mask)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        # Node-level output: the (all-None) input masks do not carry over.
        if isinstance(mask, list | tuple) and all(m is None for m in mask):
            return None
        return super().compute_mask(inputs, mask)


@keras.saving.register_keras_serializable(package="advanced_dl")
class GCNConv(ListMaskFix, SpektralGCNConv):
    """spektral's ``GCNConv`` (X' = A_hat X W [+ b]) made to work under Keras 3.

    Inputs ``[x, a]``: node features (n_nodes, n_features) and the filter
    A_hat (n_nodes, n_nodes), dense or ``tf.SparseTensor``. Output
    (n_nodes, channels).
    """

    def compute_output_shape(self, input_shape: Any) -> tuple:
        features_shape = input_shape[0]
        return (*features_shape[:-1], self.channels)

    def get_config(self) -> dict[str, Any]:
        # spektral's Conv.get_config already holds channels, activation,
        # use_bias, initializers, regularizers and constraints.
        return super().get_config()

    @staticmethod
    def preprocess(adjacency: Any) -> Any:
        """A_hat = D^-1/2 (A + I) D^-1/2 for an adjacency matrix without self-loops.

        Accepts a scipy sparse matrix (returns CSR, indices sorted) or a dense array.
        """
        return SpektralGCNConv.preprocess(adjacency)


@keras.saving.register_keras_serializable(package="advanced_dl")
class SparseDropout(keras.layers.Dropout):
    """``keras.layers.Dropout`` that also takes a ``tf.SparseTensor``.

    On a sparse input it applies Keras' dropout to the stored values only;
    entries that are zero stay zero whatever the mask, so the output has the
    same distribution as ``Dropout`` on the dense matrix while drawing random
    numbers for the non-zeros only (Cora: 49k instead of 3.9M per epoch,
    which is most of an epoch's time on a CPU). Dense inputs go through
    ``Dropout`` unchanged.
    """

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        import tensorflow as tf

        if not isinstance(inputs, tf.SparseTensor):
            return super().call(inputs, training=training)
        if not training or self.rate <= 0:
            return inputs
        values = keras.random.dropout(inputs.values, self.rate, seed=self.seed_generator)
        return tf.SparseTensor(inputs.indices, values, inputs.dense_shape)

    def compute_output_spec(self, inputs: Any, training: bool | None = None) -> Any:
        return keras.KerasTensor(inputs.shape, dtype=inputs.dtype, sparse=inputs.sparse)


def filter_product(graph_filter: Any) -> Any:
    """``h -> A_hat h`` for a graph filter, sparse (``tf.SparseTensor``) or dense.

    A sparse filter is converted once to TensorFlow's CSR matrix, whose product with a
    dense matrix runs several times faster on a CPU core than
    ``tf.sparse.sparse_dense_matmul`` (measured here, one thread: 17.7 against 142 ms
    for CiteSeer's 3,703 feature columns, 0.8 against 2.7 ms for Cora and 64 columns).
    TensorFlow's own gradient of the CSR product also differentiates the filter and
    fails inside a traced function (the filter's shape is unknown there); the filter
    is data, so the gradient here is ``A_hat^T g`` for ``h`` alone.
    """
    import tensorflow as tf

    if not isinstance(graph_filter, tf.SparseTensor):
        dense = tf.cast(graph_filter, tf.float32)
        return lambda h: tf.matmul(dense, h)
    graph_filter = tf.sparse.reorder(tf.cast(graph_filter, tf.float32))
    matrix = tf.raw_ops.SparseTensorToCSRSparseMatrix(
        indices=graph_filter.indices,
        values=graph_filter.values,
        dense_shape=graph_filter.dense_shape,
    )

    @tf.custom_gradient
    def product(h: Any) -> Any:
        def gradient(upstream: Any) -> Any:
            return tf.raw_ops.SparseMatrixMatMul(a=matrix, b=upstream, adjoint_a=True)

        return tf.raw_ops.SparseMatrixMatMul(a=matrix, b=h), gradient

    return product


def build_gcn(
    n_nodes: int,
    n_features: int,
    n_classes: int,
    *,
    hidden_units: int = 16,
    dropout_rate: float = 0.5,
    l2_factor: float = 5e-4,
    learning_rate: float = 0.01,
    sparse_features: bool = True,
) -> keras.Model:
    """The reference GCN, compiled; inputs ``[features, graph_filter]``, output class probabilities.

    features (n_nodes, n_features) -> Dropout -> GCNConv(hidden_units, relu,
    L2(l2_factor) on the kernel, no bias) -> Dropout -> GCNConv(n_classes,
    softmax, no bias) -> (n_nodes, n_classes). The graph filter input is sparse
    (n_nodes, n_nodes), and so are the features unless ``sparse_features``
    is false (Cora's bag-of-words is 98.7% zeros; the first dropout then
    draws random numbers for the non-zeros only, see :class:`SparseDropout`).
    Full-batch: the "batch" axis is the node axis.

    Keras' ``l2(f)`` adds ``f * sum(w**2)`` (no 1/2), so the GCN paper's weight
    decay 5e-4 corresponds to ``l2_factor=2.5e-4``; the reference listing's
    5e-4 is the default.
    """
    features = keras.Input(
        shape=(n_features,), batch_size=n_nodes, sparse=sparse_features, name="features"
    )
    graph_filter = keras.Input(
        shape=(n_nodes,), batch_size=n_nodes, sparse=True, name="graph_filter"
    )
    hidden = SparseDropout(dropout_rate, name="input_dropout")(features)
    hidden = GCNConv(
        hidden_units,
        activation="relu",
        use_bias=False,
        kernel_regularizer=keras.regularizers.l2(l2_factor),
        name="gcn_hidden",
    )([hidden, graph_filter])
    hidden = keras.layers.Dropout(dropout_rate, name="hidden_dropout")(hidden)
    probabilities = GCNConv(n_classes, activation="softmax", use_bias=False, name="gcn_output")(
        [hidden, graph_filter]
    )
    model = keras.Model([features, graph_filter], probabilities, name="gcn")
    return compile_node_classifier(model, learning_rate)


def compile_node_classifier(model: keras.Model, learning_rate: float) -> keras.Model:
    """Adam and categorical cross-entropy; accuracy weighted by the node mask (full batch)."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="categorical_crossentropy",
        weighted_metrics=["accuracy"],
    )
    return model
