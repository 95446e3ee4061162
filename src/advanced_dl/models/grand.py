"""GRAND (Feng et al., NeurIPS 2020): a graph random neural network for semi-supervised
node classification.

The graph enters only through :class:`RandomPropagation`: DropNode (each node's
whole feature row zeroed at random) followed by mixed-order propagation, the
average of ``A_hat^k X`` over ``k = 0..order`` (or, as GRAND+ offers, a weighted
average with personalized-PageRank weights). A two-layer perceptron then
classifies every node from its propagated features. Training draws several such
random versions of the features per step and adds a consistency loss
(:func:`consistency_loss`) that pulls each version's predictions, on every node,
labelled or not, towards their sharpened average; that unlabelled-node term is
what lifts GRAND above GCN-style models on the Planetoid splits.
No Kedro here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from advanced_dl.models.gcn import compile_node_classifier, filter_product

HOP_WEIGHTS = ("uniform", "personalized_pagerank")


def hop_coefficients(order: int, teleport_probability: float) -> list[float]:
    """Personalized-PageRank weights of hops ``0..order``: ``a (1 - a)^k``, rescaled
    to sum to 1 (the series cut at ``order``); ``a`` is ``teleport_probability``."""
    raw = [teleport_probability * (1.0 - teleport_probability) ** k for k in range(order + 1)]
    return [value / sum(raw) for value in raw]


@keras.saving.register_keras_serializable(package="advanced_dl")
class RandomPropagation(keras.layers.Layer):
    """DropNode, then ``X_bar = (X + A_hat X + ... + A_hat^order X) / (order + 1)``.

    ``hop_weights``: ``"uniform"``, GRAND's average above; ``"personalized_pagerank"``,
    ``sum_k c_k A_hat^k X`` with ``c_k`` proportional to ``a (1 - a)^k`` and summing
    to 1 (``a``: ``teleport_probability``), GRAND+'s "ppr" propagation (Feng et al.,
    WWW 2022), which weighs near hops more.

    Inputs ``[features, graph_filter]``: (N, F), dense or ``tf.SparseTensor``, and A_hat
    (N, N), ``tf.SparseTensor`` or dense. Output (N, F), dense.

    Training: every node's feature row is kept with probability ``1 - rate`` and
    zeroed otherwise, without rescaling the kept rows (the GRAND code's rule);
    inference: every row is scaled by ``1 - rate``, the expectation. The
    propagation has no weights. No mask carries over (Keras 3 passes a list of
    masks for a list input; spektral's layers need the same fix).
    """

    def __init__(
        self,
        order: int,
        rate: float,
        seed: int | None = None,
        hop_weights: str = "uniform",
        teleport_probability: float = 0.1,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if order < 0:
            raise ValueError(f"order must be >= 0, got {order}")
        if not 0 <= rate < 1:
            raise ValueError(f"rate must be in [0, 1), got {rate}")
        if hop_weights not in HOP_WEIGHTS:
            raise ValueError(f"hop_weights must be one of {HOP_WEIGHTS}, got {hop_weights!r}")
        if not 0 < teleport_probability <= 1:
            raise ValueError(f"teleport_probability must be in (0, 1], got {teleport_probability}")
        self.order = int(order)
        self.rate = float(rate)
        self.seed = seed
        self.hop_weights = hop_weights
        self.teleport_probability = float(teleport_probability)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        features, graph_filter = inputs
        if isinstance(features, tf.SparseTensor):
            features = tf.sparse.to_dense(features)
        return self._drop_and_propagate(features, graph_filter, training)

    def _drop_and_propagate(self, features: Any, graph_filter: Any, training: bool | None) -> Any:
        # Computed in float32 whatever the policy (the CSR product has no float16
        # kernel); the next layer casts to its own dtype.
        features = tf.cast(features, tf.float32)
        if training and self.rate > 0:
            # One draw per node (row); the node count is dynamic after to_dense.
            draws = keras.random.uniform(
                tf.stack([tf.shape(features)[0], 1]), seed=self.seed_generator
            )
            features = features * tf.cast(draws >= self.rate, tf.float32)
        else:
            features = features * (1.0 - self.rate)
        multiply = filter_product(graph_filter)
        # Uniform keeps its own sum-then-divide: the published runs were measured with
        # it, and weighting each hop by 1/(order+1) rounds differently.
        if self.hop_weights == "uniform":
            total = hop = features
            for _ in range(self.order):
                hop = multiply(hop)
                total = total + hop
            return total / (self.order + 1.0)
        coefficients = hop_coefficients(self.order, self.teleport_probability)
        hop = features
        total = coefficients[0] * hop
        for coefficient in coefficients[1:]:
            hop = multiply(hop)
            total = total + coefficient * hop
        return total

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape[0])

    def compute_output_spec(self, inputs: Any, training: bool | None = None, mask: Any = None):
        features = inputs[0]
        return keras.KerasTensor(features.shape, dtype="float32")

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "order": self.order,
                "rate": self.rate,
                "seed": self.seed,
                "hop_weights": self.hop_weights,
                "teleport_probability": self.teleport_probability,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="advanced_dl")
class ProjectedRandomPropagation(RandomPropagation):
    """:class:`RandomPropagation` followed by a dense layer, computed in the cheaper order.

    ``activation(A_bar (M X) W + b)`` equals ``activation(A_bar (M (X W)) + b)``: DropNode
    (M, one factor per node) and the propagation (A_bar, the average of the filter's
    powers) act on rows and are linear, so the kernel can be applied first and only
    ``units`` columns propagated instead of every feature (CiteSeer: 32 against 3,703).
    The bias is added after the propagation, where the dense layer adds it. Exact only
    when nothing acts between the propagation and the dense layer: GRAND with no input
    dropout, or with its input dropout moved before the propagation
    (``feature_dropout_rate``: Keras' dropout on the (N, F) features, in training
    only, before the projection). Inputs as :class:`RandomPropagation`; output (N, units).
    """

    def __init__(
        self,
        order: int,
        rate: float,
        units: int,
        activation: str | None = "relu",
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        seed: int | None = None,
        feature_dropout_rate: float = 0.0,
        hop_weights: str = "uniform",
        teleport_probability: float = 0.1,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            order,
            rate,
            seed=seed,
            hop_weights=hop_weights,
            teleport_probability=teleport_probability,
            **kwargs,
        )
        if not 0 <= feature_dropout_rate < 1:
            raise ValueError(f"feature_dropout_rate must be in [0, 1), got {feature_dropout_rate}")
        self.feature_dropout_rate = float(feature_dropout_rate)
        self.units = int(units)
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)

    def build(self, input_shape: Any) -> None:
        self.kernel = self.add_weight(
            name="kernel",
            shape=(int(input_shape[0][-1]), self.units),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.bias = self.add_weight(
            name="bias",
            shape=(self.units,),
            initializer=self.bias_initializer,
            regularizer=self.bias_regularizer,
        )
        self.built = True

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        features, graph_filter = inputs
        kernel = tf.cast(self.kernel, tf.float32)
        if training and self.feature_dropout_rate > 0:
            if isinstance(features, tf.SparseTensor):
                features = tf.sparse.to_dense(features)
            features = keras.random.dropout(
                tf.cast(features, tf.float32), self.feature_dropout_rate, seed=self.seed_generator
            )
        if isinstance(features, tf.SparseTensor):
            projected = tf.sparse.sparse_dense_matmul(tf.cast(features, tf.float32), kernel)
        else:
            projected = tf.matmul(tf.cast(features, tf.float32), kernel)
        propagated = self._drop_and_propagate(projected, graph_filter, training)
        return self.activation(propagated + tf.cast(self.bias, tf.float32))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (input_shape[0][0], self.units)

    def compute_output_spec(self, inputs: Any, training: bool | None = None, mask: Any = None):
        return keras.KerasTensor((inputs[0].shape[0], self.units), dtype="float32")

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "feature_dropout_rate": self.feature_dropout_rate,
                "activation": keras.activations.serialize(self.activation),
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
            }
        )
        return config


def consistency_loss(
    probabilities: Sequence[Any], temperature: float, confidence: float = 0.0
) -> Any:
    """GRAND's consistency regularisation over S predictions of the same nodes.

    Args:
        probabilities: S tensors (N, C), class probabilities from S random versions.
        temperature: sharpening, in (0, 1]: the target is ``p_bar^(1/T)``
            renormalised per node, where ``p_bar`` is the mean of the S predictions;
            no gradient flows through the target.
        confidence: in [0, 1): only nodes whose averaged prediction's largest
            probability (before sharpening) exceeds it count (GRAND+'s
            confidence-aware consistency, as its code computes it;
            Feng et al., WWW 2022); 0 keeps every node, GRAND's loss.

    Returns:
        Scalar: the mean over versions and counted nodes of ``sum_c (p_c - target_c)^2``
        (0 when no node counts).
    """
    if not probabilities:
        raise ValueError("consistency_loss needs at least one prediction")
    mean = tf.add_n(list(probabilities)) / float(len(probabilities))
    powered = tf.pow(mean, 1.0 / temperature)
    target = tf.stop_gradient(powered / tf.reduce_sum(powered, axis=1, keepdims=True))
    # Judged on the average, not the target: sharpening at a low temperature makes
    # almost any target look confident, which would let near-uniform early
    # predictions be pulled to their arbitrary argmax.
    counted = tf.cast(tf.reduce_max(mean, axis=1) > confidence, target.dtype)
    n_counted = tf.reduce_sum(counted)
    distances = [
        tf.math.divide_no_nan(
            tf.reduce_sum(tf.reduce_sum(tf.square(p - target), axis=1) * counted), n_counted
        )
        for p in probabilities
    ]
    return tf.add_n(distances) / float(len(distances))


INITIALISATIONS = ("glorot", "reference")
INPUT_DROPOUT_POSITIONS = ("after_propagation", "before_propagation")


def _reference_normal(units: int) -> keras.initializers.Initializer:
    """The GRAND code's draw for each weight and bias of a layer with ``units`` outputs:
    ``normal_(-s, s)`` with ``s = 1/sqrt(units)``, i.e. mean -s and standard deviation s
    (PyTorch's ``normal_`` takes the mean first)."""
    scale = 1.0 / math.sqrt(units)
    return keras.initializers.RandomNormal(mean=-scale, stddev=scale)


def build_grand(
    n_nodes: int,
    n_features: int,
    n_classes: int,
    *,
    order: int = 8,
    dropnode_rate: float = 0.5,
    input_dropout_rate: float = 0.5,
    hidden_dropout_rate: float = 0.5,
    hidden_units: int = 32,
    l2_factor: float = 2.5e-4,
    learning_rate: float = 0.01,
    sparse_features: bool = True,
    initialisation: str = "glorot",
    input_dropout_position: str = "after_propagation",
    hop_weights: str = "uniform",
    teleport_probability: float = 0.1,
) -> keras.Model:
    """GRAND's classifier, compiled; inputs ``[features, graph_filter]``.

    features -> :class:`RandomPropagation` (``order``, ``dropnode_rate``) -> Dropout
    -> Dense(hidden_units, relu) -> Dropout -> Dense(n_classes, softmax); with no input
    dropout the first three are one :class:`ProjectedRandomPropagation` (the same
    function, computed in the cheaper order). Both dense
    layers with ``l2(l2_factor)`` on kernel and bias (the code's weight decay 5e-4
    covers every parameter; Keras' ``l2(f)`` adds ``f * sum(w**2)``, hence 2.5e-4).
    The defaults are the paper's Cora settings. The consistency loss and the number
    of random versions per step are training's (``full_batch.ConsistencyConfig``).
    ``initialisation``: ``"glorot"``, Keras' defaults; ``"reference"``, the code's
    (see :func:`_reference_normal`). ``input_dropout_position``:
    ``"after_propagation"``, the paper's (on the propagated features);
    ``"before_propagation"``, on the raw features, which lets the first dense layer
    run before the propagation (a variant, and a cheaper one: docs/pipelines/cora_gcn.md).
    ``hop_weights`` and ``teleport_probability``: as :class:`RandomPropagation`'s.
    """
    if initialisation not in INITIALISATIONS:
        raise ValueError(f"initialisation must be one of {INITIALISATIONS}, got {initialisation!r}")
    if input_dropout_position not in INPUT_DROPOUT_POSITIONS:
        raise ValueError(
            f"input_dropout_position must be one of {INPUT_DROPOUT_POSITIONS}, "
            f"got {input_dropout_position!r}"
        )

    def initial(units: int) -> dict[str, Any]:
        if initialisation != "reference":
            return {}
        return {
            "kernel_initializer": _reference_normal(units),
            "bias_initializer": _reference_normal(units),
        }

    def dense(units: int, activation: str, name: str) -> keras.layers.Dense:
        return keras.layers.Dense(
            units,
            activation=activation,
            kernel_regularizer=keras.regularizers.l2(l2_factor),
            bias_regularizer=keras.regularizers.l2(l2_factor),
            name=name,
            **initial(units),
        )

    features = keras.Input(
        shape=(n_features,), batch_size=n_nodes, sparse=sparse_features, name="features"
    )
    graph_filter = keras.Input(
        shape=(n_nodes,), batch_size=n_nodes, sparse=True, name="graph_filter"
    )
    if input_dropout_rate == 0 or input_dropout_position == "before_propagation":
        # Nothing between propagation and the first dense layer: project first (exact,
        # and far cheaper on thousands of word features).
        hidden = ProjectedRandomPropagation(
            order,
            dropnode_rate,
            hidden_units,
            activation="relu",
            kernel_regularizer=keras.regularizers.l2(l2_factor),
            bias_regularizer=keras.regularizers.l2(l2_factor),
            name="grand_hidden",
            feature_dropout_rate=input_dropout_rate,
            hop_weights=hop_weights,
            teleport_probability=teleport_probability,
            **initial(hidden_units),
        )([features, graph_filter])
    else:
        propagated = RandomPropagation(
            order,
            dropnode_rate,
            hop_weights=hop_weights,
            teleport_probability=teleport_probability,
            name="random_propagation",
        )([features, graph_filter])
        hidden = keras.layers.Dropout(input_dropout_rate, name="input_dropout")(propagated)
        hidden = dense(hidden_units, "relu", "grand_hidden")(hidden)
    hidden = keras.layers.Dropout(hidden_dropout_rate, name="hidden_dropout")(hidden)
    probabilities = dense(n_classes, "softmax", "grand_output")(hidden)
    model = keras.Model([features, graph_filter], probabilities, name="grand")
    return compile_node_classifier(model, learning_rate)
