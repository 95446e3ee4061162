"""LazyAdam: Adam on the rows a batch looked up, the other rows untouched."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from advanced_dl.models.optimizers import LazyAdam


def _step(optimizer, table: np.ndarray, gradient) -> np.ndarray:
    variable = keras.Variable(table)
    optimizer.apply_gradients([(gradient, variable)])
    return np.asarray(variable)


def test_touched_rows_move_as_adam_moves_them_and_the_rest_stay():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(6, 3)).astype("float32")
    values = rng.normal(size=(3, 3)).astype("float32")
    # Row 4 is looked up twice: its gradient is the sum of both.
    sparse = tf.IndexedSlices(tf.constant(values), tf.constant([1, 4, 4]), tf.constant([6, 3]))
    dense = np.zeros_like(table)
    np.add.at(dense, [1, 4, 4], values)

    lazy = _step(LazyAdam(learning_rate=0.1), table, sparse)
    adam = _step(keras.optimizers.Adam(learning_rate=0.1), table, tf.constant(dense))
    np.testing.assert_allclose(lazy[[1, 4]], adam[[1, 4]], atol=2e-6)  # float32 round-off
    np.testing.assert_array_equal(lazy[[0, 2, 3, 5]], table[[0, 2, 3, 5]])


def test_dense_gradients_get_plain_adam():
    table = np.ones((2, 2), dtype="float32")
    gradient = tf.constant([[0.5, -1.0], [2.0, 0.0]])
    np.testing.assert_allclose(
        _step(LazyAdam(learning_rate=0.01), table, gradient),
        _step(keras.optimizers.Adam(learning_rate=0.01), table, gradient),
    )


def test_a_model_compiled_with_it_reloads(tmp_path):
    from advanced_dl.models.transformer import build_transformer_classifier

    model = build_transformer_classifier(
        vocabulary_size=30, sequence_length=6, embedding_dim=4, key_dim=4, optimizer="lazy_adam"
    )
    ids = np.random.default_rng(1).integers(1, 30, size=(4, 6)).astype("int32")
    model.fit(ids, np.array([0, 1, 0, 1]), epochs=1, batch_size=2, verbose=0)
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    assert isinstance(reloaded.optimizer, LazyAdam)
    np.testing.assert_allclose(reloaded.predict(ids, verbose=0), model.predict(ids, verbose=0))


def test_amsgrad_is_refused():
    with pytest.raises(ValueError, match="amsgrad"):
        LazyAdam(amsgrad=True)
