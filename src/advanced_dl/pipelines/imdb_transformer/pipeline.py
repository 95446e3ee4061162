"""Wiring of the ``imdb_transformer`` pipeline."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    build_served_model,
    evaluate_classifier,
    learn_review_vocabulary,
    plot_attention,
    plot_confusion_matrix,
    plot_training,
    predict_test_reviews,
    read_reviews,
    split_reviews,
    train_transformer,
    vectorise_reviews,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=read_reviews,
                inputs={"archive": "raw_archive", "ingestion_params": "params:ingestion"},
                outputs="reviews",
                name="read_reviews",
            ),
            Node(
                func=split_reviews,
                inputs={"reviews": "reviews", "data_params": "params:data", "seed": "params:seed"},
                outputs=["train_reviews", "validation_reviews", "test_reviews"],
                name="split_reviews",
            ),
            Node(
                func=learn_review_vocabulary,
                inputs={
                    "train_reviews": "train_reviews",
                    "vectorisation_params": "params:vectorisation",
                },
                outputs="vocabulary",
                name="learn_review_vocabulary",
            ),
            Node(
                func=vectorise_reviews,
                inputs={
                    "train_reviews": "train_reviews",
                    "validation_reviews": "validation_reviews",
                    "test_reviews": "test_reviews",
                    "vocabulary": "vocabulary",
                    "vectorisation_params": "params:vectorisation",
                },
                outputs=["train_tokens", "validation_tokens", "test_tokens"],
                name="vectorise_reviews",
            ),
            Node(
                func=train_transformer,
                inputs={
                    "train_tokens": "train_tokens",
                    "train_reviews": "train_reviews",
                    "validation_tokens": "validation_tokens",
                    "validation_reviews": "validation_reviews",
                    "vocabulary": "vocabulary",
                    "model_params": "params:model",
                    "training_params": "params:training",
                    "seed": "params:seed",
                },
                outputs=["trained_model", "training_history"],
                name="train_transformer",
            ),
            Node(
                func=predict_test_reviews,
                inputs={
                    "model": "trained_model",
                    "test_tokens": "test_tokens",
                    "evaluation_params": "params:evaluation",
                },
                outputs="test_probabilities",
                name="predict_test_reviews",
            ),
            Node(
                func=evaluate_classifier,
                inputs={
                    "test_reviews": "test_reviews",
                    "test_probabilities": "test_probabilities",
                    "evaluation_params": "params:evaluation",
                },
                outputs="test_metrics",
                name="evaluate_classifier",
            ),
            Node(
                func=plot_training,
                inputs={"training_history": "training_history"},
                outputs="training_curves_figure",
                name="plot_training",
            ),
            Node(
                func=plot_confusion_matrix,
                inputs={
                    "test_reviews": "test_reviews",
                    "test_probabilities": "test_probabilities",
                    "evaluation_params": "params:evaluation",
                },
                outputs="confusion_matrix_figure",
                name="plot_confusion_matrix",
            ),
            Node(
                func=plot_attention,
                inputs={
                    "model": "trained_model",
                    "test_tokens": "test_tokens",
                    "test_reviews": "test_reviews",
                    "vocabulary": "vocabulary",
                    "figure_params": "params:figures",
                },
                outputs="attention_figure",
                name="plot_attention",
            ),
            Node(
                func=build_served_model,
                inputs={
                    "model": "trained_model",
                    "vocabulary": "vocabulary",
                    "test_reviews": "test_reviews",
                    "vectorisation_params": "params:vectorisation",
                    "evaluation_params": "params:evaluation",
                },
                outputs="served_model",
                name="build_served_model",
            ),
        ],
        namespace="imdb_transformer",
        parameters={"params:seed"},
    )
