"""``imdb_transformer`` on an in-memory catalog: a few hundred reviews, one epoch."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from advanced_dl.io.imdb import read_review_archive
from advanced_dl.pipelines.imdb_transformer import create_pipeline
from advanced_dl.serving.imdb_transformer import ReviewSentimentModel
from tests.conftest import REPO_ROOT, KeptMemoryDataset
from tests.synthetic_imdb import synthetic_reviews, write_archive

NS = "imdb_transformer"


def _default_params() -> dict:
    path = REPO_ROOT / "conf" / "base" / "parameters_imdb_transformer.yml"
    return yaml.safe_load(path.read_text())[NS]


def test_pipeline_runs_end_to_end_in_memory(tmp_path):
    archive = write_archive(tmp_path / "aclImdb_v1.tar.gz", synthetic_reviews(75))  # 300 reviews
    params = _default_params()
    params["training"]["epochs"] = 1
    params["vectorisation"]["sequence_length"] = 40
    pipeline = create_pipeline()

    datasets = {
        f"{NS}.reviews": MemoryDataset(read_review_archive(archive)),
        f"{NS}.pretrained_encoder": MemoryDataset(None),  # conf/base: no encoder
    }
    for group, values in params.items():
        datasets[f"params:{NS}.{group}"] = MemoryDataset(values)
    datasets["params:seed"] = MemoryDataset(42)
    for name in pipeline.all_outputs():
        datasets[name] = KeptMemoryDataset(copy_mode="assign")
    catalog = DataCatalog(datasets=datasets)

    SequentialRunner().run(pipeline, catalog)

    assert len(catalog.load(f"{NS}.validation_reviews")) == 15  # 10% of 150 training reviews
    vocabulary = catalog.load(f"{NS}.vocabulary")
    assert vocabulary[:2] == ["", "[UNK]"]
    train_tokens = catalog.load(f"{NS}.train_tokens")
    assert train_tokens.shape == (135, 40) and train_tokens.dtype == np.int32

    metrics = catalog.load(f"{NS}.test_metrics")
    assert set(metrics) == {"test_accuracy", "test_loss", "test_roc_auc", "test_f1"}
    assert all(math.isfinite(v) for v in metrics.values())
    baseline = catalog.load(f"{NS}.baseline_metrics")
    assert set(baseline) == {f"baseline_{name}" for name in metrics} | {"baseline_fit_seconds"}
    assert 0.0 <= baseline["baseline_test_accuracy"] <= 1.0
    history = catalog.load(f"{NS}.training_history")
    assert history["epochs_trained"] == 1 and history["mean_epoch_seconds"] > 0
    panels = [a.get_ylabel() for a in catalog.load(f"{NS}.training_history_figure").axes]
    assert panels == ["loss", "accuracy", "learning rate"]
    matrix = catalog.load(f"{NS}.confusion_matrix_figure").axes[0]
    assert matrix.get_title() == "Test confusion matrix (150 reviews)"
    assert catalog.load(f"{NS}.attention_figure").axes[0].get_title() == "head 0"

    served = catalog.load(f"{NS}.served_model")
    assert isinstance(served, ReviewSentimentModel)
    test = catalog.load(f"{NS}.test_reviews")
    scored = served.predict(None, pd.DataFrame({"review": test["text"]}))
    probabilities = catalog.load(f"{NS}.test_probabilities")
    np.testing.assert_allclose(scored["probability_positive"], probabilities, rtol=1e-6)
    accuracy = ((probabilities >= 0.5).astype(int) == test["label"]).mean()
    assert metrics["test_accuracy"] == pytest.approx(accuracy)
