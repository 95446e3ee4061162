"""Wiring of the ``mdn_synthetic`` pipeline."""

from kedro.pipeline import Node, Pipeline

from advanced_dl.plotting import plot_training_history

from .figures import plot_test_predictions, plot_training_data
from .nodes import (
    build_served_model,
    evaluate_mixture,
    generate_mixture_samples,
    predict_mixture,
    split_samples,
    train_mdn,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                generate_mixture_samples,
                ["params:data", "params:seed"],
                "samples",
                name="generate_mixture_samples",
            ),
            Node(
                split_samples,
                ["samples", "params:data"],
                ["train_samples", "test_samples"],
                name="split_samples",
            ),
            Node(
                train_mdn,
                ["train_samples", "params:model", "params:training", "params:seed"],
                ["trained_model", "training_history"],
                name="train_mdn",
            ),
            Node(
                predict_mixture,
                ["trained_model", "test_samples"],
                "test_predictions",
                name="predict_mixture",
            ),
            Node(
                evaluate_mixture,
                ["test_samples", "test_predictions", "params:data"],
                "test_metrics",
                name="evaluate_mixture",
            ),
            Node(
                plot_training_data,
                "train_samples",
                "training_data_figure",
                name="plot_training_data",
            ),
            Node(
                plot_test_predictions,
                ["test_samples", "test_predictions", "params:data"],
                "test_predictions_figure",
                name="plot_test_predictions",
            ),
            Node(
                plot_training_history,
                "training_history",
                "training_history_figure",
                name="plot_training_history",
            ),
            Node(
                build_served_model,
                ["trained_model", "test_samples"],
                "served_model",
                name="build_served_model",
            ),
        ],
        namespace="mdn_synthetic",
        parameters={"params:seed"},
    )
