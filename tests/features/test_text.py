"""Review text -> token ids, shared by the imdb_transformer pipeline and its served model."""

from __future__ import annotations

import numpy as np
import pytest

from advanced_dl.features import InvalidInputError
from advanced_dl.features.text import (
    OOV_ID,
    check_reviews,
    learn_vocabulary,
    tokenise,
    vectorise_texts,
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
