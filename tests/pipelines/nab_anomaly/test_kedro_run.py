"""Smoke test: ``kedro run --pipelines nab_anomaly``, tiny parameters, the mirror's NAB files."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.conftest import latest_run
from tests.notebooks import execute_notebook, outputs_of_type

from .test_pipeline import METRICS

NS = "nab_anomaly"
FIGURES = (
    "training_history.png",
    "detections.png",
    "anomaly_score.png",
    "corpus_detector_detections.png",
)


@pytest.mark.slow
def test_kedro_run_logs_metrics_figures_and_a_detector_for_raw_csv(plain_run_project):
    # The plain `kedro run` of tests/conftest.py: nab_anomaly.train_last_row=400,
    # nab_anomaly.training.epochs=1, the corpus detector briefly trained.
    kedro_project = plain_run_project
    client, run = latest_run(kedro_project, NS)
    assert run.info.status == "FINISHED"
    for name in METRICS:
        assert name in run.data.metrics, f"metric {name} not logged"
        assert math.isfinite(run.data.metrics[name])
    assert run.data.metrics["windows_total"] == 1
    assert "loss" in run.data.metrics and "val_loss" in run.data.metrics
    assert run.data.params[f"{NS}.test_series"] == "artificialWithAnomaly/art_daily_jumpsup.csv"
    assert run.data.params[f"{NS}.training.batch_size"] == "256"

    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "figures")}
    assert {f"figures/{name}" for name in FIGURES} <= artifacts
    raw = kedro_project / "data/01_raw/nab/data/artificialWithAnomaly/art_daily_jumpsup.csv"
    assert raw.is_file()

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{kedro_project / 'mlflow.db'}")
    served = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    frame = pd.read_csv(raw).iloc[2900:3100].reset_index(drop=True)
    scored = served.predict(frame)
    assert list(scored.columns) == ["timestamp", "anomaly_score", "is_anomaly"]
    assert len(scored) == 200
    assert scored["anomaly_score"].iloc[:63].isna().all()
    assert scored["anomaly_score"].iloc[63:].notna().all()
    assert scored["is_anomaly"].dtype == bool
    with pytest.raises(Exception, match="timestamp"):
        served.predict(frame.drop(columns="timestamp"))

    notebook = execute_notebook(kedro_project, NS)
    assert outputs_of_type(notebook, "image/png") == 3
