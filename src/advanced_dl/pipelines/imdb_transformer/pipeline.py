"""Wiring of the ``imdb_transformer`` pipeline."""

from kedro.pipeline import Node, Pipeline

from advanced_dl.plotting import plot_training_history

from .figures import plot_attention, plot_confusion_matrix
from .nodes import (
    build_served_model,
    choose_review_vocabulary,
    evaluate_classifier,
    fit_baseline,
    predict_test_reviews,
    split_reviews,
    train_transformer,
    vectorise_reviews,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                split_reviews,
                ["reviews", "params:data", "params:seed"],
                ["train_reviews", "validation_reviews", "test_reviews"],
                name="split_reviews",
            ),
            Node(
                choose_review_vocabulary,
                [
                    "train_reviews",
                    "pretrained_encoder",
                    "params:encoder",
                    "params:vectorisation",
                ],
                "vocabulary",
                name="choose_review_vocabulary",
            ),
            Node(
                vectorise_reviews,
                [
                    "train_reviews",
                    "validation_reviews",
                    "test_reviews",
                    "vocabulary",
                    "params:vectorisation",
                ],
                ["train_tokens", "validation_tokens", "test_tokens"],
                name="vectorise_reviews",
            ),
            Node(
                train_transformer,
                [
                    "train_tokens",
                    "train_reviews",
                    "validation_tokens",
                    "validation_reviews",
                    "vocabulary",
                    "pretrained_encoder",
                    "params:encoder",
                    "params:model",
                    "params:training",
                ],
                ["trained_model", "training_history"],
                name="train_transformer",
            ),
            Node(
                predict_test_reviews,
                ["trained_model", "test_tokens", "params:evaluation"],
                "test_probabilities",
                name="predict_test_reviews",
            ),
            Node(
                evaluate_classifier,
                ["test_reviews", "test_probabilities", "params:evaluation"],
                "test_metrics",
                name="evaluate_classifier",
            ),
            Node(
                fit_baseline,
                ["train_reviews", "test_reviews", "params:baseline", "params:evaluation"],
                "baseline_metrics",
                name="fit_baseline",
            ),
            Node(
                plot_training_history,
                "training_history",
                "training_history_figure",
                name="plot_training_history",
            ),
            Node(
                plot_confusion_matrix,
                ["test_reviews", "test_probabilities", "params:evaluation"],
                "confusion_matrix_figure",
                name="plot_confusion_matrix",
            ),
            Node(
                plot_attention,
                [
                    "trained_model",
                    "test_tokens",
                    "test_reviews",
                    "vocabulary",
                    "params:figures",
                ],
                "attention_figure",
                name="plot_attention",
            ),
            Node(
                build_served_model,
                [
                    "trained_model",
                    "vocabulary",
                    "test_reviews",
                    "params:vectorisation",
                    "params:evaluation",
                ],
                "served_model",
                name="build_served_model",
            ),
        ],
        namespace="imdb_transformer",
        parameters={"params:seed"},
    )
