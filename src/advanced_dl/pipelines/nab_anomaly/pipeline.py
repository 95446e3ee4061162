"""Wiring of the ``nab_anomaly`` pipeline."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    attach_labels,
    build_served_model,
    choose_threshold,
    detect_anomalies,
    evaluate_detections,
    fit_scaler,
    load_series,
    make_windows,
    plot_anomaly_score,
    plot_detections,
    plot_loss,
    scale_series,
    score_test_rows,
    score_validation_windows,
    split_windows,
    train_lstm_vae,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=load_series,
                inputs={
                    "series": "series",
                    "labels": "labels",
                    "train_series": "params:train_series",
                    "test_series": "params:test_series",
                    "train_first_row": "params:train_first_row",
                    "train_last_row": "params:train_last_row",
                    "look_back": "params:look_back",
                },
                outputs=["train_series_values", "test_series_values"],
                name="load_series",
            ),
            Node(
                func=attach_labels,
                inputs={
                    "test": "test_series_values",
                    "labels": "labels",
                    "windows": "windows",
                    "test_series": "params:test_series",
                },
                outputs="labelled_test_series",
                name="attach_labels",
            ),
            Node(
                func=fit_scaler,
                inputs={"train": "train_series_values"},
                outputs="scaler",
                name="fit_scaler",
            ),
            Node(
                func=scale_series,
                inputs={
                    "train": "train_series_values",
                    "test": "test_series_values",
                    "scaler": "scaler",
                },
                outputs=["train_scaled", "test_scaled"],
                name="scale_series",
            ),
            Node(
                func=make_windows,
                inputs={"train_scaled": "train_scaled", "look_back": "params:look_back"},
                outputs="train_series_windows",
                name="make_windows",
            ),
            Node(
                func=split_windows,
                inputs={
                    "windows": "train_series_windows",
                    "validation_fraction": "params:training.validation_fraction",
                    "seed": "params:seed",
                },
                outputs=["train_windows", "validation_windows"],
                name="split_windows",
            ),
            Node(
                func=train_lstm_vae,
                inputs={
                    "train_windows": "train_windows",
                    "validation_windows": "validation_windows",
                    "model_params": "params:model",
                    "training_params": "params:training",
                },
                outputs=["trained_model", "training_history"],
                name="train_lstm_vae",
            ),
            Node(
                func=score_validation_windows,
                inputs={"model": "trained_model", "validation_windows": "validation_windows"},
                outputs="validation_scores",
                name="score_validation_windows",
            ),
            Node(
                func=score_test_rows,
                inputs={
                    "model": "trained_model",
                    "test_scaled": "test_scaled",
                    "look_back": "params:look_back",
                },
                outputs="test_scores",
                name="score_test_rows",
            ),
            Node(
                func=choose_threshold,
                inputs={
                    "validation_scores": "validation_scores",
                    "threshold_params": "params:threshold",
                },
                outputs="threshold",
                name="choose_threshold",
            ),
            Node(
                func=detect_anomalies,
                inputs={
                    "labelled_test": "labelled_test_series",
                    "test_scores": "test_scores",
                    "threshold": "threshold",
                },
                outputs="test_detections",
                name="detect_anomalies",
            ),
            Node(
                func=evaluate_detections,
                inputs={
                    "detections": "test_detections",
                    "threshold": "threshold",
                    "training_history": "training_history",
                },
                outputs="test_metrics",
                name="evaluate_detections",
            ),
            Node(
                func=plot_loss,
                inputs={"training_history": "training_history"},
                outputs="loss_figure",
                name="plot_loss",
            ),
            Node(
                func=plot_detections,
                inputs={"detections": "test_detections", "test_series": "params:test_series"},
                outputs="detections_figure",
                name="plot_detections",
            ),
            Node(
                func=plot_anomaly_score,
                inputs={"detections": "test_detections", "threshold": "threshold"},
                outputs="anomaly_score_figure",
                name="plot_anomaly_score",
            ),
            Node(
                func=build_served_model,
                inputs={
                    "model": "trained_model",
                    "scaler": "scaler",
                    "look_back": "params:look_back",
                    "threshold": "threshold",
                    "test": "test_series_values",
                },
                outputs="served_model",
                name="build_served_model",
            ),
        ],
        namespace="nab_anomaly",
        parameters={"params:seed"},
    )
