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
    windows: int = 1,
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
        windows: 1 reads one window per text (the reference). More reads a
            text of up to ``windows * sequence_length`` words whole (longer ones
            cut by ``keep``) as windows of ``sequence_length`` words that cover
            it (:func:`window_starts`); the rest of the text's rows stay padding.

    Returns:
        ``(n_texts, sequence_length)`` int32 array; with ``windows`` > 1,
        ``(n_texts, windows, sequence_length)``.
    """
    if keep not in KEEP_ENDS:
        raise ValueError(f"keep must be one of {KEEP_ENDS}, got {keep!r}")
    if windows < 1:
        raise ValueError(f"windows must be >= 1, got {windows}")
    check_head_tokens(keep, head_tokens, sequence_length)
    index = vocabulary if isinstance(vocabulary, dict) else word_index(vocabulary)
    if count is None:
        texts = list(texts) if not isinstance(texts, Sequence) else texts
        count = len(texts)
    token_ids = np.zeros((count, windows, sequence_length), dtype=np.int32)
    for row, text in enumerate(texts):
        words = kept_words(tokenise(text), windows * sequence_length, keep, head_tokens)
        ids = [index.get(word, OOV_ID) for word in words]
        if len(ids) <= sequence_length:
            if ids:
                token_ids[row, 0, sequence_length - len(ids) :] = ids
            continue
        for window, start in enumerate(window_starts(len(ids), sequence_length)):
            token_ids[row, window] = ids[start : start + sequence_length]
    return token_ids[:, 0] if windows == 1 else token_ids


def window_starts(length: int, sequence_length: int) -> list[int]:
    """Where the windows of ``sequence_length`` words covering ``length`` words start.

    ``ceil(length / sequence_length)`` windows, the first at word 0 and the last
    ending at the last word, spread evenly between (neighbours overlap by
    less than a window).
    """
    if length <= sequence_length:
        return [0]
    count = -(-length // sequence_length)
    return np.linspace(0, length - sequence_length, count).round().astype(int).tolist()


def flatten_windows(token_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The windows a model reads, and the text each belongs to.

    Args:
        token_ids: ``(n_texts, sequence_length)`` or
            ``(n_texts, windows, sequence_length)`` (:func:`vectorise_texts`).

    Returns:
        ``(n_windows, sequence_length)`` token ids (a text's first window
        always, its others where they hold a word) and ``(n_windows,)`` the
        index of each window's text.
    """
    if token_ids.ndim == 2:
        return token_ids, np.arange(len(token_ids))
    texts, windows = np.nonzero(used_windows(token_ids))
    return token_ids[texts, windows], texts


def used_windows(token_ids: np.ndarray) -> np.ndarray:
    """``(n_texts, windows)`` bool: the windows a model reads, a text's first always and
    its others where they hold a word (``(n_texts, 1)`` for one window per text)."""
    if token_ids.ndim == 2:
        return np.ones((len(token_ids), 1), dtype=bool)
    used = (token_ids != PADDING_ID).any(axis=2)
    used[:, 0] = True
    return used


def mean_log_odds(window_probabilities: np.ndarray, texts: np.ndarray, count: int) -> np.ndarray:
    """``(count,)`` probability of each text: the mean log-odds of its windows' probabilities.

    Log-odds rather than probabilities, so that a confident window outweighs an
    unsure one (a review's verdict is usually in one place).
    """
    clipped = np.clip(np.asarray(window_probabilities, dtype=np.float64), 1e-7, 1 - 1e-7)
    log_odds = np.log(clipped) - np.log1p(-clipped)
    mean = np.bincount(texts, log_odds, count) / np.maximum(np.bincount(texts, None, count), 1)
    return 1.0 / (1.0 + np.exp(-mean))


def predict_positive(keras_model: Any, token_ids: np.ndarray, batch_size: int) -> np.ndarray:
    """``(n_texts,)`` probability that each text is positive (class 1), whatever its windows.

    Args:
        keras_model: ``(batch, sequence_length)`` ids -> ``(batch, 2)`` probabilities.
        token_ids: as :func:`vectorise_texts` returns them.
    """
    rows, texts = flatten_windows(np.asarray(token_ids, dtype=np.int32))
    if not len(rows):
        return np.zeros(0)
    probabilities = np.asarray(keras_model.predict(rows, batch_size=batch_size, verbose=0))
    positive = probabilities[:, 1].astype(np.float64)
    if token_ids.ndim == 2:
        return positive
    return mean_log_odds(positive, texts, len(token_ids))


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
