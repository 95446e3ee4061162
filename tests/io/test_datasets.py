"""The project's Kedro datasets."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro.io import DatasetError
from matplotlib.figure import Figure

from advanced_dl.data import acquisition
from advanced_dl.io import (
    KerasModelDataset,
    MlflowMetricsJsonDataset,
    PngFigureDataset,
    RemoteFileDataset,
)
from advanced_dl.io.metrics import to_metric_items


@pytest.fixture
def tracking(tmp_path):
    """A throw-away MLflow store with an active run."""
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    with mlflow.start_run() as run:
        yield run
    mlflow.set_tracking_uri(previous)


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


def test_png_figure_round_trip(tmp_path):
    figure = Figure(figsize=(2, 2))
    figure.subplots().plot([0, 1], [1, 0])
    dataset = PngFigureDataset(filepath=str(tmp_path / "f.png"))
    dataset.save(figure)
    image = dataset.load()
    assert image.format == "PNG"
    assert image.size[0] > 50


def test_keras_model_round_trip(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    dataset = KerasModelDataset(filepath=str(tmp_path / "models" / "m.keras"))
    dataset.save(model)
    x = np.ones((4, 3), dtype="float32")
    np.testing.assert_allclose(dataset.load().predict(x, verbose=0), model.predict(x, verbose=0))
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["m.keras"]


def test_keras_model_dataset_needs_keras_suffix():
    with pytest.raises(DatasetError, match=".keras"):
        KerasModelDataset(filepath="model.h5")


def test_remote_file_dataset_fetches_and_parses(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror" / "nab" / "data"
    mirror.mkdir(parents=True)
    (mirror / "s.csv").write_text("timestamp,value\n2014-01-01 00:00:00,1.5\n")
    monkeypatch.setenv(acquisition.MIRROR_ENV_VAR, str(tmp_path / "mirror"))
    raw = tmp_path / "raw"
    as_path = RemoteFileDataset(source="nab", relative_path="data/s.csv", raw_dir=str(raw))
    assert as_path.load() == raw / "nab" / "data" / "s.csv"
    as_table = RemoteFileDataset(
        source="nab", relative_path="data/s.csv", raw_dir=str(raw), dataset="pandas.CSVDataset"
    )
    assert as_table.load()["value"].tolist() == [1.5]
    with pytest.raises(DatasetError, match="raw data"):
        as_table.save(pd.DataFrame())
