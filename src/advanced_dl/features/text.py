"""Review text -> token ids, the same in the ``imdb_transformer`` pipeline and its served model.

Vocabulary convention (as Keras' ``TextVectorization``): id 0 is padding
(``""``), id 1 the out-of-vocabulary token (``"[UNK]"``), ids 2.. the most
frequent training words, most frequent first (ties: alphabetical order).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from advanced_dl.features import InvalidInputError

PADDING_TOKEN = ""
OOV_TOKEN = "[UNK]"
PADDING_ID = 0
OOV_ID = 1
KEEP_ENDS = ("last", "first", "head_and_tail")
LABELS = ("negative", "positive")  # class 0, class 1

# IMDB reviews carry HTML line breaks; they separate words.
_LINE_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
# Runs of letters/digits (any script), inner apostrophes kept ("don't", "l'amour").
_WORD = re.compile(r"\w+(?:'\w+)*")


def tokenise(text: str) -> list[str]:
    """Lower-case words of ``text``; HTML line breaks and punctuation separate words."""
    return _WORD.findall(_LINE_BREAK.sub(" ", text.lower()))


def learn_vocabulary(texts: Iterable[str], vocabulary_size: int) -> list[str]:
    """The ``vocabulary_size`` entries: padding, OOV, then the most frequent words.

    Returns a list whose index is the token id (fewer entries when the texts
    have fewer distinct words).
    """
    if vocabulary_size < 3:
        raise ValueError(
            f"vocabulary_size must be >= 3 (padding, OOV, a word), got {vocabulary_size}"
        )
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(tokenise(text))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [PADDING_TOKEN, OOV_TOKEN] + [word for word, _ in ranked[: vocabulary_size - 2]]


def word_index(vocabulary: Sequence[str]) -> dict[str, int]:
    """Word -> id for the words of ``vocabulary`` (padding and OOV excluded)."""
    return {word: token_id for token_id, word in enumerate(vocabulary) if token_id > OOV_ID}


def kept_words(
    words: list[str], sequence_length: int, keep: str, head_tokens: int = 0
) -> list[str]:
    """The words of a review that are kept when it is longer than ``sequence_length``.

    ``"last"``: its last ``sequence_length`` words; ``"first"``: its first ones;
    ``"head_and_tail"``: its first ``head_tokens`` and last
    ``sequence_length - head_tokens`` words (openings and verdicts both carry sentiment).
    """
    if len(words) <= sequence_length:
        return words
    if keep == "last":
        return words[-sequence_length:]
    if keep == "first":
        return words[:sequence_length]
    return words[:head_tokens] + words[len(words) - (sequence_length - head_tokens) :]


def check_head_tokens(keep: str, head_tokens: int, sequence_length: int) -> None:
    """Raise ``ValueError`` unless ``"head_and_tail"`` keeps at least one word of each end."""
    if keep == "head_and_tail" and not 0 < head_tokens < sequence_length:
        raise ValueError(
            f"head_tokens must be between 1 and sequence_length - 1 ({sequence_length - 1}) "
            f"when keep is 'head_and_tail', got {head_tokens}"
        )


def vectorise_texts(
    texts: Iterable[str],
    vocabulary: Sequence[str] | dict[str, int],
    sequence_length: int,
    keep: str = "last",
    count: int | None = None,
    head_tokens: int = 0,
) -> np.ndarray:
    """Token ids of each text, cut or left-padded to ``sequence_length``.

    Args:
        texts: the reviews.
        vocabulary: list indexed by id (see module docstring) or a ready :func:`word_index`.
        sequence_length: tokens per review.
        keep: which words of a longer review are kept (:func:`kept_words`);
            ``"last"`` is the reference. Shorter reviews are padded with 0 on
            the left whatever ``keep`` is (as the reference).
        count: number of texts, when ``texts`` is not a sized collection.
        head_tokens: with ``keep="head_and_tail"``, how many opening words are kept.

    Returns:
        ``(n_texts, sequence_length)`` int32 array.
    """
    if keep not in KEEP_ENDS:
        raise ValueError(f"keep must be one of {KEEP_ENDS}, got {keep!r}")
    check_head_tokens(keep, head_tokens, sequence_length)
    index = vocabulary if isinstance(vocabulary, dict) else word_index(vocabulary)
    if count is None:
        texts = list(texts) if not isinstance(texts, Sequence) else texts
        count = len(texts)
    token_ids = np.zeros((count, sequence_length), dtype=np.int32)
    for row, text in enumerate(texts):
        words = kept_words(tokenise(text), sequence_length, keep, head_tokens)
        if words:
            token_ids[row, sequence_length - len(words) :] = [
                index.get(word, OOV_ID) for word in words
            ]
    return token_ids


def check_reviews(values: Sequence[Any], column: str) -> None:
    """Raise :class:`InvalidInputError` unless every value is a string with a word in it."""
    for row, value in enumerate(values):
        if not isinstance(value, str):
            raise InvalidInputError(
                f"Column {column!r}, row {row}: expected review text (a string), "
                f"got {type(value).__name__} {value!r:.60}"
            )
        if not tokenise(value):
            raise InvalidInputError(
                f"Column {column!r}, row {row}: the review is empty "
                f"(no words in {value!r:.60}); give the text of a review"
            )
