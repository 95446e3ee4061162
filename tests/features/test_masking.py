"""Masked-token inputs: the right share of real tokens, never padding, targets the originals."""

from __future__ import annotations

import numpy as np

from advanced_dl.features.masking import mask_tokens, predictions_per_sequence

VOCABULARY = 50  # ids 0..49; the mask id is 50


def test_masking_chooses_real_tokens_and_keeps_their_ids_as_targets():
    rng = np.random.default_rng(0)
    ids = rng.integers(2, VOCABULARY, size=(400, 40)).astype(np.int32)
    ids[:, 30:] = 0  # padding at the end of every sequence
    batch = mask_tokens(ids, np.random.default_rng(1), VOCABULARY)

    assert batch.positions.shape == (400, predictions_per_sequence(40, 0.15)) == (400, 6)
    chosen = batch.weights > 0
    assert (chosen.sum(axis=1) == round(0.15 * 30)).all()  # 15% of the 30 real tokens
    rows = np.repeat(np.arange(400)[:, None], 6, axis=1)
    assert (batch.positions[chosen] < 30).all()  # padding is never chosen
    np.testing.assert_array_equal(batch.targets[chosen], ids[rows[chosen], batch.positions[chosen]])
    # 80% masked, 10% a random word, 10% kept, and nothing else changed.
    replaced = batch.inputs[rows[chosen], batch.positions[chosen]]
    masked = (replaced == VOCABULARY).mean()
    assert 0.77 < masked < 0.83, masked
    changed = batch.inputs != ids
    changed[rows[chosen], batch.positions[chosen]] = False
    assert not changed.any()
    assert (batch.inputs[:, 30:] == 0).all()


def test_a_sequence_of_padding_only_predicts_nothing():
    batch = mask_tokens(np.zeros((2, 10), dtype=np.int32), np.random.default_rng(0), VOCABULARY)
    assert not batch.weights.any() and (batch.inputs == 0).all()


def _batches(generator, count):
    return [next(generator) for _ in range(count)]


def test_masked_batches_resumed_at_a_step_continue_as_if_never_stopped():
    from advanced_dl.features.masking import masked_batches

    ids = np.random.default_rng(0).integers(2, VOCABULARY, size=(50, 12)).astype(np.int32)
    straight = _batches(masked_batches(ids, 8, VOCABULARY, seed=3), 14)
    resumed = _batches(masked_batches(ids, 8, VOCABULARY, seed=3, start_step=9), 5)
    for expected, got in zip(straight[9:], resumed, strict=True):
        for a, b in zip(expected, got, strict=True):
            if isinstance(a, dict):
                for name in a:
                    np.testing.assert_array_equal(a[name], b[name])
            else:
                np.testing.assert_array_equal(a, b)
    # One pass is 6 batches of 8 rows; pass 2 draws a new order.
    assert not np.array_equal(straight[0][0]["token_ids"], straight[6][0]["token_ids"])


def test_masked_batches_refuse_too_few_sequences_for_a_batch():
    import pytest

    from advanced_dl.features.masking import masked_batches

    with pytest.raises(ValueError, match="3 sequences do not fill one batch of 8"):
        next(masked_batches(np.ones((3, 5), dtype=np.int32), 8, VOCABULARY, seed=0))
