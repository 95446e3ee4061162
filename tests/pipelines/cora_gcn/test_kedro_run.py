"""Smoke test: ``kedro run --pipeline cora_gcn`` on the mirror's Planetoid split, a few epochs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO_ROOT, latest_run, run_kedro

from .test_pipeline import METRICS

NS = "cora_gcn"
FIGURES = ("training_curves.png", "hidden_tsne.png")
N_NODES = 2708


@pytest.mark.slow
def test_kedro_run_logs_metrics_figures_report_and_a_node_classifier(kedro_project, mirror):
    run_kedro(
        kedro_project,
        "run",
        "--pipeline",
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
    history = client.get_metric_history(run.info.run_id, "epoch_val_loss")
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

    _execute_notebook(kedro_project)


def _execute_notebook(project: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(REPO_ROOT / "notebooks" / f"{NS}.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(project)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2
    assert any("probability_" in str(o.get("data", {})) for o in outputs)
