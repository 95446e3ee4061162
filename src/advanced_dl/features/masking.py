"""Masked-token inputs for pre-training a text encoder (BERT's objective), from token ids.

Token ids follow ``features.text``: 0 is padding, 1 out-of-vocabulary, the
rest words. The mask token is one id past the vocabulary (``vocabulary_size``),
so the encoder's embedding has ``vocabulary_size + 1`` rows and no word loses
its own. No Kedro, MLflow or TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from advanced_dl.features.text import PADDING_ID


@dataclass(frozen=True)
class MaskedBatch:
    """One batch of masked sequences and what the model must predict."""

    inputs: np.ndarray  # (batch, length) int32: token ids with some replaced
    positions: np.ndarray  # (batch, predictions) int32: the positions to predict
    targets: np.ndarray  # (batch, predictions) int32: the original ids there
    weights: np.ndarray  # (batch, predictions) float32: 1 for a prediction, 0 for filler


def predictions_per_sequence(sequence_length: int, mask_fraction: float) -> int:
    """Positions predicted per sequence at most: ``ceil(mask_fraction x sequence_length)``."""
    return max(1, math.ceil(mask_fraction * sequence_length))


def mask_tokens(
    token_ids: np.ndarray,
    rng: np.random.Generator,
    vocabulary_size: int,
    mask_fraction: float = 0.15,
) -> MaskedBatch:
    """Choose ``mask_fraction`` of each sequence's tokens (never padding) to predict.

    Of the chosen tokens, 80% become the mask id, 10% a random word id and 10%
    stay as they are (BERT's recipe: the model cannot tell a kept token from a
    context token, so it must represent every position well).

    Args:
        token_ids: (batch, length) ids in ``[0, vocabulary_size)``.
        vocabulary_size: the mask id is this value.

    Returns:
        :class:`MaskedBatch`; a sequence with fewer tokens than predictions
        fills the rest with position 0, target 0 and weight 0.
    """
    token_ids = np.asarray(token_ids, dtype=np.int32)
    batch, length = token_ids.shape
    predictions = predictions_per_sequence(length, mask_fraction)
    inputs = token_ids.copy()
    positions = np.zeros((batch, predictions), dtype=np.int32)
    targets = np.zeros((batch, predictions), dtype=np.int32)
    weights = np.zeros((batch, predictions), dtype=np.float32)
    for row in range(batch):
        candidates = np.flatnonzero(token_ids[row] != PADDING_ID)
        count = min(len(candidates), max(1, round(mask_fraction * len(candidates))))
        if count == 0:
            continue
        chosen = np.sort(rng.choice(candidates, size=count, replace=False))
        positions[row, :count] = chosen
        targets[row, :count] = token_ids[row, chosen]
        weights[row, :count] = 1.0
        roll = rng.random(count)
        masked = chosen[roll < 0.8]
        randomised = chosen[(roll >= 0.8) & (roll < 0.9)]
        inputs[row, masked] = vocabulary_size
        inputs[row, randomised] = rng.integers(2, vocabulary_size, size=len(randomised))
    return MaskedBatch(inputs, positions, targets, weights)


def masked_batches(
    token_ids: np.ndarray,
    batch_size: int,
    vocabulary_size: int,
    seed: int,
    start_step: int = 0,
    mask_fraction: float = 0.15,
) -> Iterator[tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]]:
    """Endless masked batches for ``model.fit``, from global step ``start_step`` on.

    Passes over ``token_ids`` (n, length) in a new order each pass (the few
    rows past the last full batch sit that pass out). Step ``s``'s
    batch depends only on ``(seed, s)``, so a fit resumed at step ``s`` sees
    exactly the batches an uninterrupted one would have.

    Yields:
        ``({"token_ids", "positions"}, targets, weights)`` of one
        :class:`MaskedBatch`, ``batch_size`` sequences.
    """
    rows = len(token_ids)
    steps_per_pass = rows // batch_size
    if steps_per_pass < 1:
        raise ValueError(f"{rows} sequences do not fill one batch of {batch_size}")
    step, order, order_pass = start_step, None, -1
    while True:
        pass_index, within = divmod(step, steps_per_pass)
        if pass_index != order_pass:
            order = np.random.default_rng([seed, pass_index]).permutation(rows)
            order_pass = pass_index
        chosen = order[within * batch_size : (within + 1) * batch_size]
        batch = mask_tokens(
            token_ids[chosen],
            np.random.default_rng([seed, pass_index, within, 1]),
            vocabulary_size,
            mask_fraction,
        )
        yield (
            {"token_ids": batch.inputs, "positions": batch.positions},
            batch.targets,
            batch.weights,
        )
        step += 1
