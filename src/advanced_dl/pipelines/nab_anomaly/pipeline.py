"""Wiring of the ``nab_anomaly`` pipeline."""

from kedro.pipeline import Node, Pipeline

from advanced_dl.nab.detector import split_windows
from advanced_dl.plotting import plot_training_history

from .figures import plot_anomaly_score, plot_detections
from .nodes import (
    attach_labels,
    build_corpus_detector_served_model,
    build_served_model,
    choose_served_model,
    choose_threshold,
    detect_anomalies,
    evaluate_corpus_detections,
    evaluate_detections,
    fit_corpus_detector,
    fit_scaler,
    load_series,
    make_windows,
    scale_series,
    score_corpus_detector_rows,
    score_test_rows,
    score_validation_windows,
    split_corpus_detector_rows,
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
                "lstm_vae_served_model",
                name="build_served_model",
            ),
            # The corpus detector (nab_benchmark's) on the same series: what a user's
            # own series is served with.
            Node(
                split_corpus_detector_rows,
                ["train_series_values", "labelled_test_series", "params:own_series"],
                ["corpus_detector_fitted_rows", "corpus_detector_scored_rows"],
                name="split_corpus_detector_rows",
            ),
            Node(
                fit_corpus_detector,
                [
                    "corpus_detector_fitted_rows",
                    "params:nab_benchmark.detector",
                    "params:seed",
                ],
                "corpus_detector",
                name="fit_corpus_detector",
            ),
            Node(
                score_corpus_detector_rows,
                [
                    "corpus_detector",
                    "corpus_detector_fitted_rows",
                    "corpus_detector_scored_rows",
                    "params:own_series",
                ],
                ["corpus_detector_detections", "corpus_detector_threshold"],
                name="score_corpus_detector_rows",
            ),
            Node(
                evaluate_corpus_detections,
                [
                    "corpus_detector_detections",
                    "corpus_detector_threshold",
                    "params:own_series",
                ],
                "corpus_detector_metrics",
                name="evaluate_corpus_detections",
            ),
            Node(
                plot_detections,
                ["corpus_detector_detections", "params:test_series", "params:own_series"],
                "corpus_detector_detections_figure",
                name="plot_corpus_detector_detections",
            ),
            Node(
                build_corpus_detector_served_model,
                [
                    "corpus_detector",
                    "corpus_detector_fitted_rows",
                    "corpus_detector_scored_rows",
                    "corpus_detector_threshold",
                    "params:accept_unordered_timestamps",
                ],
                "corpus_detector_served_model",
                name="build_corpus_detector_served_model",
            ),
            Node(
                choose_served_model,
                ["lstm_vae_served_model", "corpus_detector_served_model", "params:own_series"],
                "served_model",
                name="choose_served_model",
            ),
        ],
        namespace="nab_anomaly",
        parameters={"params:seed", "params:nab_benchmark.detector"},
    )
