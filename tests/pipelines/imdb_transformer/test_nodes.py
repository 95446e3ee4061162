"""Node tests of ``imdb_transformer`` on tiny review tables."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest

from advanced_dl.io.imdb import read_review_archive
from advanced_dl.pipelines.imdb_transformer.figures import plot_attention, plot_confusion_matrix
from advanced_dl.pipelines.imdb_transformer.nodes import (
    build_served_model,
    evaluate_classifier,
    fit_baseline,
    learn_review_vocabulary,
    split_reviews,
    train_transformer,
    vectorise_reviews,
)
from advanced_dl.plotting import plot_training_history
from tests.synthetic_imdb import VECTORISATION, synthetic_reviews, write_archive

NO_ENCODER = {"use": "none", "version": "latest"}
DATA = {"validation_fraction": 0.1, "validation_split": "random", "max_reviews_per_split": None}
MODEL = {
    "embedding_dim": 8,
    "bigram_buckets": 0,
    "bigram_dim": None,
    "bigram_scale": 1.0,
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
    "schedule": "hold_then_decay",
    "optimizer": "adam",
    "hold_epochs": 4,
    "decay_rate": 0.1,
    "distribution": "none",
    "early_stopping_patience": 16,
    "early_stopping_min_delta": 0.01,
    "restore_best_weights": True,
}
EVALUATION = {"batch_size": 16, "threshold": 0.5}


# --- splitting, vocabulary, vectorisation ------------------------------------------------


@pytest.fixture(scope="module")
def reviews(tmp_path_factory) -> pd.DataFrame:
    archive = tmp_path_factory.mktemp("archive") / "a.tar.gz"
    return read_review_archive(write_archive(archive, synthetic_reviews(20)))


def test_split_reviews_holds_out_validation_from_training(reviews):
    train, validation, test = split_reviews(reviews, {**DATA, "validation_fraction": 0.25}, seed=42)
    assert (len(train), len(validation), len(test)) == (30, 10, 40)
    assert set(train["split"]) == set(validation["split"]) == {"train"}
    assert set(test["split"]) == {"test"}
    assert validation["label"].sum() == 5  # stratified
    assert not set(train["review_id"] * 2 + train["label"]) & set(
        validation["review_id"] * 2 + validation["label"]
    )
    again = split_reviews(reviews, {**DATA, "validation_fraction": 0.25}, 42)
    pd.testing.assert_frame_equal(again[1], validation)


def test_a_split_by_movie_validates_on_movies_the_training_reviews_never_mention(reviews):
    by_movie = {**DATA, "validation_fraction": 0.25, "validation_split": "by_movie"}
    train, validation, test = split_reviews(reviews, by_movie, seed=42)
    assert len(train) + len(validation) == 40 and len(test) == 40
    assert not set(train["movie"]) & set(validation["movie"])
    assert validation["movie"].nunique() == 3  # 25% of the 10 training movies, rounded up
    assert validation["label"].sum() == len(validation) / 2  # each movie: 2 + 2 reviews
    pd.testing.assert_frame_equal(split_reviews(reviews, by_movie, seed=42)[1], validation)
    assert set(split_reviews(reviews, by_movie, seed=7)[1]["movie"]) != set(validation["movie"])
    with pytest.raises(ValueError, match=r"'by_movie', but 40 of the 40 training reviews name no"):
        split_reviews(reviews.assign(movie=""), by_movie, seed=42)


def test_split_reviews_subsamples_each_split(reviews):
    train, validation, test = split_reviews(
        reviews, {**DATA, "validation_fraction": 0.2, "max_reviews_per_split": 10}, seed=1
    )
    assert len(train) + len(validation) == 10
    assert len(test) == 10
    assert test["label"].sum() == 5


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


def test_vectorise_reviews_gives_each_split_its_token_ids():
    vocabulary = ["", "[UNK]", "one", "two", "three", "four"]
    frame = pd.DataFrame({"text": ["one two three four", "two", "five one"]})
    train, validation, test = vectorise_reviews(
        frame, frame.iloc[:1], frame.iloc[:0], vocabulary, {**VECTORISATION, "sequence_length": 3}
    )
    np.testing.assert_array_equal(train, [[3, 4, 5], [0, 0, 3], [0, 1, 2]])
    np.testing.assert_array_equal(validation, train[:1])
    assert test.shape == (0, 3) and test.dtype == np.int32


# --- training, evaluation, figures, serving ----------------------------------------------


@pytest.fixture(scope="module")
def trained(reviews):
    """A model trained one epoch on 30 synthetic reviews, with what it was trained on."""
    train, validation, test = split_reviews(reviews, {**DATA, "validation_fraction": 0.25}, seed=42)
    vocabulary = learn_review_vocabulary(train, VECTORISATION)
    tokens = vectorise_reviews(train, validation, test, vocabulary, VECTORISATION)
    model, history = _train_from_scratch(tokens[0], train, tokens[1], validation, vocabulary)
    return model, history, vocabulary, test, tokens[2]


def _train_from_scratch(train_tokens, train, validation_tokens, validation, vocabulary):
    """``train_transformer`` with the reference classifier and the tiny settings above."""
    return train_transformer(
        train_tokens,
        train,
        validation_tokens,
        validation,
        vocabulary,
        None,
        NO_ENCODER,
        MODEL,
        TRAINING,
    )


def test_train_transformer_reports_curves_and_timings(trained):
    model, history, vocabulary, _, _ = trained
    assert isinstance(model, keras.Model)
    for name in ("loss", "val_loss", "accuracy", "val_accuracy", "learning_rate"):
        assert len(history[name]) == 1
    assert len(history["epoch_seconds"]) == 1 and history["mean_epoch_seconds"] > 0
    assert history["fit_seconds"] >= history["mean_epoch_seconds"]
    assert history["best_epoch"] == 0 and history["epochs_trained"] == 1
    assert model.get_layer("token_and_position_embedding").vocabulary_size == len(vocabulary)


def test_reviews_read_as_windows_train_on_each_window_and_are_scored_whole(reviews, monkeypatch):
    from advanced_dl import training
    from advanced_dl.pipelines.imdb_transformer.nodes import predict_test_reviews

    windowed = {**VECTORISATION, "windows": 3}
    train, validation, _ = split_reviews(reviews, {**DATA, "validation_fraction": 0.25}, seed=42)
    vocabulary = learn_review_vocabulary(train, windowed)
    train_tokens, validation_tokens, _ = vectorise_reviews(
        train, validation, validation.iloc[:0], vocabulary, windowed
    )
    assert train_tokens.shape == (len(train), 3, 8)
    fitted = {}
    real_fit = training.fit_with_training_params

    def recording_fit(model, x, y, **kwargs):
        fitted["x"], fitted["y"], fitted["validation"] = x, y, kwargs["validation_data"]
        return real_fit(model, x, y, **kwargs)

    monkeypatch.setattr(training, "fit_with_training_params", recording_fit)
    model, history = _train_from_scratch(
        train_tokens, train, validation_tokens, validation, vocabulary
    )
    used = (train_tokens != 0).any(axis=2)
    used[:, 0] = True
    assert fitted["x"].shape == (used.sum(), 8) and used.sum() > len(train)  # long ones split
    np.testing.assert_array_equal(
        fitted["y"], np.repeat(train["label"].to_numpy(), used.sum(axis=1))
    )
    assert len(fitted["validation"][0]) > len(validation)
    positive = predict_test_reviews(model, validation_tokens, EVALUATION)
    assert positive.shape == (len(validation),)
    assert history["validation_review_accuracy"] == pytest.approx(
        np.mean((positive >= 0.5) == validation["label"].to_numpy())
    )


def test_evaluate_classifier_metrics():
    test = pd.DataFrame({"label": [1, 1, 0, 0]})
    metrics = evaluate_classifier(test, np.array([0.9, 0.4, 0.2, 0.6]), EVALUATION)
    assert metrics["test_accuracy"] == pytest.approx(0.5)
    assert metrics["test_roc_auc"] == pytest.approx(0.75)
    assert metrics["test_f1"] == pytest.approx(0.5)
    expected_loss = -np.mean(np.log([0.9, 0.4, 0.8, 0.4]))
    assert metrics["test_loss"] == pytest.approx(expected_loss)


BASELINE = {
    "enabled": True,
    "ngram_max": 2,
    "min_df": 1,
    "sublinear_tf": True,
    "C": 4.0,
    "max_iter": 1000,
}


def _opinions(words: dict[int, str], n: int, seed: int) -> pd.DataFrame:
    """Reviews whose sentiment shows only in one word: ``words[label]``, among neutral ones."""
    rng = np.random.default_rng(seed)
    neutral = ["film", "plot", "actor", "scene", "story", "music", "ending", "camera"]
    rows = []
    for i in range(n):
        label = i % 2
        text = " ".join([*rng.choice(neutral, size=6), words[label], *rng.choice(neutral, size=3)])
        rows.append({"text": text, "label": label})
    return pd.DataFrame(rows)


def test_baseline_learns_a_separable_vocabulary_and_reports_the_same_metrics():
    words = {0: "dreadful", 1: "wonderful"}
    train, test = _opinions(words, 40, seed=0), _opinions(words, 20, seed=1)
    metrics = fit_baseline(train, test, BASELINE, EVALUATION)
    assert set(metrics) == {
        "baseline_test_accuracy",
        "baseline_test_loss",
        "baseline_test_roc_auc",
        "baseline_test_f1",
        "baseline_fit_seconds",
    }
    assert metrics["baseline_test_accuracy"] == 1.0
    assert metrics["baseline_test_roc_auc"] == 1.0
    assert metrics["baseline_fit_seconds"] > 0
    # Swapped sentiment words in the test reviews: the baseline gets (nearly) every one wrong.
    swapped = _opinions({0: "wonderful", 1: "dreadful"}, 20, seed=1)
    assert fit_baseline(train, swapped, BASELINE, EVALUATION)["baseline_test_accuracy"] <= 0.1
    assert fit_baseline(train, test, {**BASELINE, "enabled": False}, EVALUATION) == {}


def test_figures(trained):
    model, history, vocabulary, test, test_tokens = trained
    panels = [axis.get_ylabel() for axis in plot_training_history(history).axes]
    assert panels == ["loss", "accuracy", "learning rate"]
    probabilities = np.where(test["label"] == 1, 0.9, 0.1)  # every review right
    matrix = plot_confusion_matrix(test, probabilities, EVALUATION).axes[0]
    counts = [text.get_text().split("\n")[0] for text in matrix.texts]
    half = str(len(test) // 2)
    assert counts == [half, "0", "0", half]
    figure = plot_attention(
        model, test_tokens, test, vocabulary, {"attention_review_index": 1, "attention_tokens": 5}
    )
    assert len(figure.axes) == 4  # two heads + their colour bars
    assert figure.axes[0].get_title() == "head 0"
    with pytest.raises(ValueError, match=r"figures\.attention_review_index"):
        plot_attention(
            model,
            test_tokens,
            test,
            vocabulary,
            {"attention_review_index": 10**6, "attention_tokens": 5},
        )


def test_served_model_carries_what_serving_needs(trained):
    model, _, vocabulary, test, _ = trained
    served = build_served_model(model, vocabulary, test, VECTORISATION, EVALUATION)
    assert list(served.input_example.columns) == ["review"]
    assert served.vocabulary == vocabulary
    assert (served.sequence_length, served.keep, served.threshold) == (8, "last", 0.5)


# --- fine-tuning a pre-trained encoder ----------------------------------------------------


def _encoder_like(**vectorisation):
    from advanced_dl.serving.imdb_transformer import ReviewEncoderModel

    encoder = ReviewEncoderModel(
        None,
        vocabulary=["", "[UNK]", "good", "bad"],
        architecture={"vocabulary_size": 4},
        **{"sequence_length": 8, "keep": "head_and_tail", "head_tokens": 2, **vectorisation},
    )
    encoder.registry_version = "models:/imdb_encoder/3"
    return encoder


def test_fine_tuning_reads_with_the_encoders_vocabulary_and_refuses_other_settings():
    from advanced_dl.pipelines.imdb_transformer.nodes import choose_review_vocabulary

    train = pd.DataFrame({"text": ["fine words here"], "label": [1]})
    fitting = {
        "vocabulary_size": 4,
        "sequence_length": 8,
        "keep": "head_and_tail",
        "head_tokens": 2,
    }
    pretrained = {"use": "pretrained", "version": "latest"}
    assert choose_review_vocabulary(train, _encoder_like(), pretrained, fitting) == [
        "",
        "[UNK]",
        "good",
        "bad",
    ]
    with pytest.raises(ValueError) as refused:
        choose_review_vocabulary(
            train, _encoder_like(), pretrained, {**fitting, "sequence_length": 200}
        )
    message = str(refused.value)
    assert "models:/imdb_encoder/3" in message
    assert "imdb_transformer.vectorisation.sequence_length is 200, the encoder's is 8" in message
    with pytest.raises(ValueError, match="--env pretrained"):
        choose_review_vocabulary(train, None, pretrained, fitting)
