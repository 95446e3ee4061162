"""Nodes of ``imdb_transformer`` (ALGORITHMS.md section 3).

Review tables have one row per review: ``text`` (str), ``label`` (int8,
1 = positive, 0 = negative), ``split`` (``"train"``/``"test"``), ``rating``
(int8, 1-10, from the file name) and ``review_id`` (int32, from the file name).
Token arrays are ``(n_reviews, sequence_length)`` int32 (see
``advanced_dl.serving.imdb_transformer`` for the vocabulary convention).
"""

from __future__ import annotations

import logging
import re
import tarfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from advanced_dl.plotting import plot_training_curves
from advanced_dl.serving.imdb_transformer import (
    KEEP_ENDS,
    LABELS,
    PADDING_ID,
    REVIEW_COLUMN,
    ReviewSentimentModel,
    learn_vocabulary,
    vectorize_texts,
    word_index,
)

logger = logging.getLogger(__name__)

NAMESPACE = "imdb_transformer"
SPLITS = ("train", "test")
SENTIMENTS = {"neg": 0, "pos": 1}
BAD_REVIEW_ACTIONS = ("error", "skip")
# <top>/<split>/<sentiment>/<id>_<rating>.txt; train/unsup (unlabelled) does not match.
_REVIEW_MEMBER = re.compile(r"^(?:[^/]+/)?(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")


def _fail(parameter: str, expected: str, got: Any) -> None:
    raise ValueError(f"Parameter '{NAMESPACE}.{parameter}' must be {expected}; got {got!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class ReviewArchiveError(ValueError):
    """The IMDB archive does not have the expected layout or content."""


def read_reviews(archive: Path, ingestion_params: dict[str, Any]) -> pd.DataFrame:
    """Stream the IMDB archive into one table of reviews, without extracting it.

    Reads ``<top>/{train,test}/{pos,neg}/<id>_<rating>.txt`` members (UTF-8);
    anything else (README, vocabulary, ``train/unsup``) is ignored. This node
    opens the archive itself (the path comes from ``RemoteFileDataset``): no
    Kedro dataset reads a tar stream. The content is validated instead of
    the archive checksum, since mirrors repack the archive.

    Args:
        archive: local path of ``aclImdb_v1.tar.gz`` (any tar compression works).
        ingestion_params: ``on_bad_review``: ``"error"`` (default) raises on a
            review that is not valid UTF-8 or has no words, naming the file;
            ``"skip"`` leaves such reviews out and logs how many.

    Returns:
        (n_reviews, 5) table ``text, label, split, rating, review_id``, sorted
        by split, label and id (25,000 train + 25,000 test for the full archive).

    Raises:
        ReviewArchiveError: unreadable archive, a missing ``train/test`` x
            ``pos/neg`` folder, a bad file name, or a bad review under "error".
    """
    on_bad_review = ingestion_params.get("on_bad_review", "error")
    if on_bad_review not in BAD_REVIEW_ACTIONS:
        _fail("ingestion.on_bad_review", f"one of {BAD_REVIEW_ACTIONS}", on_bad_review)
    start = time.perf_counter()
    texts: list[str] = []
    labels: list[int] = []
    splits: list[str] = []
    ratings: list[int] = []
    ids: list[int] = []
    skipped: dict[str, int] = {"invalid UTF-8": 0, "empty": 0}
    try:
        with tarfile.open(archive, mode="r|*") as tar:
            for member in tar:
                match = _REVIEW_MEMBER.match(member.name)
                if not member.isfile() or match is None:
                    continue
                split, sentiment, review_id, rating = match.groups()
                raw = tar.extractfile(member).read()
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    if on_bad_review == "error":
                        raise ReviewArchiveError(
                            f"{archive}: review {member.name} is not valid UTF-8 ({error}); "
                            f"set {NAMESPACE}.ingestion.on_bad_review to 'skip' to leave such "
                            "reviews out"
                        ) from error
                    skipped["invalid UTF-8"] += 1
                    continue
                if not text.strip():
                    if on_bad_review == "error":
                        raise ReviewArchiveError(
                            f"{archive}: review {member.name} is empty; set "
                            f"{NAMESPACE}.ingestion.on_bad_review to 'skip' to leave such "
                            "reviews out"
                        )
                    skipped["empty"] += 1
                    continue
                texts.append(text)
                labels.append(SENTIMENTS[sentiment])
                splits.append(split)
                ratings.append(int(rating))
                ids.append(int(review_id))
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ReviewArchiveError(
            f"Could not read {archive} as a tar archive ({type(error).__name__}: {error})"
        ) from error

    reviews = pd.DataFrame(
        {
            "text": pd.Series(texts, dtype="str"),
            "label": np.asarray(labels, dtype=np.int8),
            "split": pd.Series(splits, dtype="str"),
            "rating": np.asarray(ratings, dtype=np.int8),
            "review_id": np.asarray(ids, dtype=np.int32),
        }
    )
    del texts
    counts = reviews.groupby(["split", "label"]).size()
    missing = [
        f"{split}/{sentiment}"
        for split in SPLITS
        for sentiment, label in SENTIMENTS.items()
        if counts.get((split, label), 0) == 0
    ]
    if missing:
        raise ReviewArchiveError(
            f"{archive} has no reviews under {missing}; expected the IMDB layout "
            "<top>/{train,test}/{pos,neg}/<id>_<rating>.txt (aclImdb_v1.tar.gz)"
        )
    if any(skipped.values()):
        logger.warning("Skipped reviews in %s: %s", archive, skipped)
    reviews = reviews.sort_values(["split", "label", "review_id"], kind="stable")
    logger.info(
        "Read %d reviews (%s) from %s in %.1f s",
        len(reviews),
        ", ".join(f"{s}/{LABELS[label]}: {n}" for (s, label), n in counts.items()),
        archive,
        time.perf_counter() - start,
    )
    return reviews.reset_index(drop=True)


def validate_data_params(data_params: dict[str, Any]) -> None:
    """Raise a ValueError naming the first invalid ``imdb_transformer.data`` parameter."""
    fraction = data_params["validation_fraction"]
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction < 1:
        _fail("data.validation_fraction", "a number in (0, 1)", fraction)
    limit = data_params.get("max_reviews_per_split")
    if limit is not None and (not _is_int(limit) or limit < 4):
        _fail("data.max_reviews_per_split", "null (all reviews) or an integer >= 4", limit)


def _stratified_sample(frame: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """``size`` rows with the label proportions of ``frame`` (all rows if it is smaller)."""
    if size >= len(frame):
        return frame
    from sklearn.model_selection import train_test_split

    sample, _ = train_test_split(frame, train_size=size, stratify=frame["label"], random_state=seed)
    return sample.sort_index()


def split_reviews(
    reviews: pd.DataFrame, data_params: dict[str, Any], seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Training, validation and test tables.

    The validation reviews are a stratified random ``validation_fraction`` of
    the training reviews (the reference validated on the test set); the test
    reviews are only scored once, after training. ``max_reviews_per_split``
    first draws a stratified subset of each of the train and test splits
    (smoke tests); null keeps all.

    Returns:
        (train, validation, test) tables with the columns of ``reviews``.
    """
    validate_data_params(data_params)
    required = {"text", "label", "split"}
    if not required <= set(reviews.columns):
        raise ValueError(
            f"Table 'reviews' must have columns {sorted(required)}; got {list(reviews.columns)}"
        )
    from sklearn.model_selection import train_test_split

    limit = data_params.get("max_reviews_per_split")
    train = reviews[reviews["split"] == "train"]
    test = reviews[reviews["split"] == "test"]
    if limit is not None:
        train = _stratified_sample(train, limit, seed)
        test = _stratified_sample(test, limit, seed)
    train, validation = train_test_split(
        train,
        test_size=data_params["validation_fraction"],
        stratify=train["label"],
        random_state=seed,
    )
    logger.info(
        "Split: %d training, %d validation, %d test reviews", len(train), len(validation), len(test)
    )
    return (
        train.sort_index().reset_index(drop=True),
        validation.sort_index().reset_index(drop=True),
        test.reset_index(drop=True),
    )


def validate_vectorisation_params(vectorisation_params: dict[str, Any]) -> None:
    """Raise a ValueError naming the first invalid ``imdb_transformer.vectorisation`` parameter."""
    size = vectorisation_params["vocabulary_size"]
    if not _is_int(size) or size < 3:
        _fail("vectorisation.vocabulary_size", "an integer >= 3 (padding, OOV, words)", size)
    length = vectorisation_params["sequence_length"]
    if not _is_int(length) or length < 1:
        _fail("vectorisation.sequence_length", "a positive integer", length)
    if vectorisation_params["keep"] not in KEEP_ENDS:
        _fail("vectorisation.keep", f"one of {KEEP_ENDS}", vectorisation_params["keep"])


def learn_review_vocabulary(
    train_reviews: pd.DataFrame, vectorisation_params: dict[str, Any]
) -> list[str]:
    """The vocabulary of the training reviews only (validation and test unseen).

    Returns:
        Up to ``vocabulary_size`` tokens; index = token id; ``""`` (padding)
        at 0, ``"[UNK]"`` at 1, then words by decreasing training frequency.
    """
    validate_vectorisation_params(vectorisation_params)
    start = time.perf_counter()
    vocabulary = learn_vocabulary(train_reviews["text"], vectorisation_params["vocabulary_size"])
    logger.info(
        "Vocabulary: %d tokens from %d training reviews in %.1f s",
        len(vocabulary),
        len(train_reviews),
        time.perf_counter() - start,
    )
    return vocabulary


def vectorise_reviews(
    train_reviews: pd.DataFrame,
    validation_reviews: pd.DataFrame,
    test_reviews: pd.DataFrame,
    vocabulary: list[str],
    vectorisation_params: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Token ids of each split: ``(n_split, sequence_length)`` int32 arrays.

    Reviews longer than ``sequence_length`` keep their ``keep`` end
    (``"last"``: the last tokens, as the reference); shorter ones are padded
    with 0 on the left. Words outside the vocabulary become 1 (OOV).
    """
    validate_vectorisation_params(vectorisation_params)
    start = time.perf_counter()
    index = word_index(vocabulary)
    length, keep = vectorisation_params["sequence_length"], vectorisation_params["keep"]
    arrays = tuple(
        vectorize_texts(frame["text"], index, length, keep, count=len(frame))
        for frame in (train_reviews, validation_reviews, test_reviews)
    )
    total = sum(len(a) for a in arrays)
    logger.info(
        "Vectorised %d reviews to %d tokens (%s end kept) in %.1f s",
        total,
        length,
        keep,
        time.perf_counter() - start,
    )
    return arrays


def validate_training_params(model_params: dict[str, Any], training_params: dict[str, Any]) -> None:
    """Raise a ValueError naming the first invalid model or training parameter."""
    for name in (
        "embedding_dim",
        "num_heads",
        "key_dim",
        "feed_forward_dim",
        "dense_units",
        "num_classes",
    ):
        if not _is_int(model_params[name]) or model_params[name] < 1:
            _fail(f"model.{name}", "a positive integer", model_params[name])
    if model_params["num_classes"] != 2:
        _fail("model.num_classes", "2 (negative, positive)", model_params["num_classes"])
    if not 0 <= model_params["dropout_rate"] < 1:
        _fail("model.dropout_rate", "a number in [0, 1)", model_params["dropout_rate"])
    for name in ("epochs", "batch_size"):
        if not _is_int(training_params[name]) or training_params[name] < 1:
            _fail(f"training.{name}", "a positive integer", training_params[name])
    if not training_params["learning_rate"] > 0:
        _fail("training.learning_rate", "a positive number", training_params["learning_rate"])
    patience = training_params["early_stopping_patience"]
    if patience is not None and (not _is_int(patience) or patience < 0):
        _fail("training.early_stopping_patience", "null or an integer >= 0", patience)


def train_transformer(
    train_tokens: np.ndarray,
    train_reviews: pd.DataFrame,
    validation_tokens: np.ndarray,
    validation_reviews: pd.DataFrame,
    vocabulary: list[str],
    *,
    model_params: dict[str, Any],
    training_params: dict[str, Any],
    seed: int,
) -> tuple[Any, dict[str, Any]]:
    """Build the one-block transformer and fit it, selecting on the validation reviews.

    The "hold then decay" schedule runs throughout; early stopping on the
    validation loss restores the best epoch's weights at the end of training
    (the reference kept the last epoch's, selected on the test set).

    Args:
        train_tokens, validation_tokens: ``(n, sequence_length)`` int32 token ids.
        train_reviews, validation_reviews: their tables (``label`` is the target).

    Returns:
        The fitted ``keras.Model`` (``(batch, sequence_length)`` ids ->
        ``(batch, 2)`` probabilities) and the training history: per-epoch
        ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``,
        ``learning_rate``, ``epoch_wall_seconds``, plus ``fit_seconds``,
        ``epoch_seconds`` (mean wall time of an epoch, validation included),
        ``epochs_trained`` and ``best_epoch``.
    """
    validate_training_params(model_params, training_params)
    import keras

    from advanced_dl.models.transformer import build_transformer_classifier
    from advanced_dl.training import fit_model

    keras.utils.set_random_seed(seed)
    model = build_transformer_classifier(
        vocabulary_size=len(vocabulary),
        sequence_length=int(train_tokens.shape[1]),
        embedding_dim=model_params["embedding_dim"],
        num_heads=model_params["num_heads"],
        key_dim=model_params["key_dim"],
        feed_forward_dim=model_params["feed_forward_dim"],
        dropout_rate=model_params["dropout_rate"],
        dense_units=model_params["dense_units"],
        num_classes=model_params["num_classes"],
        layer_norm_epsilon=model_params["layer_norm_epsilon"],
        learning_rate=training_params["learning_rate"],
    )
    result = fit_model(
        model,
        np.asarray(train_tokens, dtype=np.int32),
        train_reviews["label"].to_numpy(np.int32),
        validation_data=(
            np.asarray(validation_tokens, dtype=np.int32),
            validation_reviews["label"].to_numpy(np.int32),
        ),
        epochs=training_params["epochs"],
        batch_size=training_params["batch_size"],
        hold_epochs=training_params["hold_epochs"],
        decay_rate=training_params["decay_rate"],
        early_stopping_patience=training_params["early_stopping_patience"],
        early_stopping_min_delta=training_params["early_stopping_min_delta"],
        restore_best_weights=training_params["restore_best_weights"],
        monitor="val_loss",
    )
    history = result.as_metrics()
    history["epoch_seconds"] = float(np.mean(result.epoch_seconds))
    return model, history


def predict_test_reviews(
    model: Any, test_tokens: np.ndarray, evaluation_params: dict[str, Any]
) -> np.ndarray:
    """Probability of a positive review for each test review: ``(n_test,)`` float."""
    probabilities = model.predict(
        np.asarray(test_tokens, dtype=np.int32),
        batch_size=evaluation_params["batch_size"],
        verbose=0,
    )
    return np.asarray(probabilities[:, 1], dtype=np.float64)


def evaluate_classifier(
    test_reviews: pd.DataFrame,
    test_probabilities: np.ndarray,
    evaluation_params: dict[str, Any],
) -> dict[str, float]:
    """Test metrics of the selected model, computed once.

    Args:
        test_reviews: the test table (``label`` is the truth), n rows.
        test_probabilities: (n,) probability of the positive class.

    Returns:
        ``test_accuracy``, ``test_loss`` (mean cross-entropy, probabilities
        clipped to [1e-7, 1 - 1e-7] as Keras does), ``test_roc_auc`` and
        ``test_f1`` (positive class), labels at ``threshold`` (0.5).
    """
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    truth = test_reviews["label"].to_numpy(np.int64)
    positive = np.clip(np.asarray(test_probabilities, dtype=np.float64), 1e-7, 1 - 1e-7)
    if len(truth) != len(positive):
        raise ValueError(f"{len(truth)} test reviews but {len(positive)} predicted probabilities")
    predicted = (positive >= evaluation_params["threshold"]).astype(np.int64)
    loss = -np.mean(np.where(truth == 1, np.log(positive), np.log1p(-positive)))
    metrics = {
        "test_accuracy": float(accuracy_score(truth, predicted)),
        "test_loss": float(loss),
        "test_roc_auc": float(roc_auc_score(truth, positive)),
        "test_f1": float(f1_score(truth, predicted)),
    }
    logger.info("Test metrics on %d reviews: %s", len(truth), metrics)
    return metrics


def plot_training(training_history: dict[str, Any]) -> Figure:
    """Loss, accuracy (training and validation) and learning rate per epoch.

    A dotted line marks the epoch whose weights were kept (``best_epoch``).
    """
    curves = {k: v for k, v in training_history.items() if isinstance(v, list)}
    figure = plot_training_curves(
        curves, panels=("loss", "accuracy", "learning_rate"), title="imdb_transformer training"
    )
    best_epoch = training_history.get("best_epoch")
    if best_epoch is not None:
        for axis in figure.axes:
            axis.axvline(best_epoch + 1, color="grey", linestyle=":", label="weights kept")
            axis.legend()
    return figure


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
    model: Any,
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
    if not _is_int(index) or not 0 <= index < len(test_tokens):
        _fail(
            "figures.attention_review_index",
            f"an integer in [0, {len(test_tokens)})",
            index,
        )
    tokens = np.asarray(test_tokens[index : index + 1], dtype=np.int32)
    weights = attention_weights(model, tokens)[0]  # (heads, length, length)
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


def build_served_model(
    model: Any,
    vocabulary: list[str],
    test_reviews: pd.DataFrame,
    vectorisation_params: dict[str, Any],
    evaluation_params: dict[str, Any],
) -> ReviewSentimentModel:
    """The deployable model: raw text in a ``review`` column -> probability and label.

    The input example is the start of the first and the last test review.
    """
    example = pd.DataFrame(
        {REVIEW_COLUMN: [text[:300] for text in test_reviews["text"].iloc[[0, -1]].tolist()]}
    )
    return ReviewSentimentModel(
        model,
        input_example=example,
        vocabulary=vocabulary,
        sequence_length=vectorisation_params["sequence_length"],
        keep=vectorisation_params["keep"],
        threshold=evaluation_params["threshold"],
    )
