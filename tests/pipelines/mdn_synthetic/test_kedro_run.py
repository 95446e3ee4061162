"""``kedro run`` of mdn_synthetic: the MLflow run, the registered and served model, the notebook."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest

from tests.conftest import latest_run
from tests.notebooks import execute_notebook, outputs_of_type

METRICS = ("test_ari", "test_nmi", "test_nll", "bayes_optimal_ari", "mean_error_max", "fit_seconds")


@pytest.mark.slow
def test_kedro_run_tracks_a_run_and_serves_it(plain_run):
    # The plain `kedro run` of tests/conftest.py: 700 samples, 2 epochs. That the same
    # command gives the same metrics again is tests/test_concurrency.py's.
    kedro_project = plain_run.project
    client, first = latest_run(kedro_project, "mdn_synthetic")
    # What the project causes or configures stays out of a newcomer's terminal.
    for noise in ("cuInit", "register_new_resolver", "is deprecated"):
        assert noise not in plain_run.output, noise

    for name in METRICS:
        assert name in first.data.metrics, f"metric {name} missing"
    curves = [m.value for m in client.get_metric_history(first.info.run_id, "val_loss")]
    assert len(curves) == first.data.metrics["epochs_trained"] == 2
    assert len(client.get_metric_history(first.info.run_id, "learning_rate")) == 2
    params = first.data.params
    assert params["mdn_synthetic.training.epochs"] == "2"
    assert params["mdn_synthetic.model.min_scale"] == "0.05"
    assert params["seed"] == "42"
    # What the device hook decided on this machine: the first GPU if TensorFlow sees one.
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    expected_device = f"GPU:0 ({gpus[0].name})" if gpus else "CPU"
    assert first.data.tags["device"] == expected_device
    assert first.data.tags["precision_policy"] == "float32"  # mixed_precision is off
    assert first.data.tags["tensorflow_version"].startswith("2.")
    figures = {f.path for f in client.list_artifacts(first.info.run_id, "figures")}
    assert figures == {
        "figures/training_data.png",
        "figures/test_predictions.png",
        "figures/training_history.png",
    }

    system = [name for name in first.data.metrics if name.startswith("system/")]
    assert {"system/cpu_utilization_percentage", "system/system_memory_usage_megabytes"} <= set(
        system
    )
    # One monitor per run: each sample is logged once, at its own step.
    history = client.get_metric_history(first.info.run_id, "system/cpu_utilization_percentage")
    steps = [point.step for point in history]
    assert len(steps) == len(set(steps))
    # Registered under the pipeline's name, one version per run.
    versions = client.search_model_versions("name='mdn_synthetic'")
    assert [v.run_id for v in versions] == [first.info.run_id]
    registered = mlflow.pyfunc.load_model(f"models:/mdn_synthetic/{versions[0].version}")
    assert registered.metadata.run_id == first.info.run_id
    # The first version is the champion, tagged with its test metric.
    champion = client.get_model_version_by_alias("mdn_synthetic", "champion")
    assert champion.version == versions[0].version
    assert float(champion.tags["test_ari"]) == first.data.metrics["test_ari"]

    model = mlflow.pyfunc.load_model(f"runs:/{first.info.run_id}/model")
    assert model.metadata.signature is not None
    scored = model.predict(pd.DataFrame({"x1": [2.0, -2.0], "x2": [2.0, -2.0]}))
    assert list(scored.columns[:5]) == [
        "predicted_component",
        "weight_0",
        "weight_1",
        "weight_2",
        "weight_3",
    ]
    assert scored["predicted_component"].between(0, 3).all()

    notebook = execute_notebook(kedro_project, "mdn_synthetic")
    assert outputs_of_type(notebook, "image/png") == 3
