"""Plain ``kedro run``: all four pipelines, each in its own MLflow run and experiment."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from advanced_dl.schema import namespaces_read

PIPELINES = {"cora_gcn", "imdb_transformer", "mdn_synthetic", "nab_anomaly"}


@pytest.mark.slow
def test_plain_kedro_run_gives_one_run_per_pipeline(plain_run_project):
    # plain_run_project ran `kedro run --params PLAIN_RUN_PARAMS` (tests/conftest.py).
    client = MlflowClient(tracking_uri=f"sqlite:///{plain_run_project / 'mlflow.db'}")
    runs_by_experiment = {
        experiment.name: client.search_runs([experiment.experiment_id])
        for experiment in client.search_experiments()
    }
    assert set(runs_by_experiment) >= PIPELINES
    for name in PIPELINES:
        runs = runs_by_experiment[name]
        assert len(runs) == 1, f"{name}: {len(runs)} runs"
        assert runs[0].info.status == "FINISHED"
        # Each run holds the parameters its own pipeline reads only (nab_anomaly's
        # include the corpus detector's, nab_benchmark.detector).
        namespaces = {key.split(".")[0] for key in runs[0].data.params if "." in key}
        assert namespaces == namespaces_read([name]), (name, namespaces)
    assert not runs_by_experiment.get("Default")
