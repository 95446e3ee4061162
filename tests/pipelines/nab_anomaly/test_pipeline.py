"""``nab_anomaly`` on an in-memory catalog: tiny synthetic series, one epoch."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from advanced_dl.io.nab import LazyNabSeries, read_local_series
from advanced_dl.pipelines.nab_anomaly import create_pipeline
from advanced_dl.serving.nab_anomaly import NabAnomalyDetector
from tests.conftest import REPO_ROOT, KeptMemoryDataset
from tests.pipelines.nab_benchmark.corpus import tiny_parameters

from .test_nodes import START, TEST, TRAIN, raw_frame, square_wave

NS = "nab_anomaly"
METRICS = {
    "test_precision",
    "test_recall",
    "test_f1",
    "windows_total",
    "windows_detected",
    "false_positive_detections",
    "first_detection_delay_rows",
    "nab_score_standard",
    "nab_score_reward_low_fp",
    "nab_score_reward_low_fn",
    "threshold",
}


def _params() -> dict:
    path = REPO_ROOT / "conf" / "base" / "parameters_nab_anomaly.yml"
    params = yaml.safe_load(path.read_text())[NS]
    params.update(train_series=TRAIN, test_series=TEST, train_last_row=199, look_back=16)
    params["training"].update(epochs=1, batch_size=64)
    return params


def test_pipeline_runs_end_to_end_in_memory(tmp_path):
    test_values = square_wave(400, period=32)
    test_values[300:310] += 100.0
    frames = {TRAIN: raw_frame(square_wave(240, period=32)), TEST: raw_frame(test_values)}
    paths = {}
    for name, frame in frames.items():
        paths[name] = tmp_path / name.replace("/", "_")
        frame.to_csv(paths[name], index=False)
    series = LazyNabSeries(list(frames), fetch_series=paths.__getitem__)
    step = pd.Timedelta("5min")
    labels = {TRAIN: [], TEST: [str(START + 300 * step)]}
    windows = {TRAIN: [], TEST: [[str(START + 280 * step), str(START + 320 * step)]]}

    pipeline = create_pipeline()
    datasets = {
        f"{NS}.series": MemoryDataset(series, copy_mode="assign"),
        f"{NS}.labels": MemoryDataset(labels),
        f"{NS}.windows": MemoryDataset(windows),
        f"{NS}.own_series_reader": MemoryDataset(read_local_series, copy_mode="assign"),
        "params:seed": MemoryDataset(42),
        "params:nab_benchmark.detector": MemoryDataset(tiny_parameters()["detector"]),
    }
    params = _params()
    for key, value in params.items():
        datasets[f"params:{NS}.{key}"] = MemoryDataset(value)
    fraction = params["training"]["validation_fraction"]
    datasets[f"params:{NS}.training.validation_fraction"] = MemoryDataset(fraction)
    for name in pipeline.all_outputs():
        datasets[name] = KeptMemoryDataset(copy_mode="assign")
    catalog = DataCatalog(datasets=datasets)

    SequentialRunner().run(pipeline, catalog)

    assert len(catalog.load(f"{NS}.train_series_values")) == 200
    validation = catalog.load(f"{NS}.validation_windows")
    assert validation.shape == (round(0.1 * (200 - 16 + 1)), 16, 1)
    metrics = catalog.load(f"{NS}.test_metrics")
    assert set(metrics) == METRICS
    assert all(math.isfinite(v) for v in metrics.values())
    assert metrics["windows_total"] == 1
    detections = catalog.load(f"{NS}.test_detections")
    assert len(detections) == 400 and detections["anomaly_score"].iloc[:15].isna().all()
    panels = [a.get_ylabel() for a in catalog.load(f"{NS}.training_history_figure").axes]
    assert panels == ["loss", "learning rate"]
    title = catalog.load(f"{NS}.detections_figure").axes[0].get_title()
    assert title == f"{TEST}: detections"
    score_axis = catalog.load(f"{NS}.anomaly_score_figure").axes[0]
    assert score_axis.get_ylabel() == "-log-likelihood of the newest row"

    corpus_metrics = catalog.load(f"{NS}.corpus_detector_metrics")
    assert set(corpus_metrics) == {f"corpus_detector_{name}" for name in METRICS}
    corpus_detections = catalog.load(f"{NS}.corpus_detector_detections")
    # Fitted on the test series' probationary rows (60 of 400), as in the corpus run.
    assert corpus_detections["anomaly_score"].isna().sum() == 60 and len(corpus_detections) == 400
    np.testing.assert_array_equal(corpus_detections["window"], detections["window"])

    served = catalog.load(f"{NS}.served_model")
    assert isinstance(served, NabAnomalyDetector)
    assert served.threshold == metrics["threshold"] and served.look_back == 16
    output = served.predict(None, pd.read_csv(paths[TEST]))
    np.testing.assert_array_equal(output["anomaly_score"], detections["anomaly_score"])
    np.testing.assert_array_equal(output["is_anomaly"], detections["is_anomaly"])
