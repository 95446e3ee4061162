"""Plain ``kedro run``: all four pipelines, each in its own MLflow run and experiment."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from advanced_dl.schema import namespaces_read
from tests.conftest import run_kedro

TINY = ",".join(
    [
        "cora_gcn.training.gcn.epochs=3",
        "cora_gcn.tsne.max_nodes=150",
        "cora_gcn.tsne.max_iter=250",
        "imdb_transformer.data.max_reviews_per_split=200",
        "imdb_transformer.training.epochs=1",
        "mdn_synthetic.data.n_samples=700",
        "mdn_synthetic.data.train_size=600",
        "mdn_synthetic.training.epochs=2",
        "nab_anomaly.train_last_row=400",
        "nab_anomaly.training.epochs=1",
    ]
)
PIPELINES = {"cora_gcn", "imdb_transformer", "mdn_synthetic", "nab_anomaly"}


@pytest.mark.slow
def test_plain_kedro_run_gives_one_run_per_pipeline(kedro_project, mirror):
    run_kedro(kedro_project, "run", "--params", TINY)
    client = MlflowClient(tracking_uri=f"sqlite:///{kedro_project / 'mlflow.db'}")
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
