"""The whole mdn_synthetic pipeline on an in-memory catalog, one epoch."""

from __future__ import annotations

import copy

import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure

from advanced_dl.pipelines.mdn_synthetic import create_pipeline
from advanced_dl.serving.mdn_synthetic import MdnServingModel
from tests.conftest import REPO_ROOT


def test_pipeline_runs_end_to_end_in_memory():
    params = yaml.safe_load((REPO_ROOT / "conf/base/parameters_mdn_synthetic.yml").read_text())
    params = copy.deepcopy(params["mdn_synthetic"])
    params["data"].update(n_samples=600, train_size=500)
    params["training"]["epochs"] = 1
    catalog = DataCatalog(
        {
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
        "mdn_synthetic.loss_figure",
    }
    metrics = catalog.load("mdn_synthetic.test_metrics")
    assert set(metrics) >= {
        "test_ari",
        "test_nmi",
        "test_nll",
        "bayes_optimal_ari",
        "mean_error_max",
    }
    assert -1 <= metrics["test_ari"] <= 1
    for figure in ("training_data_figure", "test_predictions_figure", "loss_figure"):
        assert isinstance(catalog.load(f"mdn_synthetic.{figure}"), Figure)
    assert isinstance(catalog.load("mdn_synthetic.served_model"), MdnServingModel)
    assert {n.name for n in pipeline.nodes} == {
        f"mdn_synthetic.{n}"
        for n in (
            "generate_mixture_samples",
            "split_samples",
            "train_mdn",
            "predict_mixture",
            "evaluate_mixture",
            "plot_training_data",
            "plot_test_predictions",
            "plot_loss",
            "build_served_model",
        )
    }
