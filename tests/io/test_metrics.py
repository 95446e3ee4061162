"""MlflowMetricsJsonDataset: metrics logged to the MLflow run by name, with a JSON copy."""

from __future__ import annotations

import json

import mlflow
import pytest
from kedro.io import DatasetError

from advanced_dl.io import MlflowMetricsJsonDataset
from advanced_dl.io.metrics import to_metric_items


def test_metric_items_scalars_and_curves():
    items = to_metric_items({"test_ari": 0.9, "loss": [3.0, 2.0]})
    assert items["test_ari"] == {"value": 0.9, "step": 0}
    assert items["loss"] == [{"value": 3.0, "step": 0}, {"value": 2.0, "step": 1}]


def test_metrics_are_logged_by_name_with_steps_and_kept_as_json(tmp_path, tracking):
    dataset = MlflowMetricsJsonDataset(filepath=str(tmp_path / "m" / "metrics.json"))
    dataset.save({"test_ari": 0.5, "loss": [2.0, 1.0, 0.5]})
    client = mlflow.tracking.MlflowClient()
    run = client.get_run(tracking.info.run_id)
    assert run.data.metrics["test_ari"] == 0.5
    history = client.get_metric_history(tracking.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 2.0), (1, 1.0), (2, 0.5)]
    assert dataset.load() == {"test_ari": 0.5, "loss": [2.0, 1.0, 0.5]}


def test_metrics_without_a_run_write_json_only(tmp_path):
    assert mlflow.active_run() is None
    dataset = MlflowMetricsJsonDataset(filepath=str(tmp_path / "metrics.json"))
    dataset.save({"a": 1})
    assert mlflow.active_run() is None
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"a": 1}


def test_non_finite_metrics_are_refused(tmp_path):
    dataset = MlflowMetricsJsonDataset(filepath=str(tmp_path / "metrics.json"))
    with pytest.raises(DatasetError, match="Non-finite"):
        dataset.save({"test_nll": float("nan")})


def test_the_json_copy_is_versioned(tmp_path):
    from kedro.io import Version

    path = str(tmp_path / "metrics.json")
    MlflowMetricsJsonDataset(filepath=path, version=Version(None, "v1")).save({"a": 1.0})
    pinned = MlflowMetricsJsonDataset(filepath=path, version=Version(None, "v2"))
    pinned._version = Version("v2", "v2")  # as hooks.pin_versions does
    pinned.save({"a": 2.0})
    assert pinned.load() == {"a": 2.0}
    assert MlflowMetricsJsonDataset(filepath=path, version=Version("v1", None)).load() == {"a": 1.0}
