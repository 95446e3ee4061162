"""Optimizers the project's models compile with (Keras; no Kedro)."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="advanced_dl")
class LazyAdam(keras.optimizers.Adam):
    """Adam that, for an embedding table, updates only the rows the batch looked up.

    Keras' Adam turns the sparse gradient of an embedding lookup into a dense
    one and rewrites every row of the table and of both moment estimates on
    every step: for a table of millions of rows that is gigabytes of temporary
    tensors per step. Here the moments and weights of the rows in the batch
    are updated exactly as Adam would; the moments of the other rows are left
    as they are (not decayed), the usual "lazy" approximation. Dense gradients
    get plain Adam. ``amsgrad`` is not offered.
    """

    def __init__(self, *args: Any, amsgrad: bool = False, **kwargs: Any) -> None:
        if amsgrad:
            raise ValueError("LazyAdam does not implement amsgrad; use keras.optimizers.Adam")
        super().__init__(*args, **kwargs)

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        if not isinstance(gradient, tf.IndexedSlices):
            super().update_step(gradient, variable, learning_rate)
            return
        # A bucket looked up several times in the batch: one summed gradient row.
        rows, position = tf.unique(gradient.indices)
        grad = tf.math.unsorted_segment_sum(gradient.values, position, tf.shape(rows)[0])
        grad = tf.cast(grad, variable.dtype)
        rate = tf.cast(learning_rate, variable.dtype)
        step = tf.cast(self.iterations + 1, variable.dtype)
        beta_1 = tf.cast(self.beta_1, variable.dtype)
        beta_2 = tf.cast(self.beta_2, variable.dtype)
        alpha = rate * tf.sqrt(1 - tf.pow(beta_2, step)) / (1 - tf.pow(beta_1, step))
        momentum = self._momentums[self._get_variable_index(variable)]
        velocity = self._velocities[self._get_variable_index(variable)]
        momentum_rows = tf.gather(momentum.value, rows) * beta_1 + grad * (1 - beta_1)
        velocity_rows = tf.gather(velocity.value, rows) * beta_2 + tf.square(grad) * (1 - beta_2)
        self.assign(momentum, tf.IndexedSlices(momentum_rows, rows))
        self.assign(velocity, tf.IndexedSlices(velocity_rows, rows))
        step_rows = momentum_rows * alpha / (tf.sqrt(velocity_rows) + self.epsilon)
        self.assign_sub(variable, tf.IndexedSlices(step_rows, rows))


OPTIMIZERS = {"adam": keras.optimizers.Adam, "lazy_adam": LazyAdam}
