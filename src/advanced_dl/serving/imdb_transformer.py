"""The served IMDB sentiment model: raw review text in, probability and label out.

Reviews are vectorised by the pipeline's own code (``advanced_dl.features.text``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from advanced_dl.features import InvalidInputError
from advanced_dl.features.text import KEEP_ENDS, LABELS, check_reviews, vectorise_texts, word_index
from advanced_dl.serving import KerasPyfuncModel

REVIEW_COLUMN = "review"


class ReviewSentimentModel(KerasPyfuncModel):
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
        vocabulary: Sequence[str] = (),
        sequence_length: int = 0,
        keep: str = "last",
        head_tokens: int = 0,
        threshold: float = 0.5,
    ) -> None:
        super().__init__(keras_model, input_example)
        self.set_state(
            {
                "vocabulary": list(vocabulary),
                "sequence_length": sequence_length,
                "keep": keep,
                "head_tokens": head_tokens,
                "threshold": threshold,
            },
            {},
        )

    def state(self) -> dict[str, Any]:
        return {
            "vocabulary": self.vocabulary,
            "sequence_length": self.sequence_length,
            "keep": self.keep,
            "head_tokens": self.head_tokens,
            "threshold": self.threshold,
        }

    def set_state(self, state: dict[str, Any], sparse: dict[str, Any]) -> None:
        if state["keep"] not in KEEP_ENDS:
            raise ValueError(f"keep must be one of {KEEP_ENDS}, got {state['keep']!r}")
        self.vocabulary = list(state["vocabulary"])
        self.sequence_length = int(state["sequence_length"])
        self.keep = state["keep"]
        self.head_tokens = int(state.get("head_tokens", 0))  # absent from models before it
        self.threshold = float(state["threshold"])
        self.__dict__.pop("_word_index", None)

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        if REVIEW_COLUMN not in frame.columns:
            raise InvalidInputError(
                f"Expected a column {REVIEW_COLUMN!r} with review text, got columns "
                f"{list(frame.columns)}"
            )
        reviews = frame[REVIEW_COLUMN].tolist()
        check_reviews(reviews, REVIEW_COLUMN)
        if not reviews:
            return pd.DataFrame(
                {"probability_positive": np.zeros(0), "label": np.array([], dtype=object)}
            )
        token_ids = vectorise_texts(
            reviews, self._index(), self.sequence_length, self.keep, head_tokens=self.head_tokens
        )
        probabilities = np.asarray(self.keras_model.predict(token_ids, batch_size=256, verbose=0))
        positive = probabilities[:, 1].astype(np.float64)
        labels = np.where(positive >= self.threshold, LABELS[1], LABELS[0])
        return pd.DataFrame(
            {"probability_positive": positive, "label": labels.astype(object)}, index=frame.index
        )

    def _index(self) -> dict[str, int]:
        # Built once per loaded model.
        index = self.__dict__.get("_word_index")
        if index is None:
            index = self._word_index = word_index(self.vocabulary)
        return index
