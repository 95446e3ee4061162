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
