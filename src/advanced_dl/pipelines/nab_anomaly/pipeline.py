"""Wiring of the ``nab_anomaly`` pipeline."""

from kedro.pipeline import Node, Pipeline

from advanced_dl.nab.detector import split_windows
from advanced_dl.plotting import plot_training_history

from .figures import plot_anomaly_score, plot_detections
from .nodes import (
    attach_labels,
    build_served_model,
    choose_threshold,
    detect_anomalies,
    evaluate_detections,
    fit_scaler,
    load_series,
    make_windows,
    scale_series,
    score_test_rows,
    score_validation_windows,
    train_lstm_vae,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                load_series,
                [
                    "series",
                    "labels",
                    "own_series_reader",
                    "params:train_series",
                    "params:test_series",
                    "params:train_first_row",
                    "params:train_last_row",
                    "params:look_back",
                    "params:accept_unordered_timestamps",
                    "params:own_series",
                ],
                ["train_series_values", "test_series_values"],
                name="load_series",
            ),
            Node(
                attach_labels,
                [
                    "test_series_values",
                    "labels",
                    "windows",
                    "params:test_series",
                    "params:own_series",
                ],
                "labelled_test_series",
                name="attach_labels",
            ),
            Node(fit_scaler, "train_series_values", "scaler", name="fit_scaler"),
            Node(
                scale_series,
                ["train_series_values", "test_series_values", "scaler"],
                ["train_scaled", "test_scaled"],
                name="scale_series",
            ),
            Node(
                make_windows,
                ["train_scaled", "params:look_back"],
                "train_series_windows",
                name="make_windows",
            ),
            Node(
                split_windows,
                ["train_series_windows", "params:training.validation_fraction", "params:seed"],
                ["train_windows", "validation_windows"],
                name="split_windows",
            ),
            Node(
                train_lstm_vae,
                ["train_windows", "validation_windows", "params:model", "params:training"],
                ["trained_model", "training_history"],
                name="train_lstm_vae",
            ),
            Node(
                score_validation_windows,
                ["trained_model", "validation_windows"],
                "validation_scores",
                name="score_validation_windows",
            ),
            Node(
                score_test_rows,
                ["trained_model", "test_scaled", "params:look_back"],
                "test_scores",
                name="score_test_rows",
            ),
            Node(
                choose_threshold,
                ["validation_scores", "params:threshold"],
                "threshold",
                name="choose_threshold",
            ),
            Node(
                detect_anomalies,
                ["labelled_test_series", "test_scores", "threshold"],
                "test_detections",
                name="detect_anomalies",
            ),
            Node(
                evaluate_detections,
                ["test_detections", "threshold", "params:own_series"],
                "test_metrics",
                name="evaluate_detections",
            ),
            Node(
                plot_training_history,
                "training_history",
                "training_history_figure",
                name="plot_training_history",
            ),
            Node(
                plot_detections,
                ["test_detections", "params:test_series", "params:own_series"],
                "detections_figure",
                name="plot_detections",
            ),
            Node(
                plot_anomaly_score,
                ["test_detections", "threshold"],
                "anomaly_score_figure",
                name="plot_anomaly_score",
            ),
            Node(
                build_served_model,
                [
                    "trained_model",
                    "scaler",
                    "params:look_back",
                    "threshold",
                    "test_series_values",
                    "params:accept_unordered_timestamps",
                ],
                "served_model",
                name="build_served_model",
            ),
        ],
        namespace="nab_anomaly",
        parameters={"params:seed"},
    )
