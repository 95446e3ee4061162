"""Smoke tests: ``kedro run --pipelines cora_gcn`` on the mirror's Planetoid files, a few epochs.

Cora with the GCN (and the notebook), CiteSeer with the GCN, Cora with the GAT.
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
# dataset, architecture: nodes, classes, a class name the report must hold, raw file fetched
CASES = {
    ("cora", "gcn"): (2708, 7, "Neural_Networks", "planetoid/ind.cora.graph"),
    ("citeseer", "gcn"): (3327, 6, "class_0", "planetoid/ind.citeseer.graph"),
    ("cora", "gat"): (2708, 7, "Neural_Networks", "planetoid/ind.cora.graph"),
    ("cora", "grand"): (2708, 7, "Neural_Networks", "planetoid/ind.cora.graph"),
}


@pytest.mark.slow
@pytest.mark.parametrize(("dataset", "architecture"), list(CASES))
def test_kedro_run_logs_metrics_figures_report_and_a_node_classifier(
    request, mirror, dataset, architecture
):
    n_nodes, n_classes, class_name, raw = CASES[dataset, architecture]
    if (dataset, architecture) == ("cora", "gcn"):
        # The plain `kedro run` of tests/conftest.py ran exactly this configuration.
        kedro_project = request.getfixturevalue("plain_run_project")
    else:
        kedro_project = request.getfixturevalue("kedro_project")
        run_kedro(
            kedro_project,
            "run",
            "--pipelines",
            NS,
            "--params",
            f"{NS}.split=planetoid,{NS}.dataset={dataset},{NS}.model.architecture={architecture},"
            f"{NS}.training.{architecture}.epochs=3,{QUICK}",
        )
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

    if (dataset, architecture) == ("cora", "gcn"):
        notebook = execute_notebook(kedro_project, NS)
        assert outputs_of_type(notebook, "image/png") == 3
        assert "probability_" in str([cell.outputs for cell in notebook.cells[-1:]])
