"""GCNII (Chen et al., ICML 2020): a deep graph convolutional network with an initial
residual connection and identity mapping.

Layer ``l`` computes ``H' = relu(((1 - alpha) A_hat H + alpha H0)((1 - beta_l) I
+ beta_l W_l))`` with ``beta_l = log(lambda / l + 1)``: every layer mixes in the
first layer's representation ``H0`` (so 64 layers do not smooth every node to
the same vector) and stays close to the identity (so deep stacks train).
No Kedro here.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import tensorflow as tf

from advanced_dl.models.gcn import SparseDropout, compile_node_classifier, filter_product


@keras.saving.register_keras_serializable(package="advanced_dl")
class GCNIIConv(keras.layers.Layer):
    """One GCNII layer. Inputs ``[h, h0, a]``: the current node features (N, d), the
    initial ones (N, d) and the graph filter A_hat (N, N), dense or ``tf.SparseTensor``.
    Output (N, d), activation applied.

    Keras 3 calls a layer on a list with a list of masks; this one has none to
    keep (``compute_mask`` returns None), the fix spektral's layers need too.
    """

    def __init__(
        self,
        alpha: float,
        beta: float,
        activation: str | None = "relu",
        kernel_regularizer: Any = None,
        kernel_initializer: Any = "glorot_uniform",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.activation = keras.activations.get(activation)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    @staticmethod
    def beta_for(layer: int, lambda_: float) -> float:
        """``log(lambda / layer + 1)`` for the 1-based ``layer``: smaller deeper down."""
        return math.log(lambda_ / layer + 1)

    def build(self, input_shape: Any) -> None:
        width = int(input_shape[0][-1])
        self.kernel = self.add_weight(
            name="kernel",
            shape=(width, width),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.built = True

    def call(self, inputs: Any, mask: Any = None) -> Any:
        h, h0, a = inputs
        # The product runs in float32 (TensorFlow's CSR product has no float16 kernel).
        propagated = tf.cast(filter_product(a)(tf.cast(h, tf.float32)), h.dtype)
        support = (1 - self.alpha) * propagated + self.alpha * h0
        output = (1 - self.beta) * support + self.beta * tf.matmul(support, self.kernel)
        return self.activation(output)

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape[0])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "alpha": self.alpha,
                "beta": self.beta,
                "activation": keras.activations.serialize(self.activation),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config


INITIALISATIONS = ("glorot", "reference")


def _uniform(width: int) -> keras.initializers.Initializer:
    """U(-1/sqrt(width), 1/sqrt(width)): PyTorch's default for a linear layer's weights and
    biases (``width`` its input size), and the GCNII code's for its convolutions
    (``width`` their output size, the same number there)."""
    limit = 1.0 / math.sqrt(width)
    return keras.initializers.RandomUniform(-limit, limit)


def build_gcnii(
    n_nodes: int,
    n_features: int,
    n_classes: int,
    *,
    layers: int = 64,
    hidden_units: int = 64,
    alpha: float = 0.1,
    lambda_: float = 0.5,
    dropout_rate: float = 0.6,
    conv_l2_factor: float = 5e-3,
    dense_l2_factor: float = 2.5e-4,
    learning_rate: float = 0.01,
    sparse_features: bool = True,
    initialisation: str = "glorot",
) -> keras.Model:
    """GCNII for node classification, compiled; inputs ``[features, graph_filter]``.

    features -> Dropout -> Dense(hidden_units, relu) = H0 -> ``layers`` x
    (Dropout -> :class:`GCNIIConv`) -> Dropout -> Dense(n_classes, softmax).
    Keras' ``l2(f)`` adds ``f * sum(w**2)``: the paper's weight decays 0.01
    (convolutions) and 5e-4 (dense layers) are ``conv_l2_factor=5e-3`` and
    ``dense_l2_factor=2.5e-4``, the defaults (the paper's Cora settings).
    ``initialisation``: ``"glorot"``, Keras' defaults (Glorot-uniform kernels, zero
    biases); ``"reference"``, the GCNII code's: every weight and bias uniform in
    +-1/sqrt(fan-in), smaller than Glorot's (+-0.125 against +-0.217 for a 64 x 64
    convolution).
    """
    if initialisation not in INITIALISATIONS:
        raise ValueError(f"initialisation must be one of {INITIALISATIONS}, got {initialisation!r}")
    reference = initialisation == "reference"

    def dense_initializers(fan_in: int) -> dict[str, Any]:
        if not reference:
            return {}
        return {"kernel_initializer": _uniform(fan_in), "bias_initializer": _uniform(fan_in)}

    features = keras.Input(
        shape=(n_features,), batch_size=n_nodes, sparse=sparse_features, name="features"
    )
    graph_filter = keras.Input(
        shape=(n_nodes,), batch_size=n_nodes, sparse=True, name="graph_filter"
    )
    hidden = SparseDropout(dropout_rate, name="input_dropout")(features)
    initial = keras.layers.Dense(
        hidden_units,
        activation="relu",
        kernel_regularizer=keras.regularizers.l2(dense_l2_factor),
        name="input_dense",
        **dense_initializers(n_features),
    )(hidden)
    hidden = initial
    for layer in range(1, layers + 1):
        hidden = keras.layers.Dropout(dropout_rate, name=f"dropout_{layer}")(hidden)
        hidden = GCNIIConv(
            alpha,
            GCNIIConv.beta_for(layer, lambda_),
            kernel_regularizer=keras.regularizers.l2(conv_l2_factor),
            kernel_initializer=_uniform(hidden_units) if reference else "glorot_uniform",
            name=f"gcnii_{layer}",
        )([hidden, initial, graph_filter])
    hidden = keras.layers.Dropout(dropout_rate, name="output_dropout")(hidden)
    probabilities = keras.layers.Dense(
        n_classes,
        activation="softmax",
        kernel_regularizer=keras.regularizers.l2(dense_l2_factor),
        name="output_dense",
        **dense_initializers(hidden_units),
    )(hidden)
    model = keras.Model([features, graph_filter], probabilities, name="gcnii")
    return compile_node_classifier(model, learning_rate)
