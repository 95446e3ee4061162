"""The transformer classifier's custom layers and model survive a .keras save/load round trip."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from advanced_dl.models.transformer import (
    SingleCopyEmbedding,
    TokenAndPositionEmbedding,
    TransformerBlock,
    attention_weights,
    build_transformer_classifier,
)

SEQUENCE_LENGTH = 12
VOCABULARY_SIZE = 50


@pytest.fixture
def token_ids() -> np.ndarray:
    rng = np.random.default_rng(0)
    ids = rng.integers(2, VOCABULARY_SIZE, size=(4, SEQUENCE_LENGTH)).astype("int32")
    ids[0, :5] = 0  # left padding, as the pipeline produces
    return ids


def _round_trip(model: keras.Model, tmp_path) -> keras.Model:
    path = tmp_path / "model.keras"
    model.save(path)
    return keras.saving.load_model(path)


def test_position_embedding_differs_by_position():
    layer = TokenAndPositionEmbedding(SEQUENCE_LENGTH, VOCABULARY_SIZE, 8)
    same_token = np.full((1, SEQUENCE_LENGTH), 7, dtype="int32")
    embedded = np.asarray(layer(same_token))
    assert not np.allclose(embedded[0, 0], embedded[0, 1])


def test_bigram_embedding_depends_on_the_previous_word_and_ignores_padding():
    layer = TokenAndPositionEmbedding(SEQUENCE_LENGTH, VOCABULARY_SIZE, 8, bigram_buckets=97)
    plain = TokenAndPositionEmbedding(SEQUENCE_LENGTH, VOCABULARY_SIZE, 8)
    ids = np.zeros((2, SEQUENCE_LENGTH), dtype="int32")
    ids[:, -3:] = [[4, 9, 7], [5, 9, 7]]  # left padding, then two reviews differing in word 1
    layer(ids)
    plain(ids)
    plain.set_weights(layer.get_weights()[:2])  # the same token and position tables
    with_pairs, without_pairs = np.asarray(layer(ids)), np.asarray(plain(ids))
    # Padding and the first word (whose pair starts in padding) get no pair term.
    np.testing.assert_allclose(with_pairs[:, :-2], without_pairs[:, :-2])
    # "9" follows "4" in one review and "5" in the other: different pairs, different rows.
    assert not np.allclose(with_pairs[0, -2], with_pairs[1, -2])
    np.testing.assert_allclose(without_pairs[0, -2], without_pairs[1, -2])
    # "9 7" is the same pair in both.
    np.testing.assert_allclose(with_pairs[0, -1], with_pairs[1, -1])


def test_a_loaded_pair_table_holds_the_saved_weights_not_its_zero_start(tmp_path, token_ids):
    inputs = keras.Input((SEQUENCE_LENGTH,), dtype="int32")
    layer = TokenAndPositionEmbedding(SEQUENCE_LENGTH, VOCABULARY_SIZE, 8, bigram_buckets=97)
    model = keras.Model(inputs, layer(inputs))
    # Built from its config (as loading does), the pair table starts at zeros...
    rebuilt = TokenAndPositionEmbedding.from_config(layer.get_config())
    rebuilt.build((None, SEQUENCE_LENGTH))
    assert not np.any(np.asarray(rebuilt.bigram_embedding.embeddings))
    assert np.any(np.asarray(layer.bigram_embedding.embeddings))
    # ...and loading then fills it with the trained rows.
    loaded = _round_trip(model, tmp_path)
    np.testing.assert_allclose(
        loaded.predict(token_ids, verbose=0), model.predict(token_ids, verbose=0)
    )


def _saving_peak(layer: keras.layers.Layer, folder) -> int:
    """Bytes of NumPy memory held at once while a model of ``layer`` is saved."""
    import tracemalloc

    model = keras.Sequential([keras.Input((3,), dtype="int32"), layer])
    tracemalloc.start()
    try:
        model.save(str(folder), zipped=False)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_single_copy_embedding_saves_its_table_through_one_copy(tmp_path):
    table_bytes = 100_000 * 16 * 4
    # Keras' own Embedding holds two copies of the table while it is written.
    assert _saving_peak(keras.layers.Embedding(100_000, 16), tmp_path / "plain") > 1.9 * table_bytes
    layer = SingleCopyEmbedding(100_000, 16)
    assert _saving_peak(layer, tmp_path / "single") < 1.2 * table_bytes
    loaded = keras.saving.load_model(tmp_path / "single").layers[0]
    assert isinstance(loaded, SingleCopyEmbedding)
    np.testing.assert_array_equal(np.asarray(loaded.embeddings), np.asarray(layer.embeddings))


def test_transformer_block_returns_normalised_attention_scores():
    block = TransformerBlock(8, num_heads=2, key_dim=4, feed_forward_dim=6, name="block")
    x = np.random.default_rng(1).normal(size=(3, SEQUENCE_LENGTH, 8)).astype("float32")
    output, scores = block(x, training=False, return_attention_scores=True)
    assert output.shape == (3, SEQUENCE_LENGTH, 8)
    assert scores.shape == (3, 2, SEQUENCE_LENGTH, SEQUENCE_LENGTH)
    np.testing.assert_allclose(np.asarray(scores).sum(axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(block(x, training=False)), np.asarray(output))


@pytest.mark.parametrize(("bigram_buckets", "bigram_dim"), [(0, None), (31, None), (31, 3)])
def test_classifier_architecture_round_trip_and_attention(
    tmp_path, token_ids, bigram_buckets, bigram_dim
):
    model = build_transformer_classifier(
        vocabulary_size=VOCABULARY_SIZE,
        sequence_length=SEQUENCE_LENGTH,
        embedding_dim=8,
        key_dim=8,
        bigram_buckets=bigram_buckets,
        bigram_dim=bigram_dim,
    )
    assert model.output_shape == (None, 2)
    probabilities = model.predict(token_ids, verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    # A training step must run (compiled with Adam + sparse categorical cross-entropy).
    model.fit(token_ids, np.array([0, 1, 0, 1]), epochs=1, batch_size=2, verbose=0)

    reloaded = _round_trip(model, tmp_path)
    np.testing.assert_allclose(
        reloaded.predict(token_ids, verbose=0), model.predict(token_ids, verbose=0), rtol=1e-5
    )
    weights = attention_weights(reloaded, token_ids[:1])
    assert weights.shape == (1, 2, SEQUENCE_LENGTH, SEQUENCE_LENGTH)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(weights, attention_weights(model, token_ids[:1]), rtol=1e-5)


def test_reference_sizes():
    model = build_transformer_classifier()
    embed = model.get_layer("token_and_position_embedding")
    assert embed.token_embedding.input_dim == 20_000
    assert embed.position_embedding.input_dim == 200
    assert model.get_layer("transformer_block").num_heads == 2
    assert model.get_layer("hidden").units == 20
    assert embed.bigram_embedding is None


def test_narrow_pair_table_is_widened_to_the_embedding():
    layer = TokenAndPositionEmbedding(SEQUENCE_LENGTH, VOCABULARY_SIZE, 8, 97, bigram_dim=2)
    ids = np.full((1, SEQUENCE_LENGTH), 5, dtype="int32")
    assert tuple(layer(ids).shape) == (1, SEQUENCE_LENGTH, 8)
    assert tuple(layer.bigram_embedding.embeddings.shape) == (97, 2)
    assert tuple(layer.bigram_projection.kernel.shape) == (2, 8)
    assert TokenAndPositionEmbedding(4, 10, 8, 7).bigram_projection is None  # same width


def test_masked_language_model_learns_and_its_encoder_reloads(tmp_path):
    from advanced_dl.features.masking import mask_tokens
    from advanced_dl.models.transformer import (
        GatherPositions,
        build_masked_language_model,
        build_transformer_encoder,
    )

    vocabulary, length = 12, 16
    keras.utils.set_random_seed(0)
    # A corpus with structure: each sequence repeats one word (ids 2..11), so a masked
    # token is what its context says; without the context it is one word in ten.
    rng = np.random.default_rng(0)
    ids = np.repeat(rng.integers(2, vocabulary, size=(256, 1)), length, axis=1).astype(np.int32)
    encoder = build_transformer_encoder(
        vocabulary_size=vocabulary + 1,  # + the mask id
        sequence_length=length,
        embedding_dim=16,
        num_layers=2,
        num_heads=2,
        key_dim=8,
        feed_forward_dim=32,
        dropout_rate=0.0,
    )
    model = build_masked_language_model(encoder, vocabulary, learning_rate=3e-3)
    losses = []
    for epoch in range(6):
        batch = mask_tokens(ids, np.random.default_rng(epoch), vocabulary)
        history = model.fit(
            [batch.inputs, batch.positions],
            batch.targets,
            sample_weight=batch.weights,
            batch_size=32,
            epochs=1,
            verbose=0,
        )
        losses.append(history.history["loss"][0])
    assert losses[-1] < 0.5 * losses[0], losses

    gather = GatherPositions()
    assert GatherPositions.from_config(gather.get_config()).get_config() == gather.get_config()
    encoded = np.asarray(encoder(ids[:4], training=False))
    path = tmp_path / "encoder.keras"
    encoder.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(reloaded(ids[:4], training=False)), encoded, atol=1e-6)
    assert [layer.name for layer in reloaded.layers][-2:] == [
        "transformer_block_0",
        "transformer_block_1",
    ]


def _small_encoder() -> keras.Model:
    """A 2-block encoder 8 wide over 8 tokens of a 13-id vocabulary, seeded."""
    from advanced_dl.models.transformer import build_transformer_encoder

    keras.utils.set_random_seed(0)
    return build_transformer_encoder(
        vocabulary_size=13,
        sequence_length=8,
        embedding_dim=8,
        num_layers=2,
        num_heads=2,
        key_dim=4,
        feed_forward_dim=8,
        dropout_rate=0.0,
    )


def test_encoder_classifier_averages_the_real_tokens_only_and_shows_attention():
    from advanced_dl.models.transformer import (
        attention_weights,
        build_encoder_classifier,
    )

    encoder = _small_encoder()
    model = build_encoder_classifier(encoder, dropout_rate=0.0)
    ids = np.array([[0, 0, 0, 3, 4, 5, 6, 12], [2, 3, 4, 5, 6, 7, 8, 9]], dtype="int32")
    pooled = keras.Model(model.inputs, model.get_layer("average_pool").output)(ids)
    encoded = np.asarray(encoder(ids))
    np.testing.assert_allclose(np.asarray(pooled)[0], encoded[0, 3:].mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(pooled)[1], encoded[1].mean(axis=0), rtol=1e-5)
    probabilities = np.asarray(model(ids))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    scores = attention_weights(model, ids)
    assert scores.shape == (2, 2, 8, 8)
    np.testing.assert_allclose(scores.sum(axis=-1), 1.0, rtol=1e-4)


def test_an_encoder_given_word_pairs_starts_where_it_was_and_learns_them(tmp_path):
    from advanced_dl.models.transformer import (
        build_encoder_classifier,
        with_word_pairs,
    )

    encoder = _small_encoder()
    widened = with_word_pairs(encoder, bigram_buckets=31, bigram_dim=4)
    embedding = widened.get_layer("token_and_position_embedding")
    assert (embedding.bigram_buckets, embedding.bigram_dim) == (31, 4)
    ids = np.array([[0, 0, 3, 4, 5, 6, 7, 12], [2, 3, 4, 5, 6, 7, 8, 9]], dtype="int32")
    np.testing.assert_allclose(np.asarray(widened(ids)), np.asarray(encoder(ids)), atol=1e-6)
    with pytest.raises(ValueError, match="already reads word pairs"):
        with_word_pairs(widened, bigram_buckets=31)

    # Labels that only a word pair tells: "3 4" in positive reviews, "4 3" in negative.
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 13, size=(128, 8)).astype("int32")
    labels = rng.integers(0, 2, size=128)
    ids[:, 3:5] = np.where(labels[:, None] == 1, [3, 4], [4, 3])
    model = build_encoder_classifier(widened, dropout_rate=0.0, learning_rate=1e-2)
    model.fit(ids, labels, batch_size=32, epochs=3, verbose=0)
    assert np.abs(np.asarray(embedding.bigram_embedding.embeddings)).max() > 0
    reloaded = _round_trip(model, tmp_path)
    np.testing.assert_allclose(np.asarray(reloaded(ids)), np.asarray(model(ids)), atol=1e-5)


def test_pair_scale_multiplies_the_pair_term_and_survives_the_config():
    ids = np.zeros((1, SEQUENCE_LENGTH), dtype="int32")
    ids[0, -3:] = [4, 9, 7]
    plain = TokenAndPositionEmbedding(SEQUENCE_LENGTH, VOCABULARY_SIZE, 8)
    scaled = TokenAndPositionEmbedding(
        SEQUENCE_LENGTH, VOCABULARY_SIZE, 8, bigram_buckets=97, bigram_scale=3.0
    )
    unscaled = TokenAndPositionEmbedding(SEQUENCE_LENGTH, VOCABULARY_SIZE, 8, bigram_buckets=97)
    for layer in (plain, scaled, unscaled):
        layer(ids)
    unscaled.set_weights(scaled.get_weights())
    plain.set_weights(scaled.get_weights()[:2])
    base = np.asarray(plain(ids))
    np.testing.assert_allclose(
        np.asarray(scaled(ids)) - base, 3.0 * (np.asarray(unscaled(ids)) - base), atol=1e-5
    )
    assert TokenAndPositionEmbedding.from_config(scaled.get_config()).bigram_scale == 3.0
