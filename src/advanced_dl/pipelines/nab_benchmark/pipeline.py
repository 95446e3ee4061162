"""Wiring of the ``nab_benchmark`` pipeline."""

from kedro.pipeline import Node, Pipeline

from .figures import plot_scoreboard, plot_worst_series
from .nodes import (
    build_scoreboard,
    choose_corpus_thresholds,
    cross_category_scores,
    detect_corpus,
    evaluate_corpus,
    load_corpus,
    nab_results_tables,
    score_corpus,
    summarise_series,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                load_corpus,
                ["series", "labels", "windows", "params:series", "params:detector"],
                "corpus_series",
                name="load_corpus",
            ),
            Node(
                detect_corpus,
                ["corpus_series", "params:detector", "params:dask", "params:seed"],
                ["corpus_raw_scores", "detection_timings"],
                name="detect_corpus",
            ),
            Node(
                score_corpus,
                ["corpus_raw_scores", "params:detector"],
                ["corpus_detections", "label_free_thresholds"],
                name="score_corpus",
            ),
            Node(
                cross_category_scores,
                ["corpus_raw_scores", "params:detector", "params:selection"],
                ["cross_category_metrics", "cross_category_choices"],
                name="cross_category_scores",
            ),
            Node(
                choose_corpus_thresholds,
                "corpus_detections",
                "corpus_thresholds",
                name="choose_corpus_thresholds",
            ),
            Node(
                summarise_series,
                ["corpus_detections", "corpus_thresholds", "label_free_thresholds"],
                "series_summary",
                name="summarise_series",
            ),
            Node(
                evaluate_corpus,
                [
                    "corpus_detections",
                    "corpus_thresholds",
                    "series_summary",
                    "detection_timings",
                    "cross_category_metrics",
                ],
                "test_metrics",
                name="evaluate_corpus",
            ),
            Node(
                nab_results_tables,
                ["corpus_detections", "params:detector_name"],
                "nab_results",
                name="nab_results_tables",
            ),
            Node(
                build_scoreboard,
                ["test_metrics", "params:published_scores", "params:detector_name"],
                "scoreboard",
                name="build_scoreboard",
            ),
            Node(plot_scoreboard, "scoreboard", "scoreboard_figure", name="plot_scoreboard"),
            Node(
                plot_worst_series,
                ["corpus_detections", "series_summary", "corpus_thresholds"],
                "worst_series_figure",
                name="plot_worst_series",
            ),
        ],
        namespace="nab_benchmark",
        parameters={"params:seed"},
    )
