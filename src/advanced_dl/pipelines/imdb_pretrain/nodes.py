"""Nodes of ``imdb_pretrain``: masked-token pre-training of a transformer encoder on
IMDB's own reviews (docs/algorithms.md, section 3; docs/pipelines/imdb_pretrain.md).

Review tables come from ``advanced_dl.io.ImdbReviewsDataset`` with the
unlabelled reviews (``split`` ``"unsup"``). Token arrays are ``(n_reviews,
sequence_length)`` int32, made by ``advanced_dl.features.text`` as fine-tuning
and serving make them. Parameters arrive validated (``parameters.py``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from typing import Any

import numpy as np
import pandas as pd

from advanced_dl.features.text import vectorise_texts, word_index
from advanced_dl.io.imdb import UNLABELLED_SPLIT

logger = logging.getLogger(__name__)

#: The splits pre-training reads: training reviews (labels unused) and unlabelled ones.
PRETRAINING_SPLITS = ("train", UNLABELLED_SPLIT)


def select_pretraining_reviews(
    reviews: pd.DataFrame, data_params: dict[str, Any], seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reviews pre-training learns from, and the few it is measured on.

    Test reviews are never among them. ``held_out_reviews`` unlabelled reviews,
    drawn with ``seed``, are kept out to measure the masked-token loss after
    each epoch; ``max_reviews`` (smoke tests) then draws that many of the rest.

    Returns:
        (pretraining, held_out) tables with the columns of ``reviews``.
    """
    unlabelled = reviews[reviews["split"] == UNLABELLED_SPLIT]
    if unlabelled.empty:
        raise ValueError(
            "Table 'reviews' has no unlabelled reviews (split 'unsup'); imdb_pretrain reads "
            "them from aclImdb/train/unsup/ of aclImdb_v1.tar.gz (catalog entry "
            "imdb_pretrain.reviews needs include_unlabelled: true)"
        )
    held_count = data_params["held_out_reviews"]
    if held_count >= len(unlabelled):
        raise ValueError(
            f"imdb_pretrain.data.held_out_reviews is {held_count} but there are only "
            f"{len(unlabelled)} unlabelled reviews"
        )
    rng = np.random.default_rng(seed)
    held_out = unlabelled.iloc[np.sort(rng.choice(len(unlabelled), held_count, replace=False))]
    pretraining = reviews[reviews["split"].isin(PRETRAINING_SPLITS)].drop(index=held_out.index)
    limit = data_params["max_reviews"]
    if limit is not None and limit < len(pretraining):
        pretraining = pretraining.iloc[np.sort(rng.choice(len(pretraining), limit, replace=False))]
    logger.info(
        "Pre-training on %d reviews (%s), %d unlabelled ones held out",
        len(pretraining),
        ", ".join(f"{n} {s}" for s, n in pretraining["split"].value_counts().items()),
        len(held_out),
    )
    return pretraining.reset_index(drop=True), held_out.reset_index(drop=True)


def vectorise_pretraining_reviews(
    pretraining_reviews: pd.DataFrame,
    held_out_reviews: pd.DataFrame,
    vocabulary: list[str],
    vectorisation_params: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray]:
    """Token ids of both tables, as fine-tuning makes them: ``(n, sequence_length)`` int32 each."""
    start = time.perf_counter()
    index = word_index(vocabulary)
    arrays = tuple(
        vectorise_texts(
            frame["text"],
            index,
            vectorisation_params["sequence_length"],
            vectorisation_params["keep"],
            count=len(frame),
            head_tokens=vectorisation_params["head_tokens"],
        )
        for frame in (pretraining_reviews, held_out_reviews)
    )
    logger.info(
        "Vectorised %d reviews (%d real tokens) in %.1f s",
        sum(len(a) for a in arrays),
        int(sum((a > 0).sum() for a in arrays)),
        time.perf_counter() - start,
    )
    return arrays


def pretraining_fingerprint(token_ids: np.ndarray, settings: dict[str, Any]) -> str:
    """A short digest of the tokens and settings: which checkpoints a fit may resume from."""
    digest = hashlib.sha256(np.ascontiguousarray(token_ids).tobytes())
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def pretrain_encoder(
    pretraining_tokens: np.ndarray,
    held_out_tokens: np.ndarray,
    vocabulary: list[str],
    checkpoints: Any,
    model_params: dict[str, Any],
    objective_params: dict[str, Any],
    training_params: dict[str, Any],
    seed: int,
) -> tuple[Any, dict[str, Any]]:
    """Pre-train a transformer encoder by masked-token prediction, resuming if it can.

    Each pass over ``pretraining_tokens`` is split into ``checkpoints_per_pass``
    Keras epochs; after each, the whole model (optimizer state included) is
    checkpointed in ``checkpoints`` (a ``training.CheckpointStore``) and one
    line logs the losses, tokens per second and time left. A run with the same
    tokens, settings and seed resumes from the last checkpoint, and since each
    step's batch depends only on the seed and the step
    (``features.masking.masked_batches``) it continues as if never stopped.
    The learning rate warms up linearly for ``warmup_steps`` then follows a
    cosine to 0 at the last step.

    Args:
        pretraining_tokens: ``(n, sequence_length)`` int32 ids of ``vocabulary``.
        held_out_tokens: ``(m, sequence_length)``; masked once (seeded), their
            loss is the per-epoch ``val_loss``.

    Returns:
        The encoder (``(batch, sequence_length)`` ids, the mask id included ->
        ``(batch, sequence_length, embedding_dim)``) and the pre-training
        history: per-epoch ``loss``, ``val_loss``, ``tokens_per_second``,
        ``epoch_seconds``; ``fit_seconds`` (this run's), ``epochs_trained``,
        ``resumed_from_epoch``, ``pretraining_tokens_per_pass``.
    """
    import keras

    from advanced_dl.features.masking import mask_tokens, masked_batches
    from advanced_dl.models.transformer import (
        ENCODER_NAME,
        build_masked_language_model,
        build_transformer_encoder,
    )
    from advanced_dl.training import checkpoint_callback, throughput_callback

    vocabulary_size = len(vocabulary)  # also the mask id
    batch_size = training_params["batch_size"]
    steps_per_pass = len(pretraining_tokens) // batch_size
    if steps_per_pass < training_params["checkpoints_per_pass"]:
        raise ValueError(
            f"{len(pretraining_tokens)} pre-training reviews make {steps_per_pass} batches of "
            f"{batch_size}, fewer than imdb_pretrain.training.checkpoints_per_pass "
            f"({training_params['checkpoints_per_pass']})"
        )
    steps_per_epoch = steps_per_pass // training_params["checkpoints_per_pass"]
    total_epochs = training_params["passes"] * training_params["checkpoints_per_pass"]
    total_steps = steps_per_epoch * total_epochs
    sequence_length = int(pretraining_tokens.shape[1])
    settings = {
        "model": model_params,
        "objective": objective_params,
        "training": training_params,
        "vocabulary": vocabulary,
        "seed": seed,
    }
    key = pretraining_fingerprint(pretraining_tokens, settings)

    with checkpoints.claim(key):
        resumed = checkpoints.latest(key)
        if resumed is not None:
            path, progress = resumed
            model = keras.saving.load_model(str(path))
            initial_epoch, history = progress["epochs_done"], progress["history"]
            logger.info(
                "Resuming pre-training from its checkpoint after epoch %d of %d (%s)",
                initial_epoch,
                total_epochs,
                path,
            )
        else:
            encoder = build_transformer_encoder(
                vocabulary_size=vocabulary_size + 1,
                sequence_length=sequence_length,
                **model_params,
            )
            schedule = keras.optimizers.schedules.CosineDecay(
                0.0,
                decay_steps=max(total_steps - training_params["warmup_steps"], 1),
                warmup_target=training_params["learning_rate"],
                warmup_steps=training_params["warmup_steps"],
            )
            model = build_masked_language_model(encoder, vocabulary_size, learning_rate=schedule)
            initial_epoch, history = 0, {}
        held_out = mask_tokens(
            held_out_tokens,
            np.random.default_rng([seed, 2]),
            vocabulary_size,
            objective_params["mask_fraction"],
        )
        throughput = throughput_callback(
            batch_size * sequence_length, steps_per_epoch, total_epochs, label="Pre-training epoch"
        )
        start = time.perf_counter()
        model.fit(
            masked_batches(
                pretraining_tokens,
                batch_size,
                vocabulary_size,
                seed,
                start_step=initial_epoch * steps_per_epoch,
                mask_fraction=objective_params["mask_fraction"],
            ),
            steps_per_epoch=steps_per_epoch,
            epochs=total_epochs,
            initial_epoch=initial_epoch,
            shuffle=False,  # the generator orders each pass itself
            validation_data=(
                {"token_ids": held_out.inputs, "positions": held_out.positions},
                held_out.targets,
                held_out.weights,
            ),
            verbose=0,
            callbacks=[throughput, checkpoint_callback(checkpoints, key, history)],
        )
        fit_seconds = time.perf_counter() - start
    metrics: dict[str, Any] = {k: [float(v) for v in values] for k, values in history.items()}
    metrics.update(
        fit_seconds=fit_seconds,
        epochs_trained=total_epochs,
        resumed_from_epoch=initial_epoch,
        pretraining_tokens_per_pass=steps_per_pass * batch_size * sequence_length,
    )
    if throughput.tokens_per_second:
        metrics["mean_tokens_per_second"] = float(np.mean(throughput.tokens_per_second))
    logger.info(
        "Pre-training done: %d epochs (%d steps), held-out loss %.4f",
        total_epochs,
        total_steps,
        history["val_loss"][-1] if history.get("val_loss") else math.nan,
    )
    return model.get_layer(ENCODER_NAME), metrics


def build_served_encoder(
    encoder: Any,
    vocabulary: list[str],
    held_out_reviews: pd.DataFrame,
    vectorisation_params: dict[str, Any],
    model_params: dict[str, Any],
    pretraining_history: dict[str, Any],
) -> Any:
    """The encoder as users fine-tune and serve it: raw text in, one vector per review out.

    Its vocabulary, vectorisation and architecture travel with it, so
    fine-tuning checks its own parameters against them. The input example
    is the start of two held-out reviews.
    """
    from advanced_dl.serving.imdb_transformer import REVIEW_COLUMN, ReviewEncoderModel

    example = pd.DataFrame(
        {REVIEW_COLUMN: [text[:300] for text in held_out_reviews["text"].iloc[:2].tolist()]}
    )
    losses = pretraining_history.get("val_loss") or [math.nan]
    return ReviewEncoderModel(
        encoder,
        input_example=example,
        vocabulary=vocabulary,
        sequence_length=vectorisation_params["sequence_length"],
        keep=vectorisation_params["keep"],
        head_tokens=vectorisation_params["head_tokens"],
        architecture={**model_params, "vocabulary_size": vectorisation_params["vocabulary_size"]},
        held_out_loss=float(losses[-1]),
    )
