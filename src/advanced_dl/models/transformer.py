"""One-block transformer text classifier (docs/algorithms.md, section 3), and the
multi-block encoder and masked-token model for pre-training it.

Token ids (``int32``, shape ``(batch, sequence_length)``, 0 = padding) ->
token embedding + learned position embedding -> one transformer block
(multi-head self-attention and a small feed-forward network, each with a
residual connection and layer normalisation) -> global average pooling ->
Dropout -> Dense(relu) -> Dropout -> Dense(softmax).

The custom layers implement ``get_config`` and ``build`` and are registered
with Keras, so a model saved as ``.keras`` reloads without ``custom_objects``.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import layers, ops

from advanced_dl.models.optimizers import OPTIMIZERS

EMBEDDING_LAYER_NAME = "token_and_position_embedding"
TRANSFORMER_BLOCK_NAME = "transformer_block"
ENCODER_NAME = "transformer_encoder"


@keras.saving.register_keras_serializable(package="advanced_dl")
class SingleCopyEmbedding(layers.Embedding):
    """``Embedding`` whose table is written to a saved model through one copy, not two.

    Keras writes each weight as ``np.array(weight)``; for a TensorFlow variable
    that holds two copies of the table at once (0.7 GiB for 3 million 32-wide
    rows). Handed a view of the table's current value instead (DLPack shares
    the buffer), Keras' own copy is the only one. Quantised or LoRA tables,
    loading and everything else are ``Embedding``'s.
    """

    def save_own_variables(self, store: Any) -> None:
        if not self.built or self.quantization_mode is not None or self.lora_enabled:
            super().save_own_variables(store)
            return
        import tensorflow as tf  # the project's Keras backend

        store["0"] = np.from_dlpack(tf.convert_to_tensor(self.embeddings))


@keras.saving.register_keras_serializable(package="advanced_dl")
class TokenAndPositionEmbedding(layers.Layer):
    """Sum of a token embedding, a learned embedding of the position and,
    with ``bigram_buckets > 0``, an embedding of the word pair ending at each token.

    The pair (previous id, id) is hashed into ``bigram_buckets`` rows inside the
    layer, so a served model needs no bigram vocabulary; pairs with padding add
    nothing. With ``bigram_dim`` below ``embedding_dim`` the pair table is that
    narrow and a shared linear map widens it: millions of rows then cost a
    fraction of the memory (Adam keeps two more copies of every table).
    ``bigram_scale`` multiplies the pair term: Adam moves every weight by about
    the learning rate whatever its gradient, so a scale of ``s`` makes the pair
    table learn ``s`` times faster than the rest of the model (a zero-started
    table fine-tuned at a pre-trained encoder's small rate).

    Input ``(batch, sequence_length)`` token ids; output
    ``(batch, sequence_length, embedding_dim)`` floats.
    """

    def __init__(
        self,
        sequence_length: int,
        vocabulary_size: int,
        embedding_dim: int,
        bigram_buckets: int = 0,
        bigram_dim: int | None = None,
        bigram_scale: float = 1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.sequence_length = int(sequence_length)
        self.vocabulary_size = int(vocabulary_size)
        self.embedding_dim = int(embedding_dim)
        self.bigram_buckets = int(bigram_buckets)
        self.bigram_dim = int(bigram_dim or embedding_dim)
        self.bigram_scale = float(bigram_scale)
        self.token_embedding = layers.Embedding(
            self.vocabulary_size, self.embedding_dim, name="token_embedding"
        )
        self.position_embedding = layers.Embedding(
            self.sequence_length, self.embedding_dim, name="position_embedding"
        )
        self.bigram_embedding = (
            SingleCopyEmbedding(self.bigram_buckets, self.bigram_dim, name="bigram_embedding")
            if self.bigram_buckets
            else None
        )
        self.bigram_projection = (
            layers.Dense(self.embedding_dim, use_bias=False, name="bigram_projection")
            if self.bigram_buckets and self.bigram_dim != self.embedding_dim
            else None
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TokenAndPositionEmbedding:
        layer = cls(**config)
        # Made from a config, the layer is nearly always being loaded, and loading
        # overwrites every weight: a zero pair table skips a random draw that holds
        # three times the table's memory (1.1 GiB for 3 million rows) while it runs.
        # A clone (keras.models.clone_model) therefore starts with zero pairs.
        if layer.bigram_embedding is not None:
            layer.bigram_embedding.embeddings_initializer = keras.initializers.Zeros()
        return layer

    def build(self, input_shape: tuple) -> None:
        self.token_embedding.build(input_shape)
        self.position_embedding.build((self.sequence_length,))
        if self.bigram_embedding is not None:
            self.bigram_embedding.build(input_shape)
        if self.bigram_projection is not None:
            self.bigram_projection.build((*input_shape, self.bigram_dim))
        self.built = True

    def bigram_ids(self, token_ids: Any, previous_ids: Any) -> Any:
        """Bucket of the word pair ending at each position: ``(batch, length)`` int32."""
        pair = ops.cast(previous_ids, "int64") * self.vocabulary_size + ops.cast(token_ids, "int64")
        return ops.cast(ops.mod(pair, self.bigram_buckets), "int32")

    def call(self, token_ids: Any) -> Any:
        # The first rows of the position table, sliced rather than looked up with
        # arange(length): the same values, but a dense gradient. The sparse gradient
        # of the lookup is combined wrongly across MirroredStrategy replicas.
        table = ops.convert_to_tensor(self.position_embedding.embeddings)
        positions = ops.cast(table[: ops.shape(token_ids)[-1]], self.compute_dtype)
        embedded = self.token_embedding(token_ids) + positions
        if self.bigram_embedding is None:
            return embedded
        # Each position's previous token id (padding before the first).
        previous = ops.pad(token_ids[:, :-1], [[0, 0], [1, 0]])
        pairs = self.bigram_embedding(self.bigram_ids(token_ids, previous))
        if self.bigram_projection is not None:
            pairs = self.bigram_projection(pairs)
        # Zero where the pair starts in padding; the scale elsewhere (exact at 1.0).
        real_pair = ops.cast((previous > 0) & (token_ids > 0), self.compute_dtype)
        return embedded + pairs * (real_pair * self.bigram_scale)[..., None]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape, self.embedding_dim)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "sequence_length": self.sequence_length,
                "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "bigram_buckets": self.bigram_buckets,
                "bigram_dim": self.bigram_dim,
                "bigram_scale": self.bigram_scale,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="advanced_dl")
class TransformerBlock(layers.Layer):
    """Self-attention and feed-forward sub-layers, each followed by dropout,
    a residual connection and layer normalisation (post-norm, as the reference).

    Input and output ``(batch, sequence_length, embedding_dim)``. With
    ``return_attention_scores=True`` the call also returns the attention
    weights, shape ``(batch, num_heads, sequence_length, sequence_length)``.
    """

    def __init__(
        self,
        embedding_dim: int,
        num_heads: int,
        key_dim: int,
        feed_forward_dim: int,
        *,
        dropout_rate: float = 0.1,
        layer_norm_epsilon: float = 1e-6,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.embedding_dim = int(embedding_dim)
        self.num_heads = int(num_heads)
        self.key_dim = int(key_dim)
        self.feed_forward_dim = int(feed_forward_dim)
        self.dropout_rate = float(dropout_rate)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.attention = layers.MultiHeadAttention(
            num_heads=self.num_heads, key_dim=self.key_dim, name="attention"
        )
        self.feed_forward_hidden = layers.Dense(
            self.feed_forward_dim, activation="relu", name="feed_forward_hidden"
        )
        self.feed_forward_output = layers.Dense(self.embedding_dim, name="feed_forward_output")
        self.attention_norm = layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, name="attention_norm"
        )
        self.feed_forward_norm = layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, name="feed_forward_norm"
        )
        self.attention_dropout = layers.Dropout(self.dropout_rate)
        self.feed_forward_dropout = layers.Dropout(self.dropout_rate)

    def build(self, input_shape: tuple) -> None:
        self.attention.build(input_shape, input_shape)
        self.attention_norm.build(input_shape)
        self.feed_forward_hidden.build(input_shape)
        self.feed_forward_output.build((*input_shape[:-1], self.feed_forward_dim))
        self.feed_forward_norm.build(input_shape)
        self.built = True

    def call(
        self, inputs: Any, training: bool | None = None, return_attention_scores: bool = False
    ) -> Any:
        attended, scores = self.attention(
            inputs, inputs, training=training, return_attention_scores=True
        )
        attended = self.attention_dropout(attended, training=training)
        hidden = self.attention_norm(inputs + attended)
        transformed = self.feed_forward_output(self.feed_forward_hidden(hidden))
        transformed = self.feed_forward_dropout(transformed, training=training)
        output = self.feed_forward_norm(hidden + transformed)
        if return_attention_scores:
            return output, scores
        return output

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "embedding_dim": self.embedding_dim,
                "num_heads": self.num_heads,
                "key_dim": self.key_dim,
                "feed_forward_dim": self.feed_forward_dim,
                "dropout_rate": self.dropout_rate,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config


def build_transformer_classifier(
    *,
    vocabulary_size: int = 20_000,
    sequence_length: int = 200,
    embedding_dim: int = 32,
    bigram_buckets: int = 0,
    bigram_dim: int | None = None,
    bigram_scale: float = 1.0,
    num_heads: int = 2,
    key_dim: int = 32,
    feed_forward_dim: int = 32,
    dropout_rate: float = 0.1,
    dense_units: int = 20,
    num_classes: int = 2,
    layer_norm_epsilon: float = 1e-6,
    learning_rate: Any = 1e-3,
    optimizer: str = "adam",
) -> keras.Model:
    """The reference classifier, compiled with Adam and sparse categorical cross-entropy.

    ``bigram_buckets > 0`` adds the hashed word-pair embedding, ``bigram_dim``
    wide and scaled by ``bigram_scale`` (the reference has none);
    ``learning_rate`` is a number or a Keras learning-rate schedule;
    ``optimizer`` names one of ``models.optimizers.OPTIMIZERS``.

    Input ``(batch, sequence_length)`` int32 token ids; output
    ``(batch, num_classes)`` class probabilities.
    """
    token_ids = keras.Input(shape=(sequence_length,), dtype="int32", name="token_ids")
    embedded = TokenAndPositionEmbedding(
        sequence_length,
        vocabulary_size,
        embedding_dim,
        bigram_buckets,
        bigram_dim,
        bigram_scale,
        name=EMBEDDING_LAYER_NAME,
    )(token_ids)
    encoded = TransformerBlock(
        embedding_dim,
        num_heads,
        key_dim,
        feed_forward_dim,
        dropout_rate=dropout_rate,
        layer_norm_epsilon=layer_norm_epsilon,
        name=TRANSFORMER_BLOCK_NAME,
    )(embedded)
    pooled = layers.GlobalAveragePooling1D(name="average_pool")(encoded)
    hidden = layers.Dropout(dropout_rate, name="pool_dropout")(pooled)
    hidden = layers.Dense(dense_units, activation="relu", name="hidden")(hidden)
    hidden = layers.Dropout(dropout_rate, name="hidden_dropout")(hidden)
    probabilities = layers.Dense(num_classes, activation="softmax", name="probabilities")(hidden)
    model = keras.Model(token_ids, probabilities, name="transformer_classifier")
    return compile_sentiment_classifier(model, optimizer, learning_rate)


def compile_sentiment_classifier(
    model: keras.Model, optimizer: str, learning_rate: Any
) -> keras.Model:
    """Compile a review classifier: ``OPTIMIZERS[optimizer]``, sparse categorical
    cross-entropy on the class probabilities, accuracy."""
    model.compile(
        optimizer=OPTIMIZERS[optimizer](learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def attention_weights(model: keras.Model, token_ids: np.ndarray) -> np.ndarray:
    """Attention weights of the model's (last) transformer block for a batch of reviews.

    Args:
        model: a classifier from :func:`build_transformer_classifier` or
            :func:`build_encoder_classifier` (or reloaded).
        token_ids: ``(batch, sequence_length)`` int token ids.

    Returns:
        ``(batch, num_heads, sequence_length, sequence_length)`` float array; row
        ``i`` of a head is how position ``i`` spreads its attention (sums to 1).
    """
    names = {layer.name for layer in model.layers}
    holder = model.get_layer(ENCODER_NAME) if ENCODER_NAME in names else model
    blocks = [layer for layer in holder.layers if isinstance(layer, TransformerBlock)]
    hidden = holder.get_layer(EMBEDDING_LAYER_NAME)(
        ops.convert_to_tensor(np.asarray(token_ids, dtype="int32"))
    )
    for block in blocks[:-1]:
        hidden = block(hidden, training=False)
    _, scores = blocks[-1](hidden, training=False, return_attention_scores=True)
    return np.asarray(ops.convert_to_numpy(scores))


@keras.saving.register_keras_serializable(package="advanced_dl")
class GatherPositions(layers.Layer):
    """The encoder's output at given positions: ``[(batch, length, dim),
    (batch, predictions) int positions]`` -> ``(batch, predictions, dim)``.

    The masked-token head then runs only where a token is predicted (15% of
    the positions), not over the whole sequence.
    """

    def call(self, inputs: Any) -> Any:
        encoded, positions = inputs
        index = ops.cast(positions, "int32")[..., None]
        return ops.take_along_axis(encoded, index, axis=1)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        encoded_shape, positions_shape = input_shape
        return (*positions_shape, encoded_shape[-1])


def build_transformer_encoder(
    *,
    vocabulary_size: int,
    sequence_length: int,
    embedding_dim: int,
    num_layers: int,
    num_heads: int,
    key_dim: int,
    feed_forward_dim: int,
    dropout_rate: float = 0.1,
    layer_norm_epsilon: float = 1e-6,
) -> keras.Model:
    """A stack of ``num_layers`` transformer blocks over token and position embeddings.

    ``vocabulary_size`` counts every id the encoder reads, the mask id
    included (``features.masking``). Input ``(batch, sequence_length)`` int32
    ids; output ``(batch, sequence_length, embedding_dim)``.
    """
    token_ids = keras.Input(shape=(sequence_length,), dtype="int32", name="token_ids")
    encoded = TokenAndPositionEmbedding(
        sequence_length, vocabulary_size, embedding_dim, name=EMBEDDING_LAYER_NAME
    )(token_ids)
    for layer in range(num_layers):
        encoded = TransformerBlock(
            embedding_dim,
            num_heads,
            key_dim,
            feed_forward_dim,
            dropout_rate=dropout_rate,
            layer_norm_epsilon=layer_norm_epsilon,
            name=f"{TRANSFORMER_BLOCK_NAME}_{layer}",
        )(encoded)
    return keras.Model(token_ids, encoded, name=ENCODER_NAME)


def build_masked_language_model(
    encoder: keras.Model, output_vocabulary_size: int, learning_rate: Any = 1e-3
) -> keras.Model:
    """The encoder with a masked-token head, compiled for pre-training.

    Inputs ``token_ids`` ``(batch, length)`` and ``positions`` ``(batch,
    predictions)``; output logits ``(batch, predictions,
    output_vocabulary_size)`` over the words (the mask id is never a target).
    Train with the targets and weights of ``features.masking.mask_tokens``
    (weights as sample weights). Loss: sparse categorical cross-entropy.
    """
    token_ids = keras.Input(shape=encoder.input_shape[1:], dtype="int32", name="token_ids")
    positions = keras.Input(shape=(None,), dtype="int32", name="positions")
    encoded = encoder(token_ids)
    gathered = GatherPositions(name="gather_positions")([encoded, positions])
    hidden = layers.Dense(encoder.output_shape[-1], activation="gelu", name="mlm_transform")(
        gathered
    )
    hidden = layers.LayerNormalization(epsilon=1e-6, name="mlm_norm")(hidden)
    logits = layers.Dense(output_vocabulary_size, name="mlm_logits")(hidden)
    model = keras.Model([token_ids, positions], logits, name="masked_language_model")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        weighted_metrics=[],
    )
    return model


def with_word_pairs(
    encoder: keras.Model,
    bigram_buckets: int,
    bigram_dim: int | None = None,
    bigram_scale: float = 1.0,
) -> keras.Model:
    """``encoder`` whose embedding also adds the hashed word-pair embedding
    (``TokenAndPositionEmbedding``'s ``bigram_buckets``, ``bigram_dim``,
    ``bigram_scale``).

    Every weight is ``encoder``'s and the pair table starts at zero, so the new
    encoder's outputs start equal to ``encoder``'s: fine-tuning learns the pairs
    without first undoing a random perturbation of what pre-training learned. Pairs
    are left out of pre-training because there they would leak a masked word
    through the pair that follows it. Input and output shapes are ``encoder``'s.
    """

    def clone(layer: layers.Layer) -> layers.Layer:
        config = layer.get_config()
        if isinstance(layer, TokenAndPositionEmbedding):
            if layer.bigram_buckets:
                raise ValueError(f"the encoder already reads word pairs ({layer.bigram_buckets})")
            # Through from_config: a zero pair table (see TokenAndPositionEmbedding).
            config |= {
                "bigram_buckets": bigram_buckets,
                "bigram_dim": bigram_dim,
                "bigram_scale": bigram_scale,
            }
        return layer.__class__.from_config(config)

    widened = keras.models.clone_model(encoder, clone_function=clone)
    for old, new in zip(encoder.layers, widened.layers, strict=True):
        if isinstance(old, TokenAndPositionEmbedding):
            new.token_embedding.set_weights(old.token_embedding.get_weights())
            new.position_embedding.set_weights(old.position_embedding.get_weights())
        else:
            new.set_weights(old.get_weights())
    return widened


def build_encoder_classifier(
    encoder: keras.Model,
    *,
    num_classes: int = 2,
    dropout_rate: float = 0.1,
    learning_rate: Any = 1e-4,
    optimizer: str = "adam",
) -> keras.Model:
    """A classifier that fine-tunes ``encoder``: its outputs averaged over the real
    tokens (padding left out), dropout, then one softmax layer (BERT's recipe:
    one more output layer).

    Input ``(batch, sequence_length)`` int32 ids; output ``(batch, num_classes)``
    probabilities. Compiled with sparse categorical cross-entropy.
    """
    token_ids = keras.Input(shape=encoder.input_shape[1:], dtype="int32", name="token_ids")
    encoded = encoder(token_ids)
    pooled = layers.GlobalAveragePooling1D(name="average_pool")(
        encoded, mask=ops.not_equal(token_ids, 0)
    )
    pooled = layers.Dropout(dropout_rate, name="pool_dropout")(pooled)
    probabilities = layers.Dense(num_classes, activation="softmax", name="probabilities")(pooled)
    model = keras.Model(token_ids, probabilities, name="encoder_classifier")
    return compile_sentiment_classifier(model, optimizer, learning_rate)
