"""The whole mdn_synthetic pipeline on an in-memory catalog, one epoch."""

from __future__ import annotations

import copy

import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from sklearn.metrics import adjusted_rand_score

from advanced_dl.pipelines.mdn_synthetic import create_pipeline
from advanced_dl.serving.mdn_synthetic import MdnServingModel
from tests.conftest import REPO_ROOT, KeptMemoryDataset


def test_pipeline_runs_end_to_end_in_memory():
    params = yaml.safe_load((REPO_ROOT / "conf/base/parameters_mdn_synthetic.yml").read_text())
    params = copy.deepcopy(params["mdn_synthetic"])
    params["data"].update(n_samples=600, train_size=500)
    params["training"]["epochs"] = 1
    catalog = DataCatalog(
        {
            "mdn_synthetic.test_samples": KeptMemoryDataset(copy_mode="assign"),
            "mdn_synthetic.served_model": KeptMemoryDataset(copy_mode="assign"),
            "params:seed": MemoryDataset(0),
            "params:mdn_synthetic.data": MemoryDataset(params["data"]),
            "params:mdn_synthetic.model": MemoryDataset(params["model"]),
            "params:mdn_synthetic.training": MemoryDataset(params["training"]),
        }
    )
    pipeline = create_pipeline()
    outputs = SequentialRunner().run(pipeline, catalog)
    # Free outputs are what the real catalog persists and logs.
    assert set(outputs) == {
        "mdn_synthetic.test_metrics",
        "mdn_synthetic.served_model",
        "mdn_synthetic.training_data_figure",
        "mdn_synthetic.test_predictions_figure",
        "mdn_synthetic.training_history_figure",
    }
    metrics = catalog.load("mdn_synthetic.test_metrics")
    assert set(metrics) == {
        "test_ari",
        "test_nmi",
        "test_nll",
        "bayes_optimal_ari",
        "mean_error_max",
        "components_matched",
    }
    # The served model reproduces the predictions the metrics were computed from.
    served = catalog.load("mdn_synthetic.served_model")
    assert isinstance(served, MdnServingModel)
    test = catalog.load("mdn_synthetic.test_samples")
    predicted = served.predict(None, test[["x1", "x2"]])["predicted_component"]
    assert metrics["test_ari"] == pytest.approx(adjusted_rand_score(test["component"], predicted))
    assert metrics["components_matched"] == 4
    panels = [a.get_ylabel() for a in catalog.load("mdn_synthetic.training_history_figure").axes]
    assert panels == ["loss", "learning rate"]
