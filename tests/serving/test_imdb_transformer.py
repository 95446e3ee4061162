"""The served IMDB model gives exactly the pipeline's probabilities on the same reviews."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest

from advanced_dl.features import InvalidInputError
from advanced_dl.models.transformer import build_transformer_classifier
from advanced_dl.pipelines.imdb_transformer import nodes
from tests.synthetic_imdb import VECTORISATION

EVALUATION = {"batch_size": 16, "threshold": 0.5}


# The reference; what the tuned environment changes (head and tail kept, word pairs);
# reviews read whole as windows.
@pytest.mark.parametrize(
    ("keep", "head_tokens", "bigram_buckets", "windows"),
    [("last", 0, 0, 1), ("head_and_tail", 3, 17, 1), ("head_and_tail", 3, 17, 2)],
)
def test_served_model_matches_the_pipeline(keep, head_tokens, bigram_buckets, windows):
    vectorisation = {
        **VECTORISATION,
        "keep": keep,
        "head_tokens": head_tokens,
        "windows": windows,
    }
    reviews = pd.DataFrame(
        {
            "text": [
                "A superb, moving film. Loved it!",
                "Dull and boring.<br />A waste of time.",
                "The plot was great but the acting awful and the story dull",
            ],
            "label": [1, 0, 0],
        }
    )
    vocabulary = nodes.learn_review_vocabulary(reviews, vectorisation)
    _, _, tokens = nodes.vectorise_reviews(
        reviews.iloc[:0], reviews.iloc[:0], reviews, vocabulary, vectorisation
    )
    keras.utils.set_random_seed(0)
    model = build_transformer_classifier(
        vocabulary_size=len(vocabulary),
        sequence_length=8,
        embedding_dim=8,
        num_heads=2,
        key_dim=4,
        feed_forward_dim=8,
        dense_units=4,
        bigram_buckets=bigram_buckets,
    )
    probabilities = nodes.predict_test_reviews(model, tokens, EVALUATION)
    served = nodes.build_served_model(model, vocabulary, reviews, vectorisation, EVALUATION)
    assert served.state()["head_tokens"] == head_tokens
    assert served.state()["windows"] == windows
    scored = served.predict(None, pd.DataFrame({"review": reviews["text"]}))
    assert list(scored.columns) == ["probability_positive", "label"]
    np.testing.assert_array_equal(scored["probability_positive"].to_numpy(), probabilities)
    expected = np.where(probabilities >= 0.5, "positive", "negative")
    np.testing.assert_array_equal(scored["label"].to_numpy(), expected)

    with pytest.raises(InvalidInputError, match="column 'review'"):
        served.predict(None, pd.DataFrame({"text": ["fine"]}))
    with pytest.raises(InvalidInputError, match="row 0: the review is empty"):
        served.predict(None, pd.DataFrame({"review": [""]}))
