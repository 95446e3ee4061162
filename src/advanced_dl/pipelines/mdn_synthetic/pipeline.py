"""Wiring of the ``mdn_synthetic`` pipeline."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    build_served_model,
    evaluate_mixture,
    generate_mixture_samples,
    plot_loss,
    plot_test_predictions,
    plot_training_data,
    predict_mixture,
    split_samples,
    train_mdn,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=generate_mixture_samples,
                inputs={"data_params": "params:data", "seed": "params:seed"},
                outputs="samples",
                name="generate_mixture_samples",
            ),
            Node(
                func=split_samples,
                inputs={"samples": "samples", "data_params": "params:data"},
                outputs=["train_samples", "test_samples"],
                name="split_samples",
            ),
            Node(
                func=train_mdn,
                inputs={
                    "train_samples": "train_samples",
                    "model_params": "params:model",
                    "training_params": "params:training",
                    "seed": "params:seed",
                },
                outputs=["trained_model", "training_history"],
                name="train_mdn",
            ),
            Node(
                func=predict_mixture,
                inputs={"model": "trained_model", "test_samples": "test_samples"},
                outputs="test_predictions",
                name="predict_mixture",
            ),
            Node(
                func=evaluate_mixture,
                inputs={
                    "test_samples": "test_samples",
                    "predictions": "test_predictions",
                    "data_params": "params:data",
                },
                outputs="test_metrics",
                name="evaluate_mixture",
            ),
            Node(
                func=plot_training_data,
                inputs={"train_samples": "train_samples"},
                outputs="training_data_figure",
                name="plot_training_data",
            ),
            Node(
                func=plot_test_predictions,
                inputs={
                    "test_samples": "test_samples",
                    "predictions": "test_predictions",
                    "data_params": "params:data",
                },
                outputs="test_predictions_figure",
                name="plot_test_predictions",
            ),
            Node(
                func=plot_loss,
                inputs={"training_history": "training_history"},
                outputs="loss_figure",
                name="plot_loss",
            ),
            Node(
                func=build_served_model,
                inputs={"model": "trained_model", "test_samples": "test_samples"},
                outputs="served_model",
                name="build_served_model",
            ),
        ],
        namespace="mdn_synthetic",
        parameters={"params:seed"},
    )
