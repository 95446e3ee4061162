"""Smoke test: ``kedro run --pipelines nab_benchmark`` on 3 real series, few epochs, 2 workers."""

from __future__ import annotations

import math

import mlflow
import pandas as pd
import pytest

from advanced_dl.nab import score as nab_score
from tests.conftest import latest_run, run_kedro
from tests.notebooks import execute_notebook, outputs_of_type

from .test_nodes import nab_score_windows_from_labels

NS = "nab_benchmark"
DETECTOR = "lstmVaeNextValue"  # detector_name
SERIES = (
    # Repeated timestamps; a timestamp going back is tests/nab/test_windows.py's (the
    # one series that has one holds 22,695 rows, too long for the suite).
    "realKnownCause/ec2_request_latency_system_failure.csv",
    "realTraffic/speed_7578.csv",  # the shortest series
    "artificialNoAnomaly/art_daily_no_noise.csv",  # no window
)


@pytest.mark.slow
def test_kedro_run_scores_real_series_and_writes_nab_results(kedro_project, mirror):
    run_kedro(
        kedro_project,
        "run",
        "--pipelines",
        NS,
        "--params",
        f"{NS}.series={' '.join(SERIES)},{NS}.detector.lstm_vae.training.epochs=1,"
        f"{NS}.detector.next_value.epochs=2,{NS}.dask.workers=2",
    )
    client, run = latest_run(kedro_project, NS)
    assert run.info.status == "FINISHED"
    metrics = run.data.metrics
    for name in (
        "corpus_score_standard",
        "corpus_score_reward_low_fp",
        "corpus_score_reward_low_fn",
        "corpus_score_standard_label_free",
        "corpus_score_standard_learned_alone",
        "corpus_score_standard_cross_category",
        "corpus_score_reward_low_fn_cross_category",
        "threshold_standard",
        "score_standard_realKnownCause",
        "score_standard_realTraffic",
        "fit_seconds",
        "wall_seconds",
    ):
        assert math.isfinite(metrics[name]), name
    assert metrics["series_scored"] == 3 and metrics["windows_total"] == 7
    assert metrics["workers"] == 2

    root = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, dst_path=str(kedro_project / "downloaded")
    )
    results = sorted((kedro_project / "downloaded" / "nab_results").glob(f"{DETECTOR}/*/*.csv"))
    assert [p.name for p in results] == [
        f"{DETECTOR}_art_daily_no_noise.csv",
        f"{DETECTOR}_ec2_request_latency_system_failure.csv",
        f"{DETECTOR}_speed_7578.csv",
    ]
    latency = pd.read_csv(results[1])
    raw = pd.read_csv(kedro_project / "data/01_raw/nab/data" / SERIES[0])
    assert len(latency) == len(raw)  # every row, repeated timestamps included
    assert latency["timestamp"].tolist() == raw["timestamp"].tolist()  # in file order

    # NAB's files alone give back the logged corpus score.
    corpus = [
        nab_score.SeriesScores(
            table["anomaly_score"].to_numpy(),
            nab_score_windows_from_labels(table["label"].to_numpy()),
        )
        for table in map(pd.read_csv, results)
    ]
    rescored = nab_score.sweep_thresholds(corpus, "standard")
    assert rescored.normalized == pytest.approx(metrics["corpus_score_standard"], abs=1e-9)

    figures = {a.path for a in client.list_artifacts(run.info.run_id, "figures")}
    assert figures == {"figures/scoreboard.png", "figures/worst_series.png"}
    tables = {a.path for a in client.list_artifacts(run.info.run_id, "tables")}
    assert tables == {
        "tables/scoreboard.csv",
        "tables/series_summary.csv",
        "tables/cross_category_choices.csv",
    }
    choices = pd.read_csv(f"{root}/tables/cross_category_choices.csv")
    assert len(choices) == 3 * 3  # three profiles, three categories held out in turn
    scoreboard = pd.read_csv(f"{root}/tables/scoreboard.csv")
    assert f"{DETECTOR} (this run)" in scoreboard["detector"].tolist()
    assert "Numenta HTM" in scoreboard["detector"].tolist()

    notebook = execute_notebook(kedro_project, NS)
    assert outputs_of_type(notebook, "image/png") == 2
