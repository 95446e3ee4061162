"""Smoke tests: ``kedro run --pipelines cora_gcn`` on the mirror's Planetoid files, a few epochs.

Cora with the GCN (the plain run's, and the notebook), CiteSeer with the GAT, Cora with GRAND.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.conftest import latest_run, run_kedro
from tests.notebooks import execute_notebook, outputs_of_type

from .test_pipeline import METRICS

NS = "cora_gcn"
FIGURES = ("training_history.png", "hidden_tsne.png", "neighbourhood_weights.png")
QUICK = f"{NS}.training.verbose=false,{NS}.tsne.max_nodes=150,{NS}.tsne.max_iter=250"
# Per dataset: nodes, classes, a class name the report must hold, the raw file fetched
CORA = (2708, 7, "Neural_Networks", "planetoid/ind.cora.graph")
CITESEER = (3327, 6, "class_0", "planetoid/ind.citeseer.graph")
# Each dataset and each kind of layer once: GCN on Cora is the plain run's.
CASES = {("citeseer", "gat"): CITESEER, ("cora", "grand"): CORA}


@pytest.mark.slow
def test_plain_kedro_run_logs_metrics_figures_report_a_node_classifier_and_notebook(
    plain_run_project,
):
    # The plain `kedro run` of tests/conftest.py ran Cora's Planetoid split with the GCN.
    _check_run(plain_run_project, "cora", "gcn", CORA)
    notebook = execute_notebook(plain_run_project, NS)
    assert outputs_of_type(notebook, "image/png") == 3
    assert "probability_" in str([cell.outputs for cell in notebook.cells[-1:]])


@pytest.mark.slow
@pytest.mark.parametrize(("dataset", "architecture"), list(CASES))
def test_kedro_run_logs_metrics_figures_report_and_a_node_classifier(
    kedro_project, mirror, dataset, architecture
):
    params = (
        f"{NS}.split=planetoid,{NS}.dataset={dataset},{NS}.model.architecture={architecture},"
        f"{NS}.training.{architecture}.epochs=3,{QUICK}"
    )
    run_kedro(kedro_project, "run", "--pipelines", NS, "--params", params)
    _check_run(kedro_project, dataset, architecture, CASES[dataset, architecture])


def _check_run(kedro_project, dataset: str, architecture: str, expected: tuple) -> None:
    """The newest cora_gcn run logged, reported and serves what a run on ``dataset`` must."""
    n_nodes, n_classes, class_name, raw = expected
    client, run = latest_run(kedro_project, NS)
    assert run.info.status == "FINISHED"
    for name in METRICS:
        assert name in run.data.metrics, f"metric {name} not logged"
        assert math.isfinite(run.data.metrics[name])
    assert run.data.metrics["epochs_trained"] == 3
    assert run.data.params[f"{NS}.dataset"] == dataset
    assert run.data.params[f"{NS}.model.architecture"] == architecture
    history = client.get_metric_history(run.info.run_id, "val_loss")
    assert sorted(point.step for point in history) == [0, 1, 2]

    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "figures")}
    assert {f"figures/{name}" for name in FIGURES} <= artifacts
    report_path = client.download_artifacts(
        run.info.run_id, "reports/test_class_report.csv", str(kedro_project)
    )
    report = pd.read_csv(report_path)
    assert len(report) == n_classes + 2 and report["support"].iloc[:n_classes].sum() == 1000
    assert class_name in set(report["class"])
    assert (kedro_project / "data/01_raw" / raw).is_file()
    other = "citeseer" if dataset == "cora" else "cora"
    assert not (kedro_project / f"data/01_raw/planetoid/ind.{other}.graph").exists()

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{kedro_project / 'mlflow.db'}")
    served = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    scored = served.predict(pd.DataFrame({"node": np.arange(n_nodes)}))
    probabilities = scored.filter(like="probability_")
    assert len(scored) == n_nodes and probabilities.shape[1] == n_classes
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-4)
    with pytest.raises(Exception, match="node"):
        served.predict(pd.DataFrame({"node": [n_nodes]}))
