"""The served IMDB sentiment model: raw review text in, probability and label out.

Reviews are vectorised by the pipeline's own code (``advanced_dl.features.text``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from advanced_dl.features import InvalidInputError
from advanced_dl.features.text import (
    KEEP_ENDS,
    LABELS,
    check_reviews,
    predict_positive,
    vectorise_texts,
    word_index,
)
from advanced_dl.serving import KerasPyfuncModel

REVIEW_COLUMN = "review"


class ReviewTextModel(KerasPyfuncModel):
    """What the served IMDB models share: raw review text in a ``review`` column,
    vectorised with the vocabulary and settings that travel with the model."""

    def __init__(
        self,
        keras_model: Any = None,
        input_example: pd.DataFrame | None = None,
        *,
        vocabulary: Sequence[str] = (),
        sequence_length: int = 0,
        keep: str = "last",
        head_tokens: int = 0,
        windows: int = 1,
    ) -> None:
        super().__init__(keras_model, input_example)
        self.set_vectorisation(
            {
                "vocabulary": list(vocabulary),
                "sequence_length": sequence_length,
                "keep": keep,
                "head_tokens": head_tokens,
                "windows": windows,
            }
        )

    def vectorisation(self) -> dict[str, Any]:
        """The vocabulary and how a review is cut to windows of ``sequence_length`` tokens."""
        return {
            "vocabulary": self.vocabulary,
            "sequence_length": self.sequence_length,
            "keep": self.keep,
            "head_tokens": self.head_tokens,
            "windows": self.windows,
        }

    def set_vectorisation(self, state: dict[str, Any]) -> None:
        if state["keep"] not in KEEP_ENDS:
            raise ValueError(f"keep must be one of {KEEP_ENDS}, got {state['keep']!r}")
        self.vocabulary = list(state["vocabulary"])
        self.sequence_length = int(state["sequence_length"])
        self.keep = state["keep"]
        self.head_tokens = int(state.get("head_tokens", 0))  # absent from models before it
        self.windows = int(state.get("windows", 1))  # likewise
        self.__dict__.pop("_word_index", None)

    def review_token_ids(self, frame: pd.DataFrame) -> np.ndarray:
        """Token ids of the ``review`` column, checked: ``(n_rows, sequence_length)``,
        or ``(n_rows, windows, sequence_length)`` when ``windows`` > 1."""
        if REVIEW_COLUMN not in frame.columns:
            raise InvalidInputError(
                f"Expected a column {REVIEW_COLUMN!r} with review text, got columns "
                f"{list(frame.columns)}"
            )
        reviews = frame[REVIEW_COLUMN].tolist()
        check_reviews(reviews, REVIEW_COLUMN)
        return vectorise_texts(
            reviews,
            self._index(),
            self.sequence_length,
            self.keep,
            count=len(reviews),
            head_tokens=self.head_tokens,
            windows=self.windows,
        )

    def _index(self) -> dict[str, int]:
        # Built once per loaded model.
        index = self.__dict__.get("_word_index")
        if index is None:
            index = self._word_index = word_index(self.vocabulary)
        return index


class ReviewSentimentModel(ReviewTextModel):
    """Served IMDB sentiment model: raw review text in, probability of a positive review out.

    Input: a DataFrame with a string column ``review``. Output: one row per
    review with ``probability_positive`` (float) and ``label``
    (``"positive"`` when the probability is >= ``threshold``, else ``"negative"``).
    The vocabulary travels with the model, so no separate vectoriser is needed.
    """

    ENTRYPOINT = "imdb_transformer"

    def __init__(
        self,
        keras_model: Any = None,
        input_example: pd.DataFrame | None = None,
        *,
        threshold: float = 0.5,
        **vectorisation: Any,
    ) -> None:
        super().__init__(keras_model, input_example, **vectorisation)
        self.threshold = float(threshold)

    def state(self) -> dict[str, Any]:
        return {**self.vectorisation(), "threshold": self.threshold}

    def set_state(self, state: dict[str, Any], sparse: dict[str, Any]) -> None:
        self.set_vectorisation(state)
        self.threshold = float(state["threshold"])

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        token_ids = self.review_token_ids(frame)
        if not len(token_ids):
            return pd.DataFrame(
                {"probability_positive": np.zeros(0), "label": np.array([], dtype=object)}
            )
        positive = predict_positive(self.keras_model, token_ids, batch_size=256)
        labels = np.where(positive >= self.threshold, LABELS[1], LABELS[0])
        return pd.DataFrame(
            {"probability_positive": positive, "label": labels.astype(object)}, index=frame.index
        )


class ReviewEncoderModel(ReviewTextModel):
    """The pre-trained encoder (``imdb_pretrain``), registered as ``imdb_encoder``.

    Served, it maps review text to one vector per review (the encoder's
    outputs averaged over the review's tokens): columns ``embedding_0`` ..
    ``embedding_<d-1>``. Fine-tuning (``imdb_transformer --env pretrained``)
    takes its Keras encoder, vocabulary and vectorisation from it;
    ``architecture`` (the ``imdb_pretrain.model`` parameters) and
    ``held_out_loss`` (the final masked-token loss) describe it.
    """

    ENTRYPOINT = "imdb_encoder"

    def __init__(
        self,
        keras_model: Any = None,
        input_example: pd.DataFrame | None = None,
        *,
        architecture: dict[str, Any] | None = None,
        held_out_loss: float | None = None,
        **vectorisation: Any,
    ) -> None:
        super().__init__(keras_model, input_example, **vectorisation)
        self.architecture = dict(architecture or {})
        self.held_out_loss = held_out_loss

    def state(self) -> dict[str, Any]:
        return {
            **self.vectorisation(),
            "architecture": self.architecture,
            "held_out_loss": self.held_out_loss,
        }

    def set_state(self, state: dict[str, Any], sparse: dict[str, Any]) -> None:
        self.set_vectorisation(state)
        self.architecture = dict(state["architecture"])
        self.held_out_loss = state.get("held_out_loss")

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        token_ids = self.review_token_ids(frame)
        width = int(self.keras_model.output_shape[-1])
        if not len(token_ids):
            return pd.DataFrame(np.zeros((0, width)), columns=_embedding_columns(width))
        encoded = np.asarray(self.keras_model.predict(token_ids, batch_size=64, verbose=0))
        real = (token_ids > 0)[..., None]
        pooled = (encoded * real).sum(axis=1) / np.maximum(real.sum(axis=1), 1)
        return pd.DataFrame(
            pooled.astype(np.float64), columns=_embedding_columns(width), index=frame.index
        )


def _embedding_columns(width: int) -> list[str]:
    return [f"embedding_{i}" for i in range(width)]
