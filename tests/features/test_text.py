"""Review text -> token ids, shared by the imdb_transformer pipeline and its served model."""

from __future__ import annotations

import numpy as np
import pytest

from advanced_dl.features import InvalidInputError
from advanced_dl.features.text import (
    OOV_ID,
    check_reviews,
    flatten_windows,
    learn_vocabulary,
    mean_log_odds,
    predict_positive,
    tokenise,
    vectorise_texts,
    window_starts,
)


def test_tokenise_lowercases_and_drops_markup_and_punctuation():
    assert tokenise("Don't MISS it!<br /><br />A 10/10 film.") == [
        "don't",
        "miss",
        "it",
        "a",
        "10",
        "10",
        "film",
    ]


def test_vocabulary_ranks_by_frequency_then_alphabet():
    vocabulary = learn_vocabulary(["good good good film", "bad film", "good bad"], 4)
    assert vocabulary == ["", "[UNK]", "good", "bad"]  # "film" (2) loses the tie to "bad"
    with pytest.raises(ValueError, match="vocabulary_size must be >= 3"):
        learn_vocabulary(["a"], 2)


def test_vectorise_keeps_the_configured_end_and_pads_left():
    vocabulary = ["", "[UNK]", "one", "two", "three", "four"]
    texts = ["one two three four", "two", "five one"]
    last = vectorise_texts(texts, vocabulary, 3)
    assert last.dtype == np.int32
    np.testing.assert_array_equal(last, [[3, 4, 5], [0, 0, 3], [0, OOV_ID, 2]])
    first = vectorise_texts(iter(texts), vocabulary, 3, keep="first", count=3)
    np.testing.assert_array_equal(first[0], [2, 3, 4])
    with pytest.raises(ValueError, match="keep must be one of"):
        vectorise_texts(texts, vocabulary, 3, keep="middle")


def test_head_and_tail_keeps_the_opening_and_the_end():
    vocabulary = ["", "[UNK]", "one", "two", "three", "four", "five"]
    texts = ["one two three four five", "two three"]
    kept = vectorise_texts(texts, vocabulary, 3, keep="head_and_tail", head_tokens=1)
    np.testing.assert_array_equal(kept, [[2, 5, 6], [0, 3, 4]])  # "one" + "four five"
    for head_tokens in (0, 3):
        with pytest.raises(ValueError, match="head_tokens must be between 1 and"):
            vectorise_texts(texts, vocabulary, 3, keep="head_and_tail", head_tokens=head_tokens)


@pytest.mark.parametrize(
    ("length", "starts"), [(3, [0]), (4, [0, 1]), (7, [0, 2, 4]), (9, [0, 3, 6])]
)
def test_windows_cover_every_word_without_a_gap(length, starts):
    assert window_starts(length, 3) == starts
    covered = set().union(*(range(start, start + 3) for start in starts))
    assert covered == set(range(max(length, 3)))


def test_a_review_read_as_windows_is_read_whole_and_its_prediction_is_their_mean_log_odds():
    vocabulary = ["", "[UNK]", "one", "two", "three", "four", "five", "six", "seven"]
    texts = ["one two three four five six seven", "two", "one two three four five"]
    windowed = vectorise_texts(texts, vocabulary, 3, keep="last", windows=2)
    assert windowed.shape == (3, 2, 3)
    # The first review's last 6 words (the cut keeps windows * 3), then windows at 0 and 3.
    np.testing.assert_array_equal(windowed[0], [[3, 4, 5], [6, 7, 8]])
    np.testing.assert_array_equal(windowed[1], [[0, 0, 3], [0, 0, 0]])  # one window, padded
    np.testing.assert_array_equal(windowed[2], [[2, 3, 4], [4, 5, 6]])  # overlapping by one
    # One window: exactly the single-window vectorisation.
    np.testing.assert_array_equal(
        vectorise_texts(texts, vocabulary, 3, windows=1), vectorise_texts(texts, vocabulary, 3)
    )
    rows, owners = flatten_windows(windowed)
    np.testing.assert_array_equal(owners, [0, 0, 1, 2, 2])
    np.testing.assert_array_equal(rows[2], [0, 0, 3])

    class WindowModel:  # P(positive) from the window's last token
        def predict(self, rows, batch_size, verbose):
            positive = {8: 0.9, 5: 0.2, 3: 0.7, 4: 0.6, 6: 0.1}
            return np.array([[1 - positive[r[-1]], positive[r[-1]]] for r in rows])

    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    expected = 1 / (
        1
        + np.exp(
            -np.array([(logit(0.2) + logit(0.9)) / 2, logit(0.7), (logit(0.6) + logit(0.1)) / 2])
        )
    )
    np.testing.assert_allclose(predict_positive(WindowModel(), windowed, 4), expected)
    np.testing.assert_allclose(mean_log_odds(np.array([0.9]), np.array([0]), 1), [0.9])
    with pytest.raises(ValueError, match="windows must be >= 1"):
        vectorise_texts(texts, vocabulary, 3, windows=0)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([""], "row 0: the review is empty"),
        (["?!"], "empty"),
        ([3], "got int"),
        (["fine", None], "row 1: expected review text"),
    ],
)
def test_bad_reviews_are_refused_naming_column_and_row(values, message):
    with pytest.raises(InvalidInputError, match=message) as error:
        check_reviews(values, "review")
    assert "Column 'review'" in str(error.value)
