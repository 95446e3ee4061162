"""Figures of ``imdb_transformer``: the test confusion matrix and one review's attention."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from advanced_dl.features.text import LABELS, PADDING_ID


def plot_confusion_matrix(
    test_reviews: pd.DataFrame, test_probabilities: np.ndarray, evaluation_params: dict[str, Any]
) -> Figure:
    """Test confusion matrix (rows: true sentiment, columns: predicted), counts and row shares."""
    from sklearn.metrics import confusion_matrix

    truth = test_reviews["label"].to_numpy(np.int64)
    predicted = (np.asarray(test_probabilities) >= evaluation_params["threshold"]).astype(np.int64)
    counts = confusion_matrix(truth, predicted, labels=[0, 1])
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    figure = Figure(figsize=(4.8, 4.2), layout="constrained")
    axis = figure.subplots()
    image = axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for row in range(2):
        for column in range(2):
            axis.text(
                column,
                row,
                f"{counts[row, column]}\n({shares[row, column]:.1%})",
                ha="center",
                va="center",
                color="white" if shares[row, column] > 0.5 else "black",
            )
    axis.set_xticks([0, 1], LABELS)
    axis.set_yticks([0, 1], LABELS)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(f"Test confusion matrix ({len(truth)} reviews)")
    figure.colorbar(image, ax=axis, label="share of true class")
    return figure


def plot_attention(
    trained_model: Any,
    test_tokens: np.ndarray,
    test_reviews: pd.DataFrame,
    vocabulary: list[str],
    figure_params: dict[str, Any],
) -> Figure:
    """Attention weights of one test review, one heat map per head.

    Shows the last ``attention_tokens`` positions of review number
    ``attention_review_index`` (padding excluded), words on both axes: row
    = the attending word, column = the word attended to.
    """
    from advanced_dl.models.transformer import attention_weights

    index = figure_params["attention_review_index"]
    if index >= len(test_tokens):
        raise ValueError(
            "Parameter 'imdb_transformer.figures.attention_review_index' must be below the "
            f"number of test reviews ({len(test_tokens)}); got {index}"
        )
    tokens = np.asarray(test_tokens[index : index + 1], dtype=np.int32)
    if tokens.ndim == 3:  # a review read as windows: its last one holds its ending
        used = np.flatnonzero((tokens[0] != PADDING_ID).any(axis=1))
        tokens = tokens[:, used[-1] if used.size else 0]
    weights = attention_weights(trained_model, tokens)[0]  # (heads, length, length)
    present = np.flatnonzero(tokens[0] != PADDING_ID)
    shown = present[-figure_params["attention_tokens"] :] if present.size else np.arange(0)
    words = [vocabulary[t] for t in tokens[0, shown]]
    heads = weights.shape[0]
    size = max(4.0, 0.2 * len(shown) + 1.5)
    figure = Figure(figsize=(size * heads, size + 0.6), layout="constrained")
    axes = figure.subplots(1, heads, squeeze=False)[0]
    for head, axis in enumerate(axes):
        block = weights[head][np.ix_(shown, shown)]
        image = axis.imshow(block, cmap="viridis", aspect="equal")
        axis.set_xticks(range(len(words)), words, rotation=90, fontsize=7)
        axis.set_yticks(range(len(words)), words, fontsize=7)
        axis.set_title(f"head {head}")
        figure.colorbar(image, ax=axis, shrink=0.7)
    review = test_reviews.iloc[index]
    figure.suptitle(
        f"Attention weights, test review {index} (true: {LABELS[int(review['label'])]}, "
        f"last {len(shown)} of {present.size} tokens)"
    )
    return figure
