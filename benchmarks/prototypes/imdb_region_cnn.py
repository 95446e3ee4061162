"""Prototype, not part of any pipeline: a region CNN on raw IMDB reviews.

Johnson and Zhang's seq-CNN (2015): every region of ``--regions`` consecutive
words is mapped to ``--features`` ReLU units (one embedding table per position
in the region, summed, so the region's word order counts; several region sizes
give a layer of units each, side by side), the units are max-pooled over the
whole review, and a softmax layer reads the pooled vectors after dropout.
Reviews, split and tokeniser are ``imdb_transformer``'s (``split_reviews``,
``features.text``); the test reviews are scored once, at the end, and only with
``--test``. docs/pipelines/imdb_pretrain.md, "A region CNN", has the measured
figures.

    ADVANCED_DL_DATA_MIRROR=<mirror> python benchmarks/prototypes/imdb_region_cnn.py --test
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator

import numpy as np

from advanced_dl.features.text import (
    OOV_ID,
    kept_words,
    learn_vocabulary,
    tokenise,
    word_index,
)
from advanced_dl.io.imdb import ImdbReviewsDataset
from advanced_dl.pipelines.imdb_transformer.nodes import split_reviews

HEAD_WORDS = 128  # a review longer than --max-words keeps its first 128 words and its end


def review_ids(texts: list[str], index: dict[str, int], max_words: int) -> list[np.ndarray]:
    """Token ids of each review, unpadded; a longer review keeps its head and its end."""
    reviews = []
    for text in texts:
        words = kept_words(tokenise(text), max_words, "head_and_tail", HEAD_WORDS)
        reviews.append(np.asarray([index.get(w, OOV_ID) for w in words] or [OOV_ID], np.int32))
    return reviews


def batches(
    reviews: list[np.ndarray],
    labels: np.ndarray,
    batch_size: int,
    padding: int,
    rng: np.random.Generator | None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Batches of reviews of similar length, ``padding`` zeros on each side.

    Reviews are sorted by length within chunks of 50 batches (less padding);
    with ``rng`` the reviews and then the batches are shuffled.
    """
    order = rng.permutation(len(reviews)) if rng is not None else np.arange(len(reviews))
    chunk = batch_size * 50
    groups = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[np.argsort([len(reviews[i]) for i in part], kind="stable")]
        groups += [part[k : k + batch_size] for k in range(0, len(part), batch_size)]
    if rng is not None:
        groups = [groups[i] for i in rng.permutation(len(groups))]
    for group in groups:
        width = max(len(reviews[i]) for i in group) + 2 * padding
        ids = np.zeros((len(group), width), np.int32)
        for row, i in enumerate(group):
            ids[row, padding : padding + len(reviews[i])] = reviews[i]
        yield ids, labels[group]


def build_region_cnn(vocabulary_size: int, regions: list[int], features: int, dropout: float):
    """(batch, words + 2 (max(regions) - 1)) ids, zero-padded -> (batch, 2) logits.

    One layer of region units per region size, side by side, each max-pooled.
    """
    import keras
    import tensorflow as tf

    class RegionCnn(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            # Per region size, one table per position in the region, stacked:
            # row k * vocabulary_size + id.
            self.tables, self.biases = [], []
            for size in regions:
                self.tables.append(
                    keras.layers.Embedding(
                        size * vocabulary_size,
                        features,
                        embeddings_initializer=keras.initializers.RandomUniform(-0.01, 0.01),
                    )
                )
                self.biases.append(
                    self.add_weight(shape=(features,), initializer="zeros", name=f"bias_{size}")
                )
            self.dropout = keras.layers.Dropout(dropout)
            self.logits = keras.layers.Dense(2)

        def call(self, ids, training=False):
            pooled = []
            for size, table, bias in zip(regions, self.tables, self.biases, strict=True):
                count = tf.shape(ids)[1] - size + 1
                parts = [ids[:, k : k + count] for k in range(size)]
                total = sum(table(part + k * vocabulary_size) for k, part in enumerate(parts))
                # A region of padding only gives 0: ReLU units are >= 0, so max pooling skips it.
                real = tf.reduce_any(tf.stack([part > 0 for part in parts], -1), -1)
                units = tf.nn.relu(total + bias) * tf.cast(real, total.dtype)[..., None]
                pooled.append(tf.reduce_max(units, axis=1))
            joined = pooled[0] if len(pooled) == 1 else tf.concat(pooled, axis=-1)
            return self.logits(self.dropout(joined, training=training))

    return RegionCnn()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--features", type=int, default=1000)
    parser.add_argument(
        "--regions", default="3", help="region sizes, comma-separated: one layer of units each"
    )
    parser.add_argument("--vocabulary-size", type=int, default=30000)
    parser.add_argument("--max-words", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--validation-split", default="random", choices=["random", "by_movie"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--test", action="store_true", help="score the test reviews at the end")
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from advanced_dl.models.optimizers import LazyAdam

    keras.utils.set_random_seed(args.seed)
    regions = [int(size) for size in args.regions.split(",")]
    padding = max(regions) - 1
    data = {"validation_fraction": 0.1, "validation_split": args.validation_split}
    train, validation, test = split_reviews(
        ImdbReviewsDataset().load(), {**data, "max_reviews_per_split": None}, args.seed
    )
    vocabulary = learn_vocabulary(train["text"], args.vocabulary_size)
    index = word_index(vocabulary)

    def encoded(frame):
        reviews = review_ids(list(frame["text"]), index, args.max_words)
        return reviews, frame["label"].to_numpy(np.int32)

    train_set, validation_set = encoded(train), encoded(validation)
    model = build_region_cnn(len(vocabulary), regions, args.features, args.dropout)
    model(np.zeros((1, 2 * padding + 1), np.int32))  # build it before tracing
    optimizer = LazyAdam(learning_rate=args.learning_rate)
    loss_of = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    spec = tf.TensorSpec([None, None], tf.int32)

    @tf.function(input_signature=[spec, tf.TensorSpec([None], tf.int32)])
    def train_step(ids, labels):
        with tf.GradientTape() as tape:
            loss = loss_of(labels, model(ids, training=True))
        variables = model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    @tf.function(input_signature=[spec])
    def logits_of(ids):
        return model(ids, training=False)

    def accuracy(reviews, labels) -> float:
        hits = sum(
            int(np.sum(np.argmax(logits_of(ids).numpy(), axis=1) == y))
            for ids, y in batches(reviews, labels, args.batch_size, padding, None)
        )
        return hits / len(labels)

    rng = np.random.default_rng(args.seed)
    for epoch in range(1, args.epochs + 1):
        start, losses = time.perf_counter(), []
        for ids, labels in batches(*train_set, args.batch_size, padding, rng):
            losses.append(float(train_step(ids, labels)))
        print(
            f"epoch {epoch}: loss {np.mean(losses):.4f}, validation accuracy "
            f"{accuracy(*validation_set):.4f}, {time.perf_counter() - start:.1f} s",
            flush=True,
        )
    if args.test:
        print(f"test accuracy {accuracy(*encoded(test)):.5f}", flush=True)


if __name__ == "__main__":
    main()
