"""Smoke test: ``kedro run --pipeline imdb_transformer`` on a subset of the real reviews."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO_ROOT, latest_run, run_kedro

NS = "imdb_transformer"
METRICS = ("test_accuracy", "test_loss", "test_roc_auc", "test_f1", "epoch_seconds", "fit_seconds")
FIGURES = ("training_curves.png", "confusion_matrix.png", "attention.png")


@pytest.mark.slow
def test_kedro_run_logs_metrics_figures_and_a_model_that_scores_text(kedro_project, mirror):
    run_kedro(
        kedro_project,
        "run",
        "--pipeline",
        NS,
        "--params",
        f"{NS}.data.max_reviews_per_split=200,{NS}.training.epochs=1",
    )
    client, run = latest_run(kedro_project, NS)
    assert run.info.status == "FINISHED"
    for name in METRICS:
        assert name in run.data.metrics, f"metric {name} not logged"
        assert math.isfinite(run.data.metrics[name])
    assert run.data.params[f"{NS}.vectorisation.vocabulary_size"] == "20000"

    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "figures")}
    assert {f"figures/{name}" for name in FIGURES} <= artifacts
    assert [a.path for a in client.list_artifacts(run.info.run_id, "vocabulary")] == [
        "vocabulary/vocabulary.json"
    ]
    assert (kedro_project / "data/02_intermediate/imdb_transformer/reviews.parquet").is_file()

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{kedro_project / 'mlflow.db'}")
    served = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    scored = served.predict(
        pd.DataFrame({"review": ["One of the best films I have seen.", "Terrible. Avoid it."]})
    )
    assert list(scored.columns) == ["probability_positive", "label"]
    assert scored["probability_positive"].between(0, 1).all()
    with pytest.raises(Exception, match="empty"):
        served.predict(pd.DataFrame({"review": [""]}))

    _execute_notebook(kedro_project)


def _execute_notebook(project: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(REPO_ROOT / "notebooks" / f"{NS}.ipynb", as_version=4)
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(project)}},
        allow_errors=True,
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    errors = ["\n".join(o.traceback) for o in outputs if o.output_type == "error"]
    assert not errors, errors[0][-4000:]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3
