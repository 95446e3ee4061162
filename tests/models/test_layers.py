"""Every custom layer the project registers: config round trip, .keras save/load, mixed precision.

A layer registered under the ``advanced_dl`` package without a case here
fails ``test_every_registered_layer_has_a_case``, so new layers join the harness.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

import advanced_dl.models  # noqa: F401  (registers the layers)
from advanced_dl.features.graph import attention_support, to_sparse_tensor
from advanced_dl.models.gat import GATConv
from advanced_dl.models.gcn import GCNConv, SparseDropout
from advanced_dl.models.gcnii import GCNIIConv
from advanced_dl.models.grand import ProjectedRandomPropagation, RandomPropagation
from advanced_dl.models.lstm_vae import GaussianSampling, ScaleFloor, VaeObjective
from advanced_dl.models.mdn import MixtureDensityHead
from advanced_dl.models.transformer import (
    GatherPositions,
    SingleCopyEmbedding,
    TokenAndPositionEmbedding,
    TransformerBlock,
)

RNG = np.random.default_rng(0)


@dataclass(frozen=True)
class LayerCase:
    """A layer factory, the symbolic inputs of a model around it, and matching values."""

    make: Callable[[], keras.layers.Layer]
    inputs: Callable[[], Any]  # keras.Input(s)
    values: Callable[[], Any]  # arrays or tensors fed to those inputs


def _graph_values():
    features = (RNG.random((5, 4)) < 0.5).astype("float32")
    adjacency = sp.csr_matrix(np.eye(5, k=1) + np.eye(5, k=-1), dtype="float32")
    return [tf.constant(features), to_sparse_tensor(GCNConv.preprocess(adjacency))]


def _attention_values():
    features = (RNG.random((5, 4)) < 0.5).astype("float32")
    adjacency = sp.csr_matrix(np.eye(5, k=1) + np.eye(5, k=-1), dtype="float32")
    return [tf.constant(features), to_sparse_tensor(attention_support(adjacency))]


def _sparse_features():
    return to_sparse_tensor(sp.csr_matrix((RNG.random((5, 4)) < 0.5).astype("float32")))


def _window_values():
    shape, latent = (3, 6, 1), (3, 2)
    return [
        RNG.normal(size=shape).astype("float32"),
        RNG.normal(size=shape).astype("float32"),
        RNG.uniform(0.5, 1.5, size=shape).astype("float32"),
        RNG.normal(size=latent).astype("float32"),
        RNG.normal(size=latent).astype("float32"),
    ]


CASES: dict[str, LayerCase] = {
    "GCNConv": LayerCase(
        lambda: GCNConv(3, activation="relu", use_bias=False),
        lambda: [
            keras.Input(shape=(4,), batch_size=5),
            keras.Input(shape=(5,), batch_size=5, sparse=True),
        ],
        _graph_values,
    ),
    "GATConv": LayerCase(
        lambda: GATConv(
            2, attn_heads=3, add_self_loops=False, projection_dropout_rate=0.5, activation="elu"
        ),
        lambda: [
            keras.Input(shape=(4,), batch_size=5),
            keras.Input(shape=(5,), batch_size=5, sparse=True),
        ],
        _attention_values,
    ),
    "GCNIIConv": LayerCase(
        lambda: GCNIIConv(0.1, GCNIIConv.beta_for(2, 0.5), kernel_regularizer="l2"),
        lambda: [
            keras.Input(shape=(4,), batch_size=5),
            keras.Input(shape=(4,), batch_size=5),
            keras.Input(shape=(5,), batch_size=5, sparse=True),
        ],
        lambda: [
            tf.constant(RNG.normal(size=(5, 4)).astype("float32")),
            tf.constant(RNG.normal(size=(5, 4)).astype("float32")),
            _graph_values()[1],
        ],
    ),
    "RandomPropagation": LayerCase(
        lambda: RandomPropagation(order=2, rate=0.5, seed=1),
        lambda: [
            keras.Input(shape=(4,), batch_size=5, sparse=True),
            keras.Input(shape=(5,), batch_size=5, sparse=True),
        ],
        lambda: [_sparse_features(), _graph_values()[1]],
    ),
    "ProjectedRandomPropagation": LayerCase(
        lambda: ProjectedRandomPropagation(
            order=2,
            rate=0.5,
            units=3,
            kernel_regularizer="l2",
            seed=1,
            feature_dropout_rate=0.3,
            hop_weights="personalized_pagerank",
            teleport_probability=0.3,
        ),
        lambda: [
            keras.Input(shape=(4,), batch_size=5, sparse=True),
            keras.Input(shape=(5,), batch_size=5, sparse=True),
        ],
        lambda: [_sparse_features(), _graph_values()[1]],
    ),
    "SparseDropout": LayerCase(
        lambda: SparseDropout(0.5),
        lambda: keras.Input(shape=(4,), batch_size=5, sparse=True),
        _sparse_features,
    ),
    "MixtureDensityHead": LayerCase(
        lambda: MixtureDensityHead(3, 2, min_scale=0.05),
        lambda: keras.Input(shape=(8,)),
        lambda: RNG.normal(size=(4, 8)).astype("float32"),
    ),
    "GaussianSampling": LayerCase(
        lambda: GaussianSampling(sample_at_inference=False, seed=1),
        lambda: [keras.Input(shape=(2,)), keras.Input(shape=(2,))],
        lambda: [RNG.normal(size=(4, 2)).astype("float32") for _ in range(2)],
    ),
    "ScaleFloor": LayerCase(
        lambda: ScaleFloor(1e-3),
        lambda: keras.Input(shape=(6, 1)),
        lambda: RNG.uniform(0, 1, size=(3, 6, 1)).astype("float32"),
    ),
    "VaeObjective": LayerCase(
        VaeObjective,
        lambda: (
            [keras.Input(shape=(6, 1)) for _ in range(3)]
            + [keras.Input(shape=(2,)) for _ in range(2)]
        ),
        _window_values,
    ),
    "SingleCopyEmbedding": LayerCase(
        lambda: SingleCopyEmbedding(50, 4),
        lambda: keras.Input(shape=(10,), dtype="int32"),
        lambda: RNG.integers(0, 50, size=(2, 10)).astype("int32"),
    ),
    "TokenAndPositionEmbedding": LayerCase(
        lambda: TokenAndPositionEmbedding(
            sequence_length=10, vocabulary_size=50, embedding_dim=8, bigram_buckets=13, bigram_dim=4
        ),
        lambda: keras.Input(shape=(10,), dtype="int32"),
        lambda: RNG.integers(0, 50, size=(2, 10)).astype("int32"),
    ),
    "GatherPositions": LayerCase(
        GatherPositions,
        lambda: [keras.Input(shape=(10, 8)), keras.Input(shape=(3,), dtype="int32")],
        lambda: [
            RNG.normal(size=(2, 10, 8)).astype("float32"),
            RNG.integers(0, 10, size=(2, 3)).astype("int32"),
        ],
    ),
    "TransformerBlock": LayerCase(
        lambda: TransformerBlock(8, num_heads=2, key_dim=4, feed_forward_dim=8),
        lambda: keras.Input(shape=(10, 8)),
        lambda: RNG.normal(size=(2, 10, 8)).astype("float32"),
    ),
}


def _dense(output: Any) -> np.ndarray:
    if isinstance(output, tf.SparseTensor):
        output = tf.sparse.to_dense(output)
    return np.asarray(output, dtype="float64")


def test_every_registered_layer_has_a_case():
    registered = {
        name.split(">", 1)[1]
        for name, obj in keras.saving.get_custom_objects().items()
        if name.startswith("advanced_dl>") and isinstance(obj, type)
        if issubclass(obj, keras.layers.Layer)
    }
    assert registered == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_round_trip(name):
    layer = CASES[name].make()
    config = keras.saving.serialize_keras_object(layer)
    assert config["registered_name"] == f"advanced_dl>{name}"
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(layer)
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize("name", sorted(CASES))
def test_keras_save_load_gives_identical_outputs(name, tmp_path):
    case = CASES[name]
    keras.utils.set_random_seed(3)
    inputs = case.inputs()
    model = keras.Model(inputs, case.make()(inputs))
    values = case.values()
    expected = _dense(model(values, training=False))
    path = tmp_path / f"{name}.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert any(type(layer).__name__ == name for layer in reloaded.layers)
    np.testing.assert_array_equal(_dense(reloaded(values, training=False)), expected)


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_pass_under_mixed_float16(name):
    case = CASES[name]
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        layer = case.make()
        output = layer(case.values(), training=False)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert layer.compute_dtype == "float16"
    assert layer.variable_dtype == "float32"
    assert np.isfinite(_dense(output)).all()
