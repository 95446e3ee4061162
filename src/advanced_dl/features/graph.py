"""Citation graphs -> the GCN's inputs, the same in the ``cora_gcn`` pipeline and its served model.

Features and the graph filter are SciPy CSR matrices here; they become
``tf.SparseTensor`` only at the model's door (TensorFlow is imported there).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp


def gcn_filter(adjacency: sp.spmatrix) -> sp.csr_matrix:
    """A_hat = D^-1/2 (A + I) D^-1/2: (N, N) float32 CSR from a 0/1 adjacency without self-loops.

    Computed by spektral's ``GCNConv.preprocess``, the layer's own definition.
    """
    if adjacency.diagonal().any():
        raise ValueError("The adjacency matrix must have no self-loops before adding I")
    from advanced_dl.models.gcn import GCNConv

    return sp.csr_matrix(
        GCNConv.preprocess(sp.csr_matrix(adjacency, dtype=np.float32)), dtype=np.float32
    )


def to_sparse_tensor(matrix: sp.spmatrix) -> Any:
    """A SciPy sparse matrix as a float32 ``tf.SparseTensor`` in canonical (row-major) order."""
    import tensorflow as tf

    coo = matrix.tocoo()
    indices = np.stack([coo.row, coo.col], axis=1).astype(np.int64)
    sparse = tf.SparseTensor(indices, coo.data.astype(np.float32), dense_shape=coo.shape)
    return tf.sparse.reorder(sparse)


def model_inputs(features: sp.spmatrix, graph_filter_matrix: sp.spmatrix) -> list[Any]:
    """``[features (N, F), A_hat (N, N)]`` as the sparse tensors the GCN takes."""
    return [to_sparse_tensor(features), to_sparse_tensor(graph_filter_matrix)]


def node_probabilities(
    keras_model: Any,
    features: sp.spmatrix,
    graph_filter_matrix: sp.spmatrix,
    inference_samples: int = 0,
) -> np.ndarray:
    """(N, C) class probabilities of every node, as evaluation and serving compute them.

    ``inference_samples`` 0: one pass in inference mode (dropout off, DropNode replaced
    by its expectation), what every paper here reports. N > 0: the mean of N passes
    in training mode, each with its own dropout and DropNode draws (Monte Carlo
    averaging over the random versions the model was trained on). The graph models
    have no batch normalisation, whose statistics a training-mode pass would move.
    """
    inputs = model_inputs(features, graph_filter_matrix)
    if inference_samples == 0:
        return np.asarray(keras_model(inputs, training=False))
    if inference_samples < 0:
        raise ValueError(f"inference_samples must be >= 0, got {inference_samples}")
    import tensorflow as tf

    # One traced pass, called N times: run eagerly, every pass paid Python's overhead on
    # every operation (minutes for 512 passes of a 64-layer GCNII). The layers draw from
    # their seed generators' state, so the passes are the eager ones.
    random_version = tf.function(lambda x, a: keras_model([x, a], training=True))
    total = 0.0
    for _ in range(inference_samples):
        total = total + np.asarray(random_version(*inputs), dtype=np.float64)
    return (total / inference_samples).astype(np.float32)


def attention_support(adjacency: sp.spmatrix) -> sp.csr_matrix:
    """A + I: (N, N) float32 CSR of 0/1, the neighbourhoods a GAT layer attends over.

    Each node attends to its neighbours and to itself. ``adjacency`` is 0/1
    without self-loops, as for :func:`gcn_filter`.
    """
    if adjacency.diagonal().any():
        raise ValueError("The adjacency matrix must have no self-loops before adding I")
    identity = sp.identity(adjacency.shape[0], dtype=np.float32, format="csr")
    return sp.csr_matrix((adjacency + identity) > 0, dtype=np.float32)


def row_normalise(features: sp.spmatrix) -> sp.csr_matrix:
    """Each row divided by its sum: (N, F) float32 CSR; an all-zero row stays zero."""
    features = sp.csr_matrix(features, dtype=np.float32)
    sums = np.asarray(features.sum(axis=1), dtype=np.float64).ravel()
    scale = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)
    return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ features, dtype=np.float32)
