"""Node tests of ``imdb_transformer`` on tiny archives and tables."""

from __future__ import annotations

import logging

import keras
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from advanced_dl.pipelines.imdb_transformer.nodes import (
    ReviewArchiveError,
    build_served_model,
    evaluate_classifier,
    learn_review_vocabulary,
    plot_attention,
    plot_confusion_matrix,
    plot_training,
    read_reviews,
    split_reviews,
    train_transformer,
    vectorise_reviews,
)
from advanced_dl.serving import ServingInputError
from advanced_dl.serving.imdb_transformer import OOV_ID, tokenize, vectorize_texts

from .conftest import synthetic_reviews, write_archive

INGESTION = {"on_bad_review": "error"}
VECTORISATION = {"vocabulary_size": 30, "sequence_length": 8, "keep": "last"}
MODEL = {
    "embedding_dim": 8,
    "num_heads": 2,
    "key_dim": 8,
    "feed_forward_dim": 8,
    "dropout_rate": 0.1,
    "dense_units": 4,
    "num_classes": 2,
    "layer_norm_epsilon": 1e-6,
}
TRAINING = {
    "batch_size": 8,
    "epochs": 1,
    "learning_rate": 0.001,
    "hold_epochs": 4,
    "decay_rate": 0.1,
    "early_stopping_patience": 16,
    "early_stopping_min_delta": 0.01,
    "restore_best_weights": True,
}
EVALUATION = {"batch_size": 16, "threshold": 0.5}


# --- ingestion -------------------------------------------------------------------------


def test_read_reviews_builds_the_table(tiny_archive):
    reviews = read_reviews(tiny_archive, INGESTION)
    assert list(reviews.columns) == ["text", "label", "split", "rating", "review_id"]
    assert len(reviews) == 12  # README, vocabulary and train/unsup are ignored
    assert reviews.groupby(["split", "label"]).size().tolist() == [3, 3, 3, 3]
    assert reviews["label"].dtype == np.int8
    positive = reviews[reviews["label"] == 1]
    assert positive["rating"].between(7, 10).all()
    assert reviews.loc[reviews["label"] == 0, "rating"].between(1, 4).all()
    assert reviews["text"].str.contains("The end!").all()
    # Deterministic order whatever the archive's order.
    assert reviews.equals(
        reviews.sort_values(["split", "label", "review_id"]).reset_index(drop=True)
    )


def test_read_reviews_names_missing_folders(tmp_path):
    members = {k: v for k, v in synthetic_reviews(2).items() if "/test/neg/" not in k}
    archive = write_archive(tmp_path / "broken.tar.gz", members)
    with pytest.raises(ReviewArchiveError, match=r"test/neg.*expected the IMDB layout") as error:
        read_reviews(archive, INGESTION)
    assert "broken.tar.gz" in str(error.value)


def test_read_reviews_rejects_a_file_that_is_not_an_archive(tmp_path):
    not_an_archive = tmp_path / "aclImdb_v1.tar.gz"
    not_an_archive.write_text("<html>404 Not Found</html>")
    with pytest.raises(ReviewArchiveError, match="Could not read .*aclImdb_v1.tar.gz"):
        read_reviews(not_an_archive, INGESTION)


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"caf\xe9 terrible \xff", "not valid UTF-8"), (b"  \n ", "empty")],
)
def test_read_reviews_bad_review_error_or_counted_skip(tmp_path, caplog, content, problem):
    members = synthetic_reviews(2)
    members["aclImdb/train/pos/99_10.txt"] = content
    archive = write_archive(tmp_path / "bad.tar.gz", members)
    with pytest.raises(ReviewArchiveError, match=f"train/pos/99_10.txt is {problem}"):
        read_reviews(archive, INGESTION)

    with caplog.at_level(logging.WARNING):
        reviews = read_reviews(archive, {"on_bad_review": "skip"})
    assert len(reviews) == 8
    assert "Skipped reviews" in caplog.text


def test_read_reviews_validates_its_parameter(tiny_archive):
    with pytest.raises(ValueError, match="imdb_transformer.ingestion.on_bad_review"):
        read_reviews(tiny_archive, {"on_bad_review": "ignore"})


# --- splitting, vocabulary, vectorisation ------------------------------------------------


@pytest.fixture(scope="module")
def reviews(tmp_path_factory) -> pd.DataFrame:
    archive = tmp_path_factory.mktemp("archive") / "a.tar.gz"
    return read_reviews(write_archive(archive, synthetic_reviews(20)), INGESTION)


def test_split_reviews_holds_out_validation_from_training(reviews):
    train, validation, test = split_reviews(
        reviews, {"validation_fraction": 0.25, "max_reviews_per_split": None}, seed=42
    )
    assert (len(train), len(validation), len(test)) == (30, 10, 40)
    assert set(train["split"]) == set(validation["split"]) == {"train"}
    assert set(test["split"]) == {"test"}
    assert validation["label"].sum() == 5  # stratified
    assert not set(train["review_id"] * 2 + train["label"]) & set(
        validation["review_id"] * 2 + validation["label"]
    )
    again = split_reviews(reviews, {"validation_fraction": 0.25, "max_reviews_per_split": None}, 42)
    pd.testing.assert_frame_equal(again[1], validation)


def test_split_reviews_subsamples_each_split(reviews):
    train, validation, test = split_reviews(
        reviews, {"validation_fraction": 0.2, "max_reviews_per_split": 10}, seed=1
    )
    assert len(train) + len(validation) == 10
    assert len(test) == 10
    assert test["label"].sum() == 5


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"validation_fraction": 0.0, "max_reviews_per_split": None}, "data.validation_fraction"),
        ({"validation_fraction": 1.5, "max_reviews_per_split": None}, "data.validation_fraction"),
        ({"validation_fraction": 0.1, "max_reviews_per_split": 2}, "data.max_reviews_per_split"),
    ],
)
def test_split_reviews_rejects_bad_parameters(reviews, params, name):
    with pytest.raises(ValueError, match=f"imdb_transformer.{name}"):
        split_reviews(reviews, params, seed=42)


def test_tokenize_lowercases_and_drops_markup_and_punctuation():
    assert tokenize("Don't MISS it!<br /><br />A 10/10 film.") == [
        "don't",
        "miss",
        "it",
        "a",
        "10",
        "10",
        "film",
    ]


def test_vocabulary_is_learned_on_training_reviews_only():
    train = pd.DataFrame({"text": ["good good good film", "bad film", "good bad"]})
    vocabulary = learn_review_vocabulary(train, {**VECTORISATION, "vocabulary_size": 4})
    assert vocabulary == [
        "",
        "[UNK]",
        "good",
        "bad",
    ]  # by frequency; "film" (2) loses the tie to "bad"
    assert "unseen" not in learn_review_vocabulary(train, VECTORISATION)


def test_vectorise_keeps_the_configured_end_and_pads_left():
    vocabulary = ["", "[UNK]", "one", "two", "three", "four"]
    frame = pd.DataFrame({"text": ["one two three four", "two", "five one"]})
    last, _, _ = vectorise_reviews(
        frame, frame.iloc[:0], frame.iloc[:0], vocabulary, {**VECTORISATION, "sequence_length": 3}
    )
    assert last.dtype == np.int32
    np.testing.assert_array_equal(last, [[3, 4, 5], [0, 0, 3], [0, OOV_ID, 2]])
    first = vectorize_texts(frame["text"], vocabulary, 3, keep="first")
    np.testing.assert_array_equal(first[0], [2, 3, 4])


def test_vectorisation_parameters_are_validated():
    frame = pd.DataFrame({"text": ["a"]})
    with pytest.raises(ValueError, match="imdb_transformer.vectorisation.keep"):
        learn_review_vocabulary(frame, {**VECTORISATION, "keep": "middle"})
    with pytest.raises(ValueError, match="imdb_transformer.vectorisation.vocabulary_size"):
        learn_review_vocabulary(frame, {**VECTORISATION, "vocabulary_size": 2})


# --- training, evaluation, figures, serving ----------------------------------------------


@pytest.fixture(scope="module")
def trained(reviews):
    """A model trained one epoch on 30 synthetic reviews, with what it was trained on."""
    train, validation, test = split_reviews(
        reviews, {"validation_fraction": 0.25, "max_reviews_per_split": None}, seed=42
    )
    vocabulary = learn_review_vocabulary(train, VECTORISATION)
    tokens = vectorise_reviews(train, validation, test, vocabulary, VECTORISATION)
    model, history = train_transformer(
        tokens[0],
        train,
        tokens[1],
        validation,
        vocabulary,
        model_params=MODEL,
        training_params=TRAINING,
        seed=42,
    )
    return model, history, vocabulary, test, tokens[2]


def test_train_transformer_reports_curves_and_timings(trained):
    model, history, vocabulary, _, _ = trained
    assert isinstance(model, keras.Model)
    for name in ("loss", "val_loss", "accuracy", "val_accuracy", "learning_rate"):
        assert len(history[name]) == 1
    assert history["epoch_seconds"] > 0
    assert history["fit_seconds"] >= history["epoch_seconds"]
    assert model.get_layer("token_and_position_embedding").vocabulary_size == len(vocabulary)


def test_train_transformer_rejects_bad_parameters_before_training(reviews):
    tokens = np.zeros((4, 8), dtype=np.int32)
    with pytest.raises(ValueError, match="imdb_transformer.training.batch_size"):
        train_transformer(
            tokens, reviews[:4], tokens, reviews[:4], ["", "[UNK]", "a"], model_params=MODEL,
            training_params={**TRAINING, "batch_size": 0}, seed=42,
        )  # fmt: skip


def test_evaluate_classifier_metrics():
    test = pd.DataFrame({"label": [1, 1, 0, 0]})
    metrics = evaluate_classifier(test, np.array([0.9, 0.4, 0.2, 0.6]), EVALUATION)
    assert metrics["test_accuracy"] == pytest.approx(0.5)
    assert metrics["test_roc_auc"] == pytest.approx(0.75)
    assert metrics["test_f1"] == pytest.approx(0.5)
    expected_loss = -np.mean(np.log([0.9, 0.4, 0.8, 0.4]))
    assert metrics["test_loss"] == pytest.approx(expected_loss)


def test_figures(trained):
    model, history, vocabulary, test, test_tokens = trained
    assert isinstance(plot_training(history), Figure)
    probabilities = np.linspace(0, 1, len(test))
    assert isinstance(plot_confusion_matrix(test, probabilities, EVALUATION), Figure)
    figure = plot_attention(
        model, test_tokens, test, vocabulary, {"attention_review_index": 1, "attention_tokens": 5}
    )
    assert len(figure.axes) == 4  # two heads + their colour bars
    with pytest.raises(ValueError, match="figures.attention_review_index"):
        plot_attention(
            model,
            test_tokens,
            test,
            vocabulary,
            {"attention_review_index": 10**6, "attention_tokens": 5},
        )


def test_served_model_scores_raw_text_and_rejects_bad_input(trained):
    model, _, vocabulary, test, _ = trained
    served = build_served_model(model, vocabulary, test, VECTORISATION, EVALUATION)
    assert list(served.input_example.columns) == ["review"]
    scored = served.predict(None, pd.DataFrame({"review": ["A superb film!", "Dull. A waste."]}))
    assert list(scored.columns) == ["probability_positive", "label"]
    assert scored["probability_positive"].between(0, 1).all()
    assert set(scored["label"]) <= {"positive", "negative"}
    assert (scored["label"] == "positive").tolist() == (
        scored["probability_positive"] >= 0.5
    ).tolist()

    for bad, message in (("", "row 0: the review is empty"), ("?!", "empty"), (3, "got int")):
        with pytest.raises(ServingInputError, match=message):
            served.predict(None, pd.DataFrame({"review": [bad]}))
    with pytest.raises(ServingInputError, match="row 1: expected review text"):
        served.predict(None, pd.DataFrame({"review": ["fine", None]}))
    with pytest.raises(ServingInputError, match="column 'review'"):
        served.predict(None, pd.DataFrame({"text": ["fine"]}))
