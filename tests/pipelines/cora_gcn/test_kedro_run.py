"""Smoke test: ``kedro run --pipelines cora_gcn`` on the mirror's Planetoid split, a few epochs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.conftest import latest_run, run_kedro
from tests.notebooks import execute_notebook, outputs_of_type

from .test_pipeline import METRICS

NS = "cora_gcn"
FIGURES = ("training_history.png", "hidden_tsne.png")
N_NODES = 2708


@pytest.mark.slow
def test_kedro_run_logs_metrics_figures_report_and_a_node_classifier(kedro_project, mirror):
    run_kedro(
        kedro_project,
        "run",
        "--pipelines",
        NS,
        "--params",
        f"{NS}.split=planetoid,{NS}.training.epochs=3,{NS}.training.verbose=false,"
        f"{NS}.tsne.max_nodes=150,{NS}.tsne.max_iter=250",
    )
    client, run = latest_run(kedro_project, NS)
    assert run.info.status == "FINISHED"
    for name in METRICS:
        assert name in run.data.metrics, f"metric {name} not logged"
        assert math.isfinite(run.data.metrics[name])
    assert run.data.metrics["epochs_trained"] == 3
    assert run.data.params[f"{NS}.split"] == "planetoid"
    assert run.data.params[f"{NS}.model.l2_factor"] == "0.0005"
    history = client.get_metric_history(run.info.run_id, "val_loss")
    assert sorted(point.step for point in history) == [0, 1, 2]

    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "figures")}
    assert {f"figures/{name}" for name in FIGURES} <= artifacts
    report_path = client.download_artifacts(
        run.info.run_id, "reports/test_class_report.csv", str(kedro_project)
    )
    report = pd.read_csv(report_path)
    assert len(report) == 7 + 2 and report["support"].iloc[:7].sum() == 1000
    assert "Neural_Networks" in set(report["class"])  # Planetoid classes named from cora.content
    for raw in ("planetoid/ind.cora.graph", "cora/cora.tgz"):
        assert (kedro_project / "data/01_raw" / raw).is_file()

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{kedro_project / 'mlflow.db'}")
    served = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    scored = served.predict(pd.DataFrame({"node": np.arange(N_NODES)}))
    probabilities = scored.filter(like="probability_")
    assert len(scored) == N_NODES and probabilities.shape[1] == 7
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-4)
    with pytest.raises(Exception, match="node"):
        served.predict(pd.DataFrame({"node": [N_NODES]}))

    notebook = execute_notebook(kedro_project, NS)
    assert outputs_of_type(notebook, "image/png") == 2
    assert "probability_" in str([cell.outputs for cell in notebook.cells[-1:]])
