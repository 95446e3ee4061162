"""Nodes of ``imdb_transformer``: a transformer sentiment classifier (docs/algorithms.md, 3).

Review tables (read from the archive by ``advanced_dl.io.ImdbReviewsDataset``)
have one row per review: ``text``, ``label`` (1 = positive), ``split``,
``rating`` and ``review_id``. Token arrays are ``(n_reviews, sequence_length)``
int32, made by ``advanced_dl.features.text`` as in the served model.
Parameters arrive validated (``parameters.py``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pandas as pd

from advanced_dl.features.text import (
    flatten_windows,
    learn_vocabulary,
    predict_positive,
    used_windows,
    vectorise_texts,
    word_index,
)

logger = logging.getLogger(__name__)


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

    The validation reviews are ``validation_fraction`` of the training reviews
    (the reference validated on the test set): with ``validation_split``
    ``"random"``, a stratified random share of the reviews; with
    ``"by_movie"``, every review of a random share of the training movies
    (column ``movie``), so that validation, like IMDB's test split, is about
    movies the training reviews never mention. The test reviews are only
    scored once, after training. ``max_reviews_per_split`` first draws a
    stratified subset of each of the train and test splits (smoke tests);
    null keeps all.

    Returns:
        (train, validation, test) tables with the columns of ``reviews``.
    """
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
    if data_params["validation_split"] == "by_movie":
        train, validation = _split_by_movie(train, data_params["validation_fraction"], seed)
    else:
        train, validation = train_test_split(
            train,
            test_size=data_params["validation_fraction"],
            stratify=train["label"],
            random_state=seed,
        )
    logger.info(
        "Split (%s): %d training, %d validation (%.1f%% positive), %d test reviews",
        data_params["validation_split"],
        len(train),
        len(validation),
        100 * validation["label"].mean(),
        len(test),
    )
    return (
        train.sort_index().reset_index(drop=True),
        validation.sort_index().reset_index(drop=True),
        test.reset_index(drop=True),
    )


def _split_by_movie(
    train: pd.DataFrame, fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training, validation): every review of a random ``fraction`` of the movies."""
    from sklearn.model_selection import GroupShuffleSplit

    movies = train["movie"] if "movie" in train.columns else pd.Series([""] * len(train))
    unknown = int((movies == "").sum())
    if unknown or movies.nunique() < 2:
        raise ValueError(
            "imdb_transformer.data.validation_split is 'by_movie', but "
            f"{unknown or len(train)} of the {len(train)} training reviews name no movie "
            "(column 'movie', read from the archive's train/urls_pos.txt and "
            "train/urls_neg.txt, line i for review i) or fewer than 2 movies are named; "
            "use the canonical aclImdb_v1.tar.gz, or validation_split: random"
        )
    splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    kept, held_out = next(splitter.split(train, groups=movies.to_numpy()))
    return train.iloc[kept], train.iloc[held_out]


def learn_review_vocabulary(
    train_reviews: pd.DataFrame, vectorisation_params: dict[str, Any]
) -> list[str]:
    """The vocabulary of the training reviews only (validation and test unseen).

    Returns:
        Up to ``vocabulary_size`` tokens; index = token id; ``""`` (padding)
        at 0, ``"[UNK]"`` at 1, then words by decreasing training frequency.
    """
    start = time.perf_counter()
    vocabulary = learn_vocabulary(train_reviews["text"], vectorisation_params["vocabulary_size"])
    logger.info(
        "Vocabulary: %d tokens from %d training reviews in %.1f s",
        len(vocabulary),
        len(train_reviews),
        time.perf_counter() - start,
    )
    return vocabulary


def check_encoder_fits(pretrained_encoder: Any, vectorisation_params: dict[str, Any]) -> None:
    """Raise ``ValueError`` unless the encoder reads text as ``vectorisation_params`` say.

    The encoder's embedding has one row per word of its vocabulary and its
    position table one row per token it reads, so fine-tuning must use its
    vocabulary size, sequence length and cut (``keep``, ``head_tokens``).
    """
    source = getattr(pretrained_encoder, "registry_version", "the encoder")
    theirs = {
        "vocabulary_size": pretrained_encoder.architecture.get(
            "vocabulary_size", len(pretrained_encoder.vocabulary)
        ),
        "sequence_length": pretrained_encoder.sequence_length,
        "keep": pretrained_encoder.keep,
        "head_tokens": pretrained_encoder.head_tokens,
    }
    if theirs["keep"] != "head_and_tail":
        theirs.pop("head_tokens")
    wrong = [
        f"imdb_transformer.vectorisation.{name} is {vectorisation_params[name]!r}, "
        f"the encoder's is {value!r}"
        for name, value in theirs.items()
        if vectorisation_params[name] != value
    ]
    if wrong:
        raise ValueError(
            f"The pre-trained encoder {source} does not fit the fine-tuning parameters: "
            + "; ".join(wrong)
            + ". Set them to the encoder's (conf/pretrained/parameters_imdb_transformer.yml), "
            "or pre-train an encoder with yours (imdb_pretrain.vectorisation)"
        )


def choose_review_vocabulary(
    train_reviews: pd.DataFrame,
    pretrained_encoder: Any,
    encoder_params: dict[str, Any],
    vectorisation_params: dict[str, Any],
) -> list[str]:
    """The vocabulary the classifier reads with: the encoder's when one is used
    (``encoder.use`` ``pretrained`` or ``scratch``), checked against the
    vectorisation parameters before anything trains; otherwise learned on the
    training reviews (:func:`learn_review_vocabulary`).
    """
    if encoder_params["use"] == "none":
        return learn_review_vocabulary(train_reviews, vectorisation_params)
    if pretrained_encoder is None:
        raise ValueError(
            f"imdb_transformer.encoder.use is {encoder_params['use']!r} but the catalog names "
            "no encoder (imdb_transformer.pretrained_encoder has model_name: null); run with "
            "--env pretrained, after `kedro run --pipelines imdb_pretrain`"
        )
    check_encoder_fits(pretrained_encoder, vectorisation_params)
    return list(pretrained_encoder.vocabulary)


def vectorise_reviews(
    train_reviews: pd.DataFrame,
    validation_reviews: pd.DataFrame,
    test_reviews: pd.DataFrame,
    vocabulary: list[str],
    vectorisation_params: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Token ids of each split: ``(n_split, sequence_length)`` int32 arrays, or
    ``(n_split, windows, sequence_length)`` when ``windows`` > 1.

    Reviews longer than ``sequence_length`` (``windows`` 1) keep the words
    ``keep`` names (``"last"``: the last tokens, as the reference;
    ``"head_and_tail"``: the first ``head_tokens`` and the last ones); shorter
    ones are padded with 0 on the left. With ``windows`` > 1 a review of up to
    ``windows * sequence_length`` words is read whole, as overlapping windows
    (``features.text.window_starts``). Words outside the vocabulary become 1 (OOV).
    """
    start = time.perf_counter()
    index = word_index(vocabulary)
    length, keep = vectorisation_params["sequence_length"], vectorisation_params["keep"]
    head_tokens, windows = vectorisation_params["head_tokens"], vectorisation_params["windows"]
    arrays = tuple(
        vectorise_texts(
            frame["text"],
            index,
            length,
            keep,
            count=len(frame),
            head_tokens=head_tokens,
            windows=windows,
        )
        for frame in (train_reviews, validation_reviews, test_reviews)
    )
    total = sum(len(a) for a in arrays)
    logger.info(
        "Vectorised %d reviews to %d windows of %d tokens (at most %d each; keep: %s) in %.1f s",
        total,
        sum(int(used_windows(a).sum()) for a in arrays),
        length,
        windows,
        keep,
        time.perf_counter() - start,
    )
    return arrays


def train_transformer(
    train_tokens: np.ndarray,
    train_reviews: pd.DataFrame,
    validation_tokens: np.ndarray,
    validation_reviews: pd.DataFrame,
    vocabulary: list[str],
    pretrained_encoder: Any,
    encoder_params: dict[str, Any],
    model_params: dict[str, Any],
    training_params: dict[str, Any],
) -> tuple[Any, dict[str, Any]]:
    """Build the classifier and fit it, selecting on the validation reviews.

    ``encoder.use`` ``"none"``: the reference's one-block transformer.
    ``"pretrained"``: the pre-trained encoder, fine-tuned whole under one
    more output layer (``models.transformer.build_encoder_classifier``);
    ``"scratch"``: that classifier with the encoder's weights drawn at random.
    With ``model.bigram_buckets`` > 0 the encoder's input also gets the hashed
    word-pair embedding, its table starting at zero (``with_word_pairs``).
    The schedule runs throughout; early stopping on the validation loss
    restores the best epoch's weights at the end of training (the reference
    kept the last epoch's, selected on the test set).

    A review read as several windows (``vectorisation.windows`` > 1) gives one
    training example per window, each with the review's label; the curves are
    then per window, and ``validation_review_accuracy`` scores the kept model
    on whole validation reviews (each the mean log-odds of its windows).

    Args:
        train_tokens, validation_tokens: ``(n, sequence_length)`` or
            ``(n, windows, sequence_length)`` int32 token ids.
        train_reviews, validation_reviews: their tables (``label`` is the target).
        pretrained_encoder: a ``serving.imdb_transformer.ReviewEncoderModel``
            or None (``encoder.use`` ``"none"``).

    Returns:
        The fitted ``keras.Model`` (``(batch, sequence_length)`` ids ->
        ``(batch, 2)`` probabilities) and the training history: per-epoch
        ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``,
        ``learning_rate``, ``epoch_seconds``, plus ``fit_seconds``,
        ``mean_epoch_seconds``, ``epochs_trained`` and ``best_epoch``; with
        a registered encoder, ``pretrained_encoder_version``.
    """
    from advanced_dl.training import (
        distribution_scope,
        fit_with_training_params,
        learning_rate_for,
    )

    train_windows, train_owners = flatten_windows(np.asarray(train_tokens, dtype=np.int32))
    validation_windows, validation_owners = flatten_windows(
        np.asarray(validation_tokens, dtype=np.int32)
    )
    validation_labels = validation_reviews["label"].to_numpy(np.int32)
    learning_rate = learning_rate_for(training_params, len(train_windows))
    with distribution_scope(training_params["distribution"]):
        if encoder_params["use"] == "none":
            model = _reference_classifier(
                vocabulary,
                int(train_windows.shape[1]),
                model_params,
                training_params,
                learning_rate,
            )
        else:
            model = _encoder_classifier(
                pretrained_encoder, encoder_params, model_params, training_params, learning_rate
            )
    result = fit_with_training_params(
        model,
        train_windows,
        train_reviews["label"].to_numpy(np.int32)[train_owners],
        validation_data=(validation_windows, validation_labels[validation_owners]),
        training_params=training_params,
    )
    history = result.as_metrics()
    if np.ndim(validation_tokens) == 3:
        positive = predict_positive(model, validation_tokens, training_params["batch_size"])
        history["validation_review_accuracy"] = float(
            np.mean((positive >= 0.5) == validation_labels)
        )
    version = str(getattr(pretrained_encoder, "registry_version", "")).rsplit("/", 1)[-1]
    if encoder_params["use"] == "pretrained" and version.isdigit():
        history["pretrained_encoder_version"] = int(version)
    return model, history


def _reference_classifier(
    vocabulary: list[str],
    sequence_length: int,
    model_params: dict[str, Any],
    training_params: dict[str, Any],
    learning_rate: Any,
) -> Any:
    from advanced_dl.models.transformer import build_transformer_classifier

    return build_transformer_classifier(
        vocabulary_size=len(vocabulary),
        sequence_length=sequence_length,
        embedding_dim=model_params["embedding_dim"],
        bigram_buckets=model_params["bigram_buckets"],
        bigram_dim=model_params["bigram_dim"],
        bigram_scale=model_params["bigram_scale"],
        num_heads=model_params["num_heads"],
        key_dim=model_params["key_dim"],
        feed_forward_dim=model_params["feed_forward_dim"],
        dropout_rate=model_params["dropout_rate"],
        dense_units=model_params["dense_units"],
        num_classes=model_params["num_classes"],
        layer_norm_epsilon=model_params["layer_norm_epsilon"],
        learning_rate=learning_rate,
        optimizer=training_params["optimizer"],
    )


def _encoder_classifier(
    pretrained_encoder: Any,
    encoder_params: dict[str, Any],
    model_params: dict[str, Any],
    training_params: dict[str, Any],
    learning_rate: Any,
) -> Any:
    import keras

    from advanced_dl.models.transformer import build_encoder_classifier, with_word_pairs

    encoder = pretrained_encoder.keras_model
    if encoder_params["use"] == "scratch":
        # Same layers and sizes, every weight drawn anew: what pre-training bought.
        encoder = keras.models.clone_model(encoder)
    if model_params["bigram_buckets"]:
        encoder = with_word_pairs(
            encoder,
            model_params["bigram_buckets"],
            model_params["bigram_dim"],
            model_params["bigram_scale"],
        )
    return build_encoder_classifier(
        encoder,
        num_classes=model_params["num_classes"],
        dropout_rate=model_params["dropout_rate"],
        learning_rate=learning_rate,
        optimizer=training_params["optimizer"],
    )


def predict_test_reviews(
    trained_model: Any, test_tokens: np.ndarray, evaluation_params: dict[str, Any]
) -> np.ndarray:
    """Probability of a positive review for each test review: ``(n_test,)`` float.

    A review read as several windows gets the mean log-odds of its windows.
    """
    return predict_positive(
        trained_model, np.asarray(test_tokens, dtype=np.int32), evaluation_params["batch_size"]
    )


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


def fit_baseline(
    train_reviews: pd.DataFrame,
    test_reviews: pd.DataFrame,
    baseline: dict[str, Any],
    evaluation: dict[str, Any],
) -> dict[str, float]:
    """The baseline a practitioner tries first: TF-IDF word n-grams and logistic regression.

    Fitted on the same training reviews as the transformer (validation reviews
    excluded) and scored on the same test reviews, with the same metrics and
    threshold (``evaluate_classifier``).

    Args:
        train_reviews, test_reviews: review tables (``text``, ``label``).
        baseline: ``enabled``, ``ngram_max``, ``min_df``, ``sublinear_tf``,
            ``C`` and ``max_iter``.

    Returns:
        ``baseline_test_accuracy``, ``baseline_test_loss``,
        ``baseline_test_roc_auc``, ``baseline_test_f1`` and
        ``baseline_fit_seconds`` (vectoriser and classifier); empty when the
        baseline is turned off.
    """
    if not baseline["enabled"]:
        return {}
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    classifier = make_pipeline(
        TfidfVectorizer(
            ngram_range=(1, baseline["ngram_max"]),
            min_df=baseline["min_df"],
            sublinear_tf=baseline["sublinear_tf"],
        ),
        LogisticRegression(C=baseline["C"], max_iter=baseline["max_iter"]),
    )
    start = time.perf_counter()
    classifier.fit(train_reviews["text"], train_reviews["label"].to_numpy(np.int64))
    fit_seconds = time.perf_counter() - start
    positive = classifier.predict_proba(test_reviews["text"])[:, 1]
    metrics = evaluate_classifier(test_reviews, positive, evaluation)
    return {
        **{f"baseline_{name}": value for name, value in metrics.items()},
        "baseline_fit_seconds": fit_seconds,
    }


def build_served_model(
    trained_model: Any,
    vocabulary: list[str],
    test_reviews: pd.DataFrame,
    vectorisation_params: dict[str, Any],
    evaluation_params: dict[str, Any],
) -> Any:
    """The deployable model: raw text in a ``review`` column -> probability and label.

    The input example is the start of the first and the last test review.
    """
    from advanced_dl.serving.imdb_transformer import REVIEW_COLUMN, ReviewSentimentModel

    example = pd.DataFrame(
        {REVIEW_COLUMN: [text[:300] for text in test_reviews["text"].iloc[[0, -1]].tolist()]}
    )
    return ReviewSentimentModel(
        trained_model,
        input_example=example,
        vocabulary=vocabulary,
        sequence_length=vectorisation_params["sequence_length"],
        keep=vectorisation_params["keep"],
        head_tokens=vectorisation_params["head_tokens"],
        windows=vectorisation_params["windows"],
        threshold=evaluation_params["threshold"],
    )
