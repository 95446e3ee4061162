"""imdb_pretrain's nodes: the reviews pre-training reads, the loss falls, a stopped fit resumes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from advanced_dl.pipelines.imdb_pretrain.nodes import (
    build_served_encoder,
    pretrain_encoder,
    select_pretraining_reviews,
)
from advanced_dl.training import CheckpointStore

MODEL = {
    "embedding_dim": 16,
    "num_layers": 1,
    "num_heads": 2,
    "key_dim": 8,
    "feed_forward_dim": 16,
    "dropout_rate": 0.0,
    "layer_norm_epsilon": 1e-6,
}
OBJECTIVE = {"mask_fraction": 0.15}
TRAINING = {
    "batch_size": 16,
    "passes": 2,
    "checkpoints_per_pass": 2,
    "learning_rate": 0.01,
    "warmup_steps": 2,
}
VOCABULARY = ["", "[UNK]"] + [f"w{i}" for i in range(10)]


def _reviews() -> pd.DataFrame:
    rows = [("train", 1), ("train", 0), ("test", 1), ("test", 0)] * 3 + [("unsup", -1)] * 10
    return pd.DataFrame(
        {
            "text": [f"review {i}" for i in range(len(rows))],
            "label": [label for _, label in rows],
            "split": [split for split, _ in rows],
        }
    )


def test_pretraining_reads_training_and_unlabelled_reviews_never_test_ones():
    reviews = _reviews()
    pretraining, held_out = select_pretraining_reviews(
        reviews, {"held_out_reviews": 3, "max_reviews": None}, seed=0
    )
    assert set(pretraining["split"]) == {"train", "unsup"}
    assert len(pretraining) == 6 + 10 - 3
    assert set(held_out["split"]) == {"unsup"} and len(held_out) == 3
    assert not set(held_out["text"]) & set(pretraining["text"])
    smaller, _ = select_pretraining_reviews(
        reviews, {"held_out_reviews": 3, "max_reviews": 5}, seed=0
    )
    assert len(smaller) == 5 and set(smaller["text"]) <= set(pretraining["text"])


def test_pretraining_without_unlabelled_reviews_says_where_they_come_from():
    reviews = _reviews()
    with pytest.raises(ValueError, match="include_unlabelled: true"):
        select_pretraining_reviews(
            reviews[reviews["split"] != "unsup"], {"held_out_reviews": 3, "max_reviews": None}, 0
        )


def _tokens(rows: int, seed: int) -> np.ndarray:
    # Sequences of a repeating pattern: every masked word follows from its neighbours.
    start = np.random.default_rng(seed).integers(0, 10, size=rows)
    return (2 + (start[:, None] + np.arange(12)[None, :]) % 10).astype(np.int32)


class _KilledAfterFirstCheckpoint(CheckpointStore):
    """A store whose process "dies" right after its first checkpoint is written."""

    def save(self, key, model, epochs_done, history):
        path = super().save(key, model, epochs_done, history)
        raise KeyboardInterrupt  # like a kill: nothing after this point runs
        return path


def test_the_loss_falls_and_a_stopped_fit_resumes_where_it_left_off(tmp_path):
    tokens, held_out = _tokens(64, 0), _tokens(16, 1)
    args = (tokens, held_out, VOCABULARY)
    settings = (MODEL, OBJECTIVE, TRAINING, 7)

    import keras

    keras.utils.set_random_seed(7)  # as the run's hook seeds every run
    straight_encoder, straight = pretrain_encoder(*args, CheckpointStore(tmp_path / "a"), *settings)
    assert straight["resumed_from_epoch"] == 0 and len(straight["loss"]) == 4
    assert straight["val_loss"][-1] < straight["val_loss"][0] - 0.3
    assert len(straight["tokens_per_second"]) == 4

    keras.utils.set_random_seed(7)
    with pytest.raises(KeyboardInterrupt):
        pretrain_encoder(*args, _KilledAfterFirstCheckpoint(tmp_path / "b"), *settings)
    keras.utils.set_random_seed(7)
    resumed_encoder, resumed = pretrain_encoder(*args, CheckpointStore(tmp_path / "b"), *settings)
    assert resumed["resumed_from_epoch"] == 1
    assert len(resumed["loss"]) == 4  # the curve of the epoch before the stop is kept
    # Same batches from the same step, same weights and optimizer state: the same result.
    np.testing.assert_allclose(resumed["loss"], straight["loss"], rtol=1e-4)
    for a, b in zip(resumed_encoder.get_weights(), straight_encoder.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)

    served = build_served_encoder(
        resumed_encoder,
        VOCABULARY,
        pd.DataFrame({"text": ["w1 w2 w3", "w4 w5"]}),
        {"vocabulary_size": 12, "sequence_length": 12, "keep": "last", "head_tokens": 0},
        MODEL,
        resumed,
    )
    vectors = served.predict(None, pd.DataFrame({"review": ["w1 w2 w3 w4", "w9 w8"]}))
    assert vectors.shape == (2, 16) and np.isfinite(vectors.to_numpy()).all()
    assert served.architecture["vocabulary_size"] == 12
