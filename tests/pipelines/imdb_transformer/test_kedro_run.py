"""Smoke test: ``kedro run --pipelines imdb_transformer`` on a subset of the real reviews."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.conftest import latest_run, run_kedro
from tests.notebooks import execute_notebook, outputs_of_type

NS = "imdb_transformer"
METRICS = (
    "test_accuracy",
    "test_loss",
    "test_roc_auc",
    "test_f1",
    "mean_epoch_seconds",
    "fit_seconds",
    # the TF-IDF baseline, in the same run
    "baseline_test_accuracy",
    "baseline_test_roc_auc",
    "baseline_test_f1",
    "baseline_fit_seconds",
)
FIGURES = ("training_history.png", "confusion_matrix.png", "attention.png")


@pytest.mark.slow
def test_kedro_run_logs_metrics_figures_and_a_model_that_scores_text(plain_run_project):
    # The plain `kedro run` of tests/conftest.py: 200 reviews per split, one epoch.
    kedro_project = plain_run_project
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
    assert (kedro_project / "data/01_raw/imdb/aclImdb_v1.tar.gz").is_file()

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

    notebook = execute_notebook(kedro_project, NS)
    assert outputs_of_type(notebook, "image/png") == 3


@pytest.mark.slow
def test_tuned_environment_runs_beside_the_reference_and_serves_raw_text(kedro_project, mirror):
    # The tuned configuration at tiny sizes: few reviews, a small pair table.
    run_kedro(
        kedro_project,
        "run",
        "--pipelines",
        NS,
        "--env",
        "tuned",
        "--params",
        f"{NS}.data.max_reviews_per_split=200,{NS}.model.bigram_buckets=1009,"
        f"{NS}.baseline.enabled=false",
    )
    client, run = latest_run(kedro_project, NS)  # the reference's experiment
    assert run.info.status == "FINISHED"
    assert run.data.tags["env"] == "tuned"  # told apart from reference runs in the same list
    params = run.data.params
    assert params[f"{NS}.vectorisation.keep"] == "head_and_tail"
    assert params[f"{NS}.vectorisation.head_tokens"] == "100"
    assert params[f"{NS}.training.schedule"] == "cosine"
    assert params[f"{NS}.training.restore_best_weights"] == "False"
    assert params[f"{NS}.model.bigram_buckets"] == "1009"
    history = client.get_metric_history(run.info.run_id, "val_accuracy")
    assert len(history) == run.data.metrics["epochs_trained"] == 2
    assert "baseline_test_accuracy" not in run.data.metrics

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{kedro_project / 'mlflow.db'}")
    served = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    long_review = " ".join(["dull"] * 500 + ["but", "a", "wonderful", "ending"])
    scored = served.predict(pd.DataFrame({"review": [long_review, "Terrible. Avoid it."]}))
    assert scored["probability_positive"].between(0, 1).all()
